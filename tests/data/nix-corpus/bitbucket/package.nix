{ lib, stdenv, fetchFromBitbucket, cmake, eigen }:

stdenv.mkDerivation rec {
  pname = "libcxxtools";
  version = "3.0";

  src = fetchFromBitbucket {
    owner = "cxxtools";
    repo = "cxxtools";
    rev = "V${version}";
    hash = "sha256-Ia2lBLP7kdpVU5M1iCtmHgrQ9LphW4IMOwBz/pwnh3c=";
  };

  nativeBuildInputs = [ cmake ];
  buildInputs = [ eigen ];

  meta = {
    description = "Comprehensive C++ class library for Unix and Linux";
    license = lib.licenses.lgpl21;
  };
}
