"""A keyring kept in the repository (.commitguard/keyring), judged Guix-style.

Each scenario builds a history with real git and ssh-keygen, the keyring
files written by hand, and asserts the exact status of every commit.
"""

from __future__ import annotations

import pytest

from tests.fixtures.history import NAMES, History, keys  # noqa: F401 (keys: a fixture)

@pytest.fixture()
def history(tmp_path, keys) -> History:
    return History(tmp_path / "repo", keys)


def test_add_a_person(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    history.commit("alice-adds-bob", "alice")
    history.commit("bob-works", "bob")
    code, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "alice-adds-bob": "trusted", "bob-works": "trusted"}
    assert code == 0


def test_self_authorization_is_unknown_key(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "mallory": ["mallory"]})
    history.commit("mallory-adds-self", "mallory")
    history.commit("mallory-again", "mallory")
    code, statuses, report = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "mallory-adds-self": "unknown-key", "mallory-again": "unknown-key"}
    assert code == 1
    assert any("does not take effect" in w for w in report["warnings"])


def test_laundered_key_never_enters(history):
    """Trusted commits on top of an untrusted keyring change do not adopt it."""
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "mallory": ["mallory"]})
    history.commit("mallory-adds-self", "mallory")
    history.commit("alice-on-top", "alice")
    history.commit("alice-on-top-2", "alice")
    history.commit("mallory-later", "mallory")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {
        "root": "trusted",
        "mallory-adds-self": "unknown-key",
        "alice-on-top": "trusted",
        "alice-on-top-2": "trusted",
        "mallory-later": "unknown-key",
    }


def test_laundered_key_touched_again_by_trusted_commit(history):
    """A trusted commit that rewrites the keyring file puts *its* content in effect,
    which is the trusted signer's decision, not the untrusted one's."""
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "mallory": ["mallory"]})
    history.commit("mallory-adds-self", "mallory")
    history.keyring({"alice": ["alice"], "bob": ["bob"]})  # alice replaces the whole file
    history.commit("alice-adds-bob", "alice")
    history.commit("mallory-later", "mallory")
    history.commit("bob-later", "bob")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {
        "root": "trusted",
        "mallory-adds-self": "unknown-key",
        "alice-adds-bob": "trusted",
        "mallory-later": "unknown-key",
        "bob-later": "trusted",
    }


def test_remove_a_person(history):
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    root = history.commit("root", "alice")
    history.commit("bob-before", "bob")
    history.keyring({"alice": ["alice"]})
    history.commit("alice-removes-bob", "alice")
    history.commit("bob-after", "bob")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "bob-before": "trusted", "alice-removes-bob": "trusted", "bob-after": "unknown-key"}


def test_person_removing_themself_is_judged_by_the_old_keyring(history):
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"]})
    history.commit("bob-leaves", "bob")
    history.commit("bob-after", "bob")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "bob-leaves": "trusted", "bob-after": "unknown-key"}


def test_rotate_a_key(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice2"]})
    history.commit("alice-rotates", "alice")  # signed with the old key, judged by the old keyring
    history.commit("old-key-after", "alice")
    history.commit("new-key-after", "alice2")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {
        "root": "trusted",
        "alice-rotates": "trusted",
        "old-key-after": "unknown-key",
        "new-key-after": "trusted",
    }


def test_revoke_a_key(history):
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "bob": ["bob!"]})
    history.commit("alice-revokes-bob", "alice")
    history.commit("bob-after", "bob")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "alice-revokes-bob": "trusted", "bob-after": "revoked-key"}


def test_unsigned_keyring_change_does_not_take_effect(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    history.commit("unsigned-adds-bob", None)
    history.commit("bob-after", "bob")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "unsigned-adds-bob": "unsigned", "bob-after": "unknown-key"}


def test_merge_of_branches_with_different_keyrings(history):
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    root = history.commit("root", "alice")
    history.git("checkout", "-q", "-b", "side")
    history.keyring({"alice": ["alice"], "bob": ["bob"], "dave": ["dave"]})
    history.commit("bob-adds-dave", "bob")
    history.commit("dave-on-side", "dave")
    history.git("checkout", "-q", "main")
    history.keyring({"alice": ["alice"], "bob": ["bob"], "carol": ["carol"]})
    history.commit("alice-adds-carol", "alice")
    history.commit("carol-on-main", "carol")
    merged = {"alice": ["alice"], "bob": ["bob"], "carol": ["carol"], "dave": ["dave"]}
    history.merge("alice-merges", "side", "alice", keyring=merged)
    history.commit("dave-after-merge", "dave")
    history.commit("carol-after-merge", "carol")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {
        "root": "trusted",
        "bob-adds-dave": "trusted",
        "dave-on-side": "trusted",
        "alice-adds-carol": "trusted",
        "carol-on-main": "trusted",
        "alice-merges": "trusted",
        "dave-after-merge": "trusted",
        "carol-after-merge": "trusted",
    }


