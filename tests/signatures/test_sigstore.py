"""Sigstore (gitsign) signatures against a Sigstore of our own (tests/signatures/sigstore_world.py).

Each refusal SPEC and issue 21 name has its exact status: another identity or
issuer (unknown-key), a log time outside the certificate's validity
(expired-key), a swapped payload and a forged chain (bad-signature), no log
entry (unknown-key, "no transparency-log entry"), and the three places an
entry comes from (embedded, offline mirror, online from a local server).
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from commitguard.errors import CommitguardError
from commitguard.keyring.loader import load_keyring
from commitguard.model.verdicts import Status
from commitguard.signatures.dispatch import SignatureVerifier
from commitguard.signatures.sigstore.rekor import Transparency
from tests.signatures import sigstore_world as sw

ALICE = "alice@example.org"
WHEN = sw.EPOCH + timedelta(minutes=1)  # the log's integrated time, inside the certificate's ten minutes
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def world() -> sw.World:
    return sw.make_world()


def keyring_dir(directory: Path, world: sw.World, *, keys: str = "", forge: str = "", policy: str = "") -> Path:
    root = world.write_root(directory)
    person = (f'[[person]]\nid = "alice"\n\n[[person.key]]\nsigstore = {{identity = "{ALICE}", issuer = "{sw.ISSUER}"}}\n'
              + keys) if keys is not None else ""
    (directory / "keyring.toml").write_text(
        f'version = 1\n\n[policy]\nsigstore_trusted_root = "{root}"\n{policy}\n{person}\n{forge}')
    return directory


def verifier(directory: Path, world: sw.World, mirror: Path | None = None, online: bool = False, **kw) -> SignatureVerifier:
    return SignatureVerifier(load_keyring(keyring_dir(directory, world, **kw)), Transparency(mirror, online))


def judge(v: SignatureVerifier, signed: sw.Signed, payload: bytes | None = None):
    return v.verify(signed.armored(), signed.payload if payload is None else payload, NOW)


def mirrored(tmp_path: Path, world: sw.World, signed: sw.Signed, when: datetime = WHEN, **entry_kw) -> Path:
    return sw.write_mirror(tmp_path / "mirror", signed, world.log.entry(signed, when, **entry_kw))


def test_trusted_with_mirror_entry(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    v = verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed))
    verdict = judge(v, signed)
    assert verdict.status is Status.TRUSTED, verdict.reason
    assert verdict.signer == "alice" and verdict.signature.type.value == "x509"
    assert verdict.signature.key == f"{ALICE} ({sw.ISSUER})"
    assert verdict.signature.created == WHEN.replace(microsecond=0)
    assert ALICE in verdict.reason and sw.ISSUER in verdict.reason and "logged at" in verdict.reason


def test_trusted_with_embedded_entry(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    signed.entry_proto = sw.entry_proto(world.log.entry(signed, WHEN))
    verdict = judge(verifier(tmp_path / "kr", world), signed)
    assert verdict.status is Status.TRUSTED, verdict.reason
    assert "embedded in the signature" in verdict.reason


def test_no_entry_is_unknown_key_and_not_cached(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world, tmp_path / "empty-mirror"), signed)
    assert verdict.status is Status.UNKNOWN_KEY and verdict.signer is None
    assert "no transparency-log entry" in verdict.reason and ALICE in verdict.reason and sw.ISSUER in verdict.reason
    assert verdict.cacheable is False  # the mirror may gain the entry


def test_identity_not_in_keyring(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, "mallory@example.org"), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed)), signed)
    assert verdict.status is Status.UNKNOWN_KEY and verdict.signer is None
    assert "mallory@example.org" in verdict.reason and "not in the keyring" in verdict.reason


def test_another_issuer(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE, sw.OTHER_ISSUER), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed)), signed)
    assert verdict.status is Status.UNKNOWN_KEY, verdict.reason
    assert sw.OTHER_ISSUER in verdict.reason and "not in the keyring" in verdict.reason


@pytest.mark.parametrize("offset", [timedelta(minutes=11), timedelta(seconds=-1), timedelta(days=30)])
def test_log_time_outside_validity(world, tmp_path, offset):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed, sw.EPOCH + offset)), signed)
    assert verdict.status is Status.EXPIRED_KEY, verdict.reason
    assert ALICE in verdict.reason and "logged at" in verdict.reason


def test_log_time_at_the_bounds_is_valid(world, tmp_path):
    for offset in (timedelta(0), timedelta(minutes=10)):
        signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
        mirror = mirrored(tmp_path / str(offset.seconds), world, signed, sw.EPOCH + offset)
        assert judge(verifier(tmp_path / f"kr{offset.seconds}", world, mirror), signed).status is Status.TRUSTED


def test_swapped_payload(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    v = verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed))
    verdict = judge(v, signed, sw.payload("add hellp"))
    assert verdict.status is Status.BAD_SIGNATURE and "message digest" in verdict.reason
    assert ALICE in verdict.reason and sw.ISSUER in verdict.reason


def test_signature_over_other_attributes(world, tmp_path):
    """The message digest matches, but the ECDSA signature is over other attributes."""
    signer = sw.fulcio_cert(world.intermediate, ALICE)
    signed = sw.sign(signer, sw.payload())
    other = sw.sign(signer, sw.payload("other"))
    signed.signature = other.signature
    verdict = judge(verifier(tmp_path / "kr", world), signed)
    assert verdict.status is Status.BAD_SIGNATURE and "does not verify" in verdict.reason


def test_forged_chain(world, tmp_path):
    """A CA of the attacker's own, with the very names of the real ones."""
    fake_root = sw.make_ca("sigstore")
    fake_intermediate = sw.make_ca("sigstore-intermediate", fake_root)
    signed = sw.sign(sw.fulcio_cert(fake_intermediate, ALICE), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed)), signed)
    assert verdict.status is Status.BAD_SIGNATURE, verdict.reason
    assert "does not chain" in verdict.reason and ALICE in verdict.reason
    # and without any entry: still refused for the chain, not just for the missing entry
    assert judge(verifier(tmp_path / "kr2", world), signed).status is Status.BAD_SIGNATURE


