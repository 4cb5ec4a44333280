"""Key validity at the edges: windows, soft revocations, namespaces.

Each case pins a verdict that a one-token change in the signature schemes
would flip (see mutation/ for the hand mutants this file kills):

* an SSH key's ``valid_after``/``valid_before`` judged at the committer time,
  with commits made exactly at each bound and one second inside it;
* an OpenPGP key given ``valid_after``/``valid_before`` in the keyring, with
  commits before, inside and after the window, and exactly at its bounds;
* an OpenPGP certificate carrying a *soft* revocation (reason 3, "key is no
  longer used"). Sequoia's standard policy honours a soft revocation only
  from its own creation time, so a signature made before it passes Sequoia
  (the fast path) and only commitguard's reading of the certificate's
  revocation stops it; a signature made after it is refused by Sequoia and
  judged by the slow path. A hard revocation (reason 2, compromised) made
  later is refused by Sequoia even for older signatures. commitguard reads
  any revocation in the certificate as ``revoked-key`` (SPEC: "the key is
  revoked"), whatever the signature's time;
* an SSH key restricted by ``namespaces`` to ``commitguard-approval`` signing
  a commit, and an SSH ``[[forge]]`` key signing one;
* certificate facts on each path: a DSA key (Sequoia accepts its signature:
  only commitguard's weak-algorithm check refuses it), a certificate bound
  with SHA-1 self-signatures (Sequoia refuses; ``weak-signature`` unless
  ``openpgp_sha1 = "accept"``), and a key whose certificate expiry falls
  exactly on a signature's time (expired at that second, as Sequoia and
  ``openpgp_expiry = "enforce"`` say; trusted under ``"ignore"``).

Everything is made with gpg, ssh-keygen and git (tests/fixtures_git.py);
``pysequoia`` (a dependency, not commitguard) is asked directly only to show
which path each revocation case takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pysequoia
import pytest

from tests.fixtures_git import Gpg, PgpSigner, Raw, Repo, SshKey, SshSigner, gpg_time, parse_time, run, run_verify, write_keyring

WINDOW_AFTER = "2024-01-01T00:00:00Z"
WINDOW_BEFORE = "2025-01-01T00:00:00Z"
REVOKED_AT = "2024-01-01T00:00:00Z"
EXPIRES_AT = "2022-01-01T00:00:00Z"  # pete's certificate expiry, set afterwards to this exact second
EXPIRY_TIMES = [("second_before_expiry", "2021-12-31T23:59:59Z", "trusted"),
                ("exactly_at_expiry", EXPIRES_AT, "expired-key"),
                ("second_after_expiry", "2022-01-01T00:00:01Z", "expired-key")]

# (case name, committer/signature time, expected status)
WINDOW_TIMES = [
    ("long_before", "2023-06-01T00:00:00Z", "expired-key"),
    ("second_before_after", "2023-12-31T23:59:59Z", "expired-key"),
    ("exactly_valid_after", WINDOW_AFTER, "trusted"),
    ("inside", "2024-06-01T00:00:00Z", "trusted"),
    ("second_before_valid_before", "2024-12-31T23:59:59Z", "trusted"),
    ("exactly_valid_before", WINDOW_BEFORE, "expired-key"),
    ("long_after", "2025-06-01T00:00:00Z", "expired-key"),
]


@dataclass
class Edge:
    root: Path
    gpg: Gpg
    repo: Repo
    keyring: Path
    ids: dict[str, str] = field(default_factory=dict)
    pgp: dict[str, str] = field(default_factory=dict)  # name -> primary fingerprint
    ssh: dict[str, SshKey] = field(default_factory=dict)
    certs: dict[str, Path] = field(default_factory=dict)


def revoke(gpg: Gpg, fpr: str, reason: int, at: str, text: str) -> None:
    """A key revocation signature made by gpg at ``at``, imported. ``reason`` is
    gpg's menu number (0 none, 1 compromised, 2 superseded, 3 no longer used),
    written as RFC 9580 codes (0x00, 0x02, 0x01, 0x03)."""
    out = gpg.home.parent / f"rev-{fpr}-{reason}.asc"
    cmd = ["gpg", "--no-tty", "--yes", "--pinentry-mode", "loopback", "--command-fd", "0", "--status-fd", "2",
           "--faked-system-time", gpg_time(at),
           "--armor", "--output", str(out), "--gen-revoke", fpr]
    # answers: create it? y; reason code; one line of text, end of text; okay? y; (empty) passphrase
    run(cmd, env=gpg.env, input=f"y\n{reason}\n{text}\n\ny\n\n")
    assert out.read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"), out.read_text()[:200]
    gpg.gpg("--import", str(out))


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> Edge:
    root = tmp_path_factory.mktemp("edge")
    gpg = Gpg(root / "gnupg", root)
    repo = Repo(root / "repo", root)
    w = Edge(root, gpg, repo, root / "keyring")
    try:
        w.ssh["win"] = SshKey.generate(root / "ssh", "win", "ed25519")
        w.ssh["approver_only"] = SshKey.generate(root / "ssh", "approver_only", "ed25519")
        w.ssh["hub"] = SshKey.generate(root / "ssh", "hub", "ed25519")
        for name in ("pat", "sam", "hank", "pete", "uma"):
            w.pgp[name] = gpg.gen_key(f"{name.title()} Example <{name}@example.org>", "ed25519", "sign")
        w.pgp["dora"] = gpg.gen_key("Dora Example <dora@example.org>", "dsa2048", "sign")
        # self-signatures over SHA-1, as GnuPG before 2.1 made them
        gpg.gpg("--cert-digest-algo", "SHA1", "--quick-gen-key", "Olaf Example <olaf@example.org>", "ed25519", "sign",
                "never", at=Gpg.KEY_TIME)
        w.pgp["olaf"] = gpg.keys("olaf@example.org")[0]

        for case, when, _ in WINDOW_TIMES:
            w.ids[f"ssh_{case}"] = repo.commit(f"ssh {case}", signer=SshSigner(w.ssh["win"]), when=when)
            w.ids[f"pgp_{case}"] = repo.commit(f"pgp {case}", signer=PgpSigner(gpg, w.pgp["pat"]), when=when)
        # signatures made before the revocations exist (gpg refuses to sign with a revoked key)
        w.ids["soft_before"] = repo.commit("sam before", signer=PgpSigner(gpg, w.pgp["sam"]), when="2023-06-01T00:00:00Z")
        w.ids["soft_after"] = repo.commit("sam after", signer=PgpSigner(gpg, w.pgp["sam"]), when="2024-06-01T00:00:00Z")
        w.ids["hard_before"] = repo.commit("hank before", signer=PgpSigner(gpg, w.pgp["hank"]), when="2023-06-01T00:00:00Z")
        w.ids["dsa_commit"] = repo.commit("dora, DSA", signer=PgpSigner(gpg, w.pgp["dora"]))
        w.ids["sha1_bound_commit"] = repo.commit("olaf, SHA-1 bindings", signer=PgpSigner(gpg, w.pgp["olaf"]))
        for case, when, _ in EXPIRY_TIMES:  # made before the expiry exists: gpg refuses an expired key
            w.ids[case] = repo.commit(f"pete {case}", signer=PgpSigner(gpg, w.pgp["pete"]), when=when)
        set_at = "2020-06-01T00:00:00Z"  # gpg's seconds=N counts from its (faked) now
        seconds = int(parse_time(EXPIRES_AT).timestamp() - parse_time(set_at).timestamp())
        gpg.set_expire(w.pgp["pete"], f"seconds={seconds}", at=set_at)
        # a user ID revoked (a certification revocation, 0x30) does not revoke the key
        gpg.gpg("--quick-add-uid", w.pgp["uma"], "Uma Old <uma@old.example>", at="2019-06-01T00:00:00Z")
        gpg.gpg("--quick-revoke-uid", w.pgp["uma"], "Uma Old <uma@old.example>", at="2020-01-01T00:00:00Z")
        w.ids["uid_revoked_commit"] = repo.commit("uma, one user ID revoked", signer=PgpSigner(gpg, w.pgp["uma"]))
        w.ids["approver_only_commit"] = repo.commit("approval key signs a commit", signer=SshSigner(w.ssh["approver_only"]))
        w.ids["ssh_forge_commit"] = repo.commit("merged in the forge's web UI", signer=SshSigner(w.ssh["hub"]))
        revoke(gpg, w.pgp["sam"], 3, REVOKED_AT, "retired")
        revoke(gpg, w.pgp["hank"], 1, REVOKED_AT, "stolen")
        for name, fpr in w.pgp.items():
            w.certs[name] = gpg.export(fpr, root / "certs" / f"{name}.asc")

        write_keyring(w.keyring, persons=[
            {"id": "winnie", "keys": [{"ssh": w.ssh["win"].pub_line, "valid_after": Raw(WINDOW_AFTER),
                                       "valid_before": Raw(WINDOW_BEFORE)}]},
            {"id": "pat", "keys": [{"openpgp": w.certs["pat"], "valid_after": Raw(WINDOW_AFTER),
                                    "valid_before": Raw(WINDOW_BEFORE)}]},
            {"id": "sam", "keys": [{"openpgp": w.certs["sam"]}]},
            {"id": "hank", "keys": [{"openpgp": w.certs["hank"]}]},
            {"id": "dora", "keys": [{"openpgp": w.certs["dora"]}]},
            {"id": "olaf", "keys": [{"openpgp": w.certs["olaf"]}]},
            {"id": "pete", "keys": [{"openpgp": w.certs["pete"]}]},
            {"id": "uma", "keys": [{"openpgp": w.certs["uma"]}]},
            {"id": "rosa", "keys": [{"ssh": w.ssh["approver_only"].pub_line, "namespaces": ["commitguard-approval"]}]},
        ], forges=[{"id": "examplehub", "ssh": w.ssh["hub"].pub_line}])
        yield w
    finally:
        gpg.kill_agent()


@pytest.fixture(scope="module")
def verdicts(edge, tmp_path_factory) -> dict[str, dict]:
    scratch = tmp_path_factory.mktemp("edge-cli")
    ids = list(edge.ids.values())
    res = run_verify(ids, repo=edge.repo.path, keyring=edge.keyring, scratch=scratch, jobs=1)
    assert res.code == 1, res.describe()  # some are untrusted
    by_id = {c["id"]: c for c in res.json["commits"]}
    assert set(by_id) == set(ids), res.describe()
    return {name: by_id[oid] for name, oid in edge.ids.items()}


def _is(verdict: dict, status: str, signer: str | None, key: str) -> None:
    assert verdict["status"] == status, verdict
    assert verdict["trusted"] is (status == "trusted"), verdict
    assert verdict["signature"]["key"] == key, verdict
    if status == "trusted":
        assert verdict["signer"] == signer, verdict
    else:
        assert verdict["signer"] in (None, signer), verdict  # SPEC leaves naming the owner of an untrusted key open


@pytest.mark.parametrize("case,when,status", WINDOW_TIMES, ids=[c for c, _, _ in WINDOW_TIMES])
def test_ssh_validity_window_at_its_bounds(edge, verdicts, case, when, status):
    v = verdicts[f"ssh_{case}"]
    _is(v, status, "winnie", edge.ssh["win"].fingerprint)
    if status == "expired-key":
        bound = "valid only after" if when < WINDOW_AFTER else "valid only before"
        assert bound in v["reason"], v


@pytest.mark.parametrize("case,when,status", WINDOW_TIMES, ids=[c for c, _, _ in WINDOW_TIMES])
def test_openpgp_keyring_validity_window(edge, verdicts, case, when, status):
    v = verdicts[f"pgp_{case}"]
    _is(v, status, "pat", edge.pgp["pat"])
    assert v["signature"]["created"] == when, v
    if status == "expired-key":
        bound = "before its valid_after" if when < WINDOW_AFTER else "after its valid_before"
        assert bound in v["reason"], v


def test_openpgp_window_is_the_keyrings_not_the_certificates(edge):
    """Control: the certificate itself never expires, so only the keyring's window can make these expired."""
    out = edge.gpg.gpg("--with-colons", "--list-keys", edge.pgp["pat"]).stdout.decode()
    pub = next(line.split(":") for line in out.splitlines() if line.startswith("pub:"))
    assert pub[1] != "e" and pub[6] == "", pub  # not expired, no expiry date


