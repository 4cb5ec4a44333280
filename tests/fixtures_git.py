"""Black-box fixtures for commitguard's tests, built only with the real tools.

Everything here drives git, gpg and ssh-keygen as subprocesses in temporary
directories. Nothing imports ``commitguard``: these fixtures are an independent
check of the implementation, not a mirror of it.

The main pieces:

* :class:`Gpg`: a throwaway GNUPGHOME, keys generated at a faked system time.
* :class:`SshKey`: an ssh-keygen key pair and its ``SHA256:`` fingerprint.
* :class:`Repo`: a git repository; ``commit`` makes commits with
  ``git commit-tree -S`` (OpenPGP through a gpg wrapper that takes extra
  arguments from ``$CG_GPG_EXTRA``, or SSH with ``gpg.format=ssh``), and a few
  helpers rewrite raw commit objects (tampering, hand-made ``gpgsig`` headers).
* :func:`write_keyring`: writes a ``keyring.toml`` in the SPEC format.
* :func:`run_verify`: runs ``python -m commitguard verify`` as a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class ToolError(RuntimeError):
    pass


def run(cmd: Sequence[str], *, env: dict | None = None, cwd: Path | str | None = None,
        input: bytes | str | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command, capturing bytes; raise ToolError with its stderr on failure."""
    if isinstance(input, str):
        input = input.encode()
    proc = subprocess.run(list(map(str, cmd)), env=env, cwd=cwd, input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and proc.returncode != 0:
        raise ToolError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n"
                        f"{proc.stderr.decode(errors='replace')}")
    return proc


