"""An adversarial corpus: commits and approvals an attacker can push, each with
the exact verdict commitguard must give.

The property under test is SPEC's "a crash (traceback) on any input, however
hostile, is a bug", together with the one that matters most: nothing
untrusted is ever reported ``trusted``. Every case is a root commit in one
repository, built with the real tools (git, gpg in a throwaway GNUPGHOME,
ssh-keygen) or written by hand with ``git hash-object -t commit -w
--literally --stdin``; all of them are verified in ONE run of ``python -m
commitguard verify ID... --trust-root ID --no-cache --format json`` and each
test then reads its own verdict.

Some OpenPGP signatures cannot be made with gpg (a signature from a subkey
that is not marked for signing, an unknown critical subpacket, a document
signature of type 0x13 or 0x02, no issuer, no creation time): gpg refuses to
make them. They are made here by hand, with the *real* secret keys that gpg
generated (exported unprotected from the throwaway home) and the v4 signature
format of RFC 4880/9580 section 5.2, and every hand-made signature is first
checked to be mathematically valid with ``cryptography`` so that a verdict of
``bad-signature`` is about what the signature *says*, not about a bug here.
(An encryption-only subkey of type cv25519/ECDH cannot sign at all: there is
no such signature to make. The encryption subkey used is an RSA one, which can
be made to sign mathematically although its key flags say "encrypt only".)

Approvals replayed across repositories, pull requests and heads are made with
``commitguard approve`` and judged with ``commitguard check-pr``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from commitguard.git.commit_object import read_plain_commit
from tests.security import hostile_x509
from tests.fixtures_git import (
    EMPTY_TREE,
    Gpg,
    Repo,
    SshKey,
    SshSigner,
    assert_report_shape,
    run,
    run_cli,
    run_verify,
    write_keyring,
)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "gpg", "gpgconf", "ssh-keygen")),
    reason="needs git, gpg, gpgconf and ssh-keygen",
)

COMMIT_TIME = 1717200000  # 2024-06-01T00:00:00Z
FUTURE_TIME = 4070908800  # 2099-01-01T00:00:00Z
KEY_TIME = 1546300800  # 2019-01-01T00:00:00Z, when every OpenPGP key is created


# =========================================================================== OpenPGP by hand


def pgp_packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of each packet of binary OpenPGP data, old and new formats."""
    out, pos = [], 0
    while pos < len(data):
        ctb = data[pos]
        pos += 1
        assert ctb & 0x80, "not an OpenPGP packet"
        if ctb & 0x40:
            tag = ctb & 0x3F
            first = data[pos]
            pos += 1
            if first < 192:
                n = first
            elif first < 224:
                n = ((first - 192) << 8) + data[pos] + 192
                pos += 1
            elif first == 255:
                n = int.from_bytes(data[pos : pos + 4], "big")
                pos += 4
            else:
                raise AssertionError("partial body lengths are not expected here")
        else:
            tag = (ctb >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}[ctb & 3]
            n = int.from_bytes(data[pos : pos + size], "big")
            pos += size
        out.append((tag, data[pos : pos + n]))
        pos += n
    return out


def _read_mpi(data: bytes, pos: int) -> tuple[int, int]:
    bits = int.from_bytes(data[pos : pos + 2], "big")
    size = (bits + 7) // 8
    return int.from_bytes(data[pos + 2 : pos + 2 + size], "big"), pos + 2 + size


def mpi(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return value.bit_length().to_bytes(2, "big") + raw


def packet(tag: int, body: bytes) -> bytes:
    """A new-format packet."""
    n = len(body)
    if n < 192:
        length = bytes([n])
    elif n < 8384:
        length = bytes([((n - 192) >> 8) + 192, (n - 192) & 0xFF])
    else:
        length = b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + length + body


def subpacket(kind: int, data: bytes, *, critical: bool = False) -> bytes:
    body = bytes([kind | (0x80 if critical else 0)]) + data
    return packet(0, body)[1:]  # same length encoding as a packet, without the tag byte


def sp_created(ts: int) -> bytes:
    return subpacket(2, ts.to_bytes(4, "big"))


def sp_issuer_fpr(fpr: str) -> bytes:
    return subpacket(33, b"\x04" + bytes.fromhex(fpr))


def sp_issuer_id(fpr: str) -> bytes:
    return subpacket(16, bytes.fromhex(fpr)[-8:])


@dataclass
class HandKey:
    """A (sub)key whose secret gpg generated, usable for signing by hand."""

    fingerprint: str
    algo: int  # 22 EdDSA (legacy), 1 RSA
    private: object

    def public_verify(self, signature: bytes, digest: bytes, chash) -> None:
        """Raise unless ``signature`` is valid over ``digest`` (self-check of the hand signer)."""
        if self.algo == 22:
            self.private.public_key().verify(signature, digest)
        else:
            self.private.public_key().verify(signature, digest, padding.PKCS1v15(), asym_utils.Prehashed(chash))


def hand_keys(secret_export: bytes) -> dict[str, HandKey]:
    """Fingerprint -> HandKey for each unprotected EdDSA or RSA (sub)key of ``gpg --export-secret-keys``."""
    out = {}
    for tag, body in pgp_packets(secret_export):
        if tag not in (5, 7):  # secret key, secret subkey
            continue
        algo = body[5]
        pos = 6
        if algo == 22:
            pos += 1 + body[pos]  # curve OID
            _, pos = _read_mpi(body, pos)
        elif algo == 1:
            _, pos = _read_mpi(body, pos)
            _, pos = _read_mpi(body, pos)
        else:
            continue  # ECDH and friends cannot sign
        public = body[:pos]
        fpr = hashlib.sha1(b"\x99" + len(public).to_bytes(2, "big") + public).hexdigest().upper()
        assert body[pos] == 0, "the throwaway keys have no passphrase"
        pos += 1
        if algo == 22:
            seed, pos = _read_mpi(body, pos)
            private = ed25519.Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "big"))
        else:
            n, p2 = _read_mpi(public, 6)
            e, _ = _read_mpi(public, p2)
            d, pos = _read_mpi(body, pos)
            p, pos = _read_mpi(body, pos)
            q, pos = _read_mpi(body, pos)
            private = rsa.RSAPrivateNumbers(
                p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)
            ).private_key()
        out[fpr] = HandKey(fpr, algo, private)
    return out


_HASH = {1: (hashlib.md5, hashes.MD5()), 2: (hashlib.sha1, hashes.SHA1()), 8: (hashlib.sha256, hashes.SHA256()),
         10: (hashlib.sha512, hashes.SHA512())}


def hand_sign(key: HandKey, data: bytes, *, sigtype: int = 0x00, hash_algo: int = 8,
              created: int | None = COMMIT_TIME, issuer: str | None = None, hashed_extra: list[bytes] = (),
              unhashed: list[bytes] | None = None, no_issuer: bool = False, garbage: bool = False,
              quick_check: bytes | None = None) -> bytes:
    """One v4 signature packet over ``data``, made by hand (RFC 9580 5.2.3, 5.2.4)."""
    issuer = issuer or key.fingerprint
    hashed = [sp_created(created)] if created is not None else []
    if not no_issuer:
        hashed.append(sp_issuer_fpr(issuer))
    hashed += list(hashed_extra)
    if unhashed is None:
        unhashed = [] if no_issuer else [sp_issuer_id(issuer)]
    hs, us = b"".join(hashed), b"".join(unhashed)
    head = bytes([4, sigtype, key.algo, hash_algo]) + len(hs).to_bytes(2, "big") + hs
    hfun, chash = _HASH[hash_algo]
    digest = hfun(data + head + b"\x04\xff" + len(head).to_bytes(4, "big")).digest()
    if key.algo == 22:
        sig = key.private.sign(digest)
        key.public_verify(sig, digest, chash)
        if garbage:
            sig = bytes(64 * [0x41])
        mpis = mpi(int.from_bytes(sig[:32], "big")) + mpi(int.from_bytes(sig[32:], "big"))
    else:
        sig = key.private.sign(digest, padding.PKCS1v15(), asym_utils.Prehashed(chash))
        key.public_verify(sig, digest, chash)
        mpis = mpi(int.from_bytes(sig, "big"))
    return packet(2, head + len(us).to_bytes(2, "big") + us + (quick_check or digest[:2]) + mpis)


