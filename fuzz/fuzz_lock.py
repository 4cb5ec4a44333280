"""Fuzz target: the lock file reader (``pin.read_lock``).

Input: the bytes of a ``commitguard.lock``. Findings:

* any exception but ``CommitguardError``;
* an error that is not one line naming the lock file;
* a lock accepted although it breaks the format SPEC.md gives it: ``rev`` a
  40-hex commit id, ``packages`` a non-empty object of objects each with a
  non-empty string ``path``, ``branch``/``trust_root``/``chain_digest``/
  ``last_change`` strings or null where present (checked on the parsed
  JSON by ``tests/oracles.py``, independent of the reader);
* an accepted lock whose data differs from the JSON it was read from (the
  reader only checks: it must not rewrite what the lock says).
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from pathlib import Path

from common import fuzz, instrumented
from oracles import lock_is_well_formed

with instrumented():
    from commitguard.errors import CommitguardError
    from commitguard.chain.pin import read_lock

SANDBOX = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-lock-"))
atexit.register(shutil.rmtree, SANDBOX, True)
LOCK = SANDBOX / "commitguard.lock"


def TestOneInput(data: bytes) -> None:
    LOCK.write_bytes(data)
    try:
        lock = read_lock(str(LOCK))
    except CommitguardError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, f"multi-line error: {message!r}"
        assert str(LOCK) in message, f"error does not name the lock file: {message!r}"
        return
    # accepted: the JSON really is a well-formed lock, and read as it is
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AssertionError("a lock that is not UTF-8 JSON was accepted") from None
    assert lock_is_well_formed(doc), f"accepted a malformed lock: {data[:300]!r}"
    assert lock == doc, "the reader changed what the lock says"


def _seeds() -> list[bytes]:
    rev, other = "0123456789abcdef0123456789abcdef01234567", "89abcdef0123456789abcdef0123456789abcdef"
    docs = [
        {"rev": rev, "packages": {"hello": {"path": "pkgs/by-name/he/hello/package.nix", "last_change": other,
                                           "trusted": True}}},
        {"rev": rev, "branch": "main", "trust_root": other,
         "packages": {"hello": {"path": "pkgs/by-name/he/hello/package.nix", "chain_digest": "sha256:" + "0" * 64}}},
        {"rev": rev, "packages": {}},
        {"rev": rev.upper(), "packages": {"a": {"path": ""}}},
        {"rev": rev, "packages": {"a": {"path": "x", "last_change": 7}}},
    ]
    return [json.dumps(d, indent=2).encode() for d in docs] + [b"[]", b"{", b'{"rev": null}', b"\xff\xfe{}"]


if __name__ == "__main__":
    fuzz(TestOneInput, _seeds())
    sys.exit(0)
