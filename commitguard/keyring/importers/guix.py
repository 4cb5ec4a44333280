"""Import a Guix channel's authorizations: ``.guix-authorizations`` plus its keyring branch.

Guix authenticates a channel with two things kept in the repository itself:
the list of authorized OpenPGP fingerprints (``.guix-authorizations``) and
the certificates behind them (``.key`` files on the keyring branch named by
``.guix-channel``). This importer reads both from HEAD and describes them as
persons, so a Guix-style repository can be verified by commitguard under the
same rules, including Guix's disregard of key expiry.

The files are read with a small, strict S-expression reader rather than
evaluated: they are data, and anything outside the documented shape is an
error naming its line instead of a guess about what was meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pygit2
import pysequoia

from commitguard.errors import CommitguardError
from commitguard.git.revisions import open_repository, resolve_commit
from commitguard.git.trees import entry_at
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, Importer, ImportResult
from commitguard.signatures import openpgp_packets

AUTHORIZATIONS_FILE = ".guix-authorizations"
CHANNEL_FILE = ".guix-channel"
DEFAULT_KEYRING_BRANCH = "keyring"
EXPIRY_NOTE = "Guix ignores OpenPGP key expiry; set openpgp_expiry = ignore"

_HEX = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")
_RESERVED_IDS = ("maintainers",)


# -- S-expressions ------------------------------------------------------------


@dataclass(frozen=True)
class SList:
    items: tuple
    line: int


@dataclass(frozen=True)
class SString:
    value: str
    line: int


@dataclass(frozen=True)
class SAtom:
    """A symbol or number, kept as its text: the shapes we accept need no arithmetic."""

    text: str
    line: int


_ESCAPES = {
    "\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "a": "\a", "f": "\f", "v": "\v", "b": "\b", "0": "\0",
}
_DELIMITERS = set(" \t\r\n\f\v()\";'`,[]{}")
_MAX_DEPTH = 64  # the shapes we accept nest four deep; deeper is hostile, not Guix


class SexpReader:
    """Reads the subset of Guile's syntax these files use: lists, strings, atoms, comments.

    Vectors, brackets, quasi-quotation and other reader extensions are errors:
    they never appear in the shapes we accept, and refusing them keeps the
    reader from quietly disagreeing with Guile about what a file says.
    """

    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.pos = 0
        self.line = 1
        self.depth = 0

    def error(self, message: str, line: int | None = None) -> CommitguardError:
        return CommitguardError(message, path=self.path, field=f"line {line or self.line}")

    def read_all(self) -> list:
        out = []
        while True:
            self._skip_atmosphere()
            if self.pos >= len(self.text):
                return out
            out.append(self._datum())

    def _peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def _advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.pos < len(self.text) and self.text[self.pos] == "\n":
                self.line += 1
            self.pos += 1

    def _skip_atmosphere(self) -> None:
        pending: list[int] = []  # lines of '#;' datum comments still waiting for their datum
        while True:
            c = self._peek()
            if not c:
                break
            if c in " \t\r\n\f\v":
                self._advance()
            elif c == ";":
                while self.pos < len(self.text) and self._peek() != "\n":
                    self._advance()
            elif c == "#" and self._peek(1) == "|":
                self._block_comment()
            elif c == "#" and self._peek(1) == ";":
                pending.append(self.line)
                self._advance(2)
            elif pending and c != ")":
                pending.pop()
                self._datum()
            else:
                break
        if pending:
            raise self.error("'#;' comments out nothing", pending[-1])

    def _block_comment(self) -> None:
        start = self.line
        depth = 0
        while self.pos < len(self.text):
            if self._peek() == "#" and self._peek(1) == "|":
                depth += 1
                self._advance(2)
            elif self._peek() == "|" and self._peek(1) == "#":
                depth -= 1
                self._advance(2)
                if depth == 0:
                    return
            else:
                self._advance()
        raise self.error("unterminated '#|' comment", start)

    def _datum(self):
        c = self._peek()
        if c == "(":
            return self._list()
        if c == ")":
            raise self.error("unexpected ')'")
        if c == '"':
            return self._string()
        if c in "'`,[]{}":
            raise self.error(f"unexpected {c!r}: only lists, strings and symbols are read here")
        if c == "#" and self._peek(1) in "(\\":
            raise self.error("vectors and character literals are not read here")
        return self._atom()

    def _list(self) -> SList:
        start = self.line
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(f"lists nested more than {_MAX_DEPTH} deep")
        self._advance()
        items = []
        while True:
            self._skip_atmosphere()
            if self.pos >= len(self.text):
                raise self.error("unbalanced '(': the list is never closed", start)
            if self._peek() == ")":
                self._advance()
                self.depth -= 1
                return SList(tuple(items), start)
            items.append(self._datum())

    def _string(self) -> SString:
        start = self.line
        self._advance()
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated string", start)
            c = self._peek()
            if c == '"':
                self._advance()
                return SString("".join(out), start)
            if c == "\\":
                e = self._peek(1)
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                    self._advance(2)
                elif e == "\n":
                    # Guile's line continuation: the newline and the next line's indentation vanish
                    self._advance(2)
                    while self._peek() in (" ", "\t"):
                        self._advance()
                elif not e:
                    raise self.error("unterminated string", start)
                else:
                    raise self.error(f"unsupported escape '\\{e}' in a string")
                continue
            out.append(c)
            self._advance()

    def _atom(self) -> SAtom:
        start = self.line
        begin = self.pos
        while self.pos < len(self.text) and self._peek() not in _DELIMITERS:
            self._advance()
        return SAtom(self.text[begin:self.pos], start)


def _describe(datum) -> str:
    if isinstance(datum, SList):
        return "a list"
    if isinstance(datum, SString):
        return f"the string {datum.value!r}"
    return f"{datum.text!r}"


def _is_atom(datum, text: str) -> bool:
    return isinstance(datum, SAtom) and datum.text == text


def _read_single(text: str, path: str, what: str) -> SList:
    """The file's one top-level form; a second one would be silently ignored by Guix, so it is refused."""
    reader = SexpReader(text, path)
    forms = reader.read_all()
    if not forms:
        raise CommitguardError(f"is empty; expected {what}", path=path, field="line 1")
    first = forms[0]
    if len(forms) > 1:
        raise reader.error(f"unexpected {_describe(forms[1])} after {what}", getattr(forms[1], "line", None))
    if not isinstance(first, SList):
        raise reader.error(f"expected {what}, found {_describe(first)}", first.line)
    return first


