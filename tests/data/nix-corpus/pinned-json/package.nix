{ lib, stdenv, fetchFromGitHub, cmake }:

let
  pin = lib.importJSON ./pin.json;
in
stdenv.mkDerivation {
  pname = "zig-shell-completions";
  version = "0-unstable-${pin.date}";

  src = fetchFromGitHub {
    owner = "ziglang";
    repo = "shell-completions";
    inherit (pin) rev hash;
  };

  nativeBuildInputs = [ cmake ];

  passthru.updateScript = ./update.sh;

  meta = {
    description = "Shell completions for the Zig compiler";
    license = lib.licenses.mit;
  };
}
