"""Session fixtures for the black-box tests of ``commitguard verify``.

All keys, certificates and commits are made with git, gpg and ssh-keygen
(see the ``tests.fixtures`` package); the modules in BLACK_BOX_MODULES run the
CLI as a subprocess and never import commitguard, so they are an independent
check of the CLI contract in SPEC.md.

The expensive part (key generation, ~30 signed commits) is built once per
session into ``World``. Every "case" commit is a root commit of its own (no
parent), so ``verify <id>`` checks exactly that commit.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.fixtures.cli import set_subprocess_mode

# Property tests explore new examples on a developer's machine; in CI (``$CI`` set) they
# replay the same examples every run, so a red CI is a change's fault, not a new draw.
# A failure found while exploring is kept as an explicit example or a regression test.
from hypothesis import settings as _hypothesis_settings

_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")
from tests.fixtures_git import (
    Gpg,
    PgpSigner,
    Raw,
    Repo,
    SshKey,
    SshSigner,
    run,
    run_verify,
    write_keyring,
)

REQUIRED_TOOLS = ("git", "gpg", "gpgconf", "ssh-keygen")


BLACK_BOX_MODULES = {"test_verify_cli.py", "test_vectors.py", "test_differential.py", "test_keyring_errors.py"}
# Modules and tests that run ``python -m commitguard`` as a subprocess: the
# black-box set (marker ``blackbox``, ``pytest -m blackbox``). Every other CLI
# call runs in process (tests/fixtures/cli.py), which spares an interpreter start each.
SUBPROCESS_MODULES = BLACK_BOX_MODULES | {"test_sources_cli.py", "test_sources_eval.py", "test_sources_paths.py"}
SUBPROCESS_TESTS = {
    "test_sources_cli_never_passes_a_wrong_hash_beside_a_signed_release",
    "test_tar_sign_is_checked_streaming_with_flat_memory",
    "test_sources_cli_leaves_no_scratch_behind_after_a_failed_unpack",
    "test_exit_1_says_why",  # annotate --closure, tests/closure
    "test_a_malformed_sbom",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SUBPROCESS_MODULES or item.originalname in SUBPROCESS_TESTS:
            item.add_marker(pytest.mark.blackbox)
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing and os.environ.get("CI"):
        raise pytest.UsageError(f"CI must install {', '.join(missing)} (.ci/run does)")
    if missing:
        skip = pytest.mark.skip(reason=f"missing tools: {', '.join(missing)}")
        for item in items:
            if item.path.name in BLACK_BOX_MODULES:
                item.add_marker(skip)


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's default) on named tests (``tests/x.py::test``, as
    .ci/mutation-smoke and mutation/ run them): no workers to start, run serially."""
    args = [a for a in config.args if not a.startswith("-")]
    if args and all("::" in a for a in args):
        return 0
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A ``blackbox`` test runs the CLI as a subprocess, from its fixtures' setup to its teardown."""
    set_subprocess_mode(item.get_closest_marker("blackbox") is not None)
    try:
        yield
    finally:
        set_subprocess_mode(False)


@dataclass
class PgpKey:
    name: str
    primary: str
    signing: str  # fingerprint of the key that signs (the subkey where there is one)
    cert: Path  # armored certificate, exported after all changes


@dataclass
class Case:
    """One commit with the verdict SPEC demands for it under the main keyring."""

    name: str
    id: str
    status: str
    signer: str | None = None
    sig_type: str | None = None
    key: str | None = None  # expected signature.key (None: not checked)
    # where SPEC leaves it open whether an untrusted but valid signature names
    # its owner (expired, revoked, weak), the owner's id is accepted besides null
    owner: str | None = None
    created: str | None = None  # expected signature.created (None: not checked)

    @property
    def trusted(self) -> bool:
        return self.status == "trusted"


