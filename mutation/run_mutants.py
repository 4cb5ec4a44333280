#!/usr/bin/env python3
"""A bounded mutation run over commitguard's security paths, with cosmic-ray's mutants.

cosmic-ray enumerates the mutants (``cosmic_ray.commands.init._all_work_items``)
and applies them (``cosmic_ray.mutating.mutate_code``); this driver chooses
which to run and against which tests, because the full set (about 2,000
mutants over these files, most of them arithmetic on message strings) at
tens of seconds per test run does not fit a shared 2-core machine:

* only mutants inside the functions named per target (the security
  decisions, not message formatting or parsing helpers) and only of the
  operators that change a decision: comparisons, ``not``, ``and``/``or``,
  ``True``/``False``, exception handlers, loops, ``break``/``continue``;
* at most ``--per-target`` of them per target, drawn with a fixed seed;
* each mutant runs first against the target's fast tests (``-x``, stop at
  the first failure); a survivor runs again against the broader tests that
  cover the file, so "survived" means the whole covering set passed.

The tree is copied to a temporary directory; the working tree is never
touched. Results go to a JSON file (one record per mutant: target, function,
line, operator, the mutated line, outcome, seconds), summarised by
``--report``.

    nice python mutation/run_mutants.py --out mutation/results.json [--per-target 25] [TARGET...]
    python mutation/run_mutants.py --report mutation/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE_TESTS = ("tests/security/test_security_mutants.py::test_approval_by_a_key_restricted_to_git_does_not_count",
                   "tests/security/test_security_mutants.py::test_approval_by_a_key_allowed_for_approvals_counts")

# Operators that change a decision (cosmic-ray names, matched as prefixes after "core/").
DECISION_OPERATORS = re.compile(
    r"core/(ReplaceComparisonOperator_|AddNot|ReplaceTrueWithFalse|ReplaceFalseWithTrue|ReplaceAndWithOr|"
    r"ReplaceOrWithAnd|ExceptionReplacer|ZeroIterationForLoop|ReplaceBreakWithContinue|ReplaceContinueWithBreak|"
    r"ReplaceUnaryOperator_Delete_Not)"
)


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    functions: tuple[str, ...]
    fast: tuple[str, ...]
    broad: tuple[str, ...]
    slow: bool = False  # its fast tests take tens of seconds: half the mutants


TARGETS = [
    Target("ssh", "commitguard/signatures/ssh.py", ("verify", "_check"),
           ("tests/signatures/test_key_validity.py",),
           ("tests/verify/test_verify_cli.py", "tests/signatures/test_ssh_algorithms.py", *NAMESPACE_TESTS, "tests/security/test_hostile_commits.py")),
    Target("openpgp", "commitguard/signatures/openpgp.py", ("verify", "_fast_path", "_judge_valid", "_slow_path"),
           ("tests/signatures/test_key_validity.py",),
           ("tests/verify/test_verify_cli.py", "tests/signatures/test_vectors.py", "tests/signatures/test_gnupg_opinion.py",
            "tests/security/test_hostile_commits.py")),
    Target("key-facts", "commitguard/signatures/openpgp_packets.py",
           ("key_facts", "_self_sig_facts", "weak_algorithm", "weak_hash_name", "_earliest"),
           ("tests/signatures/test_key_validity.py",),
           ("tests/verify/test_verify_cli.py", "tests/signatures/test_vectors.py", "tests/keyring/test_keyring_commands.py",
            "tests/security/test_hostile_commits.py")),
    Target("key-namespaces", "commitguard/keyring/model.py", ("allows_namespace",),
           ("tests/signatures/test_key_validity.py",), NAMESPACE_TESTS),
    Target("rules", "commitguard/review/rules.py", ("eligible_persons", "evaluate_rules", "missing", "ok", "matches"),
           ("tests/review/test_pr_author_login.py", "tests/review/test_check_pr_local.py"),
           ("tests/review/test_github_pr.py", "tests/review/test_approvals.py"), slow=True),
    Target("approvals", "commitguard/review/approvals/verify.py", ("verify",),
           (*NAMESPACE_TESTS, "tests/security/test_security_mutants.py::test_approval_for_another_pull_request_number_is_invalid",
            "tests/review/test_approvals.py"),
           ("tests/review/test_check_pr_local.py", "tests/review/test_github_pr.py"), slow=True),
    Target("repo-keyring", "commitguard/verify/in_repository.py",
           ("verify_with_repository_keyring", "_combine", "_distinct"),
           ("tests/security/test_security_mutants.py::test_merge_editing_the_keyring_needs_every_parents_trust",
            "tests/security/test_security_mutants.py::test_merge_editing_the_keyring_trusted_by_both_parents_takes_effect",
            "tests/verify/test_repository_keyring.py"),
           ("tests/review/test_check_pr_local.py",), slow=True),
]


def mutants(target: Target, per_target: int, seed: int):
    from cosmic_ray.commands.init import _all_work_items

    items = []
    for item in _all_work_items([Path(target.module)], {}):
        (spec,) = item.mutations
        if spec.definition_name in target.functions and DECISION_OPERATORS.match(spec.operator_name):
            items.append(spec)
    rng = random.Random(f"{seed}:{target.name}")
    cap = per_target // 2 if target.slow else per_target
    chosen = items if len(items) <= cap else rng.sample(items, cap)
    return sorted(chosen, key=lambda s: (s.start_pos, s.operator_name)), len(items)


def mutated_source(source: str, spec) -> str | None:
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    return mutate_code(source, get_operator(spec.operator_name)(**spec.operator_args), spec.occurrence)


def changed_line(original: str, mutated: str) -> str:
    a, b = original.splitlines(), mutated.splitlines()
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"{i + 1}: {x.strip()}  ->  {y.strip()}"
    return "(line count changed)"


def run_tests(tree: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-o", "addopts=",
                               *tests], cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start
    outcome = {0: "survived", 1: "killed"}.get(proc.returncode, f"error (pytest exit {proc.returncode})")
    return outcome, time.monotonic() - start


def copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           stdout=subprocess.PIPE, check=True).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = Path(raw.decode())
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run(args) -> None:
    targets = [t for t in TARGETS if not args.targets or t.name in args.targets]
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() and args.resume else []
    done = {(r["target"], r["operator"], r["occurrence"]) for r in results}
    with tempfile.TemporaryDirectory(prefix="commitguard-mutants.") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        for target in targets:
            specs, eligible = mutants(target, args.per_target, args.seed)
            path = tree / target.module
            original = path.read_text()
            baseline, seconds = run_tests(tree, target.fast, args.timeout * 4)
            print(f"== {target.name}: {len(specs)} of {eligible} decision mutants; unmutated fast tests {baseline} "
                  f"({seconds:.0f} s)", flush=True)
            if baseline != "survived":
                sys.exit(f"{target.name}: the fast tests do not pass on the unmutated tree ({baseline})")
            broad_checked = False
            for spec in specs:
                if (target.name, spec.operator_name, spec.occurrence) in done:
                    continue
                code = mutated_source(original, spec)
                if code is None:
                    continue
                path.write_text(code)
                try:
                    outcome, seconds = run_tests(tree, target.fast, args.timeout)
                    stage = "fast"
                    if outcome == "survived":
                        if not broad_checked:  # a "kill" by tests that fail anyway would mean nothing
                            path.write_text(original)
                            baseline, _ = run_tests(tree, target.broad, args.timeout * 4)
                            if baseline != "survived":
                                sys.exit(f"{target.name}: the broad tests do not pass unmutated ({baseline})")
                            broad_checked = True
                            path.write_text(code)
                        outcome, more = run_tests(tree, target.broad, args.timeout * 4)
                        seconds += more
                        stage = "broad"
                finally:
                    path.write_text(original)
                record = {"target": target.name, "module": target.module, "function": spec.definition_name,
                          "operator": spec.operator_name, "occurrence": spec.occurrence,
                          "line": changed_line(original, code), "outcome": outcome, "stage": stage,
                          "seconds": round(seconds, 1)}
                results.append(record)
                Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
                print(f"  {outcome:9} {stage:5} {record['seconds']:6.1f}s  {record['function']}  {record['line']}",
                      flush=True)


def recheck(args) -> None:
    """Run the survivors of a results file again (tests added since, broad sets widened):
    fast tests first, then the broad ones; the record keeps its first outcome as ``before``."""
    from types import SimpleNamespace

    results = json.loads(Path(args.out).read_text())
    by_name = {t.name: t for t in TARGETS}
    with tempfile.TemporaryDirectory(prefix="commitguard-mutants.") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        for r in results:
            if r["outcome"] != "survived" or (args.targets and r["target"] not in args.targets):
                continue
            if args.only and not re.search(args.only, r["line"]):
                continue
            target = by_name[r["target"]]
            path = tree / target.module
            original = path.read_text()
            spec = SimpleNamespace(operator_name=r["operator"], occurrence=r["occurrence"], operator_args={})
            code = mutated_source(original, spec)
            path.write_text(code)
            try:
                outcome, seconds = run_tests(tree, target.fast, args.timeout)
                stage = "fast"
                if outcome == "survived":
                    outcome, more = run_tests(tree, tuple(args.broad) or target.broad, args.timeout * 4)
                    seconds += more
                    stage = "broad"
            finally:
                path.write_text(original)
            r.update(before=r.get("before", r["outcome"]), outcome=outcome, stage=stage,
                     seconds=round(r["seconds"] + seconds, 1))
            Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
            print(f"  {outcome:9} recheck {stage:5} {seconds:6.1f}s  {r['function']}  {r['line']}", flush=True)


def report(path: str) -> None:
    results = json.loads(Path(path).read_text())
    by_target: dict[str, list] = {}
    for r in results:
        by_target.setdefault(r["target"], []).append(r)
    for name, rs in by_target.items():
        killed = sum(r["outcome"] == "killed" for r in rs)
        print(f"{name}: {len(rs)} mutants, {killed} killed, "
              f"{sum(r['outcome'] == 'survived' for r in rs)} survived, "
              f"{sum(r['outcome'] not in ('killed', 'survived') for r in rs)} other")
        for r in rs:
            if r["outcome"] != "killed" or r.get("before", "killed") != "killed":
                was = f" (was {r['before']})" if r.get("before") not in (None, r["outcome"]) else ""
                print(f"  {r['outcome']}{was}: {r['module']} {r['function']} {r['line']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(t.name for t in TARGETS)} (default: all)")
    parser.add_argument("--out", default="mutation/results.json")
    parser.add_argument("--per-target", type=int, default=25)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per fast test run (broad: 4x)")
    parser.add_argument("--resume", action="store_true", help="skip mutants already in --out")
    parser.add_argument("--report", metavar="RESULTS", help="summarise a results file and exit")
    parser.add_argument("--recheck", action="store_true", help="run the survivors in --out against the broad tests again")
    parser.add_argument("--only", help="with --recheck: only survivors whose mutated line matches this regex")
    parser.add_argument("--broad", nargs="*", default=[], help="with --recheck: these tests instead of the broad set")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    os.chdir(ROOT)
    recheck(args) if args.recheck else run(args)


if __name__ == "__main__":
    main()
