"""``keyring import maintainer-list FILE``: nixpkgs' maintainer-list.nix, read statically.

The excerpt below follows the real file's layout (the header comment, quoted
and bare handles, entries with and without keys, several keys, fingerprints
written in gpg's spaced form). Certificates come from a real GnuPG home.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.maintainer_list import MaintainerListImporter
from commitguard.keyring.importers.registry import ImportRequest, importer_for
from tests.fixtures_git import Gpg

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg")

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)

HEADER = '''/* List of NixOS maintainers.
    ```nix
    handle = {
      # Required
      name = "Your name";

      # Optional, but at least one of email, matrix or githubId must be given
      email = "address@example.org";
      matrix = "@user:example.org";
      github = "GithubUsername";
      githubId = your-github-id;

      keys = [{
        fingerprint = "AAAA BBBB CCCC DDDD EEEE  FFFF 0000 1111 2222 3333";
      }];
    };
    ```

    where

    - `handle` is the handle you are going to use in nixpkgs expressions,
    - `name` is a name that people would know and recognize you by,
    - `email` is your maintainer email address,
    - `keys` is a list of your PGP/GPG key fingerprints.

    More fields may be added in the future, however, in order to comply with GDPR this file should stay as minimal as possible.

    When editing this file:
     * keep the list alphabetically sorted, check with:
         nix-instantiate --eval maintainers/scripts/check-maintainers-sorted.nix
*/
'''


H = HEADER.count("\n")  # lines before the attribute set


def spaced(fpr: str) -> str:
    """gpg's human form: groups of four, two spaces in the middle."""
    groups = [fpr[i:i + 4] for i in range(0, 40, 4)]
    return " ".join(groups[:5]) + "  " + " ".join(groups[5:])


def excerpt(alice: str, alice_second: str, bob: str, missing: str) -> str:
    return HEADER + f'''{{
  # the real file starts with handles that need quoting
  "0x4A6F" = {{
    email = "mail-maintainer@0x4A6F.dev";
    matrix = "@0x4a6f:matrix.org";
    name = "Joachim Ernst";
    github = "0x4A6F";
    githubId = 9675338;
    keys = [ {{ fingerprint = "{spaced(missing)}"; }} ];
  }};
  _1000101 = {{
    email = "b1000101@pm.me";
    github = "1000101";
    githubId = 791309;
    name = "Jan Hrnko";
  }};
  alice = {{
    email = "alice@example.org";
    github = "AliceExample";
    githubId = 1001;
    name = "Alice \\"Al\\" Example";
    keys = [
      {{ fingerprint = "{spaced(alice)}"; }}
      # her second key, kept for older releases
      {{
        fingerprint = "{alice_second.lower()}";
      }}
    ];
  }};
  bob = {{
    # no email, only matrix
    matrix = "@bob:example.org";
    name = "Bob Example";
    github = "bob";
    githubId = 1002;
    keys = [{{
      fingerprint = "{spaced(bob)}";
    }}];
  }};
}}
'''


@pytest.fixture(scope="module")
def gpg(tmp_path_factory):
    root = tmp_path_factory.mktemp("maintainers-gpg")
    g = Gpg(root / "gnupg", root)
    try:
        yield g
    finally:
        g.kill_agent()


@pytest.fixture(scope="module")
def keys(gpg):
    """Fingerprints: alice and bob (primary + signing subkey) in the GnuPG home; 'missing' nowhere."""
    out = {}
    for name in ("alice", "alice2", "bob"):
        primary = gpg.gen_key(f"{name} <{name}@example.org>", "ed25519", "cert")
        out[name] = primary
        out[name + "_sub"] = gpg.add_subkey(primary, "ed25519", "sign")
    out["missing"] = "F466A548AD3FC1F18C88457687027528B006D66D"  # a real entry's key, in no GnuPG home here
    return out


def write(tmp_path: Path, text: str, name: str = "maintainer-list.nix") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load(path: Path, *handles: str, gnupg_home: Path | None = None):
    req = ImportRequest(args=(str(path), *handles), gnupg_home=str(gnupg_home) if gnupg_home else None, now=NOW)
    return MaintainerListImporter(req).load()


def test_registry_names_the_importer(tmp_path):
    imp = importer_for("maintainer-list", ImportRequest(args=(str(tmp_path / "x.nix"),)))
    assert isinstance(imp, MaintainerListImporter)