@dataclass
class World:
    root: Path
    gpg: Gpg
    ssh: dict[str, SshKey]
    pgp: dict[str, PgpKey]
    repo: Repo
    cases: dict[str, Case] = field(default_factory=dict)

    # -- keyrings ---------------------------------------------------------
    def persons(self, *, revoked_flags: bool = True) -> list[dict]:
        s, p = self.ssh, self.pgp
        persons = [
            {"id": "alice", "name": "Alice Example", "emails": ["alice@example.org"], "github": "alice",
             "roles": ["committer"],
             "keys": [{"ssh": s["alice_ed25519"].pub_line}, {"ssh": s["alice_ecdsa"].pub_line},
                      {"ssh": s["alice_rsa3072"].pub_line}, {"openpgp": p["alice"].cert}]},
            {"id": "bob", "name": "Bob Example", "emails": ["bob@example.org"],
             "keys": [{"openpgp": p["bob"].cert}]},
            {"id": "erin", "name": "Erin Expiring", "emails": ["erin@example.org"],
             "keys": [{"openpgp": p["erin"].cert}]},
            {"id": "carol", "name": "Carol Window", "emails": ["carol@example.org"],
             "keys": [{"ssh": s["carol"].pub_line,
                       "valid_after": Raw("2024-01-01T00:00:00Z"),
                       "valid_before": Raw("2025-01-01T00:00:00Z")}]},
            {"id": "rita", "name": "Rita Revoked-Cert", "emails": ["rita@example.org"],
             "keys": [{"openpgp": p["rita"].cert}]},
            {"id": "walter", "name": "Walter Weak", "emails": ["walter@example.org"],
             "keys": [{"ssh": s["weak_rsa1024"].pub_line}, {"ssh": s["weak_dsa"].pub_line}]},
        ]
        ronny_keys = [{"ssh": s["ronny"].pub_line}, {"openpgp": p["ronny"].cert}]
        if revoked_flags:
            for k in ronny_keys:
                k["revoked"] = True
        persons.append({"id": "ronny", "name": "Ronny Revoked", "emails": ["ronny@example.org"],
                        "keys": ronny_keys})
        return persons

    def forges(self) -> list[dict]:
        return [{"id": "examplehub", "openpgp": self.pgp["forge"].cert}]

    def keyring(self, directory: Path, *, policy: dict | None = None, persons: list[dict] | None = None,
                forges: list[dict] | None = None) -> Path:
        return write_keyring(directory, persons=self.persons() if persons is None else persons,
                             forges=self.forges() if forges is None else forges, policy=policy)


def _pgp_key(root: Path, name: str, primary: str, signing: str) -> PgpKey:
    return PgpKey(name, primary, signing, root / "certs" / f"{name}.asc")


