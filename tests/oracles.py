"""Reference implementations the property tests and fuzz targets judge commitguard against.

Each is written from the public format (DSSE v1, in-toto Statement v1,
SPEC.md's approval predicate and lock file, git-style globs), never by
calling the code under test, so a property cannot pass because the code
agrees with itself.
"""

from __future__ import annotations

import base64
import json
import re
from fnmatch import fnmatchcase

# --------------------------------------------------------------------------- approvals (DSSE + in-toto)

DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
APPROVAL_PREDICATE = "https://commitguard.dev/approval/v1"


def dsse_pae(payload: bytes, payload_type: str = DSSE_PAYLOAD_TYPE) -> bytes:
    """DSSE v1 pre-authentication encoding (the bytes a DSSE signature covers):
    ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, lengths in ASCII decimal."""
    kind = payload_type.encode("utf-8")
    return b" ".join([b"DSSEv1", str(len(kind)).encode(), kind, str(len(payload)).encode(), payload])


def approval_statement(*, repository: str, base: str, head: str, head_tree: str, pull_request: int | None = None,
                       timestamp: str | None = None) -> bytes:
    """An in-toto Statement v1 approving ``head``, serialised as canonical JSON."""
    predicate = {"repository": repository, "base": base, "head": head, "headTree": head_tree, "verdict": "approve"}
    if pull_request is not None:
        predicate["pullRequest"] = pull_request
    if timestamp is not None:
        predicate["timestamp"] = timestamp
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": repository, "digest": {"gitCommit": head}}],
        "predicateType": APPROVAL_PREDICATE,
        "predicate": predicate,
    }
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def dsse_envelope(payload: bytes, signature: bytes, keyid: str = "") -> str:
    return json.dumps({
        "payloadType": DSSE_PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(signature).decode()}],
    })


# --------------------------------------------------------------------------- review rules


def glob_match(pattern: str, path: str) -> bool:
    """Git-style globs, matched segment by segment (not with a regex, so that
    it checks ``rules.glob_regex`` rather than repeating it): ``**`` as a
    whole segment is any number of whole segments (at the end: at least
    one), ``*``/``?`` stay inside one segment; a leading ``/`` changes
    nothing, a trailing ``/`` means everything below. Patterns with ``**``
    inside a segment are not covered (the generators here make none)."""
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    ps, ss = pattern.split("/"), path.split("/")

    def rec(i: int, j: int) -> bool:
        if i == len(ps):
            return j == len(ss)
        if ps[i] == "**":
            if i == len(ps) - 1:
                return j < len(ss)
            return any(rec(i + 1, k) for k in range(j, len(ss) + 1))
        if "**" in ps[i]:
            raise ValueError(f"pattern {pattern!r}: '**' inside a segment is not covered by this oracle")
        return j < len(ss) and fnmatchcase(ss[j], ps[i]) and rec(i + 1, j + 1)

    return rec(0, 0)


# --------------------------------------------------------------------------- the lock file

_HEX40 = re.compile(r"[0-9a-f]{40}")


def lock_is_well_formed(doc) -> bool:
    """SPEC.md's ``commitguard.lock``: ``rev`` a 40-hex commit id, ``packages``
    a non-empty object of objects with a non-empty string ``path``; the
    optional ``branch``, ``trust_root``, ``chain_digest``, ``last_change``
    strings (or null)."""
    if not isinstance(doc, dict):
        return False
    if not (isinstance(doc.get("rev"), str) and _HEX40.fullmatch(doc["rev"])):
        return False
    if any(doc.get(k) is not None and not isinstance(doc[k], str) for k in ("branch", "trust_root")):
        return False
    packages = doc.get("packages")
    if not isinstance(packages, dict) or not packages:
        return False
    for entry in packages.values():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            return False
        if any(entry.get(k) is not None and not isinstance(entry[k], str) for k in ("chain_digest", "last_change")):
            return False
    return True
