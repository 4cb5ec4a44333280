"""Import an OpenSSH ``allowed_signers`` file (``ssh-keygen -Y verify``'s trust list).

The syntax follows ``ssh-keygen(1)``, section ALLOWED SIGNERS, and OpenSSH's
own parser (``sshsig.c``): principals (a pattern-list, optionally quoted),
then optional comma-separated options, then the key. What commitguard cannot
express is reported in ``notes`` with its line number and not imported:
nothing the file says is dropped without a word.

Two mismatches between the formats shape this importer:

* OpenSSH binds a key to *principals* (identity patterns); commitguard binds
  it to exactly *one person* (otherwise a signature could not name its
  signer). A line with several principals therefore becomes one person, the
  first principal; the others are kept as that person's e-mail addresses.
* Timestamps without ``Z`` are local time for OpenSSH. We follow OpenSSH
  (the local time zone of the machine running the import, as
  ``ssh-keygen -Y verify`` would on it), store the UTC instant, and say so.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, Importer, ImportResult
from commitguard.keyring.importers.registry import ImportRequest
from commitguard.keyring.loader import SSH_KEY_TYPES

# Namespaces commitguard itself checks SSH signatures in: git commits and
# review approvals (SPEC: "Signed review approvals"). A namespace *pattern*
# is resolved against these, since the keyring lists plain names.
CHECKED_NAMESPACES = ("git", "commitguard-approval")

# Key types OpenSSH knows; a first word among these is a key, not options.
_OPENSSH_KEY_TYPES = SSH_KEY_TYPES | {
    "ssh-ed448",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed448-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
}

_TIME_FORMATS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


# -- person ids, shared with the other importers ---------------------------------


def sanitize_id(text: str) -> str:
    """A person id from free text: ``[a-z0-9._-]``, accents folded, never empty-looking.

    Ids are typed in rules (``approvers = ["alice"]``) and shown in every
    report, so they are kept to characters that need no quoting anywhere.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", folded)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-._")
    return cleaned


class PersonIds:
    """Hands out person ids so that two different identities never share one.

    Sources name people by e-mail address (or by a fingerprint where there is
    none); the id is the address's local part, which can collide
    (``alice@a.org``, ``alice@b.org``). Merging those would make one human's
    signatures report another's name, so a collision falls back to a longer
    id and the caller says so in a note.
    """

    def __init__(self, taken: dict[str, str] | None = None):
        self._owner: dict[str, str] = dict(taken or {})

    def claim(self, identity: str, preferred: str, fallback: str) -> str:
        identity = identity.lower()
        for candidate in (preferred, fallback) if (preferred or fallback) else ("person",):
            if candidate and self._owner.get(candidate, identity) == identity:
                self._owner[candidate] = identity
                return candidate
        base = fallback or preferred or "person"
        n = 2
        while self._owner.get(f"{base}-{n}", identity) != identity:
            n += 1
        self._owner[f"{base}-{n}"] = identity
        return f"{base}-{n}"

    def identity(self, person_id: str) -> str:
        return self._owner.get(person_id, "")


def id_for_email(email: str) -> tuple[str, str]:
    """(preferred, fallback) ids for an e-mail address: local part, then the whole address."""
    local = email.split("@", 1)[0]
    return sanitize_id(local), sanitize_id(email.replace("@", "-"))


# -- the importer -------------------------------------------------------------------


