"""The ``coreatlas`` command line: parse options, call :mod:`coreatlas.services`, print.

Tables for people (rich), ``--json`` / ``--csv`` for scripts, ``--out FILE`` to save.
Bad input gets one clear message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from coreatlas import __version__, services
from coreatlas.errors import CoreAtlasError, ValidationError
from coreatlas.io import datasets
from coreatlas.io.output import to_json, write_records

app = typer.Typer(
    name="coreatlas",
    help="CoRe Atlas: map critical-technology supply chains, find chokepoints, stress-test disruptions.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line, for grep and logs

DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="Built-in dataset name (chips, telecom-ran, ...), a folder in the native or ETO format, or several joined by '+'.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Also save the result to FILE (.json or .csv).")]
AttributionOption = Annotated[str, typer.Option(help="Attribute firms to their headquarters country (hq) or production site (site).")]
MAX_PROBLEMS_SHOWN = 20


def _fail(exc: CoreAtlasError) -> None:
    problems = exc.problems if isinstance(exc, ValidationError) else []
    if len(problems) > 1:
        err.print(f"[bold red]error:[/] {len(problems)} problems in the input", highlight=False)
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            err.print(f"  {problem}", highlight=False, markup=False)
        if len(problems) > MAX_PROBLEMS_SHOWN:
            err.print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more (coreatlas validate --json lists all)")
    else:
        err.print("[bold red]error:[/] ", end="", highlight=False)
        err.print(str(exc), highlight=False, markup=False)
    raise typer.Exit(exc.exit_code)


def handles_errors(command):
    """Turn user errors into a message and exit code; unexpected ones into a short report."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CoreAtlasError as exc:
            _fail(exc)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: say so plainly, trace only on request
            if os.environ.get("COREATLAS_DEBUG"):
                raise
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False)
            err.print("This is a bug in CoRe Atlas; rerun with COREATLAS_DEBUG=1 for a traceback and report it.")
            raise typer.Exit(1) from None

    return wrapper


def _emit(records: list[dict], as_json: bool, as_csv: bool, save: Path | None, frame=None) -> bool:
    """Print JSON/CSV if asked and save if asked; True if a table should still be printed."""
    if save is not None:
        write_records(save, records, frame)
        err.print(f"saved {save}")
    if as_json:
        sys.stdout.write(to_json(records) + "\n")
        return False
    if as_csv:
        import pandas as pd

        sys.stdout.write((frame if frame is not None else pd.DataFrame(records)).to_csv(index=False))
        return False
    return True


