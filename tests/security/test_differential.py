"""Differential test: commitguard against git's own verdict (``%G?``).

A linear history of 40 commits mixes SSH and OpenPGP signatures by keyring
and non-keyring keys, unsigned and tampered commits. git is given the same
trust: ``gpg.ssh.allowedSignersFile`` with the keyring's SSH keys and a
GNUPGHOME holding only the keyring's certificates, ultimately trusted. Where
git's answer is unambiguous, the two must agree:

  G <-> trusted, N <-> unsigned, B <-> bad-signature,
  E (OpenPGP, key missing) <-> unknown-key,
  U (SSH: good signature, key not in allowed signers) <-> unknown-key.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.fixtures_git import PgpSigner, Repo, SshSigner, assert_report_shape, import_trusted, run_verify, write_keyring

KINDS = ["alice_ssh_ed25519", "alice_ssh_ecdsa", "alice_pgp", "bob_pgp", "stranger_ssh", "stranger_pgp",
         "unsigned", "tampered_ssh", "tampered_pgp"]
GIT_TO_STATUS = {"G": "trusted", "N": "unsigned", "B": "bad-signature"}


@pytest.fixture(scope="session")
def differential(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("differential")
    repo = Repo(root / "repo", root)
    s, p, g = world.ssh, world.pgp, world.gpg
    signers = {
        "alice_ssh_ed25519": SshSigner(s["alice_ed25519"]), "alice_ssh_ecdsa": SshSigner(s["alice_ecdsa"]),
        "alice_pgp": PgpSigner(g, p["alice"].signing), "bob_pgp": PgpSigner(g, p["bob"].signing),
        "stranger_ssh": SshSigner(s["stranger"]), "stranger_pgp": PgpSigner(g, p["stranger"].signing),
        "tampered_ssh": SshSigner(s["alice_ed25519"]), "tampered_pgp": PgpSigner(g, p["bob"].signing),
    }
    rng = random.Random(20240601)
    kinds = KINDS + KINDS + [rng.choice(KINDS) for _ in range(40 - 2 * len(KINDS))]
    rng.shuffle(kinds)
    kinds[0] = "alice_ssh_ed25519"
    made, parent = [], None
    for i, kind in enumerate(kinds):
        when = f"2024-07-{1 + i // 2:02d}T{10 + i % 2:02d}:00:00Z"
        oid = repo.commit(f"commit {i}: {kind}", parents=[parent] if parent else [],
                          signer=signers.get(kind), when=when)
        if kind.startswith("tampered"):
            oid = repo.tamper(oid)
            # the tampered object is a commit of the chain: later ones build on it
        made.append((oid, kind))
        parent = oid
    repo.ref("refs/heads/main", parent)
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")

    keyring = write_keyring(root / "keyring", persons=[
        {"id": "alice", "keys": [{"ssh": s["alice_ed25519"].pub_line}, {"ssh": s["alice_ecdsa"].pub_line},
                                 {"openpgp": p["alice"].cert}]},
        {"id": "bob", "keys": [{"openpgp": p["bob"].cert}]},
    ])
    allowed = root / "allowed_signers"
    allowed.write_text(f'alice@example.org {s["alice_ed25519"].pub_line}\n'
                       f'alice@example.org {s["alice_ecdsa"].pub_line}\n')
    gitgpg = import_trusted(root / "git-gnupg", root, [p["alice"].cert, p["bob"].cert])
    try:
        out = repo.git("-c", f"gpg.ssh.allowedSignersFile={allowed}", "log", "--format=%H %G?",
                       env={"GNUPGHOME": str(gitgpg.home)})
    finally:
        gitgpg.kill_agent()
    git_says = dict(line.split() for line in out.splitlines())
    assert len(git_says) == 40
    return repo, keyring, made, git_says


def test_fixture_has_every_git_answer(differential):
    _, _, made, git_says = differential
    got = Counter(git_says.values())
    for letter in "GNBEU":
        assert got[letter] >= 2, got
    expected = {"alice_ssh_ed25519": "G", "alice_ssh_ecdsa": "G", "alice_pgp": "G", "bob_pgp": "G",
                "stranger_ssh": "U", "stranger_pgp": "E", "unsigned": "N", "tampered_ssh": "B",
                "tampered_pgp": "B"}
    for oid, kind in made:
        assert git_says[oid] == expected[kind], (oid, kind, git_says[oid])


def test_commitguard_agrees_with_git(differential, scratch):
    repo, keyring, made, git_says = differential
    kind_of = dict(made)
    res = run_verify(["HEAD"], repo=repo.path, keyring=keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.ids() == set(git_says), res.describe()
    disagreements = []
    compared = 0
    for oid, letter in git_says.items():
        entry = res.commit(oid)
        sig_type = "ssh" if "ssh" in kind_of[oid] else "openpgp" if "pgp" in kind_of[oid] else None
        if letter in GIT_TO_STATUS:
            want = GIT_TO_STATUS[letter]
        elif letter == "E" and sig_type == "openpgp":
            want = "unknown-key"
        elif letter == "U" and sig_type == "ssh":
            want = "unknown-key"
        else:
            continue
        compared += 1
        if entry["status"] != want or entry["signature"]["type"] != sig_type:
            disagreements.append(f"{oid} {kind_of[oid]}: git {letter} -> want {want}/{sig_type}, "
                                 f"commitguard {entry['status']}/{entry['signature']['type']} ({entry['reason']})")
    assert compared == 40
    assert not disagreements, "\n".join(disagreements)
    assert res.code == 1 and data["ok"] is False


def test_signers_match_keyring(differential, scratch):
    repo, keyring, made, _ = differential
    res = run_verify(["HEAD"], repo=repo.path, keyring=keyring, scratch=scratch)
    for oid, kind in made:
        entry = res.commit(oid)
        if kind.startswith(("alice_", "bob_")):
            assert entry["signer"] == kind.split("_")[0], entry
        else:
            assert entry["signer"] is None, entry


def test_parallel_and_serial_agree(differential, scratch):
    repo, keyring, _, _ = differential
    serial = run_verify(["HEAD"], repo=repo.path, keyring=keyring, scratch=scratch, jobs=1)
    parallel = run_verify(["HEAD"], repo=repo.path, keyring=keyring, scratch=scratch, jobs=8)
    pick = lambda r: sorted((c["id"], c["status"], c["signer"], c["signature"]["key"]) for c in r.json["commits"])
    assert pick(serial) == pick(parallel)
