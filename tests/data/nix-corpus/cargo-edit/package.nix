{ lib, rustPlatform, fetchCrate, pkg-config, openssl, stdenv, darwin }:

rustPlatform.buildRustPackage rec {
  pname = "cargo-edit";
  version = "0.13.0";

  src = fetchCrate {
    inherit pname version;
    hash = "sha256-Jaj6ZqISKqsdd6TFBeFrdZsuWSv4YwDmjCNvkF68lNQ=";
  };

  cargoHash = "sha256-ghr7t5STOWaBeTp3DC1gSOd4D5EsmFqRX5OoCQVy3aI=";

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ openssl ] ++ lib.optionals stdenv.hostPlatform.isDarwin [ darwin.apple_sdk.frameworks.Security ];

  doCheck = false; # integration tests depend on changing cargo config

  meta = with lib; {
    description = "Utility for managing cargo dependencies from the command line";
    homepage = "https://github.com/killercup/cargo-edit";
    changelog = "https://github.com/killercup/cargo-edit/blob/v${version}/CHANGELOG.md";
    license = with licenses; [ asl20 mit ];
  };
}
