"""``verify`` on gitsign-signed commits of a real repository: the offline mirror (--upstream-mirror,
or $COMMITGUARD_UPSTREAM_MIRROR) and --online against a local Rekor; the JSON SPEC fixes."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures_git import Repo, assert_report_shape, run_verify
from tests.signatures import sigstore_world as sw
from tests.signatures.test_sigstore import ALICE, _Rekor, keyring_dir, rekor_server  # noqa: F401 (fixture)

WHEN = sw.EPOCH + timedelta(minutes=2)


def _signed_commit(repo: Repo, world: sw.World, message: str = "add hello") -> tuple[str, sw.Signed]:
    """A root commit signed as gitsign signs it: the signature covers the object without its gpgsig header."""
    payload = sw.payload(message)
    signed = sw.sign(sw.fulcio_cert(world.intermediate, ALICE), payload)
    head, _, body = payload.partition(b"\n\n")
    header = b"gpgsig " + b"\n ".join(signed.armored().rstrip(b"\n").split(b"\n"))
    return repo.write_raw(head + b"\n" + header + b"\n\n" + body), signed


def test_verify_trusts_with_the_mirror_only(tmp_path, scratch):
    world = sw.make_world()
    repo = Repo(tmp_path / "repo", tmp_path)
    oid, signed = _signed_commit(repo, world)
    kr = keyring_dir(tmp_path / "kr", world)
    res = run_verify([oid], repo=repo.path, keyring=kr, scratch=scratch, trust_root=oid)
    c = res.commit(oid)
    assert (c["status"], c["trusted"]) == ("unknown-key", False) and "no transparency-log entry" in c["reason"]
    mirror = sw.write_mirror(tmp_path / "mirror", signed, world.log.entry(signed, WHEN))
    for extra, env in ((["--upstream-mirror", str(mirror)], None), ([], {"COMMITGUARD_UPSTREAM_MIRROR": str(mirror)})):
        res = run_verify([oid], repo=repo.path, keyring=kr, scratch=scratch, trust_root=oid, extra=extra, env=env)
        assert_report_shape(res)
        c = res.commit(oid)
        assert (c["status"], c["trusted"], c["signer"]) == ("trusted", True, "alice"), res.describe()
        assert c["signature"] == {"type": "x509", "key": f"{ALICE} ({sw.ISSUER})", "created": "2025-03-01T12:02:00Z"}
        assert res.code == 0


def test_verify_online_against_a_local_rekor(tmp_path, scratch, rekor_server):
    world = sw.make_world(base_url=rekor_server)
    repo = Repo(tmp_path / "repo", tmp_path)
    oid, signed = _signed_commit(repo, world)
    _Rekor.entries[signed.artifact_hash] = world.log.entry(signed, WHEN)
    kr = keyring_dir(tmp_path / "kr", world)
    res = run_verify([oid], repo=repo.path, keyring=kr, scratch=scratch, trust_root=oid, extra=["--online"])
    assert res.commit(oid)["status"] == "trusted", res.describe()
    # a mirror set: nothing is fetched from the network (SPEC), so no entry
    (tmp_path / "mirror").mkdir()
    res = run_verify([oid], repo=repo.path, keyring=kr, scratch=scratch, trust_root=oid,
                     extra=["--online", "--upstream-mirror", str(tmp_path / "mirror")])
    assert res.commit(oid)["status"] == "unknown-key", res.describe()


def test_missing_mirror_is_a_usage_error(tmp_path, scratch):
    repo = Repo(tmp_path / "repo", tmp_path)
    oid = repo.commit("plain")
    res = run_verify([oid], repo=repo.path, keyring=keyring_dir(tmp_path / "kr", sw.make_world()), scratch=scratch,
                     extra=["--upstream-mirror", str(tmp_path / "nowhere")])
    assert res.code == 2 and "--upstream-mirror" in res.stderr, res.describe()
