"""Commands of the risk layer: ``risk ttr|tts|rank``, ``montecarlo`` and ``invest``.

Each parses its options into a request, runs the use case of the same name in
:mod:`coreatlas.services` (with a progress bar) and prints a table, or ``--json`` / ``--csv``;
``--out`` saves the result: a file (``.json``, ``.csv``, ``.parquet``) or a result folder with
the tables as CSV, ``summary.json`` (with the provenance) and the charts as PNG and Vega-Lite.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from coreatlas import services
from coreatlas.cli import _common as ui
from coreatlas.errors import RequestError
from coreatlas.model.hazards import ENGINES
from coreatlas.model.measures import OBJECTIVES
from coreatlas.model.risknet import ENTITY_KINDS, RISK_MEASURES
from coreatlas.services.executors import SCHEDULERS

__all__ = ["app"]

app = typer.Typer()
risk_app = ui.sub_app("Time-to-recover / time-to-survive analysis and risk rankings.")
app.add_typer(risk_app, name="risk")

NetworkOption = Annotated[Path | None, typer.Option("--network", help="Folder with nodes.csv and edges.csv (docs/risk.md).")]
MapOption = Annotated[str | None, typer.Option("--data", "-d", help="A technology map (built-in name or folder), with assumed capacities.")]
GenerateOption = Annotated[str | None, typer.Option("--generate", help="Generate a multi-tier network: nodes per tier, e.g. 50,400,1250.")]
SeedOption = Annotated[int, typer.Option(help="With --generate: random seed.")]
TopOption = Annotated[int, typer.Option(help="Rows to show in the table.")]
TtrDaysOption = Annotated[float, typer.Option("--ttr-days", help="With --data: assumed time to recover of every firm.")]
SOURCE_FLAGS = "give exactly one of --network DIR, --data MAP or --generate N,N,N (nodes per tier)"
GOAL_FLAGS = "give --hazards FILE (minimise loss over an ensemble) or --target SHARE (cheapest plan for bloc shares)"


def _run(name: str, request: dict, label: str, unit: str = ""):
    """Run use case ``name`` on ``request`` with a progress bar on stderr."""
    with ui.progress_bar(label, unit) as progress:
        return services.run(name, request, progress)


def _network(network: Path | None, data: str | None, generate: str | None, seed: int) -> dict:
    if sum(x is not None for x in (network, data, generate)) != 1:
        raise RequestError(SOURCE_FLAGS)
    return {"network_dir": None if network is None else str(network), "data": data, "tiers": generate, "seed": seed}


def _days(value) -> str:
    return "–" if value is None or value != value else ("∞" if value == float("inf") else f"{value:.1f}")


RISK_COLUMNS = (
    ui.Column("node", lambda r: str(r["node"])),
    ui.Column("tier", lambda r: str(r["tier"]), right=True),
    ui.Column("country", lambda r: str(r["country"] or "–")),
    ui.Column("TTR days", lambda r: _days(r["ttr_days"]), right=True),
    ui.Column("TTS days", lambda r: _days(r["tts_days"]), right=True),
    ui.Column("PI", lambda r: f"{r['pi']:,.4g}", right=True),
    ui.Column("REI", lambda r: f"{r['rei']:.3f}", right=True),
    ui.Column("TTR > TTS", lambda r: "yes" if r["ttr_exceeds_tts"] else "", right=True),
)


def _show_risk(result, top: int, as_json: bool, as_csv: bool, save: Path | None, force: bool) -> None:
    if ui.emit(result, as_json, as_csv, save, force):
        title = f"{result.title}: {result.critical_nodes:,} nodes with TTR > TTS"
        ui.print_table(title, RISK_COLUMNS, result.to_frame().head(top).to_dict("records"))


def _network_options(
    network: NetworkOption = None,
    data: MapOption = None,
    generate: GenerateOption = None,
    seed: SeedOption = 7,
    top: TopOption = 20,
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """The options every ``risk`` command on a network shares (see :func:`_network_command`)."""


def _network_command(name: str) -> Callable[[Callable[..., dict]], Callable]:
    """Register ``risk NAME``: the options of :func:`_network_options` (the network source
    first, then the command's own, then ``--seed``, ``--top`` and the output options) around
    ``options``, which takes the command's own options and returns the request's further keys.
    The command runs use case ``name`` and shows its table (:func:`_show_risk`)."""

    def register(options: Callable[..., dict]) -> Callable:
        shared = list(inspect.signature(_network_options, eval_str=True).parameters.values())
        params = [*shared[:3], *inspect.signature(options, eval_str=True).parameters.values(), *shared[3:]]

        @functools.wraps(options)
        def command(network, data, generate, seed, top, as_json, as_csv, save, force, **own) -> None:
            ui.precheck(save, force, network, data)
            request = _network(network, data, generate, seed) | options(**own)
            _show_risk(_run(name, request, "solving", "nodes"), top, as_json, as_csv, save, force)

        command.__signature__ = inspect.Signature(params, return_annotation=None)
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return risk_app.command(name)(ui.handles_errors(command))

    return register


@_network_command("ttr")
def ttr(
    measure: Annotated[str, typer.Option(help=f"What a lost unit counts: {', '.join(RISK_MEASURES)} (units x profit per unit).")] = "units",
    ttr_days: TtrDaysOption = 30.0,
    spare_capacity: Annotated[
        float, typer.Option("--spare-capacity", help="With --data: capacity above baseline output (0.1 = 10%).")
    ] = 0.1,
    inventory_days: Annotated[float, typer.Option("--inventory-days", help="With --data: stock held, in days of output.")] = 15.0,
) -> dict:
    """Performance impact of losing each node for its time to recover, with TTS and REI.

    Examples: `coreatlas risk ttr --generate 50,400,1250`, `coreatlas risk ttr --network my-plants --measure profit --out ttr`,
    `coreatlas risk ttr --data chips --ttr-days 60`
    """
    return {"measure": measure, "ttr_days": ttr_days, "spare_capacity": spare_capacity, "inventory_days": inventory_days}


@_network_command("tts")
def tts() -> dict:
    """Time to survive of each node: how long demand is still met while it is down (shortest first).

    Example: `coreatlas risk tts --generate 50,400,1250 --csv > tts.csv`
    """
    return {}


@risk_app.command("rank")
@ui.handles_errors
def rank(
    data: ui.DataOption = "chips",
    ttr_days: Annotated[float, typer.Option("--ttr-days", help="Assumed time to recover of every firm.")] = 30.0,
    kind: Annotated[str | None, typer.Option(help=f"Extraction results of one kind only: {', '.join(ENTITY_KINDS)}.")] = None,
    compare: Annotated[
        int, typer.Option(help="Firms of largest static loss compared side by side (each: a TTR/TTS solve and a simulation).")
    ] = 200,
    top: TopOption = 15,
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Hypothetical extraction of every node, firm, country and region; single points of failure;
    and a ranking that puts the static, TTR-based and dynamic measures side by side.

    Example: `coreatlas risk rank --data telecom-ran --kind country`
    """
    ui.precheck(save, force, data)
    result = _run("rank", {"data": data, "ttr_days": ttr_days, "kind": kind, "compare": compare}, "ranking", "steps")
    if ui.emit(result, as_json, as_csv, save, force):
        _print_sweep(result, top)
        _print_ranking(result, top)


def _plural(kind: str, count: int) -> str:
    return kind if count == 1 else {"country": "countries"}.get(kind, kind + "s")


SWEEP_COLUMNS = (
    ui.Column("kind", lambda r: r["kind"]),
    ui.Column("entity", lambda r: str(r["id"])),
    ui.Column("output lost", lambda r: ui.pct(r["output_loss"]), right=True),
    ui.Column("outputs cut off", lambda r: str(r["outputs_cut_off"]), right=True),
    ui.Column("worst output", lambda r: f"{r['worst_output']} ({ui.pct(r['worst_output_loss'])})"),
)
RANKING_COLUMNS = (
    ui.Column("firm", lambda r: str(r["firm"])),
    ui.Column("static loss", lambda r: ui.pct(r["static_loss"]), right=True),
    ui.Column("PI", lambda r: f"{r['pi']:.3g}", right=True),
    ui.Column("TTS days", lambda r: _days(r["tts_days"]), right=True),
    ui.Column("dynamic loss", lambda r: f"{r['dynamic_loss']:.3g}", right=True),
    ui.Column("ranks s/t/d", lambda r: f"{r['rank_static_loss']}/{r['rank_pi']}/{r['rank_dynamic_loss']}", right=True),
)


def _print_sweep(result, top: int) -> None:
    ui.print_table("Hypothetical extraction: share of the ultimate outputs lost", SWEEP_COLUMNS, result.sweep.head(top).to_dict("records"))
    kinds = result.single_points["kind"].value_counts().to_dict()
    ui.out.print(
        "Single points of failure (removal alone cuts an output off): " + (", ".join(f"{v} {_plural(k, v)}" for k, v in kinds.items()) or "none")
    )


def _print_ranking(result, top: int) -> None:
    title = "Side by side: static, TTR-based and dynamic rank per provider at a node"
    if result.compared_firms < result.firms:
        title += f" ({result.compared_firms:,} of {result.firms:,} firms: the largest static losses)"
    ui.print_table(title, RANKING_COLUMNS, result.ranking.head(top).to_dict("records"))
    a = result.agreement.to_numpy()
    ui.out.print(f"Rank agreement (Spearman): static–TTR {a[0, 1]:.2f}, static–dynamic {a[0, 2]:.2f}, TTR–dynamic {a[1, 2]:.2f}")


@app.command()
@ui.handles_errors
def montecarlo(
    hazards: Annotated[Path, typer.Option("--hazards", help="Hazard file (YAML); see docs/risk.md.")],
    data: ui.DataOption = "chips",
    years: Annotated[int, typer.Option(help="Simulated years.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same result on any number of workers.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help=f"{', '.join(SCHEDULERS)} (default: a local pool) or a Dask scheduler, tcp://host:8786.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: the CPU count).")] = None,
    levels: Annotated[str, typer.Option(help="VaR / CVaR levels, comma-separated.")] = "0.95,0.99",
    engine: Annotated[
        str, typer.Option(help=f"{', '.join(ENGINES)}: availability x duration, or the firm-level engine day by day.")
    ] = "static",
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Annual loss distributions from hazards: expected loss, VaR and expected shortfall (CVaR).

    Example: `coreatlas montecarlo --data chips --hazards examples/hazards-chips.yaml --years 100000 --out mc`
    """
    ui.precheck(save, force, hazards, data)
    request = {"data": data, "hazards_file": str(hazards), "years": years, "seed": seed, "scheduler": scheduler,
               "workers": workers, "levels": levels, "engine": engine}  # fmt: skip
    result = _run("montecarlo", request, "simulating", "chunks")
    if ui.emit(result, as_json, as_csv, save, force):
        _print_statistics(result, f"Annual loss, share of a year's output ({years:,} years, {result.events:,} events, seed {seed})")


def _print_statistics(result, title: str) -> None:
    columns = [ui.Column("series", lambda r: r["series"]), ui.Column("expected", lambda r: ui.pct(r["expected_loss"]), right=True)]
    for a in result.levels:
        columns += [ui.Column(f"VaR {a:g}", lambda r, a=a: ui.pct(r[f"var_{a:g}"]), right=True),
                    ui.Column(f"CVaR {a:g}", lambda r, a=a: ui.pct(r[f"cvar_{a:g}"]), right=True)]  # fmt: skip
    ui.print_table(title, columns, result.to_frame().to_dict("records"))


@app.command()
@ui.handles_errors
def invest(
    measures: Annotated[Path, typer.Option("--measures", help="Candidate measures (YAML); see docs/risk.md.")],
    data: ui.DataOption = "chips",
    hazards: Annotated[Path | None, typer.Option("--hazards", help="Hazard file: minimise the loss over its ensemble.")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget in USD (default: the commitments the measures name).")] = None,
    objective: Annotated[
        str, typer.Option(help=f"{', '.join(OBJECTIVES)}: expected annual loss, or expected shortfall at --alpha.")
    ] = "expected",
    alpha: Annotated[float, typer.Option(help="CVaR level.")] = 0.95,
    years: Annotated[int, typer.Option(help="Simulated years of the ensemble.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed of the ensemble.")] = 1,
    target: Annotated[
        float | None, typer.Option(help="Instead: cheapest plan lifting the bloc's share of every chokepoint to this fraction.")
    ] = None,
    bloc: Annotated[str, typer.Option(help="With --target: bloc name or codes.")] = "core",
    threshold: Annotated[float, typer.Option(help="With --target: share of one country that makes a node a chokepoint.")] = 0.9,
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Which measures a budget should buy: minimise expected loss (or CVaR) over a hazard ensemble,
    or find the cheapest plan that lifts the bloc's share of every chokepoint to a target.

    Examples: `coreatlas invest --data chips --measures examples/measures-chips.yaml --hazards examples/hazards-chips.yaml --budget 25e9`;
    `coreatlas invest --data chips --measures examples/measures-chips.yaml --target 0.005`
    """
    if target is None and hazards is None:
        raise RequestError(GOAL_FLAGS)
    ui.precheck(save, force, measures, hazards, data)
    request = {"data": data, "measures_file": str(measures), "hazards_file": None if hazards is None else str(hazards), "budget": budget,
               "objective": objective, "alpha": alpha, "years": years, "seed": seed, "target": target, "bloc": bloc, "threshold": threshold}  # fmt: skip
    result = _run("invest", request, "valuing measures", "measures")
    if ui.emit(result, as_json, as_csv, save, force):
        _print_plan(result)


def _plan_columns(by_share: bool) -> list[ui.Column]:
    columns = [ui.Column("measure", lambda r: r["id"]), ui.Column("kind", lambda r: r["kind"]), ui.Column("node", lambda r: r["node"]),
               ui.Column("country", lambda r: r["country"] or "–"), ui.Column("cost USD B", lambda r: f"{r['cost_usd'] / 1e9:,.2f}", right=True),
               ui.Column("chosen", lambda r: "yes" if r["chosen"] else "")]  # fmt: skip
    if not by_share:
        columns += [ui.Column("saving alone", lambda r: f"{r['expected_saving']:.3%}", right=True),
                    ui.Column("per USD B", lambda r: f"{r['saving_per_billion_usd']:.2e}", right=True),
                    ui.Column("paid by", lambda r: r.get("paid_by", "") or "–")]  # fmt: skip
    return columns


def _print_plan(result) -> None:
    s, plan = result.summary, result.to_frame()
    title = f"Plan: {plan['chosen'].sum()} of {len(plan)} measures, USD {s['cost_usd'] / 1e9:,.2f}B"
    ui.print_table(title, _plan_columns(result.by_share), plan.to_dict("records"))
    if result.by_share:
        for c in s["chokepoints"]:
            ui.out.print(f"  {c['node']}: {s['bloc']} share {ui.pct(c['share_before'])} -> {ui.pct(c['share_after'])}")
        return
    a = s["alpha"]
    ui.out.print(
        f"Expected annual loss {_change(s['expected_loss_before'], s['expected_loss_after'])} of a year's output; "
        f"CVaR {a:g} {_change(s[f'cvar_{a:g}_before'], s[f'cvar_{a:g}_after'])}"
    )
    ui.out.print(_budget_line(s))


def _change(before: float, after: float) -> str:
    """``1.025% -> 0.969% (-5.6 bp)``: enough digits to see a small saving, and the change in basis points."""
    return f"{before:.3%} -> {after:.3%} ({(after - before) * 1e4:+,.1f} bp)"


def _budget_line(s: dict) -> str:
    """What the budget bought and what a larger one would add."""
    budget, left, marginal = s["budget_usd"], s["budget_left_usd"], s["marginal_loss_avoided_per_usd"]
    spent = f"Budget USD {budget / 1e9:,.2f}B"
    if left > 1e-9 * max(budget, 1.0):
        spent += f", of which USD {left / 1e9:,.2f}B is not used (no other measure that saves anything fits in it)"
    if marginal > 0:
        return f"{spent}; a further dollar avoids {marginal:.3g} of a year's output (with 10% more budget)"
    return f"{spent}; 10% more budget avoids no further loss"
