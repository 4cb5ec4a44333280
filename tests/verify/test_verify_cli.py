"""Black-box tests of ``commitguard verify`` against SPEC.md (statuses, exit codes, JSON).

The commits and keys come from conftest.py (real git/gpg/ssh-keygen output).
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures_git import assert_report_shape, run_verify

# every case commit built in conftest._build_world, with its expected verdict there
CASES = [
    "ssh_alice_ed25519", "ssh_alice_ecdsa", "ssh_alice_rsa3072", "pgp_alice_subkey", "pgp_bob_rsa3072",
    "unsigned", "unknown_ssh", "unknown_pgp",
    "bad_ssh", "bad_pgp", "bad_pgp_rsa", "bad_ssh_namespace", "bad_pgp_transplanted", "bad_ssh_transplanted",
    "malformed_garbage", "malformed_pgp_not_a_signature", "malformed_pgp_bad_armor", "malformed_ssh_garbage",
    "pgp_expired_after", "pgp_signed_before_expiry",
    "ssh_before_window", "ssh_in_window", "ssh_after_window",
    "revoked_flag_ssh", "revoked_flag_pgp", "revoked_cert_pgp",
    "pgp_sha1", "ssh_rsa1024", "ssh_dsa",
    "forge",
]


def check_entry(entry, case, *, status=None, trusted=None, signer="expected"):
    """Compare one commit of the JSON with what the case demands."""
    assert not isinstance(entry, str), f"{case.name}: no verdict:\n{entry}"
    status = case.status if status is None else status
    trusted = (status == "trusted") if trusted is None else trusted
    signer = case.signer if signer == "expected" else signer
    where = f"{case.name} ({case.id}): {json.dumps(entry)}"
    assert entry["id"] == case.id, where
    assert entry["status"] == status, where
    assert entry["trusted"] is trusted, where
    if signer is None and case.owner and status == case.status:
        assert entry["signer"] in (None, case.owner), where
    else:
        assert entry["signer"] == signer, where
    assert entry["signature"]["type"] == case.sig_type, where
    if case.key is not None:
        assert (entry["signature"]["key"] or "").lower() == case.key.lower(), where
    if case.created is not None:
        assert entry["signature"]["created"] == case.created, where
    assert isinstance(entry["reason"], str) and entry["reason"], where


def test_case_list_complete(world):
    assert sorted(CASES) == sorted(world.cases)


@pytest.mark.parametrize("name", CASES)
def test_status_main_keyring(name, world, main_keyring, verify_cases):
    check_entry(verify_cases(main_keyring)[name], world.cases[name])


def test_all_cases_one_run_shape_and_exit(world, main_keyring, scratch):
    ids = [c.id for c in world.cases.values()]
    res = run_verify(ids, repo=world.repo.path, keyring=main_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.code == 1, res.describe()
    assert data["ok"] is False
    assert res.ids() == set(ids), res.describe()
    expected = {}
    for c in world.cases.values():
        expected[c.status] = expected.get(c.status, 0) + 1
    assert data["summary"]["total"] == len(ids)
    assert data["summary"]["trusted"] == expected["trusted"]
    assert {k: v for k, v in data["summary"]["by_status"].items() if v} == expected


def test_exit_0_when_all_trusted(world, main_keyring, scratch):
    cases = [world.cases[n] for n in ("ssh_alice_ed25519", "pgp_alice_subkey", "ssh_in_window")]
    res = run_verify([c.id for c in cases], repo=world.repo.path, keyring=main_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.code == 0, res.describe()
    assert data["ok"] is True
    assert res.ids() == {c.id for c in cases}
    assert data["summary"]["total"] == 3 and data["summary"]["trusted"] == 3
    assert {k: v for k, v in data["summary"]["by_status"].items() if v} == {"trusted": 3}


@pytest.mark.parametrize("name", ["unsigned", "forge"])
def test_exit_1_when_untrusted(name, world, main_keyring, scratch):
    c = world.cases[name]
    res = run_verify([c.id], repo=world.repo.path, keyring=main_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.code == 1, res.describe()
    assert data["ok"] is False
    assert res.commit(c.id)["status"] == c.status


def test_trusted_and_untrusted_together_exit_1(world, main_keyring, scratch):
    ids = [world.cases["ssh_alice_ed25519"].id, world.cases["unsigned"].id]
    res = run_verify(ids, repo=world.repo.path, keyring=main_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.code == 1 and data["ok"] is False
    assert data["summary"]["total"] == 2 and data["summary"]["trusted"] == 1


def test_hostile_signatures_never_crash(world, main_keyring, scratch):
    """SPEC: a crash on any input, however hostile, is a bug. None of these may be trusted."""
    repo = world.repo
    ssh_sig = repo.signature_of(world.cases["ssh_alice_ed25519"].id)
    pgp_sig = repo.signature_of(world.cases["pgp_alice_subkey"].id)
    stranger_sig = repo.signature_of(world.cases["unknown_pgp"].id)
    ssh_lines = ssh_sig.strip().split("\n")
    pgp_lines = pgp_sig.strip().split("\n")
    variants = {
        "ssh_truncated": "\n".join(ssh_lines[:2] + [ssh_lines[-1]]),
        "ssh_no_footer": "\n".join(ssh_lines[:-1]),
        "pgp_truncated": "\n".join(pgp_lines[:3] + pgp_lines[-2:]),
        "pgp_no_footer": "\n".join(pgp_lines[:-1]),
        "empty_armor_pgp": "-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----",
        "empty_armor_ssh": "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----",
        "x509_garbage": "-----BEGIN SIGNED MESSAGE-----\nMIIBogYJKoZIhvcNAQcC\n-----END SIGNED MESSAGE-----",
        "two_armors": pgp_sig.strip() + "\n" + stranger_sig.strip(),
        "pgp_then_ssh": pgp_sig.strip() + "\n" + ssh_sig.strip(),
        "huge": "-----BEGIN PGP SIGNATURE-----\n\n" + ("A" * 76 + "\n") * 2000 + "-----END PGP SIGNATURE-----",
    }
    ids = {}
    for name, text in variants.items():
        base = repo.commit(f"hostile signature: {name}")
        ids[name] = repo.with_gpgsig(base, text)
    # a non-UTF-8 byte inside the header
    base = repo.raw(repo.commit("hostile signature: binary"))
    head, sep, body = base.partition(b"\n\n")
    ids["binary"] = repo.write_raw(head + b"\ngpgsig -----BEGIN PGP SIGNATURE-----\n \xff\xfejunk\n"
                                   b" -----END PGP SIGNATURE-----" + sep + body, literally=True)
    res = run_verify(list(ids.values()), repo=repo.path, keyring=main_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.ids() == set(ids.values()), res.describe()
    for name, oid in ids.items():
        e = res.commit(oid)
        assert e["trusted"] is False and e["status"] not in ("trusted", "forge", "unsigned"), (name, e)
    assert res.code == 1 and data["ok"] is False


def test_nul_in_signature_header(world, main_keyring, scratch):
    """An object git fsck rejects (nulInHeader) inside a history.

    Either it is judged like any broken signature (exit 1, not trusted), or
    commitguard cannot run (exit 2) and says so in one line naming the commit.
    """
    repo = world.repo
    base = repo.raw(repo.commit("hostile signature: NUL byte"))
    head, sep, body = base.partition(b"\n\n")
    oid = repo.write_raw(head + b"\ngpgsig -----BEGIN PGP SIGNATURE-----\n \x00junk\n"
                         b" -----END PGP SIGNATURE-----" + sep + body, literally=True)
    res = run_verify([oid], repo=repo.path, keyring=main_keyring, scratch=scratch)
    if res.code == 2:
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and oid[:7] in lines[0], f"exit 2 must name the commit at fault:\n{res.describe()}"
    else:
        assert_report_shape(res)
        e = res.commit(oid)
        assert e["trusted"] is False and e["status"] not in ("trusted", "unsigned"), e
        assert res.code == 1


# ------------------------------------------------------------------------- policies

def test_policy_openpgp_expiry_ignore(world, tmp_path, verify_cases):
    got = verify_cases(world.keyring(tmp_path / "kr", policy={"openpgp_expiry": "ignore"}))
    check_entry(got["pgp_expired_after"], world.cases["pgp_expired_after"], status="trusted", signer="erin")
    check_entry(got["pgp_signed_before_expiry"], world.cases["pgp_signed_before_expiry"])
    # the policy is about OpenPGP expiry; the keyring's own SSH validity window stays
    check_entry(got["ssh_before_window"], world.cases["ssh_before_window"])
    check_entry(got["ssh_after_window"], world.cases["ssh_after_window"])
    # and it does not forgive revocations
    check_entry(got["revoked_cert_pgp"], world.cases["revoked_cert_pgp"])


def test_policy_openpgp_sha1_accept(world, tmp_path, verify_cases):
    got = verify_cases(world.keyring(tmp_path / "kr", policy={"openpgp_sha1": "accept"}))
    check_entry(got["pgp_sha1"], world.cases["pgp_sha1"], status="trusted", signer="bob")
    # SSH weak keys are not OpenPGP SHA-1
    check_entry(got["ssh_rsa1024"], world.cases["ssh_rsa1024"])
    check_entry(got["ssh_dsa"], world.cases["ssh_dsa"])
    check_entry(got["pgp_bob_rsa3072"], world.cases["pgp_bob_rsa3072"])


def test_policy_forge_accept(world, tmp_path, scratch):
    kr = world.keyring(tmp_path / "kr", policy={"forge": "accept"})
    c = world.cases["forge"]
    res = run_verify([c.id], repo=world.repo.path, keyring=kr, scratch=scratch)
    data = assert_report_shape(res)
    check_entry(res.commit(c.id), c, status="forge", trusted=True)
    assert res.code == 0 and data["ok"] is True, res.describe()


def test_policy_forge_reject_explicit(world, tmp_path, scratch):
    kr = world.keyring(tmp_path / "kr", policy={"forge": "reject"})
    c = world.cases["forge"]
    res = run_verify([c.id], repo=world.repo.path, keyring=kr, scratch=scratch)
    assert_report_shape(res)
    check_entry(res.commit(c.id), c, status="forge", trusted=False)
    assert res.code == 1


def test_forge_key_not_listed_is_unknown(world, tmp_path, scratch):
    kr = world.keyring(tmp_path / "kr", forges=[])
    c = world.cases["forge"]
    res = run_verify([c.id], repo=world.repo.path, keyring=kr, scratch=scratch)
    assert_report_shape(res)
    check_entry(res.commit(c.id), c, status="unknown-key", signer=None)


def test_revoked_flag_is_what_revokes(world, tmp_path, verify_cases):
    """Control: without ``revoked = true`` ronny's keys are trusted again."""
    kr = world.keyring(tmp_path / "kr", persons=world.persons(revoked_flags=False))
    got = verify_cases(kr)
    check_entry(got["revoked_flag_ssh"], world.cases["revoked_flag_ssh"], status="trusted", signer="ronny")
    check_entry(got["revoked_flag_pgp"], world.cases["revoked_flag_pgp"], status="trusted", signer="ronny")
    # a revocation inside the certificate stays a revocation
    check_entry(got["revoked_cert_pgp"], world.cases["revoked_cert_pgp"])


