#!/usr/bin/env python3
"""The cryptographic floor: the signature verification work alone.

    python bench/floor.py OUTDIR [--json]

OUTDIR is what ``bench/generate.py OUTDIR`` wrote. Before anything is timed,
every commit's (signature, signed payload) is read with pygit2
(``commit.gpg_signature``), the keyring's keys are loaded from
OUTDIR/keyring (keyring.toml: SSH public key lines, OpenPGP certificate
files through ``pysequoia.Cert``) and each signature is mapped to the key
that made it: SSH by the public key blob inside the SSHSIG, OpenPGP by the
issuer fingerprint (or key id) against the primary and subkey fingerprints
of each certificate, read from the certificate's packets, as
commitguard/keyring/index.py does. Nothing is verified while mapping.

Then, timed, in one thread pinned to one CPU, with no git access, each
signature exactly once (Sequoia keeps a verification cache; no signature is
verified twice in this process):

  SSH      base64-decode the armor, read the SSHSIG fields, build the signed
           data (MAGIC, namespace "git", reserved, hash algorithm,
           H(payload)) and check the Ed25519 signature with libsodium through
           PyNaCl, ``nacl.bindings.crypto_sign_open`` (what commitguard uses)
  OpenPGP  ``pysequoia.verify(bytes=payload, store=lambda ids: [cert],
           signature=pysequoia.Sig.from_bytes(armored))`` with exactly one
           certificate, the signer's

Every signature must verify (a floor that does not verify measures nothing);
any failure aborts. Prints per-kind counts and mean microseconds, the totals,
and a last line ``floor-json: {...}`` that bench/run.py parses.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import struct
import sys
import time
import tomllib
import warnings
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import pygit2
import pysequoia
from pysequoia.packet import PacketPile, Tag

SSH_ARMOR = b"-----BEGIN SSH SIGNATURE-----"
SSH_END = b"-----END SSH SIGNATURE-----"
PGP_ARMOR = b"-----BEGIN PGP SIGNATURE-----"
MAGIC = b"SSHSIG"
KINDS = ("ssh", "openpgp-ed25519", "openpgp-rsa", "forge")
_HASHES = {b"sha512": hashlib.sha512, b"sha256": hashlib.sha256}


def die(msg: str) -> None:
    sys.exit(f"floor.py: {msg}")


def _sshstr(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _read_str(buf: bytes, off: int) -> tuple[bytes, int]:
    (n,) = struct.unpack_from(">I", buf, off)
    off += 4
    if off + n > len(buf):
        raise ValueError("truncated SSH string")
    return buf[off : off + n], off + n


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


class Keys:
    """The keyring's keys: SSH ed25519 raw public keys by blob, OpenPGP
    certificates by (sub)key fingerprint and key id."""

    def __init__(self, keyring: Path):
        try:
            conf = tomllib.loads((keyring / "keyring.toml").read_text())
        except (OSError, ValueError) as e:
            die(f"{keyring}/keyring.toml: {e}")
        self.ssh: dict[bytes, bytes] = {}  # public key blob -> raw 32-byte ed25519 key
        self.by_fpr: dict[str, tuple[pysequoia.Cert, bool]] = {}  # (sub)key fpr -> (cert, is forge)
        self.by_keyid: dict[str, tuple[pysequoia.Cert, bool]] = {}
        entries = [(k, False) for p in conf.get("person", []) for k in p.get("key", [])]
        entries += [(f, True) for f in conf.get("forge", [])]
        for entry, forge in entries:
            if "ssh" in entry:
                self._add_ssh(entry["ssh"])
            if "openpgp" in entry:
                self._add_openpgp(keyring / entry["openpgp"], forge)

    def _add_ssh(self, line: str) -> None:
        parts = line.split()
        blob = base64.b64decode(parts[1])
        algo, off = _read_str(blob, 0)
        if algo != b"ssh-ed25519":
            die(f"SSH key type {algo!r}: the floor knows ed25519 only")
        raw, _ = _read_str(blob, off)
        self.ssh[blob] = raw

    def _add_openpgp(self, path: Path, forge: bool) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            cert = pysequoia.Cert.from_bytes(path.read_bytes())
            for packet in PacketPile.from_bytes(bytes(cert)):
                if packet.tag in (Tag.PublicKey, Tag.PublicSubkey) and packet.fingerprint:
                    fpr = packet.fingerprint.upper()
                    self.by_fpr[fpr] = (cert, forge)
                    self.by_keyid[fpr[-16:]] = (cert, forge)

    def openpgp_for(self, armored: bytes) -> tuple[pysequoia.Cert, str]:
        """(the signing cert, kind) from the issuer subpackets; parses, never verifies."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            sig = pysequoia.Sig.from_bytes(armored)
            fpr, keyid, algo = sig.issuer_fingerprint, sig.issuer_key_id, str(sig.key_algorithm)
        hit = self.by_fpr.get(fpr.upper()) if fpr else self.by_keyid.get((keyid or "").upper())
        if hit is None:
            raise LookupError(f"no keyring certificate for issuer {fpr or keyid}")
        cert, forge = hit
        kind = "forge" if forge else "openpgp-rsa" if "RSA" in algo.upper() else "openpgp-ed25519"
        return cert, kind

    def ssh_for(self, armored: bytes) -> bytes:
        blob = _ssh_unarmor(armored)
        if blob[:6] != MAGIC:
            raise ValueError("not an SSHSIG")
        pub, _ = _read_str(blob, 10)
        raw = self.ssh.get(pub)
        if raw is None:
            raise LookupError("SSH key not in the keyring")
        return raw


