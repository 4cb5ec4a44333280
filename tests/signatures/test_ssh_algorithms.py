"""Tests for commitguard.signatures.ssh_algorithms.

Fixtures come from outside the code under test: ECDSA signatures are made by
the real ``ssh-keygen``, FIDO signatures are real commits from public
repositories (no hardware token here), and the few FIDO signatures the tests
build themselves use ``cryptography`` directly, following PROTOCOL.u2f.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import cryptography.exceptions
import pygit2
import pytest
import sshsig
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sshsig.ssh_public_key import PublicKey, PublicKeyAlgorithm
from sshsig.sshsig import SshsigSignature, SshsigWrapper

from commitguard.signatures import ssh_algorithms
from commitguard.signatures.ssh_algorithms import MissingUserPresence, register

VECTORS = Path(__file__).resolve().parent.parent / "data" / "vectors"
SK_ECDSA_COMMIT = "25144449aa131a3134356a54cd5bef91b3931eef"
SK_ED25519_COMMIT = "69f306d2eba3746922f415f61edffe26cb366f23"

EXPECTED_ALGOS = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
}

@pytest.fixture(autouse=True)
def _registered() -> None:
    register()


# --------------------------------------------------------------------------
# helpers (independent of the module under test)


def ssh_string(value: bytes) -> bytes:
    return struct.pack("!L", len(value)) + value


def ssh_mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return ssh_string(raw)


def wrapper_bytes(sig: SshsigSignature, message: bytes, namespace: bytes = b"git") -> bytes:
    digest = hashlib.new(sig.hash_algo.decode("ascii"), message).digest()
    return SshsigWrapper(namespace=namespace, hash_algo=sig.hash_algo, hash=digest).to_bytes()


def run(*args: str | Path, cwd: Path | None = None) -> str:
    return subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def sk_signed_data(application: bytes, flags: int, counter: int, message: bytes) -> bytes:
    return hashlib.sha256(application).digest() + bytes([flags]) + struct.pack("!L", counter) + hashlib.sha256(message).digest()


def commit_signature(name: str, tmp_path: Path) -> tuple[SshsigSignature, bytes, str]:
    """Load a vector commit through git's object database, as the real checker does."""
    data = (VECTORS / f"{name}.commit").read_bytes()
    repo = pygit2.init_repository(str(tmp_path / "repo.git"), bare=True)
    oid = repo.odb.write(pygit2.GIT_OBJECT_COMMIT, data)
    assert str(oid) == name
    signature, payload = repo[oid].gpg_signature
    assert signature is not None
    return SshsigSignature.from_armored(signature), payload, (VECTORS / f"{name}.pub").read_text()


# --------------------------------------------------------------------------
# ECDSA, signed by ssh-keygen


@pytest.fixture(scope="module", params=[256, 384, 521])
def ecdsa_signed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed")
    bits = request.param
    d = tmp_path_factory.mktemp(f"ecdsa{bits}")
    key = d / "key"
    run("ssh-keygen", "-q", "-t", "ecdsa", "-b", str(bits), "-N", "", "-C", "test", "-f", key)
    message = f"tree 0000\n\nmessage signed with a {bits}-bit key\n".encode()
    (d / "msg").write_bytes(message)
    run("ssh-keygen", "-Y", "sign", "-f", key, "-n", "git", d / "msg")
    return {
        "bits": bits,
        "armored": (d / "msg.sig").read_text(),
        "message": message,
        "pub": (d / "key.pub").read_text(),
        "fingerprint": run("ssh-keygen", "-l", "-E", "sha256", "-f", d / "key.pub").split()[1],
    }


def test_ecdsa_valid_and_invalid(ecdsa_signed: dict) -> None:
    sig = SshsigSignature.from_armored(ecdsa_signed["armored"])
    assert sig.namespace == b"git"
    key = PublicKey.do_from_ssh_encoding(sig.public_key)
    assert isinstance(key, ssh_algorithms.EcdsaPublicKey)
    assert key.algo_name == f"ecdsa-sha2-nistp{ecdsa_signed['bits']}"
    assert key.do_verify(sig.signature, wrapper_bytes(sig, ecdsa_signed["message"])) is None
    bad = key.do_verify(sig.signature, wrapper_bytes(sig, ecdsa_signed["message"] + b"x"))
    assert isinstance(bad, cryptography.exceptions.InvalidSignature)
    wrong_ns = key.do_verify(sig.signature, wrapper_bytes(sig, ecdsa_signed["message"], b"file"))
    assert isinstance(wrong_ns, Exception)


