"""Commands of the dynamic engine: ``simulate`` and ``generate``.

Registered on the main :data:`coreatlas.cli.app`. The engine (and numba) is imported only
when one of these commands runs, so the other commands start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from coreatlas import services
from coreatlas.cli import JsonOption, _pct, app, err, handles_errors, out
from coreatlas.io.output import to_json

RULES = "proportional|final-demand-last|priority|priority-final-demand-last"
LAWS = "none|linear|uniform|immediate|exponential|renewal|damped"
FileOption = Annotated[Path | None, typer.Option(exists=False, dir_okay=False)]


def _params(inventory_days, tau, rationing, recovery, recovery_days, recovery_delay, inventory_draw, seed):
    from coreatlas.analysis.dynamics import DynamicsParams

    if recovery is None:  # as the reference simulator: a recovery time alone means linear recovery
        recovery = "linear" if recovery_days is not None else "none"
    return DynamicsParams(
        inventory_days=inventory_days, tau_days=tau, rationing=rationing, recovery=recovery, recovery_days=recovery_days,
        recovery_delay_days=recovery_delay, inventory_draw=inventory_draw, seed=seed,
    )  # fmt: skip


def _progress_bar():
    return Progress(
        TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"), TimeRemainingColumn(), console=err, transient=True
    )


@app.command()
@handles_errors
def simulate(
    days: Annotated[int, typer.Option("--days", "-t", help="Days to simulate (days 0..N-1).")] = 30,
    links: Annotated[
        Path | None, typer.Option(help="Links file: supplier client amount (.txt reference format, .csv or .parquet).")
    ] = None,
    final_demand: Annotated[Path | None, typer.Option("--final-demand", help="Final demand file: firm amount.")] = None,
    sectors: Annotated[
        Path | None, typer.Option(help="Sectors file: firm sector [region]; inputs substitute only within a sector.")
    ] = None,
    shocks: Annotated[
        Path | None, typer.Option(help="Shocks file: firm capacity_loss [start_day [end_day]] (the reference delta.txt works).")
    ] = None,
    network: Annotated[
        Path | None, typer.Option("--network", help="Network folder (links.parquet, firms.parquet), e.g. from `coreatlas generate`.")
    ] = None,
    data: Annotated[str | None, typer.Option("--data", "-d", help="Run on a technology map instead (built-in name or folder).")] = None,
    scenario: Annotated[Path | None, typer.Option(help="With --data: scenario file (YAML) whose losses become the shock.")] = None,
    name: Annotated[str | None, typer.Option(help="With --scenario: which scenario of the file.")] = None,
    remove_country: Annotated[list[str], typer.Option("--remove-country", help="With --data: countries whose providers drop out.")] = [],  # noqa: B006
    cut: Annotated[list[str], typer.Option("--cut", help="With --data: CODE=FRACTION of capacity that remains, e.g. TWN=0.5.")] = [],  # noqa: B006
    shock_day: Annotated[int, typer.Option("--shock-day", help="With --data: day the scenario's shock starts.")] = 0,
    inventory_days: Annotated[float, typer.Option("--inventory-days", help="Target inventory n, days of input use.")] = 15.0,
    tau: Annotated[float, typer.Option("--tau", help="Inventory adjustment time tau, days.")] = 6.0,
    rationing: Annotated[str, typer.Option(help=RULES)] = "proportional",
    recovery: Annotated[str | None, typer.Option(help=LAWS + " (default: linear if --recovery-days is given, else none).")] = None,
    recovery_days: Annotated[float | None, typer.Option("--recovery-days", help="Recovery time C of the recovery law.")] = None,
    recovery_delay: Annotated[int, typer.Option("--recovery-delay", help="Days after its shock before a firm starts to recover.")] = 0,
    inventory_draw: Annotated[
        str, typer.Option("--inventory-draw", help="fixed, or poisson: each firm's target ~ Poisson(n), at least 2.")
    ] = "fixed",
    seed: Annotated[int, typer.Option(help="Seed of random draws (poisson inventories).")] = 331,
    firm_series: Annotated[
        bool, typer.Option("--firm-series", help="Also write every firm's daily production (production_by_firm.parquet).")
    ] = False,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for totals.csv, losses, summary.json and totals.png.")] = Path(
        "coreatlas-simulation"
    ),
    as_json: JsonOption = False,
) -> None:
    """Day-by-day propagation of a shock through a firm network (Inoue–Todo model).

    Examples: `coreatlas simulate --links links.txt --final-demand final_demand.txt --sectors sectors.txt --shocks delta.txt --days 100 --recovery-days 30 --out run1`;
    `coreatlas simulate --data chips --remove-country TWN --days 60 --recovery-days 30`;
    `coreatlas simulate --network big-net --shocks shocks.csv --rationing priority`
    """
    from coreatlas.services import simulate as sim

    params = _params(inventory_days, tau, rationing, recovery, recovery_days, recovery_delay, inventory_draw, seed)
    with _progress_bar() as bar:
        task = bar.add_task("simulating", total=days)
        tick = lambda done, total: bar.update(task, completed=done)  # noqa: E731
        if data is not None:
            spec = (
                services.scenario_spec_from_options(remove_country, (), None, cut) if (remove_country or cut) and scenario is None else None
            )
            run = sim.simulate_map(
                data,
                days,
                params,
                scenario_file=scenario,
                name=name,
                spec=spec,
                shock_day=shock_day,
                progress=tick,
                firm_series=firm_series,
            )
        else:
            files = {"links": links, "final_demand": final_demand, "sectors": sectors, "network": network, "shocks": shocks}
            run = sim.simulate_files(files, days, params, progress=tick, firm_series=firm_series)
    written = sim.save_simulation(run, out_dir, firm_series)
    summary = run.summary()
    if as_json:
        sys.stdout.write(to_json(summary) + "\n")
        return
    _print_summary(summary)
    err.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _print_summary(summary: dict) -> None:
    net, shocks, params = summary["network"], summary["shocks"], summary["params"]
    size = f"{net['firms']:,} firms, {net['links']:,} links, {shocks['firms']:,} firms shocked, {summary['days']} days"
    out.print(f"[bold]{summary['title']}[/]: {size} ({params['rationing']} rationing, recovery {params['recovery']})")
    grid = Table(title="Losses over the run (flow units x days)", title_justify="left")
    for column in ("measure", "direct", "indirect", "total", "ratio", "trough", "recovered"):
        grid.add_column(column, justify="left" if column == "measure" else "right")
    for measure, L in summary["losses"].items():
        ratio = "–" if L["ratio"] != L["ratio"] else f"{L['ratio']:.2f}x"
        recovered = "not yet" if L["recovery_day"] is None else f"day {L['recovery_day']}"
        trough = f"{_pct(L['trough_share'])} (day {L['trough_day']})"
        grid.add_row(measure.replace("_", " "), _amount(L["direct"]), _amount(L["indirect"]), _amount(L["total"]), ratio, trough, recovered)
    out.print(grid)
    out.print("ratio = indirect / direct loss; recovered = first day from which output stays within 1% of baseline")
    if net["negative_value_added_firms"]:
        negative = f"{net['negative_value_added_firms']:,} firms buy more than they sell (negative value added)"
        out.print(f"[yellow]note:[/] {negative}; use production, not value added, on this network")
    for by in ("sector", "region"):
        rows = [r for r in summary[f"losses_by_{by}"] if r["total_loss"] > 0][:8]
        if len(rows) < 2:
            continue
        table = Table(title=f"Largest production losses by {by}", title_justify="left")
        for column in (by, "total loss", "direct", "indirect", "share of loss"):
            table.add_column(column, justify="left" if column == by else "right")
        for r in rows:
            table.add_row(
                str(r[by]), _amount(r["total_loss"]), _amount(r["direct_loss"]), _amount(r["indirect_loss"]), _pct(r["share_of_loss"])
            )
        out.print(table)


@app.command()
@handles_errors
def generate(
    firms: Annotated[int, typer.Option("--firms", help="Number of firms.")] = 10_000,
    links: Annotated[int, typer.Option("--links", help="Number of links.")] = 50_000,
    sectors: Annotated[int, typer.Option(help="Number of sectors (assigned at random).")] = 100,
    regions: Annotated[int, typer.Option(help="Number of regions (assigned at random).")] = 47,
    degrees: Annotated[str, typer.Option(help="scale-free (power-law in- and out-degrees) or poisson (Erdős–Rényi).")] = "scale-free",
    out_exponent: Annotated[float, typer.Option("--out-exponent", help="Pareto tail exponent of out-degrees (suppliers).")] = 1.3,
    in_exponent: Annotated[float, typer.Option("--in-exponent", help="Pareto tail exponent of in-degrees (clients).")] = 1.3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same network.")] = 12345,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Network folder to write (links.parquet, firms.parquet).")] = Path(
        "coreatlas-network"
    ),
) -> None:
    """Generate a synthetic production network for scale tests and studies.

    Example: `coreatlas generate --firms 1000000 --links 5000000 --sectors 1400 --out big-net`, then
    `coreatlas simulate --network big-net --shocks shocks.csv`
    """
    from coreatlas.services import simulate as sim

    with err.status(f"generating {firms:,} firms and {links:,} links"):
        net = sim.generate_network(
            out_dir,
            firms,
            links,
            n_sectors=sectors,
            n_regions=regions,
            degrees=degrees,
            out_exponent=out_exponent,
            in_exponent=in_exponent,
            seed=seed,
        )
    out.print(f"wrote {out_dir}: {net.n_firms:,} firms, {net.n_links:,} links, {sectors} sectors, {regions} regions (seed {seed})")