def test_certificate_of_another_authority(world, tmp_path):
    """A certificate from a CA the trusted root does not name at all: nobody we know."""
    stranger = sw.make_ca("corporate-ca")
    signed = sw.sign(sw.fulcio_cert(stranger, ALICE), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world), signed)
    assert verdict.status is Status.UNKNOWN_KEY and "does not chain" in verdict.reason


def test_entry_for_another_signature(world, tmp_path):
    signer = sw.fulcio_cert(world.intermediate, ALICE)
    signed = sw.sign(signer, sw.payload())
    other = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload("another commit"))
    cases = {
        "another certificate": dict(cert=other.signer.cert),
        "another signature": dict(signature=other.signature),
        "another artifact hash": dict(artifact_hash=other.artifact_hash),
    }
    for name, kw in cases.items():
        mirror = mirrored(tmp_path / name.replace(" ", "-"), world, signed, **kw)
        verdict = judge(verifier(tmp_path / f"kr-{name.replace(' ', '-')}", world, mirror), signed)
        assert verdict.status is Status.BAD_SIGNATURE, (name, verdict.reason)
        assert f"it logs {name}" in verdict.reason


def test_entry_signed_by_another_log(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    rogue = sw.Log()
    entry = rogue.entry(signed, WHEN)
    mirror = sw.write_mirror(tmp_path / "mirror", signed, entry)
    verdict = judge(verifier(tmp_path / "kr", world, mirror), signed)
    assert verdict.status is Status.BAD_SIGNATURE and "a log the" in verdict.reason
    # the right log id, but a timestamp the log did not sign (the time was moved)
    (raw,) = world.log.entry(signed, WHEN).values()
    raw["integratedTime"] += 60
    sw.write_mirror(tmp_path / "mirror2", signed, {"x": raw})
    verdict = judge(verifier(tmp_path / "kr2", world, tmp_path / "mirror2"), signed)
    assert verdict.status is Status.BAD_SIGNATURE and "does not verify" in verdict.reason


def test_keyring_window_and_revocation_apply_at_log_time(world, tmp_path):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    mirror = mirrored(tmp_path, world, signed)
    late = verifier(tmp_path / "kr1", world, mirror, keys="valid_after = 2025-03-02T00:00:00Z\n")
    assert judge(late, signed).status is Status.EXPIRED_KEY
    revoked = verifier(tmp_path / "kr2", world, mirror, keys="revoked = true\n")
    assert judge(revoked, signed).status is Status.REVOKED_KEY


def test_forge_identity(world, tmp_path):
    workflow = "https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main"
    actions = "https://token.actions.githubusercontent.com"
    signed = sw.sign(sw.fulcio_cert(world.intermediate, workflow, actions), sw.payload())
    forge = f'[[forge]]\nid = "ci"\nsigstore = {{identity = "{workflow}", issuer = "{actions}"}}\n'
    verdict = judge(verifier(tmp_path / "kr", world, mirrored(tmp_path, world, signed), forge=forge), signed)
    assert verdict.status is Status.FORGE and verdict.signer == "ci", verdict.reason


def test_issuer_extensions_must_agree(world, tmp_path):
    """Only the 1.8 extension (newer Fulcio certificates) is enough; two that disagree are refused."""
    only_v2 = sw.sign(sw.fulcio_cert(world.intermediate, ALICE, issuer_ext_v1=False), sw.payload())
    assert judge(verifier(tmp_path / "kr", world, mirrored(tmp_path, world, only_v2)), only_v2).status is Status.TRUSTED


class _Rekor(BaseHTTPRequestHandler):
    entries: dict[str, dict] = {}  # artifact hash -> api entry
    seen: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(body["hash"])
        entry = self.entries.get(body["hash"].removeprefix("sha256:"))
        self._send(list(entry) if entry else [])

    def do_GET(self):  # noqa: N802
        uuid = self.path.rsplit("/", 1)[-1]
        for entry in self.entries.values():
            if uuid in entry:
                return self._send({uuid: entry[uuid]})
        self.send_error(404)

    def _send(self, value):
        data = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def rekor_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rekor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        _Rekor.entries.clear()
        _Rekor.seen.clear()


def test_online_only_when_asked(tmp_path, rekor_server):
    world = sw.make_world(base_url=rekor_server)
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    _Rekor.entries[signed.artifact_hash] = world.log.entry(signed, WHEN)
    offline = judge(verifier(tmp_path / "kr1", world), signed)
    assert offline.status is Status.UNKNOWN_KEY and "no transparency-log entry" in offline.reason
    assert _Rekor.seen == []  # nothing asked without --online
    online = judge(verifier(tmp_path / "kr2", world, online=True), signed)
    assert online.status is Status.TRUSTED, online.reason
    assert _Rekor.seen == [f"sha256:{signed.artifact_hash}"]
    # online, but the log has nothing: unknown-key, not cached
    other = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload("other"))
    missing = judge(verifier(tmp_path / "kr3", world, online=True), other)
    assert missing.status is Status.UNKNOWN_KEY and not missing.cacheable