def _payload(repo: Repo, oid: str) -> tuple[bytes, bytes]:
    """(signed payload, armored signature) of a commit: its bytes without the gpgsig header."""
    raw = repo.raw(oid)
    head, _, body = raw.partition(b"\n\n")
    kept, sig, on = [], [], False
    for line in head.split(b"\n"):
        if line.startswith(b"gpgsig "):
            on = True
            sig.append(line[len(b"gpgsig "):])
        elif on and line.startswith(b" "):
            sig.append(line[1:])
        else:
            on = False
            kept.append(line)
    return b"\n".join(kept) + b"\n\n" + body, b"\n".join(sig) + b"\n"


def _sequoia_accepts(edge: Edge, name: str, case: str) -> bool:
    payload, armored = _payload(edge.repo, edge.ids[case])
    cert = pysequoia.Cert.from_bytes(edge.certs[name].read_bytes())
    try:
        result = pysequoia.verify(bytes=payload, store=lambda _ids: [cert], signature=pysequoia.Sig.from_bytes(armored))
    except Exception:  # pysequoia raises when no signature is valid
        return False
    return bool(result.valid_sigs)


def test_the_revocation_fixtures_take_the_paths_they_claim(edge):
    """Sequoia accepts a signature made before a soft revocation (so commitguard's
    fast path sees it valid) and refuses the three others (slow path)."""
    listing = edge.gpg.list_packets(edge.gpg.export_binary(edge.pgp["sam"]))
    assert "revocation reason 0x03" in listing and "sigclass 0x20" in listing, listing
    listing = edge.gpg.list_packets(edge.gpg.export_binary(edge.pgp["hank"]))
    assert "revocation reason 0x02" in listing, listing  # key material compromised: hard
    assert _sequoia_accepts(edge, "sam", "soft_before") is True
    assert _sequoia_accepts(edge, "sam", "soft_after") is False
    assert _sequoia_accepts(edge, "hank", "hard_before") is False


