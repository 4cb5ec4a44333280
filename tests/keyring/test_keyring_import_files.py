"""``keyring import`` from files and a GnuPG home, end to end.

Inputs are made with the real tools (ssh-keygen, gpg, git) in the formats
their own documentation gives: an OpenSSH ``allowed_signers`` file
(ssh-keygen(1), ALLOWED SIGNERS), a GnuPG home, and sequoia-git's
``openpgp-policy.toml`` with ``gpg --armor --export`` output embedded.
Each is imported with the importer and ``apply_import``; the keyring that
results must then make ``commitguard verify`` (run through tests/fixtures/cli.py) trust
exactly the commits those keys signed.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from commitguard.errors import CommitguardError, KeyringError
from commitguard.keyring import load_keyring
from commitguard.keyring.importers.allowed_signers import AllowedSignersImporter
from commitguard.keyring.importers.gnupg import GnuPGImporter
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, ImportResult
from commitguard.keyring.importers.registry import ImportRequest, importer_for
from commitguard.keyring.importers.sequoia_policy import SequoiaPolicyImporter
from commitguard.keyring.writer import apply_import
from tests.fixtures_git import Gpg, PgpSigner, Repo, SshKey, SshSigner, run_cli, run_verify

_TOOLS = ("git", "gpg", "gpgconf", "ssh-keygen")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in _TOOLS) and not os.environ.get("CI"),
    reason=f"needs {', '.join(_TOOLS)}",
)

WHEN = "2024-06-01T00:00:00Z"
GOODLIST_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Inputs:
    """Keys, source files and signed commits shared by the tests (built once)."""

    def __init__(self, root: Path):
        self.root = root
        ssh_dir = root / "ssh"
        self.alice = SshKey.generate(ssh_dir, "alice", "ed25519")
        self.alice_rsa = SshKey.generate(ssh_dir, "alice_rsa", "rsa", 3072)
        self.filer = SshKey.generate(ssh_dir, "filer", "ed25519")  # namespaces="file" only
        self.carol = SshKey.generate(ssh_dir, "carol", "ed25519")  # valid-before in the past
        self.ca = SshKey.generate(ssh_dir, "ca", "ed25519")  # cert-authority

        self.gpg = Gpg(root / "gnupg", root)
        self.dave = self.gpg.gen_key("Dave Developer <dave@example.org>", "ed25519", "cert")
        self.dave_sign = self.gpg.add_subkey(self.dave, "ed25519", "sign")
        self.erin = self.gpg.gen_key("Erin Example <erin@example.org>", "ed25519", "cert")
        self.erin_sign = self.gpg.add_subkey(self.erin, "ed25519", "sign")
        self.frank = self.gpg.gen_key("Frank Auditor <frank@example.org>", "ed25519", "cert")
        self.frank_sign = self.gpg.add_subkey(self.frank, "ed25519", "sign")

        self.allowed_signers = root / "allowed_signers"
        self.allowed_signers.write_text(
            "# who may sign, in ssh-keygen's ALLOWED SIGNERS format\n"
            f'alice@example.org namespaces="git",valid-after="20230101Z" {self.alice.pub_line}\n'
            f'"alice@example.org" {self.alice_rsa.pub_line}\n'
            "\n"
            f'filer@example.org namespaces="file" {self.filer.pub_line}\n'
            f'carol@example.org valid-before="20240101Z" {self.carol.pub_line}\n'
            f"*@example.org cert-authority {self.ca.pub_line}\n"
        )
        self.policy = root / "openpgp-policy.toml"
        erin_armor = self.gpg.gpg("--armor", "--export", self.erin).stdout.decode()
        frank_armor = self.gpg.gpg("--armor", "--export", self.frank).stdout.decode()
        self.policy.write_text(
            "version = 0\n"
            f'commit_goodlist = ["{GOODLIST_COMMIT}"]\n'
            "\n"
            "[authorization.erin]\n"
            "sign_commit = true\n"
            "sign_tag = true\n"
            "sign_archive = false\n"
            "add_user = false\n"
            "retire_user = false\n"
            "audit = false\n"
            f'keyring = """\n{erin_armor}"""\n'
            "\n"
            '[authorization."Frank Auditor <frank@example.org>"]\n'
            "sign_commit = false\n"
            "audit = true\n"
            f'keyring = """\n{frank_armor}"""\n'
        )

        self.repo = Repo(root / "repo", root)
        r = self.repo
        self.c_alice = r.commit("alice (ssh ed25519)", signer=SshSigner(self.alice), when=WHEN)
        self.c_alice_rsa = r.commit("alice (ssh rsa)", parents=[self.c_alice], signer=SshSigner(self.alice_rsa),
                                    when=WHEN)
        self.c_dave = r.commit("dave (openpgp)", parents=[self.c_alice_rsa],
                               signer=PgpSigner(self.gpg, self.dave_sign), when=WHEN)
        self.c_erin = r.commit("erin (openpgp)", parents=[self.c_dave],
                               signer=PgpSigner(self.gpg, self.erin_sign), when=WHEN)
        r.ref("refs/heads/main", self.c_erin)
        # root commits of their own: each is verified alone
        self.c_filer = r.commit("key only allowed for files", signer=SshSigner(self.filer), when=WHEN)
        self.c_carol = r.commit("carol after valid-before", signer=SshSigner(self.carol), when=WHEN)
        self.c_frank = r.commit("frank may only audit", signer=PgpSigner(self.gpg, self.frank_sign), when=WHEN)

    def import_all(self, keyring: Path):
        """Import every source into ``keyring``; the reports in order."""
        return [
            apply_import(keyring, AllowedSignersImporter(ImportRequest(args=(str(self.allowed_signers),))).load()),
            apply_import(keyring, GnuPGImporter(ImportRequest(args=(self.dave,), gnupg_home=str(self.gpg.home))).load()),
            apply_import(keyring, SequoiaPolicyImporter(ImportRequest(args=(str(self.policy),))).load()),
        ]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("import-files")
    built = Inputs(root)
    try:
        yield built
    finally:
        built.gpg.kill_agent()


@pytest.fixture(scope="module")
def cli_scratch(tmp_path_factory) -> Path:
    """Working directory and an empty GNUPGHOME for the CLI runs."""
    return tmp_path_factory.mktemp("import-files-cli")


@pytest.fixture(scope="module")
def imported(inputs, tmp_path_factory):
    keyring = tmp_path_factory.mktemp("import-files-keyring") / "keyring"
    return keyring, inputs.import_all(keyring)


def _verify(inputs: Inputs, keyring: Path, cli_scratch: Path, *revs: str):
    return run_verify(list(revs), repo=inputs.repo.path, keyring=keyring, scratch=cli_scratch)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# -- the imported keyring verifies ---------------------------------------------------


def test_every_commit_signed_by_imported_keys_is_trusted(inputs, imported, cli_scratch):
    keyring, reports = imported
    res = _verify(inputs, keyring, cli_scratch, "main")
    assert res.code == 0, res.describe()
    signers = {c["id"]: (c["status"], c["signer"]) for c in res.json["commits"]}
    assert signers == {
        inputs.c_alice: ("trusted", "alice"),
        inputs.c_alice_rsa: ("trusted", "alice"),
        inputs.c_dave: ("trusted", "dave"),
        inputs.c_erin: ("trusted", "erin"),
    }, res.describe()
    assert reports[0].created and not reports[1].created and not reports[2].created


def test_file_namespace_key_does_not_sign_commits(inputs, imported, cli_scratch):
    keyring, _ = imported
    res = _verify(inputs, keyring, cli_scratch, inputs.c_filer)
    assert res.code == 1, res.describe()
    commit = res.commit(inputs.c_filer)
    assert commit["status"] == "unknown-key" and not commit["trusted"], res.describe()


def test_valid_before_in_the_past_is_expired(inputs, imported, cli_scratch):
    keyring, _ = imported
    res = _verify(inputs, keyring, cli_scratch, inputs.c_carol)
    assert res.code == 1, res.describe()
    assert res.commit(inputs.c_carol)["status"] == "expired-key", res.describe()


def test_authorization_without_sign_commit_brings_no_key(inputs, imported, cli_scratch):
    keyring, reports = imported
    res = _verify(inputs, keyring, cli_scratch, inputs.c_frank)
    assert res.commit(inputs.c_frank)["status"] == "unknown-key", res.describe()
    frank = load_keyring(keyring).person("frank")
    assert frank is not None and frank.roles == ("audit",) and frank.keys == ()
    assert frank.name == "Frank Auditor" and frank.emails == ("frank@example.org",)
    assert any("sign_commit" in n and "Frank" in n for n in reports[2].notes), reports[2].notes


def test_imported_keyring_contents(inputs, imported):
    keyring, reports = imported
    loaded = load_keyring(keyring)
    alice = loaded.person("alice")
    assert alice is not None and alice.emails == ("alice@example.org",)
    git_key = next(k for k in alice.keys if k.ssh and k.ssh.fingerprint == inputs.alice.fingerprint)
    assert git_key.namespaces == ("git",) and git_key.valid_after.isoformat() == "2023-01-01T00:00:00+00:00"
    assert git_key.source and git_key.obtained is not None
    carol = loaded.person("carol")
    assert carol.keys[0].valid_before.isoformat() == "2024-01-01T00:00:00+00:00"

    dave = loaded.person("dave")
    assert dave.name == "Dave Developer" and dave.emails == ("dave@example.org",)
    [key] = dave.keys
    assert key.openpgp.fingerprint == inputs.dave
    assert key.openpgp.path == f"keys/dave-{inputs.dave[-16:]}.asc"
    assert (keyring / key.openpgp.path).read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert inputs.dave_sign in key.openpgp.key_fingerprints
    text = (keyring / "keyring.toml").read_text()
    assert f'fingerprint = "{inputs.dave}"' in text

    erin = loaded.person("erin")
    assert erin.roles == ("sign_commit", "sign_tag") and erin.keys[0].openpgp.fingerprint == inputs.erin

    changes = [c for r in reports for c in r.changes]
    assert "added person alice" in changes
    assert f"added key ssh-ed25519 {inputs.alice.fingerprint} to alice" in changes
    assert any(c.startswith(f"added OpenPGP certificate {inputs.dave} to dave") for c in changes), changes


def test_cert_authority_is_a_note_not_a_key(inputs, imported):
    keyring, reports = imported
    notes = reports[0].notes
    assert any("cert-authority" in n and "line 7" in n and str(inputs.allowed_signers) in n for n in notes), notes
    blob = inputs.ca.pub_line.split()[1]
    assert blob not in (keyring / "keyring.toml").read_text()
    assert all(k.ssh is None or k.ssh.fingerprint != inputs.ca.fingerprint
               for p in load_keyring(keyring).persons for k in p.keys)


def test_commit_goodlist_is_a_note(imported):
    _, reports = imported
    assert any("commit_goodlist" in n and GOODLIST_COMMIT in n for n in reports[2].notes), reports[2].notes


# -- merging ------------------------------------------------------------------------------


def test_second_import_changes_nothing(inputs, imported, tmp_path):
    keyring, _ = imported
    copy = tmp_path / "again"
    shutil.copytree(keyring, copy)
    before = _snapshot(copy)
    reports = inputs.import_all(copy)
    assert [r.changes for r in reports] == [(), (), ()]
    assert not any(r.created for r in reports)
    assert _snapshot(copy) == before


def test_merge_into_hand_written_keyring_keeps_comments(inputs, tmp_path, cli_scratch):
    keyring = tmp_path / "hand"
    keyring.mkdir()
    original = (
        "# The people we trust. Edited by hand: keep it tidy.\n"
        "version = 1\n"
        "\n"
        "[policy]\n"
        'forge = "reject"  # the web UI signs anything\n'
        "\n"
        "# Alice leads the project.\n"
        "[[person]]\n"
        'id = "alice"  # her GitHub handle too\n'
        'name = "Alice Example"\n'
        'roles = ["committer"]\n'
        "\n"
        "# a second maintainer, key pinned from maintainer-list.nix\n"
        "[[person]]\n"
        'id = "dave"\n'
        "\n"
        "[[person.key]]\n"
        f'fingerprint = "{inputs.dave}"  # no certificate yet\n'
    )
    (keyring / "keyring.toml").write_text(original)
    first = apply_import(keyring, AllowedSignersImporter(ImportRequest(args=(str(inputs.allowed_signers),))).load())
    second = apply_import(keyring, GnuPGImporter(ImportRequest(args=(inputs.dave,), gnupg_home=str(inputs.gpg.home))).load())
    text = (keyring / "keyring.toml").read_text()
    for line in original.splitlines():
        if "#" in line:
            assert line in text, (line, text)
    assert text.index("# Alice leads") < text.index('id = "alice"') < text.index("# a second maintainer")
    assert 'name = "Alice Example"' in text and 'roles = ["committer"]' in text
    assert not first.created and not second.created
    assert f"added certificate for pinned OpenPGP fingerprint {inputs.dave} of dave " \
           f"(keys/dave-{inputs.dave[-16:]}.asc)" in second.changes
    assert "added e-mail dave@example.org to dave" in second.changes
    alice = load_keyring(keyring).person("alice")
    assert alice.roles == ("committer",) and alice.emails == ("alice@example.org",)

    res = _verify(inputs, keyring, cli_scratch, inputs.c_alice, inputs.c_dave)
    assert res.code == 0, res.describe()
    assert {c["signer"] for c in res.json["commits"]} == {"alice", "dave"}


def test_policy_changes_are_reported(tmp_path):
    keyring = tmp_path / "k"
    (keyring).mkdir()
    (keyring / "keyring.toml").write_text('version = 1\n\n[policy]\nopenpgp_expiry = "enforce"\n')
    report = apply_import(keyring, ImportResult(persons=(), policy={"openpgp_expiry": "ignore", "forge": "reject"}))
    assert report.changes == ('set policy.openpgp_expiry = "ignore" (was "enforce")', 'set policy.forge = "reject"')
    assert load_keyring(keyring).policy.ignore_expiry
    assert apply_import(keyring, ImportResult(persons=(), policy={"openpgp_expiry": "ignore"})).changes == ()


def test_reimport_lands_a_revocation(inputs, tmp_path, cli_scratch):
    """A refreshed certificate is merged into the file, so a revocation made since takes effect."""
    gpg = Gpg(tmp_path / "gnupg", tmp_path)
    try:
        gene = gpg.gen_key("Gene Revoked <gene@example.org>", "ed25519", "cert")
        gene_sign = gpg.add_subkey(gene, "ed25519", "sign")
        repo = Repo(tmp_path / "repo", tmp_path)
        commit = repo.commit("gene", signer=PgpSigner(gpg, gene_sign), when=WHEN)
        keyring = tmp_path / "keyring"
        request = ImportRequest(args=(gene,), gnupg_home=str(gpg.home))
        apply_import(keyring, GnuPGImporter(request).load())
        res = run_verify([commit], repo=repo.path, keyring=keyring, scratch=cli_scratch)
        assert res.commit(commit)["status"] == "trusted", res.describe()

        gpg.revoke_with_stored_certificate(gene)
        report = apply_import(keyring, GnuPGImporter(request).load())
        assert report.changes == (f"refreshed OpenPGP certificate {gene} of gene (keys/gene-{gene[-16:]}.asc)",)
        res = run_verify([commit], repo=repo.path, keyring=keyring, scratch=cli_scratch)
        assert res.commit(commit)["status"] == "revoked-key", res.describe()
    finally:
        gpg.kill_agent()


def test_key_of_another_person_is_refused_and_nothing_written(inputs, tmp_path):
    keyring = tmp_path / "k"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text(
        f'version = 1\n\n[[person]]\nid = "alice-ex"\n\n[[person.key]]\nssh = "{inputs.alice.pub_line}"\n')
    before = _snapshot(keyring)
    with pytest.raises(KeyringError, match="already listed for person 'alice-ex'"):
        apply_import(keyring, AllowedSignersImporter(ImportRequest(args=(str(inputs.allowed_signers),))).load())
    assert _snapshot(keyring) == before


def test_result_that_does_not_load_is_rolled_back(tmp_path):
    keyring = tmp_path / "k"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text("version = 1\n")
    with pytest.raises(KeyringError, match="policy.forge"):
        apply_import(keyring, ImportResult(persons=(ImportedPerson(id="x"),), policy={"forge": "sometimes"}))
    assert (keyring / "keyring.toml").read_text() == "version = 1\n"
    assert sorted(p.name for p in keyring.iterdir()) == ["keyring.toml"]

    fresh = tmp_path / "new" / "keyring"
    with pytest.raises(KeyringError):
        apply_import(fresh, ImportResult(persons=(), policy={"forge": "sometimes"}))
    assert not (tmp_path / "new").exists()


def test_pin_only_key(tmp_path):
    keyring = tmp_path / "k"
    fpr = "1CEA9E12E7218C2C95F708F4CA5FBBF28BB623ED"
    person = ImportedPerson(id="hank", github="hank", github_id=42, keys=(ImportedKey(fingerprint=fpr.lower()),))
    report = apply_import(keyring, ImportResult(persons=(person,)))
    assert report.created
    assert report.changes == ("added person hank", f"pinned OpenPGP fingerprint {fpr} for hank (no certificate)")
    assert load_keyring(keyring).person("hank").pins == (fpr,)
    assert f'[[person.key]]\nfingerprint = "{fpr}"\n' in (keyring / "keyring.toml").read_text()
    assert apply_import(keyring, ImportResult(persons=(person,))).changes == ()


# -- allowed_signers details ---------------------------------------------------------


def _load_allowed(tmp_path: Path, text: str):
    path = tmp_path / "allowed_signers"
    path.write_text(text)
    return path, AllowedSignersImporter(ImportRequest(args=(str(path),))).load()


@pytest.mark.parametrize("bad, what", [
    ('alice@example.org namespace="git" {key}', "unsupported option"),
    ('alice@example.org valid-after="2024-01-01" {key}', "valid-after"),
    ('alice@example.org valid-after=20240101 {key}', "double quotes"),
    ("alice@example.org ssh-ed25519 not!base64", "base64"),
    ('"alice@example.org {key}', "quote"),
    ("alice@example.org", "no key"),
    ('alice@example.org valid-after="20250101Z",valid-before="20240101Z" {key}', "later than"),
])
def test_malformed_line_names_file_and_line(inputs, tmp_path, bad, what):
    """OpenSSH skips a line it cannot parse and reads the others: so does the import, with a warning."""
    text = f"# comment\n\nbob@example.org {inputs.alice.pub_line}\n{bad.format(key=inputs.carol.pub_line)}\n"
    path = tmp_path / "allowed_signers"
    path.write_text(text)
    result = AllowedSignersImporter(ImportRequest(args=(str(path),))).load()
    assert [(p.id, len(p.keys)) for p in result.persons] == [("bob", 1)]
    warnings = [n for n in result.notes if n.startswith("warning:")]
    assert len(warnings) == 1, result.notes
    assert warnings[0].startswith(f"warning: {path}: line 4: skipped, as OpenSSH skips it: ") and what in warnings[0]


@pytest.mark.parametrize("bad, what", [
    ('alice@example.org namespace="git" {key}', "unsupported option"),
    ("alice@example.org", "no key"),
])
def test_only_malformed_lines_is_an_error(inputs, tmp_path, bad, what):
    path = tmp_path / "allowed_signers"
    path.write_text(f"# comment\n{bad.format(key=inputs.carol.pub_line)}\n")
    with pytest.raises(CommitguardError) as err:
        AllowedSignersImporter(ImportRequest(args=(str(path),))).load()
    message = str(err.value)
    assert message.startswith(f"{path}: holds no key commitguard can use: 1 line(s) skipped, the first line 2: ")
    assert what in message and err.value.path == str(path)


def test_line_without_principal_is_skipped_at_the_cli(inputs, tmp_path, cli_scratch):
    """A real allowed_signers file with a key but no principal: OpenSSH skips that line, so do we."""
    path = tmp_path / "allowed_signers"
    path.write_text(f"alice@example.org {inputs.alice.pub_line}\n{inputs.carol.pub_line}\n")
    keyring = tmp_path / "keyring"
    res = run_cli(["keyring", "import", "allowed-signers", path, "--keyring", keyring], scratch=cli_scratch)
    assert res.code == 0, res.describe()
    assert f"note: warning: {path}: line 2: skipped, as OpenSSH skips it: unsupported option" in res.stdout, \
        res.describe()
    assert "added person alice" in res.stdout and (keyring / "keyring.toml").is_file()


def test_malformed_file_exits_2_at_the_cli(inputs, tmp_path, cli_scratch):
    path = tmp_path / "allowed_signers"
    path.write_text(f"{inputs.alice.pub_line}\nbob@example.org valid-before=\"soon\" "
                    f"{inputs.carol.pub_line}\n")
    keyring = tmp_path / "keyring"
    res = run_cli(["keyring", "import", "allowed-signers", path, "--keyring", keyring], scratch=cli_scratch)
    assert res.code == 2, res.describe()
    assert f"{path}: holds no key commitguard can use: 2 line(s) skipped, the first line 1: unsupported option" \
        in res.stderr, res.describe()
    assert len(res.stderr.strip().splitlines()) == 1, res.describe()
    assert not keyring.exists()


def test_several_principals_map_to_the_first(inputs, tmp_path):
    path, result = _load_allowed(
        tmp_path, f"alice@example.org,alice@work.example,*@example.org {inputs.alice.pub_line}\n"
                  f"ally@example.org {inputs.alice.pub_line}\n")
    [alice] = result.persons
    assert alice.id == "alice" and len(alice.keys) == 1
    assert alice.emails == ("alice@example.org", "alice@work.example", "ally@example.org")
    assert any("line 1" in n and "one key, one holder" in n for n in result.notes), result.notes
    assert any("line 1" in n and "*@example.org" in n for n in result.notes), result.notes
    assert any("line 2" in n and "ally@example.org" in n for n in result.notes), result.notes


def test_colliding_local_parts_stay_different_people(inputs, tmp_path):
    _, result = _load_allowed(
        tmp_path, f"alice@a.example {inputs.alice.pub_line}\nalice@b.example {inputs.carol.pub_line}\n"
                  f"J\u00fcrgen.M@example.org {inputs.filer.pub_line}\n")
    assert [p.id for p in result.persons] == ["alice", "alice-b.example", "jurgen.m"]


def test_wildcard_only_principal_is_a_note(inputs, tmp_path):
    _, result = _load_allowed(tmp_path, f'* namespaces="git" {inputs.alice.pub_line}\n'
                                        f'bob@example.org {inputs.carol.pub_line}\n')
    assert [p.id for p in result.persons] == ["bob"]
    assert any("line 1" in n and "not imported" in n for n in result.notes), result.notes


def test_nothing_usable_is_an_error_saying_why(inputs, tmp_path):
    path = tmp_path / "allowed_signers"
    path.write_text(f'* namespaces="git" {inputs.alice.pub_line}\n')
    with pytest.raises(CommitguardError) as err:
        AllowedSignersImporter(ImportRequest(args=(str(path),))).load()
    assert str(err.value) == (f"{path}: holds no key commitguard can use (line 1: principal pattern(s) * name no "
                              "single person: key not imported (add it by hand under a person id))")


def test_namespace_patterns_resolve_to_checked_namespaces(inputs, tmp_path):
    _, result = _load_allowed(
        tmp_path,
        f'a@example.org namespaces="g*" {inputs.alice.pub_line}\n'
        f'c@example.org namespaces="*,!git" {inputs.carol.pub_line}\n'
        f'f@example.org namespaces="*" {inputs.filer.pub_line}\n'
        f'r@example.org namespaces="file,mail" {inputs.alice_rsa.pub_line}\n')
    keys = {p.id: p.keys[0].namespaces for p in result.persons}
    assert keys == {"a": ("git",), "c": ("commitguard-approval",), "f": None, "r": ("file", "mail")}


def test_time_without_z_is_local_time_as_in_openssh(inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "XST-2")  # POSIX: two hours east of UTC
    time.tzset()
    try:
        _, result = _load_allowed(tmp_path, f'a@example.org valid-after="202401011200" {inputs.alice.pub_line}\n')
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result.persons[0].keys[0].valid_after.isoformat() == "2024-01-01T10:00:00+00:00"
    assert any("line 1" in n and "local time" in n and "2024-01-01T10:00:00Z" in n for n in result.notes)


def test_registry_names_the_file_importers(inputs):
    request = ImportRequest(args=(str(inputs.allowed_signers),))
    assert isinstance(importer_for("allowed-signers", request), AllowedSignersImporter)
    assert isinstance(importer_for("sequoia-policy", request), SequoiaPolicyImporter)
    assert isinstance(importer_for("gnupg", ImportRequest(args=(inputs.dave,))), GnuPGImporter)


# -- gnupg and sequoia-policy errors ----------------------------------------------------


def test_gnupg_unknown_fingerprint_is_named(inputs):
    missing = "AB" * 20
    with pytest.raises(CommitguardError, match=missing):
        GnuPGImporter(ImportRequest(args=(missing,), gnupg_home=str(inputs.gpg.home))).load()
    with pytest.raises(CommitguardError, match="not a full OpenPGP fingerprint"):
        GnuPGImporter(ImportRequest(args=("dave@example.org",), gnupg_home=str(inputs.gpg.home)))


def test_gnupg_subkey_fingerprint_imports_the_certificate(inputs):
    result = GnuPGImporter(ImportRequest(args=(inputs.dave_sign,), gnupg_home=str(inputs.gpg.home))).load()
    [dave] = result.persons
    assert dave.id == "dave" and dave.keys[0].fingerprint == inputs.dave
    assert any("subkey" in n for n in result.notes)


@pytest.mark.parametrize("text, field", [
    ("version = 1\n", "version"),
    ("version = 0\n[authorization.x]\nsign_commit = 'yes'\n", "authorization.x.sign_commit"),
    ('version = 0\n[authorization.x]\nsign_commit = true\nkeyring = "not a key"\n', "authorization.x.keyring"),
    ("version = 0\n[authorization\n", "(syntax)"),
])
def test_sequoia_policy_errors_name_the_field(tmp_path, text, field):
    path = tmp_path / "openpgp-policy.toml"
    path.write_text(text)
    with pytest.raises(CommitguardError) as err:
        SequoiaPolicyImporter(ImportRequest(args=(str(path),))).load()
    assert err.value.path == str(path) and err.value.field == field, str(err.value)
