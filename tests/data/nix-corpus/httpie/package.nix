{
  lib,
  fetchFromGitHub,
  installShellFiles,
  python3Packages,
  pandoc,
}:

python3Packages.buildPythonApplication rec {
  pname = "httpie";
  version = "3.2.4";
  format = "pyproject";

  src = fetchFromGitHub {
    owner = "httpie";
    repo = "httpie";
    rev = "refs/tags/${version}";
    hash = "sha256-Sn/g19UdluJ1uehL9Nr2XlX20tbzMkbwehw9cQSumKI=";
  };

  pythonRelaxDeps = [ "defusedxml" "requests" ];

  nativeBuildInputs = with python3Packages; [ installShellFiles pandoc setuptools ];

  propagatedBuildInputs = with python3Packages; [
    charset-normalizer
    defusedxml
    multidict
    pygments
    requests
    requests-toolbelt
    setuptools
    rich
  ] ++ requests.optional-dependencies.socks;

  postInstall = ''
    installShellCompletion --bash --name http.bash extras/httpie-completion.bash
  '';

  meta = with lib; {
    description = "Command line HTTP client whose goal is to make CLI human-friendly";
    homepage = "https://httpie.org/";
    changelog = "https://github.com/httpie/httpie/blob/${version}/CHANGELOG.md";
    license = licenses.bsd3;
  };
}
