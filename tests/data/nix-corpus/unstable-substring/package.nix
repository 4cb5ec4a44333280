{ lib, stdenv, fetchFromGitHub, autoreconfHook }:

let
  rev = "9f3a3f2b1c3e6d0b8a7f5e4d3c2b1a0f9e8d7c6b";
  shortRev = builtins.substring 0 7 rev;
in
stdenv.mkDerivation {
  pname = "mdp";
  version = "1.0.15-unstable-${shortRev}";

  src = fetchFromGitHub {
    owner = "visit1985";
    repo = "mdp";
    inherit rev;
    hash = "sha256-9PJj5DnPQJJeakEjh6lHKmdzwlgCEqT7UNIk06gX3hc=";
  };

  nativeBuildInputs = [ autoreconfHook ];

  meta = {
    description = "Command-line based markdown presentation tool";
    license = lib.licenses.gpl3;
  };
}
