"""Load and validate ``keyring.toml``: strict, because a typo here is a hole.

A misspelt ``revokd = true`` that were silently ignored would keep trusting a
revoked key, so unknown fields are errors, every error names the file and the
field, and nothing is defaulted that the user could have meant otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tomllib
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sshpubkeys

from commitguard.errors import KeyringError
from commitguard.keyring import identifiers, sigstore_keys
from commitguard.keyring.model import (
    Forge,
    KeyEntry,
    KeyKind,
    Keyring,
    OpenPGPKey,
    SUPPORTED_KINDS,
    VOUCH_KINDS,
    Person,
    Policy,
    Rule,
    SshKey,
    Upstream,
    Verifier,
)
from commitguard.signatures import openpgp_packets

KEYRING_FILE = "keyring.toml"
FORMAT_VERSION = 1

_POLICY_CHOICES = {
    "forge": ("reject", "accept"),
    "openpgp_sha1": ("reject", "accept"),
    "openpgp_expiry": ("enforce", "ignore"),
}
_TOP_FIELDS = {"version", "policy", "person", "forge", "rule", "upstream", "verifier"}
_PERSON_FIELDS = {"id", "name", "emails", "github", "github_id", "roles", "key", "handle"}
_KEY_FIELDS = {
    "ssh", "openpgp", "fingerprint", "valid_after", "valid_before", "revoked", "namespaces", "comment", "source", "obtained",
    "signing_keys", "sigstore",
}
# What an OpenPGP signature can be checked for: commits and tags ("git") and
# signed review approvals. Unlike SSH, an OpenPGP signature carries no
# namespace, so the restriction is the verifier's to enforce, and only these
# two are ever asked for; any other name could never be enforced.
OPENPGP_NAMESPACES = ("git", "commitguard-approval")
_FORGE_FIELDS = {"id", "openpgp", "ssh", "sigstore", "fingerprint", "valid_after", "valid_before", "revoked", "key"}
_RULE_FIELDS = {"paths", "approvals", "approvers", "exclude_author", "name"}
_UPSTREAM_FIELDS = {"match", "openpgp", "ssh", "fingerprint", "valid_after", "valid_before", "revoked", "name"}

# SSH key types we can verify; anything else in a keyring is an error rather
# than a key that silently never matches.
SSH_KEY_TYPES = {
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
}


class _Ctx:
    """Where we are in the file, so every error can name its field."""

    def __init__(self, directory: Path, toml_path: Path):
        self.directory = directory
        self.toml_path = toml_path
        self.files: dict[str, bytes] = {}

    def error(self, field: str, message: str) -> KeyringError:
        return KeyringError(message, path=str(self.toml_path), field=field)

    def read_file(self, field: str, relative: str) -> tuple[str, bytes]:
        if not isinstance(relative, str) or not relative:
            raise self.error(field, "must be a path to a certificate file, relative to the keyring")
        if os.path.isabs(relative) or ".." in Path(relative).parts:
            raise self.error(field, f"{relative!r} must stay inside the keyring directory")
        full = self.directory / relative
        _stays_inside(self, field, relative, full)
        try:
            data = full.read_bytes()
        except FileNotFoundError:
            raise self.error(field, f"key file {relative} not found in {self.directory}") from None
        except OSError as exc:
            raise self.error(field, f"key file {relative} cannot be read: {exc.strerror}") from None
        self.files[relative] = data
        return str(full), data


def _stays_inside(ctx: "_Ctx", field: str, relative: str, full: Path) -> None:
    """Refuse a key file that is, or sits under, a symlink leading out of the keyring.

    The keyring is what the user reviewed; a symlink to ``~/.gnupg/...`` or to
    a file another user controls would make the trust decision depend on a
    file nobody sees in the keyring's diff. Symlinks that stay inside are
    harmless and allowed.
    """
    try:
        base = ctx.directory.resolve(strict=True)
        target = full.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise ctx.error(field, f"key file {relative} cannot be resolved: {exc}") from None
    if target != base and base not in target.parents:
        raise ctx.error(
            field,
            f"key file {relative} is a symlink leading outside the keyring directory (to {target}); "
            "copy the certificate into the keyring",
        )


def find_keyring_file(directory: str | os.PathLike) -> Path:
    directory = Path(directory)
    toml_path = directory / KEYRING_FILE
    if not directory.is_dir():
        raise KeyringError("keyring directory not found", path=str(directory))
    if not toml_path.is_file():
        raise KeyringError(f"no {KEYRING_FILE} in the keyring directory", path=str(directory))
    return toml_path


def load_keyring(directory: str | os.PathLike) -> Keyring:
    """Load the keyring kept in ``directory`` (which holds ``keyring.toml``)."""
    toml_path = find_keyring_file(directory)
    raw_bytes = toml_path.read_bytes()
    return parse_keyring(raw_bytes, Path(directory), toml_path)


def parse_keyring(raw_bytes: bytes, directory: Path, toml_path: Path, read_file=None) -> Keyring:
    """Parse keyring.toml bytes; key files are read from ``directory``.

    ``read_file`` replaces the file reader (used for keyrings read from a
    git tree rather than the file system).
    """
    ctx = _Ctx(directory, toml_path)
    if read_file is not None:
        ctx.read_file = lambda field, rel: _read_via(ctx, read_file, field, rel)  # type: ignore[method-assign]
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ctx.error("(file)", "is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ctx.error("(syntax)", f"invalid TOML: {exc}") from None

    _no_unknown(ctx, "", data, _TOP_FIELDS)
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise ctx.error("version", f"must be {FORMAT_VERSION} (found {version!r})")

    policy = _policy(ctx, data.get("policy", {}))
    persons = tuple(_person(ctx, i, p) for i, p in enumerate(_table_list(ctx, "person", data.get("person", []))))
    forges = tuple(_forge(ctx, i, f) for i, f in enumerate(_table_list(ctx, "forge", data.get("forge", []))))
    _distinct_names(ctx, persons, forges)
    _distinct_handles(ctx, persons)
    rules = tuple(_rule(ctx, i, r) for i, r in enumerate(_table_list(ctx, "rule", data.get("rule", []))))
    upstreams = tuple(
        _upstream(ctx, i, u) for i, u in enumerate(_table_list(ctx, "upstream", data.get("upstream", [])))
    )
    verifiers = tuple(_verifier(ctx, i, v) for i, v in enumerate(_table_list(ctx, "verifier", data.get("verifier", []))))
    _distinct_verifiers(ctx, verifiers)
    _no_shared_keys(ctx, persons, (*forges, *verifiers))

    digest = hashlib.sha256()
    digest.update(b"commitguard-keyring-v1\0")
    digest.update(hashlib.sha256(raw_bytes).digest())
    for rel in sorted(ctx.files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(ctx.files[rel]).digest())
    return Keyring(
        path=str(directory),
        digest=digest.hexdigest(),
        policy=policy,
        persons=persons,
        forges=forges,
        rules=rules,
        upstreams=upstreams,
        raw=data,
        verifiers=verifiers,
    )


def _read_via(ctx: _Ctx, reader, field: str, relative: str) -> tuple[str, bytes]:
    if not isinstance(relative, str) or not relative:
        raise ctx.error(field, "must be a path to a certificate file, relative to the keyring")
    if relative.startswith("/") or ".." in Path(relative).parts:
        raise ctx.error(field, f"{relative!r} must stay inside the keyring directory")
    data = reader(relative)
    if data is None:
        raise ctx.error(field, f"key file {relative} not found in {ctx.directory}")
    ctx.files[relative] = data
    return f"{ctx.directory}/{relative}", data


# -- sections -----------------------------------------------------------------


def _table_list(ctx: _Ctx, name: str, value: Any) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ctx.error(name, f"must be an array of tables ([[{name}]])")
    return value


def _no_unknown(ctx: _Ctx, where: str, table: dict, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            raise ctx.error(field, f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _policy(ctx: _Ctx, table: Any) -> Policy:
    if not isinstance(table, dict):
        raise ctx.error("policy", "must be a table")
    _no_unknown(ctx, "policy", table, {"trust_root", "accept", "reviews", "sigstore_trusted_root", *_POLICY_CHOICES})
    values: dict[str, Any] = {}
    for name, choices in _POLICY_CHOICES.items():
        if name in table:
            if table[name] not in choices:
                raise ctx.error(f"policy.{name}", f"must be one of {', '.join(map(repr, choices))}")
            values[name] = table[name]
    root = table.get("trust_root")
    if root is not None:
        if not isinstance(root, str) or len(root) != 40 or any(c not in "0123456789abcdef" for c in root.lower()):
            raise ctx.error("policy.trust_root", "must be a full 40-hex commit id")
        values["trust_root"] = root.lower()
    if "accept" in table:
        values["accept"] = _accept(ctx, table["accept"])
    if "reviews" in table:
        reviews = table["reviews"]
        if not isinstance(reviews, int) or isinstance(reviews, bool) or reviews < 1:
            raise ctx.error("policy.reviews", f"must be a whole number of at least 1 (found {reviews!r})")
        values["reviews"] = reviews
    if "sigstore_trusted_root" in table:
        values["sigstore_trusted_root"] = sigstore_keys.trusted_root(
            ctx, "policy.sigstore_trusted_root", table["sigstore_trusted_root"])
    return Policy(**values)


def _accept(ctx: _Ctx, value: Any) -> tuple[str, ...]:
    """``policy.accept``: what may vouch for a commit.

    Refused rather than guessed: an empty list (nothing could vouch, so
    nothing would ever be trusted: surely not what was meant), a kind nobody
    knows (a typo would drop a kind the user relies on), a kind listed twice
    (a merge of two edits that a reader should look at), and a kind this
    version cannot check yet (ignoring it would leave the user believing a
    check ran).
    """
    field = "policy.accept"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.error(field, f"must be an array of strings among {', '.join(VOUCH_KINDS)}")
    if not value:
        raise ctx.error(field, "must list at least one kind: with none, nothing could vouch for any commit "
                               f"(allowed: {', '.join(VOUCH_KINDS)})")
    seen: set[str] = set()
    for kind in value:
        if kind not in VOUCH_KINDS:
            raise ctx.error(field, f"unknown kind {kind!r} (allowed: {', '.join(VOUCH_KINDS)})")
        if kind in seen:
            raise ctx.error(field, f"lists {kind!r} twice")
        seen.add(kind)
        if kind not in SUPPORTED_KINDS:
            raise ctx.error(field, f"\"{kind}\" is not supported by this version of commitguard "
                                   f"(supported: {', '.join(SUPPORTED_KINDS)})")
    return tuple(value)


def _string(ctx: _Ctx, field: str, value: Any, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ctx.error(field, "is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ctx.error(field, "must be a non-empty string")
    return value


def _strings(ctx: _Ctx, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ctx.error(field, "must be an array of non-empty strings")
    return tuple(value)


def _bool(ctx: _Ctx, field: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ctx.error(field, "must be true or false")
    return value


def _moment(ctx: _Ctx, field: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ctx.error(field, "needs a time zone (write e.g. 2025-01-01T00:00:00Z)")
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    raise ctx.error(field, "must be a TOML date-time such as 2025-01-01T00:00:00Z")


def _person(ctx: _Ctx, index: int, table: dict) -> Person:
    where = f"person[{index}]"
    _no_unknown(ctx, where, table, _PERSON_FIELDS)
    pid = _string(ctx, f"{where}.id", table.get("id"), required=True)
    assert pid is not None
    if pid.startswith("role:") or pid == "maintainers":
        raise ctx.error(f"{where}.id", f"{pid!r} is reserved for rules")
    keys_raw = table.get("key", [])
    if not isinstance(keys_raw, list) or not all(isinstance(k, dict) for k in keys_raw):
        raise ctx.error(f"{where}.key", "must be an array of tables ([[person.key]])")
    keys: list[KeyEntry] = []
    pins: list[str] = []
    for k_index, k in enumerate(keys_raw):
        kwhere = f"{where}.key[{k_index}]"
        if "ssh" not in k and "openpgp" not in k and "sigstore" not in k and "fingerprint" in k:
            _no_unknown(ctx, kwhere, k, _KEY_FIELDS)
            pins.append(_fingerprint(ctx, f"{kwhere}.fingerprint", k["fingerprint"]))
            continue
        keys.extend(_key(ctx, kwhere, k, _KEY_FIELDS))
    github_id = table.get("github_id")
    if github_id is not None and (not isinstance(github_id, int) or isinstance(github_id, bool)):
        raise ctx.error(f"{where}.github_id", "must be a number")
    return Person(
        id=pid,
        name=_string(ctx, f"{where}.name", table.get("name")),
        emails=_strings(ctx, f"{where}.emails", table.get("emails")),
        github=_string(ctx, f"{where}.github", table.get("github")),
        roles=_strings(ctx, f"{where}.roles", table.get("roles")),
        keys=tuple(keys),
        github_id=github_id,
        pins=tuple(pins),
        handle=_handle(ctx, f"{where}.handle", table.get("handle")),
    )


def _handle(ctx: _Ctx, field: str, value: Any) -> str | None:
    """A maintainer handle: non-empty, with nothing around or inside it a reader cannot see.

    ``meta.maintainers`` entries are matched to it byte for byte, so a stray
    space would silently match nobody, and an invisible character or a mix of
    scripts would make two handles that read alike name different persons.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(field, "must be a non-empty string (a maintainer handle)")
    if value != value.strip():
        raise ctx.error(field, f"maintainer handle {value!r} begins or ends with white space")
    hidden = identifiers.invisible_characters(value)
    if hidden:
        raise ctx.error(field, f"maintainer handle {value!r} contains invisible character(s) {', '.join(hidden)}")
    scripts = identifiers.mixed_scripts(value)
    if scripts:
        raise ctx.error(field, f"maintainer handle {value!r} mixes {' and '.join(s.title() for s in scripts)} letters")
    return value