@pytest.mark.parametrize("case,name", [("soft_before", "sam"), ("soft_after", "sam"), ("hard_before", "hank")])
def test_revocation_in_the_certificate(edge, verdicts, case, name):
    v = verdicts[case]
    _is(v, "revoked-key", name, edge.pgp[name])
    assert "revoked in its certificate" in v["reason"], v


def test_ssh_key_restricted_to_approvals_does_not_sign_commits(edge, verdicts):
    v = verdicts["approver_only_commit"]
    _is(v, "unknown-key", "rosa", edge.ssh["approver_only"].fingerprint)
    assert "trusted only for namespaces commitguard-approval, not 'git'" in v["reason"], v


def test_the_same_key_unrestricted_signs_commits(edge, tmp_path):
    """Control for the case above: without ``namespaces`` the commit is trusted."""
    keyring = write_keyring(tmp_path / "k", persons=[{"id": "rosa", "keys": [{"ssh": edge.ssh["approver_only"].pub_line}]}])
    res = run_verify([edge.ids["approver_only_commit"]], repo=edge.repo.path, keyring=keyring, scratch=tmp_path)
    assert res.code == 0, res.describe()
    v = res.commit(edge.ids["approver_only_commit"])
    assert (v["status"], v["signer"]) == ("trusted", "rosa"), v


