"""Every command on a generated technology map of N nodes (default 10,000): wall time and peak
memory (the child's maximum resident set) per command, each in its own process.

    python benchmarks/bench_scale.py                       # 10,000 nodes, every command
    python benchmarks/bench_scale.py --nodes 3000 --only rank,ttr --timeout 600

The map is :func:`coreatlas.analysis.synthetic_map.synthetic_map` (seeded), written as a native
folder with :func:`coreatlas.io.native.write_native`. A command that runs past ``--timeout``
seconds is stopped and reported as such (its memory up to then is still shown).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coreatlas.analysis.synthetic_map import synthetic_map
from coreatlas.io.native import write_native

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENTRY = "import sys; from coreatlas.cli import app; sys.argv[0] = 'coreatlas'; app()"


def commands(folder: Path, compare: int) -> dict[str, list[str]]:
    data = ["--data", str(folder)]
    return {
        "validate": ["validate", *data],
        "scenario": ["scenario", *data, "--remove-country", "TWN", "--json"],
        "exposure": ["exposure", *data, "--json"],
        "chokepoints": ["chokepoints", *data, "--json"],
        "simulate": ["simulate", *data, "--remove-country", "TWN", "--days", "60", "--json"],
        "montecarlo": ["montecarlo", *data, "--hazards", str(EXAMPLES / "hazards-chips.yaml"), "--years", "10000", "--json"],
        "rank": ["risk", "rank", *data, "--compare", str(compare), "--json"],
        "ttr": ["risk", "ttr", *data, "--json"],
        "tts": ["risk", "tts", *data, "--json"],
    }


def measure(argv: list[str], timeout: float) -> tuple[float, float, str]:
    """``(seconds, peak MB, status)`` of ``coreatlas argv`` in a child process."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", ENTRY, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)  # fmt: skip
    status = "ok"
    deadline = start + timeout
    while True:
        pid, code, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, code, usage = os.wait4(child.pid, 0)
            status = f"stopped after {timeout:.0f} s"
            break
        time.sleep(0.2)
    if status == "ok" and code != 0:
        status = f"exit {os.waitstatus_to_exitcode(code)}: {child.stderr.read().decode(errors='replace').strip()[-200:]}"
    return time.perf_counter() - start, usage.ru_maxrss / 1024, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="Comma-separated commands (default: all).")
    parser.add_argument("--compare", type=int, default=200, help="Firms the ranking compares (risk rank --compare).")
    parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds per command before it is stopped.")
    args = parser.parse_args()
    tm = synthetic_map(args.nodes, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_native(tm, Path(tmp) / "map")
        print(f"map: {len(tm.nodes):,} nodes, {len(tm.provision):,} provision rows, {len(tm.relations):,} relations, "
              f"{len(tm.providers):,} providers (seed {args.seed})")  # fmt: skip
        print(f"{'command':<12} {'seconds':>9} {'peak MB':>9}  status")
        chosen = [c for c in args.only.split(",") if c] or None
        for name, argv in commands(folder, args.compare).items():
            if chosen is None or name in chosen:
                seconds, peak, status = measure(argv, args.timeout)
                print(f"{name:<12} {seconds:>9.1f} {peak:>9.0f}  {status}", flush=True)


if __name__ == "__main__":
    main()
