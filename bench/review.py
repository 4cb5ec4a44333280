#!/usr/bin/env python3
"""What trust through review costs: ``verify`` under ``accept = ["signature", "review", "clean-merge"]``.

    python bench/review.py OUTDIR [--repeat 3] [--no-report]

OUTDIR is what ``bench/generate.py OUTDIR`` wrote. Every pull request of the
generated history (each merge commit's second parent, against the merge base)
gets a signed approval (SSH, by a keyring person who wrote none of its
commits), stored in ``refs/notes/commitguard`` the way ``commitguard approve``
stores one; the note ref is restored afterwards. Then, each run a fresh
process, one right after the other (this machine's speed drifts):

  baseline      verify --no-cache, the generated keyring (signatures only, forge accepted)
  review        verify --no-cache, the same keyring with accept = [signature, review, clean-merge]:
                every approval verified, every approved head's merge checked
  review-reject the same with policy.forge = "reject": no merge is trusted by the forge's
                signature, so every merge must be the clean merge of vouched-for parents
  warm          review-reject again with a --cache filled by one run before: merge checks,
                like verdicts, are kept

The target (issue 16): review and review-reject within 1.5x of the baseline's
cold wall time. Results go to BENCHMARKS.md between ``<!-- bench:review -->``
markers. A measurement, not a test: nothing here fails on a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(PROJECT))

import pygit2  # noqa: E402
import tomlkit  # noqa: E402

import generate as gen  # noqa: E402
import run as bench  # noqa: E402
from commitguard.review.approvals.notes import NOTES_REF  # noqa: E402
from commitguard.review.approvals.statement import SSH_NAMESPACE, Approval, Envelope, pae  # noqa: E402
from commitguard.review.check_pr import repository_name  # noqa: E402

START = "<!-- bench:review -->"
END = "<!-- /bench:review -->"


def pull_request_ranges(repo: pygit2.Repository, signers: gen.Signers, branch: str) -> list[tuple[str, str, set]]:
    """(merge base, head, authors) of every pull request merged on ``branch``'s first-parent line."""
    by_email = {p["email"]: p["id"] for p in signers.people}
    ranges = []
    commit = repo.revparse_single(branch)
    while commit.parent_ids:
        if len(commit.parent_ids) == 2:
            ours, head = commit.parent_ids
            walker = repo.walk(head)
            walker.hide(ours)
            ranges.append((str(repo.merge_base(ours, head)), str(head), {by_email.get(c.author.email) for c in walker}))
        commit = repo[commit.parent_ids[0]]
    return ranges


def store_approvals(repo: pygit2.Repository, signers: gen.Signers, ranges: list[tuple[str, str, set]]) -> float:
    """A signed approval (SSH, in process) of each (base, head) by a person not among its authors,
    stored in ``refs/notes/commitguard`` as ``commitguard approve`` stores one. Seconds taken."""
    started = time.perf_counter()
    name = repository_name(repo, None)
    reviewers = sorted(pid for pid, keys in signers.ssh.items() if keys)
    rng = random.Random(16)
    who = pygit2.Signature("bench", "bench@example.org", 0, 0)
    # one notes commit whose tree names each annotated commit (git's flat notes layout):
    # create_note would rewrite the whole notes tree once per note
    notes = repo.TreeBuilder()
    for base, head, authors in ranges:
        approver = rng.choice([r for r in reviewers if r not in authors])
        approval = Approval(repository=name, base=base, head=head, head_tree=str(repo[head].tree_id),
                            timestamp="2026-01-01T00:00:00Z")
        payload = approval.payload()
        signature = gen.ssh_sign(signers.ssh[approver][0], pae(payload), namespace=SSH_NAMESPACE).encode()
        blob = repo.create_blob((Envelope(payload, signature, "ssh").to_json() + "\n").encode())
        notes.insert(head, blob, pygit2.enums.FileMode.BLOB)
    parents = [repo.references[NOTES_REF].target] if NOTES_REF in repo.references else []
    repo.create_commit(NOTES_REF, who, who, "approvals for the benchmarks", notes.write(), parents)
    return time.perf_counter() - started


def keyring_variant(source: Path, target: Path, *, forge: str,
                    accept: tuple[str, ...] | list[str] = ("signature", "review", "clean-merge")) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_dir():
            (target / item.name).mkdir(exist_ok=True)
            for f in item.iterdir():
                (target / item.name / f.name).write_bytes(f.read_bytes())
    doc = tomlkit.parse((source / "keyring.toml").read_text())
    doc["policy"]["forge"] = forge
    doc["policy"]["accept"] = list(accept)
    (target / "keyring.toml").write_text(tomlkit.dumps(doc))
    return target


