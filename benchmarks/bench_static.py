"""Benchmark of the static engine on the ETO chip dataset (not a timed test).

Reports the median of repeated runs for: loading the ETO folder, computing every exposure
metric (exposure table + chokepoints), and running every single-country removal scenario
(with binding paths, as the CLI reports them) and the same batched for ensembles.
Targets (issue 2): all single-country scenarios together under 1 s; loading under 0.5 s.

    python benchmarks/bench_static.py [ETO_FOLDER] [--repeat N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from coreatlas.analysis.exposure import chokepoints, exposure
from coreatlas.analysis.propagate import build_propagator, run_scenario
from coreatlas.io.eto import read_eto
from coreatlas.model.scenario import Scenario

DEFAULT_ETO = Path(__file__).resolve().parents[2] / "shared" / "data" / "eto-chip-explorer"


def median_seconds(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eto", nargs="?", type=Path, default=DEFAULT_ETO)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    tm = read_eto(args.eto)
    codes = [c for c in tm.country_codes if c not in tm.residual_codes]
    scenarios = [Scenario(code, remove_countries=(code,)) for code in codes]

    def every_scenario_with_paths():
        propagator = build_propagator(tm)
        for scenario in scenarios:
            run_scenario(tm, scenario, propagator=propagator)

    load = median_seconds(lambda: read_eto(args.eto), args.repeat)
    metrics = median_seconds(lambda: (exposure(tm), chokepoints(tm), chokepoints(tm, by="firm")), args.repeat)
    single = median_seconds(every_scenario_with_paths, args.repeat)
    propagator = build_propagator(tm)
    batched = median_seconds(lambda: propagator.run_evaluation(scenarios), args.repeat)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"ETO map: {len(tm.nodes)} nodes, {len(tm.provision)} provision rows, {len(codes)} countries")
    print(f"load ETO folder:                  {load * 1000:8.1f} ms   (target < 500 ms)")
    print(f"all exposure metrics:             {metrics * 1000:8.1f} ms")
    print(f"{len(scenarios)} single-country scenarios:   {single * 1000:8.1f} ms   (target < 1000 ms; with binding paths)")
    print(f"  same, batched (no paths):       {batched * 1000:8.1f} ms   = {len(scenarios) / batched:,.0f} scenarios/s")


if __name__ == "__main__":
    main()
