{ lib, stdenv, fetchurl, fetchpatch, ncurses }:

stdenv.mkDerivation rec {
  pname = "less-debian";
  version = "668";
  debianRevision = "1";

  src = fetchurl {
    url = "https://www.greenwoodsoftware.com/less/less-${version}.tar.gz";
    hash = "sha256-T907YgGiLHgU1uZ9u3oXeQIk6g/TLvCgzLClSF6uTJ0=";
  };

  patches = [
    (fetchurl {
      url = "mirror://debian/pool/main/l/less/less_${version}-${debianRevision}.debian.tar.xz";
      hash = "sha256-tIwRz32VDYjDBeo1EQPkUY3q6fWw2Jf4gdlRnan9ZW8=";
    })
  ];

  buildInputs = [ ncurses ];

  meta = {
    homepage = "https://www.greenwoodsoftware.com/less/";
    description = "More advanced file pager than 'more'";
    license = lib.licenses.gpl3Plus;
    mainProgram = "less";
  };
}
