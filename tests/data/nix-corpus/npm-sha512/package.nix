{ lib, stdenv, fetchurl, nodejs }:

stdenv.mkDerivation rec {
  pname = "typescript-tarball";
  version = "5.7.2";

  src = fetchurl {
    url = "https://registry.npmjs.org/typescript/-/typescript-${version}.tgz";
    hash = "sha512-nKRw+mH0XgZ7iRLENCo0AO8KcrpAzCPCwLMo/iITvh8UXDVoUlL2FLcIAi3vbIY4C2awdobPNt0zLKro2EkTbw==";
  };

  buildInputs = [ nodejs ];

  meta = {
    description = "Superset of JavaScript that compiles to clean JavaScript output";
    homepage = "https://www.typescriptlang.org/";
    license = lib.licenses.asl20;
  };
}