def _check_version(form: SList, index: int, path: str, head: str) -> None:
    if len(form.items) <= index:
        raise CommitguardError(f"({head} ...) lacks (version 0)", path=path, field=f"line {form.line}")
    v = form.items[index]
    if not (isinstance(v, SList) and len(v.items) == 2 and _is_atom(v.items[0], "version")):
        raise CommitguardError(f"expected (version 0), found {_describe(v)}", path=path, field=f"line {v.line}")
    if not _is_atom(v.items[1], "0"):
        raise CommitguardError(
            f"unsupported version {_describe(v.items[1])} (only version 0 is known)", path=path, field=f"line {v.line}"
        )


@dataclass(frozen=True)
class Authorization:
    fingerprint: str  # upper-case hex, no spaces
    name: str | None
    line: int


def parse_authorizations(text: str, path: str = AUTHORIZATIONS_FILE) -> tuple[list[Authorization], list[str]]:
    """``(authorizations (version 0) (("FPR" (name "x")) ...))`` -> authorizations and notes.

    Properties other than ``name`` are legal in Guix and mean nothing to it
    either; they are reported in the notes rather than refused.
    """
    form = _read_single(text, path, "(authorizations (version 0) (...))")
    if not form.items or not _is_atom(form.items[0], "authorizations"):
        raise CommitguardError(
            "expected (authorizations (version 0) (...))", path=path, field=f"line {form.line}"
        )
    _check_version(form, 1, path, "authorizations")
    if len(form.items) < 3:
        raise CommitguardError("(authorizations ...) lacks the list of authorized keys", path=path,
                               field=f"line {form.line}")
    entries = form.items[2]
    if not isinstance(entries, SList):
        raise CommitguardError(f"expected the list of authorized keys, found {_describe(entries)}", path=path,
                               field=f"line {entries.line}")
    if len(form.items) > 3:
        extra = form.items[3]
        raise CommitguardError(f"unexpected {_describe(extra)} after the list of authorized keys", path=path,
                               field=f"line {extra.line}")

    out: list[Authorization] = []
    notes: list[str] = []
    seen: dict[str, Authorization] = {}
    for entry in entries.items:
        where = f"line {entry.line}"
        if not isinstance(entry, SList) or not entry.items or not isinstance(entry.items[0], SString):
            raise CommitguardError(
                f'expected ("FINGERPRINT" (name "NAME")), found {_describe(entry)}', path=path, field=where
            )
        raw_fpr = entry.items[0].value
        fpr = "".join(raw_fpr.split()).upper()
        if not _HEX.match(fpr):
            raise CommitguardError(f"{raw_fpr!r} is not an OpenPGP fingerprint (40 hex digits)", path=path,
                                   field=where)
        name = None
        for prop in entry.items[1:]:
            if not (isinstance(prop, SList) and len(prop.items) >= 1 and isinstance(prop.items[0], SAtom)):
                raise CommitguardError(f"expected a property such as (name \"NAME\"), found {_describe(prop)}",
                                       path=path, field=f"line {prop.line}")
            key = prop.items[0].text
            if key == "name":
                if len(prop.items) != 2 or not isinstance(prop.items[1], SString) or not prop.items[1].value.strip():
                    raise CommitguardError('expected (name "NAME") with one non-empty string', path=path,
                                           field=f"line {prop.line}")
                if name is not None:
                    raise CommitguardError("a second (name ...) for the same key", path=path,
                                           field=f"line {prop.line}")
                name = prop.items[1].value.strip()
                if name in _RESERVED_IDS or name.startswith("role:"):
                    raise CommitguardError(f"name {name!r} is reserved for keyring rules and cannot be a person id",
                                           path=path, field=f"line {prop.line}")
            else:
                notes.append(f"{path}: line {prop.line}: property ({key} ...) of {fpr} ignored (Guix ignores it too)")
        previous = seen.get(fpr)
        if previous is not None:
            raise CommitguardError(f"{fpr} is already authorized on line {previous.line}", path=path, field=where)
        auth = Authorization(fpr, name, entry.line)
        seen[fpr] = auth
        out.append(auth)
    return out, notes