def _crc24_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
        table.append(crc & 0xFFFFFF)
    return table


_CRC24 = _crc24_table()


def crc24(data: bytes) -> int:
    """RFC 9580 6.1 (table-driven: the 1 MB packet is armored too)."""
    crc = 0xB704CE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24[((crc >> 16) ^ byte) & 0xFF]
    return crc


def pgp_armor(data: bytes, *, kind: str = "SIGNATURE", crc: int | None = None) -> str:
    text = base64.b64encode(data).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    checksum = base64.b64encode((crc24(data) if crc is None else crc).to_bytes(3, "big")).decode()
    return f"-----BEGIN PGP {kind}-----\n\n" + "\n".join(lines) + f"\n={checksum}\n-----END PGP {kind}-----\n"


def pgp_dearmor(text: str) -> bytes:
    lines = text.strip().splitlines()
    body = [l for l in lines[1:-1] if l and ":" not in l and not l.startswith("=")]
    return base64.b64decode("".join(body))


# =========================================================================== SSHSIG by hand


def ssh_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def sshsig_fields(armored: str) -> tuple[bytes, bytes, list[bytes]]:
    """(magic, version, [publickey, namespace, reserved, hash_algorithm, signature])."""
    lines = armored.strip().splitlines()
    raw = base64.b64decode("".join(lines[1:-1]))
    magic, version, pos, fields = raw[:6], raw[6:10], 10, []
    for _ in range(5):
        n = struct.unpack(">I", raw[pos : pos + 4])[0]
        fields.append(raw[pos + 4 : pos + 4 + n])
        pos += 4 + n
    assert pos == len(raw)
    return magic, version, fields


def sshsig_armor(raw: bytes) -> str:
    text = base64.b64encode(raw).decode()
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(text[i : i + 70] for i in range(0, len(text), 70)) + \
        "\n-----END SSH SIGNATURE-----\n"


def sshsig_rebuild(armored: str, *, version: bytes | None = None, trailing: bytes = b"", **replace: bytes) -> str:
    magic, old_version, fields = sshsig_fields(armored)
    names = ["publickey", "namespace", "reserved", "hash_algorithm", "signature"]
    fields = [replace.get(n, f) for n, f in zip(names, fields)]
    return sshsig_armor(magic + (version or old_version) + b"".join(ssh_string(f) for f in fields) + trailing)


def ssh_pub_blob(key: SshKey) -> bytes:
    return base64.b64decode(key.pub_line.split()[1])


# =========================================================================== commits by hand


def raw_commit(message: bytes, *, author: bytes = b"Mallory Example <mallory@example.org>",
               extra_headers: bytes = b"", parents: tuple[str, ...] = (), when: int = COMMIT_TIME) -> bytes:
    """A commit object's bytes, without any signature header."""
    head = b"tree " + EMPTY_TREE.encode() + b"\n"
    head += b"".join(b"parent " + p.encode() + b"\n" for p in parents)
    head += b"author " + author + b" %d +0000\n" % when
    head += b"committer " + author + b" %d +0000\n" % when
    return head + extra_headers + b"\n" + message


def header(name: bytes, value: str | bytes) -> bytes:
    """A folded header: continuation lines start with one space."""
    if isinstance(value, str):
        value = value.encode()
    return name + b" " + b"\n ".join(value.rstrip(b"\n").split(b"\n")) + b"\n"


def with_headers(payload: bytes, *headers: bytes) -> bytes:
    """Insert headers at the end of the header block, where git puts ``gpgsig``."""
    head, sep, body = payload.partition(b"\n\n")
    assert sep
    return head + b"\n" + b"".join(headers) + b"\n" + body


# =========================================================================== the world


@dataclass
class Case:
    name: str
    id: str
    status: str  # the exact status SPEC demands
    why: str
    signer: str | None = "unset"  # expected signer; "unset": null unless trusted


@dataclass
class Hostile:
    root: Path
    repo: Repo
    gpg: Gpg
    ssh: dict[str, SshKey]
    alice_pgp: str  # primary
    sub: dict[str, str]  # role -> alice's subkey fingerprint
    stranger_pgp: str
    keys: dict[str, HandKey]
    keyring: Path
    cases: dict[str, Case] = field(default_factory=dict)
    results: dict[str, dict] = field(default_factory=dict)
    report: dict | None = None
    seconds: float = 0.0

    # -- writing commits ------------------------------------------------------------
    def write(self, data: bytes) -> str:
        return self.repo.write_raw(data, literally=True)

    def signed(self, payload: bytes, signature: str | bytes, *extra: bytes) -> str:
        """``payload`` with a gpgsig header holding ``signature`` (and any extra headers after it)."""
        return self.write(with_headers(payload, header(b"gpgsig", signature), *extra))

    def ssh_sign(self, key: str, data: bytes, namespace: str = "git", *options: str) -> str:
        cmd = ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", self.ssh[key].path]
        for o in options:
            cmd += ["-O", o]
        sig = run(cmd, input=data).stdout.decode()
        assert "BEGIN SSH SIGNATURE" in sig
        return sig

    def gpg_sign(self, fingerprint: str, data: bytes, *extra: str, at: str = "2024-06-01T00:00:00Z") -> str:
        sig = self.gpg.gpg("--local-user", fingerprint + "!", "--armor", "--detach-sign", *extra,
                           input=data, at=at).stdout.decode()
        assert "BEGIN PGP SIGNATURE" in sig
        return sig

    def case(self, name: str, oid: str, status: str, why: str, signer: str | None = "unset") -> None:
        assert name not in self.cases and all(c.id != oid for c in self.cases.values()), name
        self.cases[name] = Case(name, oid, status, why, signer)


