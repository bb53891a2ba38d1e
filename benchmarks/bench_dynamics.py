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

Loading (issue 12): the same network in the reference's text format (links, final demand,
sectors) and as a network folder (Parquet), each read in a fresh process, median of
``--repeat`` reads; then the whole-process time of ``coreatlas simulate`` for the 30-day run
on the text files (median of ``--repeat``). Targets: text <= 3 s, Parquet <= 1 s.

With ``--reference-binary PATH`` (the C++ reference ``proNet``, built by you outside this
project from github.com/HiroyasuInoue/ProductionNetworkSimulator) the reference runs the same
network and shocks (``-R 0 -t DAYS -b 0 -c 30``): its per-day time (from its own timers), its
whole-process time and its daily totals, compared with ours; the ratios are printed
(targets: at least 30x per simulated day, at least 10x for the whole run). Ours and the
reference run interleaved, ``--repeat`` times each, and every line shows the load average:
the machine may be shared, and both sides feel its load.

    python benchmarks/bench_dynamics.py [--firms N] [--links M] [--days D] [--repeat R]
        [--reference-binary PATH] [--skip-rules]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from coreatlas.analysis.dynamics import dynamic_model, initial_state, run
from coreatlas.analysis.synthetic import scale_free_network
from coreatlas.io.firmdata import read_network, read_network_files, write_network
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


def one_rule(folder: Path, rule: str, days: int, numpy_too: bool = True) -> dict:
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
    if rule == "proportional" and numpy_too:
        numpy_median, numpy_totals = numpy_step_seconds(net, shocks, min(days, 8))
        report["numpy_median_s_per_day"] = numpy_median
        report["numpy_max_rel_diff"] = float(np.max(np.abs(numpy_totals - production[1 : len(numpy_totals) + 1]) / numpy_totals))
    return report


TEXT_FILES = ("links.txt", "final_demand.txt", "sectors.txt")


def write_reference_text(net, shocks: Shocks, folder: Path) -> None:
    """The network in the reference's text format (plus pini.txt, which it reads and ignores)."""
    options = pacsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none")
    ids = net.firm_ids
    tables = {
        "links.txt": {"s": ids[net.supplier], "c": ids[net.client], "a": net.flow},
        "final_demand.txt": {"f": ids, "a": net.final_demand},
        "pini.txt": {"f": ids, "a": net.baseline_output},
        "sectors.txt": {"f": ids, "s": net.sector, "x": net.region},
        "delta.txt": {"f": ids[shocks.firm], "d": shocks.capacity_loss},
    }
    for name, columns in tables.items():
        pacsv.write_csv(pa.table(columns), folder / name, options)


def load_once(folder: Path, kind: str) -> dict:
    """Read the network in this (fresh) process: seconds to a network, then to prepared indices."""
    start = time.perf_counter()
    net = read_network_files(*(folder / name for name in TEXT_FILES)) if kind == "text" else read_network(folder / "net")
    loaded = time.perf_counter()
    net.prepare(supplier_order=False)  # what the proportional step needs (the priority rules also sort links by supplier)
    return {"load_s": loaded - start, "prepare_s": time.perf_counter() - loaded, "links": net.n_links}