def _build_world(root: Path) -> World:
    gpg = Gpg(root / "gnupg", root)
    ssh_dir = root / "ssh"
    ssh = {
        "alice_ed25519": SshKey.generate(ssh_dir, "alice_ed25519", "ed25519"),
        "alice_ecdsa": SshKey.generate(ssh_dir, "alice_ecdsa", "ecdsa", 256),
        "alice_rsa3072": SshKey.generate(ssh_dir, "alice_rsa3072", "rsa", 3072),
        "carol": SshKey.generate(ssh_dir, "carol", "ed25519"),
        "ronny": SshKey.generate(ssh_dir, "ronny", "ed25519"),
        "stranger": SshKey.generate(ssh_dir, "stranger", "ed25519"),
        "weak_rsa1024": SshKey.generate(ssh_dir, "weak_rsa1024", "rsa", 1024),
        "weak_dsa": SshKey.generate(ssh_dir, "weak_dsa", "dsa"),
    }

    # OpenPGP keys, all created (faked) on 2019-01-01
    pgp: dict[str, PgpKey] = {}
    a = gpg.gen_key("Alice Example <alice@example.org>", "ed25519", "cert")
    a_sub = gpg.add_subkey(a, "ed25519", "sign")
    pgp["alice"] = _pgp_key(root, "alice", a, a_sub)
    b = gpg.gen_key("Bob Example <bob@example.org>", "rsa3072", "sign")
    pgp["bob"] = _pgp_key(root, "bob", b, b)
    # erin: subkey "erin" expires 2021-01-01 from the start (its binding signature
    # says so since 2019); subkey "erin_late" gets that expiry only afterwards,
    # see below
    e = gpg.gen_key("Erin Expiring <erin@example.org>", "ed25519", "cert")
    e_sub = gpg.add_subkey(e, "ed25519", "sign", expire="2021-01-01")
    e_late = gpg.add_subkey(e, "ed25519", "sign")
    pgp["erin"] = _pgp_key(root, "erin", e, e_sub)
    pgp["erin_late"] = PgpKey("erin_late", e, e_late, pgp["erin"].cert)
    for name, uid in [("rita", "Rita Revoked-Cert <rita@example.org>"),
                      ("ronny", "Ronny Revoked <ronny@example.org>"),
                      ("stranger", "Stranger Danger <stranger@example.net>"),
                      ("forge", "ExampleHub <noreply@examplehub.test>")]:
        fpr = gpg.gen_key(uid, "ed25519", "sign")
        pgp[name] = _pgp_key(root, name, fpr, fpr)

    repo = Repo(root / "cases", root)
    w = World(root, gpg, ssh, pgp, repo)

    def case(name: str, oid: str, status: str, **kw) -> Case:
        c = Case(name, oid, status, **kw)
        assert all(o.id != oid for o in w.cases.values()), f"duplicate commit for {name}"
        w.cases[name] = c
        repo.ref(f"refs/heads/case/{name}", oid)
        return c

    def ssh_commit(key: str, msg: str, when: str = "2024-06-01T00:00:00Z") -> str:
        return repo.commit(msg, signer=SshSigner(ssh[key]), when=when)

    def pgp_commit(key: str, msg: str, when: str = "2024-06-01T00:00:00Z", extra=()) -> str:
        return repo.commit(msg, signer=PgpSigner(gpg, pgp[key].signing, list(extra)), when=when)

    # -- trusted ------------------------------------------------------------
    for k in ("alice_ed25519", "alice_ecdsa", "alice_rsa3072"):
        case(f"ssh_{k}", ssh_commit(k, f"signed by {k}"), "trusted", signer="alice", sig_type="ssh",
             key=ssh[k].fingerprint)
    case("pgp_alice_subkey", pgp_commit("alice", "alice openpgp subkey"), "trusted", signer="alice",
         sig_type="openpgp", key=pgp["alice"].signing, created="2024-06-01T00:00:00Z")
    case("pgp_bob_rsa3072", pgp_commit("bob", "bob openpgp rsa3072"), "trusted", signer="bob",
         sig_type="openpgp", key=pgp["bob"].signing, created="2024-06-01T00:00:00Z")

    # -- unsigned / unknown ------------------------------------------------------
    case("unsigned", repo.commit("not signed at all"), "unsigned", signer=None, sig_type=None)
    case("unknown_ssh", ssh_commit("stranger", "signed by a stranger (ssh)"), "unknown-key", signer=None,
         sig_type="ssh", key=ssh["stranger"].fingerprint)
    case("unknown_pgp", pgp_commit("stranger", "signed by a stranger (openpgp)"), "unknown-key", signer=None,
         sig_type="openpgp", key=pgp["stranger"].signing)

    # -- bad signatures ------------------------------------------------------------
    base_ssh = ssh_commit("alice_ed25519", "to be tampered (ssh)")
    case("bad_ssh", repo.tamper(base_ssh), "bad-signature", signer=None, sig_type="ssh")
    base_pgp = pgp_commit("alice", "to be tampered (openpgp)")
    case("bad_pgp", repo.tamper(base_pgp), "bad-signature", signer=None, sig_type="openpgp")
    base_rsa = pgp_commit("bob", "to be tampered (openpgp rsa)")
    case("bad_pgp_rsa", repo.tamper(base_rsa), "bad-signature", signer=None, sig_type="openpgp")
    # an SSH signature over the exact commit bytes, but in the "file" namespace:
    # it must never count as a git commit signature
    unsigned_ns = repo.commit("signed in the wrong ssh namespace")
    payload = repo.raw(unsigned_ns)
    sig = run(["ssh-keygen", "-q", "-Y", "sign", "-f", ssh["alice_ed25519"].path, "-n", "file"],
              input=payload).stdout.decode()
    assert "BEGIN SSH SIGNATURE" in sig
    case("bad_ssh_namespace", repo.with_gpgsig(unsigned_ns, sig), "bad-signature", signer=None, sig_type="ssh")

    # a real signature by a keyring key, moved onto another commit
    donor = repo.commit("unsigned commit that receives a transplanted signature (openpgp)")
    case("bad_pgp_transplanted", repo.with_gpgsig(donor, repo.signature_of(w.cases["pgp_alice_subkey"].id)),
         "bad-signature", signer=None, sig_type="openpgp")
    donor = repo.commit("unsigned commit that receives a transplanted signature (ssh)")
    case("bad_ssh_transplanted", repo.with_gpgsig(donor, repo.signature_of(w.cases["ssh_alice_ed25519"].id)),
         "bad-signature", signer=None, sig_type="ssh")

    # -- malformed -------------------------------------------------------------------
    def malformed(name: str, text: str, sig_type=None) -> None:
        base = repo.commit(f"malformed signature: {name}")
        case(name, repo.with_gpgsig(base, text), "malformed", signer=None, sig_type=sig_type)

    malformed("malformed_garbage", "this is not a signature at all\nreally not")
    pub = gpg.gpg("--armor", "--export", pgp["stranger"].primary).stdout.decode()
    not_sig = (pub.replace("BEGIN PGP PUBLIC KEY BLOCK", "BEGIN PGP SIGNATURE")
               .replace("END PGP PUBLIC KEY BLOCK", "END PGP SIGNATURE"))
    assert "BEGIN PGP SIGNATURE" in not_sig
    malformed("malformed_pgp_not_a_signature", not_sig, "openpgp")
    malformed("malformed_pgp_bad_armor",
              "-----BEGIN PGP SIGNATURE-----\n\n!!!! not base64 @@@@\n-----END PGP SIGNATURE-----", "openpgp")
    malformed("malformed_ssh_garbage",
              "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----", "ssh")

    # -- expiry (OpenPGP) ------------------------------------------------------------------
    # A signature gpg refuses to make (an expired subkey) is made while the subkey
    # "erin_late" has no expiry yet; then a new binding signature dated 2020-06-01
    # sets its expiry to 2021-01-01. (gpg replaces the old binding, so the
    # "signed before expiry" case uses the other subkey, whose only binding has
    # carried the 2021-01-01 expiry since 2019.)
    case("pgp_expired_after", pgp_commit("erin_late", "erin signs after expiry", when="2022-01-01T00:00:00Z"),
         "expired-key", signer=None, owner="erin", sig_type="openpgp", key=pgp["erin_late"].signing,
         created="2022-01-01T00:00:00Z")
    gpg.set_expire(pgp["erin"].primary, "2021-01-01", [pgp["erin_late"].signing], at="2020-06-01T00:00:00Z")
    case("pgp_signed_before_expiry", pgp_commit("erin", "erin signs before expiry", when="2020-03-01T00:00:00Z"),
         "trusted", signer="erin", sig_type="openpgp", key=pgp["erin"].signing, created="2020-03-01T00:00:00Z")

    # -- validity window (SSH, keyring valid_after/valid_before, committer time) ---------
    case("ssh_before_window", ssh_commit("carol", "carol too early", when="2023-06-01T00:00:00Z"),
         "expired-key", signer=None, owner="carol", sig_type="ssh", key=ssh["carol"].fingerprint)
    case("ssh_in_window", ssh_commit("carol", "carol in time", when="2024-06-01T00:00:00Z"),
         "trusted", signer="carol", sig_type="ssh", key=ssh["carol"].fingerprint)
    case("ssh_after_window", ssh_commit("carol", "carol too late", when="2025-06-01T00:00:00Z"),
         "expired-key", signer=None, owner="carol", sig_type="ssh", key=ssh["carol"].fingerprint)

    # -- revocation --------------------------------------------------------------------------
    case("revoked_flag_ssh", ssh_commit("ronny", "ronny ssh (revoked = true)"), "revoked-key",
         signer=None, owner="ronny", sig_type="ssh", key=ssh["ronny"].fingerprint)
    case("revoked_flag_pgp", pgp_commit("ronny", "ronny openpgp (revoked = true)"), "revoked-key",
         signer=None, owner="ronny", sig_type="openpgp", key=pgp["ronny"].signing)
    case("revoked_cert_pgp", pgp_commit("rita", "rita, whose certificate carries a revocation"),
         "revoked-key", signer=None, owner="rita", sig_type="openpgp", key=pgp["rita"].signing)
    gpg.revoke_with_stored_certificate(pgp["rita"].primary)

    # -- weak ------------------------------------------------------------------------------------
    sha1 = pgp_commit("bob", "bob signs with SHA-1", extra=["--digest-algo", "SHA1"])
    case("pgp_sha1", sha1, "weak-signature", signer=None, owner="bob", sig_type="openpgp", key=pgp["bob"].signing)
    case("ssh_rsa1024", ssh_commit("weak_rsa1024", "rsa 1024"), "weak-signature", signer=None, owner="walter",
         sig_type="ssh", key=ssh["weak_rsa1024"].fingerprint)
    case("ssh_dsa", ssh_commit("weak_dsa", "dsa"), "weak-signature", signer=None, owner="walter", sig_type="ssh",
         key=ssh["weak_dsa"].fingerprint)

    # -- forge -----------------------------------------------------------------------------------
    case("forge", pgp_commit("forge", "merged on the forge's web UI"), "forge", signer="examplehub",
         sig_type="openpgp", key=pgp["forge"].signing)

    # certificates are exported only now, after the expiry change and the revocation
    for k in pgp.values():
        if k.name != "erin_late":
            gpg.export(k.primary, k.cert)
    _self_check(w, sha1=sha1)
    return w