def _build(root: Path) -> Hostile:
    gpg = Gpg(root / "gnupg", root)
    ssh_dir = root / "ssh"
    ssh = {n: SshKey.generate(ssh_dir, n, "ed25519") for n in ("alice", "bob", "stranger")}
    ssh["carol_rsa"] = SshKey.generate(ssh_dir, "carol_rsa", "rsa", 2048)

    alice = gpg.gen_key("Alice Example <alice@example.org>", "ed25519", "cert")
    sub = {
        "sign": gpg.add_subkey(alice, "ed25519", "sign"),
        "auth": gpg.add_subkey(alice, "ed25519", "auth"),
        "encr_rsa": gpg.add_subkey(alice, "rsa2048", "encr"),
        "encr_cv25519": gpg.add_subkey(alice, "cv25519", "encr"),
        "to_revoke": gpg.add_subkey(alice, "ed25519", "sign"),
    }
    stranger = gpg.gen_key("Stranger <stranger@example.net>", "ed25519", "sign")
    secret = gpg.gpg("--export-secret-keys", alice, stranger).stdout
    keys = hand_keys(secret)
    assert set(keys) >= {alice, stranger, sub["sign"], sub["auth"], sub["encr_rsa"], sub["to_revoke"]}

    repo = Repo(root / "repo", root)
    repo.git("mktree", input="")  # the empty tree every hand-made commit names
    w = Hostile(root, repo, gpg, ssh, alice, sub, stranger, keys, root / "keyring")

    def msg(name: str) -> bytes:
        return f"hostile case: {name}\n".encode()

    # -------------------------------------------------------------- controls (they must be trusted)
    p = raw_commit(msg("ssh control"))
    w.case("control_ssh", w.signed(p, w.ssh_sign("alice", p)), "trusted", "real ssh-keygen signature", "alice")
    p = raw_commit(msg("openpgp control"))
    w.case("control_pgp_gpg", w.signed(p, w.gpg_sign(sub["sign"], p)), "trusted", "real gpg signature", "alice")
    p = raw_commit(msg("hand signer control"))
    w.case("control_pgp_hand", w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p))), "trusted",
           "the hand signer makes signatures Sequoia accepts", "alice")
    p = raw_commit(msg("issuer key id only"))
    w.case("pgp_issuer_keyid_only",
           w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p, hashed_extra=[], no_issuer=True,
                                           unhashed=[sp_issuer_id(sub["sign"])]))),
           "trusted", "only a 16-hex issuer key id, as GitHub's web-flow signs", "alice")
    p = raw_commit(msg("unknown non-critical subpacket"))
    w.case("pgp_unknown_noncritical_subpacket",
           w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p, hashed_extra=[subpacket(101, b"whatever")]))),
           "trusted", "unknown subpackets that are not critical are ignored (RFC 9580 5.2.3.7)", "alice")
    p = raw_commit(msg("edited quick check"))
    w.case("pgp_quick_check_edited", w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p, quick_check=b"\0\0"))),
           "trusted", "the 'left 16 bits' are an unsigned quick check: Sequoia ignores them (gpg refuses); "
           "the signed content is intact", "alice")
    p = raw_commit(msg("edited unhashed issuer"))
    w.case("pgp_unhashed_issuer_edited",
           w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p, unhashed=[sp_issuer_id(stranger)]))), "trusted",
           "the unhashed area is unsigned: a wrong issuer key id there is ignored, the hashed fingerprint decides",
           "alice")
    p = raw_commit(msg("ssh sha256"))
    w.case("ssh_hashalg_sha256", w.signed(p, w.ssh_sign("alice", p, "git", "hashalg=sha256")), "trusted",
           "SSHSIG with sha256 instead of ssh-keygen's default sha512", "alice")

    # -------------------------------------------------------------- a signature over other bytes
    p = raw_commit(msg("ssh over other bytes"))
    w.case("ssh_other_bytes", w.signed(p, w.ssh_sign("alice", p + b"x")), "bad-signature",
           "valid SSH signature by alice over different bytes")
    p = raw_commit(msg("openpgp over other bytes"))
    w.case("pgp_other_bytes", w.signed(p, w.gpg_sign(sub["sign"], p.replace(b"hostile", b"friendly"))),
           "bad-signature", "valid gpg signature by alice over different bytes")

    # -------------------------------------------------------------- two gpgsig headers
    # libgit2 (pygit2's gpg_signature) takes the FIRST gpgsig header as the
    # signature and leaves any later one in the signed payload; git itself
    # would concatenate both. Whichever order, a valid signature over the
    # commit without the other header never verifies.
    p = raw_commit(msg("two gpgsig, valid first"))
    good, other = w.ssh_sign("alice", p), w.ssh_sign("alice", b"something else")
    w.case("two_gpgsig_valid_first", w.signed(p, good, header(b"gpgsig", other)), "bad-signature",
           "the second gpgsig header stays in the signed payload")
    p = raw_commit(msg("two gpgsig, valid second"))
    good, other = w.ssh_sign("alice", p), w.ssh_sign("alice", b"something else")
    w.case("two_gpgsig_valid_second", w.signed(p, other, header(b"gpgsig", good)), "bad-signature",
           "the first gpgsig header is the signature, and it is over other bytes")
    p = raw_commit(msg("two gpgsig, pgp then ssh"))
    w.case("two_gpgsig_pgp_and_ssh", w.signed(p, w.gpg_sign(sub["sign"], p), header(b"gpgsig", w.ssh_sign("alice", p))),
           "bad-signature", "two valid signatures over the bare commit: each header spoils the other")
    p = raw_commit(msg("two gpgsig, second one signed"))
    decoy = header(b"gpgsig", "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----")
    w.case("two_gpgsig_second_is_signed_content",
           w.signed(p, w.ssh_sign("alice", with_headers(p, decoy)), decoy), "trusted",
           "alice signed the bytes including the second header: what libgit2 extracts is what she signed",
           "alice")
    p = raw_commit(msg("gpgsig-sha256 only"))
    w.case("gpgsig_sha256_only", w.write(with_headers(p, header(b"gpgsig-sha256", w.ssh_sign("alice", p)))),
           "unsigned", "a SHA-1 repository's commit signature is the gpgsig header; gpgsig-sha256 is not it")
    p = raw_commit(msg("gpgsig plus an injected gpgsig-sha256"))
    w.case("gpgsig_plus_injected_sha256",
           w.signed(p, w.ssh_sign("alice", p), header(b"gpgsig-sha256", "attacker text")),
           "bad-signature", "a header added after signing is part of the payload libgit2 hands over")

    # -------------------------------------------------------------- OpenPGP armor and packets
    good_packet = hand_sign(keys[sub["sign"]], raw_commit(msg("armor base")))
    p = raw_commit(msg("armor with a CRC error"))
    pk = hand_sign(keys[sub["sign"]], p)
    w.case("pgp_armor_crc_error", w.signed(p, pgp_armor(pk, crc=crc24(pk) ^ 0x5A5A5A)), "trusted",
           "RFC 9580 6.1: a wrong CRC24 on intact data MUST NOT cause rejection (the data is the signature)",
           "alice")
    p = raw_commit(msg("armor with corrupted data and its CRC"))
    bad = bytearray(hand_sign(keys[sub["sign"]], p))
    bad[-5] ^= 0x01  # inside the signature's s value
    w.case("pgp_armor_corrupted_data", w.signed(p, pgp_armor(bytes(bad), crc=crc24(bytes(bad)) ^ 1)),
           "bad-signature", "one bit of the signature flipped (and the CRC wrong too)")
    public_block = w.gpg.gpg("--armor", "--export", stranger).stdout.decode()
    p = raw_commit(msg("public key block as a signature"))
    w.case("pgp_public_key_in_signature_armor",
           w.signed(p, public_block.replace("PUBLIC KEY BLOCK", "SIGNATURE")), "malformed",
           "a certificate relabelled as a signature")
    literal = packet(11, b"b\x08file.txt" + COMMIT_TIME.to_bytes(4, "big") + b"hello\n")
    p = raw_commit(msg("literal data packet"))
    w.case("pgp_literal_packet", w.signed(p, pgp_armor(literal)), "malformed",
           "a literal data packet in a PGP SIGNATURE armor")
    p = raw_commit(msg("unknown packet tag"))
    w.case("pgp_unknown_packet_tag", w.signed(p, pgp_armor(packet(22, hand_sign(signing_key(keys, sub), p)[2:]))),
           "malformed", "a signature's body in a packet of tag 22 (unassigned; pysequoia raised on .tag)")
    p = raw_commit(msg("signature then literal"))
    w.case("pgp_signature_then_literal", w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p) + literal)),
           "malformed", "a valid signature followed by a literal data packet")
    p = raw_commit(msg("two signature packets"))
    w.case("pgp_two_signature_packets",
           w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p) + hand_sign(keys[stranger], p))), "malformed",
           "two signature packets in one armor")
    p = raw_commit(msg("two armor blocks"))
    w.case("pgp_two_armor_blocks",
           w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p)) + pgp_armor(hand_sign(keys[sub["sign"]], p))),
           "malformed", "two PGP SIGNATURE blocks")
    p = raw_commit(msg("truncated packet"))
    w.case("pgp_truncated_packet", w.signed(p, pgp_armor(hand_sign(keys[sub["sign"]], p)[:-20])), "malformed",
           "the packet's length says more than there is")
    p = raw_commit(msg("truncated header"))
    w.case("pgp_truncated_length", w.signed(p, pgp_armor(b"\xc2\xff\x00\x10")), "malformed",
           "a packet header cut inside its length")
    huge = packet(2, bytes([4, 0, 22, 8]) + b"\xff\xff" + b"\x00" * (1024 * 1024))
    p = raw_commit(msg("1 MB signature packet"))
    w.case("pgp_huge_packet", w.signed(p, pgp_armor(huge)), "malformed", "a 1 MB signature packet of zeros")
    under = packet(2, bytes([4, 0, 22, 8]) + b"\xff\xff" + b"\x00" * (180 * 1024))
    p = raw_commit(msg("180 KB signature packet"))
    w.case("pgp_big_packet_under_cap", w.signed(p, pgp_armor(under)), "malformed",
           "180 KB of zero MPIs after a full hashed area (once quadratic to repair)")
    p = raw_commit(msg("10 MB ssh signature"))
    w.case("ssh_huge_signature_field",
           w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), signature=ssh_string(b"ssh-ed25519") + ssh_string(b"\x07" * 10_000_000))),
           "bad-signature", "alice's key with a 10 MB signature blob")
    p = raw_commit(msg("base64 garbage"))
    w.case("pgp_base64_garbage",
           w.signed(p, "-----BEGIN PGP SIGNATURE-----\n\n*** not ~~ base64 ***\n=abcd\n-----END PGP SIGNATURE-----"),
           "malformed", "the armor's body is not base64")
    p = raw_commit(msg("random bytes"))
    w.case("pgp_random_bytes", w.signed(p, pgp_armor(hashlib.sha512(b"x").digest() * 4)), "malformed",
           "base64 of random bytes")
    del good_packet

    # -------------------------------------------------------------- OpenPGP: what the signature says
    signing = keys[sub["sign"]]
    p = raw_commit(msg("certification type 0x13 copied from the certificate"))
    cert_packets = pgp_packets(w.gpg.export_binary(alice))
    self_cert = next(body for tag, body in cert_packets if tag == 2 and body[1] == 0x13)
    w.case("pgp_certification_from_cert", w.signed(p, pgp_armor(packet(2, self_cert))), "bad-signature",
           "alice's own user-ID certification (type 0x13) offered as a commit signature")
    p = raw_commit(msg("type 0x13 over the payload"))
    w.case("pgp_type_0x13_over_payload",
           w.signed(p, pgp_armor(hand_sign(keys[alice], p, sigtype=0x13))), "bad-signature",
           "a positive certification (0x13) computed over the commit bytes is not a document signature")
    p = raw_commit(msg("type 0x02 standalone"))
    w.case("pgp_type_0x02_standalone", w.signed(p, pgp_armor(hand_sign(signing, p, sigtype=0x02))),
           "bad-signature", "a standalone signature (0x02) signs no document")
    p = raw_commit(msg("type 0x1f direct key"))
    w.case("pgp_type_0x1f_direct_key", w.signed(p, pgp_armor(hand_sign(signing, p, sigtype=0x1F))),
           "bad-signature", "a direct-key signature (0x1f) signs no document")
    p = raw_commit(msg("type 0x01 text signature by gpg"))
    w.case("pgp_type_0x01_text", w.signed(p, w.gpg_sign(sub["sign"], p, "--textmode")), "trusted",
           "a canonical-text signature (0x01) by gpg --textmode over a commit with LF endings verifies", "alice")
    p = raw_commit(msg("unknown critical subpacket"))
    w.case("pgp_unknown_critical_subpacket",
           w.signed(p, pgp_armor(hand_sign(signing, p, hashed_extra=[subpacket(101, b"x", critical=True)]))),
           "bad-signature", "RFC 9580 5.2.3.7: an unknown critical subpacket makes the signature invalid")
    p = raw_commit(msg("critical notation"))
    w.case("pgp_critical_notation", w.signed(p, w.gpg_sign(sub["sign"], p, "--sig-notation", "!x@example.org=1")),
           "bad-signature", "a critical notation that no one understands (gpg --sig-notation '!...')")
    p = raw_commit(msg("auth subkey"))
    w.case("pgp_auth_subkey", w.signed(p, pgp_armor(hand_sign(keys[sub["auth"]], p))), "bad-signature",
           "made by an authentication-only subkey")
    p = raw_commit(msg("rsa encryption subkey"))
    w.case("pgp_encryption_subkey", w.signed(p, pgp_armor(hand_sign(keys[sub["encr_rsa"]], p))), "bad-signature",
           "made by an encryption-only subkey (RSA, flags: encrypt)")
    p = raw_commit(msg("certify-only primary"))
    w.case("pgp_certify_only_primary", w.signed(p, pgp_armor(hand_sign(keys[alice], p))), "bad-signature",
           "made by alice's primary key, which may only certify")
    p = raw_commit(msg("future signature by gpg"))
    w.case("pgp_future_gpg", w.signed(p, w.gpg_sign(sub["sign"], p, at="2099-01-01T00:00:00Z")), "bad-signature",
           "created in 2099 (gpg --faked-system-time)")
    p = raw_commit(msg("future signature by hand"))
    w.case("pgp_future_hand", w.signed(p, pgp_armor(hand_sign(signing, p, created=FUTURE_TIME))), "bad-signature",
           "created in 2099 (by hand)")
    p = raw_commit(msg("before the key existed"))
    w.case("pgp_predates_key", w.signed(p, pgp_armor(hand_sign(signing, p, created=KEY_TIME - 86400 * 365))),
           "bad-signature", "dated a year before the signing subkey was created")
    p = raw_commit(msg("no creation time"))
    w.case("pgp_no_creation_time", w.signed(p, pgp_armor(hand_sign(signing, p, created=None))), "malformed",
           "a v4 signature without its mandatory creation time")
    p = raw_commit(msg("no issuer"))
    w.case("pgp_no_issuer", w.signed(p, pgp_armor(hand_sign(signing, p, no_issuer=True))), "unknown-key",
           "valid, but names no issuer: there is no key to look up")
    p = raw_commit(msg("issuer spoofed"))
    w.case("pgp_issuer_spoofed", w.signed(p, pgp_armor(hand_sign(keys[stranger], p, issuer=sub["sign"]))),
           "bad-signature", "made by the stranger, claiming alice's signing subkey as issuer")
    p = raw_commit(msg("signature expired"))
    w.case("pgp_signature_expired",
           w.signed(p, pgp_armor(hand_sign(signing, p, hashed_extra=[subpacket(3, (60).to_bytes(4, "big"))]))),
           "bad-signature", "the signature's own expiration time (60 s after 2024-06-01) has passed")
    p = raw_commit(msg("md5"))
    w.case("pgp_md5", w.signed(p, pgp_armor(hand_sign(signing, p, hash_algo=1))), "weak-signature",
           "MD5 is never accepted (before any verification: attributed to no one)", None)
    p = raw_commit(msg("forged sha1"))
    w.case("pgp_forged_sha1_unattributed",
           w.signed(p, pgp_armor(hand_sign(signing, p, hash_algo=2, garbage=True))), "weak-signature",
           "garbage signature values claiming alice and SHA-1: rejected, and never attributed to alice", None)
    p = raw_commit(msg("revoked subkey"))
    w.case("pgp_revoked_subkey", w.signed(p, w.gpg_sign(sub["to_revoke"], p)), "revoked-key",
           "signed in 2024 by a subkey revoked afterwards (hard revocation, no reason given)", "alice")
    revoke_subkey(gpg, alice, 5)

    # -------------------------------------------------------------- SSH signatures
    p = raw_commit(msg("ssh namespace file"))
    w.case("ssh_namespace_file", w.signed(p, w.ssh_sign("alice", p, "file")), "bad-signature",
           "valid over the commit, in the 'file' namespace")
    p = raw_commit(msg("ssh approval namespace"))
    w.case("ssh_namespace_approval", w.signed(p, w.ssh_sign("alice", p, "commitguard-approval")),
           "bad-signature", "an approval-namespace signature never stands in for a commit signature")
    p = raw_commit(msg("ssh hash sha1"))
    w.case("ssh_hash_sha1", w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), hash_algorithm=b"sha1")),
           "bad-signature", "the SSHSIG names the hash 'sha1', which PROTOCOL.sshsig does not allow")
    p = raw_commit(msg("ssh hash sha384"))
    w.case("ssh_hash_sha384_relabelled",
           w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p, "git", "hashalg=sha256"), hash_algorithm=b"sha384")),
           "bad-signature", "a sha256 signature relabelled 'sha384'")
    p = raw_commit(msg("ssh sha512 relabelled sha256"))
    w.case("ssh_hash_relabelled",
           w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), hash_algorithm=b"sha256")),
           "bad-signature", "a sha512 signature relabelled 'sha256'")
    p = raw_commit(msg("ssh blob of bob"))
    w.case("ssh_pubkey_of_bob", w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), publickey=ssh_pub_blob(ssh["bob"]))),
           "bad-signature", "alice's signature carrying bob's public key blob (bob is in the keyring)")
    p = raw_commit(msg("ssh blob of stranger"))
    w.case("ssh_pubkey_of_stranger",
           w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), publickey=ssh_pub_blob(ssh["stranger"]))),
           "unknown-key", "alice's signature carrying a stranger's public key blob")
    p = raw_commit(msg("ssh stranger with alice blob"))
    w.case("ssh_stranger_sig_alice_blob",
           w.signed(p, sshsig_rebuild(w.ssh_sign("stranger", p), publickey=ssh_pub_blob(ssh["alice"]))),
           "bad-signature", "the stranger's signature claiming alice's public key")
    p = raw_commit(msg("ssh trailing bytes"))
    w.case("ssh_trailing_bytes", w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), trailing=b"\0\0\0\0")),
           "malformed", "four bytes after the SSHSIG blob")
    p = raw_commit(msg("ssh version 2"))
    w.case("ssh_version_2", w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), version=b"\0\0\0\2")), "malformed",
           "SSHSIG version 2")
    p = raw_commit(msg("ssh truncated"))
    _, _, f = sshsig_fields(w.ssh_sign("alice", p))
    w.case("ssh_truncated",
           w.signed(p, sshsig_armor((b"SSHSIG\0\0\0\1" + b"".join(ssh_string(x) for x in f))[:-10])), "malformed",
           "the last field is cut")
    p = raw_commit(msg("ssh field length overflow"))
    w.case("ssh_length_overflow", w.signed(p, sshsig_armor(b"SSHSIG\0\0\0\1\xff\xff\xff\xff")), "malformed",
           "a field length of 4 GiB")
    p = raw_commit(msg("ssh signature algorithm mismatch"))
    sig = w.ssh_sign("alice", p)
    inner = sshsig_fields(sig)[2][4]
    n = struct.unpack(">I", inner[:4])[0]
    w.case("ssh_sig_algo_mismatch",
           w.signed(p, sshsig_rebuild(sig, signature=ssh_string(b"ssh-rsa") + inner[4 + n:])),
           "bad-signature", "an ed25519 key with a signature blob labelled ssh-rsa: a forgery, attributed to no one")
    p = raw_commit(msg("ssh-rsa label on an RSA key"))
    forged = ssh_string(b"ssh-rsa") + ssh_string(b"\x01" * 256)
    w.case("ssh_rsa_forged_sha1_label",
           w.signed(p, sshsig_rebuild(w.ssh_sign("alice", p), publickey=ssh_pub_blob(ssh["carol_rsa"]),
                                      signature=forged)),
           "weak-signature", "garbage labelled ssh-rsa (RSA/SHA-1) with carol's RSA key: refused as weak, "
           "attributed to no one since nothing was verified")
    p = raw_commit(msg("ssh armor of nothing"))
    w.case("ssh_empty_armor", w.signed(p, "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----"),
           "malformed", "an empty SSH armor")
    # Found by fuzz/run.sh signatures: OpenSSH wants the footer at the start of a line
    # and the header at the very start; a reader that only strips whitespace trusted both.
    p = raw_commit(msg("ssh footer glued to the base64"))
    w.case("ssh_footer_glued", w.signed(p, w.ssh_sign("alice", p).replace("\n-----END", "-----END")),
           "malformed", "valid base64 and signature, but the footer does not start a line: ssh-keygen refuses it")
    p = raw_commit(msg("ssh header after a space"))
    w.case("ssh_header_indented", w.signed(p, " " + w.ssh_sign("alice", p)), "malformed",
           "the armor header does not start the signature: ssh-keygen refuses it")

    # -------------------------------------------------------------- commit headers
    # libgit2 extracts the signature and the signed payload with C string
    # functions: a NUL before the gpgsig header hides the signature, and a NUL
    # in the message cuts the payload there, so bytes after it were unsigned.
    p = raw_commit(msg("NUL in the author"), author=b"Mal\x00lory <m@example.org>")
    w.case("header_nul_in_author", w.signed(p, w.ssh_sign("alice", p)), "malformed",
           "a NUL in a header before gpgsig: libgit2 sees no signature at all (git fsck: nulInHeader)")
    p = raw_commit(msg("signed, then a NUL and unsigned bytes appended"))
    w.case("message_nul_unsigned_tail", w.write(with_headers(p, header(b"gpgsig", w.ssh_sign("alice", p)))
                                                 + b"\x00 and these bytes alice never signed\n"),
           "malformed", "alice signed the commit up to the NUL; everything after it is the attacker's")
    p = raw_commit(msg("signed with a NUL inside"), ) + b"\x00tail\n"
    w.case("message_nul_signed", w.signed(p, w.ssh_sign("alice", p)), "malformed",
           "alice signed every byte, NUL included, but no git-compatible reader sees the same payload")
    p = raw_commit(msg("NUL in gpgsig"))
    w.case("header_nul_in_gpgsig",
           w.write(with_headers(p, b"gpgsig -----BEGIN SSH SIGNATURE-----\n \x00\n -----END SSH SIGNATURE-----\n")),
           "malformed", "a NUL byte inside the signature header")
    p = raw_commit(msg("non-UTF-8 author"), author=b"Ma\xefllory \xff\xfe <m@example.org>")
    w.case("header_non_utf8_author", w.signed(p, w.ssh_sign("alice", p)), "trusted",
           "a Latin-1/invalid UTF-8 author name, signed", "alice")
    p = raw_commit("Nachricht f\xfcr alle\n".encode("latin-1"), extra_headers=b"encoding ISO-8859-1\n")
    w.case("header_encoding_latin1", w.signed(p, w.gpg_sign(sub["sign"], p)), "trusted",
           "an encoding header and a Latin-1 message, signed", "alice")
    p = raw_commit(b"big\n\n" + (b"0123456789abcdef" * 64 + b"\n") * 10240)  # ~10 MB
    assert len(p) > 10_000_000
    w.case("message_10mb", w.signed(p, w.ssh_sign("alice", p)), "trusted", "a 10 MB message, signed", "alice")
    p = raw_commit(b"big and unsigned\n" + b"z" * 10_000_000)
    w.case("message_10mb_unsigned", w.write(p), "unsigned", "a 10 MB message, no signature")
    p = raw_commit(msg("gpgsig with CRLF"))
    sig = w.ssh_sign("alice", p).replace("\n", "\r\n")
    w.case("header_gpgsig_crlf", w.signed(p, sig), "trusted",
           "every armor line ends in CR LF: armor whitespace, not signed content (the payload excludes gpgsig)",
           "alice")
    p = raw_commit(msg("empty gpgsig"))
    w.case("header_empty_gpgsig", w.write(with_headers(p, b"gpgsig \n")), "malformed", "an empty gpgsig header")
    p = raw_commit(msg("x509"))
    w.case("header_x509", w.signed(p, "-----BEGIN SIGNED MESSAGE-----\nMIIBogYJKoZIhvcNAQcC\n-----END SIGNED MESSAGE-----"),
           "malformed", "a truncated x509/CMS signature (gitsign): cannot be parsed")
    hostile_x509.add_cases(w, raw_commit, msg)
    p = raw_commit(msg("lower-case armor"))
    w.case("header_lowercase_armor", w.signed(p, w.ssh_sign("alice", p).lower()), "malformed",
           "armor lines in lower case")

    # -- the keyring: alice (ssh + the OpenPGP certificate, exported after the revocation), bob (ssh)
    cert = gpg.export(alice, root / "certs" / "alice.asc")
    write_keyring(w.keyring, persons=[
        {"id": "alice", "name": "Alice Example", "emails": ["alice@example.org"],
         "keys": [{"ssh": ssh["alice"].pub_line}, {"openpgp": cert}]},
        {"id": "bob", "name": "Bob Example", "emails": ["bob@example.org"], "keys": [{"ssh": ssh["bob"].pub_line}]},
        {"id": "carol", "name": "Carol Example", "emails": ["carol@example.org"],
         "keys": [{"ssh": ssh["carol_rsa"].pub_line}]},
    ])
    return w