def _forge(ctx: _Ctx, index: int, table: dict) -> Forge:
    fid, keys = _key_holder(ctx, "forge", index, table)
    return Forge(id=fid, keys=keys)


def _verifier(ctx: _Ctx, index: int, table: dict) -> Verifier:
    vid, keys = _key_holder(ctx, "verifier", index, table)
    return Verifier(id=vid, keys=keys)


def _distinct_verifiers(ctx: _Ctx, verifiers: tuple[Verifier, ...]) -> None:
    found = identifiers.problems([(f"verifier[{i}].id", v.id) for i, v in enumerate(verifiers)], "id")
    if found is not None:
        raise ctx.error(*found)


def _key_holder(ctx: _Ctx, section: str, index: int, table: dict) -> tuple[str, tuple[KeyEntry, ...]]:
    """A ``[[forge]]`` or ``[[verifier]]``: an id and its keys, inline or as ``[[SECTION.key]]``."""
    where = f"{section}[{index}]"
    _no_unknown(ctx, where, table, _FORGE_FIELDS)
    fid = _string(ctx, f"{where}.id", table.get("id"), required=True)
    assert fid is not None
    keys: list[KeyEntry] = []
    if "key" in table:
        sub = table.get("key")
        if not isinstance(sub, list) or not all(isinstance(k, dict) for k in sub):
            raise ctx.error(f"{where}.key", "must be an array of tables")
        for k_index, k in enumerate(sub):
            keys.extend(_key(ctx, f"{where}.key[{k_index}]", k, _KEY_FIELDS))
    inline = {k: v for k, v in table.items() if k not in ("id", "key")}
    if inline:
        keys.extend(_key(ctx, where, inline, _FORGE_FIELDS - {"id", "key"}))
    if not keys:
        raise ctx.error(where, f"a {section} needs a key (openpgp = FILE, ssh = LINE or sigstore = {{identity, issuer}})")
    return fid, tuple(keys)