def test_ssh_forge_key_is_forge_not_trusted_under_the_default_policy(edge, verdicts):
    """A ``[[forge]]`` SSH key (policy.forge defaults to "reject"): status forge, never trusted."""
    v = verdicts["ssh_forge_commit"]
    assert (v["status"], v["trusted"], v["signer"]) == ("forge", False, "examplehub"), v
    assert v["signature"]["key"] == edge.ssh["hub"].fingerprint, v


def test_the_certificate_fixtures_take_the_paths_they_claim(edge):
    """DSA passes Sequoia (fast path), the SHA-1 binding and the expired second do not (slow path)."""
    out = edge.gpg.gpg("--with-colons", "--list-keys", edge.pgp["pete"]).stdout.decode()
    pub = next(line.split(":") for line in out.splitlines() if line.startswith("pub:"))
    assert int(pub[6]) == int(parse_time(EXPIRES_AT).timestamp()), pub  # expiry field: exactly EXPIRES_AT
    assert "digest algo 2," in edge.gpg.list_packets(edge.gpg.export_binary(edge.pgp["olaf"]))  # SHA-1 self-sigs
    assert _sequoia_accepts(edge, "dora", "dsa_commit") is True
    assert _sequoia_accepts(edge, "olaf", "sha1_bound_commit") is False
    assert [_sequoia_accepts(edge, "pete", case) for case, _, _ in EXPIRY_TIMES] == [True, False, False]