def parse_channel_keyring_branch(text: str, path: str = CHANNEL_FILE) -> str:
    """The ``keyring-reference`` of ``(channel (version 0) ...)``, or Guix's default."""
    form = _read_single(text, path, "(channel (version 0) ...)")
    if not form.items or not _is_atom(form.items[0], "channel"):
        raise CommitguardError("expected (channel (version 0) ...)", path=path, field=f"line {form.line}")
    _check_version(form, 1, path, "channel")
    branch = None
    for prop in form.items[2:]:
        if not (isinstance(prop, SList) and prop.items and isinstance(prop.items[0], SAtom)):
            raise CommitguardError(f"expected a property such as (keyring-reference \"NAME\"), found {_describe(prop)}",
                                   path=path, field=f"line {prop.line}")
        if prop.items[0].text != "keyring-reference":
            continue
        if len(prop.items) != 2 or not isinstance(prop.items[1], SString) or not prop.items[1].value:
            raise CommitguardError('expected (keyring-reference "BRANCH") with one non-empty string', path=path,
                                   field=f"line {prop.line}")
        if branch is not None:
            raise CommitguardError("a second (keyring-reference ...)", path=path, field=f"line {prop.line}")
        branch = prop.items[1].value
    return branch or DEFAULT_KEYRING_BRANCH


# -- the repository -----------------------------------------------------------------


def _blob_text(repo: pygit2.Repository, tree: pygit2.Tree, name: str, path: str) -> str | None:
    obj = entry_at(tree, name)
    if obj is None:
        return None
    if not isinstance(obj, pygit2.Blob):
        raise CommitguardError("is not a file", path=path)
    try:
        return obj.data.decode("utf-8")
    except UnicodeDecodeError:
        raise CommitguardError("is not UTF-8 text", path=path) from None


