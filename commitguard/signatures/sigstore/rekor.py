"""Rekor transparency-log entries for gitsign signatures: where they are found, what they prove.

gitsign logs a ``hashedrekord`` entry whose artifact is the signature's
signed attributes: its data hash is SHA-256 of their DER, its signature the
CMS signature, its key the Fulcio certificate. Rekor signs the entry with
the time it was integrated (the signed entry timestamp, SET); that time is
what proves the short-lived certificate was valid when the commit was signed.

An entry is looked for, in this order:

1. embedded in the signature (gitsign's offline mode stores the
   ``TransparencyLogEntry`` protobuf as unsigned attribute 1.3.6.1.4.1.57264.3.1);
2. in the offline mirror: ``DIR/rekor/<hex SHA-256 of the signed attributes>.json``,
   holding what Rekor's ``GET /api/v1/log/entries/{uuid}`` returns (an object
   from entry uuid to entry; several entries may be listed); the name is the
   hash Rekor's index is searched by (``rekor-cli search --sha sha256:HEX``);
3. only when online lookups are allowed, from the Rekor logs of the trusted
   root (``POST /api/v1/index/retrieve``, then the entries).

What an entry proves is checked in :func:`entry_problem`: it is for this very
signature (data hash, signature, certificate) and its SET verifies under a
Rekor key of the trusted root, valid at the integrated time; an inclusion
proof, when the entry carries one, must lead to a root the log signed
(:mod:`.inclusion`). Without one, the SET is the log's signed promise of inclusion.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from commitguard.signatures.sigstore.inclusion import MAX_PROOF_HASHES, InclusionProof, proof_problem
from commitguard.signatures.sigstore.transparency import (Transparency, transparency_for,  # noqa: F401 (as before)
                                                          transparency_from_environment)

if TYPE_CHECKING:
    from cryptography import x509

    from commitguard.signatures.sigstore.trust import TrustRoot

# Few commands meet a gitsign
# signature: ``cryptography.x509`` (with the CMS reader and the trusted root) and
# ``urllib.request`` are imported by the functions that read a certificate or ask
# Rekor, not here (~35 ms of start-up).

MAX_ENTRY_BYTES = 256 * 1024  # one entry file or answer; a real entry is ~3 KiB
MAX_ENTRIES = 8  # entries considered per signature (a mirror file, or uuids asked online)
ONLINE_TIMEOUT = 10.0  # seconds per request


class EntryError(ValueError):
    """An entry that cannot be read."""


class EntryUnsupported(EntryError):
    """A well-formed entry that proves no time this checker can use (Rekor v2 entries carry no
    signed entry timestamp; their time comes from a timestamp authority, not supported here)."""


@dataclass(frozen=True)
class LogEntry:
    body: bytes  # the canonicalized entry body (JSON)
    integrated_time: int  # seconds since the epoch, as Rekor signed it
    log_id: bytes  # SHA-256 of the log's public key
    log_index: int
    signed_entry_timestamp: bytes
    source: str  # "embedded", "mirror FILE", "Rekor URL": for reasons
    proof: InclusionProof | None = None  # checked when present (:mod:`.inclusion`)

    @property
    def integrated_at(self) -> datetime:
        return datetime.fromtimestamp(self.integrated_time, timezone.utc)


# -- the embedded protobuf ---------------------------------------------------------------


def _fields(data: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) of one protobuf message: varints and length-delimited only.

    Not recursive: :func:`from_protobuf` opens the nested messages it needs
    (log id, inclusion promise) by name, two levels at most."""
    out: list[tuple[int, int, object]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise EntryError("protobuf field runs past the message")
            value, pos = data[pos : pos + size], pos + size
        else:
            raise EntryError(f"unexpected protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise EntryError("truncated protobuf varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise EntryError("protobuf varint too long")


def _one(fields, number: int, wire: int, what: str):
    values = [v for n, w, v in fields if n == number]
    if len(values) != 1 or any(w != wire for n, w, _ in fields if n == number):
        raise EntryError(f"the entry must hold exactly one {what}")
    return values[0]


def from_protobuf(data: bytes) -> LogEntry:
    """gitsign's embedded ``dev.sigstore.rekor.v1.TransparencyLogEntry``."""
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"embedded entry larger than {MAX_ENTRY_BYTES} bytes")
    top = _fields(data)
    log_id = _one(_fields(_one(top, 2, 2, "log id")), 1, 2, "log key id")
    promise = [v for n, w, v in top if n == 5 and w == 2]
    if not promise or not any(n == 4 for n, _, _ in top):
        raise EntryUnsupported("the embedded entry has no signed entry timestamp and integrated time (a Rekor v2 "
                               "entry?); a timestamp authority's time is not supported")
    if len(promise) != 1:
        raise EntryError("the entry holds two inclusion promises")
    return LogEntry(
        body=_one(top, 7, 2, "canonicalized body"),
        integrated_time=_one(top, 4, 0, "integrated time"),
        log_id=log_id,
        log_index=_one(top, 1, 0, "log index"),
        signed_entry_timestamp=_one(_fields(promise[0]), 1, 2, "signed entry timestamp"),
        source="embedded in the signature",
        proof=_proto_proof(top),
    )


def _proto_proof(top) -> InclusionProof | None:
    """Field 6, ``InclusionProof``: index, root hash, tree size, hashes, checkpoint (its field 1)."""
    found = [v for n, w, v in top if n == 6 and w == 2]
    if not found:
        return None
    if len(found) != 1:
        raise EntryError("the entry holds two inclusion proofs")
    fields = _fields(found[0])
    hashes = tuple(v for n, w, v in fields if n == 4 and w == 2)
    if len(hashes) > MAX_PROOF_HASHES:
        raise EntryError(f"inclusion proof of more than {MAX_PROOF_HASHES} hashes")
    checkpoint = _one(_fields(_one(fields, 5, 2, "checkpoint")), 1, 2, "checkpoint envelope")
    try:
        envelope = checkpoint.decode("utf-8")
    except UnicodeDecodeError:
        raise EntryError("the checkpoint is not UTF-8") from None
    return InclusionProof(_one(fields, 1, 0, "proof log index"), _one(fields, 3, 0, "tree size"),
                          _one(fields, 2, 2, "root hash"), hashes, envelope)


# -- Rekor's JSON (mirror files and online answers) ---------------------------------------


def from_api_json(data: bytes, source: str) -> list[LogEntry]:
    """Every entry of a Rekor ``{uuid: entry}`` answer (or a list of such objects);
    the callers read at most MAX_ENTRY_BYTES (:func:`_capped`)."""
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise EntryError(f"not JSON ({exc})") from None
    objects = parsed if isinstance(parsed, list) else [parsed]
    entries = []
    for obj in objects:
        if not isinstance(obj, dict):
            raise EntryError("not a Rekor log entry object")
        for raw in obj.values():
            if len(entries) >= MAX_ENTRIES:
                raise EntryError(f"more than {MAX_ENTRIES} entries")
            entries.append(_api_entry(raw, source))
    return entries


def _api_entry(raw, source: str) -> LogEntry:
    try:
        verification = raw["verification"]
        values = (raw["body"], raw["integratedTime"], raw["logID"], raw["logIndex"],
                  verification["signedEntryTimestamp"])
    except (TypeError, KeyError):
        raise EntryError("a Rekor entry lacks body, integratedTime, logID, logIndex or signedEntryTimestamp") from None
    body, when, log_id, index, stamp = values
    if not all(isinstance(v, str) for v in (body, log_id, stamp)) or not all(map(_count, (when, index))):
        raise EntryError("a Rekor entry field has the wrong type")
    try:
        return LogEntry(base64.b64decode(body, validate=True), when, bytes.fromhex(log_id), index,
                        base64.b64decode(stamp, validate=True), source, _api_proof(verification.get("inclusionProof")))
    except (binascii.Error, ValueError, AttributeError):
        raise EntryError("a Rekor entry field is not valid base64 or hex") from None


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _api_proof(raw) -> InclusionProof | None:
    """``verification.inclusionProof`` of Rekor's API: hex hashes, the checkpoint as text."""
    if raw is None:
        return None
    try:
        index, size, root, path, checkpoint = (raw["logIndex"], raw["treeSize"], raw["rootHash"], raw["hashes"],
                                               raw["checkpoint"])
    except (TypeError, KeyError):
        raise EntryError("an inclusion proof lacks logIndex, treeSize, rootHash, hashes or checkpoint") from None
    if not (_count(index) and _count(size) and isinstance(root, str) and isinstance(checkpoint, str)
            and isinstance(path, list) and len(path) <= MAX_PROOF_HASHES and all(isinstance(h, str) for h in path)):
        raise EntryError("an inclusion proof field has the wrong type")
    return InclusionProof(index, size, bytes.fromhex(root), tuple(bytes.fromhex(h) for h in path), checkpoint)


def artifact_hash(signed_attributes: bytes) -> str:
    """The hashedrekord data hash: what the mirror file is named by and Rekor is searched for."""
    return hashlib.sha256(signed_attributes).hexdigest()


def from_mirror(mirror: Path, digest: str) -> list[LogEntry]:
    """The mirror's entries for this artifact hash ([] when it has none)."""
    path = mirror / "rekor" / f"{digest}.json"
    try:
        with open(path, "rb") as handle:
            data = _capped(handle.read(MAX_ENTRY_BYTES + 1), str(path))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise EntryError(f"{path} cannot be read ({exc.strerror})") from None
    return from_api_json(data, f"mirror {path}")


def _capped(data: bytes, what: str) -> bytes:
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"{what} is larger than {MAX_ENTRY_BYTES} bytes")
    return data


