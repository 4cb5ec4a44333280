{ lib, buildGoModule, fetchFromGitea, fetchFromCodeberg ? fetchFromGitea }:

buildGoModule rec {
  pname = "forgejo-runner";
  version = "6.0.1";

  src = fetchFromGitea {
    domain = "code.forgejo.org";
    owner = "forgejo";
    repo = "runner";
    rev = "v${version}";
    hash = "sha256-NwAaDbauiLDkKj/ZVvCBrGVZOKI1kNLTYyVJXxh3VPk=";
  };

  vendorHash = "sha256-Smf6oToLIQdRUukUjxiJNfsRdBNmEU1MSktuVAXadek=";

  meta = {
    description = "Runner for Forgejo based on act";
    homepage = "https://code.forgejo.org/forgejo/runner";
    license = lib.licenses.mit;
  };
}