def _ssh_unarmor(armored: bytes) -> bytes:
    body = armored[armored.index(SSH_ARMOR) + len(SSH_ARMOR) : armored.index(SSH_END)]
    return binascii.a2b_base64(body.replace(b"\n", b"").replace(b"\r", b""))


# --------------------------------------------------------------------------
# The work itself
# --------------------------------------------------------------------------


def verify_ssh(armored: bytes, payload: bytes, pub_raw: bytes) -> bool:
    """SSHSIG verification as PROTOCOL.sshsig defines it, ed25519 only."""
    blob = _ssh_unarmor(armored)
    if blob[:6] != MAGIC or struct.unpack_from(">I", blob, 6)[0] != 1:
        return False
    _pub, off = _read_str(blob, 10)
    namespace, off = _read_str(blob, off)
    reserved, off = _read_str(blob, off)
    hash_alg, off = _read_str(blob, off)
    sig_blob, off = _read_str(blob, off)
    sig_type, o2 = _read_str(sig_blob, 0)
    raw_sig, _ = _read_str(sig_blob, o2)
    h = _HASHES.get(hash_alg)
    if namespace != b"git" or sig_type != b"ssh-ed25519" or h is None or len(raw_sig) != 64:
        return False
    signed = MAGIC + _sshstr(b"git") + _sshstr(reserved) + _sshstr(hash_alg) + _sshstr(h(payload).digest())
    try:
        nacl.bindings.crypto_sign_open(raw_sig + signed, pub_raw)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def verify_openpgp(armored: bytes, payload: bytes, cert) -> bool:
    certs = [cert]
    try:
        result = pysequoia.verify(bytes=payload, store=lambda _ids: certs, signature=pysequoia.Sig.from_bytes(armored))
    except Exception:
        return False
    return bool(result.valid_sigs)


# --------------------------------------------------------------------------


def collect(out: Path, keys: Keys, rev: str | None) -> tuple[dict[str, list], int, int]:
    """Every commit's signature, payload and key, grouped by kind (untimed)."""
    repo = pygit2.Repository(str(out / "repo"))
    meta = json.loads((out / "meta.json").read_text())
    head = repo.revparse_single(rev or meta["head"]).id
    work: dict[str, list] = {k: [] for k in KINDS}
    seen: set[bytes] = set()
    n = unsigned = 0
    for commit in repo.walk(head, pygit2.enums.SortMode.NONE):
        n += 1
        sig, payload = commit.gpg_signature
        if sig is None:
            unsigned += 1
            continue
        if sig in seen:  # never verify one signature twice in this process
            die(f"commit {commit.id}: the same signature bytes occur twice in the history")
        seen.add(sig)
        try:
            if sig.lstrip().startswith(SSH_ARMOR):
                work["ssh"].append((sig, payload, keys.ssh_for(sig)))
            elif sig.lstrip().startswith(PGP_ARMOR):
                cert, kind = keys.openpgp_for(sig)
                work[kind].append((sig, payload, cert))
            else:
                die(f"commit {commit.id}: a signature that is neither SSH nor OpenPGP")
        except (LookupError, ValueError) as e:
            die(f"commit {commit.id}: {e}")
    return work, n, unsigned