def _keyring_commit(repo: pygit2.Repository, branch: str, channel_path: str) -> tuple[str, pygit2.Commit]:
    """Guix looks the branch up among local and remote branches alike; local wins here."""
    for refname in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        try:
            ref = repo.references.get(refname)
        except (pygit2.GitError, pygit2.InvalidSpecError, ValueError):
            ref = None
        if ref is None:
            continue
        try:
            return refname, ref.peel(pygit2.Commit)
        except (pygit2.GitError, ValueError) as exc:
            raise CommitguardError(f"{refname} does not point to a commit ({exc})", path=channel_path,
                                   field="keyring-reference") from None
    raise CommitguardError(
        f"keyring branch {branch!r} not found (neither refs/heads/{branch} nor refs/remotes/origin/{branch}); "
        "fetch it first",
        path=channel_path,
        field="keyring-reference",
    )


def _key_files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = ""):
    """Every ``.key`` blob under the tree, recursively, in path order (Guix reads the whole tree)."""
    for entry in sorted(tree, key=lambda e: e.name):
        path = f"{prefix}{entry.name}"
        if entry.filemode == pygit2.enums.FileMode.TREE:
            yield from _key_files(repo, repo[entry.id], path + "/")
        elif path.endswith(".key") and entry.filemode in (
            pygit2.enums.FileMode.BLOB,
            pygit2.enums.FileMode.BLOB_EXECUTABLE,
        ):
            yield path, repo[entry.id].data
        elif path.endswith(".key"):
            yield path, None


def _holder_cert(certs: dict, fingerprint: str) -> str | None:
    """The primary fingerprint of the certificate holding key ``fingerprint`` (primary or bound subkey)."""
    if fingerprint in certs:
        return fingerprint
    for primary, (_, info, _) in certs.items():
        if fingerprint in info.key_fingerprints:
            return primary
    return None


