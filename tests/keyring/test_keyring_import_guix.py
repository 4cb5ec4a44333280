"""``keyring import guix``: a Guix channel's ``.guix-authorizations`` and keyring branch.

The channel is built the way Guix channels are: authorizations and
``.guix-channel`` on the main branch, certificates as ``.key`` files on a
separate keyring branch, commits signed with gpg by the authorized keys. After
the import, ``commitguard verify --trust-root INTRO`` must trust the history.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.guix import EXPIRY_NOTE, GuixImporter, parse_authorizations, \
    parse_channel_keyring_branch
from commitguard.keyring.importers.registry import ImportRequest, importer_for
from commitguard.signatures.openpgp_packets import split_certs
from tests.fixtures.guix import CHANNEL, authorizations, make_tree, spaced  # noqa: F401 (shared)
from tests.fixtures_git import Gpg, PgpSigner, Repo, run_verify

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None or shutil.which("git") is None,
                                reason="needs gpg and git")

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """alice and bob: certify-only primaries with signing subkeys; carol authorized but
    without a certificate; stranger on the keyring branch but not authorized."""
    root = tmp_path_factory.mktemp("guix-gpg")
    gpg = Gpg(root / "gnupg", root)
    try:
        k = {"gpg": gpg}
        for name in ("alice", "bob", "carol", "stranger", "dave"):
            k[name] = gpg.gen_key(f"{name.title()} <{name}@example.org>", "ed25519", "cert")
            if name == "alice":
                # an early copy of alice's certificate, before her signing subkey existed
                k["alice_early"] = gpg.export_binary(k["alice"])
            k[name + "_sub"] = gpg.add_subkey(k[name], "ed25519", "sign")
            k[name + "_armor"] = gpg.gpg("--armor", "--export", k[name]).stdout
            k[name + "_binary"] = gpg.export_binary(k[name])
        yield k
    finally:
        gpg.kill_agent()


class Channel:
    def __init__(self, repo: Repo, ids: dict[str, str]):
        self.repo = repo
        self.ids = ids


def build_channel(root: Path, keys: dict, *, auth_text: str | None = None, channel_text: str | None = None,
                  keyring_files: dict | None = None, keyring_ref: str = "refs/heads/keyring") -> Channel:
    repo = Repo(root / "channel", root)
    gpg = keys["gpg"]
    if auth_text is None:
        # as Guix's own .guix-authorizations does: the key that signs (here the
        # signing subkeys), not the certify-only primary
        auth_text = authorizations([(keys["alice_sub"], "alice"), (keys["bob_sub"], "bob"), (keys["carol"], "carol"),
                                    (keys["dave_sub"], None)])
    if channel_text is None:
        channel_text = CHANNEL.format(branch="keyring")
    if keyring_files is None:
        keyring_files = {
            "alice.key": keys["alice_armor"],
            "alice-2019.key": keys["alice_early"],  # a second copy of the same certificate
            "people/bob.key": keys["bob_binary"],
            "stranger.key": keys["stranger_armor"],
            "dave.key": keys["dave_binary"],
            "README": "one .key file per person\n",
        }
    keyring_commit = repo.commit("keyring", tree=make_tree(repo, keyring_files), when="2024-01-01T00:00:00Z")
    repo.ref(keyring_ref, keyring_commit)

    ids = {}
    ids["c0"] = repo.commit("initial import (before authentication)",
                            tree=make_tree(repo, {"README": "hello\n"}), when="2024-01-02T00:00:00Z")
    files = {"README": "hello\n", ".guix-authorizations": auth_text, ".guix-channel": channel_text}
    ids["intro"] = repo.commit("Add authorizations (the channel introduction)", parents=[ids["c0"]],
                               tree=make_tree(repo, files), signer=PgpSigner(gpg, keys["alice_sub"]),
                               when="2024-01-03T00:00:00Z")
    files["hello.scm"] = "(define-public hello 1)\n"
    ids["c2"] = repo.commit("bob adds a package", parents=[ids["intro"]], tree=make_tree(repo, files),
                            signer=PgpSigner(gpg, keys["bob_sub"]), when="2024-01-04T00:00:00Z")
    files["hello.scm"] = "(define-public hello 2)\n"
    ids["c3"] = repo.commit("dave updates it", parents=[ids["c2"]], tree=make_tree(repo, files),
                            signer=PgpSigner(gpg, keys["dave_sub"]), when="2024-01-05T00:00:00Z")
    ids["c4"] = repo.commit("alice reviews", parents=[ids["c3"]], tree=make_tree(repo, files),
                            signer=PgpSigner(gpg, keys["alice_sub"]), when="2024-01-06T00:00:00Z")
    repo.ref("refs/heads/main", ids["c4"])
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    return Channel(repo, ids)


@pytest.fixture(scope="module")
def channel(keys, tmp_path_factory):
    return build_channel(tmp_path_factory.mktemp("guix-channel"), keys)


def load(repo: Path, introduction: str | None = None):
    return GuixImporter(ImportRequest(repo=str(repo), introduction=introduction, now=NOW)).load()


def test_registry_names_the_importer():
    assert isinstance(importer_for("guix", ImportRequest()), GuixImporter)


def test_import(channel, keys):
    result = load(channel.repo.path, introduction=channel.ids["intro"][:10])
    assert result.policy == {"openpgp_expiry": "ignore", "trust_root": channel.ids["intro"]}
    assert EXPIRY_NOTE in result.notes
    by_id = {p.id: p for p in result.persons}
    assert list(by_id) == ["alice", "bob", "carol", keys["dave_sub"][-16:]]

    (alice,) = by_id["alice"].keys
    assert alice.fingerprint == keys["alice"] and alice.signing_keys == (keys["alice_sub"],)
    (cert,) = split_certs(alice.openpgp)
    # both copies on the branch, merged: the signing subkey is there
    assert cert.fingerprint == keys["alice"] and keys["alice_sub"] in cert.key_fingerprints
    assert "alice.key" in alice.source and "alice-2019.key" in alice.source and alice.obtained == NOW

    (bob,) = by_id["bob"].keys
    assert split_certs(bob.openpgp)[0].fingerprint == keys["bob"] and bob.signing_keys == (keys["bob_sub"],)
    assert "people/bob.key" in bob.source

    (carol,) = by_id["carol"].keys
    assert carol.openpgp is None and carol.fingerprint == keys["carol"]
    notes = "\n".join(result.notes)
    assert (f"HEAD:.guix-authorizations: line 12: no certificate holds {keys['carol']} on refs/heads/keyring; kept as "
            "a pin for carol: its signatures are reported as pinned, but without a certificate") in result.notes
    assert f"certificate {keys['stranger']} is not authorized" in notes
    assert channel.ids["c4"] in notes  # which HEAD the authorizations were read from


def test_without_introduction_no_trust_root(channel):
    result = load(channel.repo.path)
    assert result.policy == {"openpgp_expiry": "ignore"}


def test_round_trip_and_verify(channel, keys, tmp_path):
    from commitguard.keyring import writer
    from commitguard.keyring.loader import load_keyring

    result = load(channel.repo.path, introduction=channel.ids["intro"])
    kr = tmp_path / "keyring"
    writer.apply_import(kr, result)
    loaded = load_keyring(kr)
    assert loaded.policy.ignore_expiry and loaded.policy.trust_root == channel.ids["intro"]
    assert loaded.person("carol").pins == (keys["carol"],)

    res = run_verify(["HEAD"], repo=channel.repo.path, keyring=kr, scratch=tmp_path / "scratch",
                     trust_root=channel.ids["intro"])
    assert res.code == 0, res.describe()
    data = res.json
    statuses = {c["id"]: (c["status"], c["signer"]) for c in data["commits"]}
    assert channel.ids["c0"] not in statuses  # before the introduction
    for name, signer in (("c2", "bob"), ("c3", keys["dave_sub"][-16:]), ("c4", "alice")):
        assert statuses[channel.ids[name]] == ("trusted", signer), res.describe()
    assert all(c["trusted"] for c in data["commits"]), res.describe()


def test_keyring_branch_from_channel_file_and_origin(keys, tmp_path):
    ch = build_channel(tmp_path, keys, channel_text=CHANNEL.format(branch="guix-keyring"),
                       keyring_ref="refs/remotes/origin/guix-keyring")
    result = load(ch.repo.path)
    (alice,) = result.persons[0].keys
    assert alice.openpgp is not None and "refs/remotes/origin/guix-keyring" in alice.source


def test_missing_keyring_branch(keys, tmp_path):
    ch = build_channel(tmp_path, keys, keyring_ref="refs/heads/elsewhere")
    with pytest.raises(CommitguardError) as err:
        load(ch.repo.path)
    message = str(err.value)
    assert "HEAD:.guix-channel" in message and "keyring-reference" in message and "'keyring'" in message


def test_no_channel_file_means_the_keyring_branch(keys, tmp_path):
    repo = Repo(tmp_path / "r", tmp_path)
    kc = repo.commit("keyring", tree=make_tree(repo, {"bob.key": keys["bob_armor"]}))
    repo.ref("refs/heads/keyring", kc)
    auth = authorizations([(keys["bob"], "bob")])
    head = repo.commit("auth", tree=make_tree(repo, {".guix-authorizations": auth}))
    repo.ref("refs/heads/main", head)
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    (bob,) = load(repo.path).persons
    assert bob.id == "bob" and bob.keys[0].openpgp is not None


def test_bad_introductions(channel, keys, tmp_path):
    with pytest.raises(CommitguardError) as err:
        load(channel.repo.path, introduction="0123456789abcdef0123456789abcdef01234567")
    assert "introduction" in str(err.value)
    # a commit outside HEAD's history
    stray = channel.repo.commit("elsewhere", tree=make_tree(channel.repo, {"x": "y"}))
    with pytest.raises(CommitguardError) as err:
        load(channel.repo.path, introduction=stray)
    assert "not an ancestor" in str(err.value)


def test_broken_key_file_names_branch_and_path(keys, tmp_path):
    ch = build_channel(tmp_path, keys, keyring_files={"alice.key": keys["alice_armor"],
                                                      "team/broken.key": b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"})
    with pytest.raises(CommitguardError) as err:
        load(ch.repo.path)
    assert "keyring:team/broken.key" in str(err.value)


def test_not_a_guix_channel(tmp_path):
    repo = Repo(tmp_path / "plain", tmp_path)
    head = repo.commit("plain")
    repo.ref("refs/heads/main", head)
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    with pytest.raises(CommitguardError) as err:
        load(repo.path)
    assert "HEAD:.guix-authorizations" in str(err.value)
    with pytest.raises(CommitguardError):
        load(tmp_path / "nothing-here")


def test_malformed_authorizations_through_the_importer(keys, tmp_path):
    bad = authorizations([(keys["alice"], "alice")]).replace("(version 0)", "(version 1)")
    ch = build_channel(tmp_path, keys, auth_text=bad)
    with pytest.raises(CommitguardError) as err:
        load(ch.repo.path)
    assert str(err.value).startswith("HEAD:.guix-authorizations: line 5: unsupported version")


FPR = "AD17A21EF8AED8F1CC02DBD9F7D5C9BF765C61E3"


@pytest.mark.parametrize("text, line, needle", [
    ('(authorizations\n (version 0)\n (("AD17 A21E F8AE D8F1 CC02  DBD9 F7D5 C9BF 765C 61E3"\n   (name "a"))\n', 3,
     "never closed"),  # the innermost unclosed list: the entries
    ('(authorizations (version 0)\n (("AD17 A21E" (name "a"))))\n', 2, "not an OpenPGP fingerprint"),
    ('(authorisations (version 0) ())\n', 1, "expected (authorizations"),
    ('(authorizations (version 0)\n (("AD17 A21E F8AE D8F1 CC02  DBD9 F7D5 C9BF 765C 61E3\n (name "a"))))\n', 3,
     "unterminated string"),  # the fingerprint's string ends at the quote before a; the next one never does
    (f'(authorizations (version 0)\n (("{FPR}" (name "a"))\n  ("{FPR.lower()}" (name "b"))))\n', 3,
     "already authorized on line 2"),
    (f'(authorizations (version 0) (("{FPR}")))\n\n(authorizations (version 0) ())\n', 3, "unexpected a list"),
    (f'(authorizations (version 0) (("{FPR}")) extra)\n', 1, "unexpected 'extra'"),
    (f'(authorizations (version 0)\n (("{FPR}" (name 42))))\n', 2, '(name "NAME")'),
    (f'(authorizations (version 0)\n (("{FPR}" name)))\n', 2, "expected a property"),
    (f'(authorizations (version 0)\n ({FPR}))\n', 2, "expected (\"FINGERPRINT\""),
    (f'(authorizations (version 0)\n (("{FPR}" (name "role:x"))))\n', 2, "reserved"),
    ('(authorizations (version 0)\n ["x"])\n', 2, "unexpected '['"),
    ('(authorizations (version 0)\n (("a\\q")))\n', 2, "unsupported escape"),
    ('\n\n)', 3, "unexpected ')'"),
    ('  ; only a comment\n', 1, "is empty"),
    ('(authorizations\n #| a block comment\n never closed\n', 2, "unterminated '#|'"),
])
def test_malformed_authorizations(text, line, needle):
    with pytest.raises(CommitguardError) as err:
        parse_authorizations(text, "HEAD:.guix-authorizations")
    message = str(err.value)
    assert message.startswith(f"HEAD:.guix-authorizations: line {line}: "), message
    assert needle in message, message


def test_authorizations_reader_accepts_guix_syntax():
    text = f""";; comment
