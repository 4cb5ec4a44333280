"""The per-key trust checks of :mod:`commitguard.signatures.policy`, in process.

Each check is asked about a key it passes and one it refuses, and the
refusal's status and reason are pinned word for word: the schemes print
these reasons, and the golden reports and the end-to-end tests expect them
unchanged. No signature is made here; the keys are keyring objects built
directly, which is all the checks read.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from commitguard.keyring.index import Candidate, KeyIndex
from commitguard.keyring.model import Holder, KeyEntry, KeyKind, Keyring, OpenPGPKey, Person, Policy, SshKey
from commitguard.model.verdicts import Status
from commitguard.signatures import policy
from commitguard.signatures.dispatch import DeferredSigstoreScheme, SignatureVerifier, schemes_for
from commitguard.signatures.openpgp import OpenPGPScheme
from commitguard.signatures.openpgp_packets import KeyFacts
from commitguard.signatures.ssh import SshScheme
from commitguard.signatures.sigstore.scheme import SigstoreScheme

AT = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
PRIMARY = "A" * 40
SUBKEY = "B" * 40
SSH_FPR = "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def ssh_entry(**kw) -> KeyEntry:
    weak = kw.pop("weak", None)
    key = SshKey(line="ssh-ed25519 AAAA", key_type="ssh-ed25519", blob=b"blob", fingerprint=SSH_FPR, bits=256, weak=weak)
    return KeyEntry(kind=KeyKind.SSH, ssh=key, **kw)


def pgp_entry(**kw) -> KeyEntry:
    cert = OpenPGPKey(path="alice.asc", cert_bytes=b"", fingerprint=PRIMARY, key_fingerprints=(PRIMARY, SUBKEY))
    return KeyEntry(kind=KeyKind.OPENPGP, openpgp=cert, **kw)


def facts(**kw) -> KeyFacts:
    base = dict(fingerprint=SUBKEY, primary=False, created=AT - timedelta(days=365), algorithm="EdDSA", bits=None,
                signing_capable=True, expires=None, revoked=False, binding_hashes=())
    base.update(kw)
    return KeyFacts(**base)


def ssh_use(entry: KeyEntry | None = None, *, when: datetime = AT, holder: str = "person", note: str = "") -> policy.KeyUse:
    cand = Candidate(Holder(holder, "alice"), entry or ssh_entry(), SSH_FPR)
    return policy.KeyUse(cand, when, "commit", None, note)


def pgp_use(entry: KeyEntry | None = None, *, key_facts: KeyFacts | None = None, when: datetime = AT,
            key: str = SUBKEY, holder: str = "person", note: str = "") -> policy.KeyUse:
    cand = Candidate(Holder(holder, "alice"), entry or pgp_entry(), key)
    return policy.KeyUse(cand, when, "signature", key_facts, note)


def refused(result: policy.PolicyResult, status: Status, reason: str) -> None:
    assert not result.passed
    assert (result.status, result.reason) == (status, reason)


# -- where a key may sign -------------------------------------------------------------


def test_namespace_allowed():
    check = policy.NamespaceAllowed("git")
    assert check.verify(ssh_use()).passed  # no namespaces: anywhere
    assert check.verify(ssh_use(ssh_entry(namespaces=("git", "file")))).passed
    refused(check.verify(ssh_use(ssh_entry(namespaces=("commitguard-approval", "file")))), Status.UNKNOWN_KEY,
            f"ssh-ed25519 {SSH_FPR} of alice is trusted only for namespaces commitguard-approval, file, not 'git'")
    refused(policy.NamespaceAllowed("commitguard-approval").verify(pgp_use(pgp_entry(namespaces=("git",)))),
            Status.UNKNOWN_KEY,
            f"openpgp {SUBKEY} of alice is trusted only for namespaces git, not 'commitguard-approval'")


def test_signing_key_allowed():
    check = policy.SigningKeyAllowed()
    assert check.verify(pgp_use()).passed  # no signing_keys: every signing key of the certificate
    assert check.verify(pgp_use(pgp_entry(signing_keys=(SUBKEY,)))).passed
    assert check.verify(ssh_use()).passed
    refused(check.verify(pgp_use(pgp_entry(signing_keys=(PRIMARY,)))), Status.UNKNOWN_KEY,
            f"openpgp {SUBKEY} of alice is a key of certificate {PRIMARY}, but the keyring lets only {PRIMARY} "
            f"of it sign (signing_keys)")


def test_signing_key_then_namespace_precedence():
    entry = pgp_entry(signing_keys=(PRIMARY,), namespaces=("commitguard-approval",))
    result = policy.where_key_may_sign("git").verify(pgp_use(entry))
    assert result.status is Status.UNKNOWN_KEY and result.reason.endswith("(signing_keys)")


# -- the key itself ------------------------------------------------------------------


def test_keyring_not_revoked():
    check = policy.KeyringNotRevoked()
    assert check.verify(ssh_use()).passed
    refused(check.verify(ssh_use(ssh_entry(revoked=True))), Status.REVOKED_KEY,
            f"ssh-ed25519 {SSH_FPR} of alice is marked revoked in the keyring")
    refused(check.verify(pgp_use(pgp_entry(revoked=True))), Status.REVOKED_KEY,
            f"openpgp {SUBKEY} of alice is marked revoked in the keyring")


def test_certificate_bound():
    check = policy.CertificateBound()
    assert check.verify(pgp_use(key_facts=facts())).passed
    assert check.verify(ssh_use()).passed  # an SSH key has no certificate
    refused(check.verify(pgp_use()), Status.BAD_SIGNATURE, f"openpgp {SUBKEY} has no usable binding in its certificate")


def test_certificate_not_revoked():
    check = policy.CertificateNotRevoked()
    assert check.verify(pgp_use(key_facts=facts())).passed
    assert check.verify(pgp_use()).passed  # nothing to read: CertificateBound's business
    refused(check.verify(pgp_use(key_facts=facts(revoked=True))), Status.REVOKED_KEY,
            f"openpgp {SUBKEY} of alice is revoked in its certificate")


def test_strong_key():
    check = policy.StrongKey()
    assert check.verify(ssh_use()).passed
    assert check.verify(pgp_use(key_facts=facts(algorithm="RSA", bits=4096))).passed
    refused(check.verify(ssh_use(ssh_entry(weak="DSA keys are rejected as weak"))), Status.WEAK_SIGNATURE,
            f"ssh-ed25519 {SSH_FPR} of alice: DSA keys are rejected as weak")
    refused(check.verify(pgp_use(key_facts=facts(algorithm="RSA", bits=1024))), Status.WEAK_SIGNATURE,
            f"openpgp {SUBKEY} of alice: RSA key of 1024 bits is rejected as weak (minimum 2048)")


def test_strong_bindings():
    sha1 = facts(binding_hashes=("SHA-1",))
    assert policy.StrongBindings(accept_sha1=False).verify(pgp_use(key_facts=facts())).passed
    assert policy.StrongBindings(accept_sha1=True).verify(pgp_use(key_facts=sha1)).passed
    refused(policy.StrongBindings(accept_sha1=False).verify(pgp_use(key_facts=sha1)), Status.WEAK_SIGNATURE,
            "the certificate of alice is bound with SHA-1 self-signatures")
    refused(policy.StrongBindings(accept_sha1=True).verify(pgp_use(key_facts=facts(binding_hashes=("MD5", "SHA-1")))),
            Status.WEAK_SIGNATURE, "the certificate of alice is bound with MD5, SHA-1 self-signatures")
    assert policy.weak_bindings(("SHA-1",), False) and not policy.weak_bindings(("SHA-1",), True)
    assert not policy.weak_bindings((), False)


def test_signing_capable():
    check = policy.SigningCapable()
    assert check.verify(pgp_use(key_facts=facts())).passed
    refused(check.verify(pgp_use(key_facts=facts(signing_capable=False))), Status.BAD_SIGNATURE,
            f"made by subkey {SUBKEY} of alice, which is not marked for signing")
    refused(check.verify(pgp_use(key=PRIMARY, key_facts=facts(fingerprint=PRIMARY, primary=True, signing_capable=False))),
            Status.BAD_SIGNATURE, f"made by primary key {PRIMARY} of alice, which is not marked for signing")


def test_signed_after_key_creation():
    check = policy.SignedAfterKeyCreation()
    assert check.verify(pgp_use(key_facts=facts(created=AT))).passed  # made in the key's first second
    assert check.verify(pgp_use(key_facts=facts(created=None))).passed
    refused(check.verify(pgp_use(key_facts=facts(created=AT + timedelta(seconds=1)))), Status.BAD_SIGNATURE,
            f"signature predates its key {SUBKEY} (created 2024-06-01)")


# -- the validity window --------------------------------------------------------------


AFTER = datetime(2024, 1, 1, tzinfo=timezone.utc)
BEFORE = datetime(2025, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("when, ok", [(AFTER - timedelta(seconds=1), False), (AFTER, True), (BEFORE, True)])
def test_valid_after_bound_is_inclusive(when, ok):
    assert policy.ValidAfter().verify(ssh_use(ssh_entry(valid_after=AFTER), when=when)).passed is ok


@pytest.mark.parametrize("when, ok", [(BEFORE - timedelta(seconds=1), True), (BEFORE, False), (AFTER, True)])
def test_valid_before_bound_is_exclusive(when, ok):
    assert policy.ValidBefore().verify(ssh_use(ssh_entry(valid_before=BEFORE), when=when)).passed is ok


def test_window_reasons_say_which_clock():
    early = datetime(2023, 6, 1, tzinfo=timezone.utc)
    late = datetime(2025, 6, 1, tzinfo=timezone.utc)
    ssh = ssh_entry(valid_after=AFTER, valid_before=BEFORE)
    pgp = pgp_entry(valid_after=AFTER, valid_before=BEFORE)
    refused(policy.ValidAfter().verify(ssh_use(ssh, when=early)), Status.EXPIRED_KEY,
            f"ssh-ed25519 {SSH_FPR} of alice is valid only after 2024-01-01T00:00:00Z; committed 2023-06-01T00:00:00Z")
    refused(policy.ValidBefore().verify(ssh_use(ssh, when=late)), Status.EXPIRED_KEY,
            f"ssh-ed25519 {SSH_FPR} of alice is valid only before 2025-01-01T00:00:00Z; committed 2025-06-01T00:00:00Z")
    refused(policy.ValidAfter().verify(pgp_use(pgp, when=early)), Status.EXPIRED_KEY,
            f"openpgp {SUBKEY} of alice signed at 2023-06-01T00:00:00Z, before its valid_after 2024-01-01T00:00:00Z")
    refused(policy.ValidBefore().verify(pgp_use(pgp, when=late)), Status.EXPIRED_KEY,
            f"openpgp {SUBKEY} of alice signed at 2025-06-01T00:00:00Z, after its valid_before 2025-01-01T00:00:00Z")
    assert policy.ValidAfter().verify(ssh_use(ssh_entry())).passed and policy.ValidBefore().verify(ssh_use(ssh_entry())).passed


# -- composition and attribution ---------------------------------------------------------


def test_empty_all_of_is_refused():
    with pytest.raises(ValueError, match="at least one check"):
        policy.AllOf()


def test_all_of_answers_with_the_first_refusal_in_order():
    entry = ssh_entry(revoked=True, valid_before=AT)
    result = policy.valid_key().verify(ssh_use(entry))
    assert result.status is Status.REVOKED_KEY  # revocation outranks the window
    result = policy.AllOf(policy.ValidBefore(), policy.KeyringNotRevoked()).verify(ssh_use(entry))
    assert result.status is Status.EXPIRED_KEY
    ok = policy.AllOf(policy.KeyringNotRevoked(), policy.ValidAfter()).verify(ssh_use())
    assert ok.passed and ok.status is Status.TRUSTED


class _Counting:
    """A check that counts how often it is asked, and refuses keys whose entry is revoked."""

    def __init__(self, timeless: bool):
        self.timeless = timeless
        self.asked = 0

    def verify(self, use):
        self.asked += 1
        if use.entry.revoked:
            return policy.PolicyResult(Status.REVOKED_KEY, f"{use.owned} refused")
        return policy.PolicyResult(Status.TRUSTED, "fine")


def test_all_of_asks_timeless_checks_once_per_key_and_timed_checks_every_time():
    timeless, timed = _Counting(True), _Counting(False)
    both = policy.AllOf(timeless, timed, policy.ValidBefore())
    good, revoked = ssh_use(ssh_entry(valid_before=AT)), ssh_use(ssh_entry(revoked=True))
    for n in range(5):
        early = policy.KeyUse(good.candidate, AT - timedelta(seconds=1 + n), "commit")
        assert both.verify(early).passed
    late = policy.KeyUse(good.candidate, AT, "commit")
    assert both.verify(late).status is Status.EXPIRED_KEY  # the window is judged at each moment
    assert (timeless.asked, timed.asked) == (1, 6)
    for _ in range(3):  # another key with equal-looking fields is asked afresh, once
        refusal = both.verify(revoked)
        assert (refusal.status, refusal.reason) == (Status.REVOKED_KEY, f"ssh-ed25519 {SSH_FPR} of alice refused")
    assert (timeless.asked, timed.asked) == (2, 6)
    again = policy.KeyUse(Candidate(Holder("person", "alice"), ssh_entry(revoked=True), SSH_FPR), AT, "commit")
    assert both.verify(again).status is Status.REVOKED_KEY and timeless.asked == 3  # equal, not the same: asked


def test_every_timeless_check_reads_no_moment():
    """Only checks that never read ``use.when`` may be timeless: each answers the same at any moment."""
    uses = [ssh_use(ssh_entry(namespaces=("file",), revoked=True, weak="DSA keys are rejected as weak")),
            pgp_use(pgp_entry(signing_keys=(PRIMARY,)), key_facts=facts(revoked=True, signing_capable=False,
                                                                         binding_hashes=("SHA-1",))),
            pgp_use(), ssh_use()]  # fmt: skip
    marked = [check for check in (policy.SigningKeyAllowed(), policy.NamespaceAllowed("git"), policy.KeyringNotRevoked(),
                                  policy.CertificateBound(), policy.CertificateNotRevoked(), policy.StrongKey(),
                                  policy.StrongBindings(False), policy.SigningCapable(), policy.SignedAfterKeyCreation(),
                                  policy.ValidAfter(), policy.ValidBefore())
              if getattr(check, "timeless", False)]  # fmt: skip
    assert len(marked) == 8
    for check in marked:
        for use in uses:
            answers = {(r.status, r.reason) for r in (check.verify(policy.KeyUse(use.candidate, when, use.dated_by, use.facts))
                                                      for when in (AT - timedelta(days=4000), AT, AT + timedelta(days=4000)))}
            assert len(answers) == 1, check


def test_attribute_person_and_forge():
    person = policy.attribute(ssh_use(note=" (why)"))
    assert (person.status, person.reason) == (Status.TRUSTED, f"signed by alice (ssh-ed25519 {SSH_FPR}) (why)")
    forge = policy.attribute(pgp_use(holder="forge"))
    assert (forge.status, forge.reason) == (Status.FORGE, f"signed by forge alice (openpgp {SUBKEY})")
    assert not forge.passed


def test_no_check_passes_everything():
    """Nothing in the module is a pass-everything policy: every check refuses some key use."""
    refusing = {
        policy.NamespaceAllowed("git"): ssh_use(ssh_entry(namespaces=("file",))),
        policy.SigningKeyAllowed(): pgp_use(pgp_entry(signing_keys=(PRIMARY,))),
        policy.KeyringNotRevoked(): ssh_use(ssh_entry(revoked=True)),
        policy.CertificateBound(): pgp_use(),
        policy.CertificateNotRevoked(): pgp_use(key_facts=facts(revoked=True)),
        policy.StrongKey(): ssh_use(ssh_entry(weak="weak")),
        policy.StrongBindings(True): pgp_use(key_facts=facts(binding_hashes=("MD5",))),
        policy.SigningCapable(): pgp_use(key_facts=facts(signing_capable=False)),
        policy.SignedAfterKeyCreation(): pgp_use(key_facts=facts(created=AT + timedelta(days=1))),
        policy.ValidAfter(): ssh_use(ssh_entry(valid_after=AT + timedelta(days=1))),
        policy.ValidBefore(): ssh_use(ssh_entry(valid_before=AT)),
    }
    for check, use in refusing.items():
        assert not check.verify(use).passed, check
    checks = {obj for obj in vars(policy).values() if isinstance(obj, type) and hasattr(obj, "verify")
              and obj.__module__ == policy.__name__ and not obj.__name__.startswith("_")}
    assert checks - {policy.AllOf, policy.KeyPolicy} == {type(c) for c in refusing}


# -- one assembly of the schemes -----------------------------------------------------


def keyring() -> Keyring:
    return Keyring(path="kr", digest="0" * 64, policy=Policy(), persons=(Person(id="alice", keys=(ssh_entry(),)),))


def test_schemes_for_namespaces_and_shared_index():
    ring = keyring()
    index = KeyIndex(ring)
    ssh, pgp = schemes_for(ring, index, namespace="commitguard-approval")
    assert isinstance(ssh, SshScheme) and type(pgp) is OpenPGPScheme
    assert ssh.namespace == b"commitguard-approval" and pgp.namespace == "commitguard-approval"
    assert ssh.index is index and pgp.index is index
    ssh, pgp = schemes_for(ring)
    assert ssh.namespace == b"git" and pgp.namespace == "git" and ssh.index is pgp.index


def test_schemes_for_openpgp_namespace_and_subclass():
    class Streaming(OpenPGPScheme):
        pass

    ssh, pgp = schemes_for(keyring(), namespace="file", openpgp_namespace="git", openpgp=Streaming)
    assert ssh.namespace == b"file" and pgp.namespace == "git" and type(pgp) is Streaming


def test_signature_verifier_uses_the_same_assembly():
    schemes = SignatureVerifier(keyring()).schemes
    assert [type(s) for s in schemes] == [SshScheme, OpenPGPScheme, DeferredSigstoreScheme]
    assert schemes[0].namespace == b"git" and schemes[1].namespace == "git"
    # the gitsign scheme is built when first needed, with the SSH scheme's key index
    assert type(schemes[2].scheme) is SigstoreScheme and schemes[2].scheme.index is schemes[0].index