def test_explicit_default_policy_same_as_none(world, tmp_path, main_keyring, verify_cases):
    kr = world.keyring(tmp_path / "kr", policy={"forge": "reject", "openpgp_sha1": "reject",
                                                   "openpgp_expiry": "enforce"})
    got, base = verify_cases(kr), verify_cases(main_keyring)
    for name in CASES:
        check_entry(got[name], world.cases[name])
        assert got[name]["status"] == base[name]["status"]


def test_person_removed_becomes_unknown(world, tmp_path, scratch):
    persons = [p for p in world.persons() if p["id"] != "alice"]
    kr = world.keyring(tmp_path / "kr", persons=persons)
    for name in ("ssh_alice_ed25519", "pgp_alice_subkey"):
        c = world.cases[name]
        res = run_verify([c.id], repo=world.repo.path, keyring=kr, scratch=scratch)
        check_entry(res.commit(c.id), c, status="unknown-key", signer=None)
        assert res.code == 1


# ------------------------------------------------------------------------- output, jobs, cache

def test_jobs_do_not_change_verdicts(world, main_keyring, scratch, verify_cases):
    base = verify_cases(main_keyring)
    ids = [c.id for c in world.cases.values()]
    res = run_verify(ids, repo=world.repo.path, keyring=main_keyring, scratch=scratch, jobs=4)
    assert_report_shape(res)
    for c in world.cases.values():
        check_entry(res.commit(c.id), c)
        assert res.commit(c.id) ["status"] == base[c.name]["status"]


