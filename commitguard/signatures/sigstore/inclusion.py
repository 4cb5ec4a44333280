"""Rekor inclusion proofs: the entry is in the log's Merkle tree, whose root the log signed.

When an entry comes with an inclusion proof (gitsign embeds one; Rekor's API
returns one), it is checked too, on top of the signed entry timestamp: the
audit path from the entry's leaf (RFC 6962/9162: SHA-256 of 0x00 and the
body) must lead to the root hash, and the checkpoint, a signed note by the
log's key, must name that same tree size and root. An entry without a proof
rests on its signed entry timestamp alone (see SECURITY.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

MAX_PROOF_HASHES = 64  # a tree of 2**64 leaves needs no more
MAX_CHECKPOINT_CHARS = 8192


@dataclass(frozen=True)
class InclusionProof:
    log_index: int  # the leaf's index in this tree (a shard's own, for sharded logs)
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed note


def leaf_hash(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(leaf: bytes, index: int, size: int, path: tuple[bytes, ...]) -> bytes | None:
    """The root the audit path leads to (RFC 9162 2.1.3.2), or None when the path cannot fit the tree."""
    if not 0 <= index < size or len(path) > MAX_PROOF_HASHES:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32 or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def proof_problem(proof: InclusionProof, body: bytes, log_key, log_id: bytes) -> str | None:
    """None when the entry's body is in the tree the log signed, else why not."""
    if root_from_path(leaf_hash(body), proof.log_index, proof.tree_size, proof.hashes) != proof.root_hash:
        return "its inclusion proof does not lead to the root hash"
    note = _checkpoint(proof.checkpoint)
    if note is None:
        return "its checkpoint is not a signed note"
    text, lines, signatures = note
    if len(lines) < 3 or lines[1] != str(proof.tree_size) or lines[2] != base64.b64encode(proof.root_hash).decode():
        return "its checkpoint names another tree size or root hash than the proof"
    for hint_and_signature in signatures:
        if hint_and_signature[:4] != log_id[:4]:
            continue  # another witness's signature
        try:
            if isinstance(log_key, ec.EllipticCurvePublicKey):
                log_key.verify(hint_and_signature[4:], text, ec.ECDSA(hashes.SHA256()))
            elif isinstance(log_key, ed25519.Ed25519PublicKey):
                log_key.verify(hint_and_signature[4:], text)
            else:
                return "its log key is of an unsupported type"
        except InvalidSignature:
            return "its checkpoint's signature does not verify under the log's key"
        return None
    return "its checkpoint carries no signature by the log's key"


def _checkpoint(envelope: str) -> tuple[bytes, list[str], list[bytes]] | None:
    """(signed text, its lines, each signature line's decoded key hint and signature) of a signed note."""
    if len(envelope) > MAX_CHECKPOINT_CHARS or "\n\n" not in envelope:
        return None
    text, _, signature_block = envelope.partition("\n\n")
    text += "\n"
    signatures = []
    for line in signature_block.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 "):  # an em dash and a space open every signature line
            return None
        parts = line.split(" ")
        if len(parts) != 3:
            return None
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) <= 4:
            return None
        signatures.append(raw)
    if not signatures:
        return None
    return text.encode("utf-8"), text.split("\n"), signatures
