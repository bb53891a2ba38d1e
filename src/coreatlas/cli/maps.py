"""Commands of the technology maps: ``chokepoints``, ``exposure``, ``leverage``, ``scenario``,
``validate``, ``datasets`` and ``demo``.

The scenario options (:data:`RemoveCountryOption`, :data:`RemoveFirmOption`,
:data:`OnlyBlocOption`, :data:`CutOption`, :data:`PolicyOption`) and
:func:`scenario_spec_from_options` are shared with ``simulate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coreatlas import services
from coreatlas.cli import _common as ui
from coreatlas.errors import RequestError
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.model.spec import parse_model
from coreatlas.services import maps as svc
from coreatlas.services.demo import DemoRequest

__all__ = [
    "CutOption",
    "OnlyBlocOption",
    "PolicyOption",
    "RemoveCountryOption",
    "RemoveFirmOption",
    "app",
    "parse_cuts",
    "print_outputs",
    "scenario_spec_from_options",
]

app = typer.Typer()
DEFAULT = svc.DEFAULT_DATASET
NO_SCENARIO = "a scenario (a file, or --remove-country, --remove-firm, --only-bloc, --cut, --policy)"
ui.register_flags(__name__, {"scenarios": NO_SCENARIO, "out_dir": "--out-dir"})

# ---- the scenario options, shared with ``simulate`` -----------------------------------------
RemoveCountryOption = Annotated[list[str], typer.Option("--remove-country", help="Country codes to remove (repeat or comma-separate).")]
RemoveFirmOption = Annotated[list[str], typer.Option("--remove-firm", help="Firm names or ids to remove (repeat or comma-separate).")]
OnlyBlocOption = Annotated[str | None, typer.Option("--only-bloc", help="Keep only this bloc's providers (name or codes).")]
CutOption = Annotated[
    list[str],
    typer.Option("--cut", help="CODE=FRACTION: run at a fraction of capacity, e.g. TWN=0.3 (30% remains); comma-separate several."),
]
PolicyOption = Annotated[list[str], typer.Option("--policy", help="Apply a policy of the dataset (see `coreatlas policy`).")]
CUT_SYNTAX = "expected CODE=FRACTION with a fraction in [0, 1], such as TWN=0.3 (Taiwan at 30%)"


def parse_cuts(cuts: list[str]) -> dict[str, float | str]:
    """``["TWN=0.3,KOR=0.5"]`` -> ``{"TWN": 0.3, "KOR": 0.5}``: the option's syntax only; the
    fraction is checked by :class:`ScenarioSpec`."""
    parsed = {}
    for text in ui.split_items(cuts):
        key, sep, value = text.partition("=")
        try:
            parsed[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise RequestError(f"capacity '{text}': {CUT_SYNTAX}", field="capacity")
    return parsed


def _cut_error(exc: RequestError, cuts: list[str]) -> RequestError:
    """A fraction out of range, said in the option's own words (``--cut 'TWN=30': ...``)."""
    texts = {t.partition("=")[0].strip(): t for t in ui.split_items(cuts)}
    for problem in exc.problems:
        key = (problem.field or "").removeprefix("capacity.")
        if key in texts:
            return RequestError(f"capacity '{texts[key]}': {CUT_SYNTAX}", field="capacity")
    return exc


def scenario_spec_from_options(
    remove_country: list[str] = (), remove_firm: list[str] = (), only_bloc: str | None = None, cut: list[str] = (),
    policy: list[str] = (), name: str | None = None,
) -> ScenarioSpec | None:  # fmt: skip
    """The one scenario the options describe, or None when they describe none; named after
    what it does unless ``name`` is given."""
    fields = {"remove_countries": ui.split_items(remove_country), "remove_firms": ui.split_items(remove_firm), "only_bloc": only_bloc,
              "capacity": parse_cuts(list(cut)), "policies": ui.split_items(policy)}  # fmt: skip
    try:
        spec = parse_model(ScenarioSpec, {k: v for k, v in fields.items() if v})
    except RequestError as exc:
        raise _cut_error(exc, list(cut)) from None
    if spec.is_empty():
        return None
    return spec.model_copy(update={"name": name or spec.describe()})


