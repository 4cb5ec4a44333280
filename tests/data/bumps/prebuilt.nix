{ lib, stdenv, fetchurl }:

let
  version = "@VERSION@";
  srcs = {
    x86_64-linux = fetchurl {
      url = "https://dl.example.com/prebuilt/${version}/prebuilt-${version}-x86_64-linux.tar.gz";
      hash = "@HASH@";
    };
    aarch64-linux = fetchurl {
      url = "https://dl.example.com/prebuilt/${version}/prebuilt-${version}-aarch64-linux.tar.gz";
      hash = "@HASH2@";
    };
  };
in
stdenv.mkDerivation {
  pname = "prebuilt";
  inherit version;

  src = srcs.${stdenv.hostPlatform.system} or (throw "unsupported system");

  installPhase = ''
    runHook preInstall
    install -Dm755 prebuilt $out/bin/prebuilt
    runHook postInstall
  '';
}
