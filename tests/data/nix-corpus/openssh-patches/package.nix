{ lib, stdenv, fetchurl, fetchpatch2, zlib, openssl, libedit, pkg-config, pam }:

stdenv.mkDerivation (finalAttrs: {
  pname = "openssh";
  version = "9.9p1";

  src = fetchurl {
    url = "mirror://openbsd/OpenSSH/portable/openssh-${finalAttrs.version}.tar.gz";
    hash = "sha256-/MyXnNwp6ABdVekS7N5dJSefy/8WxwP1eK93M0RyMDs=";
  };

  patches = [
    ./locale_archive.patch

    (fetchpatch2 {
      name = "musl-fix-sys-cdefs.patch";
      url = "https://github.com/openssh/openssh-portable/commit/0acd3d1ed9e8b8d1c9a43e2c6eaa1d9bb43e4e4e.patch?full_index=1";
      hash = "sha256-X/vnkPzJnpNmfdM/5vwRXoICfLGbYqp54w1bhlXyR9A=";
    })

    # See discussion in https://github.com/NixOS/nixpkgs/pull/16966
    ./dont_create_privsep_path.patch
  ] ++ lib.optional stdenv.hostPlatform.isDarwin ./darwin-keychain.patch;

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ zlib openssl libedit pam ];

  meta = {
    description = "Implementation of the SSH protocol";
    homepage = "https://www.openssh.com/";
    license = lib.licenses.bsd2;
    mainProgram = "ssh";
  };
})
