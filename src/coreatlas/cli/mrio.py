"""Commands of the country-by-sector view: ``mrio leontief|extraction|dependence|simulate``.

Each command parses its options into a request of :mod:`coreatlas.services.mrio`, runs the
use case and renders the result. pymrio's bundled test table is used unless ``--table DIR``
names a saved table folder (ours, or one written by pymrio's ``save_all``). ``--out`` saves
the result: ``FILE.csv``/``.json``/``.parquet`` for its table, any other path as a result folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coreatlas import services
from coreatlas.cli import _common as ui
from coreatlas.model.mrio import ARIO_EVENT_KINDS, EXTRACTION_GROUPS

__all__ = ["app"]

app = typer.Typer()
mrio_app = ui.sub_app("Multi-regional input-output tables: Leontief/Ghosh, extraction, value-added content, ARIO.")
app.add_typer(mrio_app, name="mrio")
ui.register_flags(__name__, {"shocks": "--shock"})

TableOption = Annotated[Path | None, typer.Option("--table", help="Saved table folder (default: pymrio's test table).")]
TopOption = Annotated[int, typer.Option(help="Rows to print (--json, --csv and --out hold every row).")]


def _request(name: str, table: Path | None, **options):
    """The request of use case ``name`` that the options describe (its field errors become flag errors)."""
    from coreatlas.services import mrio  # noqa: F401, PLC0415 - registers the use cases; loads numba only when run

    return services.parse_request(services.use_case_of(name).request, {"table": None if table is None else str(table), **options})


def _checked_request(name: str, table: Path | None, save: Path | None, force: bool, **options):
    """The request, with ``--out`` checked before any work (not the table, writable, not a foreign folder)."""
    from coreatlas.services import mrio  # noqa: PLC0415 - loads numba only when run

    request = _request(name, table, **options)
    mrio.check_mrio_out(request, None if save is None else str(save), force)
    return request


def _run(name: str, table: Path | None, save: Path | None, force: bool, **options):
    return services.run(name, _checked_request(name, table, save, force, **options))


def _number(value) -> str:
    return f"{value:.3f}"


def _grid(title: str, rows: list[dict], top: int, formats: dict) -> None:
    """The first ``top`` rows; columns in ``formats`` are numbers (right-aligned), the others names."""
    columns = [
        ui.Column(
            key.replace("_", " "), (lambda r, k=key: formats[k](r[k])) if key in formats else (lambda r, k=key: str(r[k])), key in formats
        )
        for key in (rows[0] if rows else {})
    ]
    ui.print_table(title, columns, rows[:top], empty="(no rows)")


@mrio_app.command("leontief")
@ui.handles_errors
def leontief(
    table: TableOption = None, top: TopOption = 15, as_json: ui.JsonOption = False, as_csv: ui.CsvOption = False, save: ui.OutOption = None,
    force: ui.ForceOption = False,
) -> None:
    """Output (Leontief) and forward (Ghosh) multipliers and linkages of every region-sector.

    Example: `coreatlas mrio leontief --top 10`, `coreatlas mrio leontief --table my-table --csv > linkages.csv`
    """
    result = _run("mrio-leontief", table, save, force)
    if ui.emit(result, as_json, as_csv, save, force):
        rows = result.payload()["rows"]
        _grid("Multipliers and linkages (sorted by output multiplier)", rows, top, {k: _number for k in list(rows[0])[2:]})


@mrio_app.command("extraction")
@ui.handles_errors
def extraction(
    by: Annotated[str, typer.Option(help=f"What is extracted: {', '.join(EXTRACTION_GROUPS)} (industry = region-sector).")] = "region",
    table: TableOption = None, top: TopOption = 15, as_json: ui.JsonOption = False, as_csv: ui.CsvOption = False, save: ui.OutOption = None,
    force: ui.ForceOption = False,
) -> None:  # fmt: skip
    """Hypothetical extraction: output lost when each region, sector or region-sector is removed.

    Example: `coreatlas mrio extraction --by sector`
    """
    result = _run("mrio-extraction", table, save, force, by=by)
    if ui.emit(result, as_json, as_csv, save, force):
        rows = [{k: v for k, v in r.items() if k in ("region", "sector") or k.endswith("_share")} for r in result.payload()["rows"]]
        shares = {k: ui.pct for k in (rows[0] if rows else {}) if k.endswith("_share")}
        _grid(f"Hypothetical extraction by {by}: share of total output lost", rows, top, shares)


@mrio_app.command("dependence")
@ui.handles_errors
def dependence(
    table: TableOption = None, top: TopOption = 20, as_json: ui.JsonOption = False, as_csv: ui.CsvOption = False, save: ui.OutOption = None,
    force: ui.ForceOption = False,
) -> None:
    """Value added of each supplier region embodied in each region's final demand.

    Example: `coreatlas mrio dependence --json`
    """
    result = _run("mrio-dependence", table, save, force)
    if ui.emit(result, as_json, as_csv, save, force):
        rows = [{k: r[k] for k in ("consumer_region", "supplier_region", "share")} for r in result.payload()["foreign"]]
        _grid("Largest foreign dependences: supplier's share of value added in the consumer's final demand", rows, top, {"share": ui.pct})


ShockOption = Annotated[
    list[str],
    typer.Option(
        "--shock",
        help="REGION:SECTOR=VALUE (repeatable, or several joined by commas): share of capacity lost (arbitrary) or of capital destroyed (recovery).",
    ),
]
KindOption = Annotated[
    str, typer.Option(help=f"{', '.join(ARIO_EVENT_KINDS)}: recovery destroys capital (recovered linearly), arbitrary removes capacity.")
]


@mrio_app.command("simulate")
@ui.handles_errors
def simulate(
    shock: ShockOption,
    kind: KindOption = "arbitrary",
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 365,
    occurrence: Annotated[int, typer.Option(help="Day the shock happens.")] = 5,
    duration: Annotated[int, typer.Option(help="Days before recovery starts.")] = 30,
    recovery_days: Annotated[int, typer.Option("--recovery-days", help="Days of linear recovery.")] = 60,
    table: TableOption = None, as_json: ui.JsonOption = False, as_csv: ui.CsvOption = False, save: ui.OutOption = None,
    force: ui.ForceOption = False,
) -> None:  # fmt: skip
    """ARIO simulation (as BoARIO's ARIOPsiModel): daily production of every region-sector.

    `--out DIR` writes production.csv, production_by_region.csv, summary.json and the chart
    production_by_region (PNG and Vega-Lite). Example: `coreatlas mrio simulate --shock reg1:manufactoring=0.3 --days 365 --out ario`
    """
    timing = {"days": days, "occurrence": occurrence, "duration": duration, "recovery_days": recovery_days}
    request = _checked_request("mrio-simulate", table, save, force, shocks=list(shock), kind=kind, **timing)
    with ui.progress_bar("simulating", "days") as progress:
        result = services.run("mrio-simulate", request, progress=progress)
    if ui.emit(result, as_json, as_csv, save, force):
        _print_run(result.payload())


def _print_run(summary: dict) -> None:
    ui.out.print(
        f"{summary['industries']} region-sectors, {summary['days']} days: total production lowest at {ui.pct(summary['trough_share'])} "
        f"on day {summary['trough_day']}; {summary['production_lost_days_of_output']:.2f} days of output lost"
    )
    _grid("Lowest daily production by region (share of baseline)", summary["lowest_by_region"], 10, {"lowest_share": lambda v: f"{v:.3%}"})