def from_rekor(root: TrustRoot, digest: str) -> tuple[list[LogEntry], list[str]]:
    """Entries from the root's Rekor logs over the network, and the problems met on the way."""
    entries: list[LogEntry] = []
    problems: list[str] = []
    for url in dict.fromkeys(log.base_url for log in root.logs):
        try:
            uuids = json.loads(_http(f"{url}/api/v1/index/retrieve", {"hash": f"sha256:{digest}"}))
            if not isinstance(uuids, list) or not all(isinstance(u, str) and re.fullmatch(r"[0-9a-f]{1,160}", u)
                                                      for u in uuids):
                raise EntryError("the index answer is not a list of entry ids")
            for uuid in uuids[:MAX_ENTRIES]:
                entries.extend(from_api_json(_http(f"{url}/api/v1/log/entries/{uuid}"), f"Rekor {url}"))
        except (EntryError, OSError, ValueError) as exc:
            problems.append(f"{url}: {exc}")
        if entries:
            break
    return entries, problems


def _http(url: str, body: dict | None = None) -> bytes:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=ONLINE_TIMEOUT) as answer:  # noqa: S310 (the root's log URL)
            return _capped(answer.read(MAX_ENTRY_BYTES + 1), "the answer")
    except urllib.error.HTTPError as exc:
        raise EntryError(f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise EntryError(f"unreachable ({exc.reason})") from None


# -- what an entry proves ------------------------------------------------------------------


def entry_problem(entry: LogEntry, root: TrustRoot, signed_attributes: bytes, signature: bytes,
                  certificate: x509.Certificate) -> str | None:
    """None when ``entry`` is Rekor's signed record of exactly this signature, else why not."""
    problem = _body_problem(entry.body, signed_attributes, signature, certificate)
    if problem is not None:
        return f"the transparency-log entry ({entry.source}) is not for this signature: {problem}"
    log = root.log_key(entry.log_id)
    if log is None:
        return f"the transparency-log entry ({entry.source}) is from a log the {root.name} does not list"
    if not log.covers(entry.integrated_at):
        return f"the transparency-log entry ({entry.source}) is dated outside its log key's validity"
    canonical = rfc8785.dumps({
        "body": base64.b64encode(entry.body).decode(),
        "integratedTime": entry.integrated_time,
        "logID": entry.log_id.hex(),
        "logIndex": entry.log_index,
    })
    try:
        if isinstance(log.key, ec.EllipticCurvePublicKey):
            log.key.verify(entry.signed_entry_timestamp, canonical, ec.ECDSA(hashes.SHA256()))
        elif isinstance(log.key, ed25519.Ed25519PublicKey):
            log.key.verify(entry.signed_entry_timestamp, canonical)
        else:
            return f"the log key of {log.base_url} is of an unsupported type"
    except InvalidSignature:
        return f"the transparency-log entry's signed timestamp ({entry.source}) does not verify under the key of {log.base_url}"
    if entry.proof is not None:
        problem = proof_problem(entry.proof, entry.body, log.key, log.log_id)
        if problem is not None:
            return f"the transparency-log entry ({entry.source}) is not proven in the log: {problem}"
    return None


def _body_problem(body: bytes, signed_attributes: bytes, signature: bytes, certificate: x509.Certificate) -> str | None:
    from cryptography import x509

    from commitguard.signatures.sigstore.cms import load_pem_certificate

    try:
        record = json.loads(body)
        spec = record["spec"]
        kind = (record["kind"], record["apiVersion"])
        data_hash = spec["data"]["hash"]
        logged_signature = base64.b64decode(spec["signature"]["content"], validate=True)
        logged_cert = base64.b64decode(spec["signature"]["publicKey"]["content"], validate=True)
    except (ValueError, TypeError, KeyError, RecursionError):
        return "its body is not a hashedrekord record"
    if kind != ("hashedrekord", "0.0.1"):
        return f"its body is a {kind[0]!s} {kind[1]!s} record, not hashedrekord 0.0.1"
    if data_hash != {"algorithm": "sha256", "value": artifact_hash(signed_attributes)}:
        return "it logs another artifact hash"
    if logged_signature != signature:
        return "it logs another signature"
    try:
        logged = load_pem_certificate(logged_cert).public_bytes(serialization.Encoding.DER)
    except (ValueError, x509.InvalidVersion):
        return "its certificate cannot be read"
    if logged != certificate.public_bytes(serialization.Encoding.DER):
        return "it logs another certificate"
    return None
