"""Command-line basics (issue 13, item 7): --version, -h, help that names allowed
values, --format checked per command before any work, one stderr line saying why a
command exits 1, plain messages for an empty repository and an offline import.

Repositories are made with the real git; commitguard runs through tests/fixtures/cli.py."""

from __future__ import annotations

import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest

from tests.fixtures.repo import ScratchRepo
from tests.fixtures_git import PROJECT_ROOT, SshKey, base_env, run_cli

COMMANDS = ["verify", "demo", "check-pr", "approve", "sources", "audit-bump", "annotate", "pin", "forge-sync",
            "keyring", "keyring check", "keyring show", "keyring diff", "keyring import"]

# What each command's --help must offer, and nothing else (SPEC, "Every command").
FORMATS = {
    "verify": "text|json",
    "check-pr": "text|json|markdown|sarif",
    "sources": "text|json|markdown",
    "annotate": "text|json|markdown|cyclonedx|cyclonedx-1.5",
    "pin": "text|json",
    "audit-bump": "text|json|markdown",
    "keyring check": "text|json",
    "keyring show": "text|json",
    "keyring diff": "text|json",
    "keyring import": "text|json",
    "forge-sync": "text|json",
}

PACKAGE = """{ lib, stdenv, fetchurl }:

stdenv.mkDerivation rec {
  pname = "hello";
  version = "2.12";

  src = fetchurl {
    url = "https://ftp.gnu.org/gnu/hello/hello-${version}.tar.gz";
    hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  };
}
"""


class Repo(ScratchRepo):
    def __init__(self, root: Path, scratch: Path):
        root.mkdir(parents=True)
        super().__init__(root, scratch)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-basics")


@pytest.fixture(scope="module")
def keyring(scratch) -> Path:
    key = SshKey.generate(scratch / "ssh", "alice", "ed25519")
    directory = scratch / "keyring"
    directory.mkdir()
    (directory / "keyring.toml").write_text(
        f'version = 1\n\n[[person]]\nid = "alice"\nemails = ["a@example.org"]\n\n[[person.key]]\n'
        f'ssh = "{key.pub_line}"\n')
    return directory


@pytest.fixture(scope="module")
def repo(scratch) -> Repo:
    r = Repo(scratch / "repo", scratch)
    r.first = r.commit("hello: init at 2.12", {"pkgs/by-name/he/hello/package.nix": PACKAGE})
    return r


def cli(scratch: Path, *args, cwd: Path | None = None):
    return run_cli([str(a) for a in args], scratch=scratch, cwd=cwd)


# --------------------------------------------------------------------------- --version, -h


def test_version(scratch):
    version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    res = cli(scratch, "--version")
    assert (res.code, res.stdout, res.stderr) == (0, f"commitguard {version}\n", "")


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_short_help_everywhere(scratch, command):
    words = command.split()
    short = cli(scratch, *words, "-h")
    long = cli(scratch, *words, "--help")
    assert short.code == 0 and short.stderr == "", short.describe()
    assert short.stdout == long.stdout
    assert short.stdout.startswith("Usage: ")
    assert "  -h, --help " in short.stdout


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_names_values_not_types_and_has_examples(scratch, command):
    res = cli(scratch, *command.split(), "-h")
    assert res.code == 0, res.describe()
    assert re.findall(r"<[a-z\[\]|]+>", res.stdout) == []  # no <str>, <bool>, <int>, <list[str]>
    assert "\n  Examples:\n" in res.stdout
    assert re.search(r"^\s+commitguard ", res.stdout.split("Examples:")[1], re.M)


@pytest.mark.parametrize("command", sorted(FORMATS))
def test_help_lists_only_the_formats_the_command_accepts(scratch, command):
    res = cli(scratch, *command.split(), "-h")
    lines = [line for line in res.stdout.splitlines() if line.lstrip().startswith("--format ")]
    assert len(lines) == 1, res.describe()
    assert lines[0].split()[:2] == ["--format", FORMATS[command]]


def test_format_table_matches_the_renderers():
    """Each format a command lists can render it; each renderer of a command is listed."""
    from commitguard.cli.options import FORMATS as table
    from commitguard.output.interface import _FORMATS, Formatter, formatter_for

    method = {"verify": "verify", "check-pr": "check_pr", "sources": "sources", "annotate": "annotate",
              "pin": "pin", "audit-bump": "audit_bump"}
    for command, name in method.items():
        rendering = tuple(f for f in _FORMATS
                          if getattr(type(formatter_for(f)), name) is not getattr(Formatter, name))
        assert sorted(table[command]) == sorted(rendering), command


