"""Benchmark of the risk layer (not a timed test).

1. TTR (performance impact at each node's TTR) and TTS for every node of a generated 3-tier
   network of 1,700 nodes (50 products, 400 tier-1, 1,250 tier-2 sites, 1-3 alternatives
   per material). Target (issue 5): under 30 s on 2 cores; the Databricks Pyomo accelerator
   needs about an hour on one node and about a minute on a 16-core cluster (notes §3.3).
2. Monte Carlo on the ETO chip map: one hazard per named country (p = 0.05, 10-90 days,
   20-100% lost), 100,000 years, serial; static scenarios (events) per second.
   Target: at least 10,000 per second.

    python benchmarks/bench_risk.py [ETO_FOLDER] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.propagate import build_propagator
from coreatlas.analysis.risk import risk_table
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.io.eto import read_eto

DEFAULT_ETO = Path(__file__).resolve().parents[2] / "shared" / "data" / "eto-chip-explorer"


def ttr_tts_seconds() -> tuple[float, int, int]:
    net = multi_tier_network((50, 400, 1250), seed=7)
    start = time.perf_counter()
    table = risk_table(net)
    return time.perf_counter() - start, net.n_nodes, int(table.critical.sum())


def ensemble_rate(eto: Path, years: int) -> tuple[float, int, float]:
    tm = read_eto(eto)
    codes = [c for c in tm.country_codes if c not in tm.residual_codes and c not in tm.region_members]
    days, depth = mc.Distribution(kind="uniform", params=(10, 90)), mc.Distribution(kind="uniform", params=(0.2, 1.0))
    hazards = [mc.Hazard(name=c, targets=(c,), annual_probability=0.05, duration_days=days, depth=depth) for c in codes]
    model = mc.ensemble_model(build_propagator(tm), hazards)
    start = time.perf_counter()
    chunks = [mc.simulate_chunk(model, hazards, years, 1, c) for c in range(mc.chunk_count(years))]
    seconds = time.perf_counter() - start
    result = mc.combine(model, hazards, chunks, 1)
    return result.events / seconds, result.events, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eto", nargs="?", type=Path, default=DEFAULT_ETO)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--years", type=int, default=100_000)
    args = parser.parse_args()
    runs = [ttr_tts_seconds() for _ in range(args.repeat)]
    seconds = statistics.median(r[0] for r in runs)
    print(f"TTR + TTS, every node of a {runs[0][1]:,}-node 3-tier network: median {seconds:.1f} s over {args.repeat} runs "
          f"({runs[0][2]} nodes with TTR > TTS; target < 30 s; Pyomo accelerator: ~1 h on one node)")  # fmt: skip
    rates = [ensemble_rate(args.eto, args.years) for _ in range(args.repeat)]
    rate = statistics.median(r[0] for r in rates)
    print(f"Monte Carlo on ETO, {args.years:,} years, {rates[0][1]:,} events: median {rate:,.0f} static scenarios/s (target >= 10,000)")


if __name__ == "__main__":
    main()
