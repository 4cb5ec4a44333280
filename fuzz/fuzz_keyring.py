"""Fuzz target: keyring.toml loading (``commitguard.keyring.loader.parse_keyring``).

Input: the bytes of a keyring.toml. Key files it names are served from memory
(a real certificate, garbage, an empty file); everything else is "not found".
Finding: any exception other than ``CommitguardError`` (a keyring is user
input: it must fail with one line naming the file and field, exit 2).
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import build_world, fuzz, instrumented, tolerate_known

with instrumented():
    from commitguard.errors import CommitguardError
    from commitguard.keyring.loader import parse_keyring

WORLD = build_world()
FILES = {"keys/alice.asc": WORLD.cert, "keys/garbage.asc": b"\x99\x00\x05garbage", "keys/empty.asc": b"",
         "keys/armored-garbage.asc": b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"}
DIRECTORY = Path("/nonexistent/keyring")


def TestOneInput(data: bytes) -> None:
    try:
        keyring = parse_keyring(data, DIRECTORY, DIRECTORY / "keyring.toml", read_file=FILES.get)
    except CommitguardError as exc:
        assert "\n" not in str(exc).strip(), f"error is not one line: {exc!r}"
        return
    except Exception as exc:
        if tolerate_known(exc):
            return
        raise
    assert keyring.digest and keyring.policy is not None


_real = (WORLD.keyring_dir / "keyring.toml").read_bytes().replace(b"keys/alice.asc", b"keys/alice.asc")
SEEDS = [
    _real,
    b"version = 1\n",
    b'version = 1\n[policy]\ntrust_root = "' + b"a" * 40 + b'"\nforge = "accept"\nopenpgp_sha1 = "reject"\n'
    b'openpgp_expiry = "ignore"\n',
    b'version = 1\n[[person]]\nid = "bob"\nroles = ["committer"]\n[[person.key]]\nfingerprint = "' + b"A" * 40 + b'"\n'
    b'[[person.key]]\nssh = "' + WORLD.ssh_pub_line.encode() + b'"\nvalid_after = 2024-01-01T00:00:00Z\n'
    b'valid_before = 2025-01-01\nnamespaces = ["git"]\nrevoked = true\n',
    b'version = 1\n[[forge]]\nid = "github"\nopenpgp = "keys/garbage.asc"\n[[rule]]\npaths = ["pkgs/**"]\n'
    b'approvals = 2\napprovers = ["role:committer", "maintainers"]\n[[upstream]]\nmatch = "github:a/b"\n'
    b'openpgp = "keys/alice.asc"\nfingerprint = "' + b"B" * 40 + b'"\n',
]

if __name__ == "__main__":
    fuzz(TestOneInput, SEEDS)
    sys.exit(0)
