{
  lib,
  rustPlatform,
  fetchFromGitHub,
  fetchpatch,
}:

rustPlatform.buildRustPackage rec {
  pname = "rusty";
  version = "@VERSION@";

  src = fetchFromGitHub {
    owner = "ferris";
    repo = "rusty";
    @REF@ = "v${version}";
    hash = "@HASH@";
  };

  cargoHash = "@HASH2@";

  patches = [
    # https://github.com/ferris/rusty/pull/42
    (fetchpatch {
      url = "https://github.com/ferris/rusty/commit/@PATCHREV@.patch";
      hash = "@PATCHHASH@";
    })
  ];

  meta = {
    description = "A Rust program";
    license = lib.licenses.mit;
  };
}
