"""``handle``: the nixpkgs maintainer handle a person answers to besides their id.

A package's ``meta.maintainers`` names people by handle, and a rule with
``approvers = ["maintainers"]`` lets those people approve changes to it. So a
handle is a grant: one that two persons could answer to would let one of them
approve the other's packages. The loader refuses it (and handles a reader
cannot tell apart) when the keyring is read, whatever the command, naming both
persons; ``rules`` matches a handle to a person's id or declared handle and
never to a GitHub login; ``keyring diff`` reports a handle change as the grant
it is.

Keyrings are written by hand (``write_keyring``); errors are checked as the
exact line a user reads, exit codes exactly.
"""

from __future__ import annotations

import shutil

import pytest

from commitguard.errors import KeyringError
from commitguard.keyring.loader import load_keyring
from commitguard.keyring.model import Keyring, Person, Policy, Rule
from commitguard.review.rules import evaluate_rules, handle_index
from tests.fixtures_git import SshKey, run_cli, write_keyring

TAIL = "rename one, a handle must name one person"
HELLO = "pkgs/by-name/he/hello/package.nix"
MAINTAINERS_RULE = '[[rule]]\npaths = ["pkgs/**"]\napprovals = 1\napprovers = ["maintainers"]\n'


def refused(tmp_path, persons: list[dict], field: str, message: str) -> None:
    """The keyring is refused when it is loaded: ``keyring check`` (no rule
    involves maintainers) exits 2 with exactly this line and prints nothing."""
    kr = write_keyring(tmp_path / "kr", persons=persons)
    res = run_cli(["keyring", "check", "--keyring", str(kr)], scratch=tmp_path)
    assert res.code == 2, res.describe()
    assert res.stdout == "", res.describe()
    assert res.stderr.splitlines() == [f"commitguard: error: {kr / 'keyring.toml'}: {field}: {message}"], res.describe()
    with pytest.raises(KeyringError) as caught:
        load_keyring(kr)
    assert str(caught.value) == f"{kr / 'keyring.toml'}: {field}: {message}"


# -- what the loader accepts ------------------------------------------------------------------------


def test_handle_is_loaded_into_the_person(tmp_path):
    kr = write_keyring(tmp_path / "kr", persons=[
        {"id": "carol", "github": "carol-gh", "handle": "carolgh"},
        {"id": "dave"},
        {"id": "erin", "handle": "erin"},  # the same name as the id: one person either way
        {"id": "fred", "handle": "Fred"},  # looks like the own id: still one person
        {"id": "gina", "github": "carolgh", "handle": "gina2"},  # a login equal to another's handle
    ])
    keyring = load_keyring(kr)
    assert [(p.id, p.handle) for p in keyring.persons] == [
        ("carol", "carolgh"), ("dave", None), ("erin", "erin"), ("fred", "Fred"), ("gina", "gina2")]


# -- what the loader refuses ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [7, "", "   ", True, ["carolgh"]])
def test_a_handle_that_is_not_a_non_empty_string_is_refused(tmp_path, value):
    refused(tmp_path, [{"id": "carol", "handle": value}], "person[0].handle",
            "must be a non-empty string (a maintainer handle)")


def test_a_handle_with_white_space_around_it_is_refused(tmp_path):
    refused(tmp_path, [{"id": "carol", "handle": "carolgh "}], "person[0].handle",
            "maintainer handle 'carolgh ' begins or ends with white space")


def test_a_handle_with_an_invisible_character_is_refused(tmp_path):
    refused(tmp_path, [{"id": "alice"}, {"id": "carol", "handle": "carol\u200bgh"}], "person[1].handle",
            "maintainer handle 'carol\\u200bgh' contains invisible character(s) U+200B")


def test_a_handle_mixing_scripts_is_refused(tmp_path):
    refused(tmp_path, [{"id": "carol", "handle": "\u0441arolgh"}], "person[0].handle",  # Cyrillic es
            "maintainer handle '\u0441arolgh' mixes Latin and Cyrillic letters")


