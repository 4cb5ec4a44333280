{ lib, fetchurl }:

# A set of sources a language package set builds from, one mirror each.
let
  hackage = { name, version, sha256 }: fetchurl {
    url = "mirror://hackage/${name}-${version}/${name}-${version}.tar.gz";
    inherit sha256;
  };
in
{
  pname = "language-sources";
  version = "2024-12-01";

  src = hackage {
    name = "aeson";
    version = "2.2.3.0";
    sha256 = "10q3z1nys0j5aibfxwq0n8m4idii1yvymjqmh9i3qz93wasmzxkm";
  };

  rSource = fetchurl {
    url = "mirror://cran/jsonlite_1.8.9.tar.gz";
    hash = "sha256-Pe8azmIZkJwEOjMqMJPwD2H1VnDGy8/5LpKcAkMQwU8=";
  };

  luaSource = fetchurl {
    url = "mirror://luarocks/luasocket-3.1.0-1.src.rock";
    hash = "sha256-PhSZjd3nj74g6px/7cqh1P02PdWM9k3i/olRS3RLNjs=";
  };

  sageSource = fetchurl {
    url = "mirror://sageupstream/cypari2/cypari2-2.2.0.tar.gz";
    hash = "sha256-1I/l+JkY4IsLpM1Z2XRqrEL4QKiSJOcxyoXQ08femnU=";
  };
}
