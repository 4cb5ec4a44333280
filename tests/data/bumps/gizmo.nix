{
  lib,
  buildGoModule,
  fetchFromGitHub,
}:

let
  sources = lib.importJSON ./hashes.json;
in
buildGoModule (finalAttrs: {
  pname = "gizmo";
  inherit (sources) version vendorHash;

  src = fetchFromGitHub {
    owner = "acme";
    repo = "gizmo";
    tag = "v${finalAttrs.version}";
    inherit (sources) hash;
  };

  ldflags = [
    "-s"
    "-w"
    "-X main.version=${finalAttrs.version}"
  ];

  passthru.updateScript = ./update.sh;

  meta = {
    description = "A gizmo written in Go";
    homepage = "https://github.com/acme/gizmo";
    license = lib.licenses.asl20;
    mainProgram = "gizmo";
  };
})
