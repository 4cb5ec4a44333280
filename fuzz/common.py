"""Shared set-up of the fuzz targets: real keys, real signed commits, a keyring.

Everything is made once per process with the real tools (ssh-keygen, gpg in
a throwaway GNUPGHOME, git), through the test suite's own fixtures
(``tests/fixtures_git.py``), so every target starts from valid inputs that
commitguard trusts and the fuzzer mutates from there.

``fuzz(test_one_input, seeds)`` runs atheris (libFuzzer) when it is
installed, and otherwise a plain random-mutation loop over the seeds with the
same ``TestOneInput`` and the same time limit, so a target always runs.
"""

from __future__ import annotations

import atexit
import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fixtures_git import pgp_signed_part  # noqa: E402,F401  (re-exported for the targets)

try:  # noqa: SIM105
    import atheris  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the machine
    atheris = None


@dataclass
class SignedCommit:
    kind: str  # "ssh" | "openpgp"
    signature: bytes
    payload: bytes


@dataclass
class World:
    root: Path
    keyring_dir: Path
    ssh_pub_line: str
    ssh_key_path: Path
    gnupg_home: Path
    cert: bytes
    ssh: SignedCommit
    pgp: SignedCommit
    approval: str  # a valid approval envelope (SSH), for the approval target

    def reference_accepts(self, kind: str, signature: bytes, payload: bytes, namespace: str = "git") -> bool:
        """ssh-keygen -Y verify / gpg --verify: the tools git itself relies on."""
        sig = self.root / "candidate.sig"
        sig.write_bytes(signature)
        if kind == "ssh":
            allowed = self.root / "allowed_signers"
            allowed.write_text(f"alice {self.ssh_pub_line}\n")
            done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "alice", "-n", namespace,
                                   "-s", sig], input=payload, capture_output=True)
            return done.returncode == 0
        data = self.root / "candidate.data"
        data.write_bytes(payload)
        done = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify", sig, data], capture_output=True,
                              env={**os.environ, "GNUPGHOME": str(self.gnupg_home)})
        return b"[GNUPG:] VALIDSIG" in done.stdout and b"[GNUPG:] GOODSIG" in done.stdout


def build_world() -> World:
    import pygit2

    from fixtures_git import Gpg, PgpSigner, Repo, SshKey, SshSigner, write_keyring
    from oracles import approval_statement, dsse_envelope, dsse_pae

    root = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-"))
    gpg = Gpg(root / "gnupg", root)

    def cleanup() -> None:
        gpg.kill_agent()
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(cleanup)
    ssh_key = SshKey.generate(root / "ssh", "alice", "ed25519")
    primary = gpg.gen_key("Alice Example <alice@example.org>", "ed25519", "cert")
    signing = gpg.add_subkey(primary, "ed25519", "sign")
    cert = gpg.export(primary, root / "alice.asc")
    keyring_dir = write_keyring(root / "keyring", persons=[
        {"id": "alice", "name": "Alice Example", "github": "alice", "roles": ["committer"],
         "keys": [{"ssh": ssh_key.pub_line}, {"openpgp": cert}]},
    ], extra='[[rule]]\npaths = ["**"]\napprovers = ["alice"]\nexclude_author = false\n')
    repo = Repo(root / "repo", root)
    objects = pygit2.Repository(str(repo.path))
    signed = {}
    for kind, signer in (("ssh", SshSigner(ssh_key)), ("openpgp", PgpSigner(gpg, signing))):
        oid = repo.commit(f"pkgs: signed with {kind}", signer=signer)
        signature, payload = objects[oid].gpg_signature
        signed[kind] = SignedCommit(kind, signature, payload)
    # the approval is written from the formats (oracles.py), not with commitguard's own Approval/pae/Envelope
    payload = approval_statement(repository="example.org/nixpkgs", base="1" * 40, head="2" * 40, head_tree="3" * 40,
                                 pull_request=7, timestamp="2025-01-01T00:00:00Z")
    sig = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", "commitguard-approval", "-f", ssh_key.path],
                         input=dsse_pae(payload), capture_output=True, check=True).stdout
    envelope = dsse_envelope(payload, sig, keyid="ssh")
    return World(root, keyring_dir, ssh_key.pub_line, ssh_key.path, gpg.home, cert.read_bytes(),
                 signed["ssh"], signed["openpgp"], envelope)


def armor_content(signature: bytes) -> bytes | None:
    """The binary inside an armor, read leniently (headers, CRC ignored); None if not base64."""
    text = signature.decode("ascii", "replace")
    begin = text.find("SIGNATURE-----")
    end = text.find("-----END", begin + 1)
    if begin < 0 or end < 0:
        return None
    lines = text[begin + len("SIGNATURE-----") : end].splitlines()  # text run on after BEGIN is data to Sequoia
    body = [l.strip() for l in lines if l.strip() and ":" not in l and not l.strip().startswith("=")]
    try:
        return base64.b64decode("".join("".join(body).split()), validate=True)
    except ValueError:
        return None


