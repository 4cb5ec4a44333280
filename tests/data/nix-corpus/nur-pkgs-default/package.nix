{ pkgs ? import <nixpkgs> { } }:

pkgs.stdenv.mkDerivation rec {
  pname = "tinyproxy-nur";
  version = "1.11.2";

  src = pkgs.fetchFromGitHub {
    owner = "tinyproxy";
    repo = "tinyproxy";
    rev = version;
    hash = "sha256-BM1CLAoqgWqBk47RGak1OyFt3boy3JFlVrV0amhVUkE=";
  };

  nativeBuildInputs = with pkgs; [ autoreconfHook perl ];

  meta = with pkgs.lib; {
    description = "Light-weight HTTP/HTTPS proxy daemon for POSIX operating systems";
    homepage = "https://tinyproxy.github.io/";
    license = licenses.gpl2Only;
  };
}
