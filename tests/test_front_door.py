"""The library's front door: README's "Library use" example, run as written.

The example is read out of README.md and executed in a directory holding the
two things it names, ``nixpkgs`` (a git repository with one commit signed by
a keyring person's SSH key and one unsigned commit on top) and
``my-keyring``; so the documented code cannot drift from the API. The
repository and the key come from git and ssh-keygen, not from commitguard.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_git import PROJECT_ROOT, Repo, SshKey, SshSigner, write_keyring


def readme_example() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Library use\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Library use section shows one runnable example"
    return blocks[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("front-door")
    alice = SshKey.generate(root / "keys", "alice", "ed25519")
    repo = Repo(root / "nixpkgs", root / "home")
    signed = repo.commit("hello: init at 2.12", signer=SshSigner(alice))
    unsigned = repo.commit("hello: 2.12 -> 2.12.1", parents=[signed])
    repo.git("update-ref", "refs/heads/main", unsigned)
    write_keyring(root / "my-keyring", persons=[
        {"id": "alice", "name": "Alice Example", "emails": ["author@example.org"], "keys": [{"ssh": alice.pub_line}]},
    ])
    return root, {"signed": signed, "unsigned": unsigned}


def test_readme_example_runs(workspace, monkeypatch):
    root, ids = workspace
    monkeypatch.chdir(root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme_example"})
    lines = out.getvalue().splitlines()
    assert lines[0] == "False {'unsigned': 1, 'trusted': 1}", lines
    assert lines[1:] == [f"{ids['unsigned'][:12]} unsigned commit is not signed"], lines


def test_front_door_answers_as_the_engines(workspace):
    import commitguard
    from commitguard.verify.commits import VerifyOptions, verify_revisions

    root, ids = workspace
    repo = commitguard.open_repository(str(root / "nixpkgs"))
    keyring = commitguard.load_keyring(str(root / "my-keyring"))
    assert commitguard.verify_revisions is verify_revisions and commitguard.VerifyOptions is VerifyOptions
    report = commitguard.verify_revisions(repo, keyring, VerifyOptions(revs=(ids["signed"],)))
    assert report.ok and [c.signer for c in report.commits] == ["alice"]
    with pytest.raises(commitguard.CommitguardError, match="not a git repository"):
        commitguard.open_repository(str(root / "my-keyring"))


def test_every_name_resolves_and_none_is_a_subpackage():
    import commitguard

    for name in commitguard.__all__:
        assert getattr(commitguard, name) is not None, name
        assert importlib.util.find_spec(f"commitguard.{name}") is None, f"{name} would shadow a subpackage"
        assert name in dir(commitguard)
    with pytest.raises(AttributeError):
        commitguard.verify_everything  # noqa: B018 - a name the front door does not have


def test_import_is_cheap():
    """``import commitguard`` loads none of the engines (nor pygit2): a CLI ``--version`` and a
    library user who needs one call pay only for what they use."""
    code = "import sys, commitguard; print(sorted(m for m in sys.modules if m.startswith(('commitguard.', 'pygit2'))))"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
