"""Facts from binding signatures come only from bindings the primary key made (issue 14, hardening).

Two ways to tamper with a certificate file without the holder's key:

* append someone else's subkey with its binding (made by *their* primary):
  the subkey must not be listed as the holder's, nor judge signatures as theirs;
* append a forged, newer binding for the holder's subkey (its signature does
  not verify) that drops the subkey's expiry: the expiry in force stays the
  one the primary signed.

Certificates come from gpg; the tampering is done here on raw packets,
with a packet splitter written for the test (RFC 9580 4.2 framing).
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone

import pytest

from commitguard.keyring.loader import load_keyring
from commitguard.keyring.check import check_keyring
from commitguard.signatures import openpgp_packets
from commitguard.signatures.dispatch import SignatureVerifier
from tests.fixtures_git import Gpg, PgpSigner, Repo, write_keyring

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of every packet of a binary OpenPGP stream (new and old format lengths)."""
    out, i = [], 0
    while i < len(data):
        head = data[i]
        assert head & 0x80, "not an OpenPGP packet"
        if head & 0x40:  # new format
            tag = head & 0x3F
            first = data[i + 1]
            if first < 192:
                n, i = first, i + 2
            elif first < 224:
                n, i = ((first - 192) << 8) + data[i + 2] + 192, i + 3
            else:
                assert first == 255, "partial lengths do not occur in certificates"
                n, i = struct.unpack(">I", data[i + 2:i + 6])[0], i + 6
        else:
            tag = (head >> 2) & 0x0F
            kind = head & 3
            size = {0: 1, 1: 2, 2: 4}[kind]
            n = int.from_bytes(data[i + 1:i + 1 + size], "big")
            i += 1 + size
        out.append((tag, data[i:i + n]))
        i += n
    return out


