{
  lib,
  stdenv,
  fetchFromGitHub,
  pnpm,
  nodejs,
}:

stdenv.mkDerivation (finalAttrs: {
  pname = "webthing";
  version = "0-unstable-@VERSION@";

  src = fetchFromGitHub {
    owner = "someone";
    repo = "webthing";
    rev = "@REV@";
    hash = "@HASH@";
  };

  pnpmDeps = pnpm.fetchDeps {
    inherit (finalAttrs) pname version src;
    hash = "@HASH2@";
  };

  nativeBuildInputs = [
    nodejs
    pnpm.configHook
  ];

  passthru.updateScript = ./update.sh;
})