# ---- printing ---------------------------------------------------------------------------------
def print_chokepoints(rows, title: str) -> None:
    columns = [ui.Column("node", lambda r: r["node_name"]), ui.Column("provider", lambda r: r["provider_name"]),
               ui.Column("share", lambda r: ui.pct(r["share"]), right=True)]  # fmt: skip
    ui.print_table(title, columns, rows, empty=f"{title}: none")


def _cause(output: dict) -> tuple[str, str]:
    """The binding input at the end of the path, and the providers lost there."""
    if not output["binding"]:
        return "–", "–"
    root = output["binding"][-1]
    lost = root.get("lost_providers", [])
    providers = ", ".join(f"{p['provider_name']} -{p['share_lost']:.0%}" for p in lost[:3])
    return f"{root['node_name']} ({root['available']:.0%})", providers or "–"


def remaining(r: dict) -> str:
    """A record's availability with its range, ``*`` where it rests on an assumption."""
    return ui.pct_range(r["available"], r["available_low"], r["available_high"]) + (" *" if r.get("estimated") else "")


def print_assumed_note(rows) -> None:
    """The rule behind ``*``, beside the table, when a row shows it."""
    if any(r.get("estimated") for r in rows):
        ui.out.print(f"* {svc.ASSUMED_RULE}.", style="dim")


def print_outputs(results) -> None:
    """What is left of each ultimate output under each scenario, and the binding input."""
    rows = [{"scenario": r.scenario.name, **o} for r in results for o in r.outputs()]
    columns = [
        ui.Column("scenario", lambda r: r["scenario"]),
        ui.Column("output", lambda r: r["node_name"]),
        ui.Column("remaining", remaining, right=True),
        ui.Column("binding input", lambda r: _cause(r)[0]),
        ui.Column("providers lost there", lambda r: _cause(r)[1]),
    ]
    ui.print_table("Scenarios: what is left of the ultimate output", columns, rows,
                   empty="Scenarios: the map has no ultimate output")  # fmt: skip
    print_assumed_note(rows)
    if any(abs(o["available_high"] - o["available_low"]) >= 5e-4 for o in rows):
        ui.out.print("(low–high): the range over the sources' disagreeing figures.", style="dim")
    ui.out.print("The full binding path (output <- ... <- cause) is in --json output.", style="dim")


def _print_affected(results, limit: int = 15) -> None:
    columns = [ui.Column("node", lambda r: r["node_name"] + (" *" if r["estimated"] else "")),
               ui.Column("own providers left", lambda r: ui.pct(r["direct"]), right=True),
               ui.Column("available", lambda r: ui.pct(r["available"]), right=True)]  # fmt: skip
    shown = []
    for result in results:
        hit = sorted((r for r in result.records if r["available"] < 1 - 1e-9), key=lambda r: r["available"])
        ui.print_table(f"{result.scenario.name}: most affected nodes ({len(hit)} of {len(result.records)})", columns, hit[:limit])
        shown += hit[:limit]
    print_assumed_note(shown)


def print_blocs(rows) -> None:
    columns = [ui.Column("node", lambda r: r["node_name"]),
               ui.Column("core", lambda r: ui.pct_range(r["core"], r.get("core_low"), r.get("core_high")), right=True),
               ui.Column("allies", lambda r: ui.pct(r["allies"]), right=True)]  # fmt: skip
    ui.print_table("Bloc shares (core = USA, JPN)", columns, rows)


def print_open_ran(rows) -> None:
    columns = [
        ui.Column("scenario", lambda r: r["scenario"]),
        ui.Column(
            "proprietary", lambda r: ui.pct_range(r["proprietary_available"], r["proprietary_low"], r["proprietary_high"]), right=True
        ),
        ui.Column("open", lambda r: ui.pct_range(r["open_available"], r["open_low"], r["open_high"]), right=True),
        ui.Column("open advantage", lambda r: f"{r['open_advantage']:+.1%}", right=True),
        ui.Column("full-stack vendors left", lambda r: str(r["full_stack_vendors_left"]), right=True),
        ui.Column("vendors left per component", lambda r: str(r["component_vendors_left"]), right=True),
    ]
    ui.print_table("Open RAN vs proprietary RAN: capacity kept under vendor bans", columns, rows)


