"""Property tests (hypothesis) of commitguard's parsers and verifiers, in process.

Two properties, over inputs an attacker chooses:

* nothing crashes: every entry point raises only its documented error
  (``CommitguardError`` for keyrings, ``EnvelopeError`` for approvals, and
  nothing at all for signature schemes, which judge instead of raising, and
  for the Nix reader, which reports what it cannot read);
* nothing untrusted is reported trusted: a real signed commit (one SSH, one
  OpenPGP, made by ssh-keygen and gpg through ``git commit-tree -S``) whose
  payload is changed is never ``trusted``; when its *signature* is changed and
  commitguard still says ``trusted``, the reference tool (``ssh-keygen -Y
  verify``, ``gpg --verify``) must agree that the changed signature is valid
  (formats leave a few bytes unsigned: OpenSSH ignores the SSHSIG
  ``reserved`` field, OpenPGP the unhashed subpacket area).

The budget is small for CI (``max_examples=200``); ``fuzz/`` runs the same
targets for longer.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from commitguard.review.approvals.interface import RawApproval
from commitguard.review.approvals.statement import (
    PAYLOAD_TYPE,
    EnvelopeError,
    parse_envelope,
    parse_statement,
)
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerifier, ReviewContext
from commitguard.errors import CommitguardError
from commitguard.keyring.loader import load_keyring, parse_keyring
from commitguard.model.verdicts import Status
from commitguard.nix.maintainers import read_maintainers
from commitguard.nix.parser import MAX_NIX_BYTES, parse
from commitguard.signatures import openpgp_packets
from commitguard.signatures.dispatch import SignatureVerifier
from commitguard.signatures.openpgp import OpenPGPScheme
from commitguard.signatures.ssh import SshScheme
from tests.fixtures_git import Gpg, PgpSigner, Repo, SshKey, SshSigner, pgp_signed_part, run, write_keyring
from tests.oracles import approval_statement, dsse_envelope, dsse_pae

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "gpg", "gpgconf", "ssh-keygen")),
    reason="needs git, gpg, gpgconf and ssh-keygen",
)

CI = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
WHEN = datetime(2024, 6, 1, tzinfo=timezone.utc)


# =========================================================================== fixtures


@dataclass
class Signed:
    """One real signed commit: its gpgsig text and the payload it signs."""

    kind: str
    signature: bytes
    payload: bytes

    def raw(self) -> bytes:
        """The signature's binary content (SSHSIG blob or OpenPGP packets)."""
        return armor_body(self.signature)

    def armor(self, raw: bytes) -> bytes:
        text = base64.b64encode(raw).decode()
        lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
        if self.kind == "ssh":
            return f"-----BEGIN SSH SIGNATURE-----\n{lines}\n-----END SSH SIGNATURE-----\n".encode()
        return f"-----BEGIN PGP SIGNATURE-----\n\n{lines}\n-----END PGP SIGNATURE-----\n".encode()


def armor_body(armored: bytes) -> bytes:
    """The binary inside an armor, read as leniently as Sequoia reads it: text
    run on after the BEGIN line, armor headers and the CRC line are not data."""
    text = armored.decode("ascii", "replace")
    begin = text.find("SIGNATURE-----")
    end = text.find("-----END", begin + 1)
    if begin < 0 or end < 0:
        raise ValueError("no armor")
    lines = text[begin + len("SIGNATURE-----") : end].splitlines()
    body = [l.strip() for l in lines if l.strip() and ":" not in l and not l.strip().startswith("=")]
    return base64.b64decode("".join("".join(body).split()), validate=True)


def sequoia_packet(armored: bytes) -> bytes:
    """The one packet Sequoia reads from ``armored``, serialized again."""
    from pysequoia.packet import PacketPile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        (one,) = list(PacketPile.from_bytes(armored))
        body = one.body
    n = len(body)
    length = bytes([n]) if n < 192 else bytes([((n - 192) >> 8) + 192, (n - 192) & 0xFF]) if n < 8384 \
        else b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC2]) + length + body


