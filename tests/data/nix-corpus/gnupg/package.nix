{ lib, stdenv, fetchurl, pkg-config, texinfo, gettext, libassuan, libgcrypt, libgpg-error, libksba, npth
, enableMinimal ? false
}:

assert enableMinimal -> true;

stdenv.mkDerivation rec {
  pname = "gnupg";
  version = "2.4.7";

  src = fetchurl {
    url = "mirror://gnupg/gnupg/${pname}-${version}.tar.bz2";
    hash = "sha256-gWKvAAqXdVITV7F+IG5NmUrxMa7LBzUQSuf5u9Xq4aQ=";
  };

  depsBuildBuild = [ ];
  nativeBuildInputs = [ pkg-config texinfo ];
  buildInputs = [ gettext libassuan libgcrypt libgpg-error libksba npth ];

  patches = [
    ./fix-libusb-include-path.patch
    ./CVE-2022-3219.patch
  ];

  meta = with lib; {
    homepage = "https://gnupg.org";
    description = "Modern release of the GNU Privacy Guard, a GPL OpenPGP implementation";
    license = licenses.gpl3Plus;
    mainProgram = "gpg";
  };
}