def test_online_unreachable_is_unknown_key(tmp_path):
    world = sw.make_world(base_url="http://127.0.0.1:9")  # the discard port: nothing listens
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    verdict = judge(verifier(tmp_path / "kr", world, online=True), signed)
    assert verdict.status is Status.UNKNOWN_KEY and "no transparency-log entry" in verdict.reason


# -- the keyring syntax ------------------------------------------------------------------------


@pytest.mark.parametrize("key, field", [
    ('sigstore = {identity = "alice@example.org"}', "person[0].key[0].sigstore.issuer"),
    ('sigstore = {identity = "alice@example.org", issuer = "http://x"}', "person[0].key[0].sigstore.issuer"),
    ('sigstore = {identity = " alice@example.org", issuer = "https://x"}', "person[0].key[0].sigstore.identity"),
    ('sigstore = {identity = "alice", issuer = "https://x"}', "person[0].key[0].sigstore.identity"),
    ('sigstore = {identity = "a@b", issuer = "https://x", regexp = true}', "person[0].key[0].sigstore.regexp"),
    ('sigstore = "alice@example.org"', "person[0].key[0].sigstore"),
    ('sigstore = {identity = "a@b", issuer = "https://x"}\nssh = "ssh-ed25519 AAAA"', "person[0].key[0]"),
    ('sigstore = {identity = "a@b", issuer = "https://x"}\nnamespaces = ["file"]', "person[0].key[0].namespaces"),
    ('sigstore = {identity = "a@b", issuer = "https://x"}\nfingerprint = "AB"', "person[0].key[0].fingerprint"),
])
def test_keyring_refuses(tmp_path, key, field):
    (tmp_path / "keyring.toml").write_text(f'version = 1\n[[person]]\nid = "a"\n[[person.key]]\n{key}\n')
    with pytest.raises(CommitguardError) as info:
        load_keyring(tmp_path)
    assert field in str(info.value), str(info.value)


