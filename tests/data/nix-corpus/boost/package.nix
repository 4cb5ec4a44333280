{ lib, stdenv, fetchurl, which, icu, zlib, bzip2, python3
, version ? "1.86.0"
}:

let
  underscoredVersion = builtins.replaceStrings [ "." ] [ "_" ] version;
in
stdenv.mkDerivation {
  pname = "boost";
  inherit version;

  src = fetchurl {
    urls = [
      "mirror://sourceforge/boost/boost_${underscoredVersion}.tar.bz2"
      "https://boostorg.jfrog.io/artifactory/main/release/${version}/source/boost_${underscoredVersion}.tar.bz2"
    ];
    sha256 = "ca4264faf5970fc613d80ad9e736f565d492e253a2faa84b35c8f2b2ef0be626";
  };

  nativeBuildInputs = [ which ];
  buildInputs = [ icu zlib bzip2 python3 ];

  meta = {
    homepage = "http://boost.org/";
    description = "Collection of C++ libraries";
    license = lib.licenses.boost;
  };
}
