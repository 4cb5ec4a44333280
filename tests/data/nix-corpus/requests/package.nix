{
  lib,
  buildPythonPackage,
  certifi,
  charset-normalizer,
  fetchPypi,
  idna,
  pytestCheckHook,
  pythonOlder,
  setuptools,
  urllib3,
}:

buildPythonPackage rec {
  pname = "requests";
  version = "2.32.3";
  pyproject = true;

  disabled = pythonOlder "3.7";

  src = fetchPypi {
    inherit pname version;
    hash = "sha256-7HJCDfXfvc5BEfcVyWM43zt8t19Y5HjSRJyXIOVg3ow=";
  };

  patches = [
    # https://github.com/psf/requests/issues/6730
    ./ca-load-regression.patch
  ];

  build-system = [ setuptools ];

  dependencies = [ certifi charset-normalizer idna urllib3 ];

  nativeCheckInputs = [ pytestCheckHook ];

  pythonImportsCheck = [ "requests" ];

  meta = with lib; {
    description = "HTTP library for Python";
    homepage = "http://docs.python-requests.org/";
    changelog = "https://github.com/psf/requests/blob/v${version}/HISTORY.md";
    license = licenses.asl20;
  };
}
