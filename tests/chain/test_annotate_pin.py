"""``commitguard annotate`` and ``commitguard pin`` on a nixpkgs-style history made with real tools.

Commits are signed with ``git commit -S`` (gpg.format=ssh) and ssh-keygen
keys, the keyring.toml files are written by hand, upstream releases are
signed with ``ssh-keygen -Y sign -n file`` into an offline mirror, and audit
approvals are made by ``python -m commitguard approve``. The history
(first parent on the left, ``main``)::

    c0   alice    init: good, audited, patched (+ fix.patch), pkgs/tools/moved, sidepkg, the keyring
    c1   alice    good: 1.1
    c2   -        audited: 1.1 (unsigned)
    c3   bob      patched: 1.1
    cm   bob      moved: 1.1 (still at pkgs/tools/moved/default.nix)
    c4   mallory  patched: change fix.patch (a key the keyring does not know)
    c5   alice    moved: to pkgs/by-name/mo/moved/package.nix (a rename)
    M    alice    merge of side: s1 (unsigned) and s2 (alice), both sidepkg; forked at c5
    c7   alice    good: 1.2

Expected (exact statuses): good trusted; audited untrusted until bob's audit
of c2; patched untrusted (c4 unknown-key); moved trusted with c0 and cm
followed across the rename; sidepkg untrusted (s1 unsigned, merged by alice
in M; a review of the side branch does not make up for it). Pin: good at c7,
audited at c1 (c7 after the audit), patched at cm, sidepkg at c5, moved with
patched at cm where moved still lives at its old path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_git import CliResult, SshKey, run, run_cli
from tests.fixtures.approvals import GitRepo, hand_sign, make_statement, person_toml
from tests.fixtures.pins import RELEASES, keyring_text, package_nix  # noqa: F401 (shared)

REPOSITORY = "example.org/nixpkgs"
KEYRING_DIR = ".commitguard/keyring"

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "ssh-keygen")), reason="needs git and ssh-keygen"
)

GOOD = "pkgs/by-name/go/good/package.nix"
AUDITED = "pkgs/by-name/au/audited/package.nix"
PATCHED = "pkgs/by-name/pa/patched/package.nix"
PATCH = "pkgs/by-name/pa/patched/fix.patch"
MOVED_OLD = "pkgs/tools/moved/default.nix"
MOVED = "pkgs/by-name/mo/moved/package.nix"
SIDE = "pkgs/by-name/si/sidepkg/package.nix"


@dataclass
class Fixture:
    root: Path
    repo: GitRepo
    keys: dict[str, SshKey]
    mirror: Path
    keyring: Path  # alice, bob, upstream releases
    keyring_without_bob: Path
    ids: dict[str, str]
    digests: dict[str, str]  # "name-version" -> SRI of the release file

    def copy(self, name: str) -> GitRepo:
        """A private copy of the repository (notes, branches and all) for a test that changes it."""
        return self.repo.clone_to(self.root / "copies" / name, self.root)

    def cli(self, *args: str) -> CliResult:
        return run_cli([str(a) for a in args], scratch=self.root / "scratch")


def merge(repo: GitRepo, branch: str, message: str, signer: SshKey) -> str:
    repo._tick += 1
    when = f"2025-01-{1 + repo._tick % 28:02d}T12:{repo._tick % 60:02d}:00Z"
    repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={signer.path}", "merge", "-q", "--no-ff", "-S",
             "-m", message, branch, env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
    return repo.rev("HEAD")


def build(root: Path) -> Fixture:
    keys = {n: SshKey.generate(root / "ssh", n, "ed25519") for n in ("alice", "bob", "mallory", "upstream")}
    mirror = root / "mirror"
    digests: dict[str, str] = {}

    def release(name: str, version: str) -> str:
        folder = mirror / "releases.example.org" / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{version}.tar.gz"
        path.write_bytes(f"{name} {version} release tarball\n".encode() * 40)
        run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keys["upstream"].path), "-n", "file", str(path)])
        digest = "sha256-" + base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
        digests[f"{name}-{version}"] = digest
        return digest

    def pkg(name: str, version: str, **kw) -> str:
        return package_nix(name, version, release(name, version), **kw)

    keyring = root / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text(keyring_text(keys))
    without_bob = root / "keyring-without-bob"
    without_bob.mkdir()
    (without_bob / "keyring.toml").write_text(keyring_text(keys, bob=False))

    r = GitRepo(root / "repo", root)
    alice, bob, mallory = keys["alice"], keys["bob"], keys["mallory"]
    ids: dict[str, str] = {}
    ids["c0"] = r.commit("init", {
        "README.md": "# packages\n",
        f"{KEYRING_DIR}/keyring.toml": keyring_text(keys),
        GOOD: pkg("good", "1.0"),
        AUDITED: pkg("audited", "1.0"),
        PATCHED: pkg("patched", "1.0", patches=True),
        PATCH: "--- a/src.c\n+++ b/src.c\n@@ -1 +1 @@\n-old\n+new\n",
        MOVED_OLD: pkg("moved", "1.0"),
        SIDE: pkg("sidepkg", "1.0"),
    }, signer=alice)
    ids["c1"] = r.commit("good: 1.0 -> 1.1", {GOOD: pkg("good", "1.1")}, signer=alice)
    ids["c2"] = r.commit("audited: 1.0 -> 1.1", {AUDITED: pkg("audited", "1.1")})
    ids["c3"] = r.commit("patched: 1.0 -> 1.1", {PATCHED: pkg("patched", "1.1", patches=True)}, signer=bob)
    ids["cm"] = r.commit("moved: 1.0 -> 1.1", {MOVED_OLD: pkg("moved", "1.1")}, signer=bob)
    ids["c4"] = r.commit("patched: fix the patch", {PATCH: "--- a/src.c\n+++ b/src.c\n@@ -1 +1 @@\n-old\n+evil\n"},
                         signer=mallory)
    ids["c5"] = r.commit("moved: move to pkgs/by-name", {
        MOVED_OLD: None,
        MOVED: pkg("moved", "1.1", extra="\n      It now lives in pkgs/by-name."),
    }, signer=alice)
    r.git("checkout", "-q", "-b", "side")
    ids["s1"] = r.commit("sidepkg: 1.0 -> 1.1", {SIDE: pkg("sidepkg", "1.1")})
    ids["s2"] = r.commit("sidepkg: 1.1 -> 1.2", {SIDE: pkg("sidepkg", "1.2")}, signer=alice)
    r.git("checkout", "-q", "main")
    ids["M"] = merge(r, "side", "Merge branch 'side'", alice)
    ids["c7"] = r.commit("good: 1.1 -> 1.2", {GOOD: pkg("good", "1.2")}, signer=alice)
    # bob reviewed the side branch as a whole (base c5, head s2): that covers s1, but is no audit of it
    r.add_note_lines(ids["s2"], [hand_sign(make_statement(ids["s2"], ids["c5"], r.tree(ids["s2"]),
                                                          repository=REPOSITORY), keys["bob"])])
    assert r.rev("HEAD^^2") == ids["s2"] and r.rev("HEAD^") == ids["M"]
    return Fixture(root, r, keys, mirror, keyring, without_bob, ids, digests)


@pytest.fixture(scope="module")
def fx(tmp_path_factory) -> Fixture:
    return build(tmp_path_factory.mktemp("annotate"))


def annotate(fx: Fixture, repo: GitRepo, *paths: str, fmt: str = "json", keyring: Path | None = None,
             cache: Path | None = None, extra: tuple[str, ...] = ()) -> CliResult:
    args = ["annotate", *paths, "--repo", repo.path, "--trust-root", fx.ids["c0"], "--upstream-mirror", fx.mirror,
            "--repository", REPOSITORY, "--format", fmt]
    if keyring is not False:
        args += ["--keyring", keyring or fx.keyring]
    args += ["--cache", cache] if cache else ["--no-cache"]
    return fx.cli(*args, *extra)


def pin(fx: Fixture, repo: GitRepo, *packages: str, lock: Path, check: bool = False, keyring: Path | None = None,
        trust_root: str | None = "c0", extra: tuple[str, ...] = ()) -> CliResult:
    """``pin`` (or ``pin --check``) with ``--trust-root`` the fixture's commit of that name (None: no option)."""
    args = ["pin", *packages, "--repo", repo.path, "--keyring", keyring or fx.keyring, "--lock", lock,
            "--repository", REPOSITORY, "--format", "json", "--no-cache"]
    if check:
        args.append("--check")
    if trust_root is not None:
        args += ["--trust-root", fx.ids.get(trust_root, trust_root)]
    return fx.cli(*args, *extra)


