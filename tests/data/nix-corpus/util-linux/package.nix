{ lib, stdenv, fetchurl, pkg-config, zlib, shadow, ncurses, systemd, pam
, systemdSupport ? lib.meta.availableOn stdenv.hostPlatform systemd
, ncursesSupport ? true
}:

stdenv.mkDerivation rec {
  pname = "util-linux" + lib.optionalString (!systemdSupport) "-minimal";
  version = "2.40.2";

  src = fetchurl {
    url = "mirror://kernel/linux/utils/util-linux/v${lib.versions.majorMinor version}/util-linux-${version}.tar.xz";
    hash = "sha256-9IbXbfbw6kG31qy3J1HY60zCo/BOYnMVT+9edsqyfhE=";
  };

  patches = [
    ./rtcwake-search-PATH-for-shutdown.patch
  ];

  outputs = [ "bin" "dev" "out" "lib" "man" ];

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ zlib pam ] ++ lib.optionals ncursesSupport [ ncurses ];

  meta = with lib; {
    homepage = "https://www.kernel.org/pub/linux/utils/util-linux/";
    description = "Set of system utilities for Linux";
    license = licenses.gpl2Only;
    platforms = platforms.unix;
  };
}
