"""Import GitHub users' signing keys: their GPG keys and SSH signing keys.

This is trust on first use: GitHub says which keys a login has *now*, and
we record where (``source``) and when (``obtained``) we were told, so a
later ``keyring diff`` or review can tell an imported key from a vetted one.

Only what can verify a commit signature is imported: GPG keys whose
uploaded certificate (``raw_key``) is available and can sign, and SSH
*signing* keys (authentication keys, ``/users/LOGIN/keys``, are not meant
for signing and are never read). Everything skipped is named in the notes.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

import github
import requests
import sshpubkeys

from commitguard.errors import CommitguardError
from commitguard.forge import request_spacing
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, Importer, ImportResult
from commitguard.keyring.importers.registry import ImportRequest
from commitguard.keyring.loader import SSH_KEY_TYPES
from commitguard.signatures import openpgp_packets

# GitHub logins: alphanumerics and single hyphens, at most 39 characters.
# Checked before a login goes into a URL path.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_PER_PAGE = 100
_TIMEOUT = 30
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


# The OIDC issuer Fulcio names for a GitHub login (not GitHub Actions, whose tokens come from
# https://token.actions.githubusercontent.com and name a workflow, not a person).
GITHUB_OIDC_ISSUER = "https://github.com/login/oauth"

class GitHubImporter(Importer):
    """Persons (id = login lowercased) with the keys GitHub lists for each login."""

    name = "github"

    def __init__(self, request: ImportRequest):
        super().__init__(request)
        self.base_url = request.github_api.rstrip("/")

    def load(self) -> ImportResult:
        logins = list(dict.fromkeys(self.request.args))
        if not logins:
            raise CommitguardError("needs at least one GitHub login", field="LOGIN")
        for login in logins:
            if not _LOGIN.match(login):
                raise CommitguardError(f"{login!r} is not a GitHub login", field="LOGIN")
        lowered = [l.lower() for l in logins]
        dupes = {l for l in lowered if lowered.count(l) > 1}
        if dupes:
            raise CommitguardError(f"login {sorted(dupes)[0]!r} given twice (logins are case-insensitive)",
                                   field="LOGIN")

        auth = github.Auth.Token(self.request.github_token) if self.request.github_token else None
        # No retries: GitHub's rate-limit back-off can wait minutes without a word;
        # an import the user started should fail at once with the status instead.
        gh = github.Github(base_url=self.base_url, auth=auth, retry=None, timeout=_TIMEOUT, per_page=_PER_PAGE,
                           **request_spacing())
        persons: list[ImportedPerson] = []
        notes: list[str] = []
        try:
            for login in logins:
                person, person_notes = self._person(gh, login)
                persons.append(person)
                notes.extend(person_notes)
        finally:
            gh.close()
        return ImportResult(persons=tuple(persons), notes=tuple(notes))

    # -- one user ------------------------------------------------------------

    def _person(self, gh: github.Github, login: str) -> tuple[ImportedPerson, list[str]]:
        user = self._get(gh, login, f"/users/{login}", "user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), int) or not isinstance(user.get("login"), str):
            raise CommitguardError(f"unexpected answer for user {login!r} (no login and id)",
                                   path=f"{self.base_url}/users/{login}")
        canonical = user["login"]
        source = f"github:{canonical} via {self.base_url}"
        notes: list[str] = []
        keys: list[ImportedKey] = []
        emails: list[str] = []
        if isinstance(user.get("email"), str) and user["email"]:
            emails.append(user["email"])

        gpg_keys = self._get_all(gh, login, f"/users/{login}/gpg_keys", "GPG keys")
        for gpg_key in gpg_keys:
            key, key_notes, key_emails = self._gpg_key(canonical, gpg_key, source)
            notes.extend(key_notes)
            if key is not None:
                keys.append(key)
                emails.extend(e for e in key_emails if e not in emails)

        ssh_keys = self._get_all(gh, login, f"/users/{login}/ssh_signing_keys", "SSH signing keys")
        for ssh_key in ssh_keys:
            key, note = self._ssh_key(canonical, ssh_key, source)
            if note:
                notes.append(note)
            if key is not None:
                keys.append(key)

        if self.request.sigstore:
            key, note = self._sigstore_key(canonical, user.get("email"), source)
            if note:
                notes.append(note)
            if key is not None:
                keys.append(key)

        if not keys:
            notes.append(f"github:{canonical}: no usable signing keys (GPG or SSH) on {self.base_url}; "
                         "the person is listed without keys")
        name = user.get("name") if isinstance(user.get("name"), str) and user.get("name") else None
        person = ImportedPerson(
            id=canonical.lower(),
            name=name,
            emails=tuple(emails),
            github=canonical,
            github_id=user["id"],
            keys=tuple(keys),
        )
        return person, notes

    def _gpg_key(self, login: str, data, source: str) -> tuple[ImportedKey | None, list[str], list[str]]:
        """One entry of ``/users/LOGIN/gpg_keys``: (key, notes, verified emails)."""
        if not isinstance(data, dict):
            return None, [f"github:{login}: a GPG key entry is not an object; skipped"], []
        key_id = str(data.get("key_id") or "?")
        label = f"github:{login}: GPG key {key_id}"
        raw = data.get("raw_key")
        if not isinstance(raw, str) or not raw.strip():
            # keys uploaded before GitHub kept the original upload: only the bare key
            # packet (public_key) is left, which carries no bindings to verify against
            return None, [f"{label} has no raw_key (uploaded certificate) on GitHub; skipped"], []
        try:
            certs = openpgp_packets.split_certs(raw.encode("utf-8"))
        except ValueError as exc:
            return None, [f"{label}: raw_key is not an OpenPGP certificate ({exc}); skipped"], []
        wanted = key_id.upper()
        matching = [c for c in certs if any(f.endswith(wanted) for f in c.key_fingerprints)] if wanted != "?" else certs
        if len(matching) != 1:
            return None, [f"{label}: raw_key holds {len(certs)} certificate(s), none of them unambiguously "
                          f"with key id {key_id}; skipped"], []
        cert = matching[0]
        if cert.has_secret:
            return None, [f"{label}: raw_key holds secret key material; skipped"], []
        subkeys = data.get("subkeys") if isinstance(data.get("subkeys"), list) else []
        can_sign = bool(data.get("can_sign")) or any(isinstance(s, dict) and s.get("can_sign") for s in subkeys)
        if not can_sign:
            return None, [f"{label} ({cert.fingerprint}) cannot sign (GitHub: can_sign false); skipped"], []
        notes = []
        revoked = data.get("revoked") is True
        if revoked:
            notes.append(f"{label} ({cert.fingerprint}) is revoked on GitHub; imported as revoked")
        emails = []
        for e in data.get("emails") or []:
            if isinstance(e, dict) and e.get("verified") is True and isinstance(e.get("email"), str) and e["email"]:
                emails.append(e["email"])
        key = ImportedKey(
            openpgp=cert.cert_bytes,
            fingerprint=cert.fingerprint,
            revoked=revoked,
            source=source,
            obtained=self.request.now,
        )
        return key, notes, emails

    def _sigstore_key(self, login: str, email, source: str) -> tuple[ImportedKey | None, str | None]:
        """The user's public e-mail address as the identity Fulcio certifies after a GitHub login.

        GitHub shows only a verified address as public, and Fulcio certifies
        the account's address after a GitHub login (issuer GitHub's OAuth);
        whether the user signs with that address is theirs to say, so this
        runs only on request (``--sigstore``) and is trust on first use, like
        every import.
        """
        if not isinstance(email, str) or not email or any(c.isspace() or not c.isprintable() for c in email) \
                or "@" not in email:
            return None, (f"github:{login}: no public e-mail address on {self.base_url}, so no Sigstore identity "
                          "(--sigstore) was listed")
        return ImportedKey(sigstore=(email, GITHUB_OIDC_ISSUER), source=source, obtained=self.request.now), None

    def _ssh_key(self, login: str, data, source: str) -> tuple[ImportedKey | None, str | None]:
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None, f"github:{login}: an SSH signing key entry has no key line; skipped"
        line = data["key"].strip()
        title = data.get("title") if isinstance(data.get("title"), str) else None
        label = f"github:{login}: SSH signing key {data.get('id', '?')}" + (f" ({title})" if title else "")
        problem = _ssh_line_problem(line)
        if problem:
            return None, f"{label}: {problem}; skipped"
        return ImportedKey(ssh=" ".join(line.split()[:2]), source=source, obtained=self.request.now), None

    # -- HTTP ----------------------------------------------------------------------

    def _get(self, gh: github.Github, login: str, url: str, what: str):
        return self._request(gh, login, url, what, url)[1]

    def _request(self, gh: github.Github, login: str, target: str, what: str, url: str):
        """One GET, with every failure turned into a one-line error naming the login."""
        try:
            return gh.requester.requestJsonAndCheck("GET", target)
        except github.GithubException as exc:
            raise self._http_error(login, what, exc) from None
        except (requests.RequestException, OSError) as exc:
            raise CommitguardError(f"cannot reach {self.base_url} for the {what} of {login!r}: "
                                   f"{_network_problem(exc)}", field="LOGIN") from None
        except ValueError as exc:
            raise CommitguardError(f"{what} of {login!r}: the answer is not JSON ({_first_line(exc)})",
                                   path=f"{self.base_url}{url}") from None

    def _get_all(self, gh: github.Github, login: str, url: str, what: str) -> list:
        """Every page of a list endpoint, following the Link header as GitHub documents."""
        items: list = []
        next_url: str | None = f"{url}?per_page={_PER_PAGE}"
        pages = 0
        while next_url:
            pages += 1
            if pages > 100:
                raise CommitguardError(f"{what} of {login!r}: more than 100 pages; refusing to go on",
                                       path=f"{self.base_url}{url}")
            headers, data = self._request(gh, login, next_url, what, url)
            if not isinstance(data, list):
                raise CommitguardError(f"{what} of {login!r}: expected a JSON list", path=f"{self.base_url}{url}")
            items.extend(data)
            match = _NEXT.search((headers or {}).get("link", "") or "")
            next_url = match.group(1) if match else None
        return items

    def _http_error(self, login: str, what: str, exc: github.GithubException) -> CommitguardError:
        status = exc.status
        message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None) or ""
        hint = ""
        if status == 404:
            hint = " (no such user?)"
        elif status in (401, 403):
            hint = " (check the token; unauthenticated requests are rate-limited)"
        detail = f": {message}" if message else ""
        return CommitguardError(
            f"GitHub answered HTTP {status} for the {what} of {login!r}{hint}{detail}", field="LOGIN"
        )


def _ssh_line_problem(line: str) -> str | None:
    """Why an SSH key line cannot go into a keyring, or None.

    The keyring loader refuses unknown types and broken keys outright, so a
    bad line from the API must be skipped here, not written.
    """
    parts = line.split()
    if len(parts) < 2:
        return "not an OpenSSH public key line"
    key_type = parts[0]
    if key_type not in SSH_KEY_TYPES:
        return f"key type {key_type!r} cannot be verified"
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "invalid base64"
    if len(blob) < 4:
        return "truncated key"
    (n,) = struct.unpack(">I", blob[:4])
    if blob[4:4 + n].decode("ascii", errors="replace") != key_type:
        return f"the key's encoded type does not match {key_type!r}"
    try:
        sshpubkeys.SSHKey(line, strict=False, skip_option_parsing=True).parse()
    except Exception as exc:  # sshpubkeys raises a zoo of exception types
        return f"invalid key ({_first_line(exc)})"
    return None


def _network_problem(exc: BaseException) -> str:
    """Why a request failed, in words: the text of requests' errors is urllib3's
    representation of nested exceptions, which tells a person nothing."""
    import socket

    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS connection failed (certificate or proxy problem)"
    if isinstance(exc, requests.exceptions.Timeout):
        return "the connection timed out"
    seen, stack = 0, [exc]
    while stack and seen < 20:
        item = stack.pop()
        seen += 1
        if isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError":
            return "the host name cannot be resolved (no network connection?)"
        if isinstance(item, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(item, OSError) and item.errno in (101, 113):
            return "the network is unreachable"
        stack.extend(x for x in (getattr(item, "reason", None), item.__cause__, item.__context__,
                                 *getattr(item, "args", ())) if isinstance(x, BaseException))
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "no connection could be made"
    return type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