# --------------------------------------------------------------------------- --format


def test_format_is_case_insensitive(scratch, repo, keyring):
    res = cli(scratch, "verify", "--repo", repo.root, "--keyring", keyring, "--no-cache", "--format", "JSON")
    assert res.code == 1, res.describe()  # the commit is unsigned
    assert res.json["summary"] == {"total": 1, "trusted": 0, "by_status": {"unsigned": 1}}


@pytest.mark.parametrize("command,value,allowed", [
    ("verify", "sarif", "text, json"),
    ("sources", "sarif", "text, json, markdown"),
    ("sources", "cyclonedx", "text, json, markdown"),
    ("pin", "markdown", "text, json"),
    ("audit-bump", "cyclonedx", "text, json, markdown"),
    ("check-pr", "cyclonedx", "text, json, markdown, sarif"),
    ("annotate", "xml", "text, json, markdown, cyclonedx, cyclonedx-1.5"),
    ("keyring show", "markdown", "text, json"),
])
def test_unsupported_format_refused_before_any_work(scratch, command, value, allowed):
    """The repository does not exist: had any work started, that would be the error."""
    res = cli(scratch, *command.split(), "--repo", scratch / "no-such-repository", "--format", value)
    assert (res.code, res.stdout) == (2, ""), res.describe()
    name = "keyring" if command.startswith("keyring") else command
    assert res.stderr == f"commitguard: error: --format {value} is not available for {name} (choose from {allowed})\n"


# --------------------------------------------------------------------------- why exit 1


def test_annotate_cyclonedx_says_why_it_exits_1(scratch, repo, keyring):
    res = cli(scratch, "annotate", "--repo", repo.root, "--keyring", keyring, "--no-cache", "--format", "cyclonedx")
    assert res.code == 1, res.describe()
    assert res.stdout.startswith("{")  # the SBOM alone on stdout
    assert res.stderr == ("commitguard: annotate: exit 1: 1 of 1 packages not trusted "
                          "(upstream not verified: 1, history not trusted: 1)\n")


def test_sources_ends_with_why_it_exits_1(scratch, repo, keyring):
    res = cli(scratch, "sources", "--repo", repo.root, "--keyring", keyring)
    assert res.code == 1, res.describe()
    assert res.stderr.splitlines()[-1] == "commitguard: sources: exit 1: 1 of 1 packages not trusted (upstream unavailable 1)"


def test_verify_says_why_it_exits_1(scratch, repo, keyring):
    res = cli(scratch, "verify", "--repo", repo.root, "--keyring", keyring, "--no-cache", "--format", "json")
    assert res.code == 1, res.describe()
    assert res.stderr == "commitguard: verify: exit 1: 1 of 1 commits not trusted (unsigned 1)\n"


def test_pin_says_why_it_exits_1(scratch, repo, keyring):
    res = cli(scratch, "pin", "hello", "--repo", repo.root, "--keyring", keyring, "--no-cache",
              "--lock", scratch / "hello.lock")
    assert res.code == 1, res.describe()
    assert res.stderr == ("commitguard: pin: exit 1: no revision of main since the trust root has a fully trusted "
                          "history for these packages\n")


# --------------------------------------------------------------------------- plain messages


@pytest.mark.parametrize("args", [
    ["verify"], ["annotate"], ["pin", "hello"], ["check-pr", "--base", "HEAD~1", "--head", "HEAD"],
    ["audit-bump", "--base", "HEAD~1", "--head", "HEAD"], ["verify", "HEAD~2..HEAD"],
])
def test_empty_repository_says_it_has_no_commits(scratch, keyring, args):
    empty = Path(tempfile.mkdtemp(prefix="empty-", dir=scratch))
    subprocess.run(["git", "init", "-q", str(empty)], check=True, env=base_env(scratch / "home"))
    res = cli(scratch, *args, "--repo", empty, "--keyring", keyring)
    assert (res.code, res.stdout) == (2, ""), res.describe()
    assert res.stderr == f"commitguard: error: {empty}/: the repository has no commits yet: commit something first\n"


