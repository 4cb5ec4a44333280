{ lib, stdenv, fetchurl, autoreconfHook, yodl, perl, groff, util-linux, texinfo, ncurses, pcre2, buildPackages }:

let
  version = "5.9";
in

stdenv.mkDerivation {
  pname = "zsh";
  inherit version;
  outputs = [ "out" "doc" "info" "man" ];

  src = fetchurl {
    url = "mirror://sourceforge/zsh/zsh-${version}.tar.xz";
    sha256 = "0vj51hxc9xpsv7s5qia4gar82nxnxi5jgdfjd7245bw589jkfvm2";
  };

  patches = [
    # fix location of timezone data for TZ= completion
    ./tz_completion.patch
    # Fixes configure misdetection when using clang 16, resulting in broken subshells on Darwin.
    # This patch can be dropped with the next release of zsh.
    ./zsh-5.9-clang-16-configure-compat.patch
  ];

  strictDeps = true;
  nativeBuildInputs = [ autoreconfHook perl groff texinfo pcre2 ] ++ lib.optionals stdenv.hostPlatform.isLinux [ util-linux yodl ];
  buildInputs = [ ncurses pcre2 ];

  configureFlags = [
    "--enable-maildir-support"
    "--enable-multibyte"
    "--with-tcsetpgrp"
    "--enable-pcre"
    "--enable-zshenv=${placeholder "out"}/etc/zshenv"
  ];

  meta = {
    description = "Z shell";
    homepage = "https://www.zsh.org/";
    license = "MIT-like";
    platforms = lib.platforms.unix;
    mainProgram = "zsh";
  };
}