def _rule(ctx: _Ctx, index: int, table: dict) -> Rule:
    where = f"rule[{index}]"
    _no_unknown(ctx, where, table, _RULE_FIELDS)
    paths = _strings(ctx, f"{where}.paths", table.get("paths"))
    if not paths:
        raise ctx.error(f"{where}.paths", "is required: a rule that matches nothing protects nothing")
    approvals = table.get("approvals", 1)
    if not isinstance(approvals, int) or isinstance(approvals, bool) or approvals < 1:
        raise ctx.error(f"{where}.approvals", "must be a whole number of at least 1")
    approvers = _strings(ctx, f"{where}.approvers", table.get("approvers"))
    if not approvers:
        raise ctx.error(f"{where}.approvers", "is required: who may approve (role:NAME, a person id, maintainers)")
    return Rule(
        paths=paths,
        approvals=approvals,
        approvers=approvers,
        exclude_author=_bool(ctx, f"{where}.exclude_author", table.get("exclude_author"), True),
    )


def _upstream(ctx: _Ctx, index: int, table: dict) -> Upstream:
    where = f"upstream[{index}]"
    _no_unknown(ctx, where, table, _UPSTREAM_FIELDS)
    match = _string(ctx, f"{where}.match", table.get("match"), required=True)
    assert match is not None
    rest = {k: v for k, v in table.items() if k not in ("match", "name")}
    keys = _key(ctx, where, rest, _UPSTREAM_FIELDS - {"match", "name"})
    return Upstream(match=match, keys=tuple(keys))


