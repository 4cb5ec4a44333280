#!/usr/bin/env python3
"""Run a command and report its wall time and its process tree's rusage.

    python bench/rusage.py REPORT.json CMD [ARGS...]

Why a separate small process: on Linux a child's ru_maxrss starts from the
resident set of the process that forked it (the page tables are copied, and
exec keeps the high-water mark), so a command started from bench/run.py, which
grows to hundreds of MB, would be charged run.py's memory. Started from this
small launcher, it is charged this launcher's ~10 MB at most. Wall time is
measured here from fork to exit, so the launcher's own start-up is not in it.
"""

import json
import os
import sys
import time


def main() -> int:
    report, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(report, "w") as f:
        json.dump({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss,
                   "rc": os.waitstatus_to_exitcode(status)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
