"""Import nixpkgs' ``maintainers/maintainer-list.nix``: handles, GitHub logins, fingerprints.

The file is Nix code, but in practice a plain attribute set of literals. It
is parsed with tree-sitter and read *statically*: string literals, integers,
lists and attribute sets only. Evaluating it (or guessing at an
interpolation) would let the file decide what we read; instead anything that
is not a literal in a field we use is reported in the notes for its handle.

The list names OpenPGP fingerprints but carries no certificates. A
certificate is taken from the user's GnuPG home when one is given and holds
it; otherwise the fingerprint is kept as a pin, which ``keyring check``
reports as unusable until a certificate is added.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_nix

from commitguard.errors import CommitguardError
from commitguard.keyring import identifiers
from commitguard.keyring.importers.interface import ImportedKey, ImportedPerson, Importer, ImportResult
from commitguard.signatures import openpgp_packets

_HEX = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")
_LANGUAGE = tree_sitter.Language(tree_sitter_nix.language())
# Nix's escapes in "double-quoted" strings; any other escaped character stands for itself
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


class NotStatic(Exception):
    """A value that is not a literal; carries the line and what it is, for the notes."""

    def __init__(self, line: int, what: str):
        super().__init__(what)
        self.line = line
        self.what = what


def _line(node: tree_sitter.Node) -> int:
    return node.start_point[0] + 1


def _text(node: tree_sitter.Node) -> str:
    return node.text.decode("utf-8", errors="replace")


def _named(node: tree_sitter.Node):
    return [c for c in node.named_children if c.type != "comment"]


def string_value(node: tree_sitter.Node) -> str:
    """The value of a string literal without interpolation."""
    if node.type == "string_expression":
        out = []
        for part in _named(node):
            if part.type == "string_fragment":
                out.append(_text(part))
            elif part.type == "escape_sequence":
                ch = _text(part)[1:]
                out.append(_ESCAPES.get(ch, ch))
            else:
                raise NotStatic(_line(part), f"an interpolation ({_text(part)})")
        return "".join(out)
    if node.type == "indented_string_expression":
        parts = _named(node)
        if any(p.type != "string_fragment" for p in parts):
            bad = next(p for p in parts if p.type != "string_fragment")
            kind = "an interpolation" if bad.type == "interpolation" else "an escape"
            raise NotStatic(_line(bad), f"{kind} ({_text(bad)}) in an indented string")
        value = "".join(_text(p) for p in parts)
        if "\n" in value:
            # Nix strips common indentation from multi-line ''strings''; no field we read needs that
            raise NotStatic(_line(node), "a multi-line indented string")
        return value
    raise NotStatic(_line(node), _kind(node))


def _kind(node: tree_sitter.Node) -> str:
    names = {
        "apply_expression": "a function call",
        "variable_expression": "a variable",
        "select_expression": "an attribute selection",
        "let_expression": "a let expression",
        "rec_attrset_expression": "a rec attribute set",
        "with_expression": "a with expression",
        "binary_expression": "an operator expression",
        "if_expression": "an if expression",
        "function_expression": "a function",
        "path_expression": "a path",
        "uri_expression": "a URI literal",
        "float_expression": "a float",
        "string_expression": "a string",
        "indented_string_expression": "a string",
        "integer_expression": "a number",
        "list_expression": "a list",
        "attrset_expression": "an attribute set",
        "unary_expression": "an operator expression",
    }
    snippet = _text(node).split("\n")[0][:40]
    return f"{names.get(node.type, node.type.replace('_', ' '))} ({snippet})"


def attr_bindings(attrset: tree_sitter.Node):
    """(name, value node, line) for each ``name = value;`` of an attribute set.

    ``inherit`` and dotted paths (``a.b = ...;``) are not literals we can
    place without Nix's merge semantics: NotStatic.
    """
    for child in _named(attrset):
        if child.type != "binding_set":
            continue
        for binding in _named(child):
            if binding.type != "binding":
                raise NotStatic(_line(binding), f"{binding.type.replace('_', ' ')} ({_text(binding)[:40]})")
            path = binding.child_by_field_name("attrpath")
            value = binding.child_by_field_name("expression")
            attrs = [a for a in _named(path)] if path is not None else []
            if len(attrs) != 1 or value is None:
                raise NotStatic(_line(binding), f"an attribute path ({_text(path) if path else '?'})")
            yield _attr_name(attrs[0]), value, _line(binding)


def _attr_name(node: tree_sitter.Node) -> str:
    if node.type == "identifier":
        return _text(node)
    if node.type == "string_expression":
        return string_value(node)
    raise NotStatic(_line(node), f"a computed attribute name ({_text(node)})")


def _first_error(root: tree_sitter.Node) -> tree_sitter.Node | None:
    """The first ERROR or MISSING node in document order (iterative: hostile files nest deeply)."""
    if not root.has_error:
        return None
    node = root
    while True:
        if node.is_error or node.is_missing:
            return node
        child = next((c for c in node.children if c.has_error or c.is_missing), None)
        if child is None:
            return node
        node = child


@dataclass
class Entry:
    handle: str
    line: int
    name: str | None = None
    email: str | None = None
    github: str | None = None
    github_id: int | None = None
    fingerprints: list[tuple[str, int]] = field(default_factory=list)  # (fingerprint, line)
    notes: list[str] = field(default_factory=list)
    skipped: bool = False  # the entry itself is not a literal attribute set


def parse_maintainer_list(source: bytes, path: str) -> tuple[list[Entry], list[str]]:
    """Entries of the list, in file order, and notes about what could not be read."""
    parser = tree_sitter.Parser(_LANGUAGE)
    tree = parser.parse(source)
    root = tree.root_node
    bad = _first_error(root)
    if bad is not None:
        what = f"missing {bad.type!r}" if bad.is_missing else f"syntax error near {_text(bad).split(chr(10))[0][:40]!r}"
        raise CommitguardError(f"not valid Nix: {what}", path=path, field=f"line {_line(bad)}")
    top = _named(root)
    if len(top) != 1 or top[0].type != "attrset_expression":
        where = top[0] if top else root
        raise CommitguardError(
            "expected an attribute set { handle = { ... }; ... } of maintainers",
            path=path,
            field=f"line {_line(where)}",
        )
    entries: list[Entry] = []
    notes: list[str] = []
    seen: dict[str, int] = {}
    try:
        bindings = list(attr_bindings(top[0]))
    except NotStatic as exc:
        raise CommitguardError(f"{exc.what} at the top level; expected handle = {{ ... }};", path=path,
                               field=f"line {exc.line}") from None
    for handle, value, line in bindings:
        if handle in seen:
            raise CommitguardError(f"handle {handle!r} is already defined on line {seen[handle]}", path=path,
                                   field=f"line {line}")
        seen[handle] = line
        if value.type != "attrset_expression":
            notes.append(f"{path}: line {line}: {handle}: {_kind(value)} instead of an attribute set; skipped")
            continue
        entries.append(_entry(handle, value, line, path))
    return entries, notes


def _entry(handle: str, attrset: tree_sitter.Node, line: int, path: str) -> Entry:
    entry = Entry(handle, line)

    def note(at: int, message: str) -> None:
        entry.notes.append(f"{path}: line {at}: {handle}: {message}")

    try:
        bindings = list(attr_bindings(attrset))
    except NotStatic as exc:
        note(exc.line, f"{exc.what} cannot be read statically; entry skipped")
        entry.skipped = True
        return entry
    for name, value, at in bindings:
        if name not in ("name", "email", "github", "githubId", "keys"):
            continue  # matrix, githubId's siblings...: fields we never use, whatever they hold
        try:
            if name == "githubId":
                if value.type != "integer_expression":
                    raise NotStatic(_line(value), _kind(value))
                entry.github_id = int(_text(value))
            elif name == "keys":
                _keys(entry, value, note)
            else:
                v = string_value(value)
                setattr(entry, name, v or None)
        except NotStatic as exc:
            expected = {"githubId": "a number", "keys": "a list"}.get(name, "a string")
            note(exc.line, f"{name} is {exc.what}, not {expected} literal; ignored")
    return entry


def _keys(entry: Entry, value: tree_sitter.Node, note) -> None:
    if value.type != "list_expression":
        raise NotStatic(_line(value), _kind(value))
    for element in _named(value):
        if element.type != "attrset_expression":
            note(_line(element), f"keys element is {_kind(element)}, not {{ fingerprint = \"...\"; }}; ignored")
            continue
        fpr_node = None
        try:
            for name, v, _at in attr_bindings(element):
                if name == "fingerprint":
                    fpr_node = v
        except NotStatic as exc:
            note(exc.line, f"keys element holds {exc.what}; ignored")
            continue
        if fpr_node is None:
            note(_line(element), "keys element without a fingerprint; ignored")
            continue
        try:
            raw = string_value(fpr_node)
        except NotStatic as exc:
            note(exc.line, f"fingerprint is {exc.what}; ignored")
            continue
        fpr = "".join(raw.split()).upper()
        if not _HEX.match(fpr):
            note(_line(fpr_node), f"{raw!r} is not an OpenPGP fingerprint (40 hex digits); ignored")
            continue
        if any(f == fpr for f, _ in entry.fingerprints):
            note(_line(fpr_node), f"fingerprint {fpr} listed twice; kept once")
            continue
        entry.fingerprints.append((fpr, _line(fpr_node)))


class _GnuPGHome:
    """Certificates from the user's GnuPG home, looked up once rather than one gpg run per fingerprint."""

    def __init__(self, home: str):
        import gnupg  # python-gnupg: only needed when a GnuPG home is given

        if not os.path.isdir(home):
            raise CommitguardError("GnuPG home not found", path=home)
        try:
            self.gpg = gnupg.GPG(gnupghome=home)
            listed = self.gpg.list_keys()
        except (OSError, ValueError, RuntimeError) as exc:
            raise CommitguardError(f"cannot run gpg: {exc}", path=home) from None
        self.home = home
        self.primary_of: dict[str, str] = {}
        for key in listed:
            primary = key.get("fingerprint", "").upper()
            if not primary:
                continue
            self.primary_of[primary] = primary
            for sub in key.get("subkey_info", {}) or {}:
                fpr = (key["subkey_info"][sub].get("fingerprint") or "").upper()
                if fpr:
                    self.primary_of[fpr] = primary
            for sub in key.get("subkeys", []) or []:
                if len(sub) >= 3 and sub[2]:
                    self.primary_of[sub[2].upper()] = primary

    def cert(self, fingerprint: str) -> tuple[bytes, str] | None:
        """(binary certificate, its primary fingerprint) or None when the home lacks it."""
        primary = self.primary_of.get(fingerprint)
        if primary is None:
            return None
        data = self.gpg.export_keys(primary, armor=False)
        if isinstance(data, str):
            data = data.encode("latin-1")
        if not data:
            return None
        try:
            certs = openpgp_packets.split_certs(data)
        except ValueError as exc:
            raise CommitguardError(f"gpg exported an unreadable certificate for {primary} ({exc})",
                                   path=self.home) from None
        for info in certs:
            if info.fingerprint == primary and not info.has_secret:
                return info.cert_bytes, primary
        return None