class GuixImporter(Importer):
    """Persons from HEAD's ``.guix-authorizations``, certificates from the keyring branch."""

    name = "guix"

    def load(self) -> ImportResult:
        repo = open_repository(self.request.repo)
        try:
            head = repo.head.peel(pygit2.Commit)
        except (pygit2.GitError, KeyError, ValueError):
            raise CommitguardError("HEAD does not point to a commit", path=self.request.repo) from None
        auth_path = f"HEAD:{AUTHORIZATIONS_FILE}"
        channel_path = f"HEAD:{CHANNEL_FILE}"

        text = _blob_text(repo, head.tree, AUTHORIZATIONS_FILE, auth_path)
        if text is None:
            raise CommitguardError(f"not found in HEAD's tree ({head.id}): not a Guix-authenticated channel",
                                   path=auth_path)
        authorizations, notes = parse_authorizations(text, auth_path)

        channel_text = _blob_text(repo, head.tree, CHANNEL_FILE, channel_path)
        branch = DEFAULT_KEYRING_BRANCH if channel_text is None else parse_channel_keyring_branch(channel_text,
                                                                                                   channel_path)
        refname, keyring_commit = _keyring_commit(repo, branch, channel_path)
        certs = self._load_certs(repo, refname, keyring_commit)

        policy: dict[str, str] = {"openpgp_expiry": "ignore"}
        if self.request.introduction:
            oid = resolve_commit(repo, self.request.introduction, "channel introduction")
            if oid != head.id and not repo.descendant_of(head.id, oid):
                # Guix refuses such a channel: its history never passes through the introduction
                raise CommitguardError(
                    f"channel introduction {oid} is not an ancestor of HEAD ({head.id})", field="introduction"
                )
            policy["trust_root"] = str(oid)
        notes.append(EXPIRY_NOTE)
        notes.append(
            f"authorizations as of HEAD ({head.id}); Guix judges each commit by its parent's "
            f"{AUTHORIZATIONS_FILE}, this keyring judges every commit by HEAD's"
        )

        persons: dict[str, list] = {}
        order: list[str] = []
        # Guix authorizes the key that made the signature, primary or subkey
        # (git-authenticate.scm compares the fingerprint of the key found for
        # the signature's issuer): each certificate is imported once, with
        # exactly its authorized keys as ``signing_keys``.
        by_cert: dict[str, tuple[str, list[str]]] = {}  # primary -> (person id, authorized keys)
        for auth in authorizations:
            pid = auth.name or auth.fingerprint[-16:]
            holder = _holder_cert(certs, auth.fingerprint)
            if holder is not None and holder in by_cert:
                owner, keys = by_cert[holder]
                keys.append(auth.fingerprint)
                if owner != pid:
                    notes.append(f"{auth_path}: line {auth.line}: {auth.fingerprint} is a key of certificate {holder}, "
                                 f"already authorized for {owner}: kept for {owner} (one key, one holder)")
                continue
            if pid not in persons:
                persons[pid] = []
                order.append(pid)
            if holder is None:
                notes.append(
                    f"{auth_path}: line {auth.line}: no certificate holds {auth.fingerprint} on {refname}; "
                    f"kept as a pin for {pid}: its signatures are reported as pinned, but without a certificate"
                )
                persons[pid].append(ImportedKey(fingerprint=auth.fingerprint))
                continue
            by_cert[holder] = (pid, [auth.fingerprint])
            persons[pid].append(holder)
        for pid in order:
            keys = []
            for item in persons[pid]:
                if isinstance(item, ImportedKey):
                    keys.append(item)
                    continue
                cert_bytes, _info, paths = certs[item]
                keys.append(ImportedKey(
                    openpgp=cert_bytes,
                    fingerprint=item,
                    signing_keys=tuple(by_cert[item][1]),
                    source=f"guix:{refname}:{', '.join(paths)}",
                    obtained=self.request.now,
                ))
            persons[pid] = keys
        for primary, (pid, authorized) in by_cert.items():
            weak = sorted({h for fpr in authorized
                           for h in (getattr(openpgp_packets.key_facts(certs[primary][0], fpr), "binding_hashes", ())
                                     or ())})
            if weak:
                notes.append(
                    f"certificate {primary} of {pid} binds its authorized key(s) with {', '.join(weak)} "
                    "self-signatures: Guix accepts them, commitguard rejects every signature by such a key "
                    "(weak-signature) unless policy.openpgp_sha1 = \"accept\" (which also accepts SHA-1 commit "
                    "signatures); better, the holder re-signs the bindings with SHA-256 and the keyring branch is updated"
                )
        for fpr, (_, _, paths) in certs.items():
            if fpr not in by_cert:
                notes.append(f"{refname}:{', '.join(paths)}: certificate {fpr} is not authorized; not imported")
        return ImportResult(
            persons=tuple(ImportedPerson(id=pid, keys=tuple(persons[pid])) for pid in order),
            policy=policy,
            notes=tuple(notes),
        )

    def _load_certs(self, repo: pygit2.Repository, refname: str, commit: pygit2.Commit) -> dict:
        """primary fingerprint -> (certificate bytes, CertInfo, [paths]); copies of one cert are merged."""
        certs: dict[str, tuple[bytes, openpgp_packets.CertInfo, list[str]]] = {}
        short = refname.removeprefix("refs/heads/").removeprefix("refs/remotes/")
        for path, data in _key_files(repo, commit.tree):
            where = f"{short}:{path}"
            if data is None:
                raise CommitguardError("is not a regular file (a symlink or submodule?)", path=where)
            try:
                found = openpgp_packets.split_certs(data)
            except ValueError as exc:
                raise CommitguardError(f"not an OpenPGP certificate ({exc})", path=where) from None
            if not found:
                raise CommitguardError("holds no OpenPGP certificate", path=where)
            for info in found:
                if info.has_secret:
                    raise CommitguardError("holds secret key material; a keyring branch holds public certificates",
                                           path=where)
                previous = certs.get(info.fingerprint)
                if previous is None:
                    certs[info.fingerprint] = (info.cert_bytes, info, [path])
                    continue
                merged = _merge(previous[0], info.cert_bytes, where)
                certs[info.fingerprint] = (merged, _split_one(merged, where), previous[2] + [path])
        return certs


def _merge(a: bytes, b: bytes, where: str) -> bytes:
    """Two copies of one certificate (Guix merges them into its keyring too)."""
    try:
        return bytes(pysequoia.Cert.from_bytes(a).merge(pysequoia.Cert.from_bytes(b)))
    except Exception as exc:  # pysequoia raises anyhow errors as RuntimeError/ValueError
        raise CommitguardError(f"cannot merge with an earlier copy of the same certificate ({exc})",
                               path=where) from None


def _split_one(data: bytes, where: str) -> openpgp_packets.CertInfo:
    try:
        (info,) = openpgp_packets.split_certs(data)
    except ValueError as exc:
        raise CommitguardError(f"merged certificate unreadable ({exc})", path=where) from None
    return info
