"""``[policy] accept`` and ``[policy] reviews``: parsed strictly, written, shown, checked.

Every bad input is refused with one exact line naming the file and the
field; a kind this version cannot check yet is refused, never ignored.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from commitguard.errors import KeyringError
from commitguard.keyring.check import check_keyring
from commitguard.keyring.importers.interface import ImportResult
from commitguard.keyring.loader import load_keyring
from commitguard.keyring.model import Policy
from commitguard.keyring.writer import apply_import
from tests.fixtures.cli import run_cli

ALLOWED = "signature, audit, review, clean-merge, forge-review"


def _keyring(tmp_path: Path, policy: str) -> Path:
    directory = tmp_path / "kr"
    directory.mkdir(exist_ok=True)
    (directory / "keyring.toml").write_text(f"version = 1\n\n[policy]\n{policy}\n")
    return directory


def _refusal(tmp_path: Path, policy: str) -> str:
    directory = _keyring(tmp_path, policy)
    with pytest.raises(KeyringError) as caught:
        load_keyring(directory)
    return str(caught.value)


def test_defaults():
    policy = Policy()
    assert policy.accept == ("signature",) and policy.reviews == 1
    assert policy.accepts("signature") and not policy.accepts("audit")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.accept = ("audit",)  # type: ignore[misc]


def test_absent_means_signature_only(tmp_path):
    loaded = load_keyring(_keyring(tmp_path, 'forge = "reject"'))
    assert loaded.policy.accept == ("signature",) and loaded.policy.reviews == 1


@pytest.mark.parametrize("value, expected", [
    ('["signature"]', ("signature",)),
    ('["signature", "audit"]', ("signature", "audit")),
    ('["audit", "signature"]', ("audit", "signature")),
    ('["audit"]', ("audit",)),
])
def test_accept_parsed_in_order(tmp_path, value, expected):
    assert load_keyring(_keyring(tmp_path, f"accept = {value}")).policy.accept == expected


def test_reviews_parsed(tmp_path):
    assert load_keyring(_keyring(tmp_path, "reviews = 3")).policy.reviews == 3


@pytest.mark.parametrize("value, message", [
    ("[]", "policy.accept: must list at least one kind: with none, nothing could vouch for any commit "
           f"(allowed: {ALLOWED})"),
    ('"signature"', f"policy.accept: must be an array of strings among {ALLOWED}"),
    ("[1]", f"policy.accept: must be an array of strings among {ALLOWED}"),
    ('["signature", ["audit"]]', f"policy.accept: must be an array of strings among {ALLOWED}"),
    ('["signatures"]', f"policy.accept: unknown kind 'signatures' (allowed: {ALLOWED})"),
    ('["Signature"]', f"policy.accept: unknown kind 'Signature' (allowed: {ALLOWED})"),
    ('[""]', f"policy.accept: unknown kind '' (allowed: {ALLOWED})"),
    ('["signature", "signature"]', "policy.accept: lists 'signature' twice"),
    ('["audit", "signature", "audit"]', "policy.accept: lists 'audit' twice"),
    ("reviews = 0", "policy.reviews: must be a whole number of at least 1 (found 0)"),
    ("reviews = -2", "policy.reviews: must be a whole number of at least 1 (found -2)"),
    ("reviews = true", "policy.reviews: must be a whole number of at least 1 (found True)"),
    ('reviews = "2"', "policy.reviews: must be a whole number of at least 1 (found '2')"),
    ("reviews = 1.5", "policy.reviews: must be a whole number of at least 1 (found 1.5)"),
    ('acept = ["signature"]', "policy.acept: unknown field (allowed: accept, forge, openpgp_expiry, openpgp_sha1, "
                              "reviews, sigstore_trusted_root, trust_root)"),
])
def test_bad_input_refused_exactly(tmp_path, value, message):
    line = value if value.startswith(("reviews", "acept")) else f"accept = {value}"
    expected = f"{tmp_path / 'kr' / 'keyring.toml'}: {message}"
    assert _refusal(tmp_path, line) == expected


@pytest.mark.parametrize("kinds", [["review"], ["signature", "clean-merge"], ["signature", "forge-review"],
                                   ["signature", "audit", "review", "clean-merge", "forge-review"]])
def test_every_kind_of_the_spec_loads_and_checks(tmp_path, kinds):
    directory = _keyring(tmp_path, "accept = " + json.dumps(kinds))
    assert load_keyring(directory).policy.accept == tuple(kinds)
    res = run_cli(["keyring", "check", "--keyring", str(directory)], scratch=tmp_path)
    assert res.code in (0, 1), res.describe()  # findings about the keyring, never a refusal of the kind
    assert "not supported" not in res.stderr


def test_writer_sets_accept_and_reviews_with_tomlkit(tmp_path):
    directory = _keyring(tmp_path, "# keep this comment\nforge = \"reject\"")
    report = apply_import(directory, ImportResult(persons=(), policy={"accept": ["signature", "audit"], "reviews": 2}))
    assert report.changes == ('set policy.accept = ["signature", "audit"]', "set policy.reviews = 2")
    text = (directory / "keyring.toml").read_text()
    assert "# keep this comment" in text and 'accept = ["signature", "audit"]' in text and "reviews = 2" in text
    loaded = load_keyring(directory)
    assert loaded.policy.accept == ("signature", "audit") and loaded.policy.reviews == 2
    again = apply_import(directory, ImportResult(persons=(), policy={"accept": ("signature", "audit")}))
    assert again.changes == ()  # the same list again changes nothing, not even a byte
    assert (directory / "keyring.toml").read_text() == text
    changed = apply_import(directory, ImportResult(persons=(), policy={"accept": ["signature"]}))
    assert changed.changes == ('set policy.accept = ["signature"] (was ["signature", "audit"])',)


def test_writer_never_leaves_an_unknown_kind_behind(tmp_path):
    directory = _keyring(tmp_path, 'forge = "reject"')
    before = (directory / "keyring.toml").read_bytes()
    with pytest.raises(KeyringError, match="unknown kind 'reviews'"):
        apply_import(directory, ImportResult(persons=(), policy={"accept": ["signature", "reviews"]}))
    assert (directory / "keyring.toml").read_bytes() == before


def test_show_lists_accept_and_reviews(tmp_path):
    directory = _keyring(tmp_path, 'accept = ["signature", "audit"]\nreviews = 2')
    res = run_cli(["keyring", "show", "--keyring", str(directory), "--format", "json"], scratch=tmp_path)
    assert res.code == 0, res.describe()
    policy = json.loads(res.stdout)["policy"]
    assert (policy["accept"], policy["reviews"]) == (["signature", "audit"], 2)
    text = run_cli(["keyring", "show", "--keyring", str(directory)], scratch=tmp_path)
    assert "policy.accept: a commit is trusted when vouched for by signature, audit" in text.stdout


def test_show_text_is_unchanged_for_the_default(tmp_path):
    directory = _keyring(tmp_path, 'forge = "reject"')
    text = run_cli(["keyring", "show", "--keyring", str(directory)], scratch=tmp_path)
    assert "policy.accept" not in text.stdout


def test_check_warns_about_forge_review():
    """forge-review is the word of a forge account; check says so."""
    from commitguard.keyring.model import Keyring

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    listed = Keyring("kr", "0" * 64, Policy(accept=("signature", "forge-review")), ())
    codes = [f.code for f in check_keyring(listed, now).findings]
    assert "policy-forge-review-accept" in codes
    plain = Keyring("kr", "0" * 64, Policy(accept=("signature", "audit")), ())
    assert "policy-forge-review-accept" not in [f.code for f in check_keyring(plain, now).findings]


def test_diff_flags_a_kind_added_as_loosening():
    from commitguard.keyring.diff import diff_keyrings
    from commitguard.keyring.model import Keyring

    def ring(**policy) -> Keyring:
        return Keyring("kr", "0" * 64, Policy(**policy), ())

    added = diff_keyrings(ring(), ring(accept=("signature", "audit"))).changes
    assert [(c.id, c.loosens, c.message) for c in added] == [
        ("policy.accept", True, "accept: signature -> signature, audit (loosens trust: audit may now vouch for a commit)")]
    removed = diff_keyrings(ring(accept=("signature", "audit")), ring()).changes
    assert [(c.id, c.loosens, c.message) for c in removed] == [("policy.accept", False, "accept: signature, audit -> signature")]
    fewer = diff_keyrings(ring(reviews=2), ring(reviews=1)).changes
    assert [(c.id, c.loosens, c.message) for c in fewer] == [("policy.reviews", True, "reviews: 2 -> 1 (loosens trust)")]
