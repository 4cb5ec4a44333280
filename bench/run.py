#!/usr/bin/env python3
"""Benchmark ``commitguard verify`` against git's own ``%G?`` loop.

    python bench/run.py OUTDIR [--repeat 3] [--git-sample 2000] [--jobs N]

OUTDIR is what ``bench/generate.py OUTDIR`` wrote. Measures, each figure the
median of --repeat runs, wall time, CPU time and peak RSS of the child process
tree (``os.wait4`` rusage: the largest resident set of the child or any of
its waited-for descendants):

  a. cold:  commitguard verify --no-cache over the whole history
  b. warm:  with --cache DIR already filled, after one new signed commit
  c. git:   git log --format=%G? (one gpg / ssh-keygen run per commit), over
            the whole history if that is estimated under --git-limit seconds,
            else over the newest --git-sample commits, scaled to the full count

and writes the table into BENCHMARKS.md (the section between
``<!-- bench:verify -->`` and ``<!-- /bench:verify -->``).

The benchmark repository is left as it was: the extra commits made for the
warm runs are only reachable while they are measured, then the branch is
reset to the generated head.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
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

import pygit2  # noqa: E402

import generate as gen  # noqa: E402

START = "<!-- bench:verify -->"
END = "<!-- /bench:verify -->"


def die(msg: str) -> None:
    sys.exit(f"run.py: {msg}")


# --------------------------------------------------------------------------
# Measuring one child
# --------------------------------------------------------------------------


class Result:
    def __init__(self, wall: float, cpu: float, rss_kb: int, rc: int, stdout: Path, stderr: Path):
        self.wall, self.cpu, self.rss_kb, self.rc = wall, cpu, rss_kb, rc
        self.stdout, self.stderr = stdout, stderr

    def err_tail(self, n=20) -> str:
        return "\n".join(self.stderr.read_text(errors="replace").splitlines()[-n:])


def measure(cmd: list[str], env: dict, workdir: Path, tag: str) -> Result:
    """Run cmd with stdout/stderr to files; wall time and the child tree's
    rusage from wait4 (ru_maxrss is in KiB on Linux)."""
    out = workdir / f"{tag}.out"
    err = workdir / f"{tag}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return Result(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode, out, err)


def median_of(results: list[Result]) -> dict:
    return {
        "wall": statistics.median(r.wall for r in results),
        "cpu": statistics.median(r.cpu for r in results),
        "rss_mb": statistics.median(r.rss_kb for r in results) / 1024,
        "walls": [round(r.wall, 3) for r in results],
    }


# --------------------------------------------------------------------------
# commitguard
# --------------------------------------------------------------------------


def commitguard_cmd(explicit: str | None) -> list[str]:
    if explicit:
        return shlex.split(explicit)
    exe = shutil.which("commitguard")
    if exe:
        return [exe]
    return [sys.executable, "-m", "commitguard"]


def check_cli(cg: list[str], env: dict) -> None:
    p = subprocess.run(cg + ["verify", "--help"], env=env, capture_output=True, text=True, errors="replace")
    if p.returncode != 0 or "--no-cache" not in p.stdout:
        die(
            f"`{' '.join(cg)} verify --help` does not work yet (rc {p.returncode}); "
            f"install the project (pip install -e {PROJECT}) or pass --commitguard CMD\n{p.stderr[-2000:]}"
        )


def run_verify(cg, args, env, workdir, tag, r: Result | None = None) -> tuple[Result, dict]:
    res = measure(cg + args, env, workdir, tag)
    if res.rc not in (0, 1):
        die(f"commitguard exited {res.rc} ({shlex.join(cg + args)}):\n{res.err_tail()}")
    try:
        data = json.loads(res.stdout.read_text())
    except ValueError as e:
        die(f"commitguard printed no valid JSON ({e}); stderr:\n{res.err_tail()}")
    return res, data


def check_summary(data: dict, meta: dict, extra: int = 0, label: str = "") -> str:
    """Compare the JSON summary with what generate.py made; die on nonsense."""
    s = data.get("summary") or {}
    total, trusted, by = s.get("total"), s.get("trusted"), s.get("by_status") or {}
    exp = meta["expected_status"]
    n = meta["commits"] + extra
    problems = []
    if not trusted:
        problems.append(f"summary.trusted is {trusted!r}: commitguard trusted no commit at all")
    if total != n:
        problems.append(f"summary.total is {total}, the repository has {n} commits")
    for status, want in exp.items():
        want += extra if status == "trusted" else 0
        got = by.get(status, 0)
        if abs(got - want) > max(2, 0.01 * n):
            problems.append(f"by_status[{status!r}] is {got}, expected about {want}")
    others = {k: v for k, v in by.items() if k not in exp and v}
    if sum(others.values()) > max(2, 0.01 * n):
        problems.append(f"unexpected statuses: {others}")
    # forge commits count as trusted with policy.forge = "accept"
    ok_trusted = {exp["trusted"] + extra, exp["trusted"] + exp["forge"] + extra}
    if trusted is not None and min(abs(trusted - t) for t in ok_trusted) > max(2, 0.01 * n):
        problems.append(f"summary.trusted is {trusted}, expected {sorted(ok_trusted)}")
    if data.get("ok") is not False:
        problems.append(f"ok is {data.get('ok')!r}, but the history has unsigned commits")
    if problems:
        die(f"commitguard's verdicts do not match the generated repository{label}:\n  " + "\n  ".join(problems))
    return f"total {total}, trusted {trusted}, by_status {json.dumps(by, sort_keys=True)}"


def add_signed_commit(out: Path, parent: str, signers: gen.Signers, n: int) -> str:
    """A version bump of one package on top of parent, SSH-signed like most
    commits of the generated history; returns its id (no ref is moved)."""
    repo = pygit2.Repository(str(out / "repo"))
    pygit2.settings.enable_strict_object_creation(False)
    base = repo[parent]
    by_name = base.tree / "pkgs" / "by-name"
    shards = sorted(e.name for e in by_name)
    shard = by_name / shards[n % len(shards)]
    pkg = sorted(e.name for e in shard)[0]
    path = ["pkgs", "by-name", shard.name, pkg, "package.nix"]
    text = (shard / pkg / "package.nix").data.decode()
    m = re.search(r'version = "(\d+)\.(\d+)\.(\d+)";', text)
    old = tuple(int(x) for x in m.groups())
    new = (old[0], old[1], old[2] + 1 + n)
    text = text.replace(m.group(0), 'version = "%d.%d.%d";' % new)
    text = re.sub(r'hash = "sha256-[^"]*"', 'hash = "sha256-%s"' % ("A" * 43 + "="), text)
    blob = str(repo.create_blob(text.encode()))
    tree = gen.TreeWriter(repo).set(str(base.tree.id), path, blob)
    person = next(p for p in signers.people if signers.ssh.get(p["id"]) and not p["openpgp"])
    key = signers.ssh[person["id"]][0]
    when = max(int(time.time()) - 1, base.commit_time + 1)
    who = gen.ident(person["name"], person["email"], when, person["tz"])
    title = f"{pkg}: %d.%d.%d -> %d.%d.%d\n" % (old + new)
    return gen.make_commit(repo.odb, tree, [parent], who, who, title, lambda payload: gen.ssh_sign(key, payload))


def set_branch(out: Path, branch: str, oid: str) -> None:
    repo = pygit2.Repository(str(out / "repo"))
    repo.references.create(f"refs/heads/{branch}", pygit2.Oid(hex=oid), force=True)


# --------------------------------------------------------------------------
# git
# --------------------------------------------------------------------------


def git_cmd(out: Path, n: int | None) -> list[str]:
    cmd = ["git", "-C", str(out / "repo"), "-c", f"gpg.ssh.allowedSignersFile={out / 'allowed_signers'}", "log"]
    if n:
        cmd.append(f"-n{n}")
    return cmd + ["--format=%G?", "HEAD"]


def git_letters(res: Result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in res.stdout.read_text().split():
        counts[line] = counts.get(line, 0) + 1
    return counts


def check_git(letters: dict[str, int], meta: dict, n: int) -> None:
    exp_g = 1 - meta["expected_status"]["unsigned"] / meta["commits"]
    got = sum(letters.values())
    if got != n:
        die(f"git log printed {got} lines, expected {n}")
    g = letters.get("G", 0) / n
    if abs(g - exp_g) > 0.05:
        die(
            f"git's %G? gives {letters} over {n} commits: {g:.0%} G, expected about {exp_g:.0%}; "
            "is the baseline set up (GNUPGHOME, allowed signers)?"
        )


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def machine_info() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass

    def ver(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
            return (p.stdout or p.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "mem": mem,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "git": ver(["git", "--version"]),
        "gpg": ver(["gpg", "--version"]),
        "ssh": ver(["ssh", "-V"]),
    }


def fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def render(meta: dict, rows: list[dict], info: dict, extra: dict) -> str:
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    k = meta["kinds"]
    n = meta["commits"]
    lines = [
        START,
        "## `commitguard verify` vs `git log --format=%G?`",
        "",
        f"Run {date} by `bench/run.py` on a synthetic nixpkgs-style repository made by `bench/generate.py`: "
        f"{n} commits, {meta['packages']} packages under `pkgs/by-name`, signatures "
        f"{k['ssh']} SSH ed25519, {k['openpgp-ed25519']} OpenPGP ed25519, "
        f"{k['openpgp-rsa']} OpenPGP RSA {meta['rsa_bits']}-bit, "
        f"{k['forge']} merge commits signed by a forge key (OpenPGP ed25519, standing for GitHub's web-flow; "
        "keyring `policy.forge = \"accept\"`), "
        f"{k['unsigned']} unsigned; {meta['people']} keyring persons. "
        f"Generation took {meta['generation_seconds']:.0f} s.",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['mem']} RAM, {info['os']}; "
        f"Python {info['python']}; {info['git']}; {info['gpg']}; {info['ssh']}.",
        "",
        f"Each figure is the median of {extra['repeat']} runs (all runs: last column). Peak RSS is the largest "
        "resident set of the process or any of its children (`wait4` rusage), CPU is user+sys of the whole "
        "process tree. The OS page cache is warm in every run; \"cold\" means no commitguard verdict cache.",
        "",
        "| run | commits | wall | commits/s | CPU | peak RSS | runs (wall, s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['commits']} | {fmt_s(r['wall'])} | {r['commits'] / r['wall']:,.0f} | "
            f"{fmt_s(r['cpu'])} | {r['rss_mb']:.0f} MB | {', '.join(str(w) for w in r['walls'])} |"
        )
    lines += [
        "",
        f"**git / commitguard (cold): {extra['ratio']:.1f}x** "
        f"({extra['git_basis']} git time {fmt_s(extra['git_full'])} vs {fmt_s(extra['cold'])} for the whole history).",
        "",
        f"commitguard's summary (cold run): {extra['summary']}.",
        f"git's `%G?` letters ({extra['git_n']} commits): {json.dumps(extra['git_letters'], sort_keys=True)}.",
        "",
        "Reproduce (from the project root, after `pip install -e .`):",
        "",
        "```sh",
        f"python bench/generate.py {extra['outdir']} --commits {n} --packages {meta['packages']}"
        + (f" --seed {meta['seed']}" if meta["seed"] != 1 else "")
        + (f" --rsa-bits {meta['rsa_bits']}" if meta["rsa_bits"] != 3072 else ""),
        f"python bench/run.py {extra['outdir']} " + " ".join(extra["argv"]),
        "```",
        "",
        "which times these commands (R = OUTDIR/repo, K = OUTDIR/keyring):",
        "",
        "```sh",
        *extra["commands"],
        "```",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_report(path: Path, section: str) -> None:
    if path.exists():
        text = path.read_text()
        if START in text and END in text and text.index(START) < text.index(END):
            rest = text[text.index(END) + len(END) :]
            text = text[: text.index(START)] + section + (rest[1:] if rest.startswith("\n") else rest)
        elif START in text:  # an opening marker alone: replace to the end
            text = text[: text.index(START)] + section
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = "# Benchmarks\n\n" + section
    path.write_text(text)


def reproduce_args(argv: list[str], out: Path) -> list[str]:
    """argv without OUTDIR and the report-only options."""
    keep, skip = [], False
    for x in argv:
        if skip:
            skip = False
        elif x in ("--no-report",) or x.startswith("--report="):
            pass
        elif x == "--report":
            skip = True
        elif not x.startswith("-") and Path(x).resolve() == out:
            pass
        else:
            keep.append(x)
    return keep


# --------------------------------------------------------------------------


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--git-sample", type=int, default=2000, help="commits git checks when the full history is too slow")
    ap.add_argument("--git-limit", type=float, default=120, help="full git history only if estimated under this (s)")
    ap.add_argument("--jobs", type=int, help="pass --jobs N to commitguard (default: its own default)")
    ap.add_argument("--commitguard", help="command to run instead of `commitguard` (e.g. 'python -m commitguard')")
    ap.add_argument("--report", type=Path, default=PROJECT / "BENCHMARKS.md", help="default: BENCHMARKS.md")
    ap.add_argument("--no-report", action="store_true", help="print the table only")
    a = ap.parse_args(argv)
    out = a.outdir.resolve()
    try:
        meta = json.loads((out / "meta.json").read_text())
    except (OSError, ValueError) as e:
        die(f"{out}/meta.json: {e} (run bench/generate.py {a.outdir} first)")
    n = meta["commits"]
    head0, branch = meta["head"], meta["branch"]
    repo_dir, keyring = out / "repo", out / "keyring"

    work = Path(tempfile.mkdtemp(prefix="cgbench-run-"))
    env = dict(os.environ, GNUPGHOME=str(out / "gnupg"), XDG_CACHE_HOME=str(work / "xdg-cache"), LC_ALL="C.UTF-8")
    env.pop("COMMITGUARD_KEYRING", None)
    cg = commitguard_cmd(a.commitguard)
    check_cli(cg, env)
    jobs = ["--jobs", str(a.jobs)] if a.jobs else []

    current = pygit2.Repository(str(repo_dir)).references[f"refs/heads/{branch}"].target
    if str(current) != head0:
        print(f"note: {branch} was at {current}, resetting it to the generated head {head0}")
        set_branch(out, branch, head0)

    base = ["verify", "--repo", str(repo_dir), "--keyring", str(keyring), "--format", "json"]
    rows: list[dict] = []
    try:
        # (a) cold
        cold_runs = []
        for i in range(a.repeat):
            res, data = run_verify(cg, base + jobs + ["--no-cache", "HEAD"], env, work, f"cold{i}")
            if i == 0:
                summary = check_summary(data, meta)
            cold_runs.append(res)
            print(f"cold {i + 1}/{a.repeat}: {res.wall:.2f} s, {res.rss_kb / 1024:.0f} MB", flush=True)
        cold = median_of(cold_runs)
        rows.append({"label": "commitguard verify, cold (`--no-cache`)", "commits": n, **cold})

        # (b) warm: fill the cache, then one new signed commit per run
        cache = work / "cache"
        cache_args = base + jobs + ["--cache", str(cache)]
        fill, data = run_verify(cg, cache_args + ["HEAD"], env, work, "fill")
        check_summary(data, meta, label=" (cache fill)")
        print(f"cache fill: {fill.wall:.2f} s", flush=True)
        rows.append({"label": "commitguard verify, filling an empty `--cache`", "commits": n, **median_of([fill])})
        same_runs = []
        for i in range(a.repeat):
            res, data = run_verify(cg, cache_args + ["HEAD"], env, work, f"same{i}")
            check_summary(data, meta, label=" (warm cache, no new commit)")
            same_runs.append(res)
        rows.append({"label": "commitguard verify, warm `--cache`, nothing new", "commits": n, **median_of(same_runs)})
        signers = gen.load_signers(out)
        warm_runs = []
        for i in range(a.repeat):
            new = add_signed_commit(out, head0, signers, i)
            set_branch(out, branch, new)
            res, data = run_verify(cg, cache_args + ["HEAD"], env, work, f"warm{i}")
            check_summary(data, meta, extra=1, label=" (warm cache + 1 commit)")
            first = (data.get("commits") or [{}])[0]
            if first.get("id") != new or first.get("status") != "trusted":
                die(f"the new commit {new} is not reported first as trusted: {json.dumps(first)[:500]}")
            warm_runs.append(res)
            print(f"warm {i + 1}/{a.repeat}: {res.wall:.2f} s", flush=True)
        set_branch(out, branch, head0)
        rows.append(
            {"label": "commitguard verify, warm `--cache` + 1 new signed commit", "commits": n + 1, **median_of(warm_runs)}
        )

        # (c) git's loop
        probe_n = min(300, n)
        probe = measure(git_cmd(out, probe_n), env, work, "git-probe")
        if probe.rc != 0:
            die(f"git log failed ({probe.rc}):\n{probe.err_tail()}")
        estimate = probe.wall * n / probe_n
        sampled = estimate > a.git_limit and a.git_sample < n
        git_n = a.git_sample if sampled else n
        print(
            f"git probe: {probe_n} commits in {probe.wall:.2f} s, full history estimated {estimate:.0f} s: "
            + (f"sampling the newest {git_n}" if sampled else "running the full history"),
            flush=True,
        )
        git_runs = []
        for i in range(a.repeat):
            res = measure(git_cmd(out, git_n if sampled else None), env, work, f"git{i}")
            if res.rc != 0:
                die(f"git log failed ({res.rc}):\n{res.err_tail()}")
            letters = git_letters(res)
            check_git(letters, meta, git_n)
            git_runs.append(res)
            print(f"git {i + 1}/{a.repeat}: {git_n} commits in {res.wall:.2f} s", flush=True)
        g = median_of(git_runs)
        label = "git log --format=%G?" + (f", newest {git_n} (sampled)" if sampled else ", full history")
        rows.append({"label": label, "commits": git_n, **g})
        git_full = g["wall"] * n / git_n
        if sampled:
            rows.append(
                {
                    "label": f"git log --format=%G?, full history (scaled from {git_n})",
                    "commits": n,
                    "wall": git_full,
                    "cpu": g["cpu"] * n / git_n,
                    "rss_mb": g["rss_mb"],
                    "walls": ["scaled"],
                }
            )
    finally:
        set_branch(out, branch, head0)

    ratio = git_full / cold["wall"]
    cg_str = " ".join(cg) if a.commitguard else "commitguard"
    j = " ".join(jobs) + " " if jobs else ""
    commands = [
        "export GNUPGHOME=OUTDIR/gnupg",
        f"{cg_str} verify --repo R --keyring K --format json {j}--no-cache HEAD          # cold",
        f"{cg_str} verify --repo R --keyring K --format json {j}--cache CACHEDIR HEAD    # fill, then warm",
        "git -C R -c gpg.ssh.allowedSignersFile=OUTDIR/allowed_signers log "
        + (f"-n{git_n} " if sampled else "")
        + "--format=%G? HEAD",
    ]
    extra = {
        "repeat": a.repeat,
        "ratio": ratio,
        "git_full": git_full,
        "git_basis": f"scaled (newest {git_n} commits x {n}/{git_n})" if sampled else "measured",
        "cold": cold["wall"],
        "summary": summary,
        "git_n": git_n,
        "git_letters": git_letters(git_runs[0]),
        "outdir": str(a.outdir),
        "argv": reproduce_args(argv, out),
        "commands": commands,
    }
    section = render(meta, rows, machine_info(), extra)
    print()
    print(section)
    if not a.no_report:
        write_report(a.report, section)
        print(f"wrote {a.report}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
