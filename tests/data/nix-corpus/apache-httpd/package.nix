{ lib, stdenv, fetchurl, perl, zlib, apr, aprutil, pcre2, libiconv, lynx, which, libxcrypt
, proxySupport ? true
, sslSupport ? true, openssl
, ldapSupport ? true, openldap
}:

stdenv.mkDerivation rec {
  pname = "apache-httpd";
  version = "2.4.62";

  src = fetchurl {
    url = "mirror://apache/httpd/httpd-${version}.tar.bz2";
    sha256 = "655f5c6e972034a839b54712cb61c52ae099fca7ac10d402bf5fc096e0ef9e9e";
  };

  outputs = [ "out" "dev" "man" "doc" ];
  setOutputFlags = false;

  nativeBuildInputs = [ which ];
  buildInputs = [ perl libxcrypt zlib ]
    ++ lib.optional ldapSupport openldap
    ++ lib.optional sslSupport openssl;

  configureFlags = [
    "--with-apr=${apr.dev}"
    "--with-apr-util=${aprutil.dev}"
    "--with-z=${zlib.dev}"
    "--with-pcre=${pcre2.dev}/bin/pcre2-config"
    (lib.enableFeature proxySupport "proxy")
    (lib.enableFeature sslSupport "ssl")
  ];

  meta = with lib; {
    description = "Apache HTTPD, the world's most popular web server";
    homepage = "https://httpd.apache.org/";
    license = licenses.asl20;
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
    mainProgram = "apachectl";
  };
}