def test_without_gnupg_every_fingerprint_is_a_pin(tmp_path, keys):
    path = write(tmp_path, excerpt(keys["alice"], keys["alice2"], keys["bob"], keys["missing"]))
    result = load(path)
    by_id = {p.id: p for p in result.persons}
    assert list(by_id) == ["0x4A6F", "_1000101", "alice", "bob"]

    alice = by_id["alice"]
    assert alice.name == 'Alice "Al" Example'
    assert alice.emails == ("alice@example.org",)
    assert alice.github == "AliceExample" and alice.github_id == 1001
    assert [k.fingerprint for k in alice.keys] == [keys["alice"], keys["alice2"]]
    assert all(k.openpgp is None and k.ssh is None for k in alice.keys)

    nokeys = by_id["_1000101"]
    assert nokeys.keys == () and nokeys.github == "1000101" and nokeys.github_id == 791309
    assert by_id["bob"].emails == ()
    assert by_id["0x4A6F"].keys[0].fingerprint == keys["missing"]
    assert result.policy == {}
    assert any("4 fingerprint(s) without a certificate" in n and "no GnuPG home" in n for n in result.notes), \
        result.notes


def test_certificates_from_the_gnupg_home(tmp_path, keys, gpg):
    path = write(tmp_path, excerpt(keys["alice"], keys["alice2"], keys["bob"], keys["missing"]))
    result = load(path, gnupg_home=gpg.home)
    by_id = {p.id: p for p in result.persons}
    from commitguard.signatures.openpgp_packets import split_certs

    for person, name in (("alice", "alice"), ("alice", "alice2"), ("bob", "bob")):
        key = next(k for k in by_id[person].keys if k.fingerprint == keys[name])
        assert key.openpgp is not None
        (cert,) = split_certs(key.openpgp)
        assert cert.fingerprint == keys[name] and not cert.has_secret
        assert keys[name + "_sub"] in cert.key_fingerprints  # the whole certificate, signing subkey included
        assert key.obtained == NOW and "GnuPG home" in key.source
    # not in the GnuPG home: still a pin
    (pin,) = by_id["0x4A6F"].keys
    assert pin.openpgp is None and pin.fingerprint == keys["missing"]
    assert any("1 fingerprint(s) without a certificate" in n for n in result.notes), result.notes


def test_a_subkey_fingerprint_pins_the_primary(tmp_path, keys, gpg):
    text = HEADER + f'''{{
  carol = {{
    name = "Carol";
    keys = [ {{ fingerprint = "{spaced(keys["bob_sub"])}"; }} ];
  }};
}}
'''
    result = load(write(tmp_path, text), gnupg_home=gpg.home)
    (key,) = result.persons[0].keys
    assert key.fingerprint == keys["bob"] and key.openpgp is not None
    assert any("subkey of " + keys["bob"] in n for n in result.notes), result.notes


def test_only_the_named_handles(tmp_path, keys):
    path = write(tmp_path, excerpt(keys["alice"], keys["alice2"], keys["bob"], keys["missing"]))
    result = load(path, "bob", "_1000101")
    assert [p.id for p in result.persons] == ["bob", "_1000101"]
    with pytest.raises(CommitguardError) as err:
        load(path, "nobody")
    assert "nobody" in str(err.value) and str(path) in str(err.value)


def test_values_that_are_not_literals_are_noted_not_guessed(tmp_path, keys):
    text = HEADER + f'''let
  ignored = 1;
in
{{
  dave = {{
    name = lib.toUpper "dave";
    email = "dave@${{domain}}";
    github = "dave";
    githubId = 1 + 2;
    matrix = builtins.concatStrings [ "@dave" ":example.org" ];
    keys = import ./dave-keys.nix;
  }};
}}
'''
    with pytest.raises(CommitguardError) as err:
        load(write(tmp_path, text))
    assert f"line {H + 1}:" in str(err.value) and "attribute set" in str(err.value)

    text = HEADER + f'''{{
  dave = {{
    name = lib.toUpper "dave";
    email = "dave@${{domain}}";
    github = "dave";
    githubId = 1 + 2;
    matrix = builtins.concatStrings [ "@dave" ":example.org" ];
    keys = import ./dave-keys.nix;
  }};
  erin = {{
    name = "Erin";
    keys = [
      {{ fingerprint = "{spaced(keys["alice"])}"; }}
      {{ fingerprint = "${{erinsKey}}"; }}
      {{ fingerprint = "not a fingerprint"; }}
      someKey
    ];
  }};
  frank = builtins.import ./frank.nix;
  grace = {{ inherit name; github = "grace"; }};
}}
'''
    path = write(tmp_path, text)
    result = load(path)
    by_id = {p.id: p for p in result.persons}
    dave = by_id["dave"]
    # nothing guessed: the non-literal fields are simply absent
    assert dave.name is None and dave.emails == () and dave.github_id is None and dave.keys == ()
    assert dave.github == "dave"
    assert [k.fingerprint for k in by_id["erin"].keys] == [keys["alice"]]
    assert "frank" not in by_id and "grace" not in by_id
    notes = "\n".join(result.notes)
    for needle in (f"{path}: line {H + 3}: dave: name is a function call",
                   f"{path}: line {H + 4}: dave: email is an interpolation",
                   f"{path}: line {H + 6}: dave: githubId is an operator expression",
                   f"{path}: line {H + 8}: dave: keys is a function call",
                   f"{path}: line {H + 14}: erin: fingerprint is an interpolation",
                   f"{path}: line {H + 15}: erin: 'not a fingerprint' is not an OpenPGP fingerprint",
                   f"{path}: line {H + 16}: erin: keys element is a variable",
                   f"{path}: line {H + 19}: frank: a function call",
                   f"{path}: line {H + 20}: grace: inherit"):
        assert needle in notes, f"{needle!r} not in\n{notes}"
    assert "matrix" not in notes  # a field we never read may hold anything


