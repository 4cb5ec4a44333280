"""Options every command shares (issue 15): defined once, they mean the same everywhere.

- ``--trust-root`` on ``check-pr``: the base must be the trust root or descend
  from it, else exit 2 (fail closed); the change's own commits are all checked
  either way, locally and with ``--github``.
- ``--jobs``/``--cache``/``--no-cache``: taken by the commands that verify commit
  signatures; ``sources`` and ``audit-bump`` verify none and have nothing to
  cache, so they refuse them (exit 2) rather than accept a flag that does nothing.
- ``--format``: a value the command cannot render is refused, exit 2 and one
  line, before any work (the repository does not even exist), for every command
  including the keyring subcommands.
- The keyring: ``--keyring``, then ``$COMMITGUARD_KEYRING``, then the
  repository's own, read at a revision the command trusts (never a change's head).

Repositories are made with the real git and keys with ssh-keygen; commitguard
runs as a subprocess.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tests.fixtures_git import Repo, SshKey, SshSigner, run_cli, write_keyring
from tests.review.test_github_pr import api, build_pr, keys, world  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "ssh-keygen")), reason="needs git and ssh-keygen"
)

RULE = '[[rule]]\npaths = ["**"]\napprovals = 1\napprovers = ["alice"]\n'


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-options")


@pytest.fixture(scope="module")
def alice(scratch) -> SshKey:
    return SshKey.generate(scratch / "ssh", "alice", "ed25519")


def person(pid: str, key: SshKey) -> dict:
    return {"id": pid, "emails": [f"{pid}@example.org"], "keys": [{"ssh": key.pub_line}]}


@pytest.fixture(scope="module")
def ruled_keyring(scratch, alice) -> Path:
    return write_keyring(scratch / "ruled", persons=[person("alice", alice)], extra=RULE)


@pytest.fixture(scope="module")
def history(scratch, alice):
    """root -> base -> head on main, and a side commit off root (not in base's history)."""
    repo = Repo(scratch / "history", scratch / "home")
    signer = SshSigner(alice)
    root = repo.commit("root", signer=signer)
    base = repo.commit("base", parents=[root], signer=signer)
    head = repo.commit("head", parents=[base], signer=signer)
    side = repo.commit("side", parents=[root], signer=signer)
    repo.git("update-ref", "refs/heads/main", head)
    repo.git("update-ref", "refs/heads/side", side)
    return repo, {"root": root, "base": base, "head": head, "side": side}


def cli(scratch: Path, *args, env: dict | None = None):
    return run_cli([str(a) for a in args], scratch=scratch, env=env)


def one_error_line(res) -> str:
    assert res.code == 2, res.describe()
    assert res.stdout == "", res.describe()
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("commitguard: error: "), res.describe()
    return lines[0]


# --------------------------------------------------------------------------- --trust-root on check-pr


def check_pr(scratch, history, keyring, *extra):
    repo, c = history
    return cli(scratch, "check-pr", "--repo", repo.path, "--keyring", keyring, "--base", c["base"],
               "--head", c["head"], "--no-cache", "--format", "json", *extra)


@pytest.mark.parametrize("root", ["root", "base"])
def test_check_pr_trust_root_at_or_below_the_base_changes_nothing(scratch, history, ruled_keyring, root):
    plain = check_pr(scratch, history, ruled_keyring)
    rooted = check_pr(scratch, history, ruled_keyring, "--trust-root", history[1][root])
    assert plain.code in (0, 1), plain.describe()
    assert (rooted.code, rooted.stdout) == (plain.code, plain.stdout), rooted.describe()
    # the change's one commit is checked, whatever the trust root
    assert [c["id"] for c in rooted.json["commits"]] == [history[1]["head"]]


@pytest.mark.parametrize("root", ["head", "side"])
def test_check_pr_trust_root_the_base_does_not_descend_from_is_refused(scratch, history, ruled_keyring, root):
    res = check_pr(scratch, history, ruled_keyring, "--trust-root", history[1][root])
    line = one_error_line(res)
    assert "does not descend from the trust root" in line and "--trust-root" in line


def test_check_pr_unknown_trust_root_is_refused(scratch, history, ruled_keyring):
    line = one_error_line(check_pr(scratch, history, ruled_keyring, "--trust-root", "no-such-revision"))
    assert "trust root" in line


def test_check_pr_github_takes_trust_root(world):  # noqa: F811 (fixture)
    base, head = build_pr(world)
    plain = world.check()
    assert plain.code == 1, plain.describe()  # carol's change lacks alice's approval
    rooted = world.check("--trust-root", base)
    assert (rooted.code, rooted.json) == (plain.code, plain.json), rooted.describe()
    refused = world.check("--trust-root", head)
    assert "does not descend from the trust root" in one_error_line(refused)
    assert not any("APPROVE" == p.get("event") for p in world.api.posted)


# --------------------------------------------------------------------------- --jobs, --cache


def test_verifying_commands_take_jobs_and_cache(scratch, history, ruled_keyring):
    cache = scratch / "cache-dir"
    repo, c = history
    res = cli(scratch, "check-pr", "--repo", repo.path, "--keyring", ruled_keyring, "--base", c["base"],
              "--head", c["head"], "--jobs", "1", "--cache", cache, "--format", "json")
    assert res.code in (0, 1), res.describe()
    assert (cache / "verdicts.sqlite3").is_file()


@pytest.mark.parametrize(("command", "flag"), [
    ("sources", ("--cache", "somewhere")), ("sources", ("--no-cache",)),
    ("audit-bump", ("--jobs", "2")), ("audit-bump", ("--cache", "somewhere")), ("audit-bump", ("--no-cache",)),
])
def test_sources_and_audit_bump_verify_no_commit_so_refuse_jobs_and_cache(scratch, command, flag):
    """No verdict to cache (and nothing in audit-bump to run in parallel): a flag that did
    nothing would mislead. ``sources --jobs`` reads expressions in parallel (test_sources_jobs)."""
    res = cli(scratch, command, "--repo", scratch / "no-such-repository", *flag)
    assert one_error_line(res).startswith(f"commitguard: error: No such option: {flag[0]}")


# --------------------------------------------------------------------------- --format before any work


@pytest.mark.parametrize("command", [
    ["verify"], ["check-pr", "--base", "A", "--head", "B"], ["sources"], ["annotate"], ["pin", "hello"],
    ["audit-bump", "--base", "A", "--head", "B"], ["keyring", "check"], ["keyring", "show"],
    ["keyring", "diff", "old", "new"], ["keyring", "import", "allowed-signers", "file", "--keyring", "k"],
])
def test_bad_format_refused_before_any_work(scratch, command):
    res = cli(scratch, *command, "--repo", scratch / "no-such-repository", "--format", "xml")
    name = "keyring" if command[0] == "keyring" else command[0]
    assert one_error_line(res).startswith(f"commitguard: error: --format xml is not available for {name} (choose from ")


def test_format_a_formatter_lacks_is_refused_by_the_library_too():
    """The table in options.py and the formatters agree; asked anyway, a formatter refuses."""
    from commitguard.errors import CommitguardError
    from commitguard.output.interface import formatter_for

    assert formatter_for("json").supports("keyring show")
    assert not formatter_for("markdown").supports("keyring show")
    with pytest.raises(CommitguardError, match="--format sarif is not available for pin"):
        formatter_for("sarif").require("pin")


# --------------------------------------------------------------------------- which keyring


@pytest.fixture(scope="module")
def three_keyrings(scratch, alice):
    """A repository whose working tree keeps a keyring (carol), a keyring named by
    --keyring (alice) and one in $COMMITGUARD_KEYRING (bob)."""
    repo = Repo(scratch / "kept", scratch / "home")
    write_keyring(repo.path / ".commitguard" / "keyring", persons=[person("carol", alice)])
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "keyring")
    option = write_keyring(scratch / "option-keyring", persons=[person("alice", alice)])
    env = write_keyring(scratch / "env-keyring", persons=[person("bob", alice)])
    return repo, option, env