def test_keyring_refuses_shared_identity_and_bad_root(tmp_path, world):
    line = f'sigstore = {{identity = "{ALICE}", issuer = "{sw.ISSUER}"}}'
    (tmp_path / "keyring.toml").write_text(
        f'version = 1\n[[person]]\nid = "a"\n[[person.key]]\n{line}\n[[person]]\nid = "b"\n[[person.key]]\n{line}\n')
    with pytest.raises(CommitguardError, match="already listed"):
        load_keyring(tmp_path)
    (tmp_path / "root.json").write_text('{"mediaType": "nope"}')
    (tmp_path / "keyring.toml").write_text('version = 1\n[policy]\nsigstore_trusted_root = "root.json"\n')
    with pytest.raises(CommitguardError, match="policy.sigstore_trusted_root"):
        load_keyring(tmp_path)


def test_trusted_root_is_in_the_keyring_digest(tmp_path, world):
    a = load_keyring(keyring_dir(tmp_path / "a", world))
    other = sw.make_world()
    b = load_keyring(keyring_dir(tmp_path / "b", other))
    assert a.digest != b.digest


def test_embedded_entry_without_signed_time_is_unknown_key(world, tmp_path):
    """A Rekor v2 entry proves its time through a timestamp authority, which is not supported:
    no usable entry (unknown-key), not a bad signature."""
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    (raw,) = world.log.entry(signed, WHEN).values()
    signed.entry_proto = (sw.pb_int(1, raw["logIndex"]) + sw.pb_bytes(2, sw.pb_bytes(1, bytes.fromhex(raw["logID"])))
                          + sw.pb_bytes(7, base64.b64decode(raw["body"])))
    verdict = judge(verifier(tmp_path / "kr", world), signed)
    assert verdict.status is Status.UNKNOWN_KEY and "no transparency-log entry that can be used" in verdict.reason
    assert verdict.cacheable  # it is part of the commit


def test_refusals_caused_by_the_mirror_are_not_cached(world, tmp_path):
    """The mirror can be corrected; the commit and keyring cannot change what an embedded entry says."""
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())
    rogue = sw.Log()
    mirror = sw.write_mirror(tmp_path / "mirror", signed, rogue.entry(signed, WHEN))
    from_mirror = judge(verifier(tmp_path / "kr1", world, mirror), signed)
    assert from_mirror.status is Status.BAD_SIGNATURE and not from_mirror.cacheable
    late = sw.write_mirror(tmp_path / "mirror2", signed, world.log.entry(signed, sw.EPOCH + timedelta(hours=1)))
    expired = judge(verifier(tmp_path / "kr2", world, late), signed)
    assert expired.status is Status.EXPIRED_KEY and not expired.cacheable
    signed.entry_proto = sw.entry_proto(rogue.entry(signed, WHEN))
    embedded = judge(verifier(tmp_path / "kr3", world), signed)
    assert embedded.status is Status.BAD_SIGNATURE and embedded.cacheable


