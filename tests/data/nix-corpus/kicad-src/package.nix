{ lib, stdenv, fetchFromGitLab, cmake, wxGTK32, python3 }:

stdenv.mkDerivation (finalAttrs: {
  pname = "kicad-base";
  version = "8.0.7";

  src = fetchFromGitLab {
    group = "kicad";
    owner = "code";
    repo = "kicad";
    rev = finalAttrs.version;
    hash = "sha256-21a5w+LHn5PXjK5tx0zudI1EMkwaOckGSvjlN4XozT4=";
  };

  nativeBuildInputs = [ cmake ];
  buildInputs = [ wxGTK32 python3 ];

  cmakeFlags = [
    "-DKICAD_VERSION_EXTRA=${finalAttrs.version}"
  ];

  meta = {
    description = "Open Source Electronics Design Automation suite";
    homepage = "https://www.kicad.org/";
    license = lib.licenses.gpl3Plus;
  };
})
