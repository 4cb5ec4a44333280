{ lib, rustPlatform, fetchFromGitHub, installShellFiles, rust-jemalloc-sys, testers, fd }:

rustPlatform.buildRustPackage (finalAttrs: {
  pname = "fd";
  version = "10.2.0";

  src = with finalAttrs; fetchFromGitHub {
    owner = "sharkdp";
    repo = "fd";
    rev = "v${version}";
    hash = "sha256-i9V0/bBcLcUBcYii9MMtW4GWPgoz7MupJATpaMZlAG0=";
  };

  cargoHash = "sha256-rGY2ZfWG3GegIoNjs5tFkaevpjh1La7wQtcZ5tIU4Dw=";

  nativeBuildInputs = [ installShellFiles ];
  buildInputs = [ rust-jemalloc-sys ];

  passthru.tests.version = testers.testVersion { package = fd; };

  meta = {
    description = "Simple, fast and user-friendly alternative to find";
    homepage = "https://github.com/sharkdp/fd";
    changelog = "https://github.com/sharkdp/fd/blob/v${finalAttrs.version}/CHANGELOG.md";
    license = with lib.licenses; [ asl20 mit ];
    mainProgram = "fd";
  };
})
