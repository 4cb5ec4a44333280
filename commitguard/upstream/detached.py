"""Release files and the detached signatures published beside them.

Order matters: the file must first be the one the expression pins (its flat
hash for fetchurl, the NAR of its unpacked tree for fetchzip); only then does
a signature over the file say anything about the package. A signature is
looked for where upstreams put it: ``FILE.sig``, ``FILE.asc``, ``FILE.sign``,
and kernel.org's ``NAME.tar.sign`` over the *uncompressed* tar beside
``NAME.tar.xz`` (kup signs the tar so one signature serves every compression).
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import lzma
from datetime import datetime, timezone
from pathlib import Path

from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream import archive, mirror, nar
from commitguard.upstream.binding import mismatched, recomputable, unbound
from commitguard.upstream.interface import EvidenceContext, EvidenceSource, unavailable, unreachable
from commitguard.upstream.matching import fetcher_name, release_urls
from commitguard.upstream.scratch import scratch_directory
from commitguard.upstream.signing import MAX_SIGNATURE_BYTES, SignatureOutcome, UpstreamVerifier, armored

FLAT_FETCHERS = frozenset({"fetchurl", "fetchPypi", "fetchpypi"})
UNPACK_FETCHERS = frozenset({"fetchzip", "fetchCrate"})
SIGNATURE_SUFFIXES = (".sig", ".asc", ".sign")
_DECOMPRESSORS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
# A decompressed tar is written to a scratch file and its OpenPGP signature
# checked streaming from it (memory stays flat); beyond this size, or beyond
# the archive ratio limit, the kernel.org-style signature is reported as not
# checked (SECURITY.md "Upstream archives").
MAX_UNCOMPRESSED_BYTES = 2 << 30
# Arguments that change the fetched output in ways not reproduced here.
_ALTERING_ARGS = ("postFetch", "extraPostFetch", "downloadToTemp", "postUnpack", "curlOpts", "curlOptsList", "netrcPhase")
_INERT_ARGS = frozenset({"name", "pname", "version", "meta", "passthru", "hash", "sha256", "sha512", "outputHash"})
# When several signatures sit beside one file, the strongest answer speaks;
# the others are named in the reason.
_RANK = {"verified": 0, "forge-verified": 1, "bad-signature": 2, "unknown-key": 3, "unsigned": 4}


class DetachedSignatureSource(EvidenceSource):
    name = "detached-signature"

    def applies(self, call: FetcherCall) -> bool:
        name = fetcher_name(call)
        located = bool(call.url or call.urls) or bool({"url", "urls"} & set(call.unresolved))
        return (name in FLAT_FETCHERS or name in UNPACK_FETCHERS) and located

    def judge(self, call: FetcherCall, context: EvidenceContext) -> UpstreamEvidence | None:
        refused = unreachable(call, context, "the release file", "the release file")
        if refused is not None:
            return refused
        urls = release_urls(call)
        found = mirror.first_file(context.mirror, urls)
        if found is None:
            looked = mirror.file_candidates(context.mirror, urls[0])
            where = f" (no file at {looked[0]})" if looked else ""
            return unavailable(f"{urls[0]} is not in the upstream mirror{where}")
        url, path = found
        mismatch, bound, binding_note = _binding(call, path)
        signature = _signatures(path, context.verifier(call, namespace=b"file"))
        if mismatch is not None:
            return mismatched(signature, f"{url}: {mismatch}", "its")
        signature = dataclasses.replace(signature, reason=f"{url}: {signature.reason}")
        if not bound:
            return unbound(signature, binding_note)
        return dataclasses.replace(signature, reason=f"{signature.reason}; {binding_note}")


# -- the hash ---------------------------------------------------------------------------------


def _doubts(call: FetcherCall) -> list[str]:
    reasons = [f"{a} is set" for a in _ALTERING_ARGS if call.args.get(a) not in (None, False, "", [])]
    unresolved = [u for u in call.unresolved if u not in _INERT_ARGS]
    if unresolved:
        reasons.append(f"{', '.join(unresolved)} not known statically")
    return reasons


def _binding(call: FetcherCall, path: Path) -> tuple[str | None, bool, str]:
    """(a certain mismatch or None; whether the hash is shown to be the file's; a note saying how)."""
    algorithm, why_not = recomputable(call, "this file")
    if algorithm is None:
        return None, False, why_not
    doubts = _doubts(call)
    if fetcher_name(call) in UNPACK_FETCHERS:
        kind = "NAR hash of the unpacked archive"
        try:
            got = _unpacked_hash(call, path, algorithm)
        except archive.FetchzipRefuses as exc:
            if doubts:
                return None, False, f"fetchzip cannot produce any output from it ({exc}), but {'; '.join(doubts)}"
            return f"fetchzip cannot produce any output from it: {exc}", False, ""
        except (archive.ArchiveError, nar.NarError) as exc:
            return None, False, f"the archive cannot be unpacked here ({exc}), so the expression's hash is not checked"
    elif call.args.get("recursiveHash") or call.args.get("executable"):
        kind = "NAR hash of the file"
        got = nar.hash_file_nar(path, bool(call.args.get("executable")), algorithm)
    else:
        kind = "hash of the file"
        got = nar.hash_flat(path, algorithm)
    if got == call.hash:
        return None, True, f"the expression's hash is the {kind}"
    mismatch = f"the expression pins {call.hash}, the {kind} is {got}"
    if doubts:
        return None, False, f"{mismatch} and {'; '.join(doubts)}: the output may differ from the signed file"
    return mismatch, False, ""


def fetchzip_name(call: FetcherCall) -> str:
    """The name fetchzip gives the download before ``unpackFile`` (which chooses the unpacker by it):
    ``download.EXT`` with ``extension``, else the last component of the first URL."""
    if fetcher_name(call) == "fetchCrate":
        return "download.tar.gz"  # nixpkgs' fetchCrate: fetchzip { extension = "tar.gz"; }
    extension = call.args.get("extension")
    if isinstance(extension, str) and extension:
        return f"download.{extension}"
    url = call.url or (call.urls[0] if call.urls else "")
    return url.rsplit("/", 1)[-1]


def _unpacked_hash(call: FetcherCall, path: Path, algorithm: str) -> str:
    with scratch_directory("commitguard-unpack-") as tmp:
        unpacked = tmp / "unpack"
        unpacked.mkdir()
        archive.unpack(path, unpacked, fetchzip_name(call))
        root = archive.fetchzip_root(unpacked, call.args.get("stripRoot", True) is not False, tmp / "out")
        return nar.hash_path(root, algorithm)


# -- the signatures ---------------------------------------------------------------------------


def _signature_files(path: Path) -> list[tuple[Path, str]]:
    """(signature file, what it signs: "file" or a decompressor suffix)."""
    found = [(path.with_name(path.name + s), "file") for s in SIGNATURE_SUFFIXES]
    stem = path.name
    for suffix in _DECOMPRESSORS:
        if stem.endswith(".tar" + suffix):
            found.append((path.with_name(stem[: -len(suffix)] + ".sign"), suffix))
    return [(p, over) for p, over in found if p.is_file()]


def _decompress_to(path: Path, suffix: str, dest: Path) -> str | None:
    """Decompress ``path`` into the file ``dest``, chunk by chunk; the reason when a limit stops it."""
    limit = min(MAX_UNCOMPRESSED_BYTES, max(archive.RATIO_ALLOWANCE, archive.MAX_RATIO * path.stat().st_size))
    written = 0
    with _DECOMPRESSORS[suffix](path, "rb") as handle, open(dest, "wb") as out:
        while chunk := handle.read(1 << 20):
            written += len(chunk)
            if written > limit:
                return (f"which is larger than {limit} bytes (limit: {MAX_UNCOMPRESSED_BYTES} bytes, and "
                        f"{archive.MAX_RATIO} times the compressed size beyond {archive.RATIO_ALLOWANCE})")
            out.write(chunk)
    return None


def _check_one(sig_path: Path, over: str, path: Path, verifier: UpstreamVerifier, payloads: dict,
               scratch: Path) -> SignatureOutcome:
    if sig_path.stat().st_size > MAX_SIGNATURE_BYTES:
        return SignatureOutcome("bad-signature", f"{sig_path.name} is too large to be a signature")
    signature = armored(sig_path.read_bytes())
    if signature is None:
        return SignatureOutcome("bad-signature", f"{sig_path.name} holds no OpenPGP or SSH signature")
    if over not in payloads:
        if over == "file":
            payloads[over] = path
        else:
            dest = scratch / f"uncompressed{len(payloads)}.tar"
            try:
                too_large = _decompress_to(path, over, dest)
            except (OSError, EOFError, lzma.LZMAError) as exc:
                return SignatureOutcome("bad-signature", f"{sig_path.name} signs the uncompressed tar, but "
                                        f"{path.name} does not decompress ({exc})")
            payloads[over] = dest if too_large is None else too_large
    payload = payloads[over]
    if isinstance(payload, str):
        return SignatureOutcome("unsigned", f"{sig_path.name} signs the uncompressed tar, {payload}; "
                                "it was not checked")
    # Detached signatures carry no trustworthy time of their own for SSH: keys'
    # validity windows are judged at the time of checking. The payload stays on
    # disk: OpenPGP signatures are checked streaming from it.
    outcome = verifier.verify_file(signature, payload, datetime.now(timezone.utc), subject="this file")
    what = f"{sig_path.name} (over the uncompressed tar)" if over != "file" else sig_path.name
    return SignatureOutcome(outcome.status, f"{what}: {outcome.reason}", outcome.signer, outcome.key)


def _signatures(path: Path, verifier: UpstreamVerifier) -> UpstreamEvidence:
    files = _signature_files(path)
    if not files:
        return UpstreamEvidence(status="unsigned",
                                reason=f"no signature ({', '.join(SIGNATURE_SUFFIXES)}) beside {path.name} in the mirror")
    with scratch_directory("commitguard-sign-") as scratch:
        payloads: dict = {}
        outcomes = [_check_one(sig_path, over, path, verifier, payloads, scratch) for sig_path, over in files]
    best = min(outcomes, key=lambda o: _RANK.get(o.status, 9))
    others = [o for o in outcomes if o is not best]
    reason = best.reason + "".join(f"; also {o.status}: {o.reason}" for o in others)
    return best.as_evidence("detached-signature", reason)