def sequoia_packet(armored: bytes) -> bytes | None:
    """The one packet Sequoia reads from ``armored`` (its armor reader is more
    lenient than gpg's), serialized again; None unless exactly one."""
    import warnings

    from pysequoia.packet import PacketPile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            packets = list(PacketPile.from_bytes(armored))
            if len(packets) != 1:
                return None
            body = packets[0].body
    except Exception:  # noqa: BLE001 - anything Sequoia cannot read is no packet
        return None
    n = len(body)
    length = bytes([n]) if n < 192 else bytes([((n - 192) >> 8) + 192, (n - 192) & 0xFF]) if n < 8384 \
        else b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC2]) + length + body


def pgp_armor(binary: bytes) -> bytes:
    text = base64.b64encode(binary).decode()
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN PGP SIGNATURE-----\n\n{lines}\n-----END PGP SIGNATURE-----\n".encode()


# --------------------------------------------------------------------------- known findings

# Bugs a target has found that are not yet fixed in commitguard go here, so a
# run is not stopped by the first input that hits them: name -> (exception type,
# function it is raised in). Tolerated (and counted) unless
# COMMITGUARD_FUZZ_STRICT=1. The first two findings (split_certs letting
# RuntimeError through, _collect recursing per nesting level) are fixed, with
# regression tests in tests/security/test_properties.py; the two below are issue 14's
# items 5 and 6, found again by fuzz_rules.py, fixed on another branch.
KNOWN: dict[str, tuple[type, str]] = {
    # Reported findings not fixed yet are listed here as "name": (exception type, function it is
    # raised in); a target then counts them instead of stopping. Every earlier finding is fixed
    # (issue 14: pooled maintainer approvals, handle vs GitHub login; the three zip reader crashes),
    # so none is tolerated.
}
known_hits: dict[str, int] = {}


def _raised_in(exc: BaseException, function: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def tolerate_known(exc: BaseException) -> bool:
    if os.environ.get("COMMITGUARD_FUZZ_STRICT"):
        return False
    for name, (kind, function) in KNOWN.items():
        if isinstance(exc, kind) and _raised_in(exc, function):
            known_hits[name] = known_hits.get(name, 0) + 1
            if known_hits[name] in (1, 100, 10_000):
                print(f"==known== {name} hit {known_hits[name]} time(s)", file=sys.stderr)
            return True
    return False


# --------------------------------------------------------------------------- runner


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        if op == 0 and out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif op == 1:
            at = rng.randint(0, len(out))
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 2 and out:
            at = rng.randrange(len(out))
            del out[at : at + rng.randint(1, 16)]
        elif op == 3 and out:
            out[rng.randrange(len(out))] = rng.choice(b"\x00\xff\n -=ABab{}[]\"':,")
        elif out:
            a, b = sorted(rng.randrange(len(out)) for _ in range(2))
            at = rng.randint(0, len(out))
            out[at:at] = out[a:b]
    return bytes(out)


def fuzz(test_one_input, seeds: list[bytes], *, instrument: bool = True) -> None:
    """Run ``test_one_input`` under atheris, or the fallback loop.

    Arguments are libFuzzer's (``-max_total_time=S CORPUS_DIR ...``); the first
    directory argument, when empty, is filled with ``seeds`` first.
    """
    corpus = next((Path(a) for a in sys.argv[1:] if not a.startswith("-")), None)
    if corpus is not None and corpus.is_file():
        corpus = None  # replaying one input (a crash file): nothing to seed
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for i, seed in enumerate(seeds):
                (corpus / f"seed-{i:03d}").write_bytes(seed)
    if atheris is not None and not os.environ.get("COMMITGUARD_FUZZ_FALLBACK"):
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
        return
    # fallback: random mutations of the corpus, same target, same budget
    limit = next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("-max_total_time=")), 60)
    pool = [p.read_bytes() for p in corpus.iterdir()] if corpus else list(seeds)
    rng = random.Random(int(os.environ.get("COMMITGUARD_FUZZ_SEED", "0")) or None)
    deadline, runs = time.monotonic() + limit, 0
    while time.monotonic() < deadline:
        data = _mutate(rng.choice(pool), rng) if pool else os.urandom(rng.randint(0, 512))
        try:
            test_one_input(data)
        except Exception:
            crash = Path(f"crash-fallback-{runs}")
            crash.write_bytes(data)
            print(f"==fallback== crash on input saved to {crash}", file=sys.stderr)
            raise
        runs += 1
    print(f"stat::number_of_executed_units: {runs}", file=sys.stderr)


def instrumented():
    """``with instrumented(): import commitguard...``: coverage feedback for atheris."""
    if atheris is not None and not os.environ.get("COMMITGUARD_FUZZ_FALLBACK"):
        return atheris.instrument_imports(include=["commitguard"])
    import contextlib

    return contextlib.nullcontext()