#| block #| nested |# comment |#
(authorizations
 (version 0)
 #;("0000000000000000000000000000000000000000" (name "commented-out"))
 (("{spaced(FPR)}"
   (name "andreas"))
  ("{FPR[:-1]}4" (name "with \\"quotes\\"") (email "x@y"))
  ("{FPR[:-1]}5")))
"""
    auths, notes = parse_authorizations(text)
    assert [(a.fingerprint, a.name, a.line) for a in auths] == [
        (FPR, "andreas", 6), (FPR[:-1] + "4", 'with "quotes"', 8), (FPR[:-1] + "5", None, 9)]
    assert any("(email ...)" in n and "line 8" in n for n in notes), notes


@pytest.mark.parametrize("text, result", [
    (CHANNEL.format(branch="my-keyring"), "my-keyring"),
    # a dependency's keyring-reference is not the channel's own
    ('(channel (version 0) (directory "src")\n (dependencies (channel (name x) (keyring-reference "no"))))', "keyring"),
])
def test_channel_file(text, result):
    assert parse_channel_keyring_branch(text) == result


@pytest.mark.parametrize("text, line, needle", [
    ('(channel\n (version 0)\n (keyring-reference keyring))\n', 3, "keyring-reference"),
    ('(channel (version 2))', 1, "unsupported version"),
    ('(chanel (version 0))', 1, "expected (channel"),
    ('(channel (version 0)\n (keyring-reference "a")\n (keyring-reference "b"))', 3, "a second"),
])
def test_malformed_channel_file(text, line, needle):
    with pytest.raises(CommitguardError) as err:
        parse_channel_keyring_branch(text, "HEAD:.guix-channel")
    message = str(err.value)
    assert message.startswith(f"HEAD:.guix-channel: line {line}: ") and needle in message, message


def test_cli_import_then_verify(channel, keys, tmp_path):
    """The whole path a user takes: ``keyring import guix`` then ``verify``."""
    from tests.fixtures_git import run_cli

    kr = tmp_path / "keyring"
    scratch = tmp_path / "scratch"
    res = run_cli(["keyring", "import", "guix", "--repo", channel.repo.path, "--keyring", kr,
                   "--introduction", channel.ids["intro"][:12]], scratch=scratch)
    assert res.code == 0, res.describe()
    assert "openpgp_expiry = ignore" in res.stdout, res.describe()
    res = run_verify(["HEAD"], repo=channel.repo.path, keyring=kr, scratch=scratch, trust_root=channel.ids["intro"])
    assert res.code == 0 and res.json["ok"], res.describe()

    res = run_cli(["keyring", "import", "guix", "--repo", channel.repo.path, "--keyring", tmp_path / "k2",
                   "--introduction", "deadbeef"], scratch=scratch)
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1, res.describe()
    assert "introduction" in res.stderr
