{ lib, stdenvNoCC, fetchurl, cacert, curl }:

let
  version = "3.6.1";
in
stdenvNoCC.mkDerivation {
  pname = "maven-repository";
  inherit version;

  src = fetchurl {
    url = "mirror://maven/org/apache/maven/apache-maven/${version}/apache-maven-${version}-bin.tar.gz";
    outputHash = "0rdkqji9zgxq3kg7f919dv4nzgqjbv9gqdc3xr0a7prvdia4a81b";
    outputHashAlgo = "sha256";
  };

  meta = {
    description = "Build automation tool (used primarily for Java projects)";
    license = lib.licenses.asl20;
  };
}
