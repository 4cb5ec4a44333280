{
  lib,
  stdenvNoCC,
  fetchurl,
  appimageTools,
  undmg,
}:

let
  pname = "cursor";
  sources = lib.importJSON ./sources.json;
  inherit (stdenvNoCC.hostPlatform) system;
  source = sources.${system} or (throw "Unsupported system: ${system}");
in
stdenvNoCC.mkDerivation {
  inherit pname;
  inherit (sources) version;

  src = fetchurl {
    inherit (source) url hash;
  };

  nativeBuildInputs = lib.optionals stdenvNoCC.hostPlatform.isDarwin [ undmg ];

  passthru.updateScript = ./update.sh;

  meta = {
    description = "AI-powered code editor built on vscode";
    homepage = "https://cursor.com";
    license = lib.licenses.unfree;
    platforms = builtins.attrNames (removeAttrs sources [ "version" ]);
    mainProgram = "cursor";
  };
}
