{ stdenv, lib, fetchurl, fetchpatch, zlib, xz, libintl, python, gettext, ncurses, findXMLCatalogs
, pythonSupport ? false
, icuSupport ? false, icu
}:

stdenv.mkDerivation (finalAttrs: rec {
  pname = "libxml2";
  version = "2.13.5";

  outputs = [ "bin" "dev" "out" "doc" ] ++ lib.optional pythonSupport "py";

  src = fetchurl {
    url = "mirror://gnome/sources/libxml2/${lib.versions.majorMinor version}/libxml2-${version}.tar.xz";
    hash = "sha256-411TKhwlBM3tOZVj3w8wKVTXAbj0vbNiZBE7FxVHqhs=";
  };

  patches = [
    # Upstream bugs:
    #   https://bugzilla.gnome.org/show_bug.cgi?id=789714
    #   https://gitlab.gnome.org/GNOME/libxml2/issues/64
    # Patch from https://bugzilla.opensuse.org/show_bug.cgi?id=1065270 ,
    # but only the UTF-16 part as it's not fixed upstream yet.
    ./utf16-overflow.patch
    (fetchpatch {
      name = "CVE-2024-56171.patch";
      url = "https://gitlab.gnome.org/GNOME/libxml2/-/commit/245b70d7d2768572ae1b05b3668ca858b9ec4ed4.patch";
      hash = "sha256-Fimlz43HcPym7Elxg6aHaTZNqh1zt2ndKvoxiLKlkis=";
    })
  ];

  strictDeps = true;
  nativeBuildInputs = [ ] ++ lib.optionals pythonSupport [ python ];
  buildInputs = lib.optionals pythonSupport [ ncurses ] ++ lib.optionals icuSupport [ icu ];
  propagatedBuildInputs = [ zlib findXMLCatalogs ];

  configureFlags = [
    "--exec-prefix=${placeholder "dev"}"
    (lib.withFeature icuSupport "icu")
    (lib.withFeature pythonSupport "python")
  ];

  meta = with lib; {
    homepage = "https://gitlab.gnome.org/GNOME/libxml2";
    description = "XML parsing library for C";
    license = licenses.mit;
    platforms = platforms.all;
  };
})
