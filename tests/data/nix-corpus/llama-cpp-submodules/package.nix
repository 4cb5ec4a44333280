{ lib, stdenv, fetchFromGitHub, cmake, ninja, pkg-config, git
, cudaSupport ? false
}:

let
  effectiveStdenv = stdenv;
in
effectiveStdenv.mkDerivation (finalAttrs: {
  pname = "llama-cpp";
  version = "4154";

  src = fetchFromGitHub {
    owner = "ggerganov";
    repo = "llama.cpp";
    rev = "refs/tags/b${finalAttrs.version}";
    hash = "sha256-/FoQR/WRmJL834qnnqXWu2UxtcF2k57wEQkGyyJZQcE=";
    leaveDotGit = true;
    fetchSubmodules = true;
    postFetch = ''
      git -C "$out" rev-parse --short HEAD > $out/COMMIT
      find "$out" -name .git -print0 | xargs -0 rm -rf
    '';
  };

  nativeBuildInputs = [ cmake ninja pkg-config git ];

  cmakeFlags = [
    (lib.cmakeBool "GGML_NATIVE" false)
    (lib.cmakeBool "GGML_CUDA" cudaSupport)
  ];

  meta = with lib; {
    description = "Inference of Meta's LLaMA model (and others) in pure C/C++";
    homepage = "https://github.com/ggerganov/llama.cpp/";
    license = licenses.mit;
    mainProgram = "llama";
  };
})
