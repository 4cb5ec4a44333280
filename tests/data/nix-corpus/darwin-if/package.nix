{ lib, stdenv, fetchurl, undmg, dpkg }:

stdenv.mkDerivation rec {
  pname = "obsidian";
  version = "1.7.7";

  src =
    if stdenv.hostPlatform.isDarwin then
      fetchurl {
        url = "https://github.com/obsidianmd/obsidian-releases/releases/download/v${version}/Obsidian-${version}.dmg";
        hash = "sha256-E60ER79BHi7Ps8qHaSLF7vi9WaF84kHgreMu4DU2lc0=";
      }
    else
      fetchurl {
        url = "https://github.com/obsidianmd/obsidian-releases/releases/download/v${version}/obsidian-${version}.tar.gz";
        hash = "sha256-RWeV6Sx+rio/3j6Ty3tYnfSZUMNScGcETTclSe+0AIE=";
      };

  nativeBuildInputs = lib.optionals stdenv.hostPlatform.isDarwin [ undmg ];

  meta = {
    description = "Powerful knowledge base that works on top of a local folder of plain text Markdown files";
    homepage = "https://obsidian.md";
    license = lib.licenses.obsidian;
  };
}
