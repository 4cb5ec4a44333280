"""Merge what an importer found into a keyring directory.

A keyring is curated by hand and kept in git, so an import must behave like
a careful colleague editing it: the file is edited with tomlkit, keeping
comments, order and formatting; nothing the source does not mention is
removed; the same import twice changes nothing (not even a byte); every
change is reported in words; and a result that does not load is never
left behind. Certificates are stored as armored files under ``keys/``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pysequoia
import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, Table

from commitguard.errors import KeyringError
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, ImportResult
from commitguard.keyring.loader import FORMAT_VERSION, KEYRING_FILE, load_keyring

KEYS_DIR = "keys"
_FPR = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_FILE_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ImportReport:
    """What an import did (``changes``, empty when nothing changed) and what it left out (``notes``).

    Both are lines for people: the CLI prints them, and a curator reviews
    them before committing the keyring.
    """

    changes: tuple[str, ...]
    notes: tuple[str, ...]
    created: bool


def apply_import(keyring_dir: str | os.PathLike, result: ImportResult) -> ImportReport:
    """Merge ``result`` into the keyring at ``keyring_dir`` (created if absent).

    Raises KeyringError when the existing keyring is invalid, when the import
    would give one key two holders, or when the merged keyring does not load;
    in every case the directory is left as it was.
    """
    directory = Path(keyring_dir)
    toml_path = directory / KEYRING_FILE
    if directory.exists() and not directory.is_dir():
        raise KeyringError("is not a directory", path=str(directory))
    created = not toml_path.exists()
    original: bytes | None = None
    if created:
        doc = tomlkit.document()
        doc["version"] = FORMAT_VERSION
    else:
        # merging into a keyring that does not load would hide its problem
        # behind ours; the user should see the original error first
        load_keyring(directory)
        original = toml_path.read_bytes()
        try:
            doc = tomlkit.parse(original.decode("utf-8"))
        except (TOMLKitError, UnicodeDecodeError) as exc:
            raise KeyringError(f"cannot be edited: {exc}", path=str(toml_path), field="(syntax)") from None

    merge = _Merge(directory, toml_path, doc)
    merge.policy(result.policy)
    for person in result.persons:
        merge.person(person)

    writes = dict(merge.files)
    text = tomlkit.dumps(merge.doc).encode("utf-8")
    if created or text != original:
        # new tables end with a blank line to keep what follows apart; the file does not
        writes[KEYRING_FILE] = text.rstrip(b"\n") + b"\n"
    if writes:
        _write_and_check(directory, writes)
    return ImportReport(changes=tuple(merge.changes), notes=tuple(result.notes) + tuple(merge.notes),
                        created=created)


# -- merging ----------------------------------------------------------------------


def _with_table_after(doc: tomlkit.TOMLDocument, after: str, name: str, table: Any) -> tomlkit.TOMLDocument:
    """The document rebuilt with `table` right after the key `after`.

    tomlkit has no public "insert after"; rebuilding from the public `body`
    keeps every comment, whitespace item and array of tables in its order.
    """
    new = tomlkit.document()
    placed = False
    for key, item in doc.body:
        if key is None:
            new.add(item)
            continue
        new.append(key, item)
        if not placed and key.key == after:
            new.append(name, table)
            placed = True
    if not placed:
        new.append(name, table)
    return new


class _Holder:
    """A person or forge table of the document, and its key tables."""

    def __init__(self, kind: str, hid: str, table: Any):
        self.kind = kind
        self.id = hid
        self.table = table

    def key_tables(self) -> list[Any]:
        tables = list(self.table.get("key", []) or [])
        if self.kind == "forge" and ("ssh" in self.table or "openpgp" in self.table or "sigstore" in self.table):
            tables.append(self.table)  # a forge may hold its key inline
        return tables

    def __str__(self) -> str:
        return f"{self.kind} {self.id!r}"


class _Merge:
    def __init__(self, directory: Path, toml_path: Path, doc: tomlkit.TOMLDocument):
        self.directory = directory
        self.toml_path = toml_path
        self.doc = doc
        self.changes: list[str] = []
        self.notes: list[str] = []
        self.files: dict[str, bytes] = {}  # relative path -> new content
        self.persons: dict[str, _Holder] = {}
        self.forges: dict[str, _Holder] = {}
        # key index: SSH key blob / OpenPGP primary fingerprint ->
        # (holder, key table, certificate file or None for a bare pin)
        self.ssh: dict[bytes, tuple[_Holder, Any]] = {}
        self.openpgp: dict[str, tuple[_Holder, Any, str | None]] = {}
        self.sigstore: dict[tuple[str, str], tuple[_Holder, Any]] = {}  # (identity, issuer) -> (holder, key table)
        self._index()

    def error(self, message: str, field: str | None = None) -> KeyringError:
        return KeyringError(message, path=str(self.toml_path), field=field)

    # -- what the keyring holds already -------------------------------------------

    def _index(self) -> None:
        for table in self.doc.get("person", []) or []:
            holder = _Holder("person", str(table.get("id")), table)
            self.persons[holder.id] = holder
            self._index_keys(holder)
        for table in self.doc.get("forge", []) or []:
            holder = _Holder("forge", str(table.get("id")), table)
            self.forges[holder.id] = holder
            self._index_keys(holder)

    def _index_keys(self, holder: _Holder) -> None:
        for key in holder.key_tables():
            if isinstance(key.get("sigstore"), dict):
                who = key["sigstore"]
                self.sigstore[(str(who.get("identity")), str(who.get("issuer")))] = (holder, key)
            elif "ssh" in key:
                blob = _ssh_blob(str(key["ssh"]))
                if blob is not None:
                    self.ssh[blob] = (holder, key)
            elif "openpgp" in key:
                rel = str(key["openpgp"])
                pin = key.get("fingerprint")
                fprs = [_normal_fpr(str(pin))] if pin else [c.fingerprint.upper() for c in self._certs(rel)]
                for fpr in fprs:
                    self.openpgp.setdefault(fpr, (holder, key, rel))
            elif "fingerprint" in key:
                self.openpgp.setdefault(_normal_fpr(str(key["fingerprint"])), (holder, key, None))

    def _certs(self, rel: str) -> list[pysequoia.Cert]:
        data = self.files.get(rel)
        if data is None:
            try:
                data = (self.directory / rel).read_bytes()
            except OSError as exc:
                raise self.error(f"key file {rel} cannot be read: {exc.strerror}") from None
        return _split(data, lambda msg: self.error(f"{rel}: not an OpenPGP certificate ({msg})"))

    # -- policy ----------------------------------------------------------------------

    def policy(self, values: dict[str, Any]) -> None:
        """Set policy fields: strings, ``reviews`` (a number) and ``accept`` (a list of kinds,
        written as a TOML array through tomlkit's public API)."""
        if not values:
            return
        table = self.doc.get("policy")
        if table is None:
            table = tomlkit.table()
            if self.doc.get("person") is None and self.doc.get("forge") is None:
                self.doc["policy"] = table
            else:
                # right after `version`, where a reader looks for it
                table.trivia.indent = "\n"
                self.doc = _with_table_after(self.doc, "version", "policy", table)
        for name, value in values.items():
            value = list(value) if isinstance(value, tuple) else value  # TOML arrays unwrap to lists
            old = table.get(name)
            if old is not None and _plain(old) == value:
                continue
            _put(table, name, tomlkit.item(value) if isinstance(value, list) else value)
            was = f" (was {_show(_plain(old))})" if old is not None else ""
            self.changes.append(f"set policy.{name} = {_show(value)}{was}")

    # -- persons ----------------------------------------------------------------------

    def person(self, imp: ImportedPerson) -> None:
        if not imp.id or not isinstance(imp.id, str):
            raise self.error("an imported person has no id")
        if imp.id in self.forges:
            raise self.error(f"imported person {imp.id!r} has the id of a forge (forge and person ids share one "
                             "namespace)", field="forge.id")
        holder = self.persons.get(imp.id)
        if holder is None:
            table = tomlkit.table()
            table["id"] = imp.id
            holder = _Holder("person", imp.id, table)
            self._fields(holder, imp, new=True)
            table.add(tomlkit.nl())
            self._append(self.doc, "person", table, "[[person]]")
            self.persons[imp.id] = holder
            self.changes.append(f"added person {imp.id}")
        else:
            self._fields(holder, imp, new=False)
        for key in imp.keys:
            self._key(holder, key)

    def _fields(self, holder: _Holder, imp: ImportedPerson, *, new: bool) -> None:
        """Fill and update the person's fields, in the order SPEC's example shows them.

        Single values follow the source when it differs (it is the newer
        word on a name or login); lists are unioned, so nothing curated is lost.
        """
        for name, value in (("name", imp.name), ("emails", imp.emails), ("github", imp.github),
                            ("github_id", imp.github_id), ("roles", imp.roles)):
            if isinstance(value, tuple):
                self._union(holder, name, value, new=new)
                continue
            if value is None:
                continue
            old = holder.table.get(name)
            if old is not None and _plain(old) == value:
                continue
            _put(holder.table, name, value)
            if new:
                continue
            if old is None:
                self.changes.append(f"set {name} of {holder.id} to {_show(value)}")
            else:
                self.changes.append(f"updated {name} of {holder.id}: {_show(_plain(old))} -> {_show(value)}")

    def _union(self, holder: _Holder, name: str, values: tuple[str, ...], *, new: bool) -> None:
        fold = str.lower if name == "emails" else str  # e-mail addresses are case-insensitive in practice
        current = holder.table.get(name)
        have = {fold(str(v)) for v in (current or [])}
        added = []
        for v in values:
            if fold(v) not in have:
                have.add(fold(v))
                added.append(v)
        if not added:
            return
        if current is None:
            _put(holder.table, name, list(added))
        elif isinstance(current, Array):
            current.extend(added)
        else:
            raise self.error("must be an array to add to it", field=f"person {holder.id}.{name}")
        if not new:
            what = "e-mail" if name == "emails" else "role"
            for v in added:
                self.changes.append(f"added {what} {v} to {holder.id}")

    # -- keys --------------------------------------------------------------------------

    def _key(self, holder: _Holder, key: ImportedKey) -> None:
        if key.ssh is not None:
            self._ssh_key(holder, key)
        elif key.openpgp is not None:
            self._openpgp_key(holder, key)
        elif key.sigstore is not None:
            self._sigstore_key(holder, key)
        elif key.fingerprint is not None:
            self._pin(holder, key)
        else:
            raise self.error(f"an imported key of {holder.id} has neither ssh, openpgp, sigstore nor fingerprint")

    def _sigstore_key(self, holder: _Holder, key: ImportedKey) -> None:
        identity, issuer = key.sigstore  # type: ignore[misc]
        who = tomlkit.inline_table()
        who.update({"identity": identity, "issuer": issuer})
        self._one_field_key(holder, key, self.sigstore, (identity, issuer), f"Sigstore identity {identity} ({issuer})",
                            "sigstore", who)

    def _one_field_key(self, holder: _Holder, key: ImportedKey, index: dict, lookup, label: str, name: str,
                       value) -> None:
        """A key that one field of its table states (``ssh``, ``sigstore``): merged into the
        table already listing it (the same holder only), or added as a new table."""
        found = index.get(lookup)
        if found is not None:
            other, table = found
            if other is not holder:
                raise self._other_holder(holder, other, label)
            self._attributes(table, key, label, holder, new=False)
            return
        table = tomlkit.table()
        table[name] = value
        self._attributes(table, key, label, holder, new=True)
        self._add_key(holder, table)
        index[lookup] = (holder, table)
        self.changes.append(f"added {label} to {holder.id}")

    def _other_holder(self, holder: _Holder, other: _Holder, what: str) -> KeyringError:
        return self.error(f"{what}, imported for {holder.id!r}, is already listed for {other}: one key, one "
                          "holder; give the person the same id in the keyring and the source")

    def _ssh_key(self, holder: _Holder, key: ImportedKey) -> None:
        line = " ".join(key.ssh.split())
        blob = _ssh_blob(line)
        if blob is None:
            raise self.error(f"imported SSH key of {holder.id} is not a public key line: {key.ssh!r}")
        fpr = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        self._one_field_key(holder, key, self.ssh, blob, f"key {line.split(' ')[0]} {fpr}", "ssh", line)

    def _openpgp_key(self, holder: _Holder, key: ImportedKey) -> None:
        certs = _split(key.openpgp, lambda msg: self.error(f"imported certificate of {holder.id} cannot be read ({msg})"))
        if key.fingerprint is not None:
            want = _normal_fpr(key.fingerprint)
            certs = [c for c in certs if c.fingerprint.upper() == want]
            if not certs:
                raise self.error(f"imported certificate of {holder.id} is not {want}")
        if not certs:
            raise self.error(f"imported certificate data of {holder.id} holds no certificate")
        for cert in certs:
            self._one_cert(holder, key, _public(cert))

    def _one_cert(self, holder: _Holder, key: ImportedKey, cert: pysequoia.Cert) -> None:
        fpr = cert.fingerprint.upper()
        label = f"OpenPGP certificate {fpr}"
        found = self.openpgp.get(fpr)
        if found is not None:
            other, table, rel = found
            if other is not holder:
                raise self._other_holder(holder, other, label)
            if rel is None:
                rel = self._store_cert(holder, cert)
                _put_first(table, "openpgp", rel)
                self.openpgp[fpr] = (holder, table, rel)
                self.changes.append(f"added certificate for pinned OpenPGP fingerprint {fpr} of {holder.id} ({rel})")
            elif self._refresh(rel, cert):
                self.changes.append(f"refreshed {label} of {holder.id} ({rel})")
            self._attributes(table, key, label, holder, new=False)
            return
        rel = self._store_cert(holder, cert)
        table = tomlkit.table()
        table["openpgp"] = rel
        table["fingerprint"] = fpr
        self._attributes(table, key, label, holder, new=True)
        self._add_key(holder, table)
        self.openpgp[fpr] = (holder, table, rel)
        self.changes.append(f"added {label} to {holder.id} ({rel})")

    def _store_cert(self, holder: _Holder, cert: pysequoia.Cert) -> str:
        """A new file for ``cert``; an existing file of that name must hold the same certificate."""
        fpr = cert.fingerprint.upper()
        rel = f"{KEYS_DIR}/{_FILE_SAFE.sub('_', holder.id)}-{fpr[-16:]}.asc"
        if rel in self.files or (self.directory / rel).exists():
            if not any(c.fingerprint.upper() == fpr for c in self._certs(rel)):
                raise self.error(f"{rel} exists and holds another certificate; move it away to import {fpr}")
            self._refresh(rel, cert)
        else:
            self.files[rel] = str(cert).encode("utf-8")
        return rel

    def _refresh(self, rel: str, cert: pysequoia.Cert) -> bool:
        """Merge ``cert`` into the file holding it, so new revocations and subkeys land; True if it changed."""
        fpr = cert.fingerprint.upper()
        old_data = self.files.get(rel)
        if old_data is None:
            old_data = (self.directory / rel).read_bytes()
        certs = self._certs(rel)
        changed = False
        for i, old in enumerate(certs):
            if old.fingerprint.upper() != fpr:
                continue
            merged = old.merge(cert)
            if bytes(merged) != bytes(old):
                certs[i] = merged
                changed = True
        if changed:
            armored = old_data.lstrip().startswith(b"-----BEGIN")
            self.files[rel] = (b"".join(str(c).encode("utf-8") for c in certs) if armored
                               else b"".join(bytes(c) for c in certs))
        return changed

    def _pin(self, holder: _Holder, key: ImportedKey) -> None:
        fpr = _normal_fpr(key.fingerprint or "")
        if not _FPR.fullmatch(fpr):
            raise self.error(f"imported fingerprint {key.fingerprint!r} of {holder.id} is not 40 hex digits")
        found = self.openpgp.get(fpr)
        if found is not None:
            other, _, _ = found
            if other is not holder:
                raise self._other_holder(holder, other, f"OpenPGP fingerprint {fpr}")
            return
        table = tomlkit.table()
        table["fingerprint"] = fpr
        self._add_key(holder, table)
        self.openpgp[fpr] = (holder, table, None)
        self.changes.append(f"pinned OpenPGP fingerprint {fpr} for {holder.id} (no certificate)")

    def _attributes(self, table: Any, key: ImportedKey, label: str, holder: _Holder, *, new: bool) -> None:
        """Validity, namespaces and revocation as the source states them.

        On an existing key a source may narrow or move the validity period and
        namespaces, and may revoke; it never un-revokes, and a bound it does
        not state is left alone. ``source``/``obtained`` record the first
        import only (trust on first use), which also keeps re-imports idempotent.
        """
        where = f"{label} of {holder.id}"
        for name, value in (("valid_after", key.valid_after), ("valid_before", key.valid_before)):
            if value is None:
                continue
            moment = _utc(value)
            old = table.get(name)
            if old is not None and _utc(old) == moment:
                continue
            _put(table, name, _toml_time(moment))
            if not new:
                was = f" (was {_stamp(_utc(old))})" if old is not None else ""
                self.changes.append(f"set {name} of {where} to {_stamp(moment)}{was}")
        if key.namespaces is not None:
            old = table.get("namespaces")
            if old is None or [str(n) for n in old] != list(key.namespaces):
                _put(table, "namespaces", list(key.namespaces))
                if not new:
                    was = f" (was {', '.join(map(str, old))})" if old is not None else " (was: any)"
                    self.changes.append(f"set namespaces of {where} to {', '.join(key.namespaces)}{was}")
        if key.signing_keys is not None:
            wanted = [_normal_fpr(f) for f in key.signing_keys]
            old = table.get("signing_keys")
            if old is None or [str(f) for f in old] != wanted:
                _put(table, "signing_keys", wanted)
                if not new:
                    was = f" (was {', '.join(map(str, old))})" if old is not None else " (was: every signing key)"
                    self.changes.append(f"set signing_keys of {where} to {', '.join(wanted)}{was}")
        if key.revoked and table.get("revoked") is not True:
            _put(table, "revoked", True)
            if not new:
                self.changes.append(f"marked {where} revoked")
        elif not key.revoked and table.get("revoked") is True and not new:
            self.notes.append(f"{where} stays revoked: the keyring says so, the source does not")
        if new:
            if key.source is not None:
                table["source"] = key.source
            if key.obtained is not None:
                table["obtained"] = _toml_time(_utc(key.obtained))

    # -- document structure --------------------------------------------------------------

    def _add_key(self, holder: _Holder, table: Table) -> None:
        table.add(tomlkit.nl())
        if holder.kind != "person":
            raise self.error(f"cannot add keys to {holder}")
        self._append(holder.table, "key", table, f"person {holder.id}.key")

    def _append(self, parent: Any, name: str, table: Table, field: str) -> None:
        """Append ``table`` to the array of tables ``parent[name]``, laid out as a person would.

        ``table`` ends with a blank line, so whatever follows stays apart; a
        blank line goes before it only where the text before does not end
        with one. tomlkit adds its own separators to arrays it did not parse,
        so the indent is set after insertion.
        """
        current = parent.get(name)
        if current is None:
            before = _rendered(parent)
            aot = tomlkit.aot()
            aot.append(table)
            parent[name] = aot
        elif isinstance(current, AoT):
            before = current[-1].as_string() if len(current) else _rendered(parent)
            current.append(table)
        else:
            raise self.error(f"is written inline; write it as [[{name}]] tables so an import can add to it",
                             field=field)
        table.trivia.indent = "" if (not before or before.endswith("\n\n")) else "\n"


def _put(table: Any, name: str, value: Any) -> None:
    """``table[name] = value`` through tomlkit's public API only.

    tomlkit places a new plain key before the table's sub-tables; a comment
    that trails the table's last key stays above the new key (cosmetic only:
    the key still belongs to the same table). Reaching into tomlkit's private
    insertion methods broke every import when tomlkit 0.15 removed one.
    """
    table[name] = value


def _put_first(table: Any, name: str, value: Any) -> None:
    """A new key in ``table`` (see `_put`: its position is tomlkit's choice)."""
    table[name] = value


def _rendered(container: Any) -> str:
    return container.as_string() if hasattr(container, "as_string") else ""


# -- values -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _utc(value: Any) -> datetime:
    value = _plain(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    raise TypeError(f"not a date-time: {value!r}")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _toml_time(moment: datetime) -> Any:
    return tomlkit.datetime(_stamp(moment))


def _ssh_blob(line: str) -> bytes | None:
    """The key's wire encoding: the same key whatever its comment or base64 spelling."""
    parts = line.split()
    if len(parts) < 2:
        return None
    try:
        return base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def _normal_fpr(text: str) -> str:
    return text.replace(" ", "").upper()


def _split(data: bytes, error) -> list[pysequoia.Cert]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return list(pysequoia.Cert.split_bytes(bytes(data)))
    except Exception as exc:  # pysequoia raises ValueError/RuntimeError with anyhow text
        lines = str(exc).strip().splitlines()
        raise error(lines[0] if lines else type(exc).__name__) from None


def _public(cert: pysequoia.Cert) -> pysequoia.Cert:
    """The certificate without secret key material: a keyring holds public keys only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if not cert.has_secret_keys:
            return cert
    return pysequoia.Cert.from_bytes(str(cert).encode("utf-8"))


# -- writing ----------------------------------------------------------------------------


def _write_and_check(directory: Path, writes: dict[str, bytes]) -> None:
    """Write every file atomically, keyring.toml last, then load the result; undo all on failure."""
    made: list[Path] = []
    backups: list[tuple[Path, bytes | None]] = []
    try:
        for rel in sorted(writes, key=lambda r: r == KEYRING_FILE):
            path = directory / rel
            _make_dirs(path.parent, made)
            backups.append((path, path.read_bytes() if path.exists() else None))
            _atomic_write(path, writes[rel])
        load_keyring(directory)
    except BaseException as exc:
        for path, old in reversed(backups):
            try:
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    _atomic_write(path, old)
            except OSError:
                pass
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise KeyringError(f"cannot write the keyring: {exc.strerror or exc}",
                               path=str(getattr(exc, "filename", None) or directory)) from None
        raise


def _make_dirs(path: Path, made: list[Path]) -> None:
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir()
        made.append(d)


def _atomic_write(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of either."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # created like any file the user makes (0666 less the umask), not 0600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