def test_unborn_branch_beside_other_branches(scratch, repo, keyring):
    clone = scratch / "unborn"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True, env=base_env(scratch / "home"))
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", "--orphan", "fresh"], check=True,
                   env=base_env(scratch / "home"))
    res = cli(scratch, "verify", "--repo", clone, "--keyring", keyring, "--no-cache")
    assert res.code == 2, res.describe()
    assert res.stderr == (f"commitguard: error: {clone}/: HEAD is unborn: branch 'fresh' has no commits yet; "
                          "name a revision\n")
    named = cli(scratch, "verify", "main", "--repo", clone, "--keyring", keyring, "--no-cache")
    assert named.code == 1, named.describe()  # the unsigned commit of main, judged as usual


def test_offline_github_import_is_one_clear_line(scratch):
    res = cli(scratch, "keyring", "import", "github", "alice", "--keyring", scratch / "gh-keyring",
              "--github-api", "https://api.github.invalid")
    assert (res.code, res.stdout) == (2, ""), res.describe()
    assert res.stderr == ("commitguard: error: LOGIN: cannot reach https://api.github.invalid for the user of "
                          "'alice': the host name cannot be resolved (no network connection?)\n")
    assert not (scratch / "gh-keyring").exists()


def test_refused_connection_is_one_clear_line(scratch):
    res = cli(scratch, "keyring", "import", "github", "alice", "--keyring", scratch / "gh-keyring",
              "--github-api", "http://127.0.0.1:9")
    assert res.code == 2, res.describe()
    assert res.stderr == ("commitguard: error: LOGIN: cannot reach http://127.0.0.1:9 for the user of 'alice': "
                          "the connection was refused\n")


def test_existing_flags_keep_working(scratch, repo, keyring):
    """Nothing was renamed: the flags of earlier releases parse as before."""
    res = cli(scratch, "annotate", "pkgs/by-name/he/hello", "--repo", repo.root, "--keyring", keyring,
              "--rev", "HEAD", "--trust-root", repo.first, "--system", "x86_64-linux", "--jobs", "1",
              "--cache", scratch / "cache", "--format", "json")
    assert res.code == 1, res.describe()
    assert [p["path"] for p in res.json["packages"]] == ["pkgs/by-name/he/hello/package.nix"]


# --------------------------------------------------------------------------- the project's own workflows (item 8)
# zizmor and the schema checks run in CI (.ci/lint-actions, before pytest); these
# tests hold the same rules without them, so `python -m pytest` needs no extra tool.

WORKFLOW_FILES = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml")) + [PROJECT_ROOT / "action.yml"]
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v[\w.]+$")


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_hash_with_its_version(path):
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert uses, path
    assert [line for line in uses if not PINNED.match(line)] == []


def test_test_workflow_does_not_persist_credentials():
    text = (PROJECT_ROOT / ".github" / "workflows" / "test.yml").read_text()
    checkout = text.split("uses: actions/checkout@", 1)[1].split("\n      - ", 1)[0]
    assert "\n          persist-credentials: false" in checkout


def test_pull_request_target_is_justified_in_zizmor_syntax():
    lines = (PROJECT_ROOT / ".github" / "workflows" / "example-pre-merge.yml").read_text().splitlines()
    at = lines.index("  pull_request_target:")
    ignore = lines[at - 1].strip()
    assert ignore.startswith("# zizmor: ignore[dangerous-triggers] ")
    assert "cannot edit" in ignore and "nothing from the pull request" in ignore


def test_lint_script_is_runnable_and_offline():
    script = PROJECT_ROOT / ".ci" / "lint-actions"
    assert script.stat().st_mode & 0o111
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "zizmor --offline " in text
    assert "check-jsonschema --builtin-schema vendor.github-workflows " in text
    assert "check-jsonschema --builtin-schema vendor.github-actions action.yml" in text
    lint = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["lint"]
    assert sorted(r.split(">")[0] for r in lint) == ["check-jsonschema", "zizmor"]


# --------------------------------------------------------------------------- the shipped reference (item 7)

REFERENCE = PROJECT_ROOT / "docs" / "reference.md"


def test_readme_points_inside_the_repository():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "../shared" not in readme and "SPEC.md" not in readme
    assert "[docs/reference.md](docs/reference.md)" in readme
    assert "pip install -e . && commitguard demo" in readme
    assert "pip install -e '.[test]' && python -m pytest" in readme