@dataclass
class World:
    root: Path
    keyring_dir: Path
    ssh_key: SshKey
    gpg: Gpg
    pgp_cert: Path
    ssh: Signed
    pgp: Signed
    approval: str  # one valid approval envelope (SSH)
    context: ReviewContext
    old_cert: Path  # a certificate whose self-signatures use SHA-1

    def ssh_keygen_accepts(self, signature: bytes, payload: bytes, namespace: str = "git") -> bool:
        allowed = self.root / "allowed_signers"
        allowed.write_text(f"alice {self.ssh_key.pub_line}\n")
        sig = self.root / "candidate.sig"
        sig.write_bytes(signature)
        done = run(["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "alice", "-n", namespace, "-s", sig],
                   input=payload, check=False)
        return done.returncode == 0

    def gpg_accepts(self, signature: bytes, payload: bytes) -> bool:
        sig = self.root / "candidate.asc"
        sig.write_bytes(signature)
        data = self.root / "candidate.data"
        data.write_bytes(payload)
        done = self.gpg.gpg("--status-fd", "1", "--verify", str(sig), str(data), check=False)
        return b"[GNUPG:] VALIDSIG" in done.stdout and b"[GNUPG:] GOODSIG" in done.stdout


def _signed_commit(repo: Repo, oid: str, kind: str) -> Signed:
    commit = pygit2.Repository(str(repo.path))[oid]
    signature, payload = commit.gpg_signature
    assert signature is not None
    return Signed(kind, signature, payload)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("properties")
    gpg = Gpg(root / "gnupg", root)
    try:
        ssh_key = SshKey.generate(root / "ssh", "alice", "ed25519")
        primary = gpg.gen_key("Alice Example <alice@example.org>", "ed25519", "cert")
        signing = gpg.add_subkey(primary, "ed25519", "sign")
        cert = gpg.export(primary, root / "alice.asc")
        # an old-style certificate: self-signatures over SHA-1 (GnuPG before 2.1's defaults)
        gpg.gpg("--cert-digest-algo", "SHA1", "--quick-gen-key", "Old Key <old@example.org>", "ed25519", "sign",
                "never", at=Gpg.KEY_TIME)
        old_cert = gpg.export(gpg.keys("old@example.org")[0], root / "old-sha1.asc")
        keyring_dir = write_keyring(root / "keyring", persons=[
            {"id": "alice", "name": "Alice Example", "keys": [{"ssh": ssh_key.pub_line}, {"openpgp": cert}]},
        ], extra='[[rule]]\npaths = ["**"]\napprovers = ["alice"]\nexclude_author = false\n')
        repo = Repo(root / "repo", root)
        ssh_oid = repo.commit("pkgs: signed with ssh", signer=SshSigner(ssh_key))
        pgp_oid = repo.commit("pkgs: signed with openpgp", signer=PgpSigner(gpg, signing))

        # written from the formats (tests/oracles.py), not with commitguard's own Approval/pae/Envelope
        payload = approval_statement(repository="example.org/nixpkgs", base="1" * 40, head="2" * 40,
                                     head_tree="3" * 40, pull_request=7, timestamp="2025-01-01T00:00:00Z")
        sig = run(["ssh-keygen", "-q", "-Y", "sign", "-n", "commitguard-approval", "-f", ssh_key.path],
                  input=dsse_pae(payload)).stdout
        envelope = dsse_envelope(payload, sig, keyid="ssh")
        context = ReviewContext("example.org/nixpkgs", "1" * 40, "2" * 40, "3" * 40, 7)
        yield World(root, keyring_dir, ssh_key, gpg, cert, _signed_commit(repo, ssh_oid, "ssh"),
                    _signed_commit(repo, pgp_oid, "openpgp"), envelope, context, old_cert)
    finally:
        gpg.kill_agent()


@pytest.fixture(scope="module")
def keyring(world):
    return load_keyring(world.keyring_dir)


@pytest.fixture(scope="module")
def verifier(keyring):
    return SignatureVerifier(keyring)


def test_the_fixtures_are_trusted(world, verifier, keyring):
    """The starting points of every mutation really are trusted, by commitguard and the reference tools."""
    for signed in (world.ssh, world.pgp):
        verdict = verifier.verify(signed.signature, signed.payload, WHEN)
        assert verdict.status is Status.TRUSTED, verdict
        assert verifier.verify(signed.armor(signed.raw()), signed.payload, WHEN).status is Status.TRUSTED
    assert world.ssh_keygen_accepts(world.ssh.signature, world.ssh.payload)
    assert world.gpg_accepts(world.pgp.signature, world.pgp.payload)
    verdict = ApprovalVerifier(keyring).verify(RawApproval(world.approval, "test"), world.context, WHEN)
    assert verdict.status is ApprovalStatus.VALID, verdict


# =========================================================================== mutations


@st.composite
def mutated(draw, data: bytes, max_ops: int = 3) -> bytes:
    """``data`` with 1..max_ops byte flips, insertions or deletions; never ``data`` itself."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        if op == "insert" or not out:
            at = draw(st.integers(0, len(out)))
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
            continue
        at = draw(st.integers(0, len(out) - 1))
        if op == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            out[at] = draw(st.integers(0, 255))
        else:
            del out[at : at + draw(st.integers(1, 8))]
    result = bytes(out)
    assume(result != data)
    return result


def _scheme(kind: str, keyring):
    return SshScheme(keyring) if kind == "ssh" else OpenPGPScheme(keyring)


@pytest.mark.parametrize("kind", ["ssh", "openpgp"])
@CI
@given(data=st.data())
def test_mutated_payload_is_never_trusted(world, keyring, kind, data):
    signed = getattr(world, "ssh" if kind == "ssh" else "pgp")
    payload = data.draw(mutated(signed.payload))
    verdict = _scheme(kind, keyring).verify(signed.signature, payload, WHEN)
    assert verdict.status is not Status.TRUSTED, (payload, verdict)
    assert verdict.signer is None or verdict.status not in (Status.BAD_SIGNATURE, Status.MALFORMED), verdict


@pytest.mark.parametrize("kind", ["ssh", "openpgp"])
@CI
@given(data=st.data())
def test_mutated_signature_is_trusted_only_if_the_reference_tool_agrees(world, keyring, kind, data):
    signed = getattr(world, "ssh" if kind == "ssh" else "pgp")
    raw = data.draw(mutated(signed.raw()))
    signature = signed.armor(raw)
    verdict = _scheme(kind, keyring).verify(signature, signed.payload, WHEN)
    assert isinstance(verdict.reason, str) and verdict.reason
    if verdict.status is Status.TRUSTED:
        if kind == "openpgp" and pgp_signed_part(raw) is not None and pgp_signed_part(raw) == pgp_signed_part(signed.raw()):
            return  # only unsigned bytes changed (unhashed subpackets, MPI length headers): gpg may still balk
        agrees = (world.ssh_keygen_accepts if kind == "ssh" else world.gpg_accepts)(signature, signed.payload)
        assert agrees, f"commitguard trusts a changed signature the reference tool rejects: {raw.hex()}"


@pytest.mark.parametrize("kind", ["ssh", "openpgp"])
@CI
@given(data=st.data())
def test_mutated_armor_never_crashes_and_never_trusts_other_bytes(world, keyring, kind, data):
    """Mutations of the armored text itself (headers, base64, line breaks)."""
    signed = getattr(world, "ssh" if kind == "ssh" else "pgp")
    signature = data.draw(mutated(signed.signature))
    verdict = _scheme(kind, keyring).verify(signature, signed.payload, WHEN)
    if verdict.status is Status.TRUSTED:
        # Sequoia's armor reader is lenient (no CRC check, as RFC 9580 allows;
        # text run on after BEGIN, a dash missing from END) where gpg refuses:
        # what must verify is the packet Sequoia read, re-armored cleanly.
        inner = sequoia_packet(signature) if kind == "openpgp" else armor_body(signature)
        if kind == "openpgp" and pgp_signed_part(inner) is not None and pgp_signed_part(inner) == pgp_signed_part(signed.raw()):
            return
        agrees = (world.ssh_keygen_accepts if kind == "ssh" else world.gpg_accepts)(signed.armor(inner), signed.payload)
        assert agrees, f"commitguard trusts an armor whose content the reference tool rejects: {signature!r}"


_ARMORS = [b"-----BEGIN SSH SIGNATURE-----\n", b"-----BEGIN PGP SIGNATURE-----\n\n",
           b"-----BEGIN SIGNED MESSAGE-----\n", b""]


@CI
@given(head=st.sampled_from(_ARMORS), body=st.binary(max_size=2048), tail=st.sampled_from(
    [b"\n-----END SSH SIGNATURE-----\n", b"\n-----END PGP SIGNATURE-----\n", b""]),
    b64=st.booleans(), payload=st.binary(max_size=256))
def test_arbitrary_signatures_are_judged_not_raised(world, keyring, verifier, head, body, tail, b64, payload):
    signature = head + (base64.encodebytes(body) if b64 else body) + tail
    for scheme in (SshScheme(keyring), OpenPGPScheme(keyring)):
        if scheme.recognizes(signature):
            verdict = scheme.verify(signature, payload, WHEN)  # the interface: never raises on hostile input
            assert verdict.status is not Status.TRUSTED
    verdict = verifier.verify(signature, payload, WHEN)
    assert verdict.status is not Status.TRUSTED
    assert "could not be checked" not in verdict.reason, f"a scheme raised: {verdict.reason}"


# =========================================================================== keyrings

_KEY_NAMES = ["ssh", "openpgp", "fingerprint", "valid_after", "valid_before", "revoked", "namespaces", "comment",
              "source", "obtained", "bogus"]
_NAMES = ["version", "policy", "person", "forge", "rule", "upstream", "id", "name", "emails", "github", "github_id",
          "roles", "key", "handle", "trust_root", "openpgp_sha1", "openpgp_expiry", "paths", "approvals",
          "approvers", "exclude_author", "match", *_KEY_NAMES]


def _toml_scalars(world_strings):
    return st.one_of(
        st.text(max_size=40), st.sampled_from(world_strings), st.integers(-2, 2**63 - 1), st.booleans(),
        st.floats(allow_nan=False), st.datetimes(timezones=st.sampled_from([timezone.utc])),
        st.dates(),
    )


def _toml_values(world_strings):
    return st.recursive(
        _toml_scalars(world_strings),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(_NAMES), inner, max_size=5),
        ),
        max_leaves=20,
    )


def _documents(world_strings):
    person_key = st.dictionaries(st.sampled_from(_KEY_NAMES), _toml_values(world_strings), max_size=4)
    person = st.fixed_dictionaries({"id": st.one_of(st.sampled_from(["alice", "bob", "role:x", "maintainers"]),
                                                    st.text(max_size=5))},
                                   optional={"key": st.lists(person_key, max_size=3),
                                             "github": st.text(max_size=8), "roles": st.lists(st.text(max_size=5))})
    return st.fixed_dictionaries(
        {"version": st.sampled_from([1, 1, 1, 2, "1"])},
        optional={
            "policy": st.dictionaries(st.sampled_from(["trust_root", "forge", "openpgp_sha1", "openpgp_expiry", "x"]),
                                      st.one_of(st.sampled_from(["reject", "accept", "enforce", "ignore", "a" * 40]),
                                                _toml_scalars(world_strings)), max_size=3),
            "person": st.lists(person, max_size=3),
            "forge": st.lists(st.dictionaries(st.sampled_from(["id", "openpgp", "ssh", "key", "revoked"]),
                                              _toml_values(world_strings), max_size=3), max_size=2),
            "rule": st.lists(st.dictionaries(st.sampled_from(["paths", "approvals", "approvers", "exclude_author"]),
                                             _toml_values(world_strings), max_size=4), max_size=2),
            "upstream": st.lists(st.dictionaries(st.sampled_from(["match", "openpgp", "ssh", "fingerprint"]),
                                                 _toml_values(world_strings), max_size=3), max_size=2),
        },
    )


@pytest.fixture(scope="module")
def keyring_files(world) -> dict[str, bytes]:
    return {"keys/alice.asc": world.pgp_cert.read_bytes(), "keys/garbage.asc": b"\x99\x00\x01garbage",
            "keys/empty.asc": b""}


def _load(raw: bytes, files: dict[str, bytes]):
    """The keyring, or None when it is refused; a refusal must be one line naming keyring.toml."""
    try:
        keyring = parse_keyring(raw, Path("/nonexistent/keyring"), Path("/nonexistent/keyring/keyring.toml"),
                                read_file=files.get)
    except CommitguardError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        assert message.startswith("/nonexistent/keyring/keyring.toml: "), repr(message)
        return None
    assert len(keyring.digest) == 64 and len({p.id for p in keyring.persons}) == len(keyring.persons)
    return keyring


@CI
@given(data=st.data())
def test_keyring_documents_load_or_fail_with_commitguard_error(world, keyring_files, data):
    import tomlkit

    strings = [world.ssh_key.pub_line, "keys/alice.asc", "keys/garbage.asc", "keys/empty.asc", "../etc/passwd",
               "/etc/passwd", "ssh-ed25519 AAAA", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ=="]
    document = data.draw(_documents(strings))
    keyring = _load(tomlkit.dumps(document).encode(), keyring_files)
    if keyring is not None:  # what loads is what the document says, person for person
        assert document["version"] == 1
        assert [p.id for p in keyring.persons] == [p["id"] for p in document.get("person", [])]
        assert len(keyring.rules) == len(document.get("rule", []))


@CI
@given(data=st.data())
def test_mutated_keyring_toml_loads_or_fails_with_commitguard_error(world, keyring_files, data):
    original = (world.keyring_dir / "keyring.toml").read_bytes()
    loaded = _load(data.draw(mutated(original, max_ops=4)), keyring_files)
    assert loaded is None or loaded.digest  # anything that loads is a whole keyring


@CI
@given(raw=st.binary(max_size=512))
def test_keyring_bytes_load_or_fail_with_commitguard_error(keyring_files, raw):
    keyring = _load(raw, keyring_files)
    assert keyring is None or b"version" in raw  # no keyring loads without its version line


# =========================================================================== certificates


def test_split_certs_of_a_sha1_bound_certificate_does_not_raise_runtime_error(world):
    """``openpgp_packets.split_certs`` promises ValueError for what it cannot read.

    Found by fuzz/fuzz_github.py: pysequoia's ``Cert.user_ids`` applies the
    standard policy and raises RuntimeError ("No binding signature at time")
    for a certificate whose self-signatures use SHA-1, a real certificate made
    by gpg. A keyring listing such a key cannot be loaded at all (exit 2,
    "internal error", even under ``openpgp_sha1 = "accept"``) and ``keyring
    import github`` stops for a user who uploaded one.
    """
    try:
        certs = openpgp_packets.split_certs(world.old_cert.read_bytes())
    except ValueError:
        return
    assert len(certs) == 1 and certs[0].fingerprint


def test_keyring_with_a_sha1_bound_certificate_loads_or_fails_with_commitguard_error(world):
    toml = b'version = 1\n[policy]\nopenpgp_sha1 = "accept"\n[[person]]\nid = "old"\n[[person.key]]\nopenpgp = "keys/old.asc"\n'
    try:
        keyring = parse_keyring(toml, Path("/k"), Path("/k/keyring.toml"),
                                read_file={"keys/old.asc": world.old_cert.read_bytes()}.get)
    except CommitguardError:
        return
    assert keyring.persons[0].keys


def test_github_import_of_a_sha1_bound_gpg_key_does_not_crash(world):
    from commitguard.keyring.importers.github import GitHubImporter
    from commitguard.keyring.importers.registry import ImportRequest

    importer = GitHubImporter(ImportRequest(args=("old",)))
    key, notes, _ = importer._gpg_key("old", {"key_id": "ABCDEF0123456789", "raw_key": world.old_cert.read_text(),
                                               "can_sign": True}, "github:old")
    assert key is not None or notes


@CI
@given(data=st.data())
def test_split_certs_raises_only_value_error(world, data):
    """The certificate parser behind every keyring and import, on mutated real certificates."""
    source = data.draw(st.sampled_from([world.pgp_cert, world.old_cert])).read_bytes()
    raw = data.draw(st.one_of(mutated(source, max_ops=4), st.builds(
        lambda b: b, mutated(pgp_dearmor_bytes(source), max_ops=4))))
    try:
        certs = openpgp_packets.split_certs(raw)
    except ValueError:
        return
    for cert in certs:
        assert len(cert.fingerprint) in (40, 64)


def pgp_dearmor_bytes(armored: bytes) -> bytes:
    lines = armored.decode().strip().splitlines()
    return base64.b64decode("".join(l for l in lines[1:-1] if l and ":" not in l and not l.startswith("=")))


# =========================================================================== approvals

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)


@st.composite
def envelopes(draw):
    payload = draw(st.one_of(st.binary(max_size=200), st.builds(lambda v: json.dumps(v).encode(), _json)))
    sig = draw(st.binary(max_size=200))
    doc = {
        "payloadType": draw(st.sampled_from([PAYLOAD_TYPE, "text/plain", 5, None])),
        "payload": draw(st.sampled_from([base64.b64encode(payload).decode(), "!!", 7])),
        "signatures": draw(st.sampled_from([
            [{"keyid": "k", "sig": base64.b64encode(sig).decode()}], [], [{"sig": 5}], [{"keyid": 3, "sig": "AA=="}],
            "x", [{"keyid": "", "sig": base64.b64encode(sig).decode()}] * 2])),
    }
    for key in draw(st.lists(st.sampled_from(list(doc)), max_size=1)):
        del doc[key]
    return json.dumps(doc)


@CI
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300), envelopes(),
                      st.builds(json.dumps, _json)))
def test_parse_envelope_raises_only_envelope_error(text):
    try:
        envelope = parse_envelope(text)
    except EnvelopeError:
        return
    assert isinstance(envelope.payload, bytes) and envelope.signature


def _statements():
    hexes = st.sampled_from(["a" * 40, "0123456789abcdef" * 2 + "01234567", "A" * 40, "g" * 40, "", 5])
    predicate = st.fixed_dictionaries({}, optional={
        "repository": st.one_of(st.text(max_size=10), st.integers()), "base": hexes, "head": hexes,
        "headTree": hexes, "verdict": st.sampled_from(["approve", "reject", "", None]),
        "pullRequest": st.one_of(st.integers(), st.booleans(), st.text(max_size=3), st.none()),
        "reviewer": _json, "timestamp": _json})
    return st.fixed_dictionaries({}, optional={
        "_type": st.sampled_from(["https://in-toto.io/Statement/v1", "x"]),
        "predicateType": st.sampled_from(["https://commitguard.dev/approval/v1", "y"]),
        "predicate": st.one_of(predicate, _json),
        "subject": st.one_of(st.lists(st.fixed_dictionaries({}, optional={
            "name": _json, "digest": st.one_of(st.fixed_dictionaries({"gitCommit": hexes}), _json)}), max_size=2),
            _json),
    })


@CI
@given(payload=st.one_of(st.binary(max_size=300), st.builds(lambda v: json.dumps(v).encode(), _statements()),
                         st.builds(lambda v: json.dumps(v).encode(), _json), st.just(b"[" * 100_000)))
def test_parse_statement_raises_only_envelope_error(payload):
    try:
        approval = parse_statement(payload)
    except EnvelopeError:
        return
    assert len(approval.head) == 40 and approval.verdict == "approve"


@CI
@given(data=st.data())
def test_mutated_approval_is_never_valid(world, keyring, data):
    """A changed payload or signature of a real approval never counts."""
    doc = json.loads(world.approval)
    payload = base64.b64decode(doc["payload"])
    sig = base64.b64decode(doc["signatures"][0]["sig"])
    if data.draw(st.booleans()):
        payload = data.draw(mutated(payload))
    else:
        sig = data.draw(mutated(sig))
    doc["payload"] = base64.b64encode(payload).decode()
    doc["signatures"][0]["sig"] = base64.b64encode(sig).decode()
    verdict = ApprovalVerifier(keyring).verify(RawApproval(json.dumps(doc), "test"), world.context, WHEN)
    if verdict.status is ApprovalStatus.VALID:
        assert payload == base64.b64decode(json.loads(world.approval)["payload"])
        assert world.ssh_keygen_accepts(sig, dsse_pae(payload), "commitguard-approval"), sig


_CONTEXT_FIELDS = {
    "repository": st.sampled_from(["example.org/nixpkgs2", "example.org/other", "Example.org/nixpkgs", ""]),
    "base": st.sampled_from(["0" * 40, "1" * 39 + "2", "2" * 40]),
    "head": st.sampled_from(["1" * 40, "2" * 39 + "3", "3" * 40]),
    "head_tree": st.sampled_from(["2" * 40, "3" * 39 + "4", "4" * 40]),
    "pull_request": st.sampled_from([6, 8, 70]),  # None: a local check that knows no number
}


@CI
@given(data=st.data())
def test_a_valid_approval_counts_only_for_the_review_it_names(world, keyring, data):
    """The untouched, validly signed approval of one review is never valid for
    another: any one of repository, base, head, head tree or pull request changed."""
    field = data.draw(st.sampled_from(sorted(_CONTEXT_FIELDS)))
    value = data.draw(_CONTEXT_FIELDS[field])
    other = dataclasses.replace(world.context, **{field: value})
    assume(other != world.context)
    verdict = ApprovalVerifier(keyring).verify(RawApproval(world.approval, "test"), other, WHEN)
    assert verdict.status is not ApprovalStatus.VALID, (field, value, verdict)
    assert verdict.reason


# =========================================================================== Nix

_NIX_TOKENS = ["{", "}", "[", "]", "(", ")", ";", "=", ":", ",", ".", "...", "?", "@", "++", "//", "->", "||",
               "with", "lib", "maintainers", "lib.maintainers", "meta", "meta.maintainers", "let", "in", "inherit",
               "rec", "if", "then", "else", "assert", "import", "./x.nix", "alice", "bob", '"alice"', "''",
               '"${', "${", '"', "#", "/*", "*/", "\n", " ", "\t", "1", "2.5", "true", "null", "fetchurl",
               "src", "url", "hash", "sha256-AAAA=", "\\", "\x00", "\xff", "é"]


@CI
@given(st.one_of(st.lists(st.sampled_from(_NIX_TOKENS), max_size=200).map(lambda t: " ".join(t).encode("utf-8",
                                                                                                         "surrogatepass")),
                 st.binary(max_size=1000)))
def test_nix_reader_never_raises(source):
    tree = parse(source)
    assert tree.root_node is not None
    found = read_maintainers(source)
    assert all(isinstance(h, str) and h for h in found.handles)


def test_nix_reader_refuses_oversized_input():
    """The one documented failure of ``parse`` (ValueError over MAX_NIX_BYTES); the reader reports it."""
    with pytest.raises(ValueError):
        parse(b" " * (MAX_NIX_BYTES + 1))
    assert read_maintainers(b" " * (MAX_NIX_BYTES + 1)).unresolved
    read_maintainers(b"{ meta = " + b"(" * 50_000 + b"[ ]" + b")" * 50_000 + b"; }")


@pytest.mark.parametrize("source", [
    b"{ meta.maintainers = with lib.maintainers; " + b"[ a ] ++ " * 5_000 + b"[ b ]; }",
    b"{ meta.maintainers = " + b"(" * 2_000 + b"[ lib.maintainers.a ]" + b")" * 2_000 + b"; }",
    b"{ meta.maintainers = " + b"with lib; " * 2_000 + b"[ a ]; }",
], ids=["concatenations", "parentheses", "with-chain"])
def test_nix_reader_survives_deeply_nested_maintainers(source):
    """Well under MAX_NIX_BYTES, yet nested deeper than Python's recursion limit:
    ``_collect`` recursed once per level and raised RecursionError (check-pr
    then stops with "internal error" for every pull request touching the package)."""
    found = read_maintainers(source)
    assert found.handles or found.unresolved
