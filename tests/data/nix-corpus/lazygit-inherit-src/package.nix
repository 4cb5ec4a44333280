{ lib, buildGoModule, fetchFromGitHub, lazygit, testers }:

let
  src = fetchFromGitHub {
    owner = "jesseduffield";
    repo = "lazygit";
    tag = "v0.44.1";
    hash = "sha256-NIBae7tSEu2KrXGa61KqECeAzJwD6W3odhiuxT9Helk=";
  };
in
buildGoModule {
  pname = "lazygit";
  version = lib.removePrefix "v" src.tag;

  inherit src;
  inherit (src) owner repo;

  vendorHash = null;
  subPackages = [ "." ];

  ldflags = [ "-X main.version=${src.tag}" "-X main.buildSource=nix" ];

  passthru.tests.version = testers.testVersion { package = lazygit; };

  meta = {
    description = "Simple terminal UI for git commands";
    homepage = "https://github.com/jesseduffield/lazygit";
    changelog = "https://github.com/jesseduffield/lazygit/releases/tag/${src.tag}";
    license = lib.licenses.mit;
    mainProgram = "lazygit";
  };
}
