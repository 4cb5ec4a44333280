{
  lib,
  stdenv,
  fetchFromGitHub,
  cmake,
}:

stdenv.mkDerivation (finalAttrs: {
  pname = "widget";
  version = "@VERSION@";

  src = fetchFromGitHub {
    owner = "acme";
    repo = "widget";
    tag = "v${finalAttrs.version}";
    hash = "@HASH@";
  };

  nativeBuildInputs = [ cmake ];

  doCheck = true;

  meta = {
    description = "Widgets for everyone";
    homepage = "https://github.com/acme/widget";
    changelog = "https://github.com/acme/widget/releases/tag/v${finalAttrs.version}";
    license = lib.licenses.mit;
    maintainers = with lib.maintainers; [ alice ];
    platforms = lib.platforms.unix;
  };
})