def test_cache_roundtrip_and_keyring_change(world, tmp_path, scratch):
    """A cache must not serve a verdict made under another keyring or policy."""
    cache = tmp_path / "cache"
    ids = [c.id for c in world.cases.values()]
    kr = world.keyring(tmp_path / "kr")
    first = run_verify(ids, repo=world.repo.path, keyring=kr, scratch=scratch, cache=cache)
    second = run_verify(ids, repo=world.repo.path, keyring=kr, scratch=scratch, cache=cache)
    assert_report_shape(first)
    assert_report_shape(second)
    for c in world.cases.values():
        check_entry(first.commit(c.id), c)
        check_entry(second.commit(c.id), c)
    # same directory, new policy and one person fewer
    kr2 = world.keyring(tmp_path / "kr2", policy={"forge": "accept", "openpgp_expiry": "ignore"},
                        persons=[p for p in world.persons() if p["id"] != "alice"])
    third = run_verify(ids, repo=world.repo.path, keyring=kr2, scratch=scratch, cache=cache)
    assert_report_shape(third)
    check_entry(third.commit(world.cases["forge"].id), world.cases["forge"], trusted=True)
    check_entry(third.commit(world.cases["pgp_expired_after"].id), world.cases["pgp_expired_after"],
                status="trusted", signer="erin")
    for name in ("ssh_alice_ed25519", "pgp_alice_subkey"):
        check_entry(third.commit(world.cases[name].id), world.cases[name], status="unknown-key", signer=None)
    # and the cert file changing under the same path (a revocation added) is seen too
    kr3 = world.keyring(tmp_path / "kr3")
    first3 = run_verify([world.cases["pgp_bob_rsa3072"].id], repo=world.repo.path, keyring=kr3,
                        scratch=scratch, cache=cache)
    check_entry(first3.commit(world.cases["pgp_bob_rsa3072"].id), world.cases["pgp_bob_rsa3072"])
    toml = (kr3 / "keyring.toml").read_text()
    (kr3 / "keyring.toml").write_text(toml.replace('openpgp = "keys/bob.asc"',
                                                   'openpgp = "keys/bob.asc"\nrevoked = true'))
    again = run_verify([world.cases["pgp_bob_rsa3072"].id], repo=world.repo.path, keyring=kr3,
                       scratch=scratch, cache=cache)
    entry = again.commit(world.cases["pgp_bob_rsa3072"].id)
    assert entry["status"] == "revoked-key" and entry["trusted"] is False, again.describe()
    assert entry["signer"] in (None, "bob"), entry


