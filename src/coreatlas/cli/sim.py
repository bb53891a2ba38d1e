"""Commands of the dynamic engine: ``simulate`` and ``generate``.

Each command parses its options into a request of :mod:`coreatlas.services.simulate`, runs
the use case and renders the result. The engine (and numba) is imported only when one of
these commands runs, so the other commands start fast. ``simulate --out`` is a result
folder (default ``coreatlas-simulation``) or one file (``.json``, ``.csv``: the daily totals);
``generate --out`` is the network folder it writes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from coreatlas import services
from coreatlas.cli import _common as ui
from coreatlas.cli import maps
from coreatlas.errors import CoreAtlasError, RequestError
from coreatlas.model.dynamics import INVENTORY_DRAWS, RATIONING_RULES, RECOVERY_LAWS, DynamicsParams
from coreatlas.model.firms import DEGREE_MODELS
from coreatlas.services.protocol import parse_request

__all__ = ["app"]

app = typer.Typer()
ui.register_flags(__name__, {"tau_days": "--tau", "recovery_delay_days": "--recovery-delay"})

#: How this command names the network sources (the service names request fields).
SOURCES = "give --network DIR, or --links and --final-demand (with --sectors for substitution), or --data and a scenario"

DaysOption = Annotated[int, typer.Option("--days", "-t", help="Days to simulate (days 0..N-1).")]
LinksOption = Annotated[Path | None, typer.Option(help="Links file: supplier client amount (.txt reference format, .csv or .parquet).")]
FinalDemandOption = Annotated[Path | None, typer.Option("--final-demand", help="Final demand file: firm amount.")]
SectorsOption = Annotated[Path | None, typer.Option(help="Sectors file: firm sector [region]; inputs substitute only within a sector.")]
ShocksOption = Annotated[
    Path | None, typer.Option(help="Shocks file: firm capacity_loss [start_day [end_day]] (the reference delta.txt works).")
]
NetworkOption = Annotated[
    Path | None, typer.Option("--network", help="Network folder (links.parquet, firms.parquet), e.g. from `coreatlas generate`.")
]
MapOption = Annotated[str | None, typer.Option("--data", "-d", help="Run on a technology map instead (built-in name or folder).")]
ScenarioFileOption = Annotated[
    Path | None, typer.Option("--scenario", help="With --data: scenario file (YAML) whose losses become the shock.")
]
NameOption = Annotated[str | None, typer.Option("--name", help="With --scenario: which scenario of the file.")]
ShockDayOption = Annotated[int, typer.Option("--shock-day", help="With --data: day the scenario's shock starts.")]
InputShareOption = Annotated[float, typer.Option("--input-share", help="With --data: share of each node's output spent on inputs.")]
InventoryOption = Annotated[float, typer.Option("--inventory-days", help="Target inventory n, days of input use.")]
TauOption = Annotated[float, typer.Option("--tau", help="Inventory adjustment time tau, days.")]
RationingOption = Annotated[str, typer.Option(help=" | ".join(RATIONING_RULES))]
RecoveryOption = Annotated[
    str | None, typer.Option(help=" | ".join(RECOVERY_LAWS) + " (default: linear if --recovery-days is given, else none).")
]
RecoveryDaysOption = Annotated[float | None, typer.Option("--recovery-days", help="Recovery time C of the recovery law.")]
DelayOption = Annotated[int, typer.Option("--recovery-delay", help="Days after its shock before a firm starts to recover.")]
DrawOption = Annotated[
    str, typer.Option("--inventory-draw", help=" | ".join(INVENTORY_DRAWS) + ": poisson draws each firm's target ~ Poisson(n), at least 2.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of random draws (poisson inventories).")]
FirmSeriesOption = Annotated[
    bool, typer.Option("--firm-series", help="Also write every firm's daily production (production_by_firm.parquet).")
]
SimOutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Result folder (totals.csv, losses, summary.json, totals.png), or FILE.json / FILE.csv.")
]


@contextlib.contextmanager
def _in_flags():
    """Word in this command's flags the service errors whose wording names other fields."""
    from coreatlas.services.simulate import NoNetworkError  # noqa: PLC0415 - loads the engine

    try:
        yield
    except NoNetworkError:
        raise RequestError(f"no network given: {SOURCES}") from None
    except CoreAtlasError as exc:
        text = str(exc)
        if exc.field == "scenario_name" and text.endswith("; choose one"):
            raise type(exc)(text.replace("scenario_name", "--name", 1) + " with --name") from None
        raise