def frame(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 192:
        length = bytes([n])
    elif n < 8384:
        length = bytes([((n - 192) >> 8) + 192, (n - 192) & 0xFF])
    else:
        length = b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + length + body


def forge_binding(body: bytes, *, later_by: int, expiry: int) -> bytes:
    """A copy of a v4 binding signature with a later creation time and another key expiry.

    The hashed area changes, the signature does not: it no longer verifies.
    """
    assert body[0] == 4
    hashed_len = int.from_bytes(body[4:6], "big")
    hashed = body[6:6 + hashed_len]
    out, i, seen_expiry = bytearray(), 0, False
    while i < len(hashed):
        n = hashed[i]
        assert n < 192
        sub = bytearray(hashed[i + 1:i + 1 + n])
        if sub[0] & 0x7F == 2:  # signature creation time
            sub[1:5] = (int.from_bytes(sub[1:5], "big") + later_by).to_bytes(4, "big")
        elif sub[0] & 0x7F == 9:  # key expiration time
            sub[1:5] = expiry.to_bytes(4, "big")
            seen_expiry = True
        out += bytes([n]) + sub
        i += 1 + n
    assert seen_expiry, "the binding states no expiry"
    return body[:4] + len(out).to_bytes(2, "big") + bytes(out) + body[6 + hashed_len:]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("bindings")
    gpg = Gpg(root / "gnupg", root)
    try:
        k = {"gpg": gpg, "root": root}
        k["bob"] = gpg.gen_key("Bob <bob@example.org>", "rsa3072", "sign")
        k["mallory"] = gpg.gen_key("Mallory <mallory@example.net>", "ed25519", "cert")
        k["mallory_sub"] = gpg.add_subkey(k["mallory"], "ed25519", "sign")
        k["erin"] = gpg.gen_key("Erin <erin@example.org>", "ed25519", "cert")
        k["erin_sub"] = gpg.add_subkey(k["erin"], "ed25519", "sign")
        repo = Repo(root / "repo", root)
        k["repo"] = repo
        k["by_mallory_sub"] = repo.commit("mallory signs with her subkey",
                                          signer=PgpSigner(gpg, k["mallory_sub"]), when="2024-06-01T00:00:00Z")
        k["by_erin_late"] = repo.commit("erin signs after her subkey expired",
                                        signer=PgpSigner(gpg, k["erin_sub"]), when="2024-06-01T00:00:00Z")
        # the subkey's binding of 2020 says it expires in 2021: her 2024 signature is expired
        gpg.set_expire(k["erin"], "2021-01-01", [k["erin_sub"]], at="2020-06-01T00:00:00Z")
        yield k
    finally:
        gpg.kill_agent()


def grafted(k) -> bytes:
    """bob's certificate with mallory's subkey and its binding (by mallory's primary) appended."""
    bob = k["gpg"].export_binary(k["bob"])
    mallory = packets(k["gpg"].export_binary(k["mallory"]))
    sub = [i for i, (tag, _) in enumerate(mallory) if tag == 14][0]
    return bob + frame(14, mallory[sub][1]) + frame(2, mallory[sub + 1][1])


def forged_erin(k) -> bytes:
    """erin's certificate with a forged, newer binding for her subkey saying it never expires."""
    erin = packets(k["gpg"].export_binary(k["erin"]))
    sub = [i for i, (tag, _) in enumerate(erin) if tag == 14][0]
    binding = erin[sub + 1][1]
    forged = forge_binding(binding, later_by=86400 * 365, expiry=0)
    return b"".join(frame(t, b) for t, b in erin) + frame(2, forged)


def verdict(kr, repo, oid):
    data = repo.raw(oid)
    head, _, body = data.partition(b"\n\n")
    sig, kept, on = [], [], False
    for line in head.split(b"\n"):
        if line.startswith(b"gpgsig "):
            on = True
            sig.append(line[7:])
        elif on and line.startswith(b" "):
            sig.append(line[1:])
        else:
            on = False
            kept.append(line)
    return SignatureVerifier(load_keyring(kr)).verify(b"\n".join(sig) + b"\n", b"\n".join(kept) + b"\n\n" + body, NOW)


def test_a_subkey_bound_by_another_primary_is_not_the_holders(world, tmp_path):
    data = grafted(world)
    (cert,) = openpgp_packets.split_certs(data)
    assert cert.key_fingerprints == (world["bob"],)
    assert openpgp_packets.key_facts(cert.cert_bytes, world["mallory_sub"]) is None

    (tmp_path / "bob.asc").write_bytes(data)
    kr = write_keyring(tmp_path / "kr", persons=[{"id": "bob", "keys": [{"openpgp": tmp_path / "bob.asc"}]}])
    v = verdict(kr, world["repo"], world["by_mallory_sub"])
    assert (v.status.value, v.signer) == ("unknown-key", None)
    assert v.reason == f"signed by OpenPGP fingerprint {world['mallory_sub']}, which is not in the keyring"


def test_a_forged_newer_binding_does_not_extend_expiry(world, tmp_path):
    data = forged_erin(world)
    (cert,) = openpgp_packets.split_certs(data)
    facts = openpgp_packets.key_facts(cert.cert_bytes, world["erin_sub"])
    assert facts is not None and facts.signing_capable
    assert facts.expires == datetime(2021, 1, 1, 12, 0, tzinfo=timezone.utc), facts

    (tmp_path / "erin.asc").write_bytes(data)
    kr = write_keyring(tmp_path / "kr", persons=[{"id": "erin", "keys": [{"openpgp": tmp_path / "erin.asc"}]}])
    # `keyring check` reads the same facts: the subkey is expired, whatever the forged binding says
    found = [(f.severity, f.code, f.message) for f in check_keyring(load_keyring(kr), NOW).findings if f.id == "erin"]
    assert found == [
        ("warning", "expired", "every signing key has expired or is revoked (latest expiry 2021-01-01T12:00:00Z)"),
        ("error", "no-usable-key", "erin has no usable key (see the findings for each key): every commit and "
                                   "approval of theirs is rejected"),
    ], found
    v = verdict(kr, world["repo"], world["by_erin_late"])
    assert (v.status.value, v.signer) == ("bad-signature", None), v.reason  # GnuPG drops the tampered binding too


def test_genuine_bindings_verify_for_every_algorithm_gpg_makes(world, tmp_path):
    gpg = world["gpg"]
    # the primary's user ID binding is made by each algorithm; so are the subkey bindings (by an
    # ed25519 primary for the ECDSA subkeys, which gpg cannot add as signing subkeys in batch mode)
    for algo in ("rsa2048", "dsa2048", "nistp256", "nistp384", "nistp521", "ed25519"):
        primary = gpg.gen_key(f"Algo {algo} <{algo}@example.org>", algo, "sign")
        sub = gpg.add_subkey(primary, "ed25519" if algo.startswith("nistp") else algo, "sign")
        (cert,) = openpgp_packets.split_certs(gpg.export_binary(primary))
        assert cert.key_fingerprints == (primary, sub), algo
        primary_facts = openpgp_packets.key_facts(cert.cert_bytes, primary)
        sub_facts = openpgp_packets.key_facts(cert.cert_bytes, sub)
        assert (primary_facts.signing_capable, sub_facts.signing_capable) == (True, True), algo
