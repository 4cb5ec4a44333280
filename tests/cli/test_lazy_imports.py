"""What a command imports: start-up is most of a warm ``check-pr`` (issue 19), so the
heavy libraries load only where they are used.

Not a timing test: a module-presence test. Each command runs in a fresh interpreter
(``commitguard.cli.app.main``, as the entry point calls it) that writes, at exit, which
of the watched modules it imported. ``verify`` and ``check-pr`` with ``--format json``
on a repository of SSH- and OpenPGP-signed commits must load none of them: not the
Sigstore checks (``cryptography.x509``, the CMS reader, the trusted root, the Rekor entry reader: loaded on the
first gitsign signature), not rich (drawn only for text output and progress bars), not
python-gnupg (GnuPG's second opinion, asked only on a rejected OpenPGP signature), not
``urllib.request`` (Rekor online). The controls show the probe sees them when they are
used: text output loads rich, and a commit whose signature has gitsign's armor loads the
Sigstore checks, which then judge it (malformed, never trusted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.approvals import HELLO, World, check_job, hand_approval, hello_nix, world_fixture
from tests.fixtures.cli import cli_env

WATCHED = ("rich", "cryptography.x509", "commitguard.signatures.sigstore.scheme", "commitguard.signatures.sigstore.cms",
           "commitguard.signatures.sigstore.trust", "commitguard.signatures.sigstore.rekor", "rfc8785", "gnupg",
           "urllib.request", "sigstore_models")

PROBE = f"""
import atexit, json, sys

def _loaded():
    watched = {WATCHED!r}
    found = sorted(m for m in sys.modules if any(m == w or m.startswith(w + ".") for w in watched))
    sys.stderr.write("\\nLOADED " + json.dumps(found) + "\\n")

atexit.register(_loaded)
from commitguard.cli.app import main
main(sys.argv[1:])
"""


def run_probe(args: list[str], scratch: Path) -> tuple[int, str, list[str]]:
    """(exit code, stdout, watched modules imported) of ``commitguard ARGS`` in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=scratch, env=cli_env(scratch), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.rstrip().splitlines()[-1]
    assert last.startswith("LOADED "), proc.stderr
    return proc.returncode, proc.stdout, json.loads(last[len("LOADED "):])


def roots(modules: list[str]) -> set[str]:
    return {next(w for w in WATCHED if m == w or m.startswith(w + ".")) for m in modules}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from world_fixture(tmp_path_factory, "lazy")


@pytest.fixture(scope="module")
def pr(world: World):
    """alice's pull request on the template's history (SSH-signed), approved by bob."""
    r = world.pr("lazy")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=world.keys.ssh["alice"])
    hand_approval(r, world.keys.ssh["bob"], head, world.base)
    return r, head


def test_importing_the_command_line_loads_none_of_them(world: World) -> None:
    proc = subprocess.run([sys.executable, "-c", "import commitguard.cli.app, json, sys; print(json.dumps(sorted(sys.modules)))"],
                          env=cli_env(world.scratch), capture_output=True, text=True, check=True)
    loaded = [m for m in json.loads(proc.stdout) if any(m == w or m.startswith(w + ".") for w in WATCHED)]
    assert loaded == []


def test_check_pr_json_loads_none_of_them(world: World, pr) -> None:
    repo, head = pr
    code, stdout, loaded = run_probe(check_job(repo, world.base, head, world.keyring).args, world.scratch)
    report = json.loads(stdout)
    assert code == 0 and report["ok"] is True, stdout
    assert [c["status"] for c in report["commits"]] == ["trusted"]
    assert loaded == []


def test_verify_json_loads_none_of_them(world: World, pr) -> None:
    repo, head = pr
    code, stdout, loaded = run_probe(["verify", "--repo", str(repo.path), "--keyring", str(world.keyring), "--no-cache",
                                      "--format", "json", head], world.scratch)
    report = json.loads(stdout)
    assert code == 0 and {c["status"] for c in report["commits"]} == {"trusted"}, stdout
    assert loaded == []


def test_control_text_output_loads_rich(world: World, pr) -> None:
    repo, head = pr
    job = check_job(repo, world.base, head, world.keyring)
    args = [a if a != "json" else "text" for a in job.args]
    code, stdout, loaded = run_probe(args, world.scratch)
    assert code == 0, stdout
    assert roots(loaded) == {"rich"}


def test_control_a_gitsign_armor_loads_the_sigstore_checks(world: World, pr) -> None:
    """A commit whose signature header has gitsign's armor (here around no valid CMS)
    is judged by the Sigstore scheme, built for it: malformed, and the run exits 1."""
    repo, head = pr
    raw = repo.git_bytes("cat-file", "commit", head)
    header, _, message = raw.partition(b"\n\n")
    unsigned = b"\n".join(line for line in header.split(b"\n") if not line.startswith((b"gpgsig", b" ")))
    armor = b"gpgsig -----BEGIN SIGNED MESSAGE-----\n bm90IGEgQ01TIHNpZ25hdHVyZQ==\n -----END SIGNED MESSAGE-----"
    forged = subprocess.run(["git", "-C", str(repo.path), "hash-object", "-t", "commit", "-w", "--stdin"],
                            input=unsigned + b"\n" + armor + b"\n\n" + message, capture_output=True, check=True)
    commit = forged.stdout.decode().strip()
    code, stdout, loaded = run_probe(["verify", "--repo", str(repo.path), "--keyring", str(world.keyring), "--no-cache",
                                      "--format", "json", commit], world.scratch)
    assert code == 1, stdout
    verdict = next(c for c in json.loads(stdout)["commits"] if c["id"] == commit)
    assert verdict["status"] == "malformed", verdict
    assert {"cryptography.x509", "commitguard.signatures.sigstore.scheme", "commitguard.signatures.sigstore.cms"} \
        <= roots(loaded)
    assert "rich" not in roots(loaded)