def _pct(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def _pct_range(value, low, high) -> str:
    """``57.0%`` or, where sources disagree, ``57.0% (52.0–60.0%)``."""
    if value is None:
        return "–"
    if low is None or high is None or abs(high - low) < 5e-4:
        return _pct(value)
    return f"{value:.1%} ({low:.1%}–{high:.1%})"


def _version(value: bool) -> None:
    if value:
        out.print(f"coreatlas {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False) -> None:
    """CoRe Atlas command line."""


# ---- demo ----------------------------------------------------------------------------------
@app.command()
@handles_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the HTML report.")] = Path("coreatlas-report"),
    data: Annotated[str | None, typer.Option("--data", "-d", help="Only this dataset (default: every built-in dataset).")] = None,
) -> None:
    """Run the main job on every built-in technology map: chokepoints, bloc shares, scenarios,
    the Open RAN comparison, a materials shock into chips and radios, and an HTML report.

    Example: `coreatlas demo` (no network needed), then open coreatlas-report/index.html.
    """
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as bar:
        task = bar.add_task("loading data", total=services.demo_steps(data))
        result = services.demo(out_dir, data, progress=lambda s: bar.update(task, advance=1, description=f"done: {s}"))
    for sec in result.sections:
        meta = sec.tm.meta
        out.rule(f"[bold]{meta.title or meta.name}[/] ({meta.name} {meta.version})")
        if sec.note:
            out.print(sec.note)
        _print_chokepoints(sec.chokepoints[:8], "Top chokepoints: one country holds at least 90%")
        _print_blocs(sec.bloc_rows[:8])
        _print_outputs(sec.results)
        if sec.open_ran:
            _print_open_ran(sec.open_ran)
    out.print(f"\nReport written to [bold]{result.report_path}[/]")


def _print_open_ran(rows: list[dict]) -> None:
    table = Table(title="Open RAN vs proprietary RAN: capacity kept under vendor bans", title_justify="left")
    for name in ("scenario", "proprietary", "open", "open advantage", "full-stack vendors left", "vendors left per component"):
        table.add_column(name, overflow="fold", justify="left" if name == "scenario" else "right")
    for r in rows:
        table.add_row(
            r["scenario"],
            _pct_range(r["proprietary_available"], r["proprietary_low"], r["proprietary_high"]),
            _pct_range(r["open_available"], r["open_low"], r["open_high"]),
            f"{r['open_advantage']:+.1%}",
            str(r["full_stack_vendors_left"]),
            str(r["component_vendors_left"]),
        )
    out.print(table)


def _print_chokepoints(rows: list[dict], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("node", "provider", "share"):
        table.add_column(name, justify="right" if name == "share" else "left")
    for row in rows:
        table.add_row(row["node_name"], row["provider_name"], _pct(row["share"]))
    out.print(table if rows else f"{title}: none")


def _print_blocs(rows: list[dict]) -> None:
    table = Table(title="Bloc shares (core = USA, JPN)", title_justify="left")
    table.add_column("node")
    table.add_column("core", justify="right")
    table.add_column("allies", justify="right")
    for row in rows:
        table.add_row(row["node_name"], _pct_range(row["core"], row.get("core_low"), row.get("core_high")), _pct(row["allies"]))
    out.print(table)


def _cause(output: dict) -> tuple[str, str]:
    """The binding input at the end of the path, and the providers lost there."""
    if not output["binding"]:
        return "–", "–"
    root = output["binding"][-1]
    lost = root.get("lost_providers", [])
    providers = ", ".join(f"{p['provider_name']} -{p['share_lost']:.0%}" for p in lost[:3])
    return f"{root['node_name']} ({root['available']:.0%})", providers or "–"


def _print_outputs(results) -> None:
    table = Table(title="Scenarios: what is left of the ultimate output", title_justify="left")
    for name in ("scenario", "output", "remaining", "binding input", "providers lost there"):
        table.add_column(name, justify="right" if name == "remaining" else "left", overflow="fold")
    for result in results:
        for output in result.outputs():
            root, providers = _cause(output)
            remaining = _pct_range(output["available"], output["available_low"], output["available_high"])
            table.add_row(result.scenario.name, output["node_name"], remaining, root, providers)
    out.print(table)
    if any(abs(o["available_high"] - o["available_low"]) >= 5e-4 for r in results for o in r.outputs()):
        out.print("(low–high): the range over the sources' disagreeing figures.", style="dim")
    out.print("The full binding path (output <- ... <- cause) is in --json output.", style="dim")


# ---- chokepoints ---------------------------------------------------------------------------
@app.command()
@handles_errors
def chokepoints(
    data: DataOption = datasets.DEFAULT_DATASET,
    threshold: Annotated[float, typer.Option(help="Share (0..1) one provider must hold.")] = 0.9,
    by: Annotated[str, typer.Option(help="country or firm.")] = "country",
    attribution: AttributionOption = "hq",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    save: OutOption = None,
) -> None:
    """List nodes where one country (or firm) holds at least THRESHOLD of the global market.

    Examples: `coreatlas chokepoints`, `coreatlas chokepoints --data ~/eto-data --by firm --json`
    """
    rows = services.find_chokepoints(services.load_map(data), threshold, by, attribution)
    if _emit(rows, as_json, as_csv, save):
        _print_chokepoints(rows, f"Chokepoints: one {by} holds at least {threshold:.0%}")


# ---- exposure ------------------------------------------------------------------------------
@app.command()
@handles_errors
def exposure(
    data: DataOption = datasets.DEFAULT_DATASET,
    node: Annotated[str | None, typer.Option(help="Only this node id.")] = None,
    bloc: Annotated[str, typer.Option(help="Bloc name (core, allies) or codes such as USA,JPN,NLD.")] = "core",
    attribution: AttributionOption = "hq",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    save: OutOption = None,
) -> None:
    """Concentration per node: shares, HHI, effective suppliers, countries to 75%, bloc share.

    Examples: `coreatlas exposure --node euv_lithography_tools`, `coreatlas exposure --bloc USA,JPN,NLD --json`
    """
    table = services.exposure_records(services.load_map(data), node, bloc, attribution)
    if not _emit(table.to_records(), as_json, as_csv, save, table.to_frame()):
        return
    grid = Table(title=f"Exposure (bloc: {', '.join(table.bloc)})", title_justify="left")
    for name in ("node", "HHI", "eff. suppliers", "countries to 75%", "bloc share", "top country"):
        grid.add_column(name, justify="left" if name in ("node", "top country") else "right")
    for r in table.records:
        eff = "–" if r["effective_suppliers"] is None else f"{r['effective_suppliers']:.2f}"
        hhi = "–" if r["hhi"] is None else f"{r['hhi']:.3f}"
        top = (
            f"{r['top_country']} {_pct(r['top_country_share'])}"
            if r["top_country"]
            else ("qualitative: " + ", ".join(r["qualitative"]) if r["qualitative"] else "–")
        )
        grid.add_row(r["node_name"], hhi, eff, str(r["countries_to_75"] or "–"), _pct(r["bloc_share"]), top)
    out.print(grid)


@app.command()
@handles_errors
def leverage(
    data: DataOption = datasets.DEFAULT_DATASET,
    bloc: Annotated[str, typer.Option(help="Bloc name or codes.")] = "core",
    threshold: Annotated[float, typer.Option(help="Bloc share (0..1) at or above which a control would bite.")] = 0.9,
    as_json: JsonOption = False,
    save: OutOption = None,
) -> None:
    """Nodes where a bloc holds at least THRESHOLD: where its export control would bite.

    Example: `coreatlas leverage --bloc allies --threshold 0.75`
    """
    rows = services.bloc_leverage(services.load_map(data), bloc, threshold)
    slim = [{k: r[k] for k in ("node_id", "node_name", "bloc_share", "top_country", "top_country_share")} for r in rows]
    if _emit(slim, as_json, False, save):
        grid = Table(title=f"Leverage of {bloc}: bloc share at least {threshold:.0%}", title_justify="left")
        for name in ("node", "bloc share", "top country"):
            grid.add_column(name)
        for r in slim:
            grid.add_row(r["node_name"], _pct(r["bloc_share"]), f"{r['top_country']} {_pct(r['top_country_share'])}")
        out.print(grid)


# ---- scenario ------------------------------------------------------------------------------
@app.command()
@handles_errors
def scenario(
    file: Annotated[Path | None, typer.Argument(help="Scenario file (YAML); see docs/scenarios.md.")] = None,
    data: DataOption = datasets.DEFAULT_DATASET,
    remove_country: Annotated[list[str], typer.Option("--remove-country", help="Country codes to remove (repeat or comma-separate).")] = [],  # noqa: B006
    remove_firm: Annotated[list[str], typer.Option("--remove-firm", help="Firm names or ids to remove.")] = [],  # noqa: B006
    only_bloc: Annotated[str | None, typer.Option("--only-bloc", help="Keep only this bloc's providers (name or codes).")] = None,
    cut: Annotated[list[str], typer.Option("--cut", help="CODE=FRACTION: run at a fraction of capacity, e.g. TWN=0.3 (30% remains).")] = [],  # noqa: B006
    policy: Annotated[list[str], typer.Option("--policy", help="Apply a policy of the dataset (see `coreatlas policy`).")] = [],  # noqa: B006
    variants: Annotated[str, typer.Option(help="pool (variants add up) or all (every variant needed).")] = "pool",
    attribution: AttributionOption = "hq",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    save: OutOption = None,
) -> None:
    """What is left of every node when providers drop out, and which inputs bind.

    Examples: `coreatlas scenario --remove-country NLD`, `coreatlas scenario --cut TWN=0.3 --json`,
    `coreatlas scenario --data telecom-ran --policy fcc_covered_list`,
    `coreatlas scenario my-scenarios.yaml --data ~/eto-data`
    """
    tm = services.load_map(data)
    if file is not None:
        scenarios = services.load_scenarios(tm, file)
    else:
        spec = services.scenario_spec_from_options(remove_country, remove_firm, only_bloc, cut, policy=policy)
        scenarios = [services.build_scenario(tm, spec)]
    if variants not in ("pool", "all"):
        raise services.ScenarioError(f"--variants must be 'pool' or 'all', not '{variants}'")
    results = services.run_scenarios(tm, scenarios, variants=variants, attribution=attribution)
    for result in results:
        for warning in result.warnings:
            err.print(f"[yellow]note:[/] {warning}", highlight=False)
    records = [{"scenario": r.scenario.name, **rec} for r in results for rec in r.records]
    import pandas as pd

    frame = pd.concat([r.to_frame() for r in results], ignore_index=True)
    if _emit(records, as_json, as_csv, save, frame):
        _print_outputs(results)
        _print_affected(results)


def _print_affected(results, limit: int = 15) -> None:
    for result in results:
        hit = sorted((r for r in result.records if r["available"] < 1 - 1e-9), key=lambda r: r["available"])
        table = Table(title=f"{result.scenario.name}: most affected nodes ({len(hit)} of {len(result.records)})", title_justify="left")
        for name in ("node", "own providers left", "available"):
            table.add_column(name, justify="left" if name == "node" else "right")
        for r in hit[:limit]:
            table.add_row(r["node_name"] + (" *" if r["estimated"] else ""), _pct(r["direct"]), _pct(r["available"]))
        out.print(table)
    if any(r["estimated"] for res in results for r in res.records):
        out.print("* estimated: qualitative providers without figures were split equally")


# ---- validate, datasets --------------------------------------------------------------------
@app.command()
@handles_errors
def validate(data: DataOption = datasets.DEFAULT_DATASET, as_json: JsonOption = False) -> None:
    """Check a dataset and report every problem (file, line, column). Exit 2 if it has errors.

    Example: `coreatlas validate --data ./my-map`
    """
    report = services.validation_report(data)
    if as_json:
        sys.stdout.write(to_json(report.to_dict()) + "\n")
    else:
        for problem in report.problems:
            colour = "red" if problem.severity == "error" else "yellow"
            err.print(f"[{colour}]{problem.severity}:[/] ", end="")
            err.print(str(problem), markup=False, highlight=False)
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        verdict = "[green]valid[/]" if report.ok else "[red]invalid[/]"
        out.print(f"{report.data}: {verdict}" + (f" ({counts})" if counts else ""))
    if not report.ok:
        raise typer.Exit(2)


@app.command("datasets")
def list_datasets() -> None:
    """List the built-in datasets."""
    for name in datasets.builtin_names():
        meta = datasets.load(name).meta
        out.print(f"[bold]{name}[/] {meta.version} — {meta.title} ({meta.licence})")


from coreatlas import cli_mrio, cli_risk, cli_sim, cli_tech  # noqa: E402, F401  (register mrio; risk, montecarlo, invest; simulate, generate; indicators, policy, openran)

if __name__ == "__main__":  # pragma: no cover
    app()