def test_two_persons_declaring_one_handle_are_refused(tmp_path):
    refused(tmp_path, [{"id": "alice", "handle": "ah"}, {"id": "bob"}, {"id": "carol", "handle": "ah"}],
            "person[2].handle",
            f"maintainer handle 'ah' could mean person 'alice' (its handle) or person 'carol' (its handle): {TAIL}")


def test_a_handle_equal_to_an_earlier_persons_id_is_refused(tmp_path):
    refused(tmp_path, [{"id": "carolgh"}, {"id": "carol", "handle": "carolgh"}], "person[1].handle",
            f"maintainer handle 'carolgh' could mean person 'carolgh' (its id) or person 'carol' (its handle): {TAIL}")


def test_a_handle_equal_to_a_later_persons_id_is_refused(tmp_path):
    refused(tmp_path, [{"id": "alice", "handle": "bob"}, {"id": "bob"}], "person[0].handle",
            f"maintainer handle 'bob' could mean person 'alice' (its handle) or person 'bob' (its id): {TAIL}")


def test_handles_differing_only_in_case_are_refused(tmp_path):
    refused(tmp_path, [{"id": "alice", "handle": "CarolGH"}, {"id": "carol", "handle": "carolgh"}],
            "person[1].handle",
            "maintainer handles 'CarolGH' (the handle of person 'alice') and 'carolgh' (the handle of person "
            f"'carol') differ only in case: {TAIL}")


def test_a_handle_that_looks_like_another_persons_id_is_refused(tmp_path):
    cyrillic = "\u0441\u043e\u0435"  # es, o, ie: drawn as "coe", one script, so only the skeleton catches it
    refused(tmp_path, [{"id": "coe"}, {"id": "mallory", "handle": cyrillic}], "person[1].handle",
            f"maintainer handles 'coe' (the id of person 'coe') and '{cyrillic}' (the handle of person "
            f"'mallory') look alike: {TAIL}")


def test_an_id_that_looks_like_an_earlier_handle_is_reported_at_the_handle(tmp_path):
    refused(tmp_path, [{"id": "alice", "handle": "Bob"}, {"id": "bob"}], "person[0].handle",
            "maintainer handles 'Bob' (the handle of person 'alice') and 'bob' (the id of person 'bob') "
            f"differ only in case: {TAIL}")


def test_keyring_show_refuses_the_keyring_too(tmp_path):
    """Refused at load, by every command: not only by check-pr, the one that maps handles."""
    kr = write_keyring(tmp_path / "kr", persons=[{"id": "carolgh"}, {"id": "carol", "handle": "carolgh"}])
    res = run_cli(["keyring", "show", "--keyring", str(kr), "--format", "json"], scratch=tmp_path)
    assert res.code == 2 and res.stdout == "", res.describe()
    assert res.stderr.splitlines() == [
        f"commitguard: error: {kr / 'keyring.toml'}: person[1].handle: maintainer handle 'carolgh' could mean "
        f"person 'carolgh' (its id) or person 'carol' (its handle): {TAIL}"], res.describe()


# -- rules: who a maintainer handle names --------------------------------------------------------------


def test_a_maintainer_handle_names_the_person_by_id_or_declared_handle_never_by_login(tmp_path):
    kr = write_keyring(tmp_path / "kr", persons=[
        {"id": "carol", "github": "carol-gh", "handle": "carolgh"},
        {"id": "mallory", "github": "carolgh"},  # a GitHub login equal to carol's handle
        {"id": "dave", "github": "dave-gh"},
    ], extra=MAINTAINERS_RULE)
    keyring = load_keyring(kr)
    assert handle_index(keyring) == {"carol": "carol", "carolgh": "carol", "mallory": "mallory", "dave": "dave"}
    maintainers = {HELLO: ("carolgh", "dave", "dave-gh", "carol-gh")}
    approvals = {"carol": "valid", "mallory": "valid", "dave": "stale"}
    results, uncovered = evaluate_rules(keyring, [HELLO], approvals, set(), maintainers)
    assert uncovered == []
    (result,) = results
    assert result.eligible == ("carol", "dave")
    assert result.approved_by == ("carol",)
    assert result.stale == ("dave",)
    assert result.unresolved == (
        f"maintainer dave-gh of {HELLO}: no keyring person has this handle",
        f"maintainer carol-gh of {HELLO}: no keyring person has this handle",
    )


