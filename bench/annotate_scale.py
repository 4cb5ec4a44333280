#!/usr/bin/env python3
"""commitguard annotate of every package of a generated repository: cold, warm, warm + 1 commit.

    python bench/annotate_scale.py OUTDIR [--work DIR] [--commitguard CMD] [--jobs N] [--skip-cold]

OUTDIR is a bench/generate.py output (repo, keyring, gnupg, meta.json).
Each run goes through bench/rusage.py (wall, CPU and peak RSS of the process
tree, not of this script) and its JSON is checked against meta.json the way
bench/run.py checks annotate (package count, commit links by status). Runs:

* cold: an empty --cache directory;
* warm: the same cache again, nothing new;
* warm + 1: one new SSH-signed commit on the branch (bench/run.py's
  add_signed_commit), the same cache. The branch is put back on the
  generated head afterwards, whatever happens.

Why a script of its own: bench/run.py times annotate only cold and warm at
100,000 commits; issue 19 asks for the million-commit figures measured, and
for what a re-run costs when little or nothing is new.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402  (bench/run.py: measure, checks, the signed commit)
from run import gen  # noqa: E402


def one(cg: list[str], args: list[str], meta: dict, env: dict, work: Path, tag: str, label: str,
        extra: int = 0) -> dict:
    res = bench.measure(cg + args, env, work, tag)
    if res.rc not in (0, 1):
        bench.die(f"annotate exited {res.rc}:\n{res.err_tail()}")
    try:
        data = json.loads(res.stdout.read_text())
    except ValueError as e:
        bench.die(f"annotate printed no valid JSON ({e}); stderr:\n{res.err_tail()}")
    summary = bench.check_annotate(data, meta, label)
    history = data.get("history", {})
    row = {"run": label.strip(" ()"), "wall_s": round(res.wall, 2), "cpu_s": round(res.cpu, 2),
           "peak_rss_mb": round(res.rss_kb / 1024), "exit": res.rc, "check": summary,
           "history_commits": history.get("commits"), "newly_indexed": history.get("newly_indexed")}
    if history.get("commits") != meta["commits"] + extra:
        bench.die(f"annotate{label}: history has {history.get('commits')} commits, expected {meta['commits'] + extra}")
    print(json.dumps(row), flush=True)
    res.stdout.unlink()  # hundreds of MB at a million commits
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--work", type=Path, help="where caches and outputs go (default: a new temporary directory)")
    ap.add_argument("--commitguard", help="command to run (default: commitguard on PATH, else python -m commitguard)")
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--skip-cold", action="store_true", help="reuse the cache already in --work (warm runs only)")
    a = ap.parse_args(argv)
    out = a.outdir.resolve()
    meta = bench.load_meta(out)
    work = (a.work or Path(tempfile.mkdtemp(prefix="annotate-scale-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cg = bench.commitguard_cmd(a.commitguard)
    env = dict(os.environ, GNUPGHOME=str(out / "gnupg"))
    cache = work / "ann-cache"
    args = ["annotate", "--repo", str(out / "repo"), "--keyring", str(out / "keyring"), "--format", "json",
            "--cache", str(cache)] + (["--jobs", str(a.jobs)] if a.jobs else [])
    bench.reset_branch(out, meta)
    rows = []
    if not a.skip_cold:
        shutil.rmtree(cache, ignore_errors=True)
        rows.append(one(cg, args, meta, env, work, "cold", " (cold)"))
    rows.append(one(cg, args, meta, env, work, "warm", " (warm, nothing new)"))
    try:
        new = bench.add_signed_commit(out, meta["head"], gen.load_signers(out), 0)
        bench.set_branch(out, meta["branch"], new)
        rows.append(one(cg, args, meta, env, work, "warm1", " (warm + 1 commit)", extra=1))
    finally:
        bench.set_branch(out, meta["branch"], meta["head"])
    print(f"annotate-scale: {meta['commits']} commits, {meta['packages']} packages, work {work}")
    for r in rows:
        print(f"  {r['run']:<22} wall {r['wall_s']:8.2f} s  CPU {r['cpu_s']:8.2f} s  peak RSS {r['peak_rss_mb']:6d} MB"
              f"  newly indexed {r['newly_indexed']}  ({r['check']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
