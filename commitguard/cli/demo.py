"""``commitguard demo``: a small signed nixpkgs-style repository, verified.

Everything is made with the real tools a contributor uses (git, ssh-keygen,
gpg) and throwaway keys, so the output is what commitguard says about real
commits: signed by people in the keyring, unsigned, signed by a stranger,
and one whose content was changed after it was signed. The demo checks that
each commit got the status it was built to get, and exits 1 if not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console

from commitguard.keyring import load_keyring
from commitguard.output.text import TextFormatter
from commitguard import VerifyOptions, open_repository, verify_revisions

PACKAGE = """{{ lib, stdenv, fetchurl }}:

stdenv.mkDerivation (finalAttrs: {{
  pname = "{name}";
  version = "{version}";

  src = fetchurl {{
    url = "mirror://gnu/{name}/{name}-${{finalAttrs.version}}.tar.gz";
    hash = "sha256-{hash}";
  }};

  meta.maintainers = with lib.maintainers; [ {maintainer} ];
}})
"""


class DemoError(RuntimeError):
    pass


def _run(args: list[str], cwd: Path | None = None, env: dict | None = None, stdin: bytes | None = None) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise DemoError(f"{args[0]} is not installed; the demo needs git, ssh-keygen and gpg") from None
    if done.returncode != 0:
        raise DemoError(f"{' '.join(args[:3])} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode()


class _Builder:
    def __init__(self, root: Path):
        self.root = root
        self.keys = root / "keys"
        self.repo = root / "nixpkgs"
        self.keyring = root / "keyring"
        self.gnupg = root / "gnupg"
        self.expected: dict[str, str] = {}
        self.env = {
            **os.environ,
            "GNUPGHOME": str(self.gnupg),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        self.clock = 1_735_689_600  # 2025-01-01, so the demo is the same every run

    def ssh_key(self, name: str) -> Path:
        path = self.keys / name
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@demo", "-f", str(path)])
        return path

    def openpgp_key(self, uid: str) -> str:
        self.gnupg.mkdir(mode=0o700, exist_ok=True)
        _run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "cert", "never"], env=self.env)
        listing = _run(["gpg", "--batch", "--with-colons", "--list-keys", uid], env=self.env)
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        _run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-add-key", fpr, "ed25519", "sign", "never"], env=self.env)
        return fpr

    def git(self, *args: str, env: dict | None = None) -> str:
        return _run(["git", *args], cwd=self.repo, env=env or self.env)

    def commit(self, message: str, files: dict[str, str], *, author: str, sign: list[str] | None, expect: str) -> str:
        for rel, text in files.items():
            path = self.repo / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.git("add", rel)
        self.clock += 3600
        name, email = author.split("|")
        env = {
            **self.env,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": f"{self.clock} +0000",
            "GIT_COMMITTER_DATE": f"{self.clock} +0000",
        }
        args = [*(sign or []), "commit", "--quiet", "--allow-empty", "-m", message]
        if sign is None:
            args.insert(0, "-c")
            args.insert(1, "commit.gpgsign=false")
        else:
            args.append("-S")
        self.git(*args, env=env)
        commit_id = self.git("rev-parse", "HEAD").strip()
        self.expected[commit_id] = expect
        return commit_id


def build_demo(root: Path) -> _Builder:
    b = _Builder(root)
    b.keys.mkdir(parents=True)
    b.keyring.mkdir()
    (b.keyring / "keys").mkdir()
    b.repo.mkdir()

    alice = b.ssh_key("alice")
    mallory = b.ssh_key("mallory")
    bob_fpr = b.openpgp_key("Bob Example <bob@demo.invalid>")
    armored = _run(["gpg", "--batch", "--armor", "--export", bob_fpr], env=b.env)
    (b.keyring / "keys" / "bob.asc").write_text(armored)
    (b.keyring / "keyring.toml").write_text(
        f"""# The demo's keyring: whom this user trusts, with which keys.
version = 1

[policy]
forge = "reject"

[[person]]
id = "alice"
name = "Alice Example"
emails = ["alice@demo.invalid"]
github = "alice"
roles = ["committer"]

[[person.key]]
ssh = "{(alice.with_suffix('.pub')).read_text().strip()}"

[[person]]
id = "bob"
name = "Bob Example"
emails = ["bob@demo.invalid"]
github = "bob"
roles = ["committer"]

