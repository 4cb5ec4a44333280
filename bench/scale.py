#!/usr/bin/env python3
"""commitguard at nixpkgs scale, measured: verify and annotate on a 1,000,000-commit repository.

    python bench/scale.py OUTDIR [--repeat 3] [--skip-annotate] [--skip-cold]

OUTDIR is what ``bench/generate.py OUTDIR --commits 1000000 --packages 100000``
wrote (338 s on this machine). Every figure is a fresh child process timed by
bench/rusage.py (wall, CPU of the process tree, peak RSS of any process of
the tree), as bench/run.py times the 100,000-commit runs:

  verify cold         ``--no-cache``, the whole history (one run)
  verify fill         an empty ``--cache``: verdicts and the verified frontier
  verify warm         nothing new, ``--format text`` (what CI reads: exit code
                      and summary) and ``--format json`` (every commit listed:
                      about 430 MB of output, so not held to the re-run target)
  verify warm + 1     one new SSH-signed commit on the head, ``--format text``
  annotate cold/warm  every package, with an empty ``--cache``, then again

and writes the table with the issue-19 targets into BENCHMARKS.md between
``<!-- bench:scale -->`` and ``<!-- /bench:scale -->``. The repository is left
as it was (the branch is reset to the generated head).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate as gen  # noqa: E402
import run  # noqa: E402

START, END = "<!-- bench:scale -->", "<!-- /bench:scale -->"
T_COLD_S, T_COLD_RSS_MB = 180.0, 1024.0
T_ANNOTATE_S, T_ANNOTATE_RSS_MB = 600.0, 2048.0


def text_run(cg, args, env, work, tag, total: int):
    """A ``--format text`` run: exit 0 or 1, and the summary line names every commit."""
    res = run.measure(cg + args, env, work, tag)
    if res.rc not in (0, 1):
        run.die(f"commitguard exited {res.rc}:\n{res.err_tail()}")
    head = res.stdout.read_text(errors="replace")[:4000]
    if not re.search(rf"\b{total} commits checked", head):
        run.die(f"{tag}: the text report does not say {total} commits checked:\n{head[:800]}")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-annotate", action="store_true")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--commitguard", help="command to run instead of `commitguard`")
    ap.add_argument("--report", type=Path, default=HERE.parent / "BENCHMARKS.md")
    ap.add_argument("--no-report", action="store_true")
    a = ap.parse_args(argv)
    out = a.outdir.resolve()
    meta = run.load_meta(out)
    n, head0, branch = meta["commits"], meta["head"], meta["branch"]
    work = Path(tempfile.mkdtemp(prefix="cgbench-scale-"))
    env = dict(os.environ, GNUPGHOME=str(out / "gnupg"), XDG_CACHE_HOME=str(work / "xdg-cache"), LC_ALL="C.UTF-8")
    env.pop("COMMITGUARD_KEYRING", None)
    env.pop("COMMITGUARD_UPSTREAM_MIRROR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed commitguard has its bytecode written
    cg = run.commitguard_cmd(a.commitguard)
    run.check_cli(cg, env)
    run.reset_branch(out, meta)
    base = ["verify", "--repo", str(out / "repo"), "--keyring", str(out / "keyring")]
    rows: list[dict] = []
    targets: list[tuple[str, str, str, str]] = []

    def row(label, commits, results, **extra):
        m = run.median_of(results)
        rows.append({"label": label, "commits": commits, **m, **extra})
        print(f"{label}: {m['wall']:.2f} s, CPU {m['cpu']:.2f} s, {m['rss_mb']:.0f} MB", flush=True)
        return m

    try:
        if not a.skip_cold:
            res, data = run.run_verify(cg, base + ["--format", "json", "--no-cache", "HEAD"], env, work, "cold")
            summary = run.check_summary(data, meta)
            del data
            m = row("commitguard verify, cold (`--no-cache`)", n, [res])
            targets.append(("verify cold, wall", run.fmt_s(m["wall"]), f"< {T_COLD_S:.0f} s",
                            run.at_most(m["wall"], T_COLD_S, " s", strict=True)))  # fmt: skip
            targets.append(("verify cold, peak RSS", f"{m['rss_mb']:.0f} MB", "< 1 GiB",
                            run.at_most(m["rss_mb"], T_COLD_RSS_MB, " MB", strict=True)))  # fmt: skip
            print(f"summary: {summary}", flush=True)
        cache = ["--cache", str(work / "cache")]
        res, data = run.run_verify(cg, base + ["--format", "json"] + cache + ["HEAD"], env, work, "fill")
        run.check_summary(data, meta, label=" (fill)")
        del data
        row("commitguard verify, filling an empty `--cache`", n, [res])
        text = [text_run(cg, base + cache + ["HEAD"], env, work, f"warm-text{i}", n) for i in range(a.repeat)]
        m = row("commitguard verify, warm, nothing new, `--format text`", n, text)
        targets.append(("verify re-run, nothing new, text, wall", run.fmt_s(m["wall"]), f"< {run.T_WARM} s",
                        run.at_most(m["wall"], run.T_WARM, " s", strict=True)))  # fmt: skip
        js = []
        for i in range(a.repeat):
            res, data = run.run_verify(cg, base + ["--format", "json"] + cache + ["HEAD"], env, work, f"warm-json{i}")
            run.check_summary(data, meta, label=" (warm json)")
            del data
            js.append(res)
        row("commitguard verify, warm, nothing new, `--format json` (every commit listed)", n, js)
        signers = gen.load_signers(out)
        plus = []
        for i in range(a.repeat):
            new = run.add_signed_commit(out, head0, signers, i)
            run.set_branch(out, branch, new)
            plus.append(text_run(cg, base + cache + ["HEAD"], env, work, f"warm-one{i}", n + 1))
        run.set_branch(out, branch, head0)
        m = row("commitguard verify, warm + 1 new signed commit, `--format text`", n + 1, plus)
        targets.append(("verify re-run, one new signed commit, text, wall", run.fmt_s(m["wall"]),
                        f"< {run.T_WARM} s + one verification",
                        run.at_most(m["wall"], run.T_WARM + 0.001, " s", strict=True)))  # fmt: skip
        if not a.skip_annotate:
            ann = ["annotate", "--repo", str(out / "repo"), "--keyring", str(out / "keyring"), "--format", "json",
                   "--cache", str(work / "ann-cache")]  # fmt: skip
            res, summ = run.run_annotate(cg, ann, meta, env, work, "ann-cold", " (cold)")
            m = row(f"commitguard annotate, all {meta['packages']} packages, cold (empty `--cache`)", n, [res])
            targets.append(("annotate of every package, cold, wall", run.fmt_s(m["wall"]), f"< {T_ANNOTATE_S:.0f} s",
                            run.at_most(m["wall"], T_ANNOTATE_S, " s", strict=True)))  # fmt: skip
            targets.append(("annotate of every package, cold, peak RSS", f"{m['rss_mb']:.0f} MB", "< 2 GiB",
                            run.at_most(m["rss_mb"], T_ANNOTATE_RSS_MB, " MB", strict=True)))  # fmt: skip
            print(f"annotate: {summ}", flush=True)
            warm = [run.run_annotate(cg, ann, meta, env, work, f"ann-warm{i}", " (warm)")[0] for i in range(a.repeat)]
            row(f"commitguard annotate, all {meta['packages']} packages, warm `--cache`", n, warm)
    finally:
        run.set_branch(out, branch, head0)

    info = run.machine_info()
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## At nixpkgs scale: 1,000,000 commits, measured",
        "",
        f"Run {date} by `bench/scale.py` on `bench/generate.py`'s repository of {n} commits and "
        f"{meta['packages']} packages (the same mix as the 100,000-commit one), on {info['nproc']} CPU(s) "
        f"({info['cpu']}), {info['mem']} RAM; Python {info['python']}; {info['git']}. Timed as in the table "
        "above: a fresh process per run, wall, CPU of the process tree, peak RSS of any process of the tree; "
        "medians where there are several runs.",
        "",
        "| run | commits | wall | CPU | peak RSS | runs (wall, s) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['label']} | {r['commits']} | {run.fmt_s(r['wall'])} | {run.fmt_s(r['cpu'])} | "
                     f"{r['rss_mb']:.0f} MB | {', '.join(str(w) for w in r['walls'])} |")  # fmt: skip
    lines += ["", "| figure | value | target | |", "| --- | ---: | --- | --- |"]
    lines += [f"| {name} | {value} | {target} | {holds} |" for name, value, target, holds in targets]
    lines += [
        "",
        "Reproduce:",
        "",
        "```sh",
        f"python bench/generate.py {a.outdir} --commits {n} --packages {meta['packages']} --rsa-bits {meta['rsa_bits']}",
        f"python bench/scale.py {a.outdir} --repeat {a.repeat}",
        "```",
        END,
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not a.no_report:
        text = a.report.read_text() if a.report.exists() else "# Benchmarks\n"
        if START in text and END in text:
            text = text[: text.index(START)] + section + text[text.index(END) + len(END) :].lstrip("\n")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        a.report.write_text(text)
        print(f"wrote {a.report}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