def chain(package: dict) -> list[tuple]:
    """The chain as (role, commit, signer, status-or-kind, trusted), commits named as in the fixture."""
    return [(link["role"], link.get("commit"), link["signer"], link.get("status") or link.get("kind"), link["trusted"])
            for link in package["chain"]]


def named(fx: Fixture, links: list[tuple]) -> list[tuple]:
    names = {v: k for k, v in fx.ids.items()}
    return [(role, names.get(commit, commit), signer, status, trusted) for role, commit, signer, status, trusted in links]


def by_path(data: dict) -> dict[str, dict]:
    return {p["path"]: p for p in data["packages"]}


UPSTREAM = ("upstream", None, RELEASES, "verified", True)


@pytest.fixture(scope="module")
def whole(fx: Fixture) -> dict:
    res = annotate(fx, fx.repo)
    assert res.code == 1, res.describe()
    return res.json


# --------------------------------------------------------------------------- annotate


def test_annotate_every_package(fx, whole):
    assert whole["ok"] is False
    assert whole["rev"] == fx.ids["c7"] and whole["trust_root"] == fx.ids["c0"]
    assert sorted(by_path(whole)) == sorted([GOOD, AUDITED, PATCHED, MOVED, SIDE])
    assert {p["path"]: p["trusted"] for p in whole["packages"]} == {
        GOOD: True, AUDITED: False, PATCHED: False, MOVED: True, SIDE: False}
    assert whole["history"]["commits"] == 11