def signing_key(keys: dict[str, HandKey], sub: dict[str, str]) -> HandKey:
    return keys[sub["sign"]]


def revoke_subkey(gpg: Gpg, primary: str, index: int) -> None:
    """Revoke subkey number ``index`` (1-based, in gpg's order) without a reason: a hard revocation."""
    out = gpg.gpg("--command-fd", "0", "--status-fd", "1", "--edit-key", primary,
                  input=f"key {index}\nrevkey\ny\n0\n\ny\nsave\n").stdout.decode()
    listing = gpg.gpg("--with-colons", "--list-keys", primary).stdout.decode()
    subs = [l for l in listing.splitlines() if l.startswith("sub:")]
    assert subs[index - 1].startswith("sub:r:"), (out, listing)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Hostile:
    root = tmp_path_factory.mktemp("hostile")
    w = None
    try:
        w = _build(root)
        scratch = root / "scratch"
        scratch.mkdir()
        ids = [c.id for c in w.cases.values()]
        started = time.monotonic()
        res = run_verify(ids, repo=w.repo.path, keyring=w.keyring, scratch=scratch, trust_root=ids[0])
        w.seconds = time.monotonic() - started
        w.report = assert_report_shape(res)
        for c in w.cases.values():
            w.results[c.name] = res.commit(c.id)
        yield w
    finally:
        Gpg(root / "gnupg", root).kill_agent()


