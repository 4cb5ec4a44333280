"""Fuzz target: turning GitHub API answers into keyring entries.

``GitHubImporter`` (``commitguard.keyring.importers.github``) reads
``/users/LOGIN``, ``/users/LOGIN/gpg_keys`` and ``/users/LOGIN/ssh_signing_keys``
(paged through ``Link`` headers) and turns them into persons and keys:
``_person``, ``_gpg_key``, ``_ssh_key``, ``_get_all``. Here PyGithub's HTTP round
trip (``Requester.requestJsonAndCheck``) is replaced by the fuzzer's answers, a JSON document::

    {"user": {...}, "gpg_keys": [[page], ...], "ssh_signing_keys": [[page], ...], "link": "..."}

Findings: any exception other than ``CommitguardError`` out of ``load()``
(an answer from a compromised or impersonated API must never crash an
import), and an imported key that the keyring loader then refuses.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from common import build_world, fuzz, instrumented, tolerate_known

with instrumented():
    from commitguard.errors import CommitguardError
    from commitguard.keyring.importers.github import GitHubImporter
    from commitguard.keyring.importers.registry import ImportRequest

import github  # noqa: E402 - after instrumentation; PyGithub itself is not instrumented

WORLD = build_world()
REQUEST = ImportRequest(args=("alice",), github_api="https://api.github.invalid",
                        now=datetime(2025, 1, 1, tzinfo=timezone.utc))


class Answers:
    """The fuzzer's answers, served in place of PyGithub's HTTP round trip."""

    current: object = None
    pages: dict[str, int] = {}


def fake_request_json_and_check(self, verb, url, *args, **kwargs):  # noqa: ARG001 - PyGithub's signature
    answers = Answers.current
    if not isinstance(answers, dict):
        raise ValueError("Expecting value: line 1 column 1 (char 0)")  # what a non-JSON body raises
    for name in ("gpg_keys", "ssh_signing_keys"):
        if f"/{name}" in url:
            pages = answers.get(name, [])
            page = Answers.pages.get(name, 0)
            Answers.pages[name] = page + 1
            data = pages[page] if isinstance(pages, list) and page < len(pages) else pages
            more = isinstance(pages, list) and page + 1 < len(pages)
            link = answers.get("link") if more else None
            return ({"link": link} if isinstance(link, str) else {}), data
    return {}, answers.get("user")


github.Requester.Requester.requestJsonAndCheck = fake_request_json_and_check


def TestOneInput(data: bytes) -> None:
    try:
        Answers.current = json.loads(data)
    except (ValueError, RecursionError):
        Answers.current = None
    Answers.pages = {}
    try:
        result = GitHubImporter(REQUEST).load()
    except CommitguardError as exc:
        assert "\n" not in str(exc).strip(), f"error is not one line: {exc!r}"
        return
    except Exception as exc:
        if tolerate_known(exc):
            return
        raise
    for person in result.persons:
        assert person.id == person.id.lower()
        for key in person.keys:
            assert (key.ssh is None) != (key.openpgp is None), key


_cert = WORLD.cert.decode()
SEEDS = [json.dumps(d).encode() for d in [
    {"user": {"login": "Alice", "id": 1, "name": "Alice", "email": "alice@example.org"},
     "gpg_keys": [[{"key_id": "0123456789ABCDEF", "raw_key": _cert, "can_sign": True, "revoked": False,
                    "emails": [{"email": "alice@example.org", "verified": True}], "subkeys": [{"can_sign": True}]}]],
     "ssh_signing_keys": [[{"id": 7, "title": "laptop", "key": WORLD.ssh_pub_line}], [{"id": 8, "key": "ssh-rsa AAAA"}]],
     "link": '<https://api.github.invalid/users/alice/ssh_signing_keys?page=2>; rel="next"'},
    {"user": {"login": "bob", "id": 2}, "gpg_keys": [[{"key_id": "X", "raw_key": "", "can_sign": False}]],
     "ssh_signing_keys": [[]]},
    {"user": [], "gpg_keys": {}, "ssh_signing_keys": "x"},
]]

if __name__ == "__main__":
    fuzz(TestOneInput, SEEDS)
    sys.exit(0)
