{ lib, buildNpmPackage, fetchFromGitHub, nodejs_20 }:

buildNpmPackage rec {
  pname = "markdownlint-cli2";
  version = "0.16.0";

  src = fetchFromGitHub {
    owner = "DavidAnson";
    repo = "markdownlint-cli2";
    rev = "v${version}";
    hash = "sha256-08PFR5dkOQXFzJf32kcXBY2+atGD7xWGEEyt0ZfKR8Y=";
  };

  npmDepsHash = "sha256-IPAxPRQTRsusO3qExsN6MVZBoqEo8iVNN4HqANyz3hQ=";

  nodejs = nodejs_20;
  dontNpmBuild = true;

  postPatch = ''
    ln -s npm-shrinkwrap.json package-lock.json
  '';

  meta = {
    changelog = "https://github.com/DavidAnson/markdownlint-cli2/blob/${src.rev}/CHANGELOG.md";
    description = "Fast, flexible, configuration-based command-line interface for linting Markdown/CommonMark files";
    homepage = "https://github.com/DavidAnson/markdownlint-cli2";
    license = lib.licenses.mit;
    mainProgram = "markdownlint-cli2";
  };
}
