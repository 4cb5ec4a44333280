"""A small Sigstore of our own for tests: a Fulcio-like CA chain, a Rekor-like log, a trusted root.

Everything is made with ``cryptography`` (keys, certificates, signatures) and
a DER encoder written here, independently of the parser under test, so that
the tests can build every variant an attacker could: another identity,
another issuer, a certificate outside its validity at log time, a forged
chain, a log entry for another signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER = "https://github.com/login/oauth"
OTHER_ISSUER = "https://accounts.google.com"
EPOCH = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


# -- DER, by hand ---------------------------------------------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(items)))


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def integer(n: int) -> bytes:
    return tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def octets(b: bytes) -> bytes:
    return tlv(0x04, b)


def attribute(kind: str, value: bytes) -> bytes:
    return seq(oid(kind), set_of(value))


# -- protobuf, by hand (gitsign's embedded TransparencyLogEntry) ---------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def pb_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


# -- the authorities ------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def make_ca(cn: str, parent: Ca | None = None, start: datetime = EPOCH - timedelta(days=365)) -> Ca:
    key = ec.generate_private_key(ec.SECP384R1())
    issuer_key = parent.key if parent else key
    builder = (x509.CertificateBuilder().subject_name(_name(cn))
               .issuer_name(parent.cert.subject if parent else _name(cn))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if parent is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                                        critical=False)
    return Ca(key, builder.sign(issuer_key, hashes.SHA384()))


@dataclass
class Signer:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    identity: str
    issuer: str


def fulcio_cert(ca: Ca, identity: str, issuer: str = ISSUER, start: datetime = EPOCH, *,
                issuer_ext_v1: bool = True, ct: "CtLog | None" = None) -> Signer:
    """A ten-minute certificate as Fulcio issues it (SAN email or URI, issuer extensions, code signing);
    with ``ct``, an SCT that log signed over the precertificate is embedded, as Fulcio does."""
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.RFC822Name(identity) if "@" in identity and "://" not in identity else x509.UniformResourceIdentifier(identity)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(minutes=10))
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
               .add_extension(x509.SubjectAlternativeName([san]), critical=True)
               .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"),
                                                         tlv(0x0C, issuer.encode())), critical=False))
    if issuer_ext_v1:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), issuer.encode()), critical=False)
    if ct is not None:
        precert = builder.sign(ca.key, hashes.SHA384())  # the same TBS, without the SCT list: what CT signs
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"),
                                       octets(ct.sct_list(precert.tbs_certificate_bytes, ca, start))), critical=False)
    return Signer(key, builder.sign(ca.key, hashes.SHA384()), identity, issuer)


@dataclass
class CtLog:
    """A Certificate Transparency log: signs RFC 6962 precertificate timestamps."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def key_der(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.key_der).digest()

    def sct_list(self, tbs: bytes, ca: Ca, when: datetime) -> bytes:
        """A TLS-encoded SignedCertificateTimestampList holding one SCT (RFC 6962 3.2, 3.3)."""
        millis = int(when.timestamp()) * 1000
        issuer_key_hash = hashlib.sha256(ca.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
        signed = (bytes([0, 0]) + millis.to_bytes(8, "big") + (1).to_bytes(2, "big") + issuer_key_hash
                  + len(tbs).to_bytes(3, "big") + tbs + (0).to_bytes(2, "big"))
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (bytes([0]) + self.log_id + millis.to_bytes(8, "big") + (0).to_bytes(2, "big")
               + bytes([4, 3]) + len(signature).to_bytes(2, "big") + signature)
        item = len(sct).to_bytes(2, "big") + sct
        return len(item).to_bytes(2, "big") + item


# -- signatures and log entries --------------------------------------------------------------


@dataclass
class Signed:
    """One gitsign-like signature over ``payload``, and the pieces a log entry binds."""

    payload: bytes
    signer: Signer
    signed_attributes: bytes
    signature: bytes
    entry_proto: bytes | None = None

    def armored(self) -> bytes:
        return armor(self.der())

    def der(self) -> bytes:
        cert = self.signer.cert
        unsigned = b""
        if self.entry_proto is not None:
            unsigned = tlv(0xA1, attribute("1.3.6.1.4.1.57264.3.1", octets(self.entry_proto))[0:])
        signer_info = seq(
            integer(1),
            seq(cert.issuer.public_bytes(), integer(cert.serial_number)),
            seq(oid("2.16.840.1.101.3.4.2.1")),
            b"\xa0" + self.signed_attributes[1:],
            seq(oid("1.2.840.10045.4.3.2")),
            octets(self.signature),
            unsigned,
        )
        signed_data = seq(integer(1), set_of(seq(oid("2.16.840.1.101.3.4.2.1"))), seq(oid("1.2.840.113549.1.7.1")),
                          tlv(0xA0, cert.public_bytes(serialization.Encoding.DER)), set_of(signer_info))
        return seq(oid("1.2.840.113549.1.7.2"), tlv(0xA0, signed_data))

    @property
    def artifact_hash(self) -> str:
        return hashlib.sha256(self.signed_attributes).hexdigest()


def armor(der: bytes) -> bytes:
    text = base64.b64encode(der).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN SIGNED MESSAGE-----\n" + "\n".join(lines) + "\n-----END SIGNED MESSAGE-----\n").encode()


def sign(signer: Signer, payload: bytes, digest_of: bytes | None = None) -> Signed:
    """Sign as gitsign does: signed attributes (content type, signing time, message digest)."""
    digest = hashlib.sha256(payload if digest_of is None else digest_of).digest()
    attrs = set_of(
        attribute("1.2.840.113549.1.9.3", oid("1.2.840.113549.1.7.1")),
        attribute("1.2.840.113549.1.9.5", tlv(0x17, signer.cert.not_valid_before_utc.strftime("%y%m%d%H%M%SZ").encode())),
        attribute("1.2.840.113549.1.9.4", octets(digest)),
    )
    return Signed(payload, signer, attrs, signer.key.sign(attrs, ec.ECDSA(hashes.SHA256())))


@dataclass
class Log:
    """A Rekor-like log: a P-256 key that signs entry timestamps."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    index: int = 1000

    @property
    def key_der(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.key_der).digest()

    def entry(self, signed: Signed, integrated: datetime, *, cert: x509.Certificate | None = None,
              signature: bytes | None = None, artifact_hash: str | None = None, proof: bool = False) -> dict:
        """An entry as Rekor's API returns it: {uuid: {body, integratedTime, logID, logIndex, verification}};
        with ``proof``, an inclusion proof in a tree of a few other leaves and a signed checkpoint."""
        cert = cert or signed.signer.cert
        body = rfc8785.dumps({
            "apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"data": {"hash": {"algorithm": "sha256", "value": artifact_hash or signed.artifact_hash}},
                     "signature": {"content": base64.b64encode(signature or signed.signature).decode(),
                                   "publicKey": {"content": base64.b64encode(
                                       cert.public_bytes(serialization.Encoding.PEM)).decode()}}},
        })
        self.index += 1
        when = int(integrated.timestamp())
        stamp = self.key.sign(rfc8785.dumps({"body": base64.b64encode(body).decode(), "integratedTime": when,
                                             "logID": self.log_id.hex(), "logIndex": self.index}),
                              ec.ECDSA(hashes.SHA256()))
        uuid = hashlib.sha256(body).hexdigest()
        verification = {"signedEntryTimestamp": base64.b64encode(stamp).decode()}
        if proof:
            verification["inclusionProof"] = self.proof(body)
        return {uuid: {"body": base64.b64encode(body).decode(), "integratedTime": when, "logID": self.log_id.hex(),
                       "logIndex": self.index, "verification": verification}}

    def proof(self, body: bytes, position: int = 5, size: int = 11) -> dict:
        """RFC 6962 section 2.1: the entry as leaf ``position`` of ``size``, written independently of
        the checker (recursive MTH and PATH, as the RFC defines them)."""
        leaves = [_leaf(b"other leaf %d" % i) for i in range(size)]
        leaves[position] = _leaf(body)
        root = _mth(leaves)
        text = f"rekor.sigstore.test - 42\n{size}\n{base64.b64encode(root).decode()}\n"
        signature = self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256()))
        note = text + "\n\u2014 rekor.sigstore.test " + base64.b64encode(self.log_id[:4] + signature).decode() + "\n"
        return {"logIndex": position, "treeSize": size, "rootHash": root.hex(),
                "hashes": [h.hex() for h in _path(position, leaves)], "checkpoint": note}


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


def entry_proto(api_entry: dict) -> bytes:
    """The same entry as gitsign embeds it: a TransparencyLogEntry protobuf."""
    (raw,) = api_entry.values()
    promise = pb_bytes(1, base64.b64decode(raw["verification"]["signedEntryTimestamp"]))
    proof = b""
    if "inclusionProof" in raw["verification"]:
        p = raw["verification"]["inclusionProof"]
        proof = pb_bytes(6, pb_int(1, p["logIndex"]) + pb_bytes(2, bytes.fromhex(p["rootHash"])) + pb_int(3, p["treeSize"])
                         + b"".join(pb_bytes(4, bytes.fromhex(h)) for h in p["hashes"])
                         + pb_bytes(5, pb_bytes(1, p["checkpoint"].encode())))
    return (pb_int(1, raw["logIndex"]) + pb_bytes(2, pb_bytes(1, bytes.fromhex(raw["logID"])))
            + pb_bytes(3, pb_bytes(1, b"hashedrekord") + pb_bytes(2, b"0.0.1"))
            + pb_int(4, raw["integratedTime"]) + pb_bytes(5, promise) + proof + pb_bytes(7, base64.b64decode(raw["body"])))


def trusted_root(chain: list[Ca], log: Log, base_url: str = "https://rekor.sigstore.test",
                 ct: CtLog | None = None) -> bytes:
    """A trusted_root.json naming one CA chain (intermediate first, root last), one log, and a CT log or none."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    start = (EPOCH - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": base_url, "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": b64(log.key_der), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                 "validFor": {"start": start}},
                   "logId": {"keyId": b64(log.log_id)}}],
        "certificateAuthorities": [{
            "subject": {"organization": "sigstore.test", "commonName": "sigstore"},
            "uri": "https://fulcio.sigstore.test",
            "certChain": {"certificates": [{"rawBytes": b64(c.cert.public_bytes(serialization.Encoding.DER))}
                                           for c in chain]},
            "validFor": {"start": start},
        }],
        "ctlogs": [] if ct is None else [{
            "baseUrl": "https://ctfe.sigstore.test", "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(ct.key_der), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": start}},
            "logId": {"keyId": b64(ct.log_id)}}],
    }, indent=1).encode()


@dataclass
class World:
    root_ca: Ca
    intermediate: Ca
    log: Log
    root_json: bytes
    ct: CtLog | None = None

    def write_root(self, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "trusted_root.json").write_bytes(self.root_json)
        return "trusted_root.json"


def make_world(base_url: str = "https://rekor.sigstore.test", *, ct: bool = False) -> World:
    """A Sigstore of our own; with ``ct``, its root lists a CT log, so certificates need an SCT."""
    root = make_ca("sigstore")
    intermediate = make_ca("sigstore-intermediate", root)
    log = Log()
    ct_log = CtLog() if ct else None
    return World(root, intermediate, log, trusted_root([intermediate, root], log, base_url, ct_log), ct_log)


def write_mirror(directory: Path, signed: Signed, entry: dict) -> Path:
    path = directory / "rekor" / f"{signed.artifact_hash}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entry))
    return directory


def payload(message: str = "add hello") -> bytes:
    return (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
            b"author Alice <alice@example.org> 1740830400 +0000\n"
            b"committer Alice <alice@example.org> 1740830400 +0000\n\n" + message.encode() + b"\n")