def _params(inventory_days, tau, rationing, recovery, recovery_days, recovery_delay, inventory_draw, seed) -> DynamicsParams:
    return DynamicsParams(inventory_days=inventory_days, tau_days=tau, rationing=rationing, recovery=recovery,
                          recovery_days=recovery_days, recovery_delay_days=recovery_delay, inventory_draw=inventory_draw, seed=seed)  # fmt: skip


def _paths(**paths: Path | None) -> dict:
    return {name: None if path is None else str(path) for name, path in paths.items()}


# fmt: off
@app.command()
@ui.handles_errors
def simulate(
    days: DaysOption = 30, links: LinksOption = None, final_demand: FinalDemandOption = None, sectors: SectorsOption = None,
    shocks: ShocksOption = None, network: NetworkOption = None, data: MapOption = None, scenario: ScenarioFileOption = None,
    name: NameOption = None, remove_country: maps.RemoveCountryOption = [], remove_firm: maps.RemoveFirmOption = [],  # noqa: B006
    only_bloc: maps.OnlyBlocOption = None, cut: maps.CutOption = [], policy: maps.PolicyOption = [],  # noqa: B006
    shock_day: ShockDayOption = 0, input_share: InputShareOption = 0.5, attribution: ui.AttributionOption = "hq",
    inventory_days: InventoryOption = 15.0, tau: TauOption = 6.0, rationing: RationingOption = "proportional",
    recovery: RecoveryOption = None, recovery_days: RecoveryDaysOption = None, recovery_delay: DelayOption = 0,
    inventory_draw: DrawOption = "fixed", seed: SeedOption = 331, firm_series: FirmSeriesOption = False,
    save: SimOutOption = Path("coreatlas-simulation"), force: ui.ForceOption = False, as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
) -> None:
    """Day-by-day propagation of a shock through a firm network (Inoue–Todo model).

    Examples: `coreatlas simulate --links links.txt --final-demand final_demand.txt --sectors sectors.txt --shocks delta.txt --days 100 --recovery-days 30 --out run1`;
    `coreatlas simulate --data chips --remove-country TWN --days 60 --recovery-days 30`;
    `coreatlas simulate --network big-net --shocks shocks.csv --rationing priority`
    """
    ui.precheck(save, force, links, final_demand, sectors, shocks, network, scenario, data)
    params = _params(inventory_days, tau, rationing, recovery, recovery_days, recovery_delay, inventory_draw, seed)
    spec = maps.scenario_spec_from_options(remove_country, remove_firm, only_bloc, cut, policy)
    request = {**_paths(links=links, final_demand=final_demand, sectors=sectors, shocks=shocks, network_dir=network, scenario_file=scenario),
               "data": data, "scenario_name": name, "scenarios": [spec] if spec is not None else [], "shock_day": shock_day,
               "input_share": input_share, "attribution": attribution, "days": days, "params": params, "firm_series": firm_series}
    with _in_flags():
        request = parse_request(services.use_case_of("simulate").request, request)
        with ui.progress_bar("simulating", "days") as tick:
            run = services.run("simulate", request, progress=tick)
    if ui.emit(run, as_json, as_csv, save, force):
        _print_summary(run.to_dict())
# fmt: on


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


LOSS_COLUMNS = (
    ui.Column("measure", lambda r: r["measure"].replace("_", " ")),
    ui.Column("direct", lambda r: _amount(r["direct"]), True),
    ui.Column("indirect", lambda r: _amount(r["indirect"]), True),
    ui.Column("total", lambda r: _amount(r["total"]), True),
    ui.Column("ratio", lambda r: "–" if r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}x", True),
    ui.Column("trough", lambda r: f"{ui.pct(r['trough_share'])} (day {r['trough_day']})", True),
    ui.Column("recovered", lambda r: "not yet" if r["recovery_day"] is None else f"day {r['recovery_day']}", True),
)