def test_text_format_same_exit_codes(world, main_keyring, scratch):
    good = world.cases["ssh_alice_ed25519"].id
    bad = world.cases["unknown_pgp"].id
    r0 = run_verify([good], repo=world.repo.path, keyring=main_keyring, scratch=scratch, fmt="text")
    r1 = run_verify([good, bad], repo=world.repo.path, keyring=main_keyring, scratch=scratch, fmt="text")
    assert r0.code == 0, r0.describe()
    assert r1.code == 1, r1.describe()
    assert r1.stdout.strip(), r1.describe()
    assert "unknown-key" in r1.stdout, r1.describe()


def test_keyring_from_environment(world, main_keyring, scratch):
    c = world.cases["ssh_alice_ecdsa"]
    res = run_verify([c.id], repo=world.repo.path, keyring=None, scratch=scratch,
                     env={"COMMITGUARD_KEYRING": str(main_keyring)})
    assert_report_shape(res)
    check_entry(res.commit(c.id), c)
    assert res.code == 0


def test_revision_by_ref_name(world, main_keyring, scratch):
    c = world.cases["pgp_bob_rsa3072"]
    res = run_verify(["case/pgp_bob_rsa3072"], repo=world.repo.path, keyring=main_keyring, scratch=scratch)
    assert_report_shape(res)
    assert res.ids() == {c.id}
    check_entry(res.commit(c.id), c)


# ------------------------------------------------------------------------- ranges and trust roots

def ids_of(history, *names):
    return {history.ids[n] for n in names}