def test_ecdsa_key_matches_ssh_keygen(ecdsa_signed: dict) -> None:
    sig = SshsigSignature.from_armored(ecdsa_signed["armored"])
    key = PublicKey.from_ssh_encoding(sig.public_key)
    pub = PublicKey.from_openssh_str(ecdsa_signed["pub"])
    assert key == pub and hash(key) == hash(pub)
    assert key.openssh_str() == " ".join(ecdsa_signed["pub"].split()[:2])
    assert key.sha256_str() == ecdsa_signed["fingerprint"]


def test_ecdsa_through_sshsig_entry_points(ecdsa_signed: dict) -> None:
    pub = PublicKey.from_openssh_str(ecdsa_signed["pub"])
    got = sshsig.verify(ecdsa_signed["message"], ecdsa_signed["armored"], [pub], namespace="git")
    assert got == pub
    with pytest.raises(sshsig.InvalidSignature):
        sshsig.check_signature(ecdsa_signed["message"] + b"x", ecdsa_signed["armored"], namespace="git")


def test_ecdsa_signature_for_other_curve_rejected(ecdsa_signed: dict) -> None:
    """A signature blob labelled with a different ECDSA type must not be tried."""
    sig = SshsigSignature.from_armored(ecdsa_signed["armored"])
    key = PublicKey.from_ssh_encoding(sig.public_key)
    other = 384 if ecdsa_signed["bits"] != 384 else 256
    inner = sig.signature[4 + len(key.algo_name) :]
    relabelled = ssh_string(f"ecdsa-sha2-nistp{other}".encode()) + inner
    assert isinstance(key.do_verify(relabelled, wrapper_bytes(sig, ecdsa_signed["message"])), ValueError)


# --------------------------------------------------------------------------
# FIDO keys, real commits