def test_signed_package_is_trusted(fx, whole):
    good = by_path(whole)[GOOD]
    assert (good["name"], good["version"]) == ("good", "1.2")
    assert good["sources"][0]["url"] == f"{RELEASES}good/good-1.2.tar.gz"
    assert good["sources"][0]["hash"] == fx.digests["good-1.2"]
    assert good["upstream"]["status"] == "verified" and good["upstream"]["signer"] == RELEASES
    assert named(fx, chain(good)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "c1", "alice", "trusted", True),
        ("commit", "c7", "alice", "trusted", True),
    ]
    assert good["trusted"] is True and good["last_change"] == fx.ids["c7"]


def test_unsigned_commit_is_untrusted_until_audited(fx, whole):
    audited = by_path(whole)[AUDITED]
    assert named(fx, chain(audited)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "c2", None, "unsigned", False),
    ]
    assert audited["trusted"] is False
    assert audited["chain"][2]["vouch"] is None  # nothing vouches for c2 yet

    repo = fx.copy("audit")
    approve = fx.cli("approve", "--repo", repo.path, "--head", fx.ids["c2"], "--ssh-key", fx.keys["bob"].path,
                     "--repository", REPOSITORY)
    assert approve.code == 0, approve.describe()
    res = annotate(fx, repo, "pkgs/by-name/au/audited")
    assert res.code == 0, res.describe()
    after = res.json["packages"][0]
    assert named(fx, chain(after)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "c2", None, "unsigned", True),
        ("approval", "c2", "bob", "audit", True),
    ]
    c2 = after["chain"][2]
    assert c2["audited_by"] == ["bob"] and c2["status"] == "unsigned"
    assert c2["vouch"] == {"kind": "audit", "by": ["bob"], "reason":
                           f"audited by bob (signed approval of {fx.ids['c2'][:12]} against its first parent)"}
    assert after["chain"][1]["vouch"]["kind"] == "signature" and after["chain"][1]["vouch"]["by"] == ["alice"]
    sbom = json.loads(annotate(fx, repo, "pkgs/by-name/au/audited", fmt="cyclonedx").stdout)
    properties = {p["name"]: p["value"] for p in sbom["components"][0]["properties"]}
    assert properties["commitguard:chain:2:vouched_by"] == "audit by bob"
    assert "commitguard:chain:1:vouched_by" not in properties  # a signature is the status itself
    assert after["chain"][3]["base"] == fx.ids["c1"]
    assert after["trusted"] is True and res.json["ok"] is True


def test_audit_by_a_stranger_does_not_count(fx):
    repo = fx.copy("stranger-audit")
    approve = fx.cli("approve", "--repo", repo.path, "--head", fx.ids["c2"], "--ssh-key", fx.keys["mallory"].path,
                     "--repository", REPOSITORY)
    assert approve.code == 0, approve.describe()
    res = annotate(fx, repo, AUDITED)
    assert res.code == 1, res.describe()
    package = res.json["packages"][0]
    assert named(fx, chain(package))[-1] == ("commit", "c2", None, "unsigned", False)
    assert any("does not count" in note and "unknown-key" in note for note in package["notes"]), package["notes"]


