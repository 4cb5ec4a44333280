#!/usr/bin/env python3
"""Benchmark commitguard against git's own ``%G?`` loop and the cryptographic floor.

    python bench/run.py OUTDIR [--repeat 3] [--git-sample 2000] [--jobs N]
                        [--memory-outdirs DIR,DIR...] [--only PARTS] [--skip-git]

OUTDIR is what ``bench/generate.py OUTDIR`` wrote. Everything runs in one go
on that repository; each figure is the median of --repeat runs of a child
process, with its wall time, CPU time (user+sys of the child and its
waited-for descendants) and peak RSS (``os.wait4`` rusage: the largest
resident set of the child or any of its descendants). The parts (--only):

  verify    commitguard verify --no-cache over the whole history (cold);
            filling an empty --cache; warm with nothing new; warm after one
            new signed commit
  annotate  commitguard annotate of every package, with an empty --cache
            (cold, a fresh directory each run) and again with that cache
            (warm); the output must list every package
  check-pr  commitguard check-pr of a 5-commit pull request (new signed
            commits on top of the generated head, approved by another
            person with ``commitguard approve``) over the full history, with
            a warm --cache; wall time including the interpreter's start
  floor     bench/floor.py: every signature verified once with the bare
            primitives, one core, no git (see that file)
  git       git log --format=%G? (one gpg / ssh-keygen run per commit), over
            the whole history if that is estimated under --git-limit
            seconds, else over the newest --git-sample commits, scaled
  memory    (with --memory-outdirs) one cold verify on each further
            generated repository; peak RSS against commit count, fitted
            with a least-squares line and extrapolated to 1,000,000 commits

and writes the table, the ratios and which targets hold into BENCHMARKS.md
(the section between ``<!-- bench:verify -->`` and ``<!-- /bench:verify -->``).
Targets: git / commitguard cold >= 50x; commitguard cold wall and CPU
<= 1.5x the floor's on the same cores; a warm re-run with nothing new
< 0.3 s, with one new commit the same plus one verification; check-pr
< 0.3 s; annotate cold < 60 s and < 300 MB peak RSS. The 1,000,000-commit
figures are measured by bench/scale.py.

The benchmark repositories are left as they were: the extra commits are only
reachable while they are measured, then the branch is reset to the generated
head, and the approval note is removed again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
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
PARTS = ("verify", "annotate", "check-pr", "floor", "git", "memory")
NOTES_REF = "refs/notes/commitguard"
PR_REPOSITORY = "bench/nixpkgs"  # the repository name approvals carry
MILLION = 1_000_000

# targets of issue 8, tightened by issue 19
T_GIT_RATIO = 50.0
T_FLOOR_RATIO = 1.5  # issue 8: 2.0
T_CHECK_PR = 0.3  # issue 8: 1 s
T_ANNOTATE_COLD = 60.0
T_ANNOTATE_RSS_MB = 300.0  # issue 19
T_WARM = 0.3  # issue 19: a re-run with nothing new; one new commit: the same plus one verification
T_RSS_1M_MB = 1024.0


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
    """Run cmd with stdout/stderr to files, through bench/rusage.py: wall time
    and the child tree's rusage from wait4 (ru_maxrss is in KiB on Linux),
    not inflated by this process's own size (see rusage.py)."""
    out = workdir / f"{tag}.out"
    err = workdir / f"{tag}.err"
    report = workdir / f"{tag}.rusage.json"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.run([sys.executable, str(HERE / "rusage.py"), str(report), *cmd],
                           stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    if p.returncode != 0 or not report.exists():
        die(f"bench/rusage.py failed ({p.returncode}) for {shlex.join(cmd)}")
    r = json.loads(report.read_text())
    return Result(r["wall"], r["cpu"], r["maxrss_kb"], r["rc"], out, err)


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


def check_text(res: Result, total: int) -> None:
    """A ``--format text`` verify: exit 0 or 1, and its table names every commit."""
    if res.rc not in (0, 1):
        die(f"commitguard exited {res.rc}:\n{res.err_tail()}")
    head = res.stdout.read_text(errors="replace")[:4000]
    if f"{total} commits checked" not in head:
        die(f"the text report does not say {total} commits checked:\n{head[:800]}")


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
# The cryptographic floor (bench/floor.py in a child process)
# --------------------------------------------------------------------------


def run_floor(out: Path, meta: dict, env: dict, work: Path, tag: str) -> tuple[Result, dict]:
    res = measure([sys.executable, str(HERE / "floor.py"), str(out)], env, work, tag)
    if res.rc != 0:
        die(f"bench/floor.py exited {res.rc}:\n{res.err_tail()}")
    line = next((x for x in reversed(res.stdout.read_text().splitlines()) if x.startswith("floor-json: ")), None)
    if line is None:
        die(f"bench/floor.py printed no floor-json line; stderr:\n{res.err_tail()}")
    data = json.loads(line[len("floor-json: ") :])
    want = {k: meta["kinds"][k] for k in ("ssh", "openpgp-ed25519", "openpgp-rsa", "forge")}
    got = {k: v["count"] for k, v in data["kinds"].items()}
    if got != want or data["commits"] != meta["commits"] or data["unsigned"] != meta["kinds"]["unsigned"]:
        die(f"bench/floor.py verified {got} ({data['commits']} commits, {data['unsigned']} unsigned), expected {want}")
    return res, data


def run_floor_all_cores(out: Path, env: dict, work: Path, tag: str) -> dict:
    """The floor on every core at once: one floor.py per core, each on its
    share of the signatures, timed from one start signal. The figure to
    compare with a run that uses all cores: two cores of a VM are not always
    two times one core (shared caches, siblings on one physical core)."""
    cpus = sorted(os.sched_getaffinity(0))
    procs = []
    for k, cpu in enumerate(cpus):
        cmd = [sys.executable, str(HERE / "floor.py"), str(out), "--shard", f"{k}/{len(cpus)}", "--cpu", str(cpu),
               "--barrier", "--json"]  # fmt: skip
        err = open(work / f"{tag}-{k}.err", "wb")
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, text=True))
    for p in procs:
        if p.stdout.readline().strip() != "ready":
            die(f"bench/floor.py --barrier did not get ready; see {work}/{tag}-*.err")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    data = []
    for k, p in enumerate(procs):
        text, _ = p.communicate()
        if p.returncode != 0:
            die(f"bench/floor.py shard {k} exited {p.returncode}; see {work}/{tag}-{k}.err")
        line = next((x for x in reversed(text.splitlines()) if x.startswith("floor-json: ")), None)
        if line is None:
            die(f"bench/floor.py shard {k} printed no floor-json line")
        data.append(json.loads(line[len("floor-json: ") :]))
    return {
        "cores": len(cpus),
        "seconds": max(d["seconds"] for d in data),  # the slower shard decides
        "cpu": sum(d["cpu"] for d in data),
        "signatures": sum(d["signatures"] for d in data),
    }


