{ lib, stdenv, fetchurl, unzip }:

stdenv.mkDerivation rec {
  pname = "sqlite-tools";
  version = "3.47.2";
  archiveVersion = "3470200";

  src = fetchurl {
    url = "https://sqlite.org/2024/sqlite-tools-${if stdenv.hostPlatform.isDarwin then "osx" else "linux"}-x64-${archiveVersion}${lib.optionalString stdenv.hostPlatform.isDarwin "-universal"}.zip";
    hash = "sha256-NsJkxyMmzgn7n0t7XNKHNc7pKYiA1/DGSiC+8EzLP9E=";
  };

  nativeBuildInputs = [ unzip ];

  meta = {
    description = "Command line tools for SQLite";
    homepage = "https://www.sqlite.org/";
    license = lib.licenses.publicDomain;
  };
}
