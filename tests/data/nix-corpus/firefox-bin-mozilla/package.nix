{ lib, stdenv, fetchurl, wrapGAppsHook3, autoPatchelfHook }:

let
  version = "133.0.3";
  arch = if stdenv.hostPlatform.system == "i686-linux" then "linux-i686"
    else if stdenv.hostPlatform.system == "aarch64-linux" then "linux-aarch64"
    else "linux-x86_64";
  lang = "en-US";
in
stdenv.mkDerivation {
  pname = "firefox-bin-unwrapped";
  inherit version;

  src = fetchurl {
    url = "mirror://mozilla/firefox/releases/${version}/${arch}/${lang}/firefox-${version}.tar.bz2";
    sha512 = "sha512-TmYrm3FB56SltMWUXT2jMGgjchOI3DNvb+l0nPd88O7Nl6JpzKSBqmmJ6K4uBuelbcporyEoIr+EvEEv7DyG3g==";
  };

  nativeBuildInputs = [ wrapGAppsHook3 autoPatchelfHook ];

  meta = {
    description = "Mozilla Firefox, free web browser (binary package)";
    homepage = "https://www.mozilla.org/firefox/";
    license = lib.licenses.mpl20;
    platforms = [ "x86_64-linux" "i686-linux" "aarch64-linux" ];
  };
}
