"""Commands of the risk layer: ``risk ttr|tts|rank``, ``montecarlo`` and ``invest``.

Registered on the main :data:`coreatlas.cli.app`. Each prints a rich table, or ``--json`` /
``--csv``; ``--out DIR`` writes tables, a ``summary.json`` with the provenance record and
PNG charts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from coreatlas.cli import CsvOption, JsonOption, _pct, app, err, handles_errors, out
from coreatlas.errors import ValidationError
from coreatlas.io.output import to_json

risk_app = typer.Typer(help="Time-to-recover / time-to-survive analysis and risk rankings.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")

NetworkOption = Annotated[Path | None, typer.Option("--network", help="Folder with nodes.csv and edges.csv (docs/risk.md).")]
MapOption = Annotated[str | None, typer.Option("--data", "-d", help="A technology map (built-in name or folder), with assumed capacities.")]
GenerateOption = Annotated[str | None, typer.Option("--generate", help="Generate a multi-tier network: nodes per tier, e.g. 50,400,1250.")]
OutDir = Annotated[Path | None, typer.Option("--out", "-o", help="Write tables, summary.json (with provenance) and charts to DIR.")]
TopOption = Annotated[int, typer.Option(help="Rows to show.")]


def _bar(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True)


def _tiers(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        tiers = tuple(int(x) for x in text.split(","))
    except ValueError:
        tiers = ()
    if not tiers or min(tiers) < 1:
        raise ValidationError(f"--generate '{text}': expected nodes per tier as positive integers, e.g. 50,400,1250")
    return tiers


def _emit_frame(frame, summary: dict, as_json: bool, as_csv: bool) -> bool:
    if as_json:
        sys.stdout.write(to_json({**summary, "rows": frame.to_dict("records")}) + "\n")
        return False
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
        return False
    return True


def _days(value: float) -> str:
    return "∞" if value == float("inf") else ("–" if value != value else f"{value:.1f}")


def _risk(network, data, generate, measure, ttr_days, spare_capacity, inventory_days, tts_only: bool, seed: int):
    from coreatlas.services import risk as svc

    net = svc.load_risk_network(
        network, data, _tiers(generate), seed=seed, ttr_days=ttr_days, spare_capacity=spare_capacity, inventory_days=inventory_days
    )
    with _bar("solving") as bar:
        task = bar.add_task("solving", total=net.n_nodes)
        report = svc.ttr_tts(net, measure=measure, progress=lambda k: bar.update(task, advance=k), parameters={"tts_only": tts_only})
    return net, report


@risk_app.command("ttr")
@handles_errors
def ttr(
    network: NetworkOption = None,
    data: MapOption = None,
    generate: GenerateOption = None,
    measure: Annotated[str, typer.Option(help="units (lost units) or profit (lost units x profit per unit).")] = "units",
    ttr_days: Annotated[float, typer.Option("--ttr-days", help="With --data: assumed time to recover of every firm.")] = 30.0,
    spare_capacity: Annotated[
        float, typer.Option("--spare-capacity", help="With --data: capacity above baseline output (0.1 = 10%).")
    ] = 0.1,
    inventory_days: Annotated[float, typer.Option("--inventory-days", help="With --data: stock held, in days of output.")] = 15.0,
    seed: Annotated[int, typer.Option(help="With --generate: random seed.")] = 7,
    top: TopOption = 20,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    out_dir: OutDir = None,
) -> None:
    """Performance impact of losing each node for its time to recover, with TTS and REI.

    Examples: `coreatlas risk ttr --generate 50,400,1250`, `coreatlas risk ttr --network my-plants --measure profit --out ttr`,
    `coreatlas risk ttr --data chips --ttr-days 60`
    """
    net, report = _risk(network, data, generate, measure, ttr_days, spare_capacity, inventory_days, False, seed)
    _show_risk(report, top, as_json, as_csv, out_dir, f"TTR / TTS on {net.n_nodes:,} nodes")


@risk_app.command("tts")
@handles_errors
def tts(
    network: NetworkOption = None,
    data: MapOption = None,
    generate: GenerateOption = None,
    seed: Annotated[int, typer.Option(help="With --generate: random seed.")] = 7,
    top: TopOption = 20,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    out_dir: OutDir = None,
) -> None:
    """Time to survive of each node: how long demand is still met while it is down (shortest first).

    Example: `coreatlas risk tts --generate 50,400,1250 --csv > tts.csv`
    """
    net, report = _risk(network, data, generate, "units", 30.0, 0.1, 15.0, True, seed)
    frame = report.to_frame().sort_values(["tts_days", "node"], ignore_index=True)
    _show_risk(report, top, as_json, as_csv, out_dir, f"TTS on {net.n_nodes:,} nodes", frame)


def _show_risk(report, top, as_json, as_csv, out_dir, title, frame=None) -> None:
    frame = report.to_frame() if frame is None else frame
    summary = {"provenance": report.provenance.to_dict(), "critical_nodes": int(frame["ttr_exceeds_tts"].sum())}
    if out_dir is not None:
        from coreatlas.io.risk_output import rei_chart, write_result_folder

        write_result_folder(out_dir, {"risk": frame}, summary, {"rei": rei_chart(report.to_frame(), title=title)})
        err.print(f"wrote risk.csv, summary.json, rei.png to {out_dir}")
    if not _emit_frame(frame, summary, as_json, as_csv):
        return
    grid = Table(title=f"{title}: {summary['critical_nodes']:,} nodes with TTR > TTS", title_justify="left")
    for column in ("node", "tier", "country", "TTR days", "TTS days", "PI", "REI", "TTR > TTS"):
        grid.add_column(column, justify="left" if column in ("node", "country") else "right")
    for r in frame.head(top).to_dict("records"):
        grid.add_row(
            str(r["node"]),
            str(r["tier"]),
            str(r["country"] or "–"),
            _days(r["ttr_days"]),
            _days(r["tts_days"]),
            f"{r['pi']:,.4g}",
            f"{r['rei']:.3f}",
            "yes" if r["ttr_exceeds_tts"] else "",
        )
    out.print(grid)


@risk_app.command("rank")
@handles_errors
def rank(
    data: Annotated[str, typer.Option("--data", "-d", help="Built-in dataset name or folder.")] = "chips",
    ttr_days: Annotated[float, typer.Option("--ttr-days", help="Assumed time to recover of every firm.")] = 30.0,
    kind: Annotated[str | None, typer.Option(help="Show extraction results for one kind: node, firm, country or region.")] = None,
    top: TopOption = 15,
    as_json: JsonOption = False,
    out_dir: OutDir = None,
) -> None:
    """Hypothetical extraction of every node, firm, country and region; single points of failure;
    and a ranking that puts the static, TTR-based and dynamic measures side by side.

    Example: `coreatlas risk rank --data telecom-ran --kind country`
    """
    from coreatlas.services import risk as svc

    with _bar("ranking") as bar:
        task = bar.add_task("ranking", total=svc.rank_steps(data))
        report = svc.rank(data, ttr_days=ttr_days, progress=lambda k: bar.update(task, advance=k))
    sweep = report.sweep if kind is None else report.sweep[report.sweep["kind"] == kind]
    summary = {"provenance": report.provenance.to_dict(), "agreement_spearman": report.agreement.round(3).to_dict()}
    if out_dir is not None:
        from coreatlas.io.risk_output import write_result_folder

        write_result_folder(
            out_dir, {"extraction": report.sweep, "single_points_of_failure": report.single_points, "ranking": report.ranking}, summary
        )
        err.print(f"wrote extraction.csv, single_points_of_failure.csv, ranking.csv, summary.json to {out_dir}")
    if as_json:
        records = {k: getattr(report, k).to_dict("records") for k in ("sweep", "single_points", "ranking")}
        sys.stdout.write(to_json({**summary, **records}) + "\n")
        return
    _print_rank(report, sweep, top)


def _print_rank(report, sweep, top: int) -> None:
    grid = Table(title="Hypothetical extraction: share of the ultimate outputs lost", title_justify="left")
    for column in ("kind", "entity", "output lost", "outputs cut off", "worst output"):
        grid.add_column(column, justify="right" if column in ("output lost", "outputs cut off") else "left")
    for r in sweep.head(top).to_dict("records"):
        grid.add_row(
            r["kind"],
            str(r["id"]),
            _pct(r["output_loss"]),
            str(r["outputs_cut_off"]),
            f"{r['worst_output']} ({_pct(r['worst_output_loss'])})",
        )
    out.print(grid)
    kinds = report.single_points["kind"].value_counts().to_dict()
    out.print(
        "Single points of failure (removal alone cuts an output off): " + (", ".join(f"{v} {k}s" for k, v in kinds.items()) or "none")
    )
    table = Table(title="Side by side: static, TTR-based and dynamic rank per provider at a node", title_justify="left")
    for column in ("firm", "static loss", "PI", "TTS days", "dynamic loss", "ranks s/t/d"):
        table.add_column(column, justify="left" if column == "firm" else "right")
    for r in report.ranking.head(top).to_dict("records"):
        ranks = f"{r['rank_static_loss']}/{r['rank_pi']}/{r['rank_dynamic_loss']}"
        static = "–" if r["static_loss"] != r["static_loss"] else _pct(r["static_loss"])
        table.add_row(str(r["firm"]), static, f"{r['pi']:.3g}", _days(r["tts_days"]), f"{r['dynamic_loss']:.3g}", ranks)
    out.print(table)
    a = report.agreement.to_numpy()
    out.print(f"Rank agreement (Spearman): static–TTR {a[0, 1]:.2f}, static–dynamic {a[0, 2]:.2f}, TTR–dynamic {a[1, 2]:.2f}")


@app.command()
@handles_errors
def montecarlo(
    hazards: Annotated[Path, typer.Option("--hazards", help="Hazard file (YAML); see docs/risk.md.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Built-in dataset name or folder.")] = "chips",
    years: Annotated[int, typer.Option(help="Simulated years.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same result on any number of workers.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="serial, processes (default: a local pool) or a Dask scheduler, tcp://host:8786.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: the CPU count).")] = None,
    levels: Annotated[str, typer.Option(help="VaR / CVaR levels, comma-separated.")] = "0.95,0.99",
    engine: Annotated[
        str, typer.Option(help="static (availability x duration) or dynamic (the firm-level engine, day by day).")
    ] = "static",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    out_dir: OutDir = None,
) -> None:
    """Annual loss distributions from hazards: expected loss, VaR and expected shortfall (CVaR).

    Example: `coreatlas montecarlo --data chips --hazards examples/hazards-chips.yaml --years 100000 --out mc`
    """
    from coreatlas.analysis.montecarlo import chunk_count
    from coreatlas.services import risk as svc

    level_values = _levels(levels)
    with _bar("simulating chunks") as bar:
        task = bar.add_task("chunks", total=chunk_count(years))
        report = svc.ensemble(
            data, hazards, years=years, seed=seed, scheduler=scheduler, workers=workers, engine=engine,
            progress=lambda k: bar.update(task, advance=k),
        )  # fmt: skip
    stats = report.statistics(level_values)
    summary = {"provenance": report.provenance.to_dict(), "events": report.result.events}
    if out_dir is not None:
        _write_ensemble(report, stats, summary, level_values, f"{data}: annual loss, {years:,} years", out_dir)
    if _emit_frame(stats, summary, as_json, as_csv):
        _print_statistics(
            stats, level_values, f"Annual loss, share of a year's output ({years:,} years, {report.result.events:,} events, seed {seed})"
        )


def _levels(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < a < 1 for a in values):
        raise ValidationError(f"--levels '{text}': expected fractions in (0, 1), e.g. 0.95,0.99")
    return values


def _write_ensemble(report, stats, summary: dict, levels: tuple, title: str, out_dir: Path) -> None:
    from coreatlas.io.risk_output import exceedance_chart, write_result_folder

    total = stats.iloc[0]
    marks = {f"VaR {a:g}": total[f"var_{a:g}"] for a in levels} | {f"CVaR {a:g}": total[f"cvar_{a:g}"] for a in levels}
    chart = exceedance_chart(report.result.exceedance(), title, marks)
    write_result_folder(out_dir, {"statistics": stats, "annual_losses": _annual(report)}, summary, {"exceedance": chart})
    err.print(f"wrote statistics.csv, annual_losses.csv, summary.json, exceedance.png to {out_dir}")


def _print_statistics(stats, levels: tuple, title: str) -> None:
    grid = Table(title=title, title_justify="left")
    grid.add_column("series")
    grid.add_column("expected", justify="right")
    for a in levels:
        grid.add_column(f"VaR {a:g}", justify="right")
        grid.add_column(f"CVaR {a:g}", justify="right")
    for r in stats.to_dict("records"):
        grid.add_row(r["series"], _pct(r["expected_loss"]), *[_pct(r[f"{m}_{a:g}"]) for a in levels for m in ("var", "cvar")])
    out.print(grid)


def _annual(report):
    import pandas as pd

    result = report.result
    frame = pd.DataFrame(result.by_output, columns=[f"output:{o}" for o in result.output_ids])
    frame.insert(0, "total", result.total)
    frame.insert(0, "year", range(len(frame)))
    return frame


@app.command()
@handles_errors
def invest(
    measures: Annotated[Path, typer.Option("--measures", help="Candidate measures (YAML); see docs/risk.md.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Built-in dataset name or folder.")] = "chips",
    hazards: Annotated[Path | None, typer.Option("--hazards", help="Hazard file: minimise the loss over its ensemble.")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget in USD (default: the commitments the measures name).")] = None,
    objective: Annotated[str, typer.Option(help="expected (expected annual loss) or cvar (expected shortfall at --alpha).")] = "expected",
    alpha: Annotated[float, typer.Option(help="CVaR level.")] = 0.95,
    years: Annotated[int, typer.Option(help="Simulated years of the ensemble.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed of the ensemble.")] = 1,
    target: Annotated[
        float | None, typer.Option(help="Instead: cheapest plan lifting the bloc's share of every chokepoint to this fraction.")
    ] = None,
    bloc: Annotated[str, typer.Option(help="With --target: bloc name or codes.")] = "core",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    out_dir: OutDir = None,
) -> None:
    """Which measures a budget should buy: minimise expected loss (or CVaR) over a hazard ensemble,
    or find the cheapest plan that lifts the bloc's share of every chokepoint to a target.

    Examples: `coreatlas invest --data chips --measures examples/measures-chips.yaml --hazards examples/hazards-chips.yaml --budget 25e9`;
    `coreatlas invest --data chips --measures examples/measures-chips.yaml --target 0.1`
    """
    from coreatlas.services import invest as svc

    if target is not None:
        plan = svc.share_target_plan(data, measures, bloc=bloc, target=target)
    else:
        if hazards is None:
            raise ValidationError("give --hazards FILE (minimise loss over an ensemble) or --target SHARE (cheapest plan for bloc shares)")
        with err.status("sampling the ensemble and valuing each measure"):
            plan = svc.invest(data, measures, hazards, budget=budget, years=years, seed=seed, objective=objective, alpha=alpha)
    summary = {"provenance": plan.provenance.to_dict(), **plan.summary}
    if out_dir is not None:
        from coreatlas.io.risk_output import write_result_folder

        write_result_folder(out_dir, {"plan": plan.measures}, summary)
        err.print(f"wrote plan.csv, summary.json to {out_dir}")
    if not _emit_frame(plan.measures, summary, as_json, as_csv):
        return
    _print_plan(plan, target is not None)


def _print_plan(plan, by_share: bool) -> None:
    s = plan.summary
    grid = Table(
        title=f"Plan: {plan.measures['chosen'].sum()} of {len(plan.measures)} measures, USD {s['cost_usd'] / 1e9:,.2f}B",
        title_justify="left",
    )
    columns = ("measure", "kind", "node", "country", "cost USD B", "chosen") + (
        () if by_share else ("saving alone", "per USD B", "paid by")
    )
    for column in columns:
        grid.add_column(column, justify="right" if column in ("cost USD B", "saving alone", "per USD B") else "left")
    for r in plan.measures.to_dict("records"):
        row = [r["id"], r["kind"], r["node"], r["country"] or "–", f"{r['cost_usd'] / 1e9:,.2f}", "yes" if r["chosen"] else ""]
        if not by_share:
            row += [f"{r['expected_saving']:.3%}", f"{r['saving_per_billion_usd']:.2e}", r.get("paid_by", "") or "–"]
        grid.add_row(*row)
    out.print(grid)
    if by_share:
        for c in s["chokepoints"]:
            out.print(f"  {c['node']}: {s['bloc']} share {_pct(c['share_before'])} -> {_pct(c['share_after'])}")
        return
    a = s["alpha"]
    out.print(
        f"Expected annual loss {_pct(s['expected_loss_before'])} -> {_pct(s['expected_loss_after'])} of a year's output; "
        f"CVaR {a:g} {_pct(s[f'cvar_{a:g}_before'])} -> {_pct(s[f'cvar_{a:g}_after'])}; budget USD {s['budget_usd'] / 1e9:,.2f}B; "
        f"a further dollar avoids {s['marginal_loss_avoided_per_usd']:.2e} of a year's output"
    )