def _self_check(w: World, *, sha1: str) -> None:
    """The fixtures are what they claim to be, according to git and gpg themselves."""
    repo, gpg, c = w.repo, w.gpg, w.cases
    gpgenv = {"GNUPGHOME": str(gpg.home)}
    allowed = w.root / "allowed_signers_all"
    allowed.write_text("".join(f"x@example.org {k.pub_line}\n" for k in w.ssh.values()))
    sshcfg = ["-c", f"gpg.ssh.allowedSignersFile={allowed}"]
    for name in ("ssh_alice_ed25519", "ssh_alice_ecdsa", "ssh_alice_rsa3072", "ssh_in_window", "ssh_dsa",
                 "ssh_rsa1024", "unknown_ssh"):
        r = repo.verify_commit(c[name].id, config=sshcfg)
        assert r.returncode == 0, (name, r.stderr)
    for name in ("pgp_alice_subkey", "pgp_bob_rsa3072", "unknown_pgp", "forge", "pgp_sha1"):
        r = repo.verify_commit(c[name].id, env=gpgenv)
        assert r.returncode == 0 and b"GOODSIG" in r.stderr, (name, r.stderr)
        assert c[name].key.encode() in r.stderr, (name, r.stderr)  # VALIDSIG names the signing (sub)key
    for name in ("bad_ssh", "bad_ssh_namespace", "bad_ssh_transplanted"):
        r = repo.verify_commit(c[name].id, config=sshcfg)
        assert r.returncode != 0, (name, r.stderr)
    for name in ("bad_pgp", "bad_pgp_rsa", "bad_pgp_transplanted"):
        r = repo.verify_commit(c[name].id, env=gpgenv)
        assert r.returncode != 0 and b"BADSIG" in r.stderr, (name, r.stderr)
    assert repo.verify_commit(c["unsigned"].id).returncode != 0
    # the SHA-1 signature really uses SHA-1 (digest algo 2), the others do not
    sig = repo.signature_of(sha1).encode()
    assert "digest algo 2," in gpg.list_packets(sig), gpg.list_packets(sig)
    sig = repo.signature_of(c["pgp_bob_rsa3072"].id).encode()
    assert "digest algo 2," not in gpg.list_packets(sig)
    # erin's signing subkey is expired now, rita's certificate is revoked
    out = gpg.gpg("--with-colons", "--list-keys", w.pgp["erin"].primary).stdout.decode()
    assert sum(l.startswith("sub:e:") for l in out.splitlines()) == 2, out
    out = gpg.gpg("--with-colons", "--list-keys", w.pgp["rita"].primary).stdout.decode()
    assert any(l.startswith("pub:r:") for l in out.splitlines()), out
    # every case commit is a root commit
    for case in c.values():
        parents = repo.git("rev-list", "--parents", "-n", "1", case.id).split()
        assert parents == [case.id], (case.name, parents)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("world")
    w = None
    try:
        w = _build_world(root)
        yield w
    finally:
        # the gpg-agent started for this GNUPGHOME, and only that one
        Gpg(root / "gnupg", root).kill_agent()


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    """Working directory and throwaway GNUPGHOME/XDG dirs for the CLI runs."""
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="session")
def main_keyring(world, tmp_path_factory) -> Path:
    return world.keyring(tmp_path_factory.mktemp("keyring-main"))


