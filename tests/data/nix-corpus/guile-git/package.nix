{ lib, stdenv, fetchgit, autoreconfHook, pkg-config, guile, libgit2, scheme-bytestructures, texinfo }:

stdenv.mkDerivation rec {
  pname = "guile-git";
  version = "0.9.0";

  src = fetchgit {
    url = "https://gitlab.com/guile-git/guile-git.git";
    rev = "v${version}";
    hash = "sha256-jOYcYTF2r0eEy3PKsb+pzS9sSq4tbXGJL3QRebGcjgE=";
  };

  strictDeps = true;
  nativeBuildInputs = [ autoreconfHook guile pkg-config texinfo ];
  buildInputs = [ guile ];
  propagatedBuildInputs = [ libgit2 scheme-bytestructures ];
  doCheck = !stdenv.hostPlatform.isDarwin;
  enableParallelBuilding = true;

  meta = with lib; {
    description = "Bindings to Libgit2 for GNU Guile";
    homepage = "https://gitlab.com/guile-git/guile-git";
    license = licenses.gpl3Plus;
    platforms = guile.meta.platforms;
  };
}