# -- keys -------------------------------------------------------------------------


def _key(ctx: _Ctx, where: str, table: dict, allowed: set[str]) -> list[KeyEntry]:
    _no_unknown(ctx, where, table, allowed)
    kinds = [kind for kind in ("ssh", "openpgp", "sigstore") if kind in table]
    if len(kinds) != 1:
        raise ctx.error(where, "a key needs exactly one of ssh = \"LINE\", openpgp = \"FILE\" "
                               "or sigstore = {identity = \"...\", issuer = \"https://...\"}")
    has_ssh = kinds == ["ssh"]
    valid_after = _moment(ctx, f"{where}.valid_after", table.get("valid_after"))
    valid_before = _moment(ctx, f"{where}.valid_before", table.get("valid_before"))
    if valid_after and valid_before and valid_after >= valid_before:
        raise ctx.error(f"{where}.valid_before", "must be later than valid_after")
    revoked = _bool(ctx, f"{where}.revoked", table.get("revoked"), False)
    namespaces = table.get("namespaces")
    if namespaces is not None:
        namespaces = _strings(ctx, f"{where}.namespaces", namespaces)
        if not namespaces:
            raise ctx.error(f"{where}.namespaces", "must name at least one namespace (e.g. [\"git\"])")
    source = _string(ctx, f"{where}.source", table.get("source"))
    _string(ctx, f"{where}.comment", table.get("comment"))
    obtained = _moment(ctx, f"{where}.obtained", table.get("obtained"))
    common = dict(
        valid_after=valid_after, valid_before=valid_before, revoked=revoked, where=where,
        namespaces=namespaces, source=source, obtained=obtained,
    )
    if has_ssh:
        if "signing_keys" in table:
            raise ctx.error(f"{where}.signing_keys", "applies to OpenPGP certificates only")
        if "fingerprint" in table:
            pin = _string(ctx, f"{where}.fingerprint", table.get("fingerprint"), required=True)
            ssh = _ssh_key(ctx, f"{where}.ssh", table["ssh"])
            if pin != ssh.fingerprint:
                raise ctx.error(f"{where}.fingerprint", f"pin {pin} does not match the key ({ssh.fingerprint})")
        else:
            ssh = _ssh_key(ctx, f"{where}.ssh", table["ssh"])
        return [KeyEntry(kind=KeyKind.SSH, ssh=ssh, **common)]
    if kinds == ["sigstore"]:
        for name in ("signing_keys", "fingerprint"):
            if name in table:
                raise ctx.error(f"{where}.{name}", "applies to OpenPGP certificates only")
        sigstore_keys.check_namespaces(ctx, f"{where}.namespaces", namespaces)
        identity = sigstore_keys.parse_identity(ctx, f"{where}.sigstore", table["sigstore"])
        return [KeyEntry(kind=KeyKind.SIGSTORE, sigstore=identity, **common)]
    if "signing_keys" in table and "fingerprint" not in table:
        raise ctx.error(f"{where}.signing_keys", "needs fingerprint = PRIMARY: it names keys of one certificate")
    if namespaces is not None:
        unknown = [n for n in namespaces if n not in OPENPGP_NAMESPACES]
        if unknown:
            raise ctx.error(
                f"{where}.namespaces",
                f"{', '.join(map(repr, unknown))} cannot be enforced for an OpenPGP key: an OpenPGP signature names "
                f"no namespace, and commitguard checks OpenPGP keys only for {', '.join(OPENPGP_NAMESPACES)}",
            )
    certs = _openpgp_certs(ctx, where, table["openpgp"], table.get("fingerprint"))
    signing_keys = None
    if "signing_keys" in table:
        signing_keys = tuple(_fingerprint(ctx, f"{where}.signing_keys", f) for f in
                             _strings(ctx, f"{where}.signing_keys", table["signing_keys"]))
        if not signing_keys:
            raise ctx.error(f"{where}.signing_keys", "must name at least one key of the certificate")
        (cert,) = certs  # a fingerprint pin selects exactly one certificate
        for fpr in signing_keys:
            if fpr not in cert.key_fingerprints:
                raise ctx.error(
                    f"{where}.signing_keys",
                    f"{fpr} is not a key of certificate {cert.fingerprint} in {cert.path} "
                    "(or its binding signature does not verify)",
                )
    return [KeyEntry(kind=KeyKind.OPENPGP, openpgp=c, signing_keys=signing_keys, **common) for c in certs]