def test_merge_signed_by_someone_only_one_parent_trusts(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.git("checkout", "-q", "-b", "side")
    history.commit("alice-on-side", "alice")
    history.git("checkout", "-q", "main")
    history.keyring({"alice": ["alice"], "carol": ["carol"]})
    history.commit("alice-adds-carol", "alice")
    history.merge("carol-merges", "side", "carol")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses["carol-merges"] == "unknown-key"
    assert statuses["alice-on-side"] == "trusted"


def test_trust_root_in_the_middle_of_history(history):
    history.commit("before-1", None)
    history.commit("before-2", "mallory")
    history.keyring({"alice": ["alice"]})
    root = history.commit("introduction", "alice")
    history.commit("after", "alice")
    code, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {"introduction": "trusted", "after": "trusted"}
    assert code == 0


def test_side_branch_from_before_the_trust_root(history):
    first = history.commit("before", None)
    history.keyring({"alice": ["alice"]})
    root = history.commit("introduction", "alice")
    history.git("checkout", "-q", "-b", "old", first)
    history.commit("old-side", "alice")
    history.git("checkout", "-q", "main")
    history.merge("merge-old", "old", "alice")
    _, statuses, report = history.verify("--trust-root", root)
    assert statuses == {"introduction": "trusted", "old-side": "unknown-key", "merge-old": "unknown-key"}
    reasons = {c["id"]: c["reason"] for c in report["commits"]}
    assert any("does not descend from the trust root" in r for r in reasons.values())


def test_range_still_follows_keyring_changes_outside_it(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.keyring({"alice": ["alice"], "bob": ["bob"]})
    adds = history.commit("alice-adds-bob", "alice")
    history.commit("bob-works", "bob")
    code, statuses, _ = history.verify(f"{adds}..HEAD", "--trust-root", root)
    assert statuses == {"bob-works": "trusted"} and code == 0


def test_invalid_keyring_change_keeps_the_previous_one(history):
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.raw_keyring("version = 1\n[[person]]\nid = \n")
    history.commit("alice-breaks-keyring", "alice")
    history.commit("alice-after", "alice")
    _, statuses, report = history.verify("--trust-root", root)
    assert statuses == {"root": "trusted", "alice-breaks-keyring": "trusted", "alice-after": "trusted"}
    assert any("invalid" in w for w in report["warnings"])


def test_trust_root_is_required(history):
    history.keyring({"alice": ["alice"]})
    history.commit("root", "alice")
    code, _, out = history.verify(expect_code=2)
    assert "--trust-root" in out["stderr"] and len(out["stderr"].strip().splitlines()) == 1


def test_trust_root_without_keyring_is_an_error(history):
    root = history.commit("no-keyring", "alice")
    history.keyring({"alice": ["alice"]})
    history.commit("later", "alice")
    code, _, out = history.verify("--trust-root", root, expect_code=2)
    assert ".commitguard/keyring" in out["stderr"]


def test_external_keyring_overrides_the_repository_one(history, tmp_path):
    history.keyring({"alice": ["alice"], "mallory": ["mallory"]})
    history.commit("root", "mallory")
    external = tmp_path / "mine"
    external.mkdir()
    pub = history.keys["alice"].with_suffix(".pub").read_text().strip()
    (external / "keyring.toml").write_text(f'version = 1\n[[person]]\nid = "alice"\n[[person.key]]\nssh = "{pub}"\n')
    code, statuses, _ = history.verify("--keyring", str(external))
    assert statuses == {"root": "unknown-key"} and code == 1


def test_merge_cannot_launder_an_untrusted_keyring_change(history):
    """A trusted merge that takes the keyring of an untrusted side branch does not adopt it."""
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.git("checkout", "-q", "-b", "side")
    history.keyring({"alice": ["alice"], "mallory": ["mallory"]})
    history.commit("mallory-adds-self", "mallory")
    history.git("checkout", "-q", "main")
    history.commit("alice-on-main", "alice")
    history.merge("alice-merges-side", "side", "alice")
    history.commit("mallory-after-merge", "mallory")
    history.commit("alice-after-merge", "alice")
    _, statuses, _ = history.verify("--trust-root", root)
    assert statuses == {
        "root": "trusted",
        "mallory-adds-self": "unknown-key",
        "alice-on-main": "trusted",
        "alice-merges-side": "trusted",
        "mallory-after-merge": "unknown-key",
        "alice-after-merge": "trusted",
    }
