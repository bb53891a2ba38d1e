"""Commands of the country-by-sector view: ``mrio leontief|extraction|dependence|simulate``.

Registered on the main :data:`coreatlas.cli.app`. pymrio's bundled test table is used unless
``--table DIR`` names a saved table folder (ours, or one written by pymrio's ``save_all``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from coreatlas.cli import CsvOption, JsonOption, _pct, app, err, handles_errors, out
from coreatlas.cli_risk import _emit_frame
from coreatlas.io.output import to_json

mrio_app = typer.Typer(
    help="Multi-regional input-output tables: Leontief/Ghosh, extraction, value-added content, ARIO.", no_args_is_help=True
)
app.add_typer(mrio_app, name="mrio")

TableOption = Annotated[Path | None, typer.Option("--table", help="Saved table folder (default: pymrio's test table).")]
OutDir = Annotated[Path | None, typer.Option("--out", "-o", help="Write the table(s) and charts to DIR.")]
TopOption = Annotated[int, typer.Option(help="Rows to show.")]


def _table(table: Path | None):
    from coreatlas.services import mrio as svc

    return svc, svc.load_table(table)


def _emit(frame, as_json: bool, as_csv: bool, out_dir: Path | None, name: str, meta: dict) -> bool:
    if out_dir is not None:
        from coreatlas.io.risk_output import write_result_folder

        write_result_folder(out_dir, {name: frame}, meta)
        err.print(f"wrote {name}.csv, summary.json to {out_dir}")
    return _emit_frame(frame, meta, as_json, as_csv)


def _grid(frame, title: str, top: int, formats: dict) -> None:
    grid = Table(title=title, title_justify="left")
    for column in frame.columns:
        grid.add_column(column.replace("_", " "), justify="right" if column in formats else "left")
    for r in frame.head(top).to_dict("records"):
        grid.add_row(*[formats[c](r[c]) if c in formats else str(r[c]) for c in frame.columns])
    out.print(grid)


def _meta(table) -> dict:
    return {
        "table": table.meta.get("name") or table.meta.get("source", ""),
        "regions": len(table.regions),
        "sectors": len(table.sectors),
        "unit": table.unit,
    }


@mrio_app.command("leontief")
@handles_errors
def leontief(
    table: TableOption = None, top: TopOption = 15, as_json: JsonOption = False, as_csv: CsvOption = False, out_dir: OutDir = None
) -> None:
    """Output (Leontief) and forward (Ghosh) multipliers and linkages of every region-sector.

    Example: `coreatlas mrio leontief --top 10`, `coreatlas mrio leontief --table my-table --csv > linkages.csv`
    """
    svc, loaded = _table(table)
    frame = svc.leontief(loaded)
    if _emit(frame, as_json, as_csv, out_dir, "linkages", _meta(loaded)):
        number = lambda v: f"{v:.3f}"  # noqa: E731
        _grid(frame, "Multipliers and linkages (sorted by output multiplier)", top, dict.fromkeys(frame.columns[2:], number))


@mrio_app.command("extraction")
@handles_errors
def extraction(
    by: Annotated[str, typer.Option(help="region, sector or industry (region-sector).")] = "region",
    table: TableOption = None, top: TopOption = 15, as_json: JsonOption = False, as_csv: CsvOption = False, out_dir: OutDir = None,
) -> None:  # fmt: skip
    """Hypothetical extraction: output lost when each region, sector or region-sector is removed.

    Example: `coreatlas mrio extraction --by sector`
    """
    svc, loaded = _table(table)
    frame = svc.extraction(loaded, by)
    if _emit(frame, as_json, as_csv, out_dir, f"extraction_by_{by}", _meta(loaded)):
        shown = frame[[c for c in frame.columns if c in ("region", "sector") or c.endswith("_share")]]
        _grid(
            shown,
            f"Hypothetical extraction by {by}: share of total output lost",
            top,
            dict.fromkeys([c for c in shown.columns if c.endswith("_share")], _pct),
        )


@mrio_app.command("dependence")
@handles_errors
def dependence(
    table: TableOption = None, top: TopOption = 20, as_json: JsonOption = False, as_csv: CsvOption = False, out_dir: OutDir = None
) -> None:
    """Value added of each supplier region embodied in each region's final demand.

    Example: `coreatlas mrio dependence --json`
    """
    from coreatlas.analysis.io_static import value_added_content

    _, loaded = _table(table)
    frame = value_added_content(loaded)
    foreign = frame[frame["consumer_region"] != frame["supplier_region"]].sort_values("share", ascending=False, ignore_index=True)
    if _emit(frame, as_json, as_csv, out_dir, "value_added_content", _meta(loaded)):
        _grid(
            foreign[["consumer_region", "supplier_region", "share"]],
            "Largest foreign dependences: supplier's share of value added in the consumer's final demand",
            top,
            {"share": _pct},
        )


@mrio_app.command("simulate")
@handles_errors
def simulate(
    shock: Annotated[
        list[str],
        typer.Option(
            "--shock", help="REGION:SECTOR=VALUE (repeatable): share of capacity lost (arbitrary) or of capital destroyed (recovery)."
        ),
    ],
    kind: Annotated[str, typer.Option(help="arbitrary (capacity loss) or recovery (capital destroyed, recovered linearly).")] = "arbitrary",
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 365,
    occurrence: Annotated[int, typer.Option(help="Day the shock happens.")] = 5,
    duration: Annotated[int, typer.Option(help="Days before recovery starts.")] = 30,
    recovery_days: Annotated[int, typer.Option("--recovery-days", help="Days of linear recovery.")] = 60,
    table: TableOption = None,
    as_json: JsonOption = False,
    out_dir: OutDir = None,
) -> None:
    """ARIO simulation (as BoARIO's ARIOPsiModel): daily production of every region-sector.

    Example: `coreatlas mrio simulate --shock reg1:manufactoring=0.3 --days 365 --out ario`
    """
    from coreatlas.services import mrio as svc

    loaded = svc.load_table(table)
    bar = Progress(
        TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"), TimeRemainingColumn(), console=err, transient=True
    )
    with bar:
        task = bar.add_task("days", total=days)
        run = svc.simulate_ario(loaded, shock, kind=kind, days=days, occurrence=occurrence, duration=duration,
                                recovery_days=recovery_days, progress=lambda done, total: bar.update(task, completed=done))  # fmt: skip
    summary = {**_meta(loaded), **run.summary(), "shocks": list(shock), "kind": kind}
    if out_dir is not None:
        _write_run(run, summary, out_dir)
    if as_json:
        sys.stdout.write(to_json(summary) + "\n")
        return
    out.print(
        f"{summary['industries']} region-sectors, {days} days: total production lowest at {_pct(summary['trough_share'])} "
        f"on day {summary['trough_day']}; {summary['production_lost_days_of_output']:.2f} days of output lost"
    )
    regions = run.by_region().min().sort_values()
    _grid(
        regions.reset_index().rename(columns={"index": "region", 0: "lowest_share"}),
        "Lowest daily production by region (share of baseline)",
        10,
        {"lowest_share": lambda v: f"{v:.3%}"},
    )


def _write_run(run, summary: dict, out_dir: Path) -> None:
    import matplotlib.pyplot as plt

    from coreatlas.io.risk_output import save_png, write_result_folder

    regions = run.by_region()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for name in regions.columns:
        ax.plot(regions.index, 100 * regions[name], label=name, linewidth=1.4)
    ax.set_xlabel("day")
    ax.set_ylabel("% of baseline production")
    ax.set_title("ARIO: production by region", loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8, ncol=2)
    production = run.result.to_frame()
    production.columns = [f"{r}:{s}" for r, s in production.columns]
    write_result_folder(out_dir, {"production": production.reset_index(), "production_by_region": regions.reset_index()}, summary)
    save_png(fig, Path(out_dir) / "production_by_region.png")
    err.print(f"wrote production.csv, production_by_region.csv, summary.json, production_by_region.png to {out_dir}")