def base_env(home: Path) -> dict[str, str]:
    """An environment where no user/system git configuration leaks in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "GNUPG", "COMMITGUARD_", "SSH_AUTH_SOCK"))}
    env.update({
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
        "TZ": "UTC",
    })
    return env


def gpg_time(when: str) -> str:
    """'2024-06-01T00:00:00Z' -> '20240601T000000!' (gpg's frozen faked time)."""
    dt = parse_time(when)
    return dt.strftime("%Y%m%dT%H%M%S") + "!"


def parse_time(when: str) -> datetime:
    return datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- gpg

class Gpg:
    """A throwaway GnuPG home. Keys are created at a faked time (default 2019)."""

    KEY_TIME = "2019-01-01T00:00:00Z"

    def __init__(self, home: Path, workdir: Path):
        self.home = home
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.env = base_env(workdir)
        self.env["GNUPGHOME"] = str(home)
        (home / "gpg.conf").write_text("no-greeting\nno-permission-warning\n")
        (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
        # git calls this as gpg.program; $CG_GPG_EXTRA carries --faked-system-time
        # and --digest-algo for one signature
        self.wrapper = workdir / "gpg-wrapper.sh"
        self.wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("gpg")} $CG_GPG_EXTRA "$@"\n')
        self.wrapper.chmod(0o755)

    def gpg(self, *args: str, at: str | None = None, input: bytes | str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]
        if at:
            cmd += ["--faked-system-time", gpg_time(at)]
        return run(cmd + list(args), env=self.env, input=input, check=check)

    def gen_key(self, uid: str, algo: str, usage: str, *, at: str | None = None) -> str:
        self.gpg("--quick-gen-key", uid, algo, usage, "never", at=at or self.KEY_TIME)
        return self.keys(uid)[0]

    def add_subkey(self, primary: str, algo: str, usage: str, *, at: str | None = None,
                   expire: str = "never") -> str:
        before = set(self.keys(primary)[1])
        self.gpg("--quick-add-key", primary, algo, usage, expire, at=at or self.KEY_TIME)
        new = [s for s in self.keys(primary)[1] if s not in before]
        assert len(new) == 1, new
        return new[0]

    def keys(self, query: str) -> tuple[str, list[str]]:
        """(primary fingerprint, [subkey fingerprints]) of the one key matching."""
        out = self.gpg("--with-colons", "--with-subkey-fingerprint", "--list-keys", query).stdout.decode()
        primary, subs, last = None, [], None
        for line in out.splitlines():
            f = line.split(":")
            if f[0] in ("pub", "sub"):
                last = f[0]
            elif f[0] == "fpr":
                if last == "pub":
                    assert primary is None, f"{query!r} matches several keys"
                    primary = f[9]
                elif last == "sub":
                    subs.append(f[9])
                last = None
        assert primary, query
        return primary, subs

    def export(self, fpr: str, path: Path, *, armor: bool = True) -> Path:
        # no export-clean: it would drop superseded binding signatures, which a
        # verifier needs to judge old signatures
        args = ["--export"]
        if armor:
            args.insert(0, "--armor")
        data = self.gpg(*args, fpr).stdout
        assert data, f"nothing exported for {fpr}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def export_binary(self, fpr: str) -> bytes:
        return self.gpg("--export", fpr).stdout

    def set_expire(self, primary: str, expire: str, subkeys: Iterable[str] = (), *, at: str) -> None:
        self.gpg("--quick-set-expire", primary, expire, *subkeys, at=at)

    def revoke_with_stored_certificate(self, primary: str) -> None:
        """Import the revocation certificate gpg stored at key generation."""
        rev = (self.home / "openpgp-revocs.d" / f"{primary}.rev").read_text()
        # gpg prefixes the armor line with ':' so it is not imported by accident
        rev = rev.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----")
        self.gpg("--import", input=rev)

    def list_packets(self, data: bytes) -> str:
        return self.gpg("--list-packets", input=data, check=False).stdout.decode(errors="replace")

    def kill_agent(self) -> None:
        run(["gpgconf", "--kill", "gpg-agent"], env=self.env, check=False)


def import_trusted(home: Path, workdir: Path, cert_files: Iterable[Path]) -> Gpg:
    """A GNUPGHOME holding only the given public certificates, ultimately trusted."""
    g = Gpg(home, workdir)
    trust = []
    for cert in cert_files:
        g.gpg("--import", str(cert))
        out = g.gpg("--with-colons", "--show-keys", str(cert)).stdout.decode()
        fprs = [l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")]
        trust.append(f"{fprs[0]}:6:\n")
    g.gpg("--import-ownertrust", input="".join(trust))
    return g


# --------------------------------------------------------------------------- ssh

@dataclass
class SshKey:
    path: Path  # private key; public key at path + ".pub"
    pub_line: str
    fingerprint: str  # "SHA256:..." as printed by ssh-keygen -lf
    type: str

    @classmethod
    def generate(cls, directory: Path, name: str, keytype: str, bits: int | None = None) -> "SshKey":
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        cmd = ["ssh-keygen", "-q", "-t", keytype, "-N", "", "-C", f"{name}@commitguard-tests", "-f", str(path)]
        if bits:
            cmd += ["-b", str(bits)]
        run(cmd)
        return cls.from_pub(path, Path(str(path) + ".pub"))

    @classmethod
    def from_pub(cls, path: Path | None, pub: Path) -> "SshKey":
        line = pub.read_text().strip()
        fp = ssh_fingerprint(pub)
        return cls(path=path, pub_line=line, fingerprint=fp, type=line.split()[0])


def ssh_fingerprint(pub: Path) -> str:
    out = run(["ssh-keygen", "-lf", str(pub)]).stdout.decode().split()
    assert out[1].startswith("SHA256:"), out
    return out[1]


# --------------------------------------------------------------------------- signers

@dataclass
class SshSigner:
    key: SshKey

    def git_config(self, gpg: Gpg | None) -> list[str]:
        return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.key.path}"]

    def sign_arg(self) -> str:
        return "-S"

    def extra_env(self, when: str) -> dict:
        return {}


@dataclass
class PgpSigner:
    gpg: Gpg
    key: str  # fingerprint of the (sub)key that must sign
    extra: list[str] = field(default_factory=list)  # e.g. ["--digest-algo", "SHA1"]

    def git_config(self, gpg: Gpg | None) -> list[str]:
        return ["-c", "gpg.format=openpgp", "-c", f"gpg.program={self.gpg.wrapper}"]

    def sign_arg(self) -> str:
        return f"-S{self.key}!"

    def extra_env(self, when: str) -> dict:
        # the signature's creation time is the commit time
        return {"GNUPGHOME": str(self.gpg.home),
                "CG_GPG_EXTRA": " ".join(["--faked-system-time", gpg_time(when), *self.extra])}


# --------------------------------------------------------------------------- repo

class Repo:
    def __init__(self, path: Path, home: Path):
        self.path = path
        self.env = base_env(home)
        self.env.update({
            "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.org",
            "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.org",
        })
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self._counter = 0

    def git(self, *args: str, input: bytes | str | None = None, env: dict | None = None,
            check: bool = True) -> str:
        e = dict(self.env)
        if env:
            e.update(env)
        return run(["git", *args], env=e, cwd=self.path, input=input, check=check).stdout.decode().strip()

    def tree_with(self, name: str, content: str) -> str:
        blob = self.git("hash-object", "-w", "--stdin", input=content)
        return self.git("mktree", input=f"100644 blob {blob}\t{name}\n")

    def commit(self, message: str, *, parents: Sequence[str] = (), signer=None,
               when: str = "2024-06-01T00:00:00Z", tree: str | None = None) -> str:
        """A commit via ``git commit-tree`` (signed with ``-S`` when a signer is given)."""
        self._counter += 1
        if tree is None:
            tree = self.tree_with("file.txt", f"{message}\n{self._counter}\n")
        env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        cfg: list[str] = []
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        if signer is not None:
            cfg = signer.git_config(None)
            args.append(signer.sign_arg())
            env.update(signer.extra_env(when))
        return self.git(*cfg, *args, input=message + "\n", env=env)

    def raw(self, oid: str) -> bytes:
        e = dict(self.env)
        return run(["git", "cat-file", "commit", oid], env=e, cwd=self.path).stdout

    def write_raw(self, data: bytes, *, literally: bool = False) -> str:
        args = ["hash-object", "-t", "commit", "-w", "--stdin"]
        if literally:
            args.append("--literally")
        return self.git(*args, input=data)

    def tamper(self, oid: str) -> str:
        """Change one byte of the message of a signed commit; the signature stays."""
        data = self.raw(oid)
        head, sep, body = data.partition(b"\n\n")
        assert sep and body, data
        assert b"gpgsig" in head
        i = 0
        flipped = bytes([body[i] ^ 0x20]) if chr(body[i]).isalpha() else b"X"
        new = head + sep + flipped + body[i + 1:]
        assert new != data and len(new) == len(data)
        return self.write_raw(new)

    def with_gpgsig(self, oid: str, signature: str) -> str:
        """Rewrite an unsigned commit with a hand-made ``gpgsig`` header."""
        data = self.raw(oid).decode()
        head, sep, body = data.partition("\n\n")
        assert "gpgsig" not in head
        lines = signature.rstrip("\n").split("\n")
        header = "gpgsig " + "\n ".join(lines)
        return self.write_raw((head + "\n" + header + sep + body).encode())

    def signature_of(self, oid: str) -> str:
        """The text of the ``gpgsig`` header of a commit, unfolded."""
        head = self.raw(oid).partition(b"\n\n")[0].decode()
        lines, on = [], False
        for line in head.split("\n"):
            if line.startswith("gpgsig "):
                on = True
                lines.append(line[len("gpgsig "):])
            elif on and line.startswith(" "):
                lines.append(line[1:])
            else:
                on = False
        assert lines, f"{oid} has no gpgsig header"
        return "\n".join(lines) + "\n"

    def ref(self, name: str, oid: str) -> None:
        self.git("update-ref", name, oid)

    def verify_commit(self, oid: str, *, config: Sequence[str] = (), env: dict | None = None) -> subprocess.CompletedProcess:
        e = dict(self.env)
        if env:
            e.update(env)
        return run(["git", *config, "verify-commit", "--raw", oid], env=e, cwd=self.path, check=False)


# --------------------------------------------------------------------------- keyring.toml

class Raw(str):
    """A TOML value written as is (offset date-times)."""


def toml_value(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def _table(lines: list[str], header: str, items: dict) -> None:
    lines.append(header)
    for k, v in items.items():
        lines.append(f"{k} = {toml_value(v)}")
    lines.append("")


def write_keyring(directory: Path, *, persons: Sequence[dict] = (), forges: Sequence[dict] = (),
                  policy: dict | None = None, extra: str = "", version: int = 1) -> Path:
    """Write ``directory/keyring.toml``.

    A person is ``{"id": ..., "name": ..., "emails": [...], "keys": [KEY...]}``;
    a KEY is a dict of fields where ``openpgp`` may be a :class:`Path` to a
    certificate file, copied into ``directory/keys/``. A forge is
    ``{"id": ..., "openpgp": Path}``. Values of type :class:`Raw` are written
    verbatim (TOML date-times).
    """
    directory.mkdir(parents=True, exist_ok=True)
    keys_dir = directory / "keys"

    def fix(d: dict) -> dict:
        out = {}
        for k, v in d.items():
            if isinstance(v, Path):
                keys_dir.mkdir(exist_ok=True)
                dest = keys_dir / v.name
                if not dest.exists():
                    shutil.copyfile(v, dest)
                v = f"keys/{v.name}"
            out[k] = v
        return out

    lines = [f"version = {version}", ""]
    if policy:
        _table(lines, "[policy]", policy)
    for p in persons:
        p = dict(p)
        keys = p.pop("keys", [])
        _table(lines, "[[person]]", fix(p))
        for k in keys:
            _table(lines, "[[person.key]]", fix(k))
    for f in forges:
        _table(lines, "[[forge]]", fix(f))
    if extra:
        lines.append(extra)
    path = directory / "keyring.toml"
    path.write_text("\n".join(lines) + "\n")
    return directory


# --------------------------------------------------------------------------- the CLI

@dataclass
class CliResult:
    cmd: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        try:
            return json.loads(self.stdout)
        except ValueError as e:  # pragma: no cover - reported as a test failure
            raise AssertionError(f"stdout is not JSON ({e}):\n{self.describe()}") from None

    def describe(self) -> str:
        return (f"$ {' '.join(self.cmd)}\nexit {self.code}\n--- stdout\n{self.stdout[:4000]}\n"
                f"--- stderr\n{self.stderr[:4000]}")

    def commit(self, oid: str) -> dict:
        found = [c for c in self.json["commits"] if c["id"] == oid]
        assert len(found) == 1, f"commit {oid} reported {len(found)} times\n{self.describe()}"
        return found[0]

    def ids(self) -> set[str]:
        return {c["id"] for c in self.json["commits"]}


def cli_env(scratch: Path, extra: dict | None = None) -> dict[str, str]:
    """Environment for commitguard: no COMMITGUARD_KEYRING, an empty GNUPGHOME.

    The empty GNUPGHOME makes sure the implementation judges by the keyring
    alone, never by the keys the fixtures happened to sign with.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMITGUARD_", "GIT_"))}
    gnupg = scratch / "cli-gnupghome"
    gnupg.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update({
        "GNUPGHOME": str(gnupg),
        "XDG_CACHE_HOME": str(scratch / "xdg-cache"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "NO_COLOR": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    })
    if extra:
        env.update(extra)
    return env


def run_cli(args: Sequence[str], *, scratch: Path, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 120) -> CliResult:
    cmd = [sys.executable, "-m", "commitguard", *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd or scratch, env=cli_env(scratch, env), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    res = CliResult(cmd, proc.returncode, proc.stdout.decode(errors="replace"),
                    proc.stderr.decode(errors="replace"))
    # SPEC: a crash (traceback) on any input, however hostile, is a bug
    assert "Traceback" not in res.stderr, f"commitguard crashed:\n{res.describe()}"
    return res


def run_verify(revs: Sequence[str], *, repo: Path, keyring: Path | None, scratch: Path,
               fmt: str = "json", trust_root: str | None = None, cache: Path | None = None,
               jobs: int | None = None, extra: Sequence[str] = (), env: dict | None = None) -> CliResult:
    args = ["verify", *revs, "--repo", str(repo), "--format", fmt]
    if keyring is not None:
        args += ["--keyring", str(keyring)]
    if trust_root:
        args += ["--trust-root", trust_root]
    if cache is None:
        args.append("--no-cache")
    else:
        args += ["--cache", str(cache)]
    if jobs is not None:
        args += ["--jobs", str(jobs)]
    args += list(extra)
    return run_cli(args, scratch=scratch, env=env)


def assert_report_shape(res: CliResult) -> dict:
    """The JSON keys SPEC fixes, and a summary consistent with the commits."""
    data = res.json
    assert set(data) >= {"ok", "commits", "summary"}, res.describe()
    assert isinstance(data["ok"], bool)
    statuses = {"trusted", "forge", "unsigned", "bad-signature", "unknown-key", "expired-key",
                "revoked-key", "weak-signature", "malformed"}
    by_status: dict[str, int] = {}
    for c in data["commits"]:
        assert set(c) >= {"id", "status", "trusted", "signature", "signer", "reason"}, c
        assert len(c["id"]) == 40 and all(ch in "0123456789abcdef" for ch in c["id"]), c
        assert c["status"] in statuses, c
        assert isinstance(c["trusted"], bool), c
        assert c["signature"] is not None and set(c["signature"]) >= {"type", "key", "created"}, c
        assert c["signature"]["type"] in ("ssh", "openpgp", "x509", None), c
        assert isinstance(c["reason"], str) and c["reason"], c
        if c["status"] not in ("trusted", "forge"):
            assert c["trusted"] is False, c
        if c["status"] == "trusted":
            assert c["trusted"] is True, c
        by_status[c["status"]] = by_status.get(c["status"], 0) + 1
    s = data["summary"]
    assert s["total"] == len(data["commits"]), s
    assert s["trusted"] == sum(1 for c in data["commits"] if c["trusted"]), s
    assert {k: v for k, v in s["by_status"].items() if v} == by_status, s
    assert data["ok"] == all(c["trusted"] for c in data["commits"]), data["ok"]
    assert res.code == (0 if data["ok"] else 1), res.describe()
    return data


# Shared by tests/security/test_properties.py and fuzz/common.py: the reference for
# "a changed signature that still makes the same signed claim".
def pgp_signed_part(binary: bytes | None):
    """What a v4 OpenPGP signature packet commits to, or None if it is not one.

    (type, algorithms, hashed subpacket area, MPI values): the unhashed area is
    unsigned by design (RFC 9580 5.2.3), so are the "left 16 bits" quick check
    and the MPI length headers, which only encode the values; two signatures equal here make the same
    claim, whatever gpg thinks of an edited unhashed issuer key id.
    """
    try:
        if not binary or not binary[0] & 0x80:
            return None
        ctb, pos = binary[0], 1
        if ctb & 0x40:
            first = binary[pos]
            pos += 1
            if first < 192:
                n = first
            elif first < 224:
                n, pos = ((first - 192) << 8) + binary[pos] + 192, pos + 1
            else:
                n, pos = int.from_bytes(binary[pos : pos + 4], "big"), pos + 4
        else:
            size = {0: 1, 1: 2, 2: 4}[ctb & 3]
            n, pos = int.from_bytes(binary[pos : pos + size], "big"), pos + size
        body = binary[pos : pos + n]
        if pos + n != len(binary) or body[0] != 4:
            return None
        hashed_end = 6 + int.from_bytes(body[4:6], "big")
        unhashed_end = hashed_end + 2 + int.from_bytes(body[hashed_end : hashed_end + 2], "big")
        left16, rest, mpis = body[unhashed_end : unhashed_end + 2], body[unhashed_end + 2 :], []
        while rest:
            size = (int.from_bytes(rest[:2], "big") + 7) // 8
            mpis.append(int.from_bytes(rest[2 : 2 + size], "big"))
            rest = rest[2 + size :]
        return body[:hashed_end], tuple(mpis)  # left16: an unsigned quick check Sequoia ignores (gpg does not)
    except (IndexError, KeyError):
        return None
