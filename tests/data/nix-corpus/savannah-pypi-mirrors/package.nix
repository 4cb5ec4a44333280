{ lib, stdenv, fetchurl, python3 }:

stdenv.mkDerivation rec {
  pname = "acl-and-friends";
  version = "2.3.2";

  src = fetchurl {
    url = "mirror://savannah/acl/acl-${version}.tar.gz";
    hash = "sha256-I0TwjlECbPmraHNXpYjpQfGoYc/tWCcpEcIoinqx9Ss=";
  };

  # A Python helper fetched straight from the PyPI mirror.
  helper = fetchurl {
    url = "mirror://pypi/s/setuptools-scm/setuptools_scm-8.1.0.tar.gz";
    hash = "sha256-Jmg9kikmigK1sG9CLf9furBwMFCC+nKUD0DoIn6Q3cA=";
  };

  meta = {
    homepage = "https://savannah.nongnu.org/projects/acl";
    description = "Library and tools for manipulating access control lists";
    license = lib.licenses.gpl2Plus;
  };
}