# ---- demo -------------------------------------------------------------------------------------
@app.command()
@ui.handles_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the HTML report.")] = Path("coreatlas-report"),
    data: Annotated[str | None, typer.Option("--data", "-d", help="Only this dataset (default: every built-in dataset).")] = None,
    as_json: ui.JsonOption = False,
) -> None:
    """Run the main job on every built-in technology map: chokepoints, bloc shares, scenarios,
    the Open RAN comparison, a materials shock into chips and radios, and an HTML report.

    Example: `coreatlas demo` (no network needed), then open coreatlas-report/index.html.
    """
    request = services.parse_request(DemoRequest, {"out_dir": str(out_dir), "data": data})
    with ui.progress_bar("running the demo", "steps") as progress:
        result = services.run("demo", request, progress)
    if not ui.emit(result, as_json):
        return
    for sec in result.sections:
        meta = sec.tm.meta
        ui.out.rule(f"[bold]{meta.title or meta.name}[/] ({meta.name} {meta.version})")
        if sec.note:
            ui.out.print(sec.note)
        print_chokepoints(sec.chokepoints[:8], "Top chokepoints: one country holds at least 90%")
        print_blocs(sec.bloc_rows[:8])
        print_outputs(sec.results)
        if sec.open_ran:
            print_open_ran(sec.open_ran)
    ui.out.print(f"\nReport written to [bold]{result.report_path}[/]")