def test_patch_beside_the_expression_changed_by_unknown_key(fx, whole):
    patched = by_path(whole)[PATCHED]
    assert patched["files"] == "pkgs/by-name/pa/patched"
    assert named(fx, chain(patched)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "c3", "bob", "trusted", True),
        ("commit", "c4", None, "unknown-key", False),
    ]
    assert patched["trusted"] is False and patched["history_trusted"] is False


def test_renamed_package_keeps_its_history(fx, whole):
    moved = by_path(whole)[MOVED]
    assert named(fx, chain(moved)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "cm", "bob", "trusted", True),
        ("commit", "c5", "alice", "trusted", True),
    ]
    assert moved["trusted"] is True
    assert any("pkgs/tools/moved" in note and fx.ids["c5"][:12] in note for note in moved["notes"]), moved["notes"]


def test_merge_brings_in_untrusted_side_branch(fx, whole):
    side = by_path(whole)[SIDE]
    assert named(fx, chain(side)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "s1", None, "unsigned", False),
        ("commit", "s2", "alice", "trusted", True),
        ("approval", "s2", "bob", "review", True),
        ("merge", "M", "alice", "trusted", True),
    ]
    merge_link = side["chain"][-1]
    assert merge_link["merged"] == [fx.ids["s1"], fx.ids["s2"]]
    assert side["chain"][4]["base"] == fx.ids["c5"]
    assert side["trusted"] is False


def test_annotate_at_an_older_revision(fx):
    res = annotate(fx, fx.repo, "pkgs/tools/moved", extra=("--rev", fx.ids["cm"]))
    assert res.code == 0, res.describe()
    moved = res.json["packages"][0]
    assert moved["path"] == MOVED_OLD and moved["version"] == "1.1"
    assert named(fx, chain(moved)) == [
        UPSTREAM,
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "cm", "bob", "trusted", True),
    ]


def test_keyring_kept_in_the_repository(fx):
    res = annotate(fx, fx.repo, PATCHED, GOOD, keyring=False)
    assert res.code == 1, res.describe()
    packages = by_path(res.json)
    assert named(fx, chain(packages[GOOD]))[1:] == [
        ("commit", "c0", "alice", "trusted", True),
        ("commit", "c1", "alice", "trusted", True),
        ("commit", "c7", "alice", "trusted", True),
    ]
    assert named(fx, chain(packages[PATCHED]))[-1] == ("commit", "c4", None, "unknown-key", False)


def test_keyring_kept_in_the_repository_needs_a_trust_root(fx):
    res = fx.cli("annotate", "--repo", fx.repo.path, "--no-cache", "--format", "json")
    assert res.code == 2 and res.stdout == "", res.describe()
    assert "--trust-root" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_text_and_markdown(fx):
    text = annotate(fx, fx.repo, SIDE, fmt="text")
    assert text.code == 1, text.describe()
    assert "sidepkg 1.2" in text.stdout and "NOT TRUSTED" in text.stdout
    assert fx.ids["s1"][:12] in text.stdout and "unsigned" in text.stdout and "merge" in text.stdout
    md = annotate(fx, fx.repo, GOOD, fmt="markdown")
    assert md.code == 0, md.describe()
    assert md.stdout.startswith("## ✅ commitguard annotate: 1 of 1 packages trusted")
    assert f"`{fx.ids['c7'][:12]}`" in md.stdout


def test_cyclonedx(fx):
    res = annotate(fx, fx.repo, GOOD, PATCHED, fmt="cyclonedx")
    assert res.code == 1, res.describe()
    bom = json.loads(res.stdout)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    components = {c["name"]: c for c in bom["components"]}
    good = components["good"]
    assert good["purl"] == "pkg:nix/good@1.2" and good["version"] == "1.2"
    sha256 = base64.b64decode(fx.digests["good-1.2"].removeprefix("sha256-")).hex()
    assert good["hashes"] == [{"alg": "SHA-256", "content": sha256}]
    assert good["externalReferences"][0]["url"] == f"{RELEASES}good/good-1.2.tar.gz"
    assert good["externalReferences"][0]["type"] == "distribution"
    props = {p["name"]: p["value"] for p in good["properties"]}
    assert props["commitguard:chain:0"] == f"upstream/{RELEASES}/-/verified"
    assert props["commitguard:chain:1"] == f"commit/alice/{fx.ids['c0']}/trusted"
    assert props["commitguard:chain:3"] == f"commit/alice/{fx.ids['c7']}/trusted"
    assert props["commitguard:trusted"] == "true"
    patched = {p["name"]: p["value"] for p in components["patched"]["properties"]}
    assert patched["commitguard:chain:3"] == f"commit/-/{fx.ids['c4']}/unknown-key"
    assert patched["commitguard:trusted"] == "false"
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    # the library's own schema validator (the test extra installs its jsonschema dependency)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(res.stdout) is None
    older = annotate(fx, fx.repo, GOOD, fmt="cyclonedx-1.5")
    assert json.loads(older.stdout)["specVersion"] == "1.5"