def _ssh_key(ctx: _Ctx, field: str, line: Any) -> SshKey:
    if not isinstance(line, str) or not line.strip():
        raise ctx.error(field, "must be an OpenSSH public key line (\"ssh-ed25519 AAAA... comment\")")
    line = line.strip()
    parts = line.split()
    if len(parts) < 2:
        raise ctx.error(field, "must be an OpenSSH public key line (\"TYPE BASE64 [comment]\")")
    key_type = parts[0]
    if key_type not in SSH_KEY_TYPES:
        raise ctx.error(field, f"unsupported SSH key type {key_type!r}")
    try:
        parsed = sshpubkeys.SSHKey(line, strict=False, skip_option_parsing=True)
        parsed.parse()
    except Exception as exc:  # sshpubkeys raises a zoo of exception types
        raise ctx.error(field, f"invalid SSH public key: {exc or type(exc).__name__}") from None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ctx.error(field, "invalid base64 in the SSH public key") from None
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    bits = int(parsed.bits or 0)
    weak = None
    if key_type == "ssh-dss":
        weak = "DSA keys are rejected as weak"
    elif key_type == "ssh-rsa" and bits < 2048:
        weak = f"RSA key of {bits} bits is rejected as weak (minimum 2048)"
    return SshKey(line=line, key_type=key_type, blob=blob, fingerprint=fingerprint, bits=bits, weak=weak)


