"""Benchmark of the ARIO engine against BoARIO, side by side in one run (not a timed test).

Synthetic balanced tables (``coreatlas.analysis.synthetic.synthetic_mrio``, about 30% of Z
non-zero, as EXIOBASE) of 1,000 (20 x 50) and 5,000 (50 x 100) region-sectors; one shocked
region-sector (10% of its capital destroyed on day 5, linear recovery over 90 days); 365
days. Each run is a fresh process, so its peak memory is its own; the table is saved once
and loaded by each (model set-up is timed apart from the daily loop). CoRe Atlas alone at
9,800 region-sectors (49 x 200). Targets (issue 6), 2-core machine: at least 20x faster
than BoARIO at 5,000, under 2 GB at 9,800.

    python benchmarks/bench_ario.py [--days 365] [--boario-days N] [--sizes 20x50,50x100]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def save(table, folder: Path) -> None:
    sp.save_npz(folder / "Z.npz", table.Z)
    np.save(folder / "Y.npy", table.Y)
    (folder / "names.json").write_text(json.dumps([table.regions, table.sectors, table.fd_categories]))


def load(folder: Path):
    from coreatlas.model.mrio import mrio_table

    regions, sectors, categories = json.loads((folder / "names.json").read_text())
    return mrio_table(regions, sectors, sp.load_npz(folder / "Z.npz"), np.load(folder / "Y.npy"), categories)


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def run_coreatlas(folder: Path, days: int) -> dict:
    from coreatlas.analysis.ario import ArioEvent, ario_model, run_ario

    table = load(folder)
    start = time.perf_counter()
    model = ario_model(table)
    event = ArioEvent((0,), (0.1 * model.capital[0],), "recovery", occurrence=5, duration=1, recovery_tau_days=90)
    run_ario(model, [event], 2)  # compiled kernels load from the cache
    setup = time.perf_counter() - start
    start = time.perf_counter()
    result = run_ario(model, [event], days)
    loop = time.perf_counter() - start
    return {
        "setup_s": setup,
        "loop_s": loop,
        "per_day_s": loop / days,
        "peak_gb": peak_gb(),
        "trough": float(result.production[:, 0].min() / result.baseline[0]),
    }


def run_boario(folder: Path, days: int) -> dict:
    import pandas as pd

    from coreatlas.io.mrio import to_pymrio

    logging.getLogger("boario").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    from boario.event import EventKapitalRecover
    from boario.extended_models import ARIOPsiModel
    from boario.simulation import Simulation

    io = to_pymrio(load(folder))
    io.calc_system()
    start = time.perf_counter()
    model = ARIOPsiModel(io)
    sim = Simulation(model, n_temporal_units_to_sim=days)
    label = model.industries[0]
    impact = pd.Series([0.1 * model.productive_capital[0]], index=pd.MultiIndex.from_tuples([label]))
    sim.add_event(
        EventKapitalRecover(impact=impact, recovery_tau=90, occurrence=5, duration=1, event_monetary_factor=model.monetary_factor)
    )
    setup = time.perf_counter() - start
    start = time.perf_counter()
    sim.loop()
    loop = time.perf_counter() - start
    return {"setup_s": setup, "loop_s": loop, "per_day_s": loop / days, "peak_gb": peak_gb()}


def child(engine: str, folder: Path, days: int) -> dict:
    command = [sys.executable, __file__, "--child", engine, "--folder", str(folder), "--days", str(days)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--boario-days", type=int, default=None, help="Days for BoARIO (default: --days); per-day times are compared.")
    parser.add_argument("--sizes", default="20x50,50x100")
    parser.add_argument("--large", default="49x200")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_coreatlas(args.folder, args.days) if args.child == "coreatlas" else run_boario(args.folder, args.days)))
        return
    from coreatlas.analysis.synthetic import synthetic_mrio

    for size in [*args.sizes.split(","), args.large]:
        regions, sectors = (int(v) for v in size.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            table = synthetic_mrio(regions, sectors, seed=1)
            save(table, Path(tmp))
            n, density = table.n_industries, table.Z.nnz / table.n_industries**2
            del table
            ours = child("coreatlas", Path(tmp), args.days)
            line = (
                f"N = {n:,} ({size}, {density:.0%} of Z non-zero), {args.days} days: CoRe Atlas {ours['per_day_s'] * 1e3:.1f} ms/day, "
                f"{ours['loop_s']:.1f} s loop + {ours['setup_s']:.1f} s set-up, peak {ours['peak_gb']:.2f} GB"
            )
            if size != args.large:
                theirs = child("boario", Path(tmp), args.boario_days or args.days)
                ratio = theirs["per_day_s"] / ours["per_day_s"]
                line += (
                    f"; BoARIO {theirs['per_day_s'] * 1e3:.0f} ms/day ({args.boario_days or args.days} days), "
                    f"{theirs['setup_s']:.1f} s set-up, peak {theirs['peak_gb']:.2f} GB: {ratio:.0f}x faster"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