[[person.key]]
openpgp = "keys/bob.asc"
fingerprint = "{bob_fpr}"
"""
    )

    b.git("init", "--quiet", "--initial-branch=master")
    ssh_alice = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={alice}"]
    ssh_mallory = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={mallory}"]
    pgp_bob = ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={bob_fpr}"]
    a, bo, m = "Alice Example|alice@demo.invalid", "Bob Example|bob@demo.invalid", "Mallory|mallory@demo.invalid"

    def pkg(name, version, maintainer, digest):
        return {f"pkgs/by-name/{name[:2]}/{name}/package.nix": PACKAGE.format(name=name, version=version, maintainer=maintainer, hash=digest)}

    b.commit("hello: init at 2.12.1", pkg("hello", "2.12.1", "alice", "jZkUKv2SV28wsM18tCqNxoCZmLxdYH2Idh9RLibH2yA="), author=a, sign=ssh_alice, expect="trusted")
    b.commit("jq: init at 1.7.1", pkg("jq", "1.7.1", "bob", "R4ycoSn9LjRD/icxS0VeIR4NjGC8j/ffcDhz3ubQ3n0="), author=bo, sign=pgp_bob, expect="trusted")
    b.commit("hello: 2.12.1 -> 2.12.2", pkg("hello", "2.12.2", "alice", "WpqZbcKSzCTc9BHO6H6S9qrluNE72caBm0x6nc4IGKs="), author=a, sign=ssh_alice, expect="trusted")
    b.commit("curl: init at 8.9.1", pkg("curl", "8.9.1", "bob", "KxWD2AvVCBrIJqt6ycPDnMC4XHbvYBmUkjEnZxRKv84="), author=bo, sign=None, expect="unsigned")
    b.commit("xz: init at 5.6.1", pkg("xz", "5.6.1", "alice", "Kxd4e5ASrVSbgXK6aVeEAa8vrkDzVs2nEaCO0BXZdp4="), author=m, sign=ssh_mallory, expect="unknown-key")
    b.commit("jq: 1.7.1 -> 1.8.0", pkg("jq", "1.8.0", "bob", "WrgxpW0T8T3cQ8Fu3STAeimDXJ2u+zYlP1wFIIdmgPA="), author=bo, sign=pgp_bob, expect="trusted")

    # Tamper with the last signed commit: same signature, different message.
    head = b.git("rev-parse", "HEAD").strip()
    del b.expected[head]
    raw = _run(["git", "cat-file", "commit", head], cwd=b.repo)
    forged = raw.replace("jq: 1.7.1 -> 1.8.0", "jq: 1.7.1 -> 1.8.0 (reviewed, safe)")
    forged_id = _run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=b.repo, stdin=forged.encode()).strip()
    b.git("update-ref", "refs/heads/master", forged_id)
    b.git("reset", "--quiet", "--hard", forged_id)
    b.expected[forged_id] = "bad-signature"
    return b


def run_demo(directory: str | None, console: Console) -> int:
    console.soft_wrap = True
    if directory:
        root = Path(directory)
        if root.exists() and any(root.iterdir()):
            console.print(f"[red]commitguard demo: {root} is not empty; name a new directory[/red]")
            return 2
    else:
        root = Path(tempfile.mkdtemp(prefix="commitguard-demo-"))
    for tool in ("git", "ssh-keygen", "gpg"):
        if shutil.which(tool) is None:
            console.print(f"[red]commitguard demo: {tool} is not installed; the demo builds its commits with git, ssh-keygen and gpg[/red]")
            return 2
    console.print(f"Building a demo repository in [bold]{root}[/bold] with throwaway keys ...")
    try:
        built = build_demo(root)
    except DemoError as exc:
        console.print(f"[red]commitguard demo: {exc}[/red]")
        return 2
    keyring = load_keyring(built.keyring)
    report = verify_revisions(open_repository(str(built.repo)), keyring, VerifyOptions(revs=("HEAD",), cache_dir=None))
    console.print()
    console.print(f"$ commitguard verify --repo {built.repo} --keyring {built.keyring}", style="bold")
    console.print(TextFormatter(color=console.is_terminal).verify(report), markup=False, highlight=False, end="", soft_wrap=True)

    mismatches = [
        (c.id, built.expected.get(c.id), c.status.value) for c in report.commits if built.expected.get(c.id) != c.status.value
    ]
    console.print()
    console.print("What to look at:", style="bold")
    console.print(f"  - {built.keyring / 'keyring.toml'}: whom this user trusts (alice by SSH key, bob by OpenPGP subkey).")
    console.print("  - 'unsigned': curl was committed without a signature; nobody vouches for it.")
    console.print("  - 'unknown-key': xz was signed, but by mallory, whom the keyring does not list.")
    console.print("  - 'bad-signature': the newest commit carries bob's signature over a different message.")
    console.print(f"  - Try: commitguard verify --repo {built.repo} --keyring {built.keyring} --format json")
    console.print("  - Every command: commitguard -h, commitguard COMMAND -h (options, allowed values, examples).")
    if mismatches:
        for cid, want, got in mismatches:
            console.print(f"[red]demo check failed: {cid[:12]} expected {want}, got {got}[/red]")
        return 1
    console.print(f"\nAll {len(report.commits)} commits got the status the demo built them to have.", style="green")
    return 0