def test_unsupported_format_is_a_usage_error(fx):
    res = annotate(fx, fx.repo, GOOD, fmt="sarif")
    assert res.code == 2 and res.stdout == "", res.describe()
    assert "--format sarif is not available for annotate" in res.stderr


def test_incremental_index(fx, tmp_path):
    repo = fx.copy("incremental")
    cache = tmp_path / "cache"
    first = annotate(fx, repo, GOOD, cache=cache)
    assert first.json["history"] == {"commits": 11, "newly_indexed": 11}, first.describe()
    again = annotate(fx, repo, GOOD, cache=cache)
    assert again.json["history"] == {"commits": 11, "newly_indexed": 0}, again.describe()
    repo.commit("README: more", {"README.md": "# packages\n\nMore.\n"}, signer=fx.keys["alice"])
    after = annotate(fx, repo, GOOD, cache=cache)
    assert after.json["history"] == {"commits": 12, "newly_indexed": 1}, after.describe()
    rows = sqlite3.connect(cache / "history-index.sqlite3").execute("SELECT COUNT(*) FROM commits").fetchone()[0]
    assert rows == 12
    assert after.json["packages"] == again.json["packages"]


def test_path_not_in_revision_is_a_usage_error(fx):
    res = annotate(fx, fx.repo, "pkgs/by-name/no/nothing")
    assert res.code == 2 and res.stdout == "", res.describe()
    assert "pkgs/by-name/no/nothing" in res.stderr and len(res.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- the history index


def test_index_records_authorship_and_renames(fx, tmp_path):
    import pygit2

    from commitguard.git.path_index import HistoryIndex

    repo = pygit2.Repository(str(fx.repo.path))
    index = HistoryIndex(tmp_path / "idx")
    changes = index.update(repo, list(fx.ids.values()))
    assert index.newly_indexed == len(fx.ids)
    assert changes[fx.ids["c4"]].paths == (PATCH,)
    assert changes[fx.ids["c5"]].renames == ((MOVED_OLD, MOVED),)
    assert set(changes[fx.ids["c5"]].paths) == {MOVED_OLD, MOVED}
    assert changes[fx.ids["M"]].paths == ()  # a clean merge writes nothing of its own
    assert changes[fx.ids["M"]].parents == (fx.ids["c5"], fx.ids["s2"])
    assert set(changes[fx.ids["c0"]].paths) >= {GOOD, PATCH, MOVED_OLD, f"{KEYRING_DIR}/keyring.toml"}
    index.update(repo, list(fx.ids.values()))
    assert index.newly_indexed == 0
    index.close()


def test_evil_merge_is_a_change_of_its_own(fx, tmp_path):
    """A merge whose result differs from both sides wrote that content itself."""
    import pygit2

    from commitguard.git.path_index import HistoryIndex

    r = fx.copy("evil-merge")
    r.git("checkout", "-q", "-b", "other", fx.ids["c5"])
    r.commit("README: other", {"README.md": "# other\n"}, signer=fx.keys["alice"])
    r.git("checkout", "-q", "main")
    r.git("merge", "-q", "--no-ff", "--no-commit", "--no-gpg-sign", "other")
    r.write({GOOD: "evil\n", "README.md": "# merged\n"})
    r.git("commit", "-q", "--no-gpg-sign", "-m", "evil merge")
    merge_id = r.rev("HEAD")
    index = HistoryIndex(None)
    changes = index.update(pygit2.Repository(str(r.path)), [merge_id])
    assert set(changes[merge_id].paths) == {GOOD, "README.md"}
    res = annotate(fx, r, GOOD)
    assert named(fx, chain(res.json["packages"][0]))[-1] == ("commit", merge_id, None, "unsigned", False)


# --------------------------------------------------------------------------- pin


def pinned(res: CliResult) -> dict:
    data = res.json
    return {name: (p["path"], p["last_change"], p["trusted"]) for name, p in data["packages"].items()}


def test_pin_signed_package_at_the_tip(fx, tmp_path):
    lock = tmp_path / "good.lock"
    res = pin(fx, fx.repo, "good", lock=lock)
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["c7"]
    assert pinned(res) == {"good": (GOOD, fx.ids["c7"], True)}
    written = json.loads(lock.read_text())
    assert written["ok"] is True and written["rev"] == fx.ids["c7"]
    assert written["branch"] == "main" and written["trust_root"] == fx.ids["c0"]
    assert written["packages"]["good"]["chain_digest"].startswith("sha256:")
    assert set(written["packages"]["good"]) >= {"path", "last_change", "trusted", "chain_digest"}


def test_pin_before_the_unsigned_commit_then_after_its_audit(fx, tmp_path):
    res = pin(fx, fx.repo, "audited", lock=tmp_path / "a.lock")
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["c1"]
    assert pinned(res) == {"audited": (AUDITED, fx.ids["c0"], True)}
    repo = fx.copy("pin-audit")
    approve = fx.cli("approve", "--repo", repo.path, "--head", fx.ids["c2"], "--ssh-key", fx.keys["bob"].path,
                     "--repository", REPOSITORY)
    assert approve.code == 0, approve.describe()
    res = pin(fx, repo, "audited", lock=tmp_path / "b.lock")
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["c7"]
    assert pinned(res) == {"audited": (AUDITED, fx.ids["c2"], True)}


def test_pin_before_the_unknown_key(fx, tmp_path):
    res = pin(fx, fx.repo, PATCHED, lock=tmp_path / "p.lock")
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["cm"]
    assert pinned(res) == {"patched": (PATCHED, fx.ids["c3"], True)}


def test_pin_before_the_merge_of_an_untrusted_branch(fx, tmp_path):
    res = pin(fx, fx.repo, "sidepkg", lock=tmp_path / "s.lock")
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["c5"]
    assert pinned(res) == {"sidepkg": (SIDE, fx.ids["c0"], True)}


def test_pin_renamed_package_where_it_still_had_its_old_path(fx, tmp_path):
    res = pin(fx, fx.repo, "moved", "good", lock=tmp_path / "m.lock")
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["c7"]
    assert pinned(res)["moved"] == (MOVED, fx.ids["c5"], True)
    res = pin(fx, fx.repo, "moved", "patched", lock=tmp_path / "mp.lock")
    assert res.code == 0, res.describe()
    assert res.json["rev"] == fx.ids["cm"]
    assert pinned(res) == {"moved": (MOVED_OLD, fx.ids["cm"], True), "patched": (PATCHED, fx.ids["c3"], True)}
    check = pin(fx, fx.repo, lock=tmp_path / "mp.lock", check=True)
    assert check.code == 0, check.describe()
    assert {n: p["chain_changed"] for n, p in check.json["packages"].items()} == {"moved": False, "patched": False}


def test_pin_finds_nothing_when_a_package_was_never_trusted(fx, tmp_path):
    repo = fx.copy("never")
    repo.commit("fresh: init", {"pkgs/by-name/fr/fresh/package.nix": package_nix("fresh", "1.0", fx.digests["good-1.0"])})
    repo.commit("good: touch", {GOOD: package_nix("good", "1.2", fx.digests["good-1.2"], extra=" Touched.")},
                signer=fx.keys["alice"])
    lock = tmp_path / "never.lock"
    res = pin(fx, repo, "fresh", lock=lock)
    assert res.code == 1, res.describe()
    assert res.json["ok"] is False and res.json["rev"] is None
    assert "unsigned" in res.json["packages"]["fresh"]["reason"]
    assert not lock.exists()


def test_check_catches_a_force_push_that_drops_the_locked_revision(fx, tmp_path):
    repo = fx.copy("force-push")
    lock = tmp_path / "fp.lock"
    assert pin(fx, repo, "good", lock=lock).code == 0
    repo.git("checkout", "-q", "side")
    other = pin(fx, repo, lock=lock, check=True)  # the lock's branch is compared, never followed on its word
    assert other.code == 1, other.describe()
    assert other.json["errors"][0] == ("the lock was written for branch main, this check follows side: "
                                       "pass --branch main to check the lock against that branch"), other.describe()
    ok = pin(fx, repo, lock=lock, check=True, extra=("--branch", "main"))
    assert ok.code == 0, ok.describe()
    assert ok.json["packages"]["good"]["chain_changed"] is False
    repo.git("checkout", "-q", "main")
    repo.git("reset", "-q", "--hard", fx.ids["c5"])
    repo.commit("good: 1.1 -> 1.2 again", {GOOD: package_nix("good", "1.2", fx.digests["good-1.2"])},
                signer=fx.keys["alice"])
    res = pin(fx, repo, lock=lock, check=True)
    assert res.code == 1, res.describe()
    assert res.json["ok"] is False
    assert len(res.json["errors"]) == 1 and res.json["errors"][0].startswith("rollback: ")
    assert fx.ids["c7"][:12] in res.json["errors"][0]
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    gone = pin(fx, repo, lock=lock, check=True)
    assert gone.code == 1, gone.describe()
    assert gone.json["errors"][0].startswith("rollback: ") and "not in the repository" in gone.json["errors"][0]


def test_check_catches_a_keyring_change(fx, tmp_path):
    lock = tmp_path / "k.lock"
    assert pin(fx, fx.repo, "patched", lock=lock).code == 0
    res = pin(fx, fx.repo, lock=lock, check=True, keyring=fx.keyring_without_bob)
    assert res.code == 1, res.describe()
    package = res.json["packages"]["patched"]
    assert package["trusted"] is False and package["chain_changed"] is True
    assert f"commit {fx.ids['c3'][:12]} is unknown-key" in package["reason"]


def test_check_reports_a_changed_chain_that_is_still_trusted(fx, tmp_path):
    repo = fx.copy("digest")
    lock = tmp_path / "d.lock"
    assert pin(fx, repo, "good", lock=lock).code == 0
    approve = fx.cli("approve", "--repo", repo.path, "--head", fx.ids["c1"], "--ssh-key", fx.keys["bob"].path,
                     "--repository", REPOSITORY)
    assert approve.code == 0, approve.describe()
    res = pin(fx, repo, lock=lock, check=True)
    assert res.code == 0, res.describe()
    assert res.json["packages"]["good"]["chain_changed"] is True
    assert any(w.startswith("good: its chain changed") for w in res.json["warnings"]), res.json["warnings"]


def test_pin_usage_errors(fx, tmp_path):
    unknown = pin(fx, fx.repo, "nosuchpackage", lock=tmp_path / "x.lock")
    assert unknown.code == 2 and unknown.stdout == "", unknown.describe()
    assert "nosuchpackage" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.lock"
    bad.write_text('{"rev": "HEAD", "packages": {}}')
    res = pin(fx, fx.repo, lock=bad, check=True)
    assert res.code == 2 and res.stdout == "", res.describe()
    assert "bad.lock: rev: must be a 40-hex commit id" in res.stderr
    missing = pin(fx, fx.repo, lock=tmp_path / "missing.lock", check=True)
    assert missing.code == 2 and "lock file not found" in missing.stderr, missing.describe()


def test_pin_text_output(fx, tmp_path):
    lock = tmp_path / "t.lock"
    res = fx.cli("pin", "good", "--repo", fx.repo.path, "--keyring", fx.keyring, "--lock", lock,
                 "--trust-root", fx.ids["c0"], "--no-cache")
    assert res.code == 0, res.describe()
    assert f"pinned {fx.ids['c7']}" in res.stdout and f"lock written to {lock}" in res.stdout


# --------------------------------------------------------------------------- pin --check: the lock only records


def _lock(path: Path, fx: Fixture, rev: str, packages: dict[str, str], **extra) -> Path:
    """A lock written by hand, as someone editing it would."""
    data = {"ok": True, "rev": fx.ids.get(rev, rev), "branch": "main",
            "packages": {name: {"path": p, "last_change": None, "trusted": True, "chain_digest": None}
                         for name, p in packages.items()}}
    data.update(extra)
    path.write_text(json.dumps(data))
    return path


def test_check_ignores_a_trust_root_the_lock_names_for_itself(fx, tmp_path):
    """The keyring's trust root is c0; the lock is edited to name c5 as both its
    revision and its trust root, which would hide mallory's c4 to patched."""
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text(
        keyring_text(fx.keys).replace("version = 1\n", f'version = 1\n\n[policy]\ntrust_root = "{fx.ids["c0"]}"\n', 1))
    lock = _lock(tmp_path / "edited.lock", fx, "c5", {"patched": PATCHED}, trust_root=fx.ids["c5"])
    res = pin(fx, fx.repo, lock=lock, check=True, keyring=keyring, trust_root=None)
    assert res.code == 1, res.describe()
    data = res.json
    assert (data["ok"], data["rev"], data["trust_root"]) == (False, fx.ids["c5"], fx.ids["c0"])
    patched = data["packages"]["patched"]
    assert patched["trusted"] is False
    assert patched["reason"].startswith(f"commit {fx.ids['c4'][:12]} is unknown-key"), patched
    assert f"the lock records trust root {fx.ids['c5']}; checked from trust root {fx.ids['c0']} " \
           "(the keyring's policy.trust_root)" in data["warnings"], data["warnings"]
    # the command line's trust root is used the same way
    res = pin(fx, fx.repo, lock=lock, check=True, trust_root="c0")
    assert res.code == 1 and res.json["trust_root"] == fx.ids["c0"], res.describe()
    assert res.json["packages"]["patched"]["trusted"] is False


def test_check_with_a_repository_keyring_needs_the_trust_root_on_the_command_line(fx, tmp_path):
    lock = _lock(tmp_path / "in-repo.lock", fx, "c7", {"good": GOOD}, trust_root=fx.ids["c0"])
    res = fx.cli("pin", "--check", "--repo", fx.repo.path, "--lock", lock, "--no-cache", "--format", "json")
    assert res.code == 2 and res.stdout == "", res.describe()
    assert res.stderr.strip().splitlines() == [
        "commitguard: error: --trust-root: a keyring kept inside the repository needs --trust-root COMMIT: the keyring "
        "cannot name the commit that introduces it"], res.describe()


def test_check_refuses_a_lock_that_checks_another_path_for_a_package(fx, tmp_path):
    """good's expression is pkgs/by-name/go/good; the lock names the trusted moved package's path for it."""
    lock = _lock(tmp_path / "swap.lock", fx, "c7", {"good": MOVED}, trust_root=fx.ids["c0"])
    res = pin(fx, fx.repo, lock=lock, check=True)
    assert res.code == 1, res.describe()
    good = res.json["packages"]["good"]
    assert (good["trusted"], good["reason"]) == (
        False, f"the lock checks {MOVED} for good, whose expression in the locked revision is {GOOD}"), good


def test_a_warm_cache_answers_as_no_cache(fx, tmp_path):
    """History snapshots, kept static readings and the verified frontier change no answer: every
    package annotated and a pin that falls back to older revisions, with the same cache twice and
    after a new commit, against the same commands without a cache."""
    repo = fx.copy("warm")
    cache = tmp_path / "cache"

    def everything(cached: bool) -> dict:
        res = annotate(fx, repo, cache=cache if cached else None)
        assert res.code in (0, 1), res.describe()
        out = res.json
        out.pop("history")
        return out

    def pinned_with(cached: bool, name: str) -> dict:
        where = ["--cache", str(cache)] if cached else ["--no-cache"]
        res = fx.cli("pin", "moved", "patched", "--repo", repo.path, "--keyring", fx.keyring, "--lock",
                     tmp_path / name, "--repository", REPOSITORY, "--format", "json", "--trust-root", fx.ids["c0"],
                     *where)
        assert res.code == 0, res.describe()
        return res.json

    cold = everything(False)
    assert len(cold["packages"]) >= 5
    for _ in range(2):
        assert everything(True) == cold
        assert pinned_with(True, "warm.lock")["packages"] == pinned_with(False, "cold.lock")["packages"]
    repo.commit("good: 1.3", {GOOD: package_nix("good", "1.3", fx.digests["good-1.2"], extra=" Again.")},
                signer=fx.keys["alice"])
    after = everything(True)
    assert after == everything(False) and after != cold
    assert pinned_with(True, "warm.lock")["packages"] == pinned_with(False, "cold.lock")["packages"]
    assert (cache / "history").is_dir() and (cache / "static-reads.sqlite3").is_file()


def test_annotate_reads_the_pack_through_bounded_windows(fx, monkeypatch):
    """Every package's expression is read while libgit2 maps at most 64 MiB of pack
    (unbounded, a million-commit run kept a gigabyte of pack resident), and the
    process's own setting is back afterwards."""
    import pygit2

    import commitguard.upstream.revision_read as revision_read

    before = pygit2.settings.mwindow_mapped_limit
    seen = []
    real = revision_read.read_revision

    def spy(*args, **kwargs):
        seen.append((pygit2.settings.mwindow_size, pygit2.settings.mwindow_mapped_limit))
        return real(*args, **kwargs)

    monkeypatch.setattr(revision_read, "read_revision", spy)
    res = annotate(fx, fx.repo, GOOD)
    assert res.code in (0, 1), res.describe()
    assert seen and all(size <= 16 << 20 and mapped <= 64 << 20 for size, mapped in seen)
    assert pygit2.settings.mwindow_mapped_limit == before
