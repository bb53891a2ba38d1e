"""Commands of the critical-technology maps: ``indicators``, ``policy`` and ``openran``.

Registered on the main :data:`coreatlas.cli.app`; same conventions (tables, ``--json``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from coreatlas import services
from coreatlas.cli import DataOption, JsonOption, OutOption, _emit, _pct, _pct_range, _print_open_ran, app, err, handles_errors, out
from coreatlas.io.output import to_json


def _amount(value: float, currency: str) -> str:
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"{currency} {value / size:,.4g}{unit}"
    return f"{currency} {value:,.0f}"


@app.command()
@handles_errors
def indicators(
    data: DataOption = "telecom-ran",
    bloc: Annotated[str, typer.Option(help="Bloc name (core, allies) or codes such as USA,JPN.")] = "core",
    as_json: JsonOption = False,
) -> None:
    """The partners' position against others per technology, and the commitments ledger.

    Market shares come from the map and the dataset's indicator table (5G patent shares with
    their counting method); commitments are listed as reported, with no currency conversion.

    Examples: `coreatlas indicators --data telecom-ran`, `coreatlas indicators --data chips+telecom-ran --bloc allies --json`
    """
    tm = services.load_map(data)
    report = services.indicator_report(tm, tm.resolve_bloc(bloc))
    if as_json:
        sys.stdout.write(to_json(report.to_records()) + "\n")
        return
    grid = Table(title=f"Position of {bloc} ({', '.join(report.bloc)}) per technology", title_justify="left")
    for name in ("technology", "indicator (method)", "year", "bloc share", "leading other"):
        grid.add_column(name, overflow="fold", justify="right" if name in ("year", "bloc share") else "left")
    for r in report.position.to_dict("records"):
        method = f"{r['indicator']} ({r['method']})" if isinstance(r["method"], str) else r["indicator"]
        other = f"{r['top_other']} {_pct(r['top_other_share'])}" if isinstance(r["top_other"], str) else "–"
        year = "–" if r["year"] is None or r["year"] != r["year"] else str(int(r["year"]))
        grid.add_row(r["technology"], method, year, _pct_range(r["bloc_share"], r["bloc_share_low"], r["bloc_share_high"]), other)
    out.print(grid)
    _print_ledger(report.commitments)


def _print_ledger(ledger) -> None:
    if ledger.empty:
        out.print("Commitments ledger: none in this dataset.")
        return
    grid = Table(title="Commitments ledger (as reported; no currency conversion)", title_justify="left")
    for name in ("party", "programme", "technology", "amount", "year", "source"):
        grid.add_column(name, overflow="fold", justify="right" if name in ("amount", "year") else "left")
    for r in ledger.to_dict("records"):
        grid.add_row(r["party"], r["program"], r["technology"], _amount(r["amount"], r["currency"]), str(r["year"]), r["source"])
    out.print(grid)


@app.command()
@handles_errors
def policy(
    policy_id: Annotated[str | None, typer.Argument(help="Policy id; omit to list the dataset's policies.")] = None,
    data: DataOption = "telecom-ran",
    country: Annotated[str | None, typer.Option(help="Only this third country's exposure record (alpha-3, e.g. DEU).")] = None,
    as_json: JsonOption = False,
    save: OutOption = None,
) -> None:
    """Trusted-vendor policies: list them, or apply one to the map and to third countries.

    Examples: `coreatlas policy --data telecom-ran`, `coreatlas policy fcc_covered_list --country DEU`
    """
    tm = services.load_map(data)
    if policy_id is None:
        rows = services.list_policies(tm)
        if _emit(rows, as_json, False, save):
            grid = Table(title=f"Policies in {tm.meta.name}", title_justify="left")
            for name in ("id", "name", "kind", "excludes / keeps", "nodes", "year"):
                grid.add_column(name, overflow="fold")
            for r in rows:
                who = ", ".join(r["providers"]) if r["kind"] == "exclude" else f"only {r['bloc']}"
                grid.add_row(r["policy_id"], r["name"], r["kind"], who, ", ".join(r["nodes"]) or "all", str(r["year"]))
            out.print(grid)
        return
    impact = services.policy_impact(tm, policy_id, country)
    if not _emit([impact.to_records()], as_json, False, save):
        return
    _print_policy(impact)


def _print_policy(impact) -> None:
    p = impact.policy
    out.print(f"[bold]{p['name']}[/] ({p['year']}, {p['source']})")
    grid = Table(title="What is left of each output in the map", title_justify="left")
    grid.add_column("output")
    grid.add_column("remaining", justify="right")
    for o in impact.result.outputs():
        grid.add_row(o["node_name"], _pct_range(o["available"], o["available_low"], o["available_high"]))
    out.print(grid)
    rows = impact.third_countries.to_dict("records")
    if not rows:
        out.print("No third-country exposure records in this dataset.")
        return
    grid = Table(title="Third countries: share of the installed base to be replaced", title_justify="left")
    for name in ("country", "node", "vendors in record", "to replace", "year", "note"):
        grid.add_column(name, overflow="fold", justify="right" if name == "to replace" else "left")
    for r in rows:
        grid.add_row(
            r["country"],
            r["node_id"],
            r["providers"],
            _pct_range(r["to_replace"], r["to_replace_low"], r["to_replace_high"]),
            str(r["year"]),
            r["note"],
        )
    out.print(grid)


@app.command()
@handles_errors
def openran(
    data: DataOption = "telecom-ran",
    policy: Annotated[
        list[str], typer.Option("--policy", help="Compare under these policies (default: every exclusion policy of the dataset).")
    ] = [],  # noqa: B006
    as_json: JsonOption = False,
    save: OutOption = None,
) -> None:
    """Open RAN vs proprietary RAN: the capacity each keeps under a vendor ban.

    A proprietary RAN binds radio, distributed and central units to one vendor; an open one
    sources each from any vendor. Example: `coreatlas openran --policy fcc_covered_list`
    """
    tm = services.load_map(data)
    scenarios = [services.policy_scenario(tm, [p]) for p in policy] if policy else None
    comparison = services.open_ran_comparison(tm, scenarios)
    rows = comparison.to_records()
    if not _emit(rows, as_json, False, save, comparison.to_frame()):
        return
    _print_open_ran(rows)
    err.print("Open keeps at least as much as proprietary (the min of sums is at least the sum of mins); see docs/model.md.", style="dim")
