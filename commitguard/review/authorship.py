"""Who wrote a change: every identity its commits carry, mapped to keyring persons.

A review rule with ``exclude_author`` must not count an approval by someone
who wrote the change. The commit signer alone is not enough: a commit made in
the forge's web interface is signed by the forge's key, and a commit can be
signed by one person while authored by another. So every identity a commit
carries counts: the signer (when it is a person), the author and committer
(by e-mail address, and a GitHub ``users.noreply`` address by the login and
account id it encodes), ``Co-authored-by:`` trailers, and, when the forge is
asked, the forge logins it attributes the commits and the pull request to.

All of this is text the pull request's author controls. Claiming someone
else's identity can only exclude that person from approving, which makes the
check stricter, never looser; leaving an identity out is what must not
happen, so the mapping errs towards including.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pygit2

from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict

# ``12345+login@users.noreply.github.com`` (since 2017) and ``login@users.noreply.github.com``.
_NOREPLY = re.compile(r"^(?:(\d{1,20})\+)?([a-z0-9](?:[a-z0-9-]{0,38}))@users\.noreply\.github\.com$", re.IGNORECASE)
_TRAILER = re.compile(r"^co-authored-by:\s*(.*?)\s*<([^<>\s]+)>\s*$", re.IGNORECASE)
# Trailers are read from the end of a message; a message longer than this is
# read only in its last part (trailers sit at the end).
MAX_MESSAGE_LINES = 1000


@dataclass
class Authors:
    """person id -> how they wrote the change (one line per piece of evidence)."""

    evidence: dict[str, list[str]] = field(default_factory=dict)

    def add(self, person: str | None, how: str) -> None:
        if person is None:
            return
        seen = self.evidence.setdefault(person, [])
        if how not in seen:
            seen.append(how)

    @property
    def persons(self) -> set[str]:
        return set(self.evidence)

    def to_json(self) -> dict[str, list[str]]:
        return {person: list(self.evidence[person]) for person in sorted(self.evidence)}


class IdentityMap:
    """Keyring persons by e-mail address, GitHub login and GitHub account id."""

    def __init__(self, keyring: Keyring):
        self.by_email: dict[str, list[str]] = {}
        self.by_login: dict[str, list[str]] = {}
        self.by_github_id: dict[int, list[str]] = {}
        self.ids = {p.id for p in keyring.persons}
        for person in keyring.persons:
            for email in person.emails:
                self.by_email.setdefault(email.strip().lower(), []).append(person.id)
            if person.github:
                self.by_login.setdefault(person.github.lower(), []).append(person.id)
            if person.github_id is not None:
                self.by_github_id.setdefault(person.github_id, []).append(person.id)

    def login(self, login: str | None) -> list[str]:
        """GitHub logins are case-insensitive."""
        return list(self.by_login.get(login.lower(), ())) if login else []

    def email(self, address: str | None) -> list[tuple[str, str]]:
        """(person, matched how) for an e-mail address: the address itself, or
        the GitHub login and account id a noreply address encodes."""
        if not address:
            return []
        clean = address.strip().lower()
        found = [(p, f"e-mail {clean}") for p in self.by_email.get(clean, ())]
        noreply = _NOREPLY.match(clean)
        if noreply:
            account, login = noreply.groups()
            found += [(p, f"GitHub login {login} in {clean}") for p in self.login(login)]
            if account is not None:
                found += [(p, f"GitHub account {account} in {clean}") for p in self.by_github_id.get(int(account), ())]
        return found


def _email_of(signature) -> str | None:
    try:
        return signature.email
    except (UnicodeDecodeError, ValueError):
        raw = getattr(signature, "raw_email", b"")
        return raw.decode("utf-8", "replace") if raw else None


def co_authors(message: str) -> list[str]:
    """E-mail addresses of ``Co-authored-by:`` trailers."""
    lines = message.splitlines()[-MAX_MESSAGE_LINES:]
    return [m.group(2) for m in (_TRAILER.match(line.strip()) for line in lines) if m]


def change_authors(
    repo: pygit2.Repository,
    keyring: Keyring,
    verdicts: Iterable[CommitVerdict],
    forge_logins: Iterable[tuple[str, str]] = (),
    identities: IdentityMap | None = None,
) -> Authors:
    """Every keyring person who wrote any of these commits (see the module docstring).

    ``forge_logins`` are (login, how) pairs the forge reported: the pull
    request's opener and the logins it attributes the commits to.
    ``identities``: the keyring's map, when the caller asks about many changes.
    """
    identities = identities or IdentityMap(keyring)
    authors = Authors()
    for verdict in verdicts:
        short = verdict.id[:12]
        if verdict.signer in identities.ids:
            authors.add(verdict.signer, f"signed {short}")
        commit = repo[verdict.id]
        for role, who in (("author", commit.author), ("committer", commit.committer)):
            for person, how in identities.email(_email_of(who)):
                authors.add(person, f"{role} of {short} ({how})")
        try:
            message = commit.message
        except (UnicodeDecodeError, LookupError):
            message = commit.raw_message.decode("utf-8", "replace")
        for address in co_authors(message):
            for person, how in identities.email(address):
                authors.add(person, f"co-author of {short} ({how})")
    for login, how in forge_logins:
        for person in identities.login(login):
            authors.add(person, f"GitHub login {login} ({how})")
    return authors
