"""OpenPGP commit signatures, verified in-process by Sequoia (pysequoia).

Fast path: Sequoia's standard policy says the signature is valid; we then
apply the keyring's own constraints (revoked, validity windows, forge).
Slow path, only for rejected signatures: the certificate's packets say why
(expired at signing time, certify-only key, revoked, weak algorithm) and
GnuPG says whether the signature is at least mathematically sound, which the
two relaxing policies need.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import pysequoia
from pysequoia.packet import PacketPile, SignatureType as PgpSigType, Tag

from commitguard.keyring.index import Candidate, KeyIndex
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import UNATTRIBUTED, SignatureInfo, SignatureType, SignatureVerdict, Status
from commitguard.signatures import openpgp_armor, openpgp_packets
from commitguard.signatures import policy as checks
from commitguard.signatures.gnupg_opinion import GnuPGOpinion
from commitguard.signatures.interface import SignatureScheme

ARMOR_HEADER = b"-----BEGIN PGP SIGNATURE-----"
# Clock skew we tolerate before calling a signature "from the future".
FUTURE_TOLERANCE = timedelta(minutes=5)
_DOCUMENT_TYPES = {int(PgpSigType.Binary), int(PgpSigType.Text)}


class OpenPGPScheme(SignatureScheme):
    type = SignatureType.OPENPGP

    def __init__(self, keyring: Keyring, index: KeyIndex | None = None, namespace: str = "git"):
        self.keyring = keyring
        # What this scheme checks signatures for ("git": commits and tags;
        # "commitguard-approval": approvals). An OpenPGP signature names no
        # namespace, so a key's ``namespaces`` are enforced against this.
        self.namespace = namespace
        self.policy = keyring.policy
        self.index = index or KeyIndex(keyring)
        self._may_sign = checks.where_key_may_sign(namespace)
        self._valid_key = checks.valid_key()
        # The slow path names everything the certificate says against the key, first problem first.
        self._sound_key = checks.AllOf(
            checks.KeyringNotRevoked(), checks.CertificateBound(), checks.CertificateNotRevoked(), checks.StrongKey(),
            checks.StrongBindings(self.policy.accept_sha1), checks.SigningCapable(), checks.SignedAfterKeyCreation(),
        )
        certs = []
        seen = set()
        for _, entry in keyring.holders():
            if entry.openpgp is not None and entry.openpgp.fingerprint not in seen:
                seen.add(entry.openpgp.fingerprint)
                certs.append(entry.openpgp.cert_bytes)
        self._cert_bytes = certs
        self._certs: dict[str, pysequoia.Cert] = {}
        self._facts: dict[tuple[str, str], openpgp_packets.KeyFacts | None] = {}
        self._gnupg = GnuPGOpinion(certs)

    def recognizes(self, signature: bytes) -> bool:
        return signature.lstrip().startswith(ARMOR_HEADER)

    # -- the verdict -------------------------------------------------------------

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        sig, problem = parse_signature(signature)
        if sig is None:
            return _verdict(Status.MALFORMED, f"OpenPGP signature cannot be parsed: {problem}", SignatureInfo(self.type))
        try:
            issuer_fpr = sig.issuer_fingerprint
            key_id = sig.issuer_key_id
            created = sig.created
            stype = sig.signature_type
            hash_algo = sig.hash_algorithm
        except Exception as exc:  # defensive: accessors on odd packets
            return _verdict(Status.MALFORMED, f"OpenPGP signature unreadable: {_first_line(exc)}", SignatureInfo(self.type))
        info = SignatureInfo(self.type, (issuer_fpr or key_id or "").upper() or None, created)
        if created is None:
            return _verdict(Status.MALFORMED, "OpenPGP signature has no creation time", info)
        if stype is None or int(stype) not in _DOCUMENT_TYPES:
            return _verdict(Status.BAD_SIGNATURE, f"OpenPGP signature of type {_name(stype)} is not a signature over a document", info)
        candidates = self.index.openpgp(issuer_fpr, key_id)
        if not candidates:
            return _verdict(Status.UNKNOWN_KEY, self._unknown_reason(issuer_fpr, key_id), info)
        # Candidates whose keyring entry does not let this key sign here are set aside.
        refused = []
        allowed = []
        for cand in candidates:
            result = self._may_sign.verify(checks.KeyUse(cand, created, "signature"))
            (allowed if result.passed else refused).append((cand, result))
        candidates = [c for c, _ in allowed]
        if not candidates:
            cand, result = refused[0]
            return _verdict(result.status, result.reason, _with_key(info, cand.key_fingerprint))

        weak_hash = openpgp_packets.weak_hash_name(hash_algo)
        if weak_hash is not None and (weak_hash != "SHA-1" or not self.policy.accept_sha1):
            why = "policy.openpgp_sha1 = \"reject\"" if weak_hash == "SHA-1" else "never accepted"
            return _verdict(
                Status.WEAK_SIGNATURE,
                f"{weak_hash} signature by {candidates[0].holder.id} ({candidates[0].key_fingerprint}) is rejected ({why})",
                _with_key(info, candidates[0].key_fingerprint),
            )
        now = datetime.now(timezone.utc)
        if created > now + FUTURE_TOLERANCE:
            return _verdict(
                Status.BAD_SIGNATURE,
                f"signature claims to be made at {created:%Y-%m-%d %H:%M}Z, in the future",
                info,
                cacheable=False,
            )

        valid = self._fast_path(sig, payload, candidates)
        if valid is not None:
            cand, signing_key = valid
            facts = self._key_facts(cand, signing_key)
            return self._judge_valid(cand, _with_key(info, signing_key), facts, created, cacheable=sig.expiration is None)
        return self._slow_path(signature, payload, sig, candidates, info, created)

    def _unknown_reason(self, issuer_fpr: str | None, key_id: str | None) -> str:
        """Why no keyring key matches; never "not in the keyring" for a fingerprint keyring.toml pins."""
        who = f"fingerprint {issuer_fpr.upper()}" if issuer_fpr else f"key id {key_id.upper()}" if key_id else "no issuer"
        for person in self.keyring.persons:
            for pin in person.pins:
                if (issuer_fpr and pin == issuer_fpr.upper()) or (not issuer_fpr and key_id and pin[-16:] == key_id.upper()):
                    return (f"signed by OpenPGP {who}, pinned for {person.id} in the keyring, but no certificate "
                            f"holds it (add the certificate to verify signatures by {pin})")
        return f"signed by OpenPGP {who}, which is not in the keyring"

    def _fast_path(self, sig, payload: bytes, candidates: list[Candidate]):
        certs = [self._cert(c) for c in candidates]
        try:
            result = pysequoia.verify(bytes=payload, store=lambda _ids: certs, signature=sig)
        except Exception:
            return None
        for valid in result.valid_sigs:
            primary = valid.certificate.upper()
            signing = valid.signing_key.upper()
            for cand in candidates:
                if cand.entry.openpgp.fingerprint == primary and cand.key_fingerprint == signing:  # type: ignore[union-attr]
                    return cand, signing
        return None

    def _judge_valid(self, cand: Candidate, info: SignatureInfo, facts, created: datetime, *, cacheable: bool, note: str = ""):
        """A mathematically valid signature by a keyring key: apply the keyring's own word."""
        use = checks.KeyUse(cand, created, "signature", facts, note)
        refusal = self._valid_key.verify(use)
        if not refusal.passed:
            return _verdict(refusal.status, refusal.reason, info, signer=use.who)
        accepted = checks.attribute(use)
        return _verdict(accepted.status, accepted.reason, info, signer=use.who, cacheable=cacheable)

    def _slow_path(self, signature: bytes, payload: bytes, sig, candidates: list[Candidate], info, created: datetime):
        # With an issuer fingerprint there is one candidate; with a bare key id
        # (GitHub's web-flow signatures) there may be several in theory.
        cand = candidates[0]
        who = cand.holder.id
        info = _with_key(info, cand.key_fingerprint)
        facts = self._key_facts(cand, cand.key_fingerprint)
        opinion = self._gnupg.judge(signature, payload)
        key_desc = f"openpgp {cand.key_fingerprint}"

        # What the certificate says, independent of the mathematics.
        problem = self._sound_key.verify(checks.KeyUse(cand, created, "signature", facts))
        expired = facts is not None and facts.expires is not None and created >= facts.expires
        expiry_text = (
            f"{key_desc} of {who} had expired ({facts.expires:%Y-%m-%dT%H:%M:%SZ}) when it signed at {created:%Y-%m-%dT%H:%M:%SZ}"
            if expired
            else ""
        )

        if not opinion.available:
            base = (problem.status, problem.reason) if not problem.passed else (
                (Status.EXPIRED_KEY, expiry_text) if expired else (Status.BAD_SIGNATURE, "Sequoia rejects this signature")
            )
            return _verdict(base[0], f"{base[1]}; {opinion.detail}, so it cannot be checked further", info, cacheable=False)  # unverified: no signer
        if not opinion.good:
            return _verdict(Status.BAD_SIGNATURE, f"signature does not verify over this commit (GnuPG: {opinion.detail})", info, signer=who)
        if (opinion.key_fingerprint or "").upper() != cand.key_fingerprint:
            # GnuPG verified with another key than the one diagnosed (two
            # certificates sharing a key id): attribute nothing.
            return _verdict(
                Status.BAD_SIGNATURE,
                f"GnuPG verified this signature with key {opinion.key_fingerprint}, not {cand.key_fingerprint}",
                info,
            )
        if not problem.passed:
            return _verdict(problem.status, problem.reason, info, signer=who)
        if expired and not self.policy.ignore_expiry:
            return _verdict(Status.EXPIRED_KEY, expiry_text, info, signer=who)

        # Sound mathematics, nothing wrong in the certificate: the remaining
        # reasons for Sequoia's refusal are the two the policy may relax.
        relaxed = []
        if expired:
            relaxed.append("its key had expired when it signed; accepted under policy.openpgp_expiry = \"ignore\"")
        if openpgp_packets.weak_hash_name(sig.hash_algorithm) or (facts and facts.binding_hashes):
            relaxed.append("SHA-1 accepted under policy.openpgp_sha1 = \"accept\"")
        if not relaxed:
            return _verdict(
                Status.BAD_SIGNATURE,
                f"Sequoia's standard policy rejects this signature by {who} for a reason commitguard cannot relax "
                f"(GnuPG: {opinion.detail})",
                info,
                signer=who,
            )
        note = " (" + "; ".join(relaxed) + ")"
        return self._judge_valid(cand, info, facts, created, cacheable=True, note=note)

    def _key_facts(self, cand: Candidate, key_fingerprint: str):
        """Facts are per key, not per signature: read the packets once."""
        slot = (cand.entry.openpgp.fingerprint, key_fingerprint)  # type: ignore[union-attr]
        if slot not in self._facts:
            self._facts[slot] = openpgp_packets.key_facts(cand.entry.openpgp.cert_bytes, key_fingerprint)  # type: ignore[union-attr]
        return self._facts[slot]

    def _cert(self, cand: Candidate) -> pysequoia.Cert:
        fpr = cand.entry.openpgp.fingerprint  # type: ignore[union-attr]
        cert = self._certs.get(fpr)
        if cert is None:
            cert = pysequoia.Cert.from_bytes(cand.entry.openpgp.cert_bytes)  # type: ignore[union-attr]
            self._certs[fpr] = cert
        return cert


