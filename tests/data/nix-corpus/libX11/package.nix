{ lib, stdenv, fetchurl, pkg-config, xorgproto, libxcb, xtrans, testers }:

stdenv.mkDerivation (finalAttrs: {
  pname = "libX11";
  version = "1.8.10";

  outputs = [ "out" "dev" "man" ];

  src = fetchurl {
    url = "mirror://xorg/individual/lib/libX11-${finalAttrs.version}.tar.xz";
    hash = "sha256-cH244StsCIA7dbgJabVVh/V5zTvpjU8pB/a+4T5JAIo=";
  };

  strictDeps = true;
  nativeBuildInputs = [ pkg-config ];
  propagatedBuildInputs = [ xorgproto libxcb ];
  buildInputs = [ xtrans ];

  passthru.tests.pkg-config = testers.testMetaPkgConfig finalAttrs.finalPackage;

  meta = {
    description = "Core X11 protocol client library";
    homepage = "https://gitlab.freedesktop.org/xorg/lib/libx11";
    license = lib.licenses.x11;
    pkgConfigModules = [ "x11" "x11-xcb" ];
  };
})