def trusted(data: dict) -> int:
    return data["summary"]["trusted"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--commitguard", help="command to run instead of `commitguard`")
    ap.add_argument("--report", type=Path, default=PROJECT / "BENCHMARKS.md")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args(argv)
    out = args.outdir.resolve()
    meta = bench.load_meta(out)
    cg = bench.commitguard_cmd(args.commitguard)
    env = dict(__import__("os").environ)
    bench.check_cli(cg, env)
    repo_dir = out / "repo"
    repo = pygit2.Repository(str(repo_dir))
    if "origin" not in [r.name for r in repo.remotes]:
        # as any clone has: without one, the name approvals carry is the first commit's, and
        # finding it walks the whole history in every run
        repo.remotes.create("origin", "https://example.org/bench/nixpkgs.git")
    work = Path(tempfile.mkdtemp(prefix="cg-review-bench-"))
    saved = bench.notes_target(repo_dir)
    try:
        signers = gen.load_signers(out)
        ranges = pull_request_ranges(repo, signers, meta["branch"])
        approvals, signing = len(ranges), store_approvals(repo, signers, ranges)
        print(f"{approvals} approvals signed and stored in {signing:.1f} s", file=sys.stderr)
        keyrings = {
            "baseline": out / "keyring",
            "review": keyring_variant(out / "keyring", work / "kr-review", forge="accept"),
            "review-reject": keyring_variant(out / "keyring", work / "kr-review-reject", forge="reject"),
        }
        runs: dict[str, list] = {k: [] for k in (*keyrings, "warm")}
        counts: dict[str, int] = {}
        base_args = ["verify", "--repo", str(repo_dir), "--format", "json", meta["branch"]]
        for i in range(args.repeat):
            for label, keyring in keyrings.items():
                res, data = bench.run_verify(cg, [*base_args, "--keyring", str(keyring), "--no-cache"], env, work,
                                             f"{label}-{i}")
                runs[label].append(res)
                counts[label] = trusted(data)
                print(f"run {i + 1}: {label} {res.wall:.2f} s, {trusted(data)} trusted", file=sys.stderr)
        cache = work / "cache"
        bench.run_verify(cg, [*base_args, "--keyring", str(keyrings["review-reject"]), "--cache", str(cache)], env,
                         work, "fill")
        for i in range(args.repeat):
            res, data = bench.run_verify(cg, [*base_args, "--keyring", str(keyrings["review-reject"]), "--cache",
                                              str(cache)], env, work, f"warm-{i}")
            runs["warm"].append(res)
            counts["warm"] = trusted(data)
    finally:
        bench.restore_notes(repo_dir, saved)
    section = render(meta, runs, counts, approvals, signing)
    print(section)
    if not args.no_report:
        write_report(args.report, section)
    return 0


def render(meta: dict, runs: dict, counts: dict, approvals: int, signing: float) -> str:
    med = {k: bench.median_of(v) for k, v in runs.items()}
    pairs = {k: statistics.median(r.wall / b.wall for r, b in zip(runs[k], runs["baseline"]))
             for k in ("review", "review-reject", "warm")}
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        ("baseline", "verify --no-cache, signatures only (`policy.forge = \"accept\"`)"),
        ("review", "verify --no-cache, `accept = [\"signature\", \"review\", \"clean-merge\"]`"),
        ("review-reject", "the same with `policy.forge = \"reject\"` (every merge checked)"),
        ("warm", "the same, warm `--cache` (verdicts and merge checks kept)"),
    ]
    lines = [START, "## Trust through review: what `review` and `clean-merge` cost", "",
             f"Run {when} by `bench/review.py` on the repository of `bench/generate.py` ({meta['commits']} commits, "
             f"{meta['kinds']['forge']} merge commits). Every pull request got a signed approval (SSH) by a keyring "
             f"person who wrote none of its commits: {approvals} approvals, signed and stored in {signing:.0f} s "
             "(removed again afterwards). Medians of fresh processes; each ratio is the median over runs made one "
             "right after the other.", "",
             "| run | wall | CPU | peak RSS | trusted | wall / baseline | runs (wall, s) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for key, label in rows:
        m = med[key]
        ratio = "1.00x" if key == "baseline" else f"{pairs[key]:.2f}x"
        lines.append(f"| {label} | {m['wall']:.2f} s | {m['cpu']:.2f} s | {m['rss_mb']:.0f} MB | {counts[key]} | "
                     f"{ratio} | {', '.join(map(str, m['walls']))} |")
    holds = {k: pairs[k] <= 1.5 for k in ("review", "review-reject")}
    lines += ["", "| target | value | |", "| --- | ---: | --- |"]
    for key in ("review", "review-reject"):
        lines.append(f"| {key} cold wall <= 1.5x baseline cold wall | {pairs[key]:.2f}x | "
                     f"{'holds' if holds[key] else '**missed**'} |")
    lines += ["", "Reproduce: `python bench/generate.py OUTDIR && python bench/review.py OUTDIR`.", END]
    return "\n".join(lines) + "\n"


def write_report(path: Path, section: str, start: str = START, end: str = END) -> None:
    """Replace the section between ``start`` and ``end`` in BENCHMARKS.md (append it when absent)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + section.rstrip("\n") + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