@pytest.mark.parametrize("where", ["mirror", "embedded"])
def test_inclusion_proof_checked_when_present(world, tmp_path, where):
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), sw.payload())

    def judge_with(entry: dict, name: str):
        if where == "embedded":
            signed.entry_proto = sw.entry_proto(entry)
            return judge(verifier(tmp_path / f"kr-{name}", world), signed)
        return judge(verifier(tmp_path / f"kr-{name}", world, sw.write_mirror(tmp_path / name, signed, entry)), signed)

    good = world.log.entry(signed, WHEN, proof=True)
    assert judge_with(good, "good").status is Status.TRUSTED
    for leaf, size in ((0, 1), (0, 2), (6, 7), (7, 8), (10, 11)):  # the edges of the audit path's walk
        entry = world.log.entry(signed, WHEN)
        (raw,) = entry.values()
        raw["verification"]["inclusionProof"] = world.log.proof(base64.b64decode(raw["body"]), leaf, size)
        assert judge_with(entry, f"edge-{leaf}-{size}").status is Status.TRUSTED, (leaf, size)

    def broken(change) -> dict:
        entry = world.log.entry(signed, WHEN, proof=True)
        (raw,) = entry.values()
        change(raw["verification"]["inclusionProof"])
        return entry

    cases = {
        "path": (lambda p: p["hashes"].__setitem__(1, "00" * 32), "does not lead to the root hash"),
        "index": (lambda p: p.__setitem__("logIndex", 4), "does not lead to the root hash"),
        "root": (lambda p: p.__setitem__("rootHash", "11" * 32), "does not lead to the root hash"),
        "note-size": (lambda p: p.__setitem__("checkpoint", p["checkpoint"].replace("\n11\n", "\n12\n", 1)),
                      "another tree size or root hash"),
        "note-signature": (lambda p: p.__setitem__("checkpoint", p["checkpoint"][:-12] + "AAAAAAAAAAA=\n"),
                           "does not verify under the log's key"),
        "note-unsigned": (lambda p: p.__setitem__("checkpoint", p["checkpoint"].split("\n\n")[0] + "\n\n"),
                          "not a signed note"),
    }
    for name, (change, needle) in cases.items():
        verdict = judge_with(broken(change), name)
        assert verdict.status is Status.BAD_SIGNATURE and needle in verdict.reason, (name, verdict.reason)


def test_certificate_transparency_required_when_the_root_lists_ct_logs(tmp_path):
    world = sw.make_world(ct=True)

    def verdict_for(signer: sw.Signer, name: str):
        signed = sw.sign(signer, sw.payload())
        mirror = sw.write_mirror(tmp_path / f"m-{name}", signed, world.log.entry(signed, WHEN))
        return judge(verifier(tmp_path / f"kr-{name}", world, mirror), signed)

    assert verdict_for(sw.fulcio_cert(world.intermediate, ALICE, ct=world.ct), "logged").status is Status.TRUSTED
    missing = verdict_for(sw.fulcio_cert(world.intermediate, ALICE), "missing")
    assert missing.status is Status.UNKNOWN_KEY and "no signed certificate timestamp" in missing.reason
    rogue = verdict_for(sw.fulcio_cert(world.intermediate, ALICE, ct=sw.CtLog()), "rogue")
    assert rogue.status is Status.BAD_SIGNATURE and "does not list" in rogue.reason, rogue.reason
    # an SCT the real CT log signed, but for another certificate: moved over by hand
    other = sw.fulcio_cert(world.intermediate, "bob@example.org", ct=world.ct)
    donor = other.cert.extensions.get_extension_for_oid(sw.x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"))
    moved = sw.fulcio_cert(world.intermediate, ALICE)
    builder = (sw.x509.CertificateBuilder().subject_name(moved.cert.subject).issuer_name(moved.cert.issuer)
               .public_key(moved.key.public_key()).serial_number(moved.cert.serial_number)
               .not_valid_before(moved.cert.not_valid_before_utc).not_valid_after(moved.cert.not_valid_after_utc))
    for ext in moved.cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    builder = builder.add_extension(sw.x509.UnrecognizedExtension(donor.oid, donor.value.public_bytes()), False)
    forged = sw.Signer(moved.key, builder.sign(world.intermediate.key, sw.hashes.SHA384()), ALICE, sw.ISSUER)
    verdict = verdict_for(forged, "moved")
    assert verdict.status is Status.BAD_SIGNATURE and "does not verify under the key of CT log" in verdict.reason
