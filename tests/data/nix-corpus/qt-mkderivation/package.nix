{ mkDerivation, lib, fetchFromGitLab, qmake, qtbase, qtsvg }:

mkDerivation rec {
  pname = "qtpass-lite";
  version = "1.4.0";

  src = fetchFromGitLab {
    domain = "invent.kde.org";
    owner = "utilities";
    repo = "qtpass";
    rev = "v${version}";
    hash = "sha256-dx1okPxrMoiXzBqTg3iWqcHyQRAaomXN15v2VX14bTk=";
  };

  nativeBuildInputs = [ qmake ];
  buildInputs = [ qtbase qtsvg ];

  meta = {
    description = "Multi-platform GUI for pass, the standard unix password manager";
    license = lib.licenses.gpl3Plus;
  };
}