def _openpgp_certs(ctx: _Ctx, where: str, relative: Any, pin: Any) -> list[OpenPGPKey]:
    field = f"{where}.openpgp"
    full, data = ctx.read_file(field, relative)
    try:
        certs = openpgp_packets.split_certs(data)
    except ValueError as exc:
        raise ctx.error(field, f"{relative}: not an OpenPGP certificate ({exc})") from None
    if not certs:
        raise ctx.error(field, f"{relative}: holds no OpenPGP certificate")
    if any(c.has_secret for c in certs):
        raise ctx.error(field, f"{relative}: holds secret key material; a keyring holds public certificates only")
    if pin is not None:
        want = _fingerprint(ctx, f"{where}.fingerprint", pin)
        matching = [c for c in certs if c.fingerprint == want]
        if not matching:
            found = ", ".join(c.fingerprint for c in certs)
            raise ctx.error(f"{where}.fingerprint", f"pin {want} does not match the certificate in {relative} ({found})")
        certs = matching
    return [
        OpenPGPKey(
            path=str(relative),
            cert_bytes=c.cert_bytes,
            fingerprint=c.fingerprint,
            key_fingerprints=c.key_fingerprints,
            user_ids=c.user_ids,
        )
        for c in certs
    ]


def _fingerprint(ctx: _Ctx, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ctx.error(field, "must be a 40-hex OpenPGP fingerprint string")
    fpr = value.replace(" ", "").upper()
    if len(fpr) not in (40, 64) or any(c not in "0123456789ABCDEF" for c in fpr):
        raise ctx.error(field, f"{value!r} is not an OpenPGP fingerprint (40 hex digits)")
    return fpr


def _distinct_names(ctx: _Ctx, persons: tuple[Person, ...], forges: tuple[Forge, ...]) -> None:
    """Ids (persons and forges share one namespace) and GitHub logins that cannot be told apart are refused.

    Two entries a reader cannot tell apart would let one pass as the other
    in every report and rule; see :mod:`commitguard.keyring.identifiers`.
    GitHub logins are compared case-insensitively (GitHub treats them so)
    and must be ASCII, as GitHub requires.
    """
    ids = [(f"person[{i}].id", p.id) for i, p in enumerate(persons)]
    ids += [(f"forge[{i}].id", f.id) for i, f in enumerate(forges)]
    found = identifiers.problems(ids, "id")
    if found is not None:
        raise ctx.error(*found)
    logins = [(f"person[{i}].github", p.github) for i, p in enumerate(persons) if p.github is not None]
    for where, login in logins:
        if not login.isascii():
            raise ctx.error(where, f"GitHub login {login!r} is not ASCII (GitHub logins are letters, digits and '-')")
    found = identifiers.problems(logins, "GitHub login")
    if found is not None:
        raise ctx.error(*found)


def _distinct_handles(ctx: _Ctx, persons: tuple[Person, ...]) -> None:
    """Each maintainer handle names one person; anything else is refused, naming both persons.

    A package's ``meta.maintainers`` names people by handle, and a person
    answers to their id and to their declared ``handle``. If one name (or two
    a reader cannot tell apart, see :mod:`commitguard.keyring.identifiers`)
    could be either of two persons, one of them would approve the other's
    packages. A person's own id and handle may coincide or look alike: they
    name the same person. GitHub logins are another namespace and are not
    compared here (``_distinct_names`` keeps them apart from one another).
    """
    seen: dict[str, tuple[int, str, str, str]] = {}  # skeleton -> (index, person id, "id"|"handle", name)
    for index, person in enumerate(persons):
        names = [("id", person.id)]
        if person.handle is not None:
            names.append(("handle", person.handle))
        for kind, name in names:
            key = identifiers.skeleton(name)
            previous = seen.get(key)
            if previous is None:
                seen[key] = (index, person.id, kind, name)
                continue
            other_index, other_id, other_kind, other = previous
            if other_id == person.id:
                continue
            # ids among themselves are _distinct_names' to refuse: here one side is a handle
            field = f"person[{index}].handle" if kind == "handle" else f"person[{other_index}].handle"
            if other == name:
                message = (f"maintainer handle {name!r} could mean person {other_id!r} (its {other_kind}) or person "
                           f"{person.id!r} (its {kind}): rename one, a handle must name one person")
            else:
                why = "differ only in case" if other.casefold() == name.casefold() else "look alike"
                message = (f"maintainer handles {other!r} (the {other_kind} of person {other_id!r}) and {name!r} "
                           f"(the {kind} of person {person.id!r}) {why}: rename one, a handle must name one person")
            raise ctx.error(field, message)


def _no_shared_keys(ctx: _Ctx, persons: tuple[Person, ...], forges: tuple) -> None:
    """One key, one holder: otherwise a signature could not name its signer."""
    owners: dict[str, str] = {}
    entries = [(p.id, k) for p in persons for k in p.keys] + [(f.id, k) for f in forges for k in f.keys]
    for owner, key in entries:
        if key.sigstore is not None:
            ids = [key.display]
        else:
            ids = [key.ssh.fingerprint] if key.ssh else list(key.openpgp.key_fingerprints)  # type: ignore[union-attr]
        for kid in ids:
            previous = owners.get(kid)
            if previous is not None and previous != owner:
                raise ctx.error(key.where, f"key {kid} is already listed for {previous!r}")
            owners[kid] = owner