def _group_columns(by: str) -> tuple[ui.Column, ...]:
    return (
        ui.Column(by, lambda r: str(r[by])),
        ui.Column("total loss", lambda r: _amount(r["total_loss"]), True),
        ui.Column("direct", lambda r: _amount(r["direct_loss"]), True),
        ui.Column("indirect", lambda r: _amount(r["indirect_loss"]), True),
        ui.Column("share of loss", lambda r: ui.pct(r["share_of_loss"]), True),
    )


def _print_summary(summary: dict) -> None:
    net, shocks, params = summary["network"], summary["shocks"], summary["params"]
    size = f"{net['firms']:,} firms, {net['links']:,} links, {shocks['firms']:,} firms shocked, {summary['days']} days"
    ui.out.print(f"[bold]{summary['title']}[/]: {size} ({params['rationing']} rationing, recovery {params['recovery']})")
    ui.print_table(
        "Losses over the run (flow units x days)", LOSS_COLUMNS, [{"measure": m, **loss} for m, loss in summary["losses"].items()]
    )
    ui.out.print("ratio = indirect / direct loss; recovered = first day, from the trough on, from which output stays within 1% of baseline")
    if net["negative_value_added_firms"]:
        negative = f"{net['negative_value_added_firms']:,} firms buy more than they sell (negative value added)"
        ui.out.print(f"[yellow]note:[/] {negative}; use production, not value added, on this network")
    for by in ("sector", "region"):
        rows = [r for r in summary[f"losses_by_{by}"] if r["total_loss"] > 0][:8]
        if len(rows) >= 2:
            ui.print_table(f"Largest production losses by {by}", _group_columns(by), rows)


NetworkOutOption = Annotated[Path, typer.Option("--out", "-o", help="Network folder to write (links.parquet, firms.parquet).")]


# fmt: off
@app.command()
@ui.handles_errors
def generate(
    firms: Annotated[int, typer.Option("--firms", help="Number of firms.")] = 10_000,
    links: Annotated[int, typer.Option("--links", help="Number of links.")] = 50_000,
    sectors: Annotated[int, typer.Option(help="Number of sectors (assigned at random).")] = 100,
    regions: Annotated[int, typer.Option(help="Number of regions (assigned at random).")] = 47,
    degrees: Annotated[str, typer.Option(help=" | ".join(DEGREE_MODELS) + ": power-law in- and out-degrees, or Erdős–Rényi.")] = "scale-free",
    out_exponent: Annotated[float, typer.Option("--out-exponent", help="Pareto tail exponent of out-degrees (suppliers).")] = 1.3,
    in_exponent: Annotated[float, typer.Option("--in-exponent", help="Pareto tail exponent of in-degrees (clients).")] = 1.3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same network.")] = 12345,
    out_dir: NetworkOutOption = Path("coreatlas-network"), force: ui.ForceOption = False, as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
) -> None:
    """Generate a synthetic production network for scale tests and studies.

    Example: `coreatlas generate --firms 1000000 --links 5000000 --sectors 1400 --out big-net`, then
    `coreatlas simulate --network big-net --shocks shocks.csv`
    """
    request = {"firms": firms, "links": links, "sectors": sectors, "regions": regions, "degrees": degrees,
               "out_exponent": out_exponent, "in_exponent": in_exponent, "seed": seed, "out": str(out_dir), "force": force}
    with ui.err.status(f"generating {firms:,} firms and {links:,} links"):
        result = services.run("generate", request)
    if ui.emit(result, as_json, as_csv):
        net = result.to_dict()["network"]
        ui.out.print(f"wrote {out_dir}: {net['firms']:,} firms, {net['links']:,} links, {sectors} sectors, {regions} regions (seed {seed})")
# fmt: on