# =========================================================================== the corpus

CASE_NAMES = [
    "control_ssh", "control_pgp_gpg", "control_pgp_hand", "pgp_issuer_keyid_only",
    "pgp_unknown_noncritical_subpacket", "ssh_hashalg_sha256", "pgp_quick_check_edited", "pgp_unhashed_issuer_edited",
    "ssh_other_bytes", "pgp_other_bytes",
    "two_gpgsig_valid_first", "two_gpgsig_valid_second", "two_gpgsig_pgp_and_ssh",
    "two_gpgsig_second_is_signed_content", "gpgsig_sha256_only", "gpgsig_plus_injected_sha256",
    "pgp_armor_crc_error", "pgp_armor_corrupted_data", "pgp_public_key_in_signature_armor", "pgp_literal_packet",
    "pgp_unknown_packet_tag", "pgp_signature_then_literal", "pgp_two_signature_packets", "pgp_two_armor_blocks", "pgp_truncated_packet",
    "pgp_truncated_length", "pgp_huge_packet", "pgp_big_packet_under_cap", "ssh_huge_signature_field",
    "pgp_base64_garbage", "pgp_random_bytes",
    "pgp_certification_from_cert", "pgp_type_0x13_over_payload", "pgp_type_0x02_standalone",
    "pgp_type_0x1f_direct_key", "pgp_type_0x01_text", "pgp_unknown_critical_subpacket", "pgp_critical_notation",
    "pgp_auth_subkey", "pgp_encryption_subkey", "pgp_certify_only_primary", "pgp_future_gpg", "pgp_future_hand",
    "pgp_predates_key", "pgp_no_creation_time", "pgp_no_issuer", "pgp_issuer_spoofed", "pgp_signature_expired",
    "pgp_md5", "pgp_forged_sha1_unattributed", "pgp_revoked_subkey",
    "ssh_namespace_file", "ssh_namespace_approval", "ssh_hash_sha1", "ssh_hash_sha384_relabelled",
    "ssh_hash_relabelled", "ssh_pubkey_of_bob", "ssh_pubkey_of_stranger", "ssh_stranger_sig_alice_blob",
    "ssh_trailing_bytes", "ssh_version_2", "ssh_truncated", "ssh_length_overflow", "ssh_sig_algo_mismatch",
    "ssh_rsa_forged_sha1_label", "ssh_empty_armor", "ssh_footer_glued", "ssh_header_indented",
    "header_nul_in_author", "message_nul_unsigned_tail", "message_nul_signed", "header_nul_in_gpgsig", "header_non_utf8_author", "header_encoding_latin1",
    "message_10mb", "message_10mb_unsigned", "header_gpgsig_crlf", "header_empty_gpgsig", "header_x509",
    "header_lowercase_armor", *hostile_x509.NAMES,
]


