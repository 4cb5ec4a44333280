"""Property tests (hypothesis) of who may approve, who wrote a change, and the lock file.

Keyrings here are built as the loaded model (``Keyring``/``Person``/``Rule``),
bypassing the loader, so ``rules`` must refuse an ambiguous handle on its own. The
expected answers are computed in the test from the inputs alone:

* eligibility: an approval counts for a package only when its person holds a
  role the rule names, is named by the rule, or maintains that very package
  by id or declared handle; never through a GitHub login, never pooled
  across packages, never for an author under ``exclude_author``;
* a handle that two persons could answer to is refused (``KeyringError``);
* identities: an address listed for a person, in any case, and a GitHub
  noreply address carrying a person's login or account id, name that person;
  any other address names nobody;
* the lock file reader accepts only the documented shape and fails with
  ``CommitguardError`` on everything else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitguard.review.authorship import IdentityMap, co_authors
from commitguard.errors import CommitguardError, KeyringError
from commitguard.keyring.model import Keyring, Person, Policy, Rule
from commitguard.chain.pin import read_lock
from commitguard.review.rules import evaluate_rules, handle_index

CI = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

NAMES = ["alice", "bob", "carol", "dave", "erin"]
ROLES = ["committer", "security"]
DIRS = ["pkgs/a", "pkgs/b", "pkgs/c"]
HANDLES = [*NAMES, *(f"h-{n}" for n in NAMES), "gh1", "gh2"]


@st.composite
def keyrings(draw):
    ids = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    persons = []
    for pid in ids:
        # logins, ids and handles share spellings, as nixpkgs handles and GitHub logins do
        github = draw(st.one_of(st.none(), st.sampled_from(HANDLES)))
        handle = draw(st.one_of(st.none(), st.none(), st.just(f"h-{pid}"), st.sampled_from(HANDLES)))
        roles = tuple(draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True)))
        persons.append(Person(id=pid, github=github, roles=roles, emails=(f"{pid}@example.org",), handle=handle))
    approvers = tuple(draw(st.lists(st.sampled_from(["maintainers", "role:committer", "role:security", *NAMES]),
                                    min_size=1, max_size=3, unique=True)))
    rule = Rule(paths=("pkgs/**",), approvals=draw(st.integers(1, 2)), approvers=approvers,
                exclude_author=draw(st.booleans()))
    return Keyring(path="keyring", digest="x", policy=Policy(), persons=tuple(persons), rules=(rule,))


def names_of(keyring: Keyring) -> dict[str, set[str]]:
    """Each person's names in the handle namespace: the id, and a declared handle."""
    return {p.id: {p.id, *([p.handle] if p.handle is not None else [])} for p in keyring.persons}


@CI
@given(keyring=keyrings(), data=st.data())
def test_approvals_count_only_for_the_package_their_person_may_approve(keyring, data):
    files = data.draw(st.lists(st.sampled_from([f"{d}/{f}" for d in DIRS for f in ("package.nix", "x.patch")]),
                               min_size=1, max_size=6, unique=True))
    handles = HANDLES
    by_dir = {d: tuple(data.draw(st.lists(st.sampled_from(handles), max_size=3, unique=True))) for d in DIRS}
    maintainers_of = {f: by_dir[f.rsplit("/", 1)[0]] for f in files}
    ids = [p.id for p in keyring.persons]
    approving = {p: data.draw(st.sampled_from(["valid", "valid", "stale"])) for p in
                 data.draw(st.lists(st.sampled_from(ids), max_size=len(ids), unique=True))}
    authors = set(data.draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True)))
    names = names_of(keyring)
    ambiguous = any(len([p for p, n in names.items() if name in n]) > 1 for name in set().union(*names.values()))
    rule = keyring.rules[0]
    if ambiguous and "maintainers" in rule.approvers:
        with pytest.raises(KeyringError):
            evaluate_rules(keyring, files, approving, authors, maintainers_of)
        return
    results, uncovered = evaluate_rules(keyring, files, approving, authors, maintainers_of)
    assert uncovered == []
    assert sorted(f for r in results for f in r.files) == sorted(files), "each file judged exactly once"
    for result in results:
        for person in result.approved_by:
            p = keyring.person(person)
            assert approving.get(person) == "valid"
            assert not (rule.exclude_author and person in authors)
            by_role = any(a.startswith("role:") and a[5:] in p.roles for a in rule.approvers)
            named = person in rule.approvers
            maintains = "maintainers" in rule.approvers and any(
                h in names[person] for f in result.files for h in maintainers_of[f])
            assert by_role or named or maintains, (person, result)
        if "maintainers" in rule.approvers:
            assert {f.rsplit("/", 1)[0] for f in result.files} == {result.package}, "one package per result"
        assert result.ok is (len(result.approved_by) >= rule.approvals)


