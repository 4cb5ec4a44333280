{ lib, hello, fetchurl }:

hello.overrideAttrs (old: rec {
  version = "2.12.1";
  src = fetchurl {
    url = "mirror://gnu/hello/hello-${version}.tar.gz";
    hash = "sha256-DfAMKwkSPwkZYoKemXyysmiCNMrpKYvrdAZMsD6rXVU=";
  };
  patches = (old.patches or [ ]) ++ [ ./old-hello-locale.patch ];
})
