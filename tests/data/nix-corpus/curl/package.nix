{ lib, stdenv, fetchurl, pkg-config, perl, nghttp2, openssl, zlib
, http2Support ? true
, brotliSupport ? false, brotli
}:

stdenv.mkDerivation (finalAttrs: {
  pname = "curl";
  version = "8.11.1";

  src = fetchurl {
    urls = [
      "https://curl.haxx.se/download/curl-${finalAttrs.version}.tar.xz"
      "https://github.com/curl/curl/releases/download/curl-${builtins.replaceStrings [ "." ] [ "_" ] finalAttrs.version}/curl-${finalAttrs.version}.tar.xz"
    ];
    hash = "sha256-Qn5LebHw/JAwbL4GSxKXsh3Gg1v6ZW079GvBVuPyS7A=";
  };

  patches = [
    ./fix-eventfd-free.patch
  ];

  outputs = [ "bin" "dev" "out" "man" "devdoc" ];
  separateDebugInfo = stdenv.hostPlatform.isLinux;

  nativeBuildInputs = [ pkg-config perl ];
  propagatedBuildInputs = lib.optional http2Support nghttp2
    ++ lib.optional brotliSupport brotli
    ++ [ openssl zlib ];

  configureFlags = [
    "--enable-versioned-symbols"
    (lib.withFeature http2Support "nghttp2")
  ];

  meta = with lib; {
    changelog = "https://curl.se/changes.html#${lib.replaceStrings [ "." ] [ "_" ] finalAttrs.version}";
    description = "Command line tool for transferring files with URL syntax";
    homepage = "https://curl.se/";
    license = licenses.curl;
    platforms = platforms.all;
    mainProgram = "curl";
  };
})