@CI
@given(keyring=keyrings())
def test_a_handle_two_persons_answer_to_is_refused(keyring):
    names = names_of(keyring)
    clashes = {name for name in set().union(*names.values()) if sum(name in n for n in names.values()) > 1}
    if clashes:
        with pytest.raises(KeyringError) as caught:
            handle_index(keyring)
        assert any(f"{name!r}" in str(caught.value) for name in clashes)
    else:
        index = handle_index(keyring)
        assert index == {name: pid for pid, n in names.items() for name in n}


@CI
@given(keyring=keyrings(), data=st.data())
def test_identities_name_their_persons_and_nobody_else(keyring, data):
    identities = IdentityMap(keyring)
    person = data.draw(st.sampled_from(keyring.persons))
    address = f"{person.id}@example.org"
    variant = "".join(c.upper() if data.draw(st.booleans()) else c for c in address)
    assert person.id in [p for p, _ in identities.email(variant)]
    if person.github:
        account = data.draw(st.integers(1, 10**9))
        noreply = f"{account}+{person.github}@users.noreply.github.com"
        assert person.id in [p for p, _ in identities.email(noreply)]
        assert person.id in [p for p, _ in identities.email(f"{person.github}@users.noreply.github.com")]
    stranger = data.draw(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.net", fullmatch=True))
    assert identities.email(stranger) == []


@CI
@given(name=st.from_regex(r"[A-Za-z][A-Za-z .'-]{0,20}", fullmatch=True),
       address=st.from_regex(r"[a-z0-9.+]{1,10}@[a-z]{1,8}\.org", fullmatch=True),
       key=st.sampled_from(["Co-authored-by", "co-authored-by", "CO-AUTHORED-BY"]),
       noise=st.text(max_size=200))
def test_co_author_trailers_are_read(name, address, key, noise):
    message = f"subject\n\n{noise}\n{key}: {name} <{address}>\n"
    assert co_authors(message)[-1] == address
    for found in co_authors(noise):  # whatever the text, only addresses come out
        assert found and not any(c.isspace() or c in "<>" for c in found)


LOCK_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=50),
              st.sampled_from(["a" * 40, "0123456789abcdef" * 2 + "01234567", "pkgs/x/package.nix"])),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(["rev", "branch", "trust_root", "packages", "path",
                                                                "chain_digest", "last_change", "hello"]),
                                               children, max_size=5)),
    max_leaves=20,
)


@CI
@given(value=LOCK_VALUES)
def test_lock_reader_takes_only_the_documented_shape(value, tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("locks")) / "x.lock"
    path.write_text(json.dumps(value))
    try:
        lock = read_lock(str(path))
    except CommitguardError:
        return
    assert isinstance(lock["rev"], str) and len(lock["rev"]) == 40
    assert isinstance(lock["packages"], dict) and lock["packages"]
    for entry in lock["packages"].values():
        assert isinstance(entry["path"], str) and entry["path"]