class AllowedSignersImporter(Importer):
    name = "allowed-signers"

    def __init__(self, request: ImportRequest):
        super().__init__(request)
        self.path = self.only_argument("the allowed_signers file")

    def load(self) -> ImportResult:
        try:
            data = Path(self.path).read_bytes()
        except FileNotFoundError:
            raise CommitguardError("file not found", path=self.path) from None
        except OSError as exc:
            raise CommitguardError(f"cannot be read: {exc.strerror}", path=self.path) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CommitguardError("is not UTF-8 text", path=self.path) from None

        state = _State(self.path, self.request.obtained)
        skipped: list[str] = []
        for number, raw in enumerate(text.split("\n"), start=1):
            try:
                state.line(number, raw.rstrip("\r"))
            except _LineError as exc:
                # OpenSSH (sshsig.c, check_allowed_keys_line) logs a line it
                # cannot parse and goes on with the next one: so do we, aloud.
                skipped.append(f"line {number}: {exc.reason}")
                state.notes.append(f"warning: {self.path}: line {number}: skipped, as OpenSSH skips it: {exc.reason}")
        persons = state.persons()
        if not any(p.keys for p in persons):
            if skipped:
                why = f": {len(skipped)} line(s) skipped, the first {skipped[0]}"
            else:  # every key was left out for a reason already noted (a pattern, a CA key, a key type)
                why = f" ({state.notes[0].removeprefix(self.path + ': ')})" if state.notes else ""
            raise CommitguardError(f"holds no key commitguard can use{why}", path=self.path)
        return ImportResult(persons=persons, notes=tuple(state.notes))


class _LineError(CommitguardError):
    """A line OpenSSH itself would skip (it cannot parse it); the import goes on without it."""

    def __init__(self, reason: str, *, path: str, field: str):
        super().__init__(reason, path=path, field=field)
        self.reason = reason


class _Entry:
    """One key as the file lists it, possibly over several lines."""

    def __init__(self, holder: str, line: int, key_line: str, valid_after, valid_before, namespaces):
        self.holder = holder
        self.line = line
        self.key_line = key_line
        self.valid_after = valid_after
        self.valid_before = valid_before
        self.namespaces = namespaces


