"""Certificates whose user IDs are not ASCII, through every importer that writes certificates (issue 13, item 2).

Sequoia writes the user ID into the armor's ``Comment:`` lines, so a
certificate of "Noé Lopez" or "山田太郎" is UTF-8 text, never ASCII. One such
key once made a whole Guix import write nothing. Each importer (gnupg, guix,
github, maintainer-list) must write the certificate, the keyring must load,
and a commit the person signed must verify as theirs.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from commitguard.keyring import writer
from commitguard.keyring.importers.github import GitHubImporter
from commitguard.keyring.importers.gnupg import GnuPGImporter
from commitguard.keyring.importers.guix import GuixImporter
from commitguard.keyring.importers.maintainer_list import MaintainerListImporter
from commitguard.keyring.importers.registry import ImportRequest
from commitguard.keyring.loader import load_keyring
from tests.fixtures_git import Gpg, PgpSigner, Repo, run_cli, run_verify
from tests.fixtures.forge import FakeGitHub, gpg_key_json, user_json
from tests.fixtures.guix import CHANNEL, authorizations, make_tree

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None or shutil.which("git") is None,
                                reason="needs gpg and git")

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
NOE = "Noé Lopez"
TARO = "山田太郎"


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """Noé (Latin with an accent) and 山田太郎 (CJK), each with a signing subkey, and a commit each."""
    root = tmp_path_factory.mktemp("unicode")
    gpg = Gpg(root / "gnupg", root)
    try:
        k = {"gpg": gpg, "root": root}
        for name, uid in (("noe", f"{NOE} <noe@example.org>"), ("taro", f"{TARO} <taro@example.jp>")):
            # the tests run gpg under LC_ALL=C: --utf8-strings keeps it from reading the
            # UTF-8 argument as Latin-1 (which would store "NoÃ©")
            gpg.gpg("--utf8-strings", "--quick-gen-key", uid, "ed25519", "cert", "never", at=gpg.KEY_TIME)
            k[name] = gpg.keys(uid.split("<")[1].rstrip(">"))[0]
            k[name + "_sub"] = gpg.add_subkey(k[name], "ed25519", "sign")
            packets = gpg.list_packets(gpg.export_binary(k[name]))
            assert uid.encode("utf-8").decode("latin-1") not in packets  # really UTF-8 in the certificate
        for name in ("noe", "taro"):
            k[name + "_armor"] = gpg.gpg("--armor", "--export", k[name]).stdout
        repo = Repo(root / "repo", root)
        k["repo"] = repo
        k["c_noe"] = repo.commit("by Noé", signer=PgpSigner(gpg, k["noe_sub"]), when="2024-06-01T00:00:00Z")
        k["c_taro"] = repo.commit("by 山田", parents=[k["c_noe"]], signer=PgpSigner(gpg, k["taro_sub"]),
                                  when="2024-06-02T00:00:00Z")
        repo.ref("refs/heads/main", k["c_taro"])
        yield k
    finally:
        gpg.kill_agent()


def assert_written_and_verified(kr: Path, people, ids: dict[str, str], tmp_path: Path) -> None:
    """Every certificate file is UTF-8 armor naming its holder; both commits verify as theirs."""
    loaded = load_keyring(kr)
    files = sorted((kr / "keys").iterdir())
    assert len(files) == 2, files
    texts = [f.read_bytes().decode("utf-8") for f in files]
    assert any(NOE in t for t in texts) and any(TARO in t for t in texts), texts
    assert {p.id for p in loaded.persons} == set(ids.values())
    res = run_verify([people["c_taro"]], repo=people["repo"].path, keyring=kr, scratch=tmp_path / "s")
    assert res.code == 0, res.describe()
    got = {c["id"]: (c["status"], c["signer"]) for c in res.json["commits"]}
    assert got == {people["c_noe"]: ("trusted", ids["noe"]), people["c_taro"]: ("trusted", ids["taro"])}, got


def test_gnupg_import(people, tmp_path):
    kr = tmp_path / "keyring"
    result = GnuPGImporter(ImportRequest(args=(people["noe"], people["taro"]), gnupg_home=str(people["gpg"].home),
                                         now=NOW)).load()
    assert [(p.id, p.name) for p in result.persons] == [("noe", NOE), ("taro", TARO)]
    writer.apply_import(kr, result)
    assert_written_and_verified(kr, people, {"noe": "noe", "taro": "taro"}, tmp_path)


def test_gnupg_import_at_the_cli(people, tmp_path):
    kr = tmp_path / "keyring"
    env = {"GNUPGHOME": str(people["gpg"].home)}
    res = run_cli(["keyring", "import", "gnupg", people["noe"], people["taro"], "--keyring", kr],
                  scratch=tmp_path / "s", env=env)
    assert res.code == 0, res.describe()
    assert "added person noe" in res.stdout and "added person taro" in res.stdout, res.describe()
    toml = (kr / "keyring.toml").read_text(encoding="utf-8")
    assert f'name = "{NOE}"' in toml and f'name = "{TARO}"' in toml, toml


def test_guix_import(people, tmp_path):
    repo = Repo(tmp_path / "channel", tmp_path)
    keyring_files = {"noe.key": people["noe_armor"], "taro.key": people["taro_armor"]}
    repo.ref("refs/heads/keyring", repo.commit("keyring", tree=make_tree(repo, keyring_files)))
    auth = authorizations([(people["noe_sub"], NOE), (people["taro_sub"], TARO)])
    head = repo.commit("auth", tree=make_tree(repo, {".guix-authorizations": auth,
                                                     ".guix-channel": CHANNEL.format(branch="keyring")}))
    repo.ref("refs/heads/main", head)
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    kr = tmp_path / "keyring"
    writer.apply_import(kr, GuixImporter(ImportRequest(repo=str(repo.path), now=NOW)).load())
    assert_written_and_verified(kr, people, {"noe": NOE, "taro": TARO}, tmp_path)


def test_github_import(people, tmp_path):
    with FakeGitHub() as api:
        for login, uid, name, key in (("noe-lopez", 11, NOE, "noe"), ("yamada", 12, TARO, "taro")):
            api.route(f"/users/{login}", user_json(login, uid, name))
            api.route(f"/users/{login}/gpg_keys", [
                gpg_key_json(uid * 10, people[key], people[key + "_armor"].decode("utf-8"), can_sign=False,
                             subkeys=[(people[key + "_sub"], True)])])
            api.route(f"/users/{login}/ssh_signing_keys", [])
        result = GitHubImporter(ImportRequest(args=("noe-lopez", "yamada"), github_api=api.base_url,
                                              now=NOW)).load()
    assert [(p.id, p.name, p.github) for p in result.persons] == [
        ("noe-lopez", NOE, "noe-lopez"), ("yamada", TARO, "yamada")]
    kr = tmp_path / "keyring"
    writer.apply_import(kr, result)
    assert_written_and_verified(kr, people, {"noe": "noe-lopez", "taro": "yamada"}, tmp_path)


def test_maintainer_list_import(people, tmp_path):
    def spaced(fpr: str) -> str:
        g = [fpr[i:i + 4] for i in range(0, 40, 4)]
        return " ".join(g[:5]) + "  " + " ".join(g[5:])

    path = tmp_path / "maintainer-list.nix"
    path.write_text(
        "{\n"
        f'  noe = {{\n    name = "{NOE}";\n    email = "noe@example.org";\n    github = "noe-lopez";\n'
        f'    githubId = 11;\n    keys = [ {{ fingerprint = "{spaced(people["noe"])}"; }} ];\n  }};\n'
        f'  yamada = {{\n    name = "{TARO}";\n    email = "taro@example.jp";\n    github = "yamada";\n'
        f'    githubId = 12;\n    keys = [ {{ fingerprint = "{spaced(people["taro"])}"; }} ];\n  }};\n'
        "}\n", encoding="utf-8")
    result = MaintainerListImporter(ImportRequest(args=(str(path),), gnupg_home=str(people["gpg"].home),
                                                  now=NOW)).load()
    assert [(p.id, p.name) for p in result.persons] == [("noe", NOE), ("yamada", TARO)]
    kr = tmp_path / "keyring"
    writer.apply_import(kr, result)
    assert_written_and_verified(kr, people, {"noe": "noe", "taro": "yamada"}, tmp_path)


def test_reimport_of_a_utf8_certificate_changes_nothing(people, tmp_path):
    """The refresh path re-armors a merged certificate: it must write UTF-8 too, and byte for byte the same."""
    kr = tmp_path / "keyring"
    req = ImportRequest(args=(people["noe"],), gnupg_home=str(people["gpg"].home), now=NOW)
    writer.apply_import(kr, GnuPGImporter(req).load())
    before = {p.name: p.read_bytes() for p in (kr / "keys").iterdir()} | {"toml": (kr / "keyring.toml").read_bytes()}
    report = writer.apply_import(kr, GnuPGImporter(req).load())
    assert report.changes == ()
    after = {p.name: p.read_bytes() for p in (kr / "keys").iterdir()} | {"toml": (kr / "keyring.toml").read_bytes()}
    assert after == before


def test_gnupg_import_keeps_a_non_ascii_primary_user_id_first(tmp_path):
    """GnuPG's listing says which user ID is primary; read as Latin-1 it matched none of Sequoia's
    user IDs, the order fell back to sorting, and "Alice" (added later) named the person."""
    gpg = Gpg(tmp_path / "gnupg", tmp_path)
    try:
        gpg.gpg("--utf8-strings", "--quick-gen-key", "Zoé Ünal <zoe@example.org>", "ed25519", "sign", "never",
                at=gpg.KEY_TIME)
        fpr = gpg.keys("zoe@example.org")[0]
        gpg.gpg("--utf8-strings", "--quick-add-uid", fpr, "Alice <alice@example.org>", at=gpg.KEY_TIME)
        result = GnuPGImporter(ImportRequest(args=(fpr,), gnupg_home=str(gpg.home), now=NOW)).load()
    finally:
        gpg.kill_agent()
    [person] = result.persons
    assert (person.id, person.name, person.emails) == ("zoe", "Zoé Ünal", ("zoe@example.org", "alice@example.org"))