def shown(res) -> list[str]:
    assert res.code == 0, res.describe()
    return [p["id"] for p in res.json["persons"]]


def test_keyring_option_first(scratch, three_keyrings):
    repo, option, env = three_keyrings
    res = cli(scratch, "keyring", "show", "--repo", repo.path, "--keyring", option, "--format", "json",
              env={"COMMITGUARD_KEYRING": str(env)})
    assert shown(res) == ["alice"]


def test_keyring_environment_second(scratch, three_keyrings):
    repo, _, env = three_keyrings
    res = cli(scratch, "keyring", "show", "--repo", repo.path, "--format", "json",
              env={"COMMITGUARD_KEYRING": str(env)})
    assert shown(res) == ["bob"]


def test_keyring_kept_in_the_repository_last(scratch, three_keyrings):
    repo, _, _ = three_keyrings
    assert shown(cli(scratch, "keyring", "show", "--repo", repo.path, "--format", "json")) == ["carol"]


def test_no_keyring_anywhere_is_one_error_line(scratch, history):
    repo, _ = history
    line = one_error_line(cli(scratch, "verify", "--repo", repo.path, "--no-cache", "HEAD"))
    assert "no keyring: pass --keyring DIR, set COMMITGUARD_KEYRING, or keep one at .commitguard/keyring" in line


def test_check_pr_never_reads_the_keyring_a_change_brings(scratch, alice):
    """The head adds .commitguard/keyring; the base has none: the check cannot start."""
    repo = Repo(scratch / "brings", scratch / "home")
    (repo.path / "file.txt").write_text("base\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "base")
    base = repo.git("rev-parse", "HEAD")
    write_keyring(repo.path / ".commitguard" / "keyring", persons=[person("alice", alice)], extra=RULE)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "trust me")
    res = cli(scratch, "check-pr", "--repo", repo.path, "--base", base, "--head", "HEAD", "--no-cache")
    assert "carries no .commitguard/keyring" in one_error_line(res)


def test_select_keyring_says_which(monkeypatch, tmp_path):
    from commitguard.errors import KeyringError
    from commitguard.keyring.select import KeyringChoice, select_keyring

    monkeypatch.setenv("COMMITGUARD_KEYRING", "/from/env")
    assert select_keyring("/from/option") == KeyringChoice(directory="/from/option", origin="--keyring")
    assert select_keyring(None) == KeyringChoice(directory="/from/env", origin="COMMITGUARD_KEYRING")
    monkeypatch.delenv("COMMITGUARD_KEYRING")
    choice = select_keyring(None)
    assert choice.in_repository and choice.load() is None and choice.origin == "repository"
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.directory = "/elsewhere"  # type: ignore[misc]
    with pytest.raises(KeyringError, match="no keyring"):
        choice.worktree_directory(str(tmp_path))
    (tmp_path / ".commitguard" / "keyring").mkdir(parents=True)
    assert choice.worktree_directory(str(tmp_path)) == str(tmp_path / ".commitguard" / "keyring")


def test_mirror_means_offline(tmp_path):
    from commitguard.upstream.mirror import upstream_access

    assert upstream_access(None, True).online is True
    assert upstream_access(None, False).online is False
    with_mirror = upstream_access(str(tmp_path), True)
    assert (with_mirror.mirror, with_mirror.online) == (tmp_path, False)
