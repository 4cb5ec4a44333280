{ lib, stdenv, fetchurl, zlib }:

stdenv.mkDerivation rec {
  pname = "tool";
  version = "@VERSION@";

  src = fetchurl {
    url = "https://releases.example.org/tool/tool-${version}.tar.gz";
    sha256 = "@HASH@";
  };

  buildInputs = [ zlib ];

  configureFlags = [ "--enable-shared" ];

  meta = with lib; {
    description = "A tool with releases signed by its maintainer";
    homepage = "https://releases.example.org/tool/";
    license = licenses.gpl3Plus;
    maintainers = with maintainers; [ bob ];
  };
}