# --------------------------------------------------------------------------
# annotate
# --------------------------------------------------------------------------


def check_annotate(data: dict, meta: dict, label: str) -> str:
    """Every package listed, and its chain covers every non-merge commit with
    the statuses generate.py made; die on nonsense."""
    pkgs = data.get("packages")
    if not isinstance(pkgs, list):
        die(f"annotate{label}: no packages list in the JSON (keys {sorted(data)})")
    problems = []
    if len(pkgs) != meta["packages"]:
        problems.append(f"{len(pkgs)} packages listed, the repository has {meta['packages']}")
    paths = {p.get("path") for p in pkgs}
    if len(paths) != len(pkgs) or not all(str(x).startswith("pkgs/by-name/") for x in paths):
        problems.append("package paths are not distinct pkgs/by-name/ paths")
    commits = [c for p in pkgs for c in (p.get("chain") or []) if c.get("role") == "commit"]
    by: dict[str, int] = {}
    for c in commits:
        by[c.get("status")] = by.get(c.get("status"), 0) + 1
    plain = meta["commits"] - meta["kinds"]["forge"]  # each non-merge commit touches one package
    tol = max(2, 0.01 * meta["commits"])
    if abs(len(commits) - plain) > tol:
        problems.append(f"the chains name {len(commits)} commits, the history has {plain} non-merge commits")
    for status, want in (("trusted", meta["expected_status"]["trusted"]), ("unsigned", meta["expected_status"]["unsigned"])):
        if abs(by.get(status, 0) - want) > tol:
            problems.append(f"{by.get(status, 0)} {status} commits in the chains, expected about {want}")
    if problems:
        die(f"commitguard annotate's output does not match the generated repository{label}:\n  " + "\n  ".join(problems))
    return f"{len(pkgs)} packages, {len(commits)} commit links, by status {json.dumps(by, sort_keys=True)}"


def run_annotate(cg, args, meta, env, work, tag, label) -> tuple[Result, str]:
    res, data = run_verify(cg, args, env, work, tag)
    return res, check_annotate(data, meta, label)


# --------------------------------------------------------------------------
# check-pr
# --------------------------------------------------------------------------

PR_RULE = """
# added by bench/run.py for the check-pr benchmark
[[rule]]
paths = ["pkgs/**"]
approvals = 1
approvers = ["role:committer", "maintainers"]
exclude_author = true
"""


def pr_keyring(keyring: Path, work: Path) -> Path:
    """A copy of the generated keyring with one review rule (check-pr needs one)."""
    dst = work / "keyring-pr"
    shutil.copytree(keyring, dst)
    with open(dst / "keyring.toml", "a") as f:
        f.write(PR_RULE)
    return dst


def make_pr(out: Path, head0: str, signers: gen.Signers, n: int) -> str:
    """n new signed commits on top of head0, each on the previous one; no ref moves."""
    tip = head0
    for i in range(n):
        tip = add_signed_commit(out, tip, signers, 100 + i)
    return tip


def approve_pr(cg, out: Path, signers: gen.Signers, base: str, head: str, env: dict) -> str:
    """A signed approval of head by a person who is not the commits' author
    (add_signed_commit signs as the first SSH-only person), stored in
    refs/notes/commitguard; returns the approver's id."""
    ssh_people = [p for p in signers.people if p["ssh"] and not p["openpgp"]]
    approver = ssh_people[1]
    key = out / "secrets" / approver["ssh"][0]
    cmd = cg + ["approve", "--repo", str(out / "repo"), "--base", base, "--head", head, "--ssh-key", str(key),
                "--repository", PR_REPOSITORY]  # fmt: skip
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        die(f"commitguard approve failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr[-2000:]}")
    return approver["id"]


def check_pr_json(data: dict, n: int, label: str) -> str:
    commits = data.get("commits") or []
    statuses = [c.get("status") for c in commits]
    if len(commits) != n or any(s != "trusted" for s in statuses):
        die(f"check-pr{label}: expected {n} trusted commits, got {statuses}")
    rules = data.get("rules") or []
    approved = sorted({who for r in rules for who in (r.get("approved_by") or [])})
    return f"ok {json.dumps(data.get('ok'))}, {n} commits trusted, approved by {approved or 'nobody'}"


