{
  lib,
  buildGoModule,
  fetchFromGitHub,
  versionCheckHook,
}:

buildGoModule (finalAttrs: {
  pname = "agent-deck";
  version = "1.7.70";

  src = fetchFromGitHub {
    owner = "asheshgoplani";
    repo = "agent-deck";
    tag = "v${finalAttrs.version}";
    hash = "sha256-ZJDoNs/tebgkYNqPoRu9ALr3rXsUfc+mPpNyOCatjag=";
  };

  vendorHash = "sha256-Gi/YhRpC5Rcv3crdeZORCVDXGux9s84ZCNh7k+qXNq0=";

  ldflags = [
    "-s"
    "-w"
    "-X main.version=${finalAttrs.version}"
  ];

  nativeInstallCheckInputs = [ versionCheckHook ];
  doInstallCheck = true;

  meta = {
    description = "Terminal session manager for AI coding agents";
    homepage = "https://github.com/asheshgoplani/agent-deck";
    changelog = "https://github.com/asheshgoplani/agent-deck/releases/tag/${finalAttrs.src.tag}";
    license = lib.licenses.mit;
    mainProgram = "agent-deck";
  };
})