def measure(work: dict[str, list]) -> dict:
    fns = {"ssh": verify_ssh, "openpgp-ed25519": verify_openpgp, "openpgp-rsa": verify_openpgp, "forge": verify_openpgp}
    per_kind = {}
    wall_total = cpu_total = 0.0
    failed = []
    for kind in KINDS:
        items = work[kind]
        fn = fns[kind]
        bad = 0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for sig, payload, key in items:
            if not fn(sig, payload, key):
                bad += 1
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if bad:
            failed.append(f"{bad} of {len(items)} {kind} signatures did not verify")
        per_kind[kind] = {
            "count": len(items),
            "seconds": round(wall, 4),
            "cpu": round(cpu, 4),
            "mean_us": round(wall / len(items) * 1e6, 1) if items else None,
            "mean_cpu_us": round(cpu / len(items) * 1e6, 1) if items else None,
        }
        wall_total += wall
        cpu_total += cpu
    if failed:
        die("the floor did not verify: " + "; ".join(failed))
    return {"seconds": round(wall_total, 4), "cpu": round(cpu_total, 4), "kinds": per_kind}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--rev", help="verify the history of this revision (default: the generated head)")
    ap.add_argument("--json", action="store_true", help="print only the JSON line")
    ap.add_argument("--shard", default="0/1", help="K/N: verify every N-th signature of each kind from the K-th "
                    "(bench/run.py runs 0/2 and 1/2 at once, one per core, for the floor on both cores)")
    ap.add_argument("--cpu", type=int, help="the CPU to pin to (default: the first this process may use)")
    ap.add_argument("--barrier", action="store_true",
                    help="after the untimed setup, print 'ready' and wait for a line on stdin before timing")
    a = ap.parse_args(argv)
    out = a.outdir.resolve()
    if not (out / "meta.json").exists():
        die(f"{out}/meta.json missing (run bench/generate.py {a.outdir} first)")
    try:
        shard, shards = (int(x) for x in a.shard.split("/"))
        assert 0 <= shard < shards
    except (ValueError, AssertionError):
        die(f"--shard {a.shard!r}: expected K/N with 0 <= K < N")
    # one core: the floor is single-threaded work; pin it so that is literally true
    cpus = sorted(os.sched_getaffinity(0))
    cpu = a.cpu if a.cpu is not None else cpus[0]
    os.sched_setaffinity(0, {cpu})

    t0 = time.perf_counter()
    keys = Keys(out / "keyring")
    work, n, unsigned = collect(out, keys, a.rev)
    if shards > 1:
        work = {kind: items[shard::shards] for kind, items in work.items()}
    setup = time.perf_counter() - t0
    if a.barrier:
        print("ready", flush=True)
        sys.stdin.readline()

    res = measure(work)
    res.update(commits=n, unsigned=unsigned, signatures=sum(len(v) for v in work.values()), setup_seconds=round(setup, 2),
               cpu_index=cpu, shard=a.shard)  # fmt: skip
    if not a.json:
        print(f"{n} commits, {res['signatures']} signatures, {unsigned} unsigned; extraction and key mapping {setup:.2f} s (untimed)")
        print(f"{'kind':<16} {'count':>7} {'seconds':>9} {'mean µs':>9} {'CPU µs':>9}")
        for kind, k in res["kinds"].items():
            mean = f"{k['mean_us']:.1f}" if k["mean_us"] is not None else "-"
            mcpu = f"{k['mean_cpu_us']:.1f}" if k["mean_cpu_us"] is not None else "-"
            print(f"{kind:<16} {k['count']:>7} {k['seconds']:>9.3f} {mean:>9} {mcpu:>9}")
        print(f"{'total':<16} {res['signatures']:>7} {res['seconds']:>9.3f}   (CPU {res['cpu']:.3f} s, on CPU {cpu})")
    print("floor-json: " + json.dumps(res, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