def test_corpus_is_complete(hostile):
    assert sorted(CASE_NAMES) == sorted(hostile.cases)
    assert len(CASE_NAMES) >= 40


@pytest.mark.parametrize("name", CASE_NAMES)
def test_exact_status(hostile, name):
    case = hostile.cases[name]
    got = hostile.results[name]
    where = f"{name} ({case.why}): {json.dumps(got)[:600]}"
    assert got["status"] == case.status, where
    assert got["trusted"] is (case.status == "trusted"), where
    expected_signer = case.signer if case.signer != "unset" else None
    assert got["signer"] == expected_signer, where


def test_one_run_judges_every_case_and_fails(hostile):
    data = hostile.report
    assert data["ok"] is False
    assert data["summary"]["total"] == len(hostile.cases)


def test_the_corpus_costs_seconds_not_minutes(hostile):
    """Megabyte signatures and messages are judged in linear time (the 1 MB
    OpenPGP packet alone once took 8 s: a quadratic MPI repair)."""
    assert hostile.seconds < 20, f"verifying {len(hostile.cases)} hostile commits took {hostile.seconds:.1f} s"


def test_untrusted_reasons_are_one_line(hostile):
    for name, got in hostile.results.items():
        assert "\n" not in got["reason"] and got["reason"].strip(), (name, got["reason"])


