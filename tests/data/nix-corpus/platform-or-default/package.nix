{ lib, stdenv, fetchurl, autoPatchelfHook }:

let
  version = "1.6.2";
  arch = {
    x86_64-linux = "x86_64";
    aarch64-linux = "aarch64";
  }.${stdenv.hostPlatform.system} or "unsupported";
  hashes = {
    x86_64 = "sha256-3TyBlNWSbRqHZFU4VtjD2ajr7d0Nvak/WjoH/LsSVRs=";
    aarch64 = "sha256-0qPSpvQ/ckETSH4j6pWhXuOE3e4eJhDtutuoWpQXaZ4=";
  };
in
stdenv.mkDerivation {
  pname = "typst-lsp-bin";
  inherit version;

  src = fetchurl {
    url = "https://github.com/nvarner/typst-lsp/releases/download/v${version}/typst-lsp-${arch}-unknown-linux-gnu";
    hash = hashes.${arch} or lib.fakeHash;
  };

  dontUnpack = true;
  nativeBuildInputs = [ autoPatchelfHook ];

  installPhase = ''
    install -Dm755 $src $out/bin/typst-lsp
  '';

  meta = {
    description = "Language server for Typst";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
