{ lib, stdenv, fetchurl, autoPatchelfHook }:

let
  sources = builtins.fromJSON (builtins.readFile ./sources.json);
  source = sources.${stdenv.system} or (throw "unsupported system ${stdenv.system}");
in
stdenv.mkDerivation {
  pname = "deno-bin";
  version = sources.version;

  src = fetchurl {
    url = source.url;
    sha256 = source.sha256;
  };

  nativeBuildInputs = [ autoPatchelfHook ];

  meta = {
    description = "Secure runtime for JavaScript and TypeScript";
    license = lib.licenses.mit;
  };
}
