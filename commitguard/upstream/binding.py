"""Whether an expression's hash is what upstream signed, and what to say when that is not shown.

A signature vouches for bytes: a tree, a file. A package builds whatever its
fixed-output hash names, and Nix reuses any store path with that hash
without fetching again. So a signature says something about a package only
when the expression's hash was recomputed here from the signed bytes and
found equal. Every other case (no hash, a hash kind that cannot be
recomputed, an archive that cannot be unpacked here, arguments that make the
fetcher's output differ from the signed bytes) is ``unbound``: the signature
may be genuine, but nothing shows the package fetches what it covers, so it
is never ``verified`` and never trusted.

The arguments below are written by the pull request's author, so none of
them may excuse a mismatch into a pass; they only decide whether a mismatch
is certain (``hash-mismatch``) or merely not excluded (``unbound``).
"""

from __future__ import annotations

from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream import nar

# Arguments that change which hash a fetcher's output has, per nixpkgs'
# fetchers: scripts run on the output, a .git directory kept, submodules or
# LFS objects added, a subset checked out, the archive's top directory kept,
# options given to curl, a git checkout instead of the forge's archive, the
# file's NAR instead of its bytes, another unpacker. ``audit-bump`` reports
# one added (or changed) by a change as high severity: after it, the new hash
# may name something other than what upstream signed. Which of them the
# evidence modules reproduce exactly is their own business (a mismatch with
# one they do not reproduce is ``unbound``, never excused).
HASH_ALTERING_ARGS = (
    "postFetch",
    "extraPostFetch",
    "postUnpack",
    "leaveDotGit",
    "deepClone",
    "fetchSubmodules",
    "fetchLFS",
    "sparseCheckout",
    "nonConeMode",
    "rootDir",
    "stripRoot",
    "curlOpts",
    "curlOptsList",
    "downloadToTemp",
    "executable",
    "recursiveHash",
    "extension",
    "forceFetchGit",
)


def truthy(value) -> bool:
    return value not in (None, False, "", 0, [], (), {})


def altering_args(args: dict) -> dict[str, object]:
    """The hash-altering arguments a call sets (``stripRoot`` counts only when false)."""
    found = {}
    for name in HASH_ALTERING_ARGS:
        if name not in args:
            continue
        value = args[name]
        if name == "stripRoot":
            if value is False:
                found[name] = value
        elif truthy(value):
            found[name] = value
    return found


def unbound(signature: UpstreamEvidence, why: str) -> UpstreamEvidence:
    """The signature's answer when the hash is not shown to be what was signed.

    A signature that would have counted becomes ``unbound`` (signer and key
    kept, so a reader sees whose signature it is); one that would not have
    counted anyway (``forge-verified`` included) keeps its own status, with
    the reason added.
    """
    if signature.status == "verified":
        return UpstreamEvidence(
            status="unbound",
            reason=f"{signature.reason}; but {why}, so the signature does not vouch for what the expression "
            "fetches (the hash is not bound to it)",
            evidence=signature.evidence,
            signer=signature.signer,
            key=signature.key,
        )
    return UpstreamEvidence(status=signature.status, reason=f"{signature.reason}; {why}",
                            evidence=signature.evidence, signer=signature.signer, key=signature.key)


def recomputable(call: FetcherCall, subject: str) -> tuple[str | None, str | None]:
    """(the algorithm to recompute the expression's hash with, None), or (None, why the hash
    cannot be bound to ``subject``: there is none, or it is of a kind not recomputed here)."""
    if call.hash is None:
        return None, f"the expression gives no hash, so nothing binds it to {subject}"
    wanted = nar.parse_sri(call.hash)
    if wanted is None:
        return None, f"the expression's hash {call.hash} is not one that can be recomputed"
    return wanted[0], None


def mismatched(signature: UpstreamEvidence, mismatch: str, whose: str = "the") -> UpstreamEvidence:
    """``hash-mismatch``: the expression's hash is certainly not that of the signed bytes.

    No signer is named, whatever the signature says: it vouches for bytes the
    package does not build. The signature's own answer stays in the reason.
    """
    return UpstreamEvidence(
        status="hash-mismatch",
        reason=f"{mismatch}; {whose} signature does not vouch for what the expression fetches "
        f"({signature.status}: {signature.reason})",
        evidence=signature.evidence,
        key=signature.key,
    )
