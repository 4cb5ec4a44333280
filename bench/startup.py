#!/usr/bin/env python3
"""How long ``commitguard check-pr`` takes on a small pull request, and where the time goes.

    python bench/startup.py [OUTDIR] [--repeat 5] [--work DIR] [--against CHECKOUT] [--commitguard CMD] [--top 25]

A warm check-pr of a 5-commit pull request is dominated by start-up, mostly
imports (issue 19: the target is under 0.3 s wall). This builds the same
pull request as ``bench/run.py --only check-pr`` (the same functions: a
keyring copy with one ``[[rule]]``, 5 new SSH-signed commits on the generated
head, an ``approve`` by another person), but on a copy of OUTDIR's repository
in a work directory of its own, so OUTDIR's refs and notes are never moved.
Then it runs check-pr once to fill the cache, --repeat times warm, and prints
the median wall time, and ``python -X importtime -c 'import commitguard.cli.app'``'s
biggest entries.

OUTDIR is what ``bench/generate.py OUTDIR`` wrote (default /work/bench100k).
By default commitguard is run as ``python -m commitguard`` with this checkout
first on PYTHONPATH, so the tree being changed is the one measured. A --work
directory that already holds a built pull request is reused (its cache is
kept warm): rerunning after a change costs only the timed runs. With
--against, another checkout (say main's) is timed in turn with this one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

import generate as gen  # noqa: E402
import run  # noqa: E402  (bench/run.py: the check-pr pull request is built by its functions)

LINKED = ("keyring", "gnupg", "secrets", "meta.json", "allowed_signers")


def build(source: Path, work: Path, cg: list[str], env: dict) -> dict:
    """OUTDIR's repository copied to WORK/out/repo (the rest linked), the pull
    request made there; returns what the timed command needs."""
    state = work / "pr.json"
    if state.exists():
        return json.loads(state.read_text())
    out = work / "out"
    out.mkdir(parents=True)
    for name in LINKED:
        if (source / name).exists():
            (out / name).symlink_to(source / name)
    subprocess.run(["cp", "-a", str(source / "repo"), str(out / "repo")], check=True)
    meta = run.load_meta(out)
    head0 = meta["head"]
    signers = gen.load_signers(out)
    pr_head = run.make_pr(out, head0, signers, 5)
    keyring = run.pr_keyring(out / "keyring", work)
    approver = run.approve_pr(cg, out, signers, head0, pr_head, env)
    built = {"repo": str(out / "repo"), "keyring": str(keyring), "base": head0, "head": pr_head,
             "approver": approver, "cache": str(work / "pr-cache")}
    state.write_text(json.dumps(built, indent=1))
    return built


def importtime(python: str, env: dict, top: int) -> tuple[float, list[tuple[int, int, str]]]:
    """(cumulative µs of commitguard.cli.app, the ``top`` biggest (cumulative, self, module))."""
    p = subprocess.run([python, "-X", "importtime", "-c", "import commitguard.cli.app"], env=env,
                       capture_output=True, text=True, check=True)
    rows = []
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), m.group(3)[1:] + m.group(4)))
    total = next(c for c, _, name in rows if name.strip() == "commitguard.cli.app")
    return total, sorted(rows, reverse=True)[:top]


def wall_of(cmd: list[str], env: dict, repeat: int) -> list[float]:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdin=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
    return walls


def environment(source: Path, work: Path, project: Path) -> dict:
    env = dict(os.environ, GNUPGHOME=str(source / "gnupg"), XDG_CACHE_HOME=str(work / "xdg-cache"), LC_ALL="C.UTF-8",
               PYTHONPATH=os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")])))
    env.pop("COMMITGUARD_KEYRING", None)
    env.pop("COMMITGUARD_UPSTREAM_MIRROR", None)
    # An installed commitguard has its bytecode compiled; with PYTHONDONTWRITEBYTECODE
    # every run would compile a checkout's ~150 modules again (tens of ms): the warm-up
    # run writes __pycache__, as installing does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path, nargs="?", default=Path("/work/bench100k"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", type=Path, help="work directory (default: a new temporary one); reused when built")
    ap.add_argument("--commitguard", help="command to run (default: python -m commitguard from this checkout)")
    ap.add_argument("--against", type=Path, metavar="CHECKOUT",
                    help="another checkout of commitguard (e.g. `git archive main | tar -x -C DIR`), timed in "
                         "turn with this one: on a shared machine only runs made in the same minute compare")
    ap.add_argument("--top", type=int, default=25, help="import-time entries to list")
    a = ap.parse_args(argv)
    source = a.outdir.resolve()
    against = a.against.resolve() if a.against else None
    work = (a.work or Path(tempfile.mkdtemp(prefix="cgbench-startup-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # Children run in WORK: `python -m`/`-c` put the current directory first on sys.path,
    # so a run started from a checkout would import that checkout whatever PYTHONPATH says.
    os.chdir(work)
    cg = shlex.split(a.commitguard) if a.commitguard else [sys.executable, "-m", "commitguard"]
    sides = {"this checkout": environment(source, work, PROJECT)}
    if against:
        sides[f"--against {a.against}"] = environment(source, work, against)
    pr = build(source, work, cg, sides["this checkout"])
    args = ["check-pr", "--repo", pr["repo"], "--keyring", pr["keyring"], "--base", pr["base"], "--head", pr["head"],
            "--repository", run.PR_REPOSITORY, "--format", "json", "--cache", pr["cache"]]
    print(f"work dir: {work}")
    print(f"  {shlex.join(cg + args)}")
    for name, env in sides.items():
        res, data = run.run_verify(cg, args, env, work, "warmup")
        print(f"check-pr ({name}): exit {res.rc}, {run.check_pr_json(data, 5, ' (warm-up)')}")
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    imports: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(a.repeat):
        for name, env in sides.items():  # in turn: the machine's drift reaches every side alike
            res, data = run.run_verify(cg, args, env, work, f"pr{i}")
            run.check_pr_json(data, 5, "")
            walls[name].append(res.wall)
            cpus[name].append(res.cpu)
            imports[name] += wall_of([sys.executable, "-c", "import commitguard.cli.app"], env, 1)
    bare = wall_of([sys.executable, "-c", "pass"], sides["this checkout"], a.repeat)
    for name, env in sides.items():
        print(f"check-pr, 5-commit PR, warm --cache ({name}): median wall {statistics.median(walls[name]):.3f} s, "
              f"min {min(walls[name]):.3f} s, CPU {statistics.median(cpus[name]):.3f} s "
              f"(runs: {', '.join(f'{w:.3f}' for w in walls[name])})")
        print(f"  python -c 'import commitguard.cli.app': median wall {statistics.median(imports[name]):.3f} s "
              f"(python -c pass: {statistics.median(bare):.3f} s)")
    for name, env in sides.items():
        total, top = importtime(sys.executable, env, a.top)
        print(f"-X importtime ({name}): commitguard.cli.app {total / 1e6:.3f} s cumulative"
              + ("; biggest entries:" if top else ""))
        if top:
            print(f"  {'cumulative':>10} {'self':>8}  module")
        for cumulative, own, module in top:
            print(f"  {cumulative / 1e3:8.1f}ms {own / 1e3:6.1f}ms  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
