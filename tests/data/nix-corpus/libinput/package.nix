{ lib, stdenv, fetchFromGitLab, pkg-config, meson, ninja, libevdev, mtdev, udev, libwacom
, documentationSupport ? false, doxygen
, testsSupport ? false, check, valgrind
}:

let
  mkFlag = optSet: flag: "-D${flag}=${lib.boolToString optSet}";
in

stdenv.mkDerivation rec {
  pname = "libinput";
  version = "1.26.2";

  outputs = [ "bin" "out" "dev" ];

  src = fetchFromGitLab {
    domain = "gitlab.freedesktop.org";
    owner = "libinput";
    repo = "libinput";
    rev = version;
    hash = "sha256-R4VgWgnBkULNa4DigQJHiD3y/NP/NiLeb8S1bqr8pJc=";
  };

  patches = [
    ./udev-absolute-path.patch
  ];

  nativeBuildInputs = [ pkg-config meson ninja ]
    ++ lib.optionals documentationSupport [ doxygen ];

  buildInputs = [ libevdev mtdev libwacom ];
  propagatedBuildInputs = [ udev ];

  mesonFlags = [
    (mkFlag documentationSupport "documentation")
    (mkFlag testsSupport "tests")
    "--sysconfdir=/etc"
  ];

  meta = with lib; {
    description = "Handles input devices in Wayland compositors and provides a generic X.Org input driver";
    homepage = "https://www.freedesktop.org/wiki/Software/libinput/";
    license = licenses.mit;
    platforms = platforms.unix;
  };
}