def _child(*args: str) -> dict:
    command = [sys.executable, __file__, *args]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def _wall(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - start, done


def our_whole_run(folder: Path, days: int) -> tuple[float, np.ndarray]:
    """``coreatlas simulate`` on the text files, as a user runs it: wall seconds and daily production."""
    cli = str(Path(sys.executable).with_name("coreatlas"))
    out = folder / "ours.csv"
    command = [cli, "simulate", *sum((["--" + n.split(".")[0].replace("_", "-"), str(folder / n)] for n in TEXT_FILES), []),
               "--shocks", str(folder / "delta.txt"), "--days", str(days), "--recovery-days", "30", "--out", str(out)]  # fmt: skip
    seconds, _ = _wall(command)
    import pandas as pd  # noqa: PLC0415 - only here

    return seconds, pd.read_csv(out)["production"].to_numpy()


def reference_run(binary: Path, folder: Path, days: int) -> dict:
    """The C++ reference on the same files: wall seconds, its own timers, its daily production."""
    files = [str(folder / n) for n in ("links.txt", "final_demand.txt", "pini.txt", "sectors.txt")]
    command = [str(binary), "-R", "0", "-t", str(days), "-b", "0", "-c", "30", "-d", str(folder / "delta.txt"),
               "-v", str(folder / "ref_va.txt"), "-X", str(folder / "ref_pact.txt"), *files]  # fmt: skip
    seconds, done = _wall(command, cwd=folder)
    per_day, before = [], 0.0
    for line in done.stderr.splitlines():
        if line.startswith("time: "):
            per_day.append(0.0)
        elif line.startswith("elapsed time for "):
            tag, value = line[len("elapsed time for ") :].rsplit(":", 1)
            if tag.startswith("sim_") or tag == "printSnapshot":
                per_day[-1] += float(value)
            elif tag != "simulation":
                before += float(value)
    production = np.loadtxt(folder / "ref_pact.txt")[:, 1]
    return {"wall_s": seconds, "median_s_per_day": statistics.median(per_day), "before_first_day_s": before, "production": production}


def load() -> str:
    """The machine's load average (1, 5, 15 min), printed beside every figure: the machine is shared."""
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def loading(folder: Path, repeat: int) -> None:
    """Read the text files and the network folder, each in ``repeat`` fresh processes."""
    for kind, target in (("text", 3.0), ("parquet", 1.0)):
        reads = [_child("--load", kind, "--folder", str(folder)) for _ in range(repeat)]
        seconds = statistics.median(r["load_s"] for r in reads)
        prepare = statistics.median(r["prepare_s"] for r in reads)
        print(
            f"load {kind:8s} median {seconds:.2f} s (target <= {target:.0f} s), then indices {prepare:.2f} s; {repeat} fresh processes; {load()}"
        )


def side_by_side(folder: Path, days: int, repeat: int, binary: Path | None) -> None:
    """Ours and the reference, interleaved ``repeat`` times (the load changes): medians and ratios."""
    ours_wall, ours_day, ref = [], [], []
    for _ in range(repeat):
        seconds, production = our_whole_run(folder, days)
        ours_wall.append(seconds)
        rule = _child("--rule", "proportional", "--folder", str(folder / "net"), "--days", str(days), "--no-numpy")
        ours_day.append(rule["median_s_per_day"])
        print(f"  coreatlas: whole {days}-day process {seconds:.1f} s, step {rule['median_s_per_day']:.3f} s/day; {load()}")
        if binary is not None:
            ref.append(reference_run(binary, folder, days))
            r = ref[-1]
            print(f"  C++ reference: whole process {r['wall_s']:.1f} s ({r['before_first_day_s']:.1f} s before day 0), "
                  f"{r['median_s_per_day']:.3f} s/day; pair ratios {r['median_s_per_day'] / ours_day[-1]:.1f}x per day, "
                  f"{r['wall_s'] / seconds:.1f}x whole run; {load()}")  # fmt: skip
    wall, day = statistics.median(ours_wall), statistics.median(ours_day)
    print(f"coreatlas simulate, {days} days on the text files: whole process median {wall:.1f} s; step median {day:.3f} s/day")
    if binary is None:
        return
    ref_day = statistics.median(r["median_s_per_day"] for r in ref)
    ref_wall = statistics.median(r["wall_s"] for r in ref)
    diff = max(float(np.max(np.abs(production - r["production"]) / r["production"])) for r in ref)
    print(f"C++ reference, same network: {ref_day:.3f} s/day (its timers), "
          f"{statistics.median(r['before_first_day_s'] for r in ref):.1f} s before day 0, whole process {ref_wall:.1f} s; "
          f"daily production agrees to {diff:.1e}")  # fmt: skip
    print(
        f"ratios of medians ({repeat} interleaved runs): per simulated day {ref_day / day:.1f}x (target >= 30x); "
        f"whole {days}-day run {ref_wall / wall:.1f}x (target >= 10x)"
    )


def loading_and_reference(net, shocks: Shocks, days: int, repeat: int, binary: Path | None) -> None:
    """Load times (text, Parquet), the whole 30-day run, and the reference side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_network(net, folder / "net")
        write_reference_text(net, shocks, folder)
        loading(folder, repeat)
        side_by_side(folder, days, repeat, binary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="Fresh processes per load and whole-run figure (median).")
    parser.add_argument("--reference-binary", type=Path, help="The built C++ reference simulator (proNet) to run side by side.")
    parser.add_argument("--skip-rules", action="store_true", help="Only loading, the whole run and the reference.")
    parser.add_argument("--rule", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--no-numpy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rule:
        print(json.dumps(one_rule(args.folder, args.rule, args.days, numpy_too=not args.no_numpy)))
        return
    if args.load:
        print(json.dumps(load_once(args.folder, args.load)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}, python {platform.python_version()}")
    start = time.perf_counter()
    net = scale_free_network(args.firms, args.links, n_sectors=1400, balanced=False, seed=12345)
    generated = time.perf_counter() - start
    print(f"generated {net.n_firms:,} firms, {net.n_links:,} links in {generated:.1f} s (target < 60 s)")
    loading_and_reference(net, shocks_for(net.n_firms), args.days, args.repeat, args.reference_binary)
    if args.skip_rules:
        return
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
