"""Hand mutants of the review paths (authors, eligibility, handles, trust-root chains, pin --check).

Each mutant is applied to the source, the tests that cover it are run, and
the source is restored: every mutant must be killed. Run from anywhere:
``python tests/review_mutants.py [INDEX...]``; about three minutes for all.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MUTANTS = [
    ("checkpr: PR opener not an author", "commitguard/review/check_pr.py", "    if pr.author_login:\n", "    if False:\n", "tests/review/test_github_pr.py", "opener"),
    ("authorship: committer ignored", "commitguard/review/authorship.py", '(("author", commit.author), ("committer", commit.committer))', '(("author", commit.author),)', "tests/review/test_check_pr_local.py", "noreply"),
    ("authorship: co-authors ignored", "commitguard/review/authorship.py", "        for address in co_authors(message):", "        for address in co_authors(message)[:0]:", "tests/review/test_check_pr_local.py", "noreply"),
    ("authorship: noreply login ignored", "commitguard/review/authorship.py", "found += [(p, f\"GitHub login {login} in {clean}\") for p in self.login(login)]", "pass", "tests/review/test_check_pr_local.py", "noreply"),
    ("authorship: author e-mail ignored", "commitguard/review/authorship.py", "        for role, who in (", "        for role, who in () and (", "tests/review/test_check_pr_local.py", "web_ui"),
    ("authorship: e-mail case-sensitive", "commitguard/review/authorship.py", "clean = address.strip().lower()", "clean = address.strip()", "tests/review/test_check_pr_local.py", "noreply"),
    ("authorship: signer only when trusted", "commitguard/review/authorship.py", "if verdict.signer in identities.ids:", "if verdict.trusted and verdict.signer in identities.ids:", "tests/review/test_check_pr_local.py", "author or still"),
    ("rules: exclude_author ignored", "commitguard/review/rules.py", "if rule.exclude_author else []", "if False else []", "tests/review/test_check_pr_local.py", "author"),
    ("rules: maintainers pooled", "commitguard/review/rules.py", '        if "maintainers" in rule.approvers:\n            groups', '        if False:\n            groups', "tests/review/test_check_pr_local.py", "package"),
    ("rules: handle via login", "commitguard/review/rules.py", "                    person = index.get(handle)", "                    person = index.get(handle) or {p.github: p.id for p in keyring.persons if p.github}.get(handle)", "tests/review/test_check_pr_local.py", "handle or login"),
    ("rules: ambiguity not refused", "commitguard/review/rules.py", "            if other is not None and other != person.id:", "            if False:", "tests/keyring/test_keyring_handles.py", "not_from_the_loader"),
    ("loader: ambiguous handle accepted", "commitguard/keyring/loader.py", "            raise ctx.error(field, message)", "            pass", "tests/review/test_check_pr_local.py", "handle"),
    ("loader: lookalike handles accepted", "commitguard/keyring/loader.py", "            key = identifiers.skeleton(name)", "            key = name", "tests/keyring/test_keyring_handles.py", "case or look"),
    ("github_pr: API logins dropped", "commitguard/forge/github_pr.py", "        forge_logins=logins,", "        forge_logins=(),", "tests/review/test_github_pr.py", "web_ui or one_by_one"),
    ("github_pr: unlisted commits not looked up", "commitguard/forge/github_pr.py", "    for sha in missing:", "    for sha in missing[:0]:", "tests/review/test_github_pr.py", "one_by_one or attribute"),
    ("chain: trust root not a link", "commitguard/chain/links.py", "    if root is not None and root not in commits and root_vouches(history, trail):", "    if False:", "tests/chain/test_trust_root_agreement.py", ""),
    ("chain: missing history trusted", "commitguard/chain/links.py", "        return not self.blockers and not self.missing", "        return not self.blockers", "tests/chain/test_trust_root_agreement.py", "no_history or agree"),
    ("pin: lock chooses trust root", "commitguard/chain/pin.py", "    trust_root = resolve_trust_root(repo, keyring, options.trust_root)\n    errors", "    trust_root = resolve_trust_root(repo, keyring, options.trust_root or lock.get('trust_root'))\n    errors", "tests/chain/test_annotate_pin.py", "check_"),
    ("pin: lock chooses branch", "commitguard/chain/pin.py", "    branch = options.branch or _checked_out_branch(repo)\n    tip = str(resolve_commit(repo, branch, \"branch\"))\n    rev = lock", "    branch = options.branch or lock.get('branch') or _checked_out_branch(repo)\n    tip = str(resolve_commit(repo, branch, \"branch\"))\n    rev = lock", "tests/chain/test_annotate_pin.py", "check"),
    ("pin: by-name path swap allowed", "commitguard/chain/pin.py", "    if by_name is None or by_name == path:", "    if True:", "tests/chain/test_annotate_pin.py", "check_"),
]
only = sys.argv[1:]
survived = 0
for i, (name, path, old, new, tests, k) in enumerate(MUTANTS):
    if only and str(i) not in only:
        continue
    full = os.path.join(ROOT, path)
    src = open(full).read()
    assert src.count(old) == 1, (name, src.count(old))
    open(full, "w").write(src.replace(old, new))
    try:
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", tests] + (["-k", k] if k else [])
        r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True, timeout=1200)
        status = "killed" if r.returncode != 0 else "SURVIVED"
        survived += r.returncode == 0
        print(f"{i:2} {status:9} {name}", flush=True)
    finally:
        open(full, "w").write(src)
sys.exit(1 if survived else 0)
