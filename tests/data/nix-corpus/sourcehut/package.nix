{ lib, buildGoModule, fetchFromSourcehut, scdoc }:

buildGoModule rec {
  pname = "aerc";
  version = "0.18.2";

  src = fetchFromSourcehut {
    owner = "~rjarry";
    repo = "aerc";
    rev = version;
    hash = "sha256-O0rKT6orGOLH+m2W3xRb+nmY+VtpQKS01/XwCAd1VMY=";
  };

  proxyVendor = true;
  vendorHash = "sha256-ZawMWZfAKRQQfiYB2LvPInytOuzdaAyhUcNF6POhipU=";

  nativeBuildInputs = [ scdoc ];

  meta = {
    description = "Email client for your terminal";
    homepage = "https://aerc-mail.org/";
    license = lib.licenses.mit;
    mainProgram = "aerc";
  };
}
