"""Benchmark of the firm-level dynamic engine at Japanese scale (not a timed test).

Generates a network of 1,000,000 firms and 5,000,000 links (scale-free in- and out-degree,
1,400 sectors, seed 12345, link weights independent of output as in the reference notes,
../shared/research/propagation_models.md section 7.3), shocks 1% of firms by 50% with
linear recovery over 30 days, and simulates 30 days once per rationing rule, each in a
fresh process so that its peak memory is its own. Prints seconds per simulated day
(median over days, and mean), peak resident memory, and the same step written in plain
numpy (no numba) for the proportional rule, checked to give the same totals.

Targets (issue 4), 2-core machine: <= 0.3 s/day proportional, <= 0.6 s/day priority,
< 3 GB; generation under a minute. The C++ reference simulator measured 4.6 s/day
(proportional) and 4 s rising past 200 s/day (priority) on the same size (notes, 7.3).

    python benchmarks/bench_dynamics.py [--firms N] [--links M] [--days D]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from coreatlas.analysis.dynamics import dynamic_model, initial_state, run
from coreatlas.analysis.synthetic import scale_free_network
from coreatlas.io.firmdata import read_network, write_network
from coreatlas.model.dynamics import RATIONING_RULES, DynamicsParams
from coreatlas.model.firms import Shocks

CPP_REFERENCE = {"proportional": "4.6 s/day", "priority": "4 s rising past 200 s/day"}


def shocks_for(n_firms: int) -> Shocks:
    rng = np.random.default_rng(1)
    return Shocks.of(rng.choice(n_firms, n_firms // 100, replace=False), 0.5)


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


def numpy_step_seconds(network, shocks, days: int) -> tuple[float, np.ndarray]:
    """The proportional day in plain numpy (same equations, no fused kernels)."""
    net = network.prepare()
    model = dynamic_model(net, shocks, DynamicsParams(recovery="linear", recovery_days=30))
    state = initial_state(model)
    base, n = net.baseline_output, net.n_firms
    pool = np.repeat(np.arange(net.pool_flow.size), np.diff(net.pool_start))
    S, Od, P = state.inventory, state.delivered, state.production
    delta = np.zeros(n)
    delta[shocks.firm] = shocks.capacity_loss
    delta0 = delta.copy()
    totals, times = [], []
    for _ in range(days):
        start = time.perf_counter()
        ratio = P / base
        pooled = np.bincount(pool, S, net.pool_flow.size)
        used = S * (net.pool_flow * ratio[net.pool_client] / np.where(pooled > 0, pooled, 1))[pool]
        S = np.maximum(0.0, S + Od - used)
        r = ratio[net.client]
        orders = np.maximum(0.0, net.flow * r + (15.0 * net.flow * r - S) / 6.0)
        D = np.bincount(net.supplier, orders, n) + net.final_demand
        limit = np.full(n, np.inf)
        np.minimum.at(limit, net.pool_client, np.bincount(pool, S, net.pool_flow.size) / net.pool_flow)
        P = np.minimum(np.minimum((1 - delta) * base, np.where(np.isinf(limit), np.inf, limit * base)), D)
        Od = orders * (P / D)[net.supplier]
        delta = np.maximum(0.0, delta - delta0 / 30.0)
        times.append(time.perf_counter() - start)
        totals.append(P.sum())
    return statistics.median(times), np.array(totals)


def one_rule(folder: Path, rule: str, days: int) -> dict:
    """Run one rule on the saved network (in this process) and report."""
    net = read_network(folder).prepare()
    shocks = shocks_for(net.n_firms)
    params = DynamicsParams(rationing=rule, recovery="linear", recovery_days=30)
    run(net, shocks, 1, params)  # compile (numba caches to disk; first use loads it)
    stamps = [time.perf_counter()]
    result = run(net, shocks, days, params, progress=lambda done, total: stamps.append(time.perf_counter()))
    per_day = np.diff(stamps)
    production = result.to_frame()["production"].to_numpy()
    report = {
        "rule": rule,
        "median_s_per_day": float(np.median(per_day)),
        "mean_s_per_day": float(per_day.mean()),
        "max_s_per_day": float(per_day.max()),
        "peak_gb": peak_gb(),
        "trough": float(production[1:].min() / production[0]),
        "trough_day": int(np.argmin(production[1:])),
    }
    if rule == "proportional":
        numpy_median, numpy_totals = numpy_step_seconds(net, shocks, min(days, 8))
        report["numpy_median_s_per_day"] = numpy_median
        report["numpy_max_rel_diff"] = float(np.max(np.abs(numpy_totals - production[1 : len(numpy_totals) + 1]) / numpy_totals))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rule", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rule:
        print(json.dumps(one_rule(args.folder, args.rule, args.days)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}, python {platform.python_version()}")
    start = time.perf_counter()
    net = scale_free_network(args.firms, args.links, n_sectors=1400, balanced=False, seed=12345)
    generated = time.perf_counter() - start
    print(f"generated {net.n_firms:,} firms, {net.n_links:,} links in {generated:.1f} s (target < 60 s)")
    with tempfile.TemporaryDirectory() as tmp:
        write_network(net, tmp)
        del net
        for rule in RATIONING_RULES:
            command = [sys.executable, __file__, "--rule", rule, "--folder", tmp, "--days", str(args.days)]
            report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            line = (
                f"{rule:28s} median {report['median_s_per_day']:.3f} s/day (mean {report['mean_s_per_day']:.3f}, "
                f"max {report['max_s_per_day']:.3f}), peak {report['peak_gb']:.2f} GB, trough {report['trough']:.3f} on day {report['trough_day']}"
            )
            if rule in CPP_REFERENCE:
                line += f"; C++ reference (notes): {CPP_REFERENCE[rule]}"
            print(line)
            if "numpy_median_s_per_day" in report:
                ratio = report["numpy_median_s_per_day"] / report["median_s_per_day"]
                print(
                    f"{'  same step in plain numpy':28s} median {report['numpy_median_s_per_day']:.3f} s/day "
                    f"({ratio:.1f}x slower than the kernels; totals agree to {report['numpy_max_rel_diff']:.1e})"
                )


if __name__ == "__main__":
    main()