# =========================================================================== thousands of parents


def test_five_thousand_parents_finish_in_bounded_time(hostile, tmp_path):
    """A merge with 5,000 ``parent`` lines pointing at existing commits (and
    the same parent 5,000 times), verified with the merge as trust root and
    with the whole history: both within a fixed budget, nothing trusted."""
    repo = Repo(tmp_path / "many", tmp_path)
    repo.git("mktree", input="")
    # 5,000 unsigned root commits at once, through fast-import
    stream = []
    for i in range(5000):
        stream.append(f"commit refs/heads/b{i}\nmark :{i + 1}\ncommitter X <x@example.org> {COMMIT_TIME} +0000\n"
                      f"data {len(str(i)) + 1}\n{i}\n\n")
    repo.git("fast-import", "--quiet", input="".join(stream))
    marks = repo.git("for-each-ref", "--format=%(objectname)", "refs/heads/").split()
    assert len(set(marks)) == 5000
    payload = raw_commit(b"octopus of 5000\n", parents=tuple(marks))
    sig = hostile.ssh_sign("alice", payload)
    merge = repo.write_raw(with_headers(payload, header(b"gpgsig", sig)), literally=True)
    same = repo.write_raw(raw_commit(b"one parent 5000 times\n", parents=(marks[0],) * 5000), literally=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    started = time.monotonic()
    res = run_verify([merge, same], repo=repo.path, keyring=hostile.keyring, scratch=scratch, trust_root=merge)
    rooted = time.monotonic() - started
    data = assert_report_shape(res)
    assert res.commit(merge)["status"] == "trusted", res.describe()  # alice did sign it
    assert res.commit(same)["status"] == "unsigned"
    assert rooted < 30, f"5,000 parents under a trust root took {rooted:.1f} s"

    started = time.monotonic()
    res = run_verify([merge, same], repo=repo.path, keyring=hostile.keyring, scratch=scratch)
    whole = time.monotonic() - started
    data = assert_report_shape(res)
    assert data["summary"]["total"] == 5002
    assert data["summary"]["by_status"] == {"trusted": 1, "unsigned": 5001}
    assert whole < 60, f"5,000 parents and their history took {whole:.1f} s"


# =========================================================================== approvals replayed

REPOSITORY = "example.org/nixpkgs"
NOTES_REF = "refs/notes/commitguard"
RULE = """
[[rule]]
paths = ["**"]
approvals = 1
approvers = ["bob"]
exclude_author = true
"""


@dataclass
class Review:
    repo: Repo
    keyring: Path
    scratch: Path
    ids: dict[str, str]

    def check(self, base: str, head: str, *, repository: str = REPOSITORY, pr: int | None = 7,
              repo: Repo | None = None) -> dict:
        args = ["check-pr", "--repo", (repo or self.repo).path, "--base", self.ids.get(base, base),
                "--head", self.ids.get(head, head), "--keyring", self.keyring, "--repository", repository,
                "--no-cache", "--format", "json"]
        if pr is not None:
            args += ["--pr", str(pr)]
        res = run_cli(args, scratch=self.scratch)
        data = res.json
        assert res.code == (0 if data["ok"] else 1), res.describe()
        return data


@pytest.fixture(scope="module")
def review(hostile, tmp_path_factory) -> Review:
    """alice's pull request #7 (base -> head) in REPOSITORY; bob approved exactly
    that with ``commitguard approve``. ``later`` is a further commit on the
    pull request, ``other_base`` another base the same head could be checked against."""
    root = tmp_path_factory.mktemp("review")
    repo = Repo(root / "repo", root)
    alice = SshSigner(hostile.ssh["alice"])
    ids = {}
    ids["base"] = repo.commit("base", signer=alice, tree=repo.tree_with("a.txt", "one\n"))
    ids["head"] = repo.commit("change a", parents=[ids["base"]], signer=alice, tree=repo.tree_with("a.txt", "two\n"))
    ids["later"] = repo.commit("change a again", parents=[ids["head"]], signer=alice,
                               tree=repo.tree_with("a.txt", "three\n"))
    ids["other_base"] = repo.commit("another base", parents=[ids["base"]], signer=alice,
                                    tree=repo.tree_with("b.txt", "b\n"))
    keyring = write_keyring(root / "keyring", persons=[
        {"id": "alice", "name": "Alice Example", "keys": [{"ssh": hostile.ssh["alice"].pub_line}]},
        {"id": "bob", "name": "Bob Example", "keys": [{"ssh": hostile.ssh["bob"].pub_line}]},
    ], extra=RULE)
    scratch = root / "scratch"
    scratch.mkdir()
    res = run_cli(["approve", "--repo", repo.path, "--base", ids["base"], "--head", ids["head"],
                   "--ssh-key", hostile.ssh["bob"].path, "--repository", REPOSITORY, "--pr", "7"], scratch=scratch)
    assert res.code == 0, res.describe()
    assert repo.git("notes", f"--ref={NOTES_REF}", "show", ids["head"]).startswith("{")
    return Review(repo, keyring, scratch, ids)


def _bob(data: dict) -> list[dict]:
    return [a for a in data["approvals"] if a["person"] == "bob" or a["status"] != "valid"]


def test_approval_counts_for_exactly_what_it_names(review):
    data = review.check("base", "head")
    assert data["ok"] is True, data
    assert [a["status"] for a in data["approvals"]] == ["valid"], data["approvals"]
    assert data["rules"][0]["approved_by"] == ["bob"]


def test_approval_replayed_in_another_repository(review):
    """Same commits, same pull request number, another repository name (a fork, a mirror)."""
    data = review.check("base", "head", repository="example.org/fork-of-nixpkgs")
    assert data["ok"] is False
    assert [a["status"] for a in data["approvals"]] == ["invalid"], data["approvals"]
    assert data["rules"][0]["approved_by"] == []


def test_approval_replayed_on_another_pull_request(review):
    data = review.check("base", "head", pr=8)
    assert data["ok"] is False
    assert [a["status"] for a in data["approvals"]] == ["invalid"], data["approvals"]


def test_approval_does_not_follow_a_new_head(review):
    """The pull request gained a commit after bob's review: his approval is stale."""
    data = review.check("base", "later")
    assert data["ok"] is False
    assert [a["status"] for a in data["approvals"]] == ["stale"], data["approvals"]
    assert data["rules"][0]["approved_by"] == []


def test_approval_against_another_base_is_stale(review):
    data = review.check("other_base", "head")
    assert data["ok"] is False
    assert [a["status"] for a in data["approvals"]] == ["stale"], data["approvals"]


def test_approval_note_copied_onto_the_new_head_does_not_count(review, tmp_path):
    """Someone who can write refs/notes/commitguard copies bob's approval onto the new head."""
    clone = Repo(tmp_path / "clone", tmp_path)
    clone.git("fetch", "-q", str(review.repo.path), f"+{NOTES_REF}:{NOTES_REF}",
              *[f"+{oid}:refs/heads/{name}" for name, oid in review.ids.items()])
    note = clone.git("notes", f"--ref={NOTES_REF}", "show", review.ids["head"])
    (tmp_path / "note").write_text(note + "\n")
    clone.git("notes", f"--ref={NOTES_REF}", "add", "-f", "-F", str(tmp_path / "note"), review.ids["later"])
    data = review.check("base", "later", repo=clone)
    assert data["ok"] is False
    assert {a["status"] for a in data["approvals"]} == {"stale"}, data["approvals"]
    assert data["rules"][0]["approved_by"] == []


def test_approval_signature_as_commit_signature_and_back(review, hostile, tmp_path):
    """bob's approval signature, lifted out of the envelope, as the gpgsig of a
    commit; and alice's commit signature of the head wrapped as an approval."""
    note = review.repo.git("notes", f"--ref={NOTES_REF}", "show", review.ids["head"])
    envelope = json.loads(note.splitlines()[0])
    approval_sig = base64.b64decode(envelope["signatures"][0]["sig"]).decode()
    payload = base64.b64decode(envelope["payload"])
    clone = Repo(tmp_path / "clone", tmp_path)
    clone.git("fetch", "-q", str(review.repo.path), *[f"+{oid}:refs/heads/{name}" for name, oid in review.ids.items()])
    clone.git("mktree", input="")
    forged = clone.write_raw(with_headers(raw_commit(payload), header(b"gpgsig", approval_sig)), literally=True)
    res = run_verify([forged], repo=clone.path, keyring=review.keyring, scratch=review.scratch, trust_root=forged)
    got = res.commit(forged)
    assert (got["status"], got["trusted"], got["signer"]) == ("bad-signature", False, None), got

    head_raw = clone.raw(review.ids["head"])
    commit_sig = clone.signature_of(review.ids["head"])
    wrapped = json.dumps({"payloadType": envelope["payloadType"], "payload": envelope["payload"],
                          "signatures": [{"keyid": "", "sig": base64.b64encode(commit_sig.encode()).decode()}]})
    assert b"gpgsig" in head_raw
    (tmp_path / "note").write_text(wrapped + "\n")
    clone.git("notes", f"--ref={NOTES_REF}", "add", "-f", "-F", str(tmp_path / "note"), review.ids["head"])
    data = review.check("base", "head", repo=clone)
    assert data["ok"] is False
    assert [a["status"] for a in data["approvals"]] == ["invalid"], data["approvals"]


def test_hostile_openpgp_approval_does_not_stop_check_pr(review, hostile, tmp_path):
    """An approval whose OpenPGP signature is a packet of an unassigned tag, in
    the notes of the head (anyone who can push the notes ref, or write a review
    body): ``OpenPGPScheme.verify`` raised RuntimeError from pysequoia, which the
    approval verifier does not catch, and check-pr stopped with an internal error."""
    note = review.repo.git("notes", f"--ref={NOTES_REF}", "show", review.ids["head"])
    envelope = json.loads(note.splitlines()[0])
    payload = base64.b64decode(envelope["payload"])
    bogus = pgp_armor(packet(22, hand_sign(signing_key(hostile.keys, hostile.sub), payload)[2:]))
    envelope["signatures"] = [{"keyid": "", "sig": base64.b64encode(bogus.encode()).decode()}]
    clone = Repo(tmp_path / "clone", tmp_path)
    clone.git("fetch", "-q", str(review.repo.path), f"+{NOTES_REF}:{NOTES_REF}",
              *[f"+{oid}:refs/heads/{name}" for name, oid in review.ids.items()])
    (tmp_path / "note").write_text(note + "\n" + json.dumps(envelope) + "\n")
    clone.git("notes", f"--ref={NOTES_REF}", "add", "-f", "-F", str(tmp_path / "note"), review.ids["head"])
    data = review.check("base", "head", repo=clone)
    assert sorted(a["status"] for a in data["approvals"]) == ["invalid", "valid"], data["approvals"]
    assert data["ok"] is True  # bob's real approval still counts


# =========================================================================== one read per commit

def _libgit2_view(repo: pygit2.Repository, oid: str):
    commit = repo[oid]
    signature, payload = commit.gpg_signature
    return signature, payload, commit.committer.time


def test_plain_reader_agrees_with_libgit2_on_every_case(hostile):
    """verify reads plain-shaped commits itself (one object read instead of
    three); on every hostile commit it must either step aside (None) or give
    exactly what libgit2 gives, and never read a commit libgit2 cannot parse."""
    repo = pygit2.Repository(str(hostile.repo.path))
    read_by_hand = 0
    for name, case in hostile.cases.items():
        plain = read_plain_commit(repo.odb, case.id)
        if plain is None:
            continue
        read_by_hand += 1
        signature, payload, seconds = plain
        lib_signature, lib_payload, lib_seconds = _libgit2_view(repo, case.id)
        assert signature == lib_signature, name
        if signature is not None:
            assert payload == lib_payload, name
        assert seconds == lib_seconds, name
    # the controls and most signature-level cases are plain commits
    assert read_by_hand >= len(hostile.cases) // 2


@pytest.mark.parametrize("name", [
    "two_gpgsig_valid_first", "two_gpgsig_valid_second", "two_gpgsig_pgp_and_ssh", "gpgsig_sha256_only",
    "gpgsig_plus_injected_sha256", "header_nul_in_author", "message_nul_unsigned_tail", "message_nul_signed",
    "header_nul_in_gpgsig",
])
def test_plain_reader_steps_aside_for_odd_headers(hostile, name):
    repo = pygit2.Repository(str(hostile.repo.path))
    assert read_plain_commit(repo.odb, hostile.cases[name].id) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_plain_reader_agrees_with_libgit2_on_mutations(hostile, data):
    """Bytes of a signed commit's header deleted, replaced or inserted: the
    mutant is written with libgit2 and read both ways."""
    repo = pygit2.Repository(str(hostile.repo.path))
    raw = repo.odb.read(hostile.cases["control_ssh"].id)[1]
    head_end = raw.index(b"\n\n") + 2
    pos = data.draw(st.integers(0, head_end), label="pos")
    cut = data.draw(st.integers(0, 8), label="cut")
    insert = data.draw(st.sampled_from([b"", b"\n", b" ", b"\0", b"\r", b"gpgsig ", b"\ngpgsig ", b"\n ", b"x", b"<", b"9"]),
                       label="insert")
    mutant = raw[:pos] + insert + raw[pos + cut:]
    oid = str(repo.odb.write(pygit2.enums.ObjectType.COMMIT, mutant))
    plain = read_plain_commit(repo.odb, oid)
    if plain is None:
        return
    signature, payload, seconds = plain
    lib_signature, lib_payload, lib_seconds = _libgit2_view(repo, oid)  # raises if libgit2 cannot parse it
    assert signature == lib_signature
    if signature is not None:
        assert payload == lib_payload
    assert seconds == lib_seconds