def test_whole_history_includes_both_merge_parents(history, alice_keyring, scratch):
    h = history
    res = run_verify([h.ids["t1"]], repo=h.repo.path, keyring=alice_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.ids() == ids_of(h, "c1", "c2", "c3", "m1", "s1", "s2", "M", "t1"), res.describe()
    assert res.commit(h.ids["c1"])["status"] == "unsigned"
    assert res.commit(h.ids["s1"])["status"] == "unknown-key"
    for n in ("c2", "c3", "m1", "s2", "M", "t1"):
        e = res.commit(h.ids[n])
        assert e["status"] == "trusted" and e["signer"] == "alice", e
    assert res.code == 1 and data["ok"] is False


def test_default_revision_is_head(history, alice_keyring, scratch):
    h = history
    res = run_verify([], repo=h.repo.path, keyring=alice_keyring, scratch=scratch, trust_root=h.ids["c2"])
    assert_report_shape(res)
    assert res.ids() == ids_of(h, "c2", "c3", "m1", "s1", "s2", "M", "t1"), res.describe()


def test_trust_root_option(history, alice_keyring, scratch):
    h = history
    res = run_verify([h.ids["t1"]], repo=h.repo.path, keyring=alice_keyring, scratch=scratch, trust_root=h.ids["c2"])
    assert_report_shape(res)
    # the root itself and its descendants, on both sides of the merge; not c1
    assert res.ids() == ids_of(h, "c2", "c3", "m1", "s1", "s2", "M", "t1"), res.describe()
    assert res.commit(h.ids["s1"])["status"] == "unknown-key"
    assert res.code == 1


def test_trust_root_all_trusted_exit_0(history, alice_keyring, scratch):
    h = history
    res = run_verify([h.ids["m1"]], repo=h.repo.path, keyring=alice_keyring, scratch=scratch,
                     trust_root=h.ids["c2"])
    data = assert_report_shape(res)
    assert res.ids() == ids_of(h, "c2", "c3", "m1"), res.describe()
    assert res.code == 0 and data["ok"] is True


def test_trust_root_in_policy(history, world, tmp_path, scratch):
    h = history
    kr = world.keyring(tmp_path / "kr", persons=world.persons()[:1], forges=[],
                       policy={"trust_root": h.ids["c2"]})
    res = run_verify([h.ids["m1"]], repo=h.repo.path, keyring=kr, scratch=scratch)
    data = assert_report_shape(res)
    assert res.ids() == ids_of(h, "c2", "c3", "m1"), res.describe()
    assert res.code == 0 and data["ok"] is True


def test_trust_root_option_overrides_policy(history, world, tmp_path, scratch):
    h = history
    kr = world.keyring(tmp_path / "kr", persons=world.persons()[:1], forges=[],
                       policy={"trust_root": h.ids["m1"]})
    res = run_verify([h.ids["m1"]], repo=h.repo.path, keyring=kr, scratch=scratch)
    assert res.ids() == ids_of(h, "m1"), res.describe()
    res = run_verify([h.ids["m1"]], repo=h.repo.path, keyring=kr, scratch=scratch, trust_root=h.ids["c3"])
    assert res.ids() == ids_of(h, "c3", "m1"), res.describe()
    assert res.code == 0


def test_range_excludes_left_side(history, alice_keyring, scratch):
    h = history
    res = run_verify([f"{h.ids['c2']}..{h.ids['m1']}"], repo=h.repo.path, keyring=alice_keyring, scratch=scratch)
    data = assert_report_shape(res)
    assert res.ids() == ids_of(h, "c3", "m1"), res.describe()
    assert res.code == 0 and data["ok"] is True


def test_range_over_a_merge_checks_the_merged_side(history, alice_keyring, scratch):
    h = history
    res = run_verify([f"{h.ids['m1']}..{h.ids['t1']}"], repo=h.repo.path, keyring=alice_keyring, scratch=scratch)
    assert_report_shape(res)
    assert res.ids() == ids_of(h, "s1", "s2", "M", "t1"), res.describe()
    assert res.commit(h.ids["s1"])["status"] == "unknown-key"
    assert res.code == 1


def test_range_with_ref_names(history, alice_keyring, scratch):
    h = history
    res = run_verify(["side..main"], repo=h.repo.path, keyring=alice_keyring, scratch=scratch)
    assert_report_shape(res)
    assert res.ids() == ids_of(h, "m1", "M", "t1"), res.describe()
    assert res.code == 0


def test_several_revisions(history, alice_keyring, scratch):
    h = history
    res = run_verify([h.ids["m1"], h.ids["s2"]], repo=h.repo.path, keyring=alice_keyring, scratch=scratch,
                     trust_root=h.ids["c3"])
    assert_report_shape(res)
    assert res.ids() == ids_of(h, "c3", "m1", "s1", "s2"), res.describe()
    assert res.code == 1
