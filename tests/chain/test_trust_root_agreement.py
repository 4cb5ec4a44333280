"""``pin`` and ``annotate`` agree on every package, wherever the trust root is.

A generated nixpkgs-style repository (real git, commits and merges signed with
ssh-keygen keys, upstream releases signed into an offline mirror so that only
history decides) has six packages changed on the mainline and through merged
branches, one of them forked before other merges. For every package and for
trust roots on every merge, on each package's last change and on the commit
before it, ``pin`` and ``annotate`` must give the same verdict, chain digest
and last change, must show the trust root as a link of every package it
holds, and must match what the fixture itself says (who signed each commit,
which merge brought it in, which packages a revision holds: git's answers,
not commitguard's). History::

    c0    alice    init pkg0..pkg3
    m1    alice    pkg0 1.1
    b1a   bob      pkg1 1.1        (branch b1)
    b1b   -        pkg2 1.1        (branch b1, unsigned)
    M1    alice    merge b1
    p4    alice    pkg4 init
    b2a   alice    pkg3 1.1        (branch b2)
    M2    bob      merge b2        (the merge that last brought pkg3 in)
    u1    -        pkg0 1.2        (unsigned)
    b3a   mallory  pkg4 1.1        (branch b3, a key the keyring does not know)
    b3b   alice    pkg5 init       (branch b3)
    M3    -        merge b3        (unsigned)
    m2    alice    pkg1 1.2
    b4a   alice    pkg2 fix.patch  (branch b4, forked at m1: before M1)
    M4    alice    merge b4
    m3    alice    README
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures_git import SshKey, run
from tests.fixtures.pins import RELEASES, keyring_text, package_nix
from tests.fixtures.approvals import GitRepo

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "ssh-keygen")), reason="needs git and ssh-keygen"
)

PACKAGES = [f"pkg{i}" for i in range(6)]
TRUSTED_SIGNERS = {"alice", "bob"}
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()


def path_of(name: str) -> str:
    return f"pkgs/by-name/{name[:2]}/{name}/package.nix"


@dataclass
class Generated:
    root: Path
    repo: GitRepo
    mirror: Path
    keyring: Path
    ids: dict[str, str] = field(default_factory=dict)
    signer: dict[str, str | None] = field(default_factory=dict)  # commit -> who signed it (None: nobody)
    touches: dict[str, set[str]] = field(default_factory=dict)  # commit -> packages it changed
    merged_by: dict[str, str] = field(default_factory=dict)  # branch commit -> the merge that brought it in

    def git(self, *args: str) -> str:
        return self.repo.git(*args)


def generate(root: Path) -> Generated:
    keys = {n: SshKey.generate(root / "ssh", n, "ed25519") for n in ("alice", "bob", "mallory", "upstream")}
    mirror = root / "mirror"
    keyring = root / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text(keyring_text(keys))
    g = Generated(root, GitRepo(root / "repo", root), mirror, keyring)

    def pkg(name: str, version: str) -> str:
        folder = mirror / "releases.example.org" / name
        folder.mkdir(parents=True, exist_ok=True)
        release = folder / f"{name}-{version}.tar.gz"
        release.write_bytes(f"{name} {version}\n".encode() * 50)
        run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keys["upstream"].path), "-n", "file", str(release)])
        digest = "sha256-" + base64.b64encode(hashlib.sha256(release.read_bytes()).digest()).decode()
        return package_nix(name, version, digest)

    def commit(label: str, who: str | None, changes: dict[str, str], extra: dict[str, str] | None = None,
               touched: set[str] = frozenset()) -> str:
        files = {path_of(n): pkg(n, v) for n, v in changes.items()}
        files.update(extra or {})
        g.ids[label] = g.repo.commit(f"{label}: {', '.join(changes) or 'other files'}", files,
                                     signer=keys[who] if who else None)
        g.signer[g.ids[label]] = who
        g.touches[g.ids[label]] = set(changes) | set(touched)
        return g.ids[label]

    def merge(label: str, branch: str, who: str | None, brought: list[str]) -> str:
        g.repo._tick += 1
        when = {"GIT_AUTHOR_DATE": f"2025-02-{1 + g.repo._tick % 28:02d}T00:00:00Z",
                "GIT_COMMITTER_DATE": f"2025-02-{1 + g.repo._tick % 28:02d}T00:00:00Z"}
        sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={keys[who].path}"] if who else []
        g.repo.git(*sign, "merge", "-q", "--no-ff", "-S" if who else "--no-gpg-sign", "-m", f"{label}: merge {branch}",
                   branch, env=when)
        g.ids[label] = g.repo.rev("HEAD")
        g.signer[g.ids[label]], g.touches[g.ids[label]] = who, set()
        for c in brought:
            g.merged_by[g.ids[c]] = g.ids[label]
        return g.ids[label]

    def branch(name: str, start: str) -> None:
        g.repo.git("checkout", "-q", "-b", name, g.ids.get(start, start))

    def main() -> None:
        g.repo.git("checkout", "-q", "main")

    commit("c0", "alice", {"pkg0": "1.0", "pkg1": "1.0", "pkg2": "1.0", "pkg3": "1.0"}, {"README.md": "# set\n"})
    commit("m1", "alice", {"pkg0": "1.1"})
    branch("b1", "m1")
    commit("b1a", "bob", {"pkg1": "1.1"})
    commit("b1b", None, {"pkg2": "1.1"})
    main()
    merge("M1", "b1", "alice", ["b1a", "b1b"])
    commit("p4", "alice", {"pkg4": "1.0"})
    branch("b2", "p4")
    commit("b2a", "alice", {"pkg3": "1.1"})
    main()
    merge("M2", "b2", "bob", ["b2a"])
    commit("u1", None, {"pkg0": "1.2"})
    branch("b3", "u1")
    commit("b3a", "mallory", {"pkg4": "1.1"})
    commit("b3b", "alice", {"pkg5": "1.0"})
    main()
    merge("M3", "b3", None, ["b3a", "b3b"])
    commit("m2", "alice", {"pkg1": "1.2"})
    branch("b4", "m1")
    commit("b4a", "alice", {}, {"pkgs/by-name/pk/pkg2/fix.patch": "--- a\n+++ b\n"}, touched={"pkg2"})
    main()
    merge("M4", "b4", "alice", ["b4a"])
    commit("m3", "alice", {}, {"README.md": "# set\n\nMore.\n"})
    return g


# --------------------------------------------------------------------------- what the fixture itself says


def history_since(g: Generated, root: str, tip: str) -> set[str]:
    """git's own answer: what ``tip`` reaches, minus the trust root's ancestors."""
    parents = g.git("rev-list", "--parents", "-n", "1", root).split()[1:]
    return set(g.git("rev-list", tip, *(f"^{p}" for p in parents)).split())


def holds(g: Generated, commit: str, name: str) -> bool:
    return run(["git", "cat-file", "-e", f"{commit}:{path_of(name)}"], cwd=g.repo.path, env=g.repo.env,
               check=False).returncode == 0


def expected(g: Generated, root: str, tip: str, name: str) -> tuple[set[str], bool]:
    """(the commits of the package's chain, trusted) as the fixture's bookkeeping has them."""
    since = history_since(g, root, tip)
    commits = {c for c in since if name in g.touches[c]}
    if holds(g, root, name):
        commits.add(root)
    merges = {g.merged_by[c] for c in commits if c in g.merged_by and g.merged_by[c] in since}
    trusted = bool(commits) and all(g.signer[c] in TRUSTED_SIGNERS for c in commits | merges)
    return commits | merges, trusted


def last_change(g: Generated, name: str) -> str:
    tip = g.ids["m3"]
    return next(c for c in g.git("rev-list", "--topo-order", tip).split() if name in g.touches[c])


def trust_roots(g: Generated) -> dict[str, str]:
    """Every merge, every package's last change, and the (first-parent) commit before it."""
    labels = {v: k for k, v in g.ids.items()}
    roots = {label: g.ids[label] for label in ("M1", "M2", "M3", "M4")}
    for name in PACKAGES:
        last = last_change(g, name)
        roots[labels[last]] = last
        before = g.git("rev-parse", f"{last}^")
        roots[labels[before]] = before
    return roots


# --------------------------------------------------------------------------- running both commands


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> Generated:
    return generate(tmp_path_factory.mktemp("agreement"))


def run_annotate(g: Generated, root: str, rev: str) -> dict[str, dict]:
    from commitguard.chain.annotate import AnnotateOptions, annotate
    from commitguard.git.revisions import open_repository
    from commitguard.keyring import load_keyring

    report = annotate(open_repository(str(g.repo.path)), load_keyring(g.keyring), AnnotateOptions(
        rev=rev, paths=tuple(path_of(n) for n in PACKAGES if holds(g, rev, n)), trust_root=root, mirror=g.mirror))
    return {p["name"]: p for p in (package.to_json() for package in report.packages)}


def run_pin(g: Generated, root: str, name: str, lock: Path):
    from commitguard.git.revisions import open_repository
    from commitguard.keyring import load_keyring
    from commitguard.chain.pin import PinOptions, pin

    return pin(open_repository(str(g.repo.path)), load_keyring(g.keyring), [name], PinOptions(branch="main", lock=str(lock),
                                                                              trust_root=root))


def run_check(g: Generated, root: str, lock: Path):
    from commitguard.git.revisions import open_repository
    from commitguard.keyring import load_keyring
    from commitguard.chain.pin import PinOptions, check_lock

    return check_lock(open_repository(str(g.repo.path)), load_keyring(g.keyring), [], PinOptions(branch="main", lock=str(lock),
                                                                                 trust_root=root))


# Every merge, each package's last change and the commit before it (test_fixture_shape checks
# that this is what trust_roots computes), and the first commit.
ROOTS = ["M1", "M2", "M3", "M4", "u1", "m2", "b4a", "m1", "b2a", "p4", "b3a", "b3b", "c0"]


def test_fixture_shape(gen):
    # the case: the trust root on the merge that last brought a package in
    assert last_change(gen, "pkg3") == gen.ids["b2a"] and gen.merged_by[gen.ids["b2a"]] == gen.ids["M2"]
    assert set(trust_roots(gen)) == set(ROOTS) - {"c0"}
    assert gen.git("rev-parse", "main") == gen.ids["m3"]


@pytest.mark.parametrize("label", ROOTS)
def test_pin_and_annotate_agree_on_every_package(gen, label, tmp_path):
    root, tip = gen.ids[label], gen.ids["m3"]
    at_tip = run_annotate(gen, root, tip)
    assert sorted(at_tip) == PACKAGES
    # pin --check of a lock naming the tip: the same history, judged by pin
    lock = tmp_path / "tip.lock"
    lock.write_text('{"rev": "%s", "branch": "main", "trust_root": "%s", "packages": {%s}}' % (
        tip, root, ", ".join(f'"{n}": {{"path": "{path_of(n)}"}}' for n in PACKAGES)))
    checked = run_check(gen, root, lock)
    assert checked.errors == () and checked.trust_root == root, checked
    for name in PACKAGES:
        shown = at_tip[name]
        chain, trusted = expected(gen, root, tip, name)
        where = f"{name} with trust root {label}"
        listed = {link["commit"] for link in shown["chain"] if link["role"] in ("commit", "merge")}
        assert listed == chain, (where, shown["chain"])
        assert shown["history_trusted"] is trusted and shown["trusted"] is trusted, (where, shown)
        assert shown["upstream"]["status"] == "verified", (where, shown["upstream"])
        roots_shown = [link["commit"] for link in shown["chain"] if link.get("trust_root")]
        assert roots_shown == ([root] if root in chain else []), (where, shown["chain"])
        if holds(gen, root, name):
            assert root in chain and shown["chain_digest"] != EMPTY_DIGEST, where
        locked = checked.packages[name]
        assert (locked.trusted, locked.chain_digest, locked.last_change) == (
            trusted, shown["chain_digest"], shown["last_change"]), (where, locked, shown)

        # pin alone: the newest revision it finds is one annotate calls trusted, with the same chain
        pinned = run_pin(gen, root, name, tmp_path / f"{name}.lock")
        if trusted:
            assert pinned.rev == tip, (where, pinned)
        if pinned.rev is None:
            assert pinned.ok is False and pinned.packages[name].trusted is False, (where, pinned)
            continue
        assert pinned.ok is True, (where, pinned)
        there = at_tip if pinned.rev == tip else run_annotate(gen, root, pinned.rev)
        again, trusted_there = expected(gen, root, pinned.rev, name)
        assert trusted_there is True, (where, pinned.rev)
        result = pinned.packages[name]
        assert (result.trusted, result.chain_digest, result.last_change) == (
            True, there[name]["chain_digest"], there[name]["last_change"]), (where, pinned.rev, result, there[name])
        assert there[name]["trusted"] is True, (where, there[name])


def test_trust_root_on_the_merge_that_brought_a_package_in(gen, tmp_path):
    """The issue's case: pkg3 last came in through M2. Both commands show M2 as
    pkg3's only link, signed by bob, and both call it trusted."""
    root = gen.ids["M2"]
    shown = run_annotate(gen, root, gen.ids["m3"])["pkg3"]
    assert [(link["role"], link.get("commit"), link["signer"], link["status"], link.get("trust_root"))
            for link in shown["chain"]] == [
        ("upstream", None, RELEASES, "verified", None),
        ("commit", root, "bob", "trusted", True),
    ]
    assert shown["last_change"] == root and shown["trusted"] is True
    pinned = run_pin(gen, root, "pkg3", tmp_path / "pkg3.lock")
    assert pinned.rev == gen.ids["m3"]
    assert (pinned.packages["pkg3"].last_change, pinned.packages["pkg3"].chain_digest) == (root, shown["chain_digest"])
    assert shown["chain_digest"] != EMPTY_DIGEST


def test_unsigned_trust_root_vouches_for_nothing(gen, tmp_path):
    """M3 is an unsigned merge: every package it holds is untrusted, in both commands."""
    root = gen.ids["M3"]
    shown = run_annotate(gen, root, gen.ids["m3"])
    assert {n: p["trusted"] for n, p in shown.items()} == {n: False for n in PACKAGES}
    pinned = run_pin(gen, root, "pkg5", tmp_path / "pkg5.lock")
    assert pinned.rev is None and pinned.ok is False
    assert pinned.packages["pkg5"].reason.startswith(f"commit {root[:12]} is unsigned"), pinned.packages["pkg5"]


def test_package_without_history_since_the_trust_root_is_never_trusted(gen, tmp_path):
    """A trust root that is no ancestor of the revision examined: M2 judged
    from b4a (a branch forked at m1, merged only later). pkg0 was last changed
    by m1, which the cut removes: no commit of what is left touched it, and the
    trust root is not part of it. Nothing vouches for pkg0 there."""
    from commitguard.chain.annotate import AnnotateOptions, annotate
    from commitguard.git.revisions import open_repository
    from commitguard.keyring import load_keyring

    root = gen.ids["b4a"]
    report = annotate(open_repository(str(gen.repo.path)), load_keyring(gen.keyring), AnnotateOptions(
        rev=gen.ids["M2"], paths=(path_of("pkg0"),), trust_root=root, mirror=gen.mirror))
    [package] = report.packages
    data = package.to_json()
    assert data["chain"][1:] == [] and data["trusted"] is False and data["history_trusted"] is False, data
    assert f"no history of pkgs/by-name/pk/pkg0 since the trust root {root[:12]} was found (no commit in it touched " \
           "the package, and it is not in the trust root): nothing vouches for it" in data["notes"], data["notes"]
    assert any("is not an ancestor" in w for w in report.warnings), report.warnings
