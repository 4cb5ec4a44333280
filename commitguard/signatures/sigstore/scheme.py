"""Sigstore (gitsign) commit signatures: x509/CMS, verified in process, trusted only with a log entry.

A gitsign signature is a detached CMS signature made with a key that lives
for one signing, certified for ten minutes by Sigstore's Fulcio CA to an
identity (an email, or a CI workflow) that an OIDC issuer vouched for. The
certificate alone proves little once it has expired; what proves it was
valid when the commit was signed is the Rekor transparency log's signed
entry for the signature. So, in order:

1. the CMS signature is read (malformed otherwise) and its certificate must
   name one identity and one issuer the Fulcio way (unknown-key otherwise);
2. the signature verifies over this commit: message digest and ECDSA
   signature over the signed attributes (bad-signature otherwise);
3. the log entry is found (embedded, offline mirror, online when allowed)
   and must be Rekor's signed record of exactly this signature (bad-signature);
4. the certificate was valid at the entry's integrated time (expired-key)
   and chains, at that time, to a Fulcio CA of the trusted root
   (unknown-key when it names no CA of the root, bad-signature when it names
   one but does not chain: a forgery), and carries an SCT that a CT log of
   the root signed (:mod:`.sct`; unknown-key without any, bad-signature when
   none verifies);
5. without an entry the answer is unknown-key, "no transparency-log entry",
   after steps 1, 2 and 4 (judged at the certificate's own start): never
   trusted on the certificate alone;
6. the identity and issuer are looked up in the keyring, and the keyring's
   own word on that entry (revoked, validity window at the log time) applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from commitguard.keyring.index import KeyIndex
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import UNATTRIBUTED, SignatureInfo, SignatureType, SignatureVerdict, Status
from commitguard.signatures import policy as checks
from commitguard.signatures.interface import SignatureScheme
from commitguard.signatures.sigstore import cms, rekor, sct, trust
from commitguard.signatures.sigstore.rekor import (LogEntry, Transparency, transparency_for,  # noqa: F401 (as before)
                                                  transparency_from_environment)

_STAMP = "%Y-%m-%dT%H:%M:%SZ"
NO_ENTRY = "no transparency-log entry"


class SigstoreScheme(SignatureScheme):
    type = SignatureType.X509

    def __init__(self, keyring: Keyring, index: KeyIndex | None = None, transparency: Transparency | None = None):
        self.keyring = keyring
        self.index = index or KeyIndex(keyring)
        self.transparency = transparency if transparency is not None else transparency_from_environment()
        self._may_sign = checks.AllOf(checks.NamespaceAllowed("git"))
        self._valid_key = checks.valid_key()
        self._root: trust.TrustRoot | None = None

    @property
    def root(self) -> trust.TrustRoot:
        if self._root is None:
            own = self.keyring.policy.sigstore_trusted_root
            self._root = trust.from_bytes(own) if own is not None else trust.public_good()
        return self._root

    def recognizes(self, signature: bytes) -> bool:
        return cms.recognizes(signature)

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        try:
            message = cms.parse(signature)
            cert = message.signer_certificate()
        except cms.CmsError as exc:
            return _verdict(Status.MALFORMED, f"x509/CMS signature cannot be parsed: {exc}", SignatureInfo(self.type))
        try:
            identity, issuer = trust.identity_of(cert)
        except trust.IdentityError as exc:
            return _verdict(Status.UNKNOWN_KEY, f"x509/CMS signature whose certificate is not a Sigstore (Fulcio) "
                                                f"certificate: {exc}", SignatureInfo(self.type, None, cert.not_valid_before_utc))
        who = f"{identity} ({issuer})"
        info = SignatureInfo(self.type, who, cert.not_valid_before_utc)
        problem = cms.verify_signer(message, cert, payload)
        if problem is not None:
            return _verdict(Status.BAD_SIGNATURE, f"gitsign signature of {who} does not verify over this commit: {problem}", info)

        found = self._entry(message, cert)
        # A refusal that an entry from outside the commit caused (mirror, online)
        # could change when that entry does: never cache it.
        fixed = not found.external
        if found.unsupported is not None:
            return _verdict(Status.UNKNOWN_KEY, f"gitsign signature of {who}: {found.unsupported}", info, cacheable=fixed)
        if found.refusal is not None:  # an entry was found and refused, or could not be read
            return _verdict(Status.BAD_SIGNATURE, f"gitsign signature of {who}: {found.refusal}", info, cacheable=fixed)
        entry = found.entry
        moment = entry.integrated_at if entry is not None else cert.not_valid_before_utc
        if entry is not None:
            info = SignatureInfo(self.type, who, moment)
            start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
            if not start <= moment <= end:
                return _verdict(Status.EXPIRED_KEY, f"gitsign certificate of {who} was valid {start:{_STAMP}} to "
                                                    f"{end:{_STAMP}}, but the signature was logged at {moment:{_STAMP}}",
                                info, cacheable=fixed)
        chain = self.root.chain_problem(cert, moment)
        if chain is not None:
            status = Status.BAD_SIGNATURE if self.root.issued_by_known_ca(cert) else Status.UNKNOWN_KEY
            return _verdict(status, f"gitsign signature of {who}: {chain}", info)
        logged = self._certificate_transparency(cert)
        if logged is not None:
            return _verdict(logged[0], f"gitsign signature of {who}: {logged[1]}", info)
        if entry is None:
            # A mirror may gain the entry later: never cache this answer.
            return _verdict(Status.UNKNOWN_KEY, f"gitsign signature of {who} verifies, but there is {NO_ENTRY} "
                                                f"({found.looked}): never trusted on the certificate alone", info,
                            cacheable=False)

        cand = self.index.sigstore(identity, issuer)
        if cand is None:
            return _verdict(Status.UNKNOWN_KEY, f"signed by Sigstore identity {who}, which is not in the keyring", info)
        use = checks.KeyUse(cand, moment, "signature")
        for policy in (self._may_sign, self._valid_key):
            refusal = policy.verify(use)
            if not refusal.passed:
                return _verdict(refusal.status, refusal.reason, info, signer=use.who)
        accepted = checks.attribute(use)
        return _verdict(accepted.status, f"{accepted.reason}, logged at {moment:{_STAMP}} ({entry.source})", info,
                        signer=use.who)

    def _certificate_transparency(self, cert: x509.Certificate) -> tuple[Status, str] | None:
        """None when an embedded SCT verifies (or the root lists no CT log), else (status, why)."""
        if not self.root.ct_logs:
            return None
        issuer = self.root.issuer_of(cert)
        if issuer is None:  # the chain verified, so this cannot be; refuse rather than skip
            return Status.BAD_SIGNATURE, "the certificate's issuing CA is not in the trusted root"
        try:
            problem = sct.sct_problem(cert, issuer, self.root)
        except sct.NoSct as exc:
            return Status.UNKNOWN_KEY, str(exc)
        return None if problem is None else (Status.BAD_SIGNATURE, problem)

    def _entry(self, message: cms.SignedMessage, cert: x509.Certificate) -> "_Found":
        """The verified log entry for this signature, why the one found is refused, or where we looked in vain."""
        digest = rekor.artifact_hash(message.signed_attributes)
        candidates: list[LogEntry] = []
        looked = ["none embedded in the signature"]
        external = message.rekor_entry is None
        try:
            if message.rekor_entry is not None:
                candidates = [rekor.from_protobuf(message.rekor_entry)]
            elif self.transparency.mirror is not None:
                candidates = rekor.from_mirror(self.transparency.mirror, digest)
                looked.append(f"none in the mirror for sha256:{digest}")
            else:
                looked.append("no offline mirror set")
            if not candidates and self.transparency.online and self.transparency.mirror is None:
                candidates, problems = rekor.from_rekor(self.root, digest)
                looked.append("none found online" + (f" ({'; '.join(problems)})" if problems else ""))
            elif not candidates:
                looked.append("online lookups off")
        except rekor.EntryUnsupported as exc:
            return _Found(external=external, unsupported=f"{NO_ENTRY} that can be used: {exc}")
        except rekor.EntryError as exc:
            return _Found(external=external, refusal=f"the transparency-log entry cannot be read: {exc}")
        refusals = []
        for entry in candidates:
            problem = rekor.entry_problem(entry, self.root, message.signed_attributes, message.signature, cert)
            if problem is None:
                return _Found(external=external, entry=entry)
            refusals.append(problem)
        if refusals:
            return _Found(external=external, refusal=refusals[0])
        return _Found(external=external, looked="; ".join(looked))


@dataclass(frozen=True)
class _Found:
    """What the search for a log entry gave: a verified ``entry``; a ``refusal`` (an entry
    that is not Rekor's record of this signature, or cannot be read); an ``unsupported``
    one (no signed time); or nothing, with where we ``looked``. ``external``: the entry
    came, or would have come, from outside the commit (mirror, online)."""

    external: bool
    entry: LogEntry | None = None
    refusal: str | None = None
    unsupported: str | None = None
    looked: str = ""


def _verdict(status: Status, reason: str, info: SignatureInfo, *, signer: str | None = None,
             cacheable: bool = True) -> SignatureVerdict:
    if status in UNATTRIBUTED:
        signer = None  # a signature that does not verify, or by nobody listed, vouches for nobody
    return SignatureVerdict(status=status, reason=reason, signature=info, signer=signer, cacheable=cacheable)
