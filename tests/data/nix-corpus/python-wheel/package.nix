{ lib, python3Packages, fetchPypi }:

python3Packages.buildPythonApplication rec {
  pname = "pipx_wheel_tool";
  version = "1.7.1";
  format = "wheel";

  src = fetchPypi {
    inherit pname version format;
    dist = "py3";
    python = "py3";
    hash = "sha256-e00SLC0QnoOVQ+eZ7+cQXdtYtGYbv59G47kBZj7o81w=";
  };

  propagatedBuildInputs = with python3Packages; [ argcomplete packaging platformdirs userpath ];

  meta = {
    description = "Install and run Python applications in isolated environments";
    license = lib.licenses.mit;
  };
}
