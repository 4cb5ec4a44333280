{ lib, stdenv, fetchurl, makeWrapper, alsa-lib }:

let
  version = "0.0.78";
  srcs = {
    x86_64-linux = fetchurl {
      url = "https://dl.discordapp.net/apps/linux/${version}/discord-${version}.tar.gz";
      hash = "sha256-SjLJ9VVD4wyRSYXmZA/oHQ+J9dRwLnnQ57rDVtRiU+I=";
    };
    x86_64-darwin = fetchurl {
      url = "https://dl.discordapp.net/apps/osx/${version}/Discord.dmg";
      hash = "sha256-XJd8/79MKaU4DW+x6mcpbLh63MXr6W2C94subrc2dcs=";
    };
    aarch64-darwin = srcs.x86_64-darwin;
  };
in
stdenv.mkDerivation {
  pname = "discord";
  inherit version;

  src = srcs.${stdenv.hostPlatform.system} or (throw "Unsupported system: ${stdenv.hostPlatform.system}");

  nativeBuildInputs = [ makeWrapper ];
  buildInputs = [ alsa-lib ];

  passthru = { inherit srcs; };

  meta = with lib; {
    description = "All-in-one cross-platform voice and text chat for gamers";
    homepage = "https://discordapp.com/";
    license = licenses.unfree;
    platforms = [ "x86_64-linux" "x86_64-darwin" "aarch64-darwin" ];
    mainProgram = "discord";
  };
}