def test_rules_read_the_handle_from_the_model_not_the_raw_toml():
    """The model is the one source: a handle only in ``raw`` names nobody."""
    rule = Rule(paths=("pkgs/**",), approvers=("maintainers",))
    modelled = Keyring(path="kr", digest="x", policy=Policy(), rules=(rule,),
                       persons=(Person(id="carol", handle="carolgh"),))
    raw_only = Keyring(path="kr", digest="x", policy=Policy(), rules=(rule,), persons=(Person(id="carol"),),
                       raw={"person": [{"id": "carol", "handle": "carolgh"}]})
    maintainers = {HELLO: ("carolgh",)}
    (result,), _ = evaluate_rules(modelled, [HELLO], {"carol": "valid"}, set(), maintainers)
    assert (result.eligible, result.approved_by) == (("carol",), ("carol",))
    (result,), _ = evaluate_rules(raw_only, [HELLO], {"carol": "valid"}, set(), maintainers)
    assert (result.eligible, result.unresolved) == ((), (f"maintainer carolgh of {HELLO}: no keyring person has "
                                                         "this handle",))


def test_rules_still_refuse_an_ambiguous_handle_in_a_keyring_not_from_the_loader():
    rule = Rule(paths=("pkgs/**",), approvers=("maintainers",))
    keyring = Keyring(path="kr", digest="x", policy=Policy(), rules=(rule,),
                      persons=(Person(id="carolgh"), Person(id="carol", handle="carolgh")))
    with pytest.raises(KeyringError) as caught:
        evaluate_rules(keyring, [HELLO], {}, set(), {HELLO: ("carolgh",)})
    assert str(caught.value) == (f"kr: person.handle: maintainer handle 'carolgh' could mean person 'carolgh' "
                                 f"(its id) or person 'carol' (its handle): {TAIL}")


# -- keyring diff: a handle is a grant --------------------------------------------------------------


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_diff_reports_a_handle_change_and_whether_it_loosens(tmp_path):
    key = SshKey.generate(tmp_path / "ssh", "carol", "ed25519")

    def ring(name: str, handle: str | None):
        person = {"id": "carol", "keys": [{"ssh": key.pub_line}]}
        if handle is not None:
            person["handle"] = handle
        return write_keyring(tmp_path / name, persons=[person])

    none, first, second = ring("none", None), ring("first", "carolgh"), ring("second", "carol-nix")

    def diff(old, new, *extra):
        return run_cli(["keyring", "diff", str(old), str(new), *extra], scratch=tmp_path)

    def change(old, new):
        res = diff(old, new, "--format", "json")
        assert res.code == 0, res.describe()
        (c,) = res.json["changes"]
        return c

    assert change(none, first) == {"code": "handle-changed", "scope": "person", "id": "carol", "key": None,
                                   "loosens": True, "message": "handle: (none) -> carolgh",
                                   "old": None, "new": "carolgh"}
    assert change(first, second) == {"code": "handle-changed", "scope": "person", "id": "carol", "key": None,
                                     "loosens": True, "message": "handle: carolgh -> carol-nix",
                                     "old": "carolgh", "new": "carol-nix"}
    assert change(first, none) == {"code": "handle-changed", "scope": "person", "id": "carol", "key": None,
                                   "loosens": False, "message": "handle: carolgh -> (none)",
                                   "old": "carolgh", "new": None}
    assert diff(none, first, "--strict").code == 1
    assert diff(first, none, "--strict").code == 0
    assert diff(first, first, "--format", "json").json["changes"] == []