@pytest.mark.parametrize(
    "body, line, needle",
    [
        # where Nix itself reports it: at the '=' that cannot follow "Alice" github
        ('  alice = {\n    name = "Alice"\n    github = "alice";\n  };\n', H + 4, "syntax error near '='"),
        ('  alice = {\n    name = "Alice;\n  };\n', H + 3, "not valid Nix"),
        ('  alice = {\n    name = "Alice";\n  ;\n', H + 4, "not valid Nix"),
        ('  alice = {\n    name = "Alice";\n  }\n  bob = { };\n', H + 5, "syntax error near '='"),
        ('  alice = { name = "A"; };\n  alice = { name = "B"; };\n', H + 3, f"already defined on line {H + 2}"),
    ],
    ids=["missing-semicolon", "unterminated-string", "unbalanced-brace", "missing-semicolon-after-entry",
         "duplicate-handle"],
)
def test_malformed_files_name_file_and_line(tmp_path, body, line, needle):
    path = write(tmp_path, HEADER + "{\n" + body + "}\n")
    with pytest.raises(CommitguardError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: line "), message
    reported = int(message.split("line ")[1].split(":")[0])
    assert abs(reported - line) <= 1, message
    assert needle in message
    assert "\n" not in message


def test_missing_file_and_missing_argument(tmp_path):
    with pytest.raises(CommitguardError) as err:
        load(tmp_path / "nothere.nix")
    assert "nothere.nix" in str(err.value)
    with pytest.raises(CommitguardError) as err:
        MaintainerListImporter(ImportRequest(args=())).load()
    assert "FILE" in str(err.value)


def test_not_an_attribute_set(tmp_path):
    path = write(tmp_path, "# a comment\n[ 1 2 3 ]\n")
    with pytest.raises(CommitguardError) as err:
        load(path)
    assert f"{path}: line 2:" in str(err.value)


def test_missing_gnupg_home_is_an_error(tmp_path, keys):
    path = write(tmp_path, excerpt(keys["alice"], keys["alice2"], keys["bob"], keys["missing"]))
    with pytest.raises(CommitguardError) as err:
        load(path, gnupg_home=tmp_path / "no-such-gnupg")
    assert "no-such-gnupg" in str(err.value)


def test_round_trip_through_the_writer(tmp_path, keys, gpg):
    from commitguard.keyring import writer
    from commitguard.keyring.loader import load_keyring

    path = write(tmp_path, excerpt(keys["alice"], keys["alice2"], keys["bob"], keys["missing"]))
    result = load(path, gnupg_home=gpg.home)
    kr = tmp_path / "keyring"
    writer.apply_import(kr, result)
    loaded = load_keyring(kr)
    alice = loaded.person("alice")
    assert alice.github == "AliceExample" and alice.github_id == 1001 and alice.emails == ("alice@example.org",)
    assert {k.openpgp.fingerprint for k in alice.keys} == {keys["alice"], keys["alice2"]}
    assert loaded.person("0x4A6F").pins == (keys["missing"],) and loaded.person("0x4A6F").keys == ()
    assert loaded.person("_1000101").keys == ()
    # a second import changes nothing
    before = (kr / "keyring.toml").read_bytes()
    writer.apply_import(kr, load(path, gnupg_home=gpg.home))
    assert (kr / "keyring.toml").read_bytes() == before


def test_cli_import_and_malformed_file(tmp_path, keys, gpg):
    from tests.fixtures_git import run_cli

    path = write(tmp_path, excerpt(keys["alice"], keys["alice2"], keys["bob"], keys["missing"]))
    kr = tmp_path / "keyring"
    res = run_cli(["keyring", "import", "maintainer-list", path, "--keyring", kr, "--gnupg-home", gpg.home],
                  scratch=tmp_path / "scratch")
    assert res.code == 0, res.describe()
    assert "1 fingerprint(s) without a certificate" in res.stdout, res.describe()
    assert (kr / "keyring.toml").is_file()

    bad = write(tmp_path, HEADER + '{\n  alice = {\n    name = "Alice"\n    github = "alice";\n  };\n}\n', "bad.nix")
    res = run_cli(["keyring", "import", "maintainer-list", bad, "--keyring", tmp_path / "k2"],
                  scratch=tmp_path / "scratch")
    assert res.code == 2, res.describe()
    (line,) = res.stderr.strip().splitlines()
    assert f"{bad}: line {H + 4}:" in line
