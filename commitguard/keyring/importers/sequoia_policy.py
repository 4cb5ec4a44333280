"""Import sequoia-git's ``openpgp-policy.toml``.

The policy names users (``[authorization.NAME]``), the capabilities each
holds (``sign_commit``, ``sign_tag``, ``sign_archive``, ``add_user``,
``retire_user``, ``audit``) and their certificates (an armored ``keyring``
string). Each authorization becomes a person whose roles are the
capabilities that are true, under their own names, so rules can say
``approvers = ["role:sign_commit"]``.

A commitguard keyring trusts every listed key to sign commits, which
sequoia-git grants only with ``sign_commit``. An authorization without it
is therefore imported as a person *without keys* (its roles still count in
rules), and a note says so: importing must never widen whom commits are
trusted from.
"""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import pysequoia

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.allowed_signers import PersonIds, id_for_email, sanitize_id
from commitguard.keyring.importers.gnupg import names_and_emails, split_user_id
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, Importer, ImportResult
from commitguard.keyring.importers.registry import ImportRequest

CAPABILITIES = ("sign_commit", "sign_tag", "sign_archive", "add_user", "retire_user", "audit")
_CLEAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHOWN_GOODLIST = 5


class SequoiaPolicyImporter(Importer):
    name = "sequoia-policy"

    def __init__(self, request: ImportRequest):
        super().__init__(request)
        self.path = self.only_argument("the openpgp-policy.toml file")
        self.obtained = request.obtained

    def error(self, field: str, message: str) -> CommitguardError:
        return CommitguardError(message, path=self.path, field=field)

    def load(self) -> ImportResult:
        try:
            text = Path(self.path).read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise CommitguardError("file not found", path=self.path) from None
        except UnicodeDecodeError:
            raise CommitguardError("is not UTF-8 text", path=self.path) from None
        except OSError as exc:
            raise CommitguardError(f"cannot be read: {exc.strerror}", path=self.path) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise self.error("(syntax)", f"invalid TOML: {exc}") from None

        notes: list[str] = []
        if data.get("version") != 0:
            raise self.error("version", "must be 0, the sequoia-git policy version this reads "
                                        f"(found {data.get('version')!r})")
        for key in data:
            if key not in ("version", "commit_goodlist", "authorization"):
                notes.append(f"{self.path}: {key}: not a sequoia-git policy field known here; not imported")
        goodlist = data.get("commit_goodlist", [])
        if not isinstance(goodlist, list) or not all(isinstance(c, str) for c in goodlist):
            raise self.error("commit_goodlist", "must be an array of commit ids")
        if goodlist:
            shown = ", ".join(goodlist[:_SHOWN_GOODLIST])
            more = f" and {len(goodlist) - _SHOWN_GOODLIST} more" if len(goodlist) > _SHOWN_GOODLIST else ""
            notes.append(f"{self.path}: commit_goodlist: {len(goodlist)} commit(s) not imported ({shown}{more}): "
                         "commitguard trusts commits by signature only; use policy.trust_root or re-sign them")
        authorizations = data.get("authorization", {})
        if not isinstance(authorizations, dict) or not all(isinstance(v, dict) for v in authorizations.values()):
            raise self.error("authorization", "must be tables [authorization.NAME]")

        ids = PersonIds({name: f"name:{name}" for name in authorizations if _CLEAN_ID.fullmatch(name)})
        holders: dict[str, str] = {}  # primary fingerprint -> authorization name
        persons: list[ImportedPerson] = []
        for name, table in authorizations.items():
            persons.append(self._person(name, table, ids, holders, notes))
        return ImportResult(persons=tuple(persons), notes=tuple(notes))

    def _person(self, name: str, table: dict, ids: PersonIds, holders: dict[str, str],
                notes: list[str]) -> ImportedPerson:
        where = f"authorization.{_quoted(name)}"
        roles = []
        for key, value in table.items():
            if key in CAPABILITIES:
                if not isinstance(value, bool):
                    raise self.error(f"{where}.{key}", "must be true or false")
                if value:
                    roles.append(key)
            elif key != "keyring":
                notes.append(f"{self.path}: {where}.{key}: not a sequoia-git capability known here; not imported")
        keyring = table.get("keyring", "")
        if not isinstance(keyring, str):
            raise self.error(f"{where}.keyring", "must be a string holding armored certificates")
        certs = []
        if keyring.strip():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    certs = pysequoia.Cert.split_bytes(keyring.encode("utf-8"))
            except Exception as exc:  # pysequoia raises ValueError/RuntimeError with anyhow text
                raise self.error(f"{where}.keyring", f"not OpenPGP certificates: {_first_line(exc)}") from None
        if not certs:
            notes.append(f"{self.path}: {where}: no certificate in keyring")

        user_ids = [str(u) for c in certs for u in c.user_ids]
        if _CLEAN_ID.fullmatch(name):
            pid = name
            person_name, emails = names_and_emails(user_ids)
        else:
            # "Name <email>", as `sq-git policy authorize` writes it: the id comes
            # from the address, so that rules can name the person plainly
            uid_name, uid_email = split_user_id(name)
            preferred, fallback = id_for_email(uid_email) if uid_email else (sanitize_id(name), "")
            pid = ids.claim(f"name:{name}", preferred, fallback)
            notes.append(f"{self.path}: {where}: imported as person {pid!r}")
            cert_name, emails = names_and_emails(([name] if uid_email else []) + user_ids)
            person_name = uid_name or cert_name

        keys = []
        if certs and "sign_commit" not in roles:
            notes.append(f"{self.path}: {where}: no sign_commit, so its certificate(s) are not imported "
                         "(every keyring key may sign commits); the person and roles are")
        else:
            for cert in certs:
                fpr = cert.fingerprint.upper()
                if fpr in holders:
                    notes.append(f"{self.path}: {where}: certificate {fpr} is already imported for "
                                 f"{holders[fpr]!r} (one key, one holder); not imported again")
                    continue
                holders[fpr] = name
                keys.append(ImportedKey(openpgp=bytes(cert), fingerprint=fpr,
                                        source=f"sequoia-policy {self.path}", obtained=self.obtained))
        return ImportedPerson(id=pid, name=person_name, emails=tuple(emails), roles=tuple(roles), keys=tuple(keys))


def _quoted(name: str) -> str:
    return name if _CLEAN_ID.fullmatch(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
