{ lib, stdenv, fetchurl, pkg-config, openssl, zlib, libffi }:

let
  version = "3.12.8";
  versionParts = lib.splitVersion version;
  majorMinor = builtins.concatStringsSep "." [ (builtins.elemAt versionParts 0) (builtins.elemAt versionParts 1) ];
in
stdenv.mkDerivation {
  pname = "python3-minimal";
  inherit version;

  src = fetchurl {
    url = "https://www.python.org/ftp/python/${version}/Python-${version}.tar.xz";
    hash = "sha256-wcxp5hwPHHrejfDymU5YLnwfLFfR7BkqC6+flrdznZ0=";
  };

  passthru = {
    pythonVersion = majorMinor;
    sitePackages = "lib/python${majorMinor}/site-packages";
  };

  buildInputs = [ openssl zlib libffi ];
  nativeBuildInputs = [ pkg-config ];

  meta = {
    homepage = "https://www.python.org";
    description = "High-level dynamically-typed programming language";
    license = lib.licenses.psfl;
  };
}
