{ lib, stdenv, fetchurl }:

stdenv.mkDerivation rec {
  pname = "compress";
  version = "@VERSION@";

  src = fetchurl {
    url = "https://github.com/tukaani/compress/releases/download/v${version}/compress-${version}.tar.gz";
    hash = "@HASH@";
  };

  strictDeps = true;
  enableParallelBuilding = true;

  meta = with lib; {
    description = "General-purpose data compression";
    homepage = "https://github.com/tukaani/compress";
    license = with licenses; [ gpl2Plus lgpl21Plus ];
    platforms = platforms.all;
  };
}