@pytest.fixture(scope="session")
def verify_cases(world, scratch) -> Callable[[Path], dict[str, dict | str]]:
    """Verify all case commits with a keyring: {case name: commit JSON or error text}.

    One CLI run for all cases; should that run fail as a whole, every commit is
    verified alone, so one crash does not hide every other verdict.
    """
    memo: dict[Path, dict[str, dict | str]] = {}

    def go(keyring: Path) -> dict[str, dict | str]:
        if keyring in memo:
            return memo[keyring]
        cases = list(world.cases.values())
        res = run_verify([c.id for c in cases], repo=world.repo.path, keyring=keyring, scratch=scratch)
        out: dict[str, dict | str] = {}
        try:
            data = res.json
            by_id = {}
            for entry in data["commits"]:
                by_id.setdefault(entry["id"], []).append(entry)
            for c in cases:
                got = by_id.get(c.id, [])
                out[c.name] = got[0] if len(got) == 1 else f"reported {len(got)} times\n{res.describe()}"
        except AssertionError:
            for c in cases:
                one = run_verify([c.id], repo=world.repo.path, keyring=keyring, scratch=scratch)
                try:
                    out[c.name] = one.commit(c.id)
                except (AssertionError, KeyError) as e:
                    out[c.name] = f"{e}\n{one.describe()}"
        memo[keyring] = out
        return out

    return go