def test_reference_lists_every_command_with_its_formats(scratch):
    text = REFERENCE.read_text()
    top = cli(scratch, "-h").stdout
    commands = re.findall(r"^  ([a-z-]+)  ", top.split("Commands:")[1], re.M)
    assert sorted(commands) == sorted(["verify", "demo", "check-pr", "approve", "sources", "audit-bump",
                                       "annotate", "pin", "forge-sync", "keyring", "attest",
                                       "verify-attestation"])
    for command in commands:
        rows = [line for line in text.splitlines() if re.match(rf"\| `commitguard {re.escape(command)}[ `]", line)]
        assert len(rows) == 1, command
        if command in FORMATS:
            assert rows[0].rstrip(" |").endswith(FORMATS[command].replace("|", ", ")), rows[0]
    for section in ("## Exit codes", "## Keyring: `DIR/keyring.toml`", "## Per-commit status", "## JSON of `verify`",
                    "## JSON of `sources` and `annotate`", "## JSON of `audit-bump`", "## JSON of `pin`",
                    "## Signed review approvals", "## Offline upstream mirror", "### Package arguments"):
        assert f"\n{section}" in text, section


@pytest.mark.parametrize("command", ["", "keyring"])
def test_no_command_prints_the_help_not_an_error(scratch, command):
    res = cli(scratch, *command.split())
    assert (res.code, res.stdout) == (2, ""), res.describe()
    assert res.stderr.startswith(f"Usage: commitguard {command} [OPTIONS] COMMAND [ARGS]...".replace("  ", " "))
    assert "error" not in res.stderr.splitlines()[0]


def test_keyring_check_and_strict_diff_say_why_they_exit_1(scratch, keyring):
    empty_person = scratch / "keyring-no-key"
    empty_person.mkdir()
    (empty_person / "keyring.toml").write_text('version = 1\n\n[[person]]\nid = "bob"\n')
    check = cli(scratch, "keyring", "check", "--keyring", empty_person, "--format", "json")
    assert check.code == 1, check.describe()
    assert check.stderr == "commitguard: keyring check: exit 1: 1 error finding(s) (no-usable-key)\n"
    diff = cli(scratch, "keyring", "diff", empty_person, keyring, "--strict", "--format", "json")
    assert diff.code == 1, diff.describe()
    assert diff.stderr.endswith(" change(s) loosen trust (--strict)\n")
    assert re.fullmatch(r"commitguard: keyring diff: exit 1: \d+ change\(s\) loosen trust \(--strict\)\n", diff.stderr)


# GitHub mode, against the fake GitHub of tests/fixtures/github_pr.py
from tests.fixtures.github_pr import api, build_pr, keys, world  # noqa: E402,F401  (pytest fixtures)


def test_check_pr_github_mode_says_why_it_exits_1(world):
    build_pr(world)
    res = world.check(fmt="json")
    assert res.code == 1, res.describe()
    assert res.json["ok"] is False
    assert res.stderr == ("commitguard: check-pr: exit 1: the pull request is not OK to merge (untrusted commits "
                          "or missing approvals: see the report)\n")


def test_local_check_pr_and_audit_bump_say_why_they_exit_1(scratch, keyring):
    r = Repo(scratch / "pr-repo", scratch)
    base = r.commit("hello: init at 2.12", {"pkgs/by-name/he/hello/package.nix": PACKAGE})
    head = r.commit("hello: move to github", {"pkgs/by-name/he/hello/package.nix": PACKAGE.replace(
        "fetchurl {\n    url = \"https://ftp.gnu.org/gnu/hello/hello-${version}.tar.gz\";",
        "fetchurl {\n    url = \"https://evil.example/hello-${version}.tar.gz\";")})
    ruled = scratch / "keyring-with-rule"
    ruled.mkdir()
    (ruled / "keyring.toml").write_text((keyring / "keyring.toml").read_text()
                                        + '\n[[rule]]\npaths = ["pkgs/**"]\napprovals = 1\napprovers = ["alice"]\n')
    pr = cli(scratch, "check-pr", "--repo", r.root, "--keyring", ruled, "--base", base, "--head", head,
             "--no-cache", "--format", "json")
    assert pr.code == 1, pr.describe()
    assert pr.stderr.splitlines()[-1] == ("commitguard: check-pr: exit 1: not OK to merge: 1 of 1 commits not trusted; "
                                          "rule pkgs/** needs 1 more signed approval(s)")
    bump = cli(scratch, "audit-bump", "--repo", r.root, "--base", base, "--head", head, "--format", "json")
    assert bump.code == 1, bump.describe()
    assert bump.stderr == ("commitguard: audit-bump: exit 1: the change needs review: source-origin-changed "
                           "(--fail-on high)\n")
