{ lib, buildPerlPackage, fetchurl, CPANMetaCheck, TestCleanNamespaces, TestFatal, ClassLoadXS, DataOptList, PackageDeprecationManager }:

buildPerlPackage {
  pname = "Moose";
  version = "2.2207";
  src = fetchurl {
    url = "mirror://cpan/authors/id/E/ET/ETHER/Moose-2.2207.tar.gz";
    hash = "sha256-GCByU3raWeTWsYA0qAMC666TX2atvfDycdPTYwnC1IE=";
  };
  buildInputs = [ CPANMetaCheck TestCleanNamespaces TestFatal ];
  propagatedBuildInputs = [ ClassLoadXS DataOptList PackageDeprecationManager ];
  meta = {
    description = "Postmodern object system for Perl 5";
    homepage = "http://moose.perl.org";
    license = with lib.licenses; [ artistic1 gpl1Plus ];
    mainProgram = "moose-outdated";
  };
}
