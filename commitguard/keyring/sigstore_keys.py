"""Keyring entries for keyless (Sigstore, gitsign) signers, checked as strictly as any key.

``sigstore = {identity = "...", issuer = "https://..."}`` in a ``[[person.key]]``
or ``[[forge]]``; ``[policy] sigstore_trusted_root = "FILE"`` for another
Sigstore instance's ``trusted_root.json``. An identity is compared byte for
byte with the certificate's, so anything a reader could not see (white space
around it, control or invisible characters) is refused here rather than
silently matching nobody.
"""

from __future__ import annotations

from typing import Any

from commitguard.keyring import identifiers
from commitguard.keyring.model import SigstoreIdentity

MAX_FIELD_CHARS = 1024
# gitsign signs commits and tags only: a Sigstore key can be scoped to nothing else.
SIGSTORE_NAMESPACES = ("git",)


def parse_identity(ctx, field: str, value: Any) -> SigstoreIdentity:
    """``{identity, issuer}``; ``ctx.error`` names the field at fault."""
    if not isinstance(value, dict):
        raise ctx.error(field, "must be an inline table {identity = \"...\", issuer = \"https://...\"}")
    unknown = sorted(set(value) - {"identity", "issuer"})
    if unknown:
        raise ctx.error(f"{field}.{unknown[0]}", "unknown field (allowed: identity, issuer)")
    identity = _text(ctx, f"{field}.identity", value.get("identity"), "an email or a workflow identity URI")
    issuer = _text(ctx, f"{field}.issuer", value.get("issuer"), "the OIDC issuer URL")
    if not issuer.startswith("https://"):
        raise ctx.error(f"{field}.issuer", f"must be an https:// OIDC issuer URL (found {issuer!r})")
    if "@" not in identity and "://" not in identity:
        raise ctx.error(f"{field}.identity", f"must be an email address or a URI (found {identity!r})")
    return SigstoreIdentity(identity, issuer)


def _text(ctx, field: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ctx.error(field, f"is required: {what}")
    if len(value) > MAX_FIELD_CHARS:
        raise ctx.error(field, f"is longer than {MAX_FIELD_CHARS} characters")
    if value != value.strip() or any(c.isspace() for c in value):
        raise ctx.error(field, f"{value!r} contains white space")
    if not value.isprintable():
        raise ctx.error(field, f"{value!r} contains control characters")
    hidden = identifiers.invisible_characters(value)
    if hidden:
        raise ctx.error(field, f"{value!r} contains invisible character(s) {', '.join(hidden)}")
    return value


def check_namespaces(ctx, field: str, namespaces: tuple[str, ...] | None) -> None:
    if namespaces is None:
        return
    unknown = [n for n in namespaces if n not in SIGSTORE_NAMESPACES]
    if unknown:
        raise ctx.error(field, f"{', '.join(map(repr, unknown))} cannot be enforced for a Sigstore identity: "
                               "gitsign signs commits and tags (namespace 'git') only")


def trusted_root(ctx, field: str, relative: Any) -> bytes:
    """The bytes of a keyring's own ``trusted_root.json``, read through the keyring (so its
    digest covers them) and checked now, so a broken root stops the run (exit 2)."""
    from commitguard.signatures.sigstore import trust  # cryptography's verifier: only when used

    _, data = ctx.read_file(field, relative)
    try:
        trust.load(data, relative)
    except ValueError as exc:
        raise ctx.error(field, f"{relative}: {exc}") from None
    return data
