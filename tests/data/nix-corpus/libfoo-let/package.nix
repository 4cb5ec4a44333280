{ lib, stdenv, fetchurl, cmake }:

let
  version = "3.4.1";
  majorMinor = lib.versions.majorMinor version;
in
stdenv.mkDerivation {
  pname = "libyaml-cpp";
  inherit version;

  src = fetchurl {
    url = "https://downloads.example.org/yaml-cpp/${majorMinor}/yaml-cpp-${version}.tar.gz";
    sha256 = "17ihk3jw5xmliq0kwzfarn954p2zpp8sx63pifw4bs5ycj0wprw8";
  };

  nativeBuildInputs = [ cmake ];
  cmakeFlags = [ "-DYAML_CPP_BUILD_TESTS=OFF" ];

  meta = {
    description = "YAML parser and emitter for C++";
    license = lib.licenses.mit;
  };
}
