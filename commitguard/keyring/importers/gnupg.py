"""Import OpenPGP certificates from a GnuPG home, by fingerprint.

Only fingerprints are accepted, never user IDs or short key ids: a keyring
records a decision to trust one specific key, and ``gpg --export alice``
may export whichever keys happen to carry that name.

The certificate is exported as GnuPG holds it (no ``export-clean``, which
drops superseded self-signatures that a verifier needs to judge old
signatures). The person's id comes from the primary user ID's e-mail
address, the name and e-mail addresses from the user IDs that are not
revoked, as Sequoia reads them.
"""

from __future__ import annotations

import os
import re
import warnings

import gnupg
import pysequoia

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.allowed_signers import PersonIds, id_for_email, sanitize_id
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, Importer, ImportResult
from commitguard.keyring.importers.registry import ImportRequest

_FPR = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_USER_ID = re.compile(r"(.*?)\s*<([^<>]*)>")


def split_user_id(user_id: str) -> tuple[str | None, str | None]:
    """(name, e-mail address) of an OpenPGP user ID, by the "Name <address>" convention.

    Not RFC 2822 parsing: user IDs are free UTF-8 text, and only the
    convention gpg and sq write is worth relying on.
    """
    text = user_id.strip()
    m = _USER_ID.fullmatch(text)
    if m:
        name, email = m.group(1).strip(), m.group(2).strip()
        return (name or None), (email if "@" in email else None)
    if "@" in text and not any(c.isspace() for c in text):
        return None, text
    return (text or None), None


class GnuPGImporter(Importer):
    name = "gnupg"

    def __init__(self, request: ImportRequest):
        if not request.args:
            raise CommitguardError("needs at least one fingerprint (gpg --list-keys --with-colons shows them)",
                                   field="gnupg")
        self.fingerprints = [_fingerprint(a) for a in request.args]
        self.home = request.gnupg_home or os.environ.get("GNUPGHOME") or None
        self.obtained = request.obtained

    def load(self) -> ImportResult:
        where = self.home or "~/.gnupg"
        if self.home is not None and not os.path.isdir(self.home):
            raise CommitguardError("GnuPG home directory not found", path=self.home, field="GNUPGHOME")
        try:
            gpg = gnupg.GPG(gnupghome=self.home)
        except (OSError, ValueError, RuntimeError) as exc:
            raise CommitguardError(f"cannot run gpg: {exc}", field="gnupg") from None
        # gpg writes user IDs as UTF-8; python-gnupg reads them as Latin-1 unless
        # told, and "Zoé" would then match none of Sequoia's user IDs, losing
        # which one GnuPG calls primary (and with it the person's id)
        gpg.encoding = "utf-8"

        ids = PersonIds()
        persons: dict[str, dict] = {}
        notes: list[str] = []
        seen: set[str] = set()
        for wanted in self.fingerprints:
            listed = gpg.list_keys(keys=[wanted])
            matches = [k for k in listed if wanted == k["fingerprint"].upper()
                       or any(wanted == (s[2] or "").upper() for s in k.get("subkeys", []))]
            if not matches:
                raise CommitguardError(f"no key with fingerprint {wanted} in {where}", field="gnupg")
            listing = matches[0]
            primary = listing["fingerprint"].upper()
            if primary != wanted:
                notes.append(f"gnupg: {wanted} is a subkey of {primary}: imported that whole certificate")
            if primary in seen:
                continue
            seen.add(primary)
            data = gpg.export_keys(primary, armor=False)
            if not data:
                raise CommitguardError(f"gpg exported nothing for {primary} from {where}", field="gnupg")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    certs = [c for c in pysequoia.Cert.split_bytes(bytes(data)) if c.fingerprint.upper() == primary]
            except Exception as exc:  # pysequoia raises ValueError/RuntimeError with anyhow text
                raise CommitguardError(f"the certificate exported for {primary} cannot be read: {exc}",
                                       field="gnupg") from None
            if not certs:
                raise CommitguardError(f"gpg exported no certificate {primary} from {where}", field="gnupg")
            valid = {str(u) for u in certs[0].user_ids}
            # GnuPG lists the primary user ID first; Sequoia knows which are revoked
            user_ids = [u for u in listing.get("uids", []) if u in valid] + sorted(
                valid - set(listing.get("uids", [])))
            pid, name, emails, note = identity_from_user_ids(ids, primary, user_ids)
            if note:
                notes.append(f"gnupg: {note}")
            person = persons.setdefault(pid, {"name": name, "emails": [], "keys": []})
            for e in emails:
                if e.lower() not in (x.lower() for x in person["emails"]):
                    person["emails"].append(e)
            person["keys"].append(ImportedKey(openpgp=bytes(data), fingerprint=primary, source="gnupg",
                                              obtained=self.obtained))
        return ImportResult(
            persons=tuple(ImportedPerson(id=pid, name=p["name"], emails=tuple(p["emails"]), keys=tuple(p["keys"]))
                          for pid, p in persons.items()),
            notes=tuple(notes),
        )


def _fingerprint(text: str) -> str:
    fpr = text.replace(" ", "").upper()
    if fpr.startswith("0X"):
        fpr = fpr[2:]
    if not _FPR.fullmatch(fpr):
        raise CommitguardError(f"{text!r} is not a full OpenPGP fingerprint (40 hex digits)", field="gnupg")
    return fpr


def names_and_emails(user_ids: list[str]) -> tuple[str | None, list[str]]:
    """The first name and every distinct e-mail address the user IDs give, in order."""
    name: str | None = None
    emails: list[str] = []
    for uid in user_ids:
        n, e = split_user_id(uid)
        if name is None and n:
            name = n
        if e and e.lower() not in (x.lower() for x in emails):
            emails.append(e)
    return name, emails


def identity_from_user_ids(ids: PersonIds, fingerprint: str,
                           user_ids: list[str]) -> tuple[str, str | None, list[str], str | None]:
    """(person id, name, e-mail addresses, note) for a certificate; the primary (first) user ID decides the id.

    Shared with the other OpenPGP importers so that one certificate yields
    the same person whichever source it came through.
    """
    name, emails = names_and_emails(user_ids)
    first_name, first_email = split_user_id(user_ids[0]) if user_ids else (None, None)
    if first_email:
        identity = first_email
        preferred, fallback = id_for_email(first_email)
    elif first_name and sanitize_id(first_name):
        identity, preferred, fallback = f"name:{first_name}", sanitize_id(first_name), ""
    else:
        identity, preferred, fallback = f"openpgp:{fingerprint}", f"openpgp-{fingerprint[-16:].lower()}", ""
    pid = ids.claim(identity, preferred, fallback)
    note = None
    if not user_ids:
        note = f"{fingerprint} has no valid user ID: imported as person {pid!r}"
    elif pid != preferred:
        note = f"{fingerprint} becomes person {pid!r}: {preferred!r} is another identity's"
    return pid, name, emails, note