# ---------------------------------------------------------------------------- history repo

@dataclass
class History:
    """A small history with a merge (ranges, trust roots)::

        c1 (unsigned) - c2 - c3 - m1 ------- M - t1    main, HEAD
                              \\             /
                               s1 (stranger) - s2    side
    """

    repo: Repo
    ids: dict[str, str]


@pytest.fixture(scope="session")
def history(world, tmp_path_factory) -> History:
    root = tmp_path_factory.mktemp("history")
    repo = Repo(root / "repo", root)
    alice = SshSigner(world.ssh["alice_ed25519"])
    stranger = SshSigner(world.ssh["stranger"])
    ids = {}
    ids["c1"] = repo.commit("c1 unsigned root", when="2024-02-01T00:00:00Z")
    ids["c2"] = repo.commit("c2", parents=[ids["c1"]], signer=alice, when="2024-02-02T00:00:00Z")
    ids["c3"] = repo.commit("c3", parents=[ids["c2"]], signer=alice, when="2024-02-03T00:00:00Z")
    ids["m1"] = repo.commit("m1", parents=[ids["c3"]], signer=alice, when="2024-02-04T00:00:00Z")
    ids["s1"] = repo.commit("s1 by a stranger", parents=[ids["c3"]], signer=stranger, when="2024-02-05T00:00:00Z")
    ids["s2"] = repo.commit("s2", parents=[ids["s1"]], signer=alice, when="2024-02-06T00:00:00Z")
    ids["M"] = repo.commit("Merge side", parents=[ids["m1"], ids["s2"]], signer=alice, when="2024-02-07T00:00:00Z")
    ids["t1"] = repo.commit("t1", parents=[ids["M"]], signer=alice, when="2024-02-08T00:00:00Z")
    repo.ref("refs/heads/main", ids["t1"])
    repo.ref("refs/heads/side", ids["s2"])
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    assert repo.git("rev-parse", "HEAD") == ids["t1"]
    assert len(repo.git("rev-list", "HEAD").split()) == 8
    return History(repo, ids)


@pytest.fixture(scope="session")
def alice_keyring(world, tmp_path_factory) -> Path:
    """Only alice (all her keys)."""
    return world.keyring(tmp_path_factory.mktemp("keyring-alice"), persons=world.persons()[:1], forges=[])


def pytest_report_header(config):
    return "commitguard black-box suite: fixtures built with git/gpg/ssh-keygen only"
