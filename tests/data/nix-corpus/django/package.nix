{ lib, stdenv, buildPythonPackage, fetchPypi, pythonOlder, setuptools, asgiref, sqlparse
, withGdal ? false, gdal, geos
}:

buildPythonPackage rec {
  pname = "django";
  version = "4.2.17";
  pyproject = true;

  disabled = pythonOlder "3.8";

  src = fetchPypi {
    pname = "Django";
    inherit version;
    hash = "sha256-fYoIOM6OGbJuRf3QtylUqsfnEqjY8M177coygSF7XHY=";
  };

  patches = [
    ./django_4_set_zoneinfo_dir.patch
    ./django_4_disable_failing_tests.patch
  ] ++ lib.optionals withGdal [
    ./django_4_set_geos_gdal_lib.patch
  ];

  build-system = [ setuptools ];
  dependencies = [ asgiref sqlparse ];

  meta = with lib; {
    changelog = "https://docs.djangoproject.com/en/${lib.versions.majorMinor version}/releases/${version}/";
    description = "High-level Python Web framework that encourages rapid development and clean, pragmatic design";
    homepage = "https://www.djangoproject.com";
    license = licenses.bsd3;
  };
}