def notes_target(repo_dir: Path) -> str | None:
    repo = pygit2.Repository(str(repo_dir))
    try:
        return str(repo.references[NOTES_REF].target)
    except KeyError:
        return None


def restore_notes(repo_dir: Path, target: str | None) -> None:
    repo = pygit2.Repository(str(repo_dir))
    if target is None:
        if NOTES_REF in repo.references:
            repo.references.delete(NOTES_REF)
    else:
        repo.references.create(NOTES_REF, pygit2.Oid(hex=target), force=True)


# --------------------------------------------------------------------------
# Peak memory against commit count
# --------------------------------------------------------------------------


def fit_line(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares y = a + b x; with two points, the line through them."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def load_meta(out: Path) -> dict:
    try:
        return json.loads((out / "meta.json").read_text())
    except (OSError, ValueError) as e:
        die(f"{out}/meta.json: {e} (run bench/generate.py {out} first)")


def reset_branch(out: Path, meta: dict) -> None:
    current = pygit2.Repository(str(out / "repo")).references[f"refs/heads/{meta['branch']}"].target
    if str(current) != meta["head"]:
        print(f"note: {out}: {meta['branch']} was at {current}, resetting it to the generated head {meta['head']}")
        set_branch(out, meta["branch"], meta["head"])


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


def _by(diff: float, unit: str) -> str:
    return f"{diff:.0f}{unit}" if unit == " MB" else f"{diff:.2f}{unit}"


def at_least(value: float, target: float, unit: str = "x") -> str:
    return "holds" if value >= target else f"**missed** by {_by(target - value, unit)}"


def at_most(value: float, target: float, unit: str = "x", strict: bool = False) -> str:
    ok = value < target if strict else value <= target
    return "holds" if ok else f"**missed** by {_by(value - target, unit)}"


KIND_LABELS = {
    "ssh": "SSH ed25519 (SSHSIG, libsodium `crypto_sign_open`)",
    "openpgp-ed25519": "OpenPGP ed25519 (Sequoia)",
    "openpgp-rsa": "OpenPGP RSA (Sequoia)",
    "forge": "forge merges, OpenPGP ed25519 (Sequoia)",
}


def targets_table(r: dict) -> tuple[list[str], list[str]]:
    """Markdown rows of the ratios/targets table, and one-line verdicts for stdout."""
    rows, verdicts = [], []

    def add(name, value, target, holds):
        rows.append(f"| {name} | {value} | {target} | {holds} |")
        if target != "":
            verdicts.append(f"{name}: {value} (target {target}): {holds.replace('**', '')}")

    n = r["commits"]
    if r.get("git_ratio") is not None:
        add(f"git / commitguard, cold, wall ({n} commits)", f"{r['git_ratio']:.1f}x", f">= {T_GIT_RATIO:.0f}x",
            at_least(r["git_ratio"], T_GIT_RATIO))  # fmt: skip
    else:
        add("git / commitguard, cold, wall", "not run", f">= {T_GIT_RATIO:.0f}x", "-")
    if r.get("floor_all_ratio") is not None:
        cores = r["floor_all"]["cores"]
        add(f"per-core cost vs floor, both using all {cores} cores: commitguard cold CPU / floor CPU",
            f"{r['floor_all_cpu_ratio']:.2f}x", f"<= {T_FLOOR_RATIO:.1f}x", at_most(r["floor_all_cpu_ratio"], T_FLOOR_RATIO))  # fmt: skip
        add(f"commitguard cold wall / floor wall, both on all {cores} cores",
            f"{r['floor_all_ratio']:.2f}x", f"<= {T_FLOOR_RATIO:.1f}x", at_most(r["floor_all_ratio"], T_FLOOR_RATIO))  # fmt: skip
    if r.get("floor_cpu_ratio") is not None:
        add("commitguard cold CPU (all cores) / floor CPU on one core, the other idle", f"{r['floor_cpu_ratio']:.2f}x", "", "")
        add(f"commitguard cold wall / (one-core floor wall / {r['cores']} cores)", f"{r['floor_wall_ratio']:.2f}x", "", "")
    else:
        add("per-core cost vs floor: commitguard cold CPU / floor CPU", "not run", f"<= {T_FLOOR_RATIO:.1f}x", "-")
    if r.get("warm_same") is not None:
        add(f"verify re-run, nothing new ({n} commits), warm, wall", fmt_s(r["warm_same"]), f"< {T_WARM} s",
            at_most(r["warm_same"], T_WARM, " s", strict=True))  # fmt: skip
        one = T_WARM + _one_verification(r)
        add(f"verify re-run, one new signed commit ({n + 1} commits), warm, wall", fmt_s(r["warm_one"]),
            f"< {T_WARM} s + one verification ({one:.3f} s)", at_most(r["warm_one"], one, " s", strict=True))  # fmt: skip
        if r.get("warm_same_text") is not None:
            add("same, nothing new, `--format text`, wall", fmt_s(r["warm_same_text"]), f"< {T_WARM} s",
                at_most(r["warm_same_text"], T_WARM, " s", strict=True))  # fmt: skip
            add("same, one new signed commit, `--format text`, wall", fmt_s(r["warm_one_text"]),
                f"< {T_WARM} s + one verification ({one:.3f} s)", at_most(r["warm_one_text"], one, " s", strict=True))  # fmt: skip
    else:
        add("verify re-run, nothing new, warm, wall", "not run", f"< {T_WARM} s", "-")
    if r.get("check_pr") is not None:
        add(f"check-pr, {r['pr_commits']}-commit PR over {n} commits, warm, wall", fmt_s(r["check_pr"]),
            f"< {T_CHECK_PR} s", at_most(r["check_pr"], T_CHECK_PR, " s", strict=True))  # fmt: skip
    else:
        add("check-pr, 5-commit PR, warm, wall", "not run", f"< {T_CHECK_PR} s", "-")
    if r.get("annotate_cold") is not None:
        add(f"annotate of every package ({r['packages']}), cold, wall", fmt_s(r["annotate_cold"]),
            f"< {T_ANNOTATE_COLD:.0f} s", at_most(r["annotate_cold"], T_ANNOTATE_COLD, " s", strict=True))  # fmt: skip
        add(f"annotate of every package ({r['packages']}), warm, wall", fmt_s(r["annotate_warm"]), "", "")
        add(f"annotate of every package ({r['packages']}), peak RSS (cold and warm)", f"{r['annotate_rss']:.0f} MB",
            f"< {T_ANNOTATE_RSS_MB:.0f} MB", at_most(r["annotate_rss"], T_ANNOTATE_RSS_MB, " MB", strict=True))  # fmt: skip
    else:
        add("annotate of every package, cold, wall", "not run", f"< {T_ANNOTATE_COLD:.0f} s", "-")
    if r.get("rss_1m") is not None:
        add("peak RSS of a cold verify at 1,000,000 commits (**extrapolated**; measured: bench/scale.py)",
            f"{r['rss_1m']:.0f} MB", "", "")  # fmt: skip
    return rows, verdicts


def _one_verification(r: dict) -> float:
    """What one signature costs the floor (the slowest kind's mean: the new commit may be any)."""
    kinds = (r.get("floor") or {}).get("kinds") or {}
    means = [v["mean_us"] for v in kinds.values() if v.get("mean_us")]
    return max(means) / 1e6 if means else 0.001


def render(meta: dict, rows: list[dict], info: dict, x: dict) -> str:
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    k = meta["kinds"]
    n = meta["commits"]
    lines = [
        START,
        "## commitguard vs `git log --format=%G?` and the cryptographic floor",
        "",
        f"Run {date} by `bench/run.py` on a synthetic nixpkgs-style repository made by `bench/generate.py`: "
        f"{n} commits, {meta['packages']} packages under `pkgs/by-name`, signatures "
        f"{k['ssh']} SSH ed25519, {k['openpgp-ed25519']} OpenPGP ed25519, "
        f"{k['openpgp-rsa']} OpenPGP RSA {meta['rsa_bits']}-bit, "
        f"{k['forge']} merge commits signed by a forge key (OpenPGP ed25519, standing for GitHub's web-flow "
        "key, which is RSA 4096: an ed25519 forge key makes the floor cheaper, so the comparison with it is "
        "conservative; keyring `policy.forge = \"accept\"`), "
        f"{k['unsigned']} unsigned; {meta['people']} keyring persons. "
        f"Generation took {meta['generation_seconds']:.0f} s.",
        "",
        f"Machine: {info['nproc']} CPU(s) available to the benchmark ({info['cpu']}), {info['mem']} RAM, {info['os']}; "
        f"Python {info['python']}; {info['git']}; {info['gpg']}; {info['ssh']}.",
        "",
        f"Each figure is the median of {x['repeat']} runs (all runs: last column), each run a fresh process "
        "(wall time includes the interpreter's start). Peak RSS is the largest resident set of the process or "
        "any of its children (`wait4` rusage), CPU is user+sys of the whole process tree. The OS page cache is "
        "warm in every run; \"cold\" means no commitguard cache (verdicts, history index).",
        "",
        "| run | commits | wall | commits/s | CPU | peak RSS | runs (wall, s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        rate = f"{r['commits'] / r['wall']:,.0f}" if r["wall"] > 0 and r.get("rate", True) else "-"
        rss = "-" if math.isnan(r["rss_mb"]) else f"{r['rss_mb']:.0f} MB"
        lines.append(
            f"| {r['label']} | {r['commits']} | {fmt_s(r['wall'])} | {rate} | "
            f"{fmt_s(r['cpu'])} | {rss} | {', '.join(str(w) for w in r['walls'])} |"
        )
    fl = x.get("floor")
    if fl:
        lines += [
            "",
            "The floor (`bench/floor.py`, one process pinned to one CPU, no git): every commit's signature and "
            "signed payload are read with pygit2 and mapped to the signing key (SSH key blob; OpenPGP issuer "
            "fingerprint against each certificate's primary and subkey fingerprints) *before* timing; timed is "
            "only the verification of each signature, once: for SSH the SSHSIG work (base64, signed-data blob, "
            "SHA-512 of the payload, Ed25519 through libsodium), for OpenPGP `pysequoia.verify` with exactly "
            "the signer's certificate. Every signature must verify. Its wall and CPU in the table are the timed "
            f"loop's; the whole process, extraction included, took {fmt_s(fl['process_wall'])} (peak RSS as in the table).",
            "",
            "| signatures | count | mean wall per signature | mean CPU per signature | total wall |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for kind in [k for k in KIND_LABELS if k in fl["kinds"]]:
            v = fl["kinds"][kind]
            mean = f"{v['mean_us']:.1f} µs" if v["mean_us"] is not None else "-"
            mcpu = f"{v['mean_cpu_us']:.1f} µs" if v["mean_cpu_us"] is not None else "-"
            lines.append(f"| {KIND_LABELS[kind]} | {v['count']} | {mean} | {mcpu} | {v['seconds']:.3f} s |")
        lines.append(
            f"| all | {fl['signatures']} | {fl['seconds'] / fl['signatures'] * 1e6:.1f} µs | "
            f"{fl['cpu'] / fl['signatures'] * 1e6:.1f} µs | {fl['seconds']:.3f} s |"
        )
    trows, _ = targets_table(x)
    lines += [
        "",
        "Ratios and targets:",
        "",
        "| figure | value | target | |",
        "| --- | ---: | --- | --- |",
        *trows,
    ]
    if x.get("git_ratio") is not None:
        lines += [
            "",
            f"git time for the whole history: {x['git_basis']} {fmt_s(x['git_full'])}, vs {fmt_s(x['cold'])} "
            "for commitguard's cold run.",
        ]
    if x.get("floor_cpu_ratio") is not None:
        lines += [
            "",
            f"Per-core cost: commitguard's cold run used {fmt_s(x['cold_cpu'])} of CPU (all processes) for what "
            f"takes the floor {fmt_s(fl['cpu'])} on one core. The wall ratio compares the cold wall time with "
            f"the floor spread perfectly over the {x['cores']} cores commitguard had.",
        ]
    if x.get("floor_all_ratio") is not None:
        fa = x["floor_all"]
        lines += [
            "",
            f"The floor on all {fa['cores']} cores at once (one `floor.py` per core, each pinned, each on every "
            f"{fa['cores']}th signature, timed from one start signal) took {fmt_s(fa['seconds'])}: "
            f"{fl['seconds'] / fa['seconds']:.2f}x faster than on one core ({fa['cores']}x if the cores were "
            f"independent). commitguard's cold run, on the same cores, took {x['floor_all_ratio']:.2f}x that, and "
            f"{x['floor_all_cpu_ratio']:.2f}x its CPU time. The per-core target is judged against this run of the "
            "floor: when both cores work, each operation costs more CPU time than with one core idle, for the floor "
            "as for commitguard, so commitguard's CPU on two cores against the floor's on one idle-neighboured core "
            "(the ratio without a target above) charges commitguard for the machine.",
            "",
            "Each ratio is the median over pairs made one right after the other (this machine's speed drifts by "
            "15% over minutes), as (cold wall, cold CPU, one-core floor CPU, all-core floor wall, all-core floor CPU) "
            "in seconds: "
            + ", ".join(str(t) for t in x.get("floor_pairs", [])) + ".",
        ]
    if x.get("mem_points"):
        pts = ", ".join(f"{c} commits: {m:.0f} MB" for c, m in x["mem_points"])
        lines += [
            "",
            f"Peak RSS of a cold verify: {pts}. Least-squares line: {x['mem_a']:.0f} MB + "
            f"{x['mem_b'] * 100000:.1f} MB per 100,000 commits; **extrapolated** to 1,000,000 commits: "
            f"{x['rss_1m']:.0f} MB (not measured).",
        ]
    lines.append("")
    if x.get("summary"):
        lines.append(f"commitguard verify's summary (cold run): {x['summary']}.")
    if x.get("annotate_summary"):
        lines.append(f"commitguard annotate (cold run): {x['annotate_summary']}.")
    if x.get("pr_summary"):
        lines.append(f"commitguard check-pr: {x['pr_summary']}.")
    if x.get("git_letters") is not None:
        lines.append(f"git's `%G?` letters ({x['git_n']} commits): {json.dumps(x['git_letters'], sort_keys=True)}.")
    gen_cmd = (
        f"python bench/generate.py {x['outdir']} --commits {n} --packages {meta['packages']} --rsa-bits {meta['rsa_bits']}"
        + (f" --seed {meta['seed']}" if meta["seed"] != 1 else "")
    )
    lines += [
        "",
        "Reproduce (from the project root, after `pip install -e .`):",
        "",
        "```sh",
        gen_cmd,
        *x["extra_generate"],
        f"python bench/run.py {x['outdir']} " + " ".join(x["argv"]),
        "```",
        "",
        "which times these commands (R = OUTDIR/repo, K = OUTDIR/keyring):",
        "",
        "```sh",
        *x["commands"],
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


def parse_parts(only: str | None, skip_git: bool, memory: bool) -> list[str]:
    if only:
        sel = [p.strip() for p in only.split(",") if p.strip()]
        bad = [p for p in sel if p not in PARTS]
        if bad:
            die(f"--only: unknown part(s) {bad}; choose from {', '.join(PARTS)}")
    else:
        sel = [p for p in PARTS if p != "memory" or memory]
    if skip_git and "git" in sel:
        sel.remove("git")
    if "memory" in sel and not memory:
        die("--only memory needs --memory-outdirs DIR[,DIR...]")
    return [p for p in PARTS if p in sel]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--git-sample", type=int, default=2000, help="commits git checks when the full history is too slow")
    ap.add_argument("--git-limit", type=float, default=120, help="full git history only if estimated under this (s)")
    ap.add_argument("--jobs", type=int, help="pass --jobs N to commitguard (default: its own default)")
    ap.add_argument("--commitguard", help="command to run instead of `commitguard` (e.g. 'python -m commitguard')")
    ap.add_argument("--pr-commits", type=int, default=5, help="commits of the check-pr pull request (default 5)")
    ap.add_argument(
        "--memory-outdirs",
        help="comma-separated further generate.py outputs: one cold verify each, peak RSS vs commits, "
        "extrapolated to 1,000,000 commits",
    )
    ap.add_argument("--only", help=f"comma-separated parts to run, of: {', '.join(PARTS)} (default: all)")
    ap.add_argument("--skip-git", action="store_true", help="skip git's %%G? loop (the slowest part)")
    ap.add_argument("--report", type=Path, default=PROJECT / "BENCHMARKS.md", help="default: BENCHMARKS.md")
    ap.add_argument("--no-report", action="store_true", help="print the table only")
    a = ap.parse_args(argv)
    if a.repeat < 1 or a.pr_commits < 1:
        ap.error("--repeat and --pr-commits must be at least 1")
    out = a.outdir.resolve()
    meta = load_meta(out)
    mem_dirs = [Path(d).resolve() for d in (a.memory_outdirs or "").split(",") if d.strip()]
    parts = parse_parts(a.only, a.skip_git, bool(mem_dirs))
    n = meta["commits"]
    head0, branch = meta["head"], meta["branch"]
    repo_dir, keyring = out / "repo", out / "keyring"

    work = Path(tempfile.mkdtemp(prefix="cgbench-run-"))
    env = dict(os.environ, GNUPGHOME=str(out / "gnupg"), XDG_CACHE_HOME=str(work / "xdg-cache"), LC_ALL="C.UTF-8")
    env.pop("COMMITGUARD_KEYRING", None)
    env.pop("COMMITGUARD_UPSTREAM_MIRROR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed commitguard has its bytecode written
    cg = commitguard_cmd(a.commitguard)
    check_cli(cg, env)
    jobs = ["--jobs", str(a.jobs)] if a.jobs else []
    cores = len(os.sched_getaffinity(0))
    if a.jobs:
        cores = min(cores, a.jobs)
    cg_str = " ".join(cg) if a.commitguard else "commitguard"
    j = " ".join(jobs) + " " if jobs else ""
    print(f"parts: {', '.join(parts)}; {cores} core(s) for commitguard; work dir {work}", flush=True)

    reset_branch(out, meta)
    notes0 = notes_target(repo_dir)

    rows: list[dict] = []
    x: dict = {"repeat": a.repeat, "commits": n, "packages": meta["packages"], "cores": cores, "pr_commits": a.pr_commits}
    commands = ["export GNUPGHOME=OUTDIR/gnupg"]
    extra_generate: list[str] = []
    cold = None
    base = ["verify", "--repo", str(repo_dir), "--keyring", str(keyring), "--format", "json"]
    try:
        # The floor runs are interleaved with the cold runs: this machine's speed
        # drifts by 15% over minutes, and a ratio means something only between
        # runs made in the same minute. Ratios are medians of these pairs.
        fl_runs, fl_data, all_runs = [], [], []
        if "verify" in parts:
            cold_runs = []
            for i in range(a.repeat):
                res, data = run_verify(cg, base + jobs + ["--no-cache", "HEAD"], env, work, f"cold{i}")
                if i == 0:
                    x["summary"] = check_summary(data, meta)
                cold_runs.append(res)
                print(f"verify cold {i + 1}/{a.repeat}: {res.wall:.2f} s, CPU {res.cpu:.2f} s, {res.rss_kb / 1024:.0f} MB", flush=True)
                if "floor" in parts:
                    fres, fdata = run_floor(out, meta, env, work, f"floor{i}")
                    fl_runs.append(fres)
                    fl_data.append(fdata)
                    all_runs.append(run_floor_all_cores(out, env, work, f"floor-all{i}"))
                    print(f"  floor: {fdata['seconds']:.3f} s on one core, {all_runs[-1]['seconds']:.3f} s on "
                          f"{all_runs[-1]['cores']} cores", flush=True)  # fmt: skip
            cold = median_of(cold_runs)
            rows.append({"label": "commitguard verify, cold (`--no-cache`)", "commits": n, **cold})
            x["cold"], x["cold_cpu"] = cold["wall"], cold["cpu"]

            cache = work / "cache"
            cache_args = base + jobs + ["--cache", str(cache)]
            fill, data = run_verify(cg, cache_args + ["HEAD"], env, work, "fill")
            check_summary(data, meta, label=" (cache fill)")
            print(f"verify cache fill: {fill.wall:.2f} s", flush=True)
            rows.append({"label": "commitguard verify, filling an empty `--cache`", "commits": n, **median_of([fill])})
            same_runs = []
            for i in range(a.repeat):
                res, data = run_verify(cg, cache_args + ["HEAD"], env, work, f"same{i}")
                check_summary(data, meta, label=" (warm cache, no new commit)")
                same_runs.append(res)
            same = median_of(same_runs)
            rows.append({"label": "commitguard verify, warm `--cache`, nothing new", "commits": n, **same})
            x["warm_same"] = same["wall"]
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
                print(f"verify warm + 1 commit {i + 1}/{a.repeat}: {res.wall:.2f} s", flush=True)
            set_branch(out, branch, head0)
            warm_one = median_of(warm_runs)
            rows.append({"label": "commitguard verify, warm `--cache` + 1 new signed commit", "commits": n + 1, **warm_one})
            x["warm_one"] = warm_one["wall"]
            # The same re-runs as CI reads them (--format text: exit code, counts, the untrusted listed),
            # where JSON lists all 100,000 commits (43 MB) and is mostly its own writing.
            text_args = [a if a != "json" else "text" for a in cache_args]
            text_same, text_one = [], []
            for i in range(a.repeat):
                res = measure(cg + text_args + ["HEAD"], env, work, f"same-text{i}")
                check_text(res, n)
                text_same.append(res)
            for i in range(a.repeat):
                set_branch(out, branch, add_signed_commit(out, head0, signers, 10 + i))
                res = measure(cg + text_args + ["HEAD"], env, work, f"warm-text{i}")
                check_text(res, n + 1)
                text_one.append(res)
            set_branch(out, branch, head0)
            for label, runs, key, count in (("nothing new", text_same, "warm_same_text", n),
                                            ("+ 1 new signed commit", text_one, "warm_one_text", n + 1)):
                m = median_of(runs)
                rows.append({"label": f"commitguard verify, warm `--cache` {label}, `--format text`", "commits": count, **m})
                x[key] = m["wall"]
            commands += [
                f"{cg_str} verify --repo R --keyring K --format json {j}--no-cache HEAD          # cold",
                f"{cg_str} verify --repo R --keyring K --format json {j}--cache CACHEDIR HEAD    # fill, then warm",
                f"{cg_str} verify --repo R --keyring K --format text {j}--cache CACHEDIR HEAD    # warm, as CI reads it",
            ]

        if "annotate" in parts:
            ann = ["annotate", "--repo", str(repo_dir), "--keyring", str(keyring), "--format", "json"] + jobs
            ann_cold = []
            for i in range(a.repeat):
                res, summ = run_annotate(cg, ann + ["--cache", str(work / f"ann-cache{i}")], meta, env, work, f"ann-cold{i}", " (cold)")
                if i == 0:
                    x["annotate_summary"] = summ
                ann_cold.append(res)
                print(f"annotate cold {i + 1}/{a.repeat}: {res.wall:.2f} s, {res.rss_kb / 1024:.0f} MB", flush=True)
            ann_warm = []
            for i in range(a.repeat):
                res, _ = run_annotate(cg, ann + ["--cache", str(work / "ann-cache0")], meta, env, work, f"ann-warm{i}", " (warm)")
                ann_warm.append(res)
                print(f"annotate warm {i + 1}/{a.repeat}: {res.wall:.2f} s", flush=True)
            c, w = median_of(ann_cold), median_of(ann_warm)
            rows.append({"label": f"commitguard annotate, all {meta['packages']} packages, cold (empty `--cache`)", "commits": n, **c})
            rows.append({"label": f"commitguard annotate, all {meta['packages']} packages, warm `--cache`", "commits": n, **w})
            x["annotate_cold"], x["annotate_warm"] = c["wall"], w["wall"]
            x["annotate_rss"] = max(c["rss_mb"], w["rss_mb"])
            commands.append(f"{cg_str} annotate --repo R --keyring K --format json {j}--cache ANNCACHE   # cold (empty), then warm")

        if "check-pr" in parts:
            signers = gen.load_signers(out)
            pr_head = make_pr(out, head0, signers, a.pr_commits)
            kr_pr = pr_keyring(keyring, work)
            approver = approve_pr(cg, out, signers, head0, pr_head, env)
            pr = ["check-pr", "--repo", str(repo_dir), "--keyring", str(kr_pr), "--base", head0, "--head", pr_head,
                  "--repository", PR_REPOSITORY, "--format", "json", "--cache", str(work / "pr-cache")] + jobs  # fmt: skip
            res, data = run_verify(cg, pr, env, work, "pr-warmup")
            check_pr_json(data, a.pr_commits, " (warm-up)")
            print(f"check-pr warm-up (fills the cache): {res.wall:.2f} s", flush=True)
            pr_runs = []
            for i in range(a.repeat):
                res, data = run_verify(cg, pr, env, work, f"pr{i}")
                summ = check_pr_json(data, a.pr_commits, "")
                pr_runs.append(res)
                print(f"check-pr warm {i + 1}/{a.repeat}: {res.wall:.2f} s (exit {res.rc})", flush=True)
            x["pr_summary"] = f"exit {pr_runs[0].rc}, {summ}"
            m = median_of(pr_runs)
            rows.append(
                {"label": f"commitguard check-pr, {a.pr_commits}-commit PR, warm `--cache`", "commits": a.pr_commits, **m, "rate": False}
            )
            x["check_pr"] = m["wall"]
            commands += [
                "# check-pr: K2 = K plus a [[rule]] (pkgs/**, 1 approval, role:committer or maintainers, exclude_author);",
                f"# PR = {a.pr_commits} new SSH-signed commits on the generated head, approved by {approver}:",
                f"{cg_str} approve --repo R --base HEAD0 --head PR --ssh-key OUTDIR/secrets/ssh/{approver}-0 --repository {PR_REPOSITORY}",
                f"{cg_str} check-pr --repo R --keyring K2 --base HEAD0 --head PR --repository {PR_REPOSITORY} "
                f"--format json {j}--cache PRCACHE   # once to warm, then timed",
            ]
            restore_notes(repo_dir, notes0)

        if "floor" in parts:
            for i in range(len(fl_runs), a.repeat):  # when the cold runs did not run them already
                res, data = run_floor(out, meta, env, work, f"floor{i}")
                fl_runs.append(res)
                fl_data.append(data)
                print(f"floor {i + 1}/{a.repeat}: {data['seconds']:.3f} s timed, CPU {data['cpu']:.3f} s", flush=True)
            fl = {
                "seconds": statistics.median(d["seconds"] for d in fl_data),
                "cpu": statistics.median(d["cpu"] for d in fl_data),
                "signatures": fl_data[0]["signatures"],
                "process_wall": statistics.median(r.wall for r in fl_runs),
                "kinds": {
                    kind: {
                        "count": v["count"],
                        "seconds": statistics.median(d["kinds"][kind]["seconds"] for d in fl_data),
                        "mean_us": statistics.median(d["kinds"][kind]["mean_us"] for d in fl_data) if v["count"] else None,
                        "mean_cpu_us": statistics.median(d["kinds"][kind]["mean_cpu_us"] for d in fl_data) if v["count"] else None,
                    }
                    for kind, v in fl_data[0]["kinds"].items()
                },
            }
            x["floor"] = fl
            rows.append(
                {
                    "label": "cryptographic floor (1 core, no git; timed loop only)",
                    "commits": n,
                    "wall": fl["seconds"],
                    "cpu": fl["cpu"],
                    "rss_mb": statistics.median(r.rss_kb for r in fl_runs) / 1024,
                    "walls": [d["seconds"] for d in fl_data],
                }
            )
            commands.append("python bench/floor.py OUTDIR     # the floor: prints per-kind means and the timed totals")
            for i in range(len(all_runs), a.repeat):
                d = run_floor_all_cores(out, env, work, f"floor-all{i}")
                all_runs.append(d)
                print(f"floor on {d['cores']} cores {i + 1}/{a.repeat}: {d['seconds']:.3f} s timed", flush=True)
            for d in all_runs:
                if d["signatures"] != fl["signatures"]:
                    die(f"the floor on all cores verified {d['signatures']} signatures, not {fl['signatures']}")
            fl_all = {
                "cores": all_runs[0]["cores"],
                "seconds": statistics.median(d["seconds"] for d in all_runs),
                "cpu": statistics.median(d["cpu"] for d in all_runs),
            }
            x["floor_all"] = fl_all
            rows.append(
                {
                    "label": f"cryptographic floor ({fl_all['cores']} cores at once, one shard each; timed loops only)",
                    "commits": n,
                    "wall": fl_all["seconds"],
                    "cpu": fl_all["cpu"],
                    "rss_mb": float("nan"),
                    "walls": [d["seconds"] for d in all_runs],
                }
            )
            commands.append(
                "python bench/floor.py OUTDIR --shard K/2 --cpu K --barrier   # K = 0, 1 at once: the floor on both cores"
            )
            if cold is not None:
                pairs = list(zip(cold_runs, fl_data, all_runs))
                x["floor_cpu_ratio"] = statistics.median(c.cpu / f["cpu"] for c, f, _ in pairs)
                x["floor_wall_ratio"] = statistics.median(c.wall / (f["seconds"] / cores) for c, f, _ in pairs)
                x["floor_all_ratio"] = statistics.median(c.wall / f2["seconds"] for c, _, f2 in pairs)
                x["floor_all_cpu_ratio"] = statistics.median(c.cpu / f2["cpu"] for c, _, f2 in pairs)
                x["floor_pairs"] = [
                    (round(c.wall, 2), round(c.cpu, 2), round(f["cpu"], 2), round(f2["seconds"], 2), round(f2["cpu"], 2))
                    for c, f, f2 in pairs
                ]

        if "git" in parts:
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
            x["git_full"] = git_full
            x["git_basis"] = f"scaled (newest {git_n} commits x {n}/{git_n})" if sampled else "measured"
            x["git_n"], x["git_letters"] = git_n, git_letters(git_runs[0])
            if cold is not None:
                x["git_ratio"] = git_full / cold["wall"]
            commands.append(
                "git -C R -c gpg.ssh.allowedSignersFile=OUTDIR/allowed_signers log "
                + (f"-n{git_n} " if sampled else "")
                + "--format=%G? HEAD"
            )

        if "memory" in parts:
            points = [(n, cold["rss_mb"])] if cold is not None else []
            for d in mem_dirs:
                if d == out:
                    continue
                m = load_meta(d)
                reset_branch(d, m)
                env_d = dict(env, GNUPGHOME=str(d / "gnupg"))
                args = ["verify", "--repo", str(d / "repo"), "--keyring", str(d / "keyring"), "--format", "json"]
                res, data = run_verify(cg, args + jobs + ["--no-cache", "HEAD"], env_d, work, f"mem-{m['commits']}")
                check_summary(data, m, label=f" ({d})")
                print(f"memory: {m['commits']} commits ({d}): cold verify {res.wall:.2f} s, {res.rss_kb / 1024:.0f} MB", flush=True)
                rows.append(
                    {"label": f"commitguard verify, cold, `{d}` (memory)", "commits": m["commits"], **median_of([res]),
                     "walls": ["1 run"]}  # fmt: skip
                )
                points.append((m["commits"], res.rss_kb / 1024))
                extra_generate.append(
                    f"python bench/generate.py {d} --commits {m['commits']} --packages {m['packages']} --rsa-bits {m['rsa_bits']}"
                )
            if len({c for c, _ in points}) < 2:
                die("--memory-outdirs: need peak RSS at two different commit counts (run verify too, or give two dirs)")
            points.sort()
            ma, mb = fit_line(points)
            x.update(mem_points=points, mem_a=ma, mem_b=mb, rss_1m=ma + mb * MILLION)
            commands.append(f"{cg_str} verify --repo D/repo --keyring D/keyring --format json {j}--no-cache HEAD   # each D of --memory-outdirs")
    finally:
        set_branch(out, branch, head0)
        restore_notes(repo_dir, notes0)

    x.update(outdir=str(a.outdir), argv=reproduce_args(argv, out), commands=commands, extra_generate=extra_generate)
    section = render(meta, rows, machine_info(), x)
    print()
    print(section)
    _, verdicts = targets_table(x)
    print("Targets:")
    for v in verdicts:
        print("  " + v)
    if not a.no_report:
        write_report(a.report, section)
        print(f"wrote {a.report}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
