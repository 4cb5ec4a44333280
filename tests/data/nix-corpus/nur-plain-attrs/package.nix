# A package in a community package set: a plain attribute set that the
# set's own builder turns into a derivation.
{ fetchurl, fetchFromGitHub }:

rec {
  pname = "sway-scratchpad";
  version = "0.2.3";

  src = fetchFromGitHub {
    owner = "matejc";
    repo = pname;
    rev = "v${version}";
    sha256 = "0b9gy9vkqrbm9n1wzv6i6biccii50craj30zcimkdfb478x4j1is";
  };

  completions = fetchurl {
    url = "https://raw.githubusercontent.com/matejc/${pname}/v${version}/completions/_sway-scratchpad";
    hash = "sha256-kKfJlMQt/fWoXtzKFoSqBCfHZNGHvX7ZJ1sRlz8SX8Q=";
  };

  cargoSha256 = "0cpbyww2ly8h7gm40pysn0qa0m18yg5z2dv0s5xbs14ab653xqay";
}
