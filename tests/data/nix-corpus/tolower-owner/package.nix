{ lib, stdenv, fetchFromGitHub, meson, ninja }:

let
  org = "FreeRDP";
in
stdenv.mkDerivation (finalAttrs: {
  pname = "freerdp-lite";
  version = "3.9.0";

  src = fetchFromGitHub {
    owner = org;
    repo = lib.toLower org;
    rev = finalAttrs.version;
    hash = "sha256-riEjTVVoC10ESSiD3zed73a6aeg60C80FwAq0LNDD5M=";
  };

  nativeBuildInputs = [ meson ninja ];

  meta = {
    description = "Remote Desktop Protocol Client";
    homepage = "https://www.freerdp.com/";
    license = lib.licenses.asl20;
  };
})
