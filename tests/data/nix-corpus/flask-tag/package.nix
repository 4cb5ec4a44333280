{ lib, buildPythonPackage, fetchFromGitHub, flit-core, blinker, click, itsdangerous, jinja2, werkzeug, pytestCheckHook }:

buildPythonPackage rec {
  pname = "flask";
  version = "3.1.0";
  pyproject = true;

  src = fetchFromGitHub {
    owner = "pallets";
    repo = "flask";
    tag = version;
    hash = "sha256-uHqlJwdycIrq7SStZWgWGMOY8jjns77Tk6+FJzgkM3c=";
  };

  build-system = [ flit-core ];
  dependencies = [ blinker click itsdangerous jinja2 werkzeug ];
  nativeCheckInputs = [ pytestCheckHook ];

  meta = with lib; {
    homepage = "https://flask.palletsprojects.com/";
    changelog = "https://flask.palletsprojects.com/changes/#version-${replaceStrings [ "." ] [ "-" ] version}";
    description = "Python micro framework for building web applications";
    license = licenses.bsd3;
  };
}
