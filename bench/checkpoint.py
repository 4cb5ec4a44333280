#!/usr/bin/env python3
"""What a checkpoint saves: ``verify`` from a signed summary ten commits behind the tip.

    python bench/checkpoint.py OUTDIR [--repeat 3] [--behind 10] [--no-report]

OUTDIR is what ``bench/generate.py OUTDIR`` wrote. A verifier key is made with
ssh-keygen, the generated keyring is copied with that key as ``[[verifier]]
id = "ci"``, and ``commitguard attest`` signs a summary of the commit
``--behind`` commits below the tip (the first one from which the tip adds at
least that many commits); the note refs are removed again afterwards. The
generated history has unsigned commits, and a summary is only ever made of a
history that is all trusted: each unsigned commit gets a signed audit (an
approval of exactly that commit against its first parent, by a keyring person
who did not write it) and both keyrings accept ``["signature", "audit"]``. Then, one
right after the other in fresh processes:

  full        verify --no-cache of the whole history (the keyring without the verifier)
  checkpoint  verify --no-cache with the verifier listed: only what lies after the summary

The target (issue 17): the checkpoint run under 1 s wall; its ratio to the full
cold run is reported. Results go to BENCHMARKS.md between ``<!-- bench:checkpoint
-->`` markers. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

import pygit2  # noqa: E402

import generate as gen  # noqa: E402
import review  # noqa: E402
import run as bench  # noqa: E402
import tomlkit  # noqa: E402

START = "<!-- bench:checkpoint -->"
END = "<!-- /bench:checkpoint -->"
VSA_REF = "refs/notes/commitguard-vsa"
NOTES_REF = "refs/notes/commitguard"


def unsigned_commits(repo: pygit2.Repository, signers, branch: str) -> list[tuple[str, str, set]]:
    """(first parent, commit, authors) of every unsigned commit: what an audit approves."""
    by_email = {p["email"]: p["id"] for p in signers.people}
    found = []
    for commit in repo.walk(repo.revparse_single(branch).id):
        if commit.gpg_signature[0] is None and commit.parent_ids:
            found.append((str(commit.parent_ids[0]), str(commit.id), {by_email.get(commit.author.email)}))
    return found


def checkpoint_commit(repo: pygit2.Repository, tip: str, behind: int) -> tuple[str, int]:
    """The first commit on the first-parent line below ``tip`` from which ``tip`` adds >= ``behind`` commits."""
    commit = repo[tip]
    while commit.parents:
        commit = commit.parents[0]
        walker = repo.walk(repo[tip].id)
        walker.hide(commit.id)
        count = sum(1 for _ in walker)
        if count >= behind:
            return str(commit.id), count
    raise SystemExit("history too short for --behind")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--behind", type=int, default=10)
    ap.add_argument("--commitguard", help="command to run instead of `commitguard`")
    ap.add_argument("--report", type=Path, default=PROJECT / "BENCHMARKS.md")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args(argv)
    out = args.outdir.resolve()
    meta = bench.load_meta(out)
    cg = bench.commitguard_cmd(args.commitguard)
    env = dict(os.environ)
    bench.check_cli(cg, env)
    repo_dir = out / "repo"
    repo = pygit2.Repository(str(repo_dir))
    if "origin" not in [r.name for r in repo.remotes]:
        # as any clone has: without one, the name approvals carry is the first commit's, and
        # finding it walks the whole history in every run
        repo.remotes.create("origin", "https://example.org/bench/nixpkgs.git")
    if VSA_REF in repo.references:
        raise SystemExit(f"{repo_dir} already has {VSA_REF}: remove it first")
    work = Path(tempfile.mkdtemp(prefix="cg-checkpoint-bench-"))
    key = work / "ci"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", str(key)], check=True)
    plain = review.keyring_variant(out / "keyring", work / "kr-audit", forge="accept", accept=["signature", "audit"])
    keyring = review.keyring_variant(out / "keyring", work / "kr", forge="accept", accept=["signature", "audit"])
    doc = tomlkit.parse((keyring / "keyring.toml").read_text())
    verifier = tomlkit.aot()
    verifier.append(tomlkit.table())
    verifier[0]["id"] = "ci"
    verifier[0]["ssh"] = (work / "ci.pub").read_text().strip()
    doc["verifier"] = verifier
    (keyring / "keyring.toml").write_text(tomlkit.dumps(doc))
    tip = str(repo.revparse_single(meta["branch"]).id)
    at, after = checkpoint_commit(repo, tip, args.behind)
    if NOTES_REF in repo.references:
        raise SystemExit(f"{repo_dir} already has {NOTES_REF}: remove it first")
    try:
        signers = gen.load_signers(out)
        audits = unsigned_commits(repo, signers, meta["branch"])
        took = review.store_approvals(repo, signers, audits)
        print(f"{len(audits)} audits signed and stored in {took:.1f} s", file=sys.stderr)
        made = bench.measure(cg + ["attest", at, "--repo", str(repo_dir), "--keyring", str(keyring), "--verifier", "ci",
                                   "--ssh-key", str(key), "--no-cache", "--format", "json"], env, work, "attest")
        if made.rc != 0:
            bench.die(f"attest failed ({made.rc}):\n{made.err_tail()}")
        print(f"attested {at[:12]} in {made.wall:.1f} s; {after} commits after it", file=sys.stderr)
        runs: dict[str, list] = {"full": [], "checkpoint": []}
        base = ["verify", "--repo", str(repo_dir), "--format", "json", "--no-cache", meta["branch"]]
        for i in range(args.repeat):
            res, data = bench.run_verify(cg, [*base, "--keyring", str(plain)], env, work, f"full-{i}")
            runs["full"].append(res)
            full_total = data["summary"]["total"]
            res, data = bench.run_verify(cg, [*base, "--keyring", str(keyring)], env, work, f"checkpoint-{i}")
            runs["checkpoint"].append(res)
            if data.get("checkpoint", {}).get("commit") != at or data["summary"]["total"] != after:
                bench.die(f"verify did not start from the checkpoint: {data.get('checkpoint')}, "
                          f"{data['summary']['total']} commits")
            print(f"run {i + 1}: full {runs['full'][-1].wall:.2f} s, checkpoint {res.wall:.2f} s", file=sys.stderr)
    finally:
        for ref in (VSA_REF, NOTES_REF):
            if ref in repo.references:
                repo.references.delete(ref)
    section = render(meta, runs, at, after, full_total, made.wall)
    print(section)
    if not args.no_report:
        review.write_report(args.report, section, START, END)
    return 0


def render(meta: dict, runs: dict, at: str, after: int, total: int, attest_wall: float) -> str:
    med = {k: bench.median_of(v) for k, v in runs.items()}
    ratio = statistics.median(c.wall / f.wall for c, f in zip(runs["checkpoint"], runs["full"]))
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    holds = med["checkpoint"]["wall"] < 1.0
    lines = [START, "## Checkpoints: verifying from a signed summary", "",
             f"Run {when} by `bench/checkpoint.py` on the repository of `bench/generate.py` ({meta['commits']} "
             f"commits; its {meta['kinds']['unsigned']} unsigned commits audited, both keyrings accepting "
             f"`[\"signature\", \"audit\"]`). `commitguard attest` signed a summary of `{at[:12]}` ({attest_wall:.1f} s: a full "
             f"cold verification, then one ssh-keygen signature); the tip adds {after} commits after it. Medians of "
             "fresh processes, each pair run one right after the other.", "",
             "| run | commits checked | wall | CPU | peak RSS | runs (wall, s) |",
             "| --- | ---: | ---: | ---: | ---: | --- |",
             f"| verify --no-cache, whole history | {total} | {med['full']['wall']:.2f} s | {med['full']['cpu']:.2f} s | "
             f"{med['full']['rss_mb']:.0f} MB | {', '.join(map(str, med['full']['walls']))} |",
             f"| verify --no-cache from the checkpoint | {after} | {med['checkpoint']['wall']:.2f} s | "
             f"{med['checkpoint']['cpu']:.2f} s | {med['checkpoint']['rss_mb']:.0f} MB | "
             f"{', '.join(map(str, med['checkpoint']['walls']))} |", "",
             "| target | value | |", "| --- | ---: | --- |",
             f"| verify from a checkpoint {after} commits behind the tip, wall | {med['checkpoint']['wall']:.2f} s "
             f"(< 1 s) | {'holds' if holds else '**missed**'} |",
             f"| checkpoint wall / full cold wall | {ratio:.3f}x | |", "",
             "Reproduce: `python bench/generate.py OUTDIR && python bench/checkpoint.py OUTDIR`.", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
