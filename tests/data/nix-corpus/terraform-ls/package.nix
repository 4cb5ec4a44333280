{ lib, stdenv, fetchzip, autoPatchelfHook }:

let
  version = "0.36.3";
  hashes = builtins.fromJSON (builtins.readFile ./hashes.json);
  platforms = {
    x86_64-linux = "linux_amd64";
    aarch64-linux = "linux_arm64";
    x86_64-darwin = "darwin_amd64";
    aarch64-darwin = "darwin_arm64";
  };
  plat = platforms.${stdenv.hostPlatform.system} or (throw "unsupported system ${stdenv.hostPlatform.system}");
in
stdenv.mkDerivation {
  pname = "terraform-ls";
  inherit version;

  src = fetchzip {
    url = "https://releases.hashicorp.com/terraform-ls/${version}/terraform-ls_${version}_${plat}.zip";
    hash = hashes.${plat};
    stripRoot = false;
  };

  nativeBuildInputs = lib.optional stdenv.hostPlatform.isLinux autoPatchelfHook;

  installPhase = ''
    runHook preInstall
    install -Dm755 terraform-ls $out/bin/terraform-ls
    runHook postInstall
  '';

  meta = with lib; {
    description = "Terraform Language Server (official)";
    homepage = "https://github.com/hashicorp/terraform-ls";
    license = licenses.mpl20;
    platforms = builtins.attrNames platforms;
    sourceProvenance = with sourceTypes; [ binaryNativeCode ];
  };
}