# -- parsing ----------------------------------------------------------------------


def parse_signature(armored: bytes):
    """(Sig, None) or (None, problem). Repairs one harmless real-world quirk.

    GitHub's web-flow signer (key B5690EEEBB952194 among others) writes RSA
    signature MPIs with a fixed bit count even when the value has leading
    zero bits; Sequoia's parser refuses those as non-canonical while GnuPG
    accepts them. The MPI's length header is not covered by the signature, so
    rewriting it canonically yields the same signature over the same bytes.
    """
    if len(armored) > 256 * 1024:  # a v4 signature packet is at most ~135 KB, ~185 KB armored
        return None, f"{len(armored)} bytes is larger than any OpenPGP signature"
    if armored.count(ARMOR_HEADER) != 1:
        return None, "expected exactly one armored PGP signature block"
    packet = openpgp_armor.signature_packet(armored)
    if packet is not None:  # the usual armor around one signature packet
        try:
            return pysequoia.Sig.from_bytes(packet), None
        except Exception:
            pass  # Sequoia's reader below decides, and repairs what it may
    return _parse_through_packet_pile(armored)


def _parse_through_packet_pile(armored: bytes):
    """:func:`parse_signature` through Sequoia's armor reader and packet pile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            packets = list(PacketPile.from_bytes(armored))
            one_signature = len(packets) == 1 and packets[0].tag == Tag.Signature  # .tag raises on unknown tags
        except Exception as exc:
            return None, _first_line(exc)
        if not one_signature:
            return None, f"expected one signature packet, found {len(packets)} packet(s)"
        # The packet is read again from its body, not from the armor: the
        # armor has been decoded once already, and decoding it is most of the
        # cost of parsing. Packet framing is not covered by the signature.
        try:
            body = packets[0].body
        except Exception as exc:  # accessors refuse some odd packets
            return None, _first_line(exc)
        try:
            return pysequoia.Sig.from_bytes(_new_format_packet(2, body)), None
        except Exception as exc:
            first_error = _first_line(exc)
        repaired = _canonical_mpis(body)
        if repaired is None:
            return None, first_error
        try:
            return pysequoia.Sig.from_bytes(_new_format_packet(2, repaired)), None
        except Exception:
            return None, first_error


def _canonical_mpis(body: bytes) -> bytes | None:
    """A v4 signature body with minimally encoded MPIs, or None if not that shape."""
    try:
        if len(body) < 6 or body[0] != 4:
            return None
        pos = 4
        hashed_len = int.from_bytes(body[pos : pos + 2], "big")
        pos += 2 + hashed_len
        unhashed_len = int.from_bytes(body[pos : pos + 2], "big")
        pos += 2 + unhashed_len
        pos += 2  # left 16 bits of the hash
        if pos > len(body):
            return None
        head, rest = body[:pos], memoryview(body)[pos:]  # slices of a view copy nothing: hostile bodies stay linear
        out = bytearray(head)
        changed = False
        while rest:
            if len(rest) < 2:
                return None
            bits = int.from_bytes(rest[:2], "big")
            size = (bits + 7) // 8
            if len(rest) < 2 + size:
                return None
            value = bytes(rest[2 : 2 + size]).lstrip(b"\0")
            true_bits = int.from_bytes(value, "big").bit_length()
            if true_bits != bits:
                changed = True
            out += true_bits.to_bytes(2, "big") + value
            rest = rest[2 + size :]
        return bytes(out) if changed else None
    except (IndexError, ValueError):
        return None


def _new_format_packet(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 192:
        length = bytes([n])
    elif n < 8384:
        n2 = n - 192
        length = bytes([(n2 >> 8) + 192, n2 & 0xFF])
    else:
        length = b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + length + body


# -- helpers ------------------------------------------------------------------------


def _verdict(status: Status, reason: str, info: SignatureInfo, *, signer: str | None = None, cacheable: bool = True):
    if status in UNATTRIBUTED:
        signer = None  # a signature that does not verify vouches for nobody
    return SignatureVerdict(status=status, reason=reason, signature=info, signer=signer, cacheable=cacheable)


def _with_key(info: SignatureInfo, key: str) -> SignatureInfo:
    return SignatureInfo(info.type, key.upper(), info.created)


def _name(value) -> str:
    return repr(value).split(".")[-1]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
