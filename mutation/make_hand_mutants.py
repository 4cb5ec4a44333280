#!/usr/bin/env python3
"""Write the hand mutants of issue 14 as patches under mutation/hand/.

Each mutant is one textual replacement in one file of security code, with
the tests that must kill it. The patches are what .ci/mutation-smoke applies;
this script only regenerates them when the code they touch has moved (run it
from the repository root; it refuses a replacement whose text is not found
exactly once, so a mutant never silently stops mutating anything).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

# name, file, original text, mutated text, what the mutant does, tests that must kill it
MUTANTS = [
    ("01-ssh-valid-before-inclusive", "commitguard/keyring/model.py",
     "moment >= self.valid_before", "moment > self.valid_before",
     "key valid_before checked with > instead of >= (SSH and OpenPGP share it): a commit made exactly at valid_before is trusted",
     "tests/signatures/test_key_validity.py"),
    ("02-ssh-valid-after-exclusive", "commitguard/keyring/model.py",
     "moment < self.valid_after", "moment <= self.valid_after",
     "key valid_after checked with <= instead of < (SSH and OpenPGP share it): a commit made exactly at valid_after is refused",
     "tests/signatures/test_key_validity.py"),
    ("03-openpgp-keyring-window-off", "commitguard/signatures/policy.py",
     "        if use.entry.not_yet_valid(use.when):",
     "        if False and use.entry.not_yet_valid(use.when):",
     "keyring valid_after ignored (the ValidAfter check both schemes use)",
     "tests/signatures/test_key_validity.py"),
    ("04-openpgp-keyring-valid-before-off", "commitguard/signatures/policy.py",
     "        if use.entry.no_longer_valid(use.when):",
     "        if False and use.entry.no_longer_valid(use.when):",
     "keyring valid_before ignored (the ValidBefore check both schemes use)",
     "tests/signatures/test_key_validity.py"),
    ("05-openpgp-fast-path-revocation-off", "commitguard/signatures/policy.py",
     "is revoked in its certificate\") if facts.revoked else None",
     "is revoked in its certificate\") if False and facts.revoked else None",
     "certificate revocation not checked (CertificateNotRevoked; the fast path has nothing else to stop it)",
     "tests/signatures/test_key_validity.py"),
    ("06-pr-author-login-dropped", "commitguard/review/check_pr.py",
     "            wrote.add(person, f\"GitHub login {pr.author_login} (opened the pull request)\")",
     "            pass  # mutant: the login-only author is dropped",
     "the PR author known only by GitHub login is not an author",
     "tests/review/test_pr_author_login.py"),
    ("07-repo-keyring-any-parent", "commitguard/verify/in_repository.py",
     "by_person = all(v is not None", "by_person = any(v is not None",
     "a keyring change by a merge needs the trust of any parent instead of every parent",
     "tests/security/test_security_mutants.py::test_merge_editing_the_keyring_needs_every_parents_trust tests/verify/test_repository_keyring.py"),
    ("08-ssh-namespaces-ignored", "commitguard/signatures/policy.py",
     "        if entry.allows_namespace(self.namespace):",
     "        if True or entry.allows_namespace(self.namespace):",
     "per-key namespaces ignored: an approval-only key signs commits, a git-only key signs approvals",
     "tests/signatures/test_key_validity.py tests/security/test_security_mutants.py::test_approval_by_a_key_restricted_to_git_does_not_count"),
    ("09-ssh-keyring-revoked-ignored", "commitguard/signatures/policy.py",
     "        if use.entry.revoked:\n", "        if False and use.entry.revoked:\n",
     "revoked = true on a key ignored (KeyringNotRevoked, both schemes)",
     "tests/verify/test_verify_cli.py::test_status_main_keyring"),
    ("10-exclude-author-ignored", "commitguard/review/rules.py",
     "if rule.exclude_author else []", "if False else []",
     "exclude_author ignored: authors approve their own pull request",
     "tests/review/test_check_pr_local.py::test_authors_approvals_do_not_count_with_exclude_author"),
    # found by mutation/run_mutants.py (cosmic-ray), killed by tests added for them
    ("11-openpgp-fast-path-weak-algorithm-off", "commitguard/signatures/policy.py",
     "return use.facts.weak_algorithm if use.facts is not None else None",
     "return use.facts.weak_algorithm if not use.facts is not None else None",
     "a weak key (DSA) whose signature Sequoia accepts is not refused on the fast path",
     "tests/signatures/test_key_validity.py"),
    ("12-openpgp-sha1-binding-check-inverted", "commitguard/signatures/policy.py",
     "return bool(binding_hashes) and not (set(binding_hashes)",
     "return bool(binding_hashes) and (set(binding_hashes)",
     "a certificate bound with SHA-1 self-signatures is trusted under openpgp_sha1 = reject",
     "tests/signatures/test_key_validity.py"),
    ("13-openpgp-expiry-exclusive", "commitguard/signatures/openpgp.py",
     "and created >= facts.expires", "and created > facts.expires",
     "a signature made exactly at the certificate's expiry is not expired",
     "tests/signatures/test_key_validity.py"),
    ("14-ssh-forge-key-as-person", "commitguard/signatures/policy.py",
     'if use.candidate.holder.kind == "forge":', 'if use.candidate.holder.kind < "forge":',
     "a [[forge]] key's signature reads as a person's (trusted under policy.forge = reject)",
     "tests/signatures/test_key_validity.py"),
    ("15-approval-pull-request-number-ordered", "commitguard/review/approvals/verify.py",
     "and approval.pull_request != context.pull_request:", "and approval.pull_request < context.pull_request:",
     "an approval signed for a higher pull request number counts on a lower one",
     "tests/security/test_security_mutants.py::test_approval_for_another_pull_request_number_is_invalid"),
    # gitsign (issue 21)
    ("16-gitsign-chain-unchecked", "commitguard/signatures/sigstore/scheme.py",
     "        chain = self.root.chain_problem(cert, moment)\n", "        chain = None\n",
     "a gitsign certificate is not chained to the trusted root: a forged Fulcio chain is trusted",
     "tests/signatures/test_sigstore.py"),
    ("17-gitsign-log-time-unchecked", "commitguard/signatures/sigstore/scheme.py",
     "            if not start <= moment <= end:", "            if not start <= moment:",
     "a gitsign certificate is trusted for a signature logged after it expired",
     "tests/signatures/test_sigstore.py"),
    ("18-gitsign-entry-for-any-signature", "commitguard/signatures/sigstore/rekor.py",
     "    if logged_signature != signature:", "    if False and logged_signature != signature:",
     "a Rekor entry logging another signature by the same certificate vouches for this one",
     "tests/signatures/test_sigstore.py"),
    ("19-gitsign-set-unchecked", "commitguard/signatures/sigstore/rekor.py",
     "            log.key.verify(entry.signed_entry_timestamp, canonical, ec.ECDSA(hashes.SHA256()))",
     "            pass  # mutant: the signed entry timestamp is not verified",
     "a Rekor entry whose time (signed entry timestamp) nobody signed is believed",
     "tests/signatures/test_sigstore.py"),
    ("20-gitsign-message-digest-unchecked", "commitguard/signatures/sigstore/cms.py",
     "    if digest != message.message_digest:", "    if False and digest != message.message_digest:",
     "a gitsign signature is not bound to the commit: any commit carrying it verifies",
     "tests/signatures/test_sigstore.py"),
    ("21-gitsign-sct-unchecked", "commitguard/signatures/sigstore/scheme.py",
     "        if not self.root.ct_logs:\n", "        if True:\n",
     "a Fulcio certificate that no CT log signed (or a forged SCT) is accepted",
     "tests/signatures/test_sigstore.py"),
    ("22-trivial-merge-same-change-both-sides", "commitguard/git/trivial_merge.py",
     "                if eo != eb:\n", "                if False:\n",
     "a path both sides changed the same way counts as trivially merged: two renames of one file pass as clean",
     "tests/git/test_trivial_merge.py tests/git/test_merges.py"),
    ("23-clean-merge-parents-unchecked", "commitguard/review/clean_merge.py",
     "                if parent not in self.vouched:", "                if False:",
     "a clean merge vouched for although a parent is not: an unreviewed commit rides in on the merge",
     "tests/review/test_trust_through_review.py"),
    ("24-review-counts-authors", "commitguard/review/review_kinds.py",
     "            if person in authors:", "            if False:",
     "an approval by the change's own author counts (self-approval)",
     "tests/review/test_trust_through_review.py"),
    ("25-checkpoint-other-keyring", "commitguard/attest/check.py",
     "        if summary.keyring_digest != self.keyring.digest:", "        if False:",
     "a verification summary made under another keyring is taken as a checkpoint",
     "tests/attest/test_checkpoints.py"),
    ("26-frontier-base-checksum-off", "commitguard/verify/frontier_file.py",
     'if (found is None or found[1].digest != base["sha256"]',
     'if (found is None or False and found[1].digest != base["sha256"]',
     "a stored snapshot is followed onto a base whose body is not the one it was written after",
     "tests/verify/test_frontier.py"),
    ("27-frontier-header-checksum-off", "commitguard/verify/frontier_file.py",
     "hashlib.sha256(header_bytes[:-1]).hexdigest().encode() != digest",
     "False and hashlib.sha256(header_bytes[:-1]).hexdigest().encode() != digest",
     "a snapshot header edited after it was written (verdict counts, shapes) is read as written",
     "tests/verify/test_frontier.py"),
    ("28-tree-middle-unchecked", "commitguard/git/tree_middles.py",
     "        middle = _parse(data, begin, tail)",
     "        middle = ENTRY_PATTERN.findall(data, begin, tail)",
     "the history index takes a middle that does not parse into whole entries: a changed package can drop out of its chain",
     "tests/git/test_tree_middles.py"),
    ("29-merge-deletion-unseen", "commitguard/git/path_index.py",
     "        if any(o is None for o in olds_here):",
     "        if len(olds_here) > 1 or any(o is None for o in olds_here):",
     "a merge that deletes a file both parents hold changes nothing of its own: an evil merge drops a file unseen",
     "tests/git/test_tree_middles.py"),
    ("30-raw-walk-first-parents-only", "commitguard/git/commit_object.py",
     '    return [line[7:].decode("ascii") for line in lines]',
     '    return [line[7:].decode("ascii") for line in lines[:1]]',
     "the walk from the commits' bytes follows first parents only: commits merged from side branches are never verified",
     "tests/git/test_raw_walk.py"),
    ("31-armor-trailing-packets-accepted", "commitguard/signatures/openpgp_armor.py",
     "    return head + body == len(data)",
     "    return head + body <= len(data)",
     "the quick armor reader takes a block with more after its signature packet (a second signature, junk) as one signature",
     "tests/signatures/test_openpgp_armor.py"),
]


def patch_for(root: Path, name: str, path: str, old: str, new: str, what: str, tests: str) -> str:
    text = (root / path).read_text()
    count = text.count(old)
    if count != 1:
        sys.exit(f"mutant {name}: {old!r} occurs {count} times in {path}, not once: update MUTANTS")
    mutated = text.replace(old, new)
    diff = difflib.unified_diff(text.splitlines(keepends=True), mutated.splitlines(keepends=True),
                                f"a/{path}", f"b/{path}", n=3)
    return f"Mutant: {what}\nTests: {tests}\n\ndiff --git a/{path} b/{path}\n" + "".join(diff)


def main() -> None:
    root = Path.cwd()
    out = root / "mutation" / "hand"
    out.mkdir(parents=True, exist_ok=True)
    for old_patch in out.glob("*.patch"):
        old_patch.unlink()
    for name, path, old, new, what, tests in MUTANTS:
        (out / f"{name}.patch").write_text(patch_for(root, name, path, old, new, what, tests))
    print(f"{len(MUTANTS)} patches in {out}")


if __name__ == "__main__":
    main()
