{ lib, stdenv, fetchurl, cmake, extra-cmake-modules, qtbase, kcoreaddons, kxmlgui, gmp, mpfr, wrapQtAppsHook }:

stdenv.mkDerivation rec {
  pname = "kcalc";
  version = "24.12.0";

  src = fetchurl {
    url = "mirror://kde/stable/release-service/${version}/src/${pname}-${version}.tar.xz";
    sha256 = "sha256:1p31qakh33vrfa23y08j3q6jas2knqqpnnzqr0rrcfd7xn7jv2nm";
  };

  nativeBuildInputs = [ cmake extra-cmake-modules wrapQtAppsHook ];
  buildInputs = [ qtbase kcoreaddons kxmlgui gmp mpfr ];

  meta = {
    description = "Scientific calculator";
    homepage = "https://apps.kde.org/kcalc/";
    license = with lib.licenses; [ gpl2Plus ];
    mainProgram = "kcalc";
  };
}