class _State:
    def __init__(self, path: str, obtained: datetime):
        self.path = path
        self.obtained = obtained
        self.ids = PersonIds()
        self.notes: list[str] = []
        self.order: list[str] = []  # person ids, in file order
        self.emails: dict[str, list[str]] = {}
        self.by_blob: dict[str, _Entry] = {}
        self.key_order: list[str] = []

    def error(self, number: int, message: str) -> CommitguardError:
        """A line OpenSSH cannot parse either: skipped with a warning (see ``load``)."""
        return _LineError(message, path=self.path, field=f"line {number}")

    def note(self, number: int, message: str) -> None:
        self.notes.append(f"{self.path}: line {number}: {message}")

    # -- one line ---------------------------------------------------------------

    def line(self, number: int, raw: str) -> None:
        if "\0" in raw:
            raise self.error(number, "contains a NUL character")
        line = raw.lstrip(" \t")
        if not line or line.startswith("#"):
            return
        principals, rest = self._principals(number, line)
        rest = rest.lstrip(" \t")
        if not rest:
            raise self.error(number, "no key after the principals")
        options: dict[str, str] = {}
        first = rest.split(None, 1)[0]
        if first not in _OPENSSH_KEY_TYPES:
            options, rest = self._options(number, rest)
        key_type, blob_b64, comment = self._key(number, rest)

        if "cert-authority" in options:
            self.note(number, f"cert-authority key {key_type} for {','.join(principals)} not imported: "
                              "commitguard does not accept SSH certificates")
            return
        if key_type not in SSH_KEY_TYPES:
            self.note(number, f"key type {key_type} not imported: commitguard cannot verify it")
            return

        valid_after = self._time(number, "valid-after", options.get("valid-after"))
        valid_before = self._time(number, "valid-before", options.get("valid-before"))
        if valid_after and valid_before and valid_after >= valid_before:
            raise self.error(number, "valid-before must be later than valid-after")
        namespaces = self._namespaces(number, options.get("namespaces"))
        if namespaces == ():
            self.note(number, f"{key_type} key not imported: namespaces=\"{options['namespaces']}\" allows none of "
                              f"the namespaces commitguard checks ({', '.join(CHECKED_NAMESPACES)})")
            return

        literal = [p for p in principals if not _is_pattern(p)]
        patterns = [p for p in principals if _is_pattern(p)]
        if patterns:
            self.note(number, f"principal pattern(s) {', '.join(patterns)} name no single person: "
                              + ("not imported" if literal else "key not imported (add it by hand under a person id)"))
        if not literal:
            return
        key_line = " ".join(p for p in (key_type, blob_b64, comment) if p)
        entry = self.by_blob.get(blob_b64)
        if entry is None:
            holder = self._person(number, literal[0])
            if len(literal) > 1:
                self.note(number, f"one key for several principals ({', '.join(literal)}): imported for "
                                  f"{holder} (one key, one holder); the others are kept as e-mail addresses")
            for other in literal[1:]:
                self._add_email(holder, other)
            self.by_blob[blob_b64] = _Entry(holder, number, key_line, valid_after, valid_before, namespaces)
            self.key_order.append(blob_b64)
            return
        # The same key again: OpenSSH's way of giving one key more principals or
        # namespaces. It stays one keyring entry, so the lines must agree on validity.
        if (entry.valid_after, entry.valid_before) != (valid_after, valid_before):
            # OpenSSH reads this line fine; commitguard cannot express it, so it stops rather than guess
            raise CommitguardError(f"the key of line {entry.line} again, with another validity period; "
                                   "commitguard keeps one period per key: merge the lines",
                                   path=self.path, field=f"line {number}")
        if entry.namespaces is not None:
            entry.namespaces = None if namespaces is None else tuple(dict.fromkeys(entry.namespaces + namespaces))
        others = [p for p in literal if p.lower() != self.ids.identity(entry.holder)]
        for other in others:
            self._add_email(entry.holder, other)
        if others:
            self.note(number, f"the key of line {entry.line} again, for {', '.join(others)}: kept for "
                              f"{entry.holder} (one key, one holder); the principals are kept as e-mail addresses")

    # -- fields ------------------------------------------------------------------

    def _principals(self, number: int, line: str) -> tuple[list[str], str]:
        if line.startswith('"'):
            end = line.find('"', 1)
            if end < 0:
                raise self.error(number, "no closing quote after the principals")
            field, rest = line[1:end], line[end + 1:]
            if rest and rest[0] not in " \t":
                raise self.error(number, "the quoted principals must be followed by a space")
        else:
            parts = line.split(None, 1)
            field, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        principals = [p.strip(" \t") for p in field.split(",")]
        if not all(principals):
            raise self.error(number, f"invalid principals {field!r} (an empty name in the list)")
        return principals, rest

    def _options(self, number: int, text: str) -> tuple[dict[str, str], str]:
        options: dict[str, str] = {}
        i = 0
        while True:
            lower = text[i:].lower()
            if lower.startswith("cert-authority"):
                name, value, i = "cert-authority", "", i + len("cert-authority")
            else:
                m = re.match(r"(namespaces|valid-after|valid-before)=", lower)
                if m is None:
                    word = re.split(r"[ \t,=]", text[i:], maxsplit=1)[0]
                    raise self.error(number, f"unsupported option {word!r} (allowed: cert-authority, namespaces, "
                                             "valid-after, valid-before), or not a key")
                name = m.group(1)
                i += m.end()
                if text[i:i + 1] != '"':
                    raise self.error(number, f"the value of {name} must be in double quotes")
                end = text.find('"', i + 1)
                if end < 0:
                    raise self.error(number, f"no closing quote in {name}")
                value, i = text[i + 1:end], end + 1
            if name in options:
                raise self.error(number, f"{name} given twice")
            options[name] = value
            if i >= len(text):
                raise self.error(number, "no key after the options")
            if text[i] == ",":
                i += 1
                continue
            if text[i] in " \t":
                return options, text[i:].lstrip(" \t")
            raise self.error(number, f"unexpected {text[i]!r} after option {name}")

    def _key(self, number: int, text: str) -> tuple[str, str, str]:
        parts = text.split(None, 2)
        if len(parts) < 2:
            raise self.error(number, "the key needs a type and base64 data (\"ssh-ed25519 AAAA...\")")
        key_type, blob_b64 = parts[0], parts[1]
        if key_type not in _OPENSSH_KEY_TYPES:
            raise self.error(number, f"unknown key type {key_type!r}")
        try:
            blob = base64.b64decode(blob_b64, validate=True)
        except (binascii.Error, ValueError):
            raise self.error(number, "the key's base64 data is invalid") from None
        if len(blob) < 4 or blob[4:4 + int.from_bytes(blob[:4], "big")] != key_type.encode():
            raise self.error(number, f"the key data is not a {key_type} key")
        return key_type, blob_b64, (parts[2].strip() if len(parts) > 2 else "")

    def _time(self, number: int, name: str, value: str | None) -> datetime | None:
        if value is None:
            return None
        utc = value[-1:] in ("Z", "z")
        digits = value[:-1] if utc else value
        fmt = _TIME_FORMATS.get(len(digits))
        if fmt is None or not digits.isdigit():
            raise self.error(number, f"{name}=\"{value}\" is not YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]")
        try:
            naive = datetime.strptime(digits, fmt)
        except ValueError:
            raise self.error(number, f"{name}=\"{value}\" is not a valid date") from None
        if utc:
            return naive.replace(tzinfo=timezone.utc)
        local = naive.astimezone()  # the system time zone, as OpenSSH reads it
        moment = local.astimezone(timezone.utc)
        self.note(number, f"{name}=\"{value}\" has no Z: read as local time ({local.strftime('%Z, UTC%z')}) as "
                          f"OpenSSH does, stored as {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        return moment

    def _namespaces(self, number: int, value: str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        patterns = [p.strip() for p in value.split(",")]
        if not value.strip() or any(not p for p in patterns):
            raise self.error(number, f"namespaces=\"{value}\" holds an empty namespace")
        if not any(_is_pattern(p) for p in patterns):
            return tuple(dict.fromkeys(patterns))
        if patterns == ["*"]:
            return None  # any namespace: the same as no restriction
        matched = tuple(ns for ns in CHECKED_NAMESPACES if _pattern_list_matches(patterns, ns))
        if matched:
            self.note(number, f"namespaces=\"{value}\" is a pattern: stored as the namespaces commitguard checks "
                              f"that it matches ({', '.join(matched)})")
        return matched

    # -- persons -------------------------------------------------------------------

    def _person(self, number: int, principal: str) -> str:
        preferred, fallback = id_for_email(principal) if "@" in principal else (sanitize_id(principal), "")
        if not preferred and not fallback:
            raise self.error(number, f"principal {principal!r} yields no usable person id")
        pid = self.ids.claim(principal, preferred, fallback)
        if pid not in self.emails:
            if pid != preferred:
                self.note(number, f"{principal} becomes person {pid!r}: {preferred!r} is another principal's")
            self.order.append(pid)
            self.emails[pid] = []
            self._add_email(pid, principal)
        return pid

    def _add_email(self, pid: str, principal: str) -> None:
        if "@" in principal and principal.lower() not in (e.lower() for e in self.emails[pid]):
            self.emails[pid].append(principal)

    def persons(self) -> tuple[ImportedPerson, ...]:
        keys: dict[str, list[ImportedKey]] = {pid: [] for pid in self.order}
        source = f"allowed-signers {self.path}"
        for blob in self.key_order:
            e = self.by_blob[blob]
            keys[e.holder].append(ImportedKey(
                ssh=e.key_line, valid_after=e.valid_after, valid_before=e.valid_before,
                namespaces=e.namespaces, source=source, obtained=self.obtained,
            ))
        return tuple(
            ImportedPerson(id=pid, emails=tuple(self.emails[pid]), keys=tuple(keys[pid])) for pid in self.order
        )


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?!")


def _pattern_matches(pattern: str, text: str) -> bool:
    """OpenSSH's match_pattern: only ``*`` and ``?`` are special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _pattern_list_matches(patterns: list[str], text: str) -> bool:
    """OpenSSH's match_pattern_list: a negated match vetoes, else any positive match wins."""
    positive = False
    for p in patterns:
        if p.startswith("!"):
            if _pattern_matches(p[1:], text):
                return False
        elif _pattern_matches(p, text):
            positive = True
    return positive