def test_dsa_key_is_weak_even_where_sequoia_accepts_it(edge, verdicts):
    v = verdicts["dsa_commit"]
    _is(v, "weak-signature", "dora", edge.pgp["dora"])
    assert "DSA keys are rejected as weak" in v["reason"], v


def test_sha1_bound_certificate_is_weak_under_the_default_policy(edge, verdicts):
    v = verdicts["sha1_bound_commit"]
    _is(v, "weak-signature", "olaf", edge.pgp["olaf"])
    assert "bound with SHA-1 self-signatures" in v["reason"], v


@pytest.mark.parametrize("case,when,status", EXPIRY_TIMES, ids=[c for c, _, _ in EXPIRY_TIMES])
def test_certificate_expiry_at_its_second(edge, verdicts, case, when, status):
    v = verdicts[case]
    _is(v, status, "pete", edge.pgp["pete"])
    if status == "expired-key":
        assert f"had expired ({EXPIRES_AT}) when it signed at {when}" in v["reason"], v


def test_the_relaxing_policies_accept_exactly_those(edge, tmp_path):
    """Control: openpgp_sha1 = "accept" trusts the SHA-1-bound key, openpgp_expiry = "ignore" the expired one
    (so the verdicts above come from those two checks, not from a bad signature)."""
    keyring = write_keyring(tmp_path / "relaxed", policy={"openpgp_sha1": "accept", "openpgp_expiry": "ignore"},
                            persons=[{"id": "olaf", "keys": [{"openpgp": edge.certs["olaf"]}]},
                                     {"id": "pete", "keys": [{"openpgp": edge.certs["pete"]}]}])
    cases = ["sha1_bound_commit", *(c for c, _, _ in EXPIRY_TIMES)]
    res = run_verify([edge.ids[c] for c in cases], repo=edge.repo.path, keyring=keyring, scratch=tmp_path, jobs=1)
    assert res.code == 0, res.describe()
    got = {c: res.commit(edge.ids[c]) for c in cases}
    assert {c: (v["status"], v["signer"]) for c, v in got.items()} == {
        "sha1_bound_commit": ("trusted", "olaf"), "second_before_expiry": ("trusted", "pete"),
        "exactly_at_expiry": ("trusted", "pete"), "second_after_expiry": ("trusted", "pete")}, got
    assert "SHA-1 accepted under policy.openpgp_sha1" in got["sha1_bound_commit"]["reason"]
    assert "accepted under policy.openpgp_expiry" in got["exactly_at_expiry"]["reason"]


def test_a_revoked_user_id_does_not_revoke_the_key(edge, verdicts):
    listing = edge.gpg.list_packets(edge.gpg.export_binary(edge.pgp["uma"]))
    assert "sigclass 0x30" in listing and "sigclass 0x20" not in listing, listing
    _is(verdicts["uid_revoked_commit"], "trusted", "uma", edge.pgp["uma"])
