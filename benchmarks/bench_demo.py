"""Benchmark of `coreatlas demo`, the job `make demo` runs (not a timed test: CI never asserts a time).

Runs the installed command in a fresh process, as a user does, in a temporary folder (the report
goes there, not into the repository), and prints every run's wall time and CPU time, their
medians and the load average of the machine before the runs (on a busy machine the wall time
exceeds the CPU time). Target (issue 3): under 10 s, offline.

    python benchmarks/bench_demo.py [--repeat N] [--command PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_COMMAND = Path(sys.executable).with_name("coreatlas")


def run_once(command: Path, folder: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one whole `coreatlas demo` process."""
    folder.mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(command), "demo", "--out-dir", str(folder / "coreatlas-report")], cwd=folder,
                          capture_output=True, text=True, env=dict(os.environ, COLUMNS="120"))  # fmt: skip
    if done.returncode:
        sys.exit(f"coreatlas demo failed (exit code {done.returncode}):\n{done.stderr}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--command", type=Path, default=DEFAULT_COMMAND, help="the coreatlas executable (default: beside this Python)")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        runs = [run_once(args.command, Path(tmp) / str(i)) for i in range(args.repeat)]
    times, cpu = [w for w, _ in runs], [c for _, c in runs]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before the runs: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("coreatlas demo (whole process: five datasets, the combined materials shock, the HTML report)")
    print(f"  wall time: runs {', '.join(f'{t:.1f}' for t in times)} s, median {statistics.median(times):.1f} s   (target < 10 s)")
    print(f"  CPU time (user + system): runs {', '.join(f'{t:.1f}' for t in cpu)} s, median {statistics.median(cpu):.1f} s")


if __name__ == "__main__":
    main()