def _name_problem(name: str, seen: dict, what: str, owner: str | None = None) -> str | None:
    """Why ``name`` cannot join the names already ``seen`` (skeleton -> (name, owner)), or None (and it joins)."""
    hidden = identifiers.invisible_characters(name)
    if hidden:
        return f"{what} {name!r} contains invisible character(s) {', '.join(hidden)}"
    scripts = identifiers.mixed_scripts(name)
    if scripts:
        return f"{what} {name!r} mixes {' and '.join(x.title() for x in scripts)} letters"
    key = identifiers.skeleton(name)
    if key in seen:
        prev, prev_owner = seen[key]
        return f"{what} {name!r} cannot be told apart from {prev!r}" + (f" ({prev_owner}'s)" if prev_owner else "")
    seen[key] = (name, owner)
    return None


class MaintainerListImporter(Importer):
    """Persons from ``maintainer-list.nix``; optionally only the handles named after the file."""

    name = "maintainer-list"

    def load(self) -> ImportResult:
        if not self.request.args:
            raise CommitguardError("needs the path of maintainer-list.nix", field="FILE")
        path = self.request.args[0]
        wanted = list(dict.fromkeys(self.request.args[1:]))
        try:
            with open(path, "rb") as f:
                source = f.read()
        except FileNotFoundError:
            raise CommitguardError("file not found", path=path) from None
        except OSError as exc:
            raise CommitguardError(f"cannot be read: {exc.strerror}", path=path) from None
        entries, notes = parse_maintainer_list(source, path)
        by_handle = {e.handle: e for e in entries}
        if wanted:
            missing = [h for h in wanted if h not in by_handle]
            if missing:
                raise CommitguardError(f"no maintainer {', '.join(map(repr, missing))} in the list", path=path,
                                       field="HANDLE")
            entries = [by_handle[h] for h in wanted]
            notes = [n for n in notes if any(f": {h}: " in n for h in wanted)]

        gnupg_home = _GnuPGHome(self.request.gnupg_home) if self.request.gnupg_home else None
        persons: list[ImportedPerson] = []
        pins = 0
        # a keyring refuses ids and logins a reader could mistake for one another
        # (commitguard.keyring.identifiers): such entries are left out here, with a
        # note, instead of making the whole import fail at the end
        ids_seen: dict[str, str] = {}
        logins_seen: dict[str, str] = {}
        for entry in entries:
            notes.extend(entry.notes)
            if entry.skipped:
                continue
            if entry.handle == "maintainers" or entry.handle.startswith("role:"):
                notes.append(
                    f"{path}: line {entry.line}: handle {entry.handle!r} is reserved for keyring rules; skipped"
                )
                continue
            clash = _name_problem(entry.handle, ids_seen, "handle")
            if clash:
                notes.append(f"{path}: line {entry.line}: {clash}; skipped")
                continue
            github = entry.github
            if github is not None:
                clash = (f"GitHub login {github!r} is not ASCII" if not github.isascii()
                         else _name_problem(github, logins_seen, "GitHub login", entry.handle))
                if clash:
                    notes.append(f"{path}: line {entry.line}: {entry.handle}: {clash}; imported without it")
                    github = None
            keys = []
            for fpr, line in entry.fingerprints:
                found = gnupg_home.cert(fpr) if gnupg_home else None
                if found is None:
                    pins += 1
                    keys.append(ImportedKey(fingerprint=fpr))
                    continue
                cert, primary = found
                if primary != fpr:
                    notes.append(f"{path}: line {line}: {entry.handle}: {fpr} is a subkey of {primary}; "
                                 f"the certificate is pinned by its primary fingerprint")
                keys.append(ImportedKey(openpgp=cert, fingerprint=primary,
                                        source=f"maintainer-list:{entry.handle} via GnuPG home {gnupg_home.home}",
                                        obtained=self.request.now))
            persons.append(
                ImportedPerson(
                    id=entry.handle,
                    name=entry.name,
                    emails=(entry.email,) if entry.email else (),
                    github=github,
                    github_id=entry.github_id if github is not None or entry.github is None else None,
                    keys=tuple(keys),
                )
            )
        if pins:
            where = f"GnuPG home {self.request.gnupg_home}" if gnupg_home else "no GnuPG home was given"
            notes.append(
                f"{pins} fingerprint(s) without a certificate ({where}): kept as pins, which verify nothing "
                "until a certificate is added (keyring check lists them)"
            )
        return ImportResult(persons=tuple(persons), notes=tuple(notes))
