{ lib, stdenv, fetchurl, meson, ninja, pkg-config, gettext, gtk4, libadwaita, gnome, rustPlatform, cargo, rustc }:

stdenv.mkDerivation (finalAttrs: {
  pname = "gnome-tour";
  version = "47.0";

  src = fetchurl {
    url = "mirror://gnome/sources/gnome-tour/${lib.versions.major finalAttrs.version}/gnome-tour-${finalAttrs.version}.tar.xz";
    hash = "sha256-TFsaKF834DQkoVppEkEf1sbCxyWZx8d7fdHaxjS3L8M=";
  };

  cargoDeps = rustPlatform.fetchCargoVendor {
    inherit (finalAttrs) pname version src;
    hash = "sha256-i8ikAVykuBhnZg5gVWMu2YPqqw1KPztxBMRzYqcaKxQ=";
  };

  nativeBuildInputs = [ meson ninja pkg-config gettext cargo rustc rustPlatform.cargoSetupHook ];
  buildInputs = [ gtk4 libadwaita ];

  passthru = {
    updateScript = gnome.updateScript { packageName = "gnome-tour"; };
  };

  meta = with lib; {
    homepage = "https://gitlab.gnome.org/GNOME/gnome-tour";
    changelog = "https://gitlab.gnome.org/GNOME/gnome-tour/-/blob/${finalAttrs.version}/NEWS?ref_type=tags";
    description = "GNOME Greeter & Tour";
    license = licenses.gpl3Plus;
  };
})
