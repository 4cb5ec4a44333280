{ lib, stdenv, fetchurl, python3, perl, pkg-config, readline, gnutls }:

stdenv.mkDerivation (finalAttrs: {
  pname = "samba";
  version = "4.20.6";

  src = fetchurl {
    url = "mirror://samba/samba/stable/samba-${finalAttrs.version}.tar.gz";
    hash = "sha256-/g5cEULXnhaWSiYmB1cLX7xHg2VL09JR6nmqlXqdSeI=";
  };

  outputs = [ "out" "dev" "man" ];

  nativeBuildInputs = [ python3 perl pkg-config ];
  buildInputs = [ readline gnutls ];

  meta = {
    homepage = "https://www.samba.org";
    description = "Standard Windows interoperability suite of programs for Linux and Unix";
    license = lib.licenses.gpl3;
  };
})