# ---- chokepoints, exposure, leverage ----------------------------------------------------------
@app.command()
@ui.handles_errors
def chokepoints(
    data: ui.DataOption = DEFAULT,
    threshold: Annotated[float, typer.Option(help="Share (0..1) one provider must hold.")] = 0.9,
    by: Annotated[str, typer.Option(help=f"Providers counted: {' or '.join(svc.BY_CHOICES)}.")] = "country",
    attribution: ui.AttributionOption = "hq",
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """List nodes where one country (or firm) holds at least THRESHOLD of the global market.

    Examples: `coreatlas chokepoints`, `coreatlas chokepoints --data ~/eto-data --by firm --json`
    """
    request = services.parse_request(svc.ChokepointsRequest, {"data": data, "threshold": threshold, "by": by, "attribution": attribution})
    result = services.run("chokepoints", request)
    if ui.emit(result, as_json, as_csv, save, force):
        print_chokepoints(result.rows, f"Chokepoints: one {by} holds at least {threshold:.0%}")


def _top(r: dict) -> str:
    if r["top_country"]:
        return f"{r['top_country']} {ui.pct(r['top_country_share'])}"
    return "qualitative: " + ", ".join(r["qualitative"]) if r["qualitative"] else "–"


EXPOSURE_COLUMNS = (
    ui.Column("node", lambda r: r["node_name"]),
    ui.Column("HHI", lambda r: "–" if r["hhi"] is None else f"{r['hhi']:.3f}", right=True),
    ui.Column("eff. suppliers", lambda r: "–" if r["effective_suppliers"] is None else f"{r['effective_suppliers']:.2f}", right=True),
    ui.Column("countries to 75%", lambda r: str(r["countries_to_75"] or "–"), right=True),
    ui.Column("bloc share", lambda r: ui.pct(r["bloc_share"]), right=True),
    ui.Column("top country", _top),
)


@app.command()
@ui.handles_errors
def exposure(
    data: ui.DataOption = DEFAULT,
    node: Annotated[str | None, typer.Option(help="Only this node id.")] = None,
    bloc: Annotated[str, typer.Option(help="Bloc name (core, allies) or codes such as USA,JPN,NLD.")] = "core",
    attribution: ui.AttributionOption = "hq",
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Concentration per node: shares, HHI, effective suppliers, countries to 75%, bloc share.

    Examples: `coreatlas exposure --node euv_lithography_tools`, `coreatlas exposure --bloc USA,JPN,NLD --json`
    """
    request = services.parse_request(svc.ExposureRequest, {"data": data, "node": node, "bloc": bloc, "attribution": attribution})
    result = services.run("exposure", request)
    if ui.emit(result, as_json, as_csv, save, force):
        ui.print_table(f"Exposure (bloc: {', '.join(result.table.bloc)})", EXPOSURE_COLUMNS, result.rows)


@app.command()
@ui.handles_errors
def leverage(
    data: ui.DataOption = DEFAULT,
    bloc: Annotated[str, typer.Option(help="Bloc name or codes.")] = "core",
    threshold: Annotated[float, typer.Option(help="Bloc share (0..1) at or above which a control would bite.")] = 0.9,
    attribution: ui.AttributionOption = "hq",
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Nodes where a bloc holds at least THRESHOLD: where its export control would bite.

    Example: `coreatlas leverage --bloc allies --threshold 0.75`
    """
    request = services.parse_request(svc.LeverageRequest, {"data": data, "bloc": bloc, "threshold": threshold, "attribution": attribution})
    result = services.run("leverage", request)
    if ui.emit(result, as_json, as_csv, save, force):
        columns = [ui.Column("node", lambda r: r["node_name"]), ui.Column("bloc share", lambda r: ui.pct(r["bloc_share"])),
                   ui.Column("top country", lambda r: f"{r['top_country']} {ui.pct(r['top_country_share'])}")]  # fmt: skip
        ui.print_table(f"Leverage of {bloc}: bloc share at least {threshold:.0%}", columns, result.rows)


# ---- scenario ---------------------------------------------------------------------------------
@app.command()
@ui.handles_errors
def scenario(
    file: Annotated[Path | None, typer.Argument(help="Scenario file (YAML); see docs/scenarios.md.")] = None,
    data: ui.DataOption = DEFAULT,
    remove_country: RemoveCountryOption = [],  # noqa: B006
    remove_firm: RemoveFirmOption = [],  # noqa: B006
    only_bloc: OnlyBlocOption = None,
    cut: CutOption = [],  # noqa: B006
    policy: PolicyOption = [],  # noqa: B006
    variants: Annotated[
        str, typer.Option(help=f"{' or '.join(svc.VARIANT_RULES)}: variants add up (pool) or are all needed (all).")
    ] = "pool",
    attribution: ui.AttributionOption = "hq",
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """What is left of every node when providers drop out, and which inputs bind.

    Examples: `coreatlas scenario --remove-country NLD`, `coreatlas scenario --cut TWN=0.3,KOR=0.5 --json`,
    `coreatlas scenario --data telecom-ran --policy fcc_covered_list`,
    `coreatlas scenario my-scenarios.yaml --data ~/eto-data`
    """
    ui.precheck(save, force, file, data)
    spec = None if file is not None else scenario_spec_from_options(remove_country, remove_firm, only_bloc, cut, policy)
    fields = {"data": data, "variants": variants, "attribution": attribution}
    fields |= {"scenario_file": str(file)} if file is not None else {"scenarios": [spec.to_dict()] if spec else []}
    result = services.run("scenario", services.parse_request(svc.ScenarioRequest, fields))
    for warning in result.warnings:
        ui.err.print(f"[yellow]note:[/] {warning}", highlight=False)
    if ui.emit(result, as_json, as_csv, save, force):
        print_outputs(result.results)
        _print_affected(result.results)


# ---- validate, datasets -----------------------------------------------------------------------
@app.command()
@ui.handles_errors
def validate(
    data: ui.DataOption = DEFAULT, as_json: ui.JsonOption = False, as_csv: ui.CsvOption = False, save: ui.OutOption = None, force: ui.ForceOption = False
) -> None:
    """Check a dataset and report every problem (file, line, column). Exit 2 if it has errors.

    Example: `coreatlas validate --data ./my-map`
    """
    result = services.run("validate", services.parse_request(svc.ValidateRequest, {"data": data}))
    if ui.emit(result, as_json, as_csv, save, force):
        for problem in result.problems:
            colour = "red" if problem.severity == "error" else "yellow"
            ui.err.print(f"[{colour}]{problem.severity}:[/] ", end="")
            ui.err.print(str(problem), markup=False, highlight=False)
        counts = ", ".join(f"{v} {k}" for k, v in result.counts.items())
        verdict = "[green]valid[/]" if result.ok else "[red]invalid[/]"
        ui.out.print(f"{result.data}: {verdict}" + (f" ({counts})" if counts else ""))
    if not result.ok:
        raise typer.Exit(2)


@app.command("datasets")
@ui.handles_errors
def list_datasets(as_json: ui.JsonOption = False, as_csv: ui.CsvOption = False, save: ui.OutOption = None, force: ui.ForceOption = False) -> None:
    """List the built-in datasets."""
    result = services.run("datasets", svc.DatasetsRequest())
    if ui.emit(result, as_json, as_csv, save, force):
        for r in result.rows:
            ui.out.print(f"[bold]{r['name']}[/] {r['version']} — {r['title']} ({r['licence']})")