@pytest.mark.parametrize(
    ("name", "cls"),
    [(SK_ECDSA_COMMIT, ssh_algorithms.SkEcdsaPublicKey), (SK_ED25519_COMMIT, ssh_algorithms.SkEd25519PublicKey)],
)
def test_sk_commit_signature(name: str, cls: type, tmp_path: Path) -> None:
    sig, payload, pub_line = commit_signature(name, tmp_path)
    assert sig.namespace == b"git"
    key = PublicKey.do_from_ssh_encoding(sig.public_key)
    assert isinstance(key, cls)
    assert key.application == b"ssh:"

    pub = PublicKey.from_openssh_str(pub_line)
    assert key == pub and hash(key) == hash(pub)
    assert key.openssh_str() == " ".join(pub_line.split()[:2])

    assert key.do_verify(sig.signature, wrapper_bytes(sig, payload)) is None
    for i in (0, len(payload) // 2, len(payload) - 1):
        flipped = bytearray(payload)
        flipped[i] ^= 0x01
        bad = key.do_verify(sig.signature, wrapper_bytes(sig, bytes(flipped)))
        assert isinstance(bad, cryptography.exceptions.InvalidSignature)

    # The same through sshsig's public API.
    assert sshsig.verify(payload, bytes(sig.to_armored(), "ascii"), [pub], namespace="git") == pub


@pytest.mark.parametrize("name", [SK_ECDSA_COMMIT, SK_ED25519_COMMIT])
def test_sk_commit_cleared_presence_flag_fails(name: str, tmp_path: Path) -> None:
    """Flags are signed, so clearing the bit in a real signature breaks it."""
    sig, payload, _ = commit_signature(name, tmp_path)
    key = PublicKey.from_ssh_encoding(sig.public_key)
    flags_at = len(sig.signature) - 5
    assert sig.signature[flags_at] & 0x01
    cleared = bytearray(sig.signature)
    cleared[flags_at] &= ~0x01 & 0xFF
    result = key.do_verify(bytes(cleared), wrapper_bytes(sig, payload))
    assert isinstance(result, cryptography.exceptions.InvalidSignature)


def _sk_ed25519_material(flags: int) -> tuple[bytes, bytes, bytes]:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    algo = b"sk-ssh-ed25519@openssh.com"
    blob = ssh_string(algo) + ssh_string(raw) + ssh_string(b"ssh:")
    message = b"SSHSIG-wrapped data"
    inner = private.sign(sk_signed_data(b"ssh:", flags, 7, message))
    signature = ssh_string(algo) + ssh_string(inner) + bytes([flags]) + struct.pack("!L", 7)
    return blob, signature, message


def _sk_ecdsa_material(flags: int) -> tuple[bytes, bytes, bytes]:
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    algo = b"sk-ecdsa-sha2-nistp256@openssh.com"
    blob = ssh_string(algo) + ssh_string(b"nistp256") + ssh_string(point) + ssh_string(b"ssh:")
    message = b"SSHSIG-wrapped data"
    r, s = decode_dss_signature(private.sign(sk_signed_data(b"ssh:", flags, 7, message), ec.ECDSA(hashes.SHA256())))
    signature = ssh_string(algo) + ssh_string(ssh_mpint(r) + ssh_mpint(s)) + bytes([flags]) + struct.pack("!L", 7)
    return blob, signature, message


@pytest.mark.parametrize("material", [_sk_ed25519_material, _sk_ecdsa_material])
def test_sk_user_presence_required(material) -> None:
    blob, signature, message = material(0x01)
    assert PublicKey.from_ssh_encoding(blob).do_verify(signature, message) is None
    # user verification alone (0x04) is not presence
    for flags in (0x00, 0x04):
        blob, signature, message = material(flags)
        key = PublicKey.from_ssh_encoding(blob)
        result = key.do_verify(signature, message)
        assert isinstance(result, MissingUserPresence)
        assert "presence" in str(result)
        # ... but a forgery without presence is reported as a forgery
        forged = key.do_verify(signature, message + b"x")
        assert isinstance(forged, cryptography.exceptions.InvalidSignature)
        assert not isinstance(forged, MissingUserPresence)


# --------------------------------------------------------------------------
# hostile input


def _all_blobs(tmp_path: Path, ecdsa_armored: list[str]) -> list[tuple[bytes, bytes, bytes]]:
    """(key blob, signature blob, signed bytes) for every algorithm."""
    out = []
    for name in (SK_ECDSA_COMMIT, SK_ED25519_COMMIT):
        sig, payload, _ = commit_signature(name, tmp_path / name)
        out.append((sig.public_key, sig.signature, wrapper_bytes(sig, payload)))
    for armored, message in ecdsa_armored:
        sig = SshsigSignature.from_armored(armored)
        out.append((sig.public_key, sig.signature, wrapper_bytes(sig, message)))
    out.append(_sk_ed25519_material(0x01))
    out.append(_sk_ecdsa_material(0x01))
    return out


@pytest.fixture(scope="module")
def ecdsa_all(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed")
    out = []
    for bits in (256, 384, 521):
        d = tmp_path_factory.mktemp(f"hostile{bits}")
        run("ssh-keygen", "-q", "-t", "ecdsa", "-b", str(bits), "-N", "", "-f", d / "key")
        (d / "msg").write_bytes(b"m")
        run("ssh-keygen", "-Y", "sign", "-f", d / "key", "-n", "git", d / "msg")
        out.append(((d / "msg.sig").read_text(), b"m"))
    return out


def test_truncated_and_extended_blobs(tmp_path: Path, ecdsa_all) -> None:
    for key_blob, sig_blob, signed in _all_blobs(tmp_path, ecdsa_all):
        key = PublicKey.from_ssh_encoding(key_blob)
        assert key.do_verify(sig_blob, signed) is None
        for cut in range(len(key_blob)):
            result = PublicKey.do_from_ssh_encoding(key_blob[:cut])
            assert isinstance(result, (ValueError, NotImplementedError)), cut
        assert isinstance(PublicKey.do_from_ssh_encoding(key_blob + b"\0"), ValueError)
        for cut in range(len(sig_blob)):
            assert isinstance(key.do_verify(sig_blob[:cut], signed), Exception), cut
        assert isinstance(key.do_verify(sig_blob + b"\0", signed), ValueError)


def test_single_byte_corruption_never_raises(tmp_path: Path, ecdsa_all) -> None:
    for key_blob, sig_blob, signed in _all_blobs(tmp_path, ecdsa_all):
        key = PublicKey.from_ssh_encoding(key_blob)
        for i in range(len(key_blob)):
            for xor in (0x01, 0x80, 0xFF):
                mutated = bytearray(key_blob)
                mutated[i] ^= xor
                result = PublicKey.do_from_ssh_encoding(bytes(mutated))
                if isinstance(result, PublicKey):
                    # e.g. a changed application byte: a different, valid key
                    assert result != key
                    assert isinstance(result.do_verify(sig_blob, signed), Exception)
                else:
                    assert isinstance(result, (ValueError, NotImplementedError))
        for i in range(len(sig_blob)):
            for xor in (0x01, 0x80, 0xFF):
                mutated = bytearray(sig_blob)
                mutated[i] ^= xor
                assert isinstance(key.do_verify(bytes(mutated), signed), Exception), i


def _ecdsa_point(curve: ec.EllipticCurve) -> bytes:
    return (
        ec.generate_private_key(curve)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


@pytest.mark.parametrize(
    "blob",
    [
        # curve name does not match the key type
        ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(b"nistp384") + ssh_string(_ecdsa_point(ec.SECP384R1())),
        ssh_string(b"ecdsa-sha2-nistp384") + ssh_string(b"nistp256") + ssh_string(_ecdsa_point(ec.SECP256R1())),
        ssh_string(b"sk-ecdsa-sha2-nistp256@openssh.com")
        + ssh_string(b"nistp384")
        + ssh_string(_ecdsa_point(ec.SECP384R1()))
        + ssh_string(b"ssh:"),
        # point not on the curve
        ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(b"nistp256") + ssh_string(b"\x04" + b"\x01" * 64),
        # point of the wrong size / compressed / empty
        ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(b"nistp256") + ssh_string(_ecdsa_point(ec.SECP384R1())),
        ssh_string(b"ecdsa-sha2-nistp256")
        + ssh_string(b"nistp256")
        + ssh_string(
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        ),
        ssh_string(b"ecdsa-sha2-nistp521") + ssh_string(b"nistp521") + ssh_string(b""),
        # ed25519 key of the wrong length, application with a NUL
        ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(b"\x01" * 31) + ssh_string(b"ssh:"),
        ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(b"\x01" * 32) + ssh_string(b"ssh:\0x"),
        # length prefix far beyond the data
        ssh_string(b"sk-ssh-ed25519@openssh.com") + b"\xff\xff\xff\xff" + b"\x01" * 32,
        # nothing after the algorithm name
        ssh_string(b"ecdsa-sha2-nistp256"),
    ],
    ids=lambda blob: f"blob-{len(blob)}-{blob[4:24].decode('latin-1').strip(chr(0))}",
)
def test_bad_key_blobs_are_value_errors(blob: bytes) -> None:
    assert isinstance(PublicKey.do_from_ssh_encoding(blob), ValueError)
    with pytest.raises(ValueError):
        PublicKey.from_ssh_encoding(blob)


def test_bad_ecdsa_signature_scalars() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    key = PublicKey.from_ssh_encoding(
        ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(b"nistp256") + ssh_string(point)
    )
    r, s = decode_dss_signature(private.sign(b"msg", ec.ECDSA(hashes.SHA256())))
    algo = ssh_string(b"ecdsa-sha2-nistp256")
    assert key.do_verify(algo + ssh_string(ssh_mpint(r) + ssh_mpint(s)), b"msg") is None
    hostile = [
        ssh_string(ssh_mpint(0) + ssh_mpint(s)),
        ssh_string(ssh_string(b"\x80" + b"\x00" * 31) + ssh_mpint(s)),  # negative r
        ssh_string(ssh_mpint(r) + ssh_mpint(1 << 300)),  # s wider than the curve
        ssh_string(ssh_mpint(r) + ssh_mpint(s) + b"\0"),  # trailing inside
        ssh_string(ssh_mpint(r)),
        b"\x00\x00\x00\x05abc",
    ]
    for inner in hostile:
        result = key.do_verify(algo + inner, b"msg")
        assert isinstance(result, ValueError), inner


def test_eq_and_hash_follow_the_blob() -> None:
    blob_a, _, _ = _sk_ed25519_material(0x01)
    blob_b, _, _ = _sk_ed25519_material(0x01)
    a1, a2, b = (PublicKey.from_ssh_encoding(x) for x in (blob_a, blob_a, blob_b))
    assert a1 == a2 and hash(a1) == hash(a2)
    assert a1 != b
    assert len({a1, a2, b}) == 2
    # same key material, different FIDO application: a different key
    other_app = blob_a[: -len(ssh_string(b"ssh:"))] + ssh_string(b"ssh:other")
    assert PublicKey.from_ssh_encoding(other_app) != a1
    assert a1 != object()


# --------------------------------------------------------------------------
# registration


def test_register_is_idempotent() -> None:
    register()
    before = dict(PublicKeyAlgorithm.supported)
    register()
    assert set(PublicKeyAlgorithm.supported) == EXPECTED_ALGOS
    assert all(PublicKeyAlgorithm.supported[k] is v for k, v in before.items())


def test_register_into_empty_registry_keeps_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PublicKeyAlgorithm, "supported", {})
    register()
    assert set(PublicKeyAlgorithm.supported) == EXPECTED_ALGOS
    assert isinstance(PublicKeyAlgorithm.do_from_name("ssh-ed25519"), PublicKeyAlgorithm)


def test_register_after_lazy_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PublicKeyAlgorithm, "supported", {})
    assert isinstance(PublicKeyAlgorithm.do_from_name("ecdsa-sha2-nistp256"), NotImplementedError)
    assert set(PublicKeyAlgorithm.supported) == {"ssh-ed25519", "ssh-rsa"}
    register()
    assert set(PublicKeyAlgorithm.supported) == EXPECTED_ALGOS


def test_import_has_no_side_effects() -> None:
    code = (
        "from sshsig.ssh_public_key import PublicKeyAlgorithm as P\n"
        "import commitguard.signatures.ssh_algorithms\n"
        "assert P.supported == {}, P.supported\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
