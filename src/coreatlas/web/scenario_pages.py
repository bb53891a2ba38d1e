"""Scenarios: the builder on the map page, jobs with their progress, runs, saved scenarios and comparisons.

- The **scenario builder** is a partial of the map page (``scenario_builder.html``; the map's
  page module puts :func:`builder_context` in its context as ``scenario_builder``). Its state
  lives in the URL (``remove``, ``remove_firm``, ``remove_bloc``, ``cut`` = ``TWN:30,KOR:10``
  percent cut, ``variants``, ``control`` = ``core:CHN`` (who denies : target), ``policy``,
  ``scenario`` = a saved scenario's id) and the server computes its static result
  (``server.run_static(..., "scenario", ...)``) into the island ``#scenario-data``, so a link
  reproduces the scenario and the map is coloured without waiting. Every member may try
  scenarios (a static answer changes nothing); saving and running day by day are for editors.
- ``/w/{ws}/jobs/{id}``: a job's state and progress (server-sent events, ``static/js/job.js``),
  its cancel button (editors) and, once it has succeeded, its result.
- ``/w/{ws}/runs/{id}``: a run's result; ``/w/{ws}/scenarios``: the saved scenarios and runs;
  ``/w/{ws}/compare?items=scenario:ID,run:ID``: two to four of them side by side.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from babel.core import get_global
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coreatlas.errors import CoreAtlasError, NotFoundError, RequestError
from coreatlas.model.countries import is_iso_alpha3
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.services.server import MAX_PAGE, Page
from coreatlas.web import risk_pages
from coreatlas.web.i18n import Language
from coreatlas.web.site import Site, can_edit, node_names

__all__ = ["BuilderState", "builder_context", "parse_state", "scenario_view"]

BLOCS = ("core", "allies")
VARIANTS = ("pool", "all")
#: The builder's default: every variant of a tool is needed (no EUV, no leading-edge chip), which the
#: page states beside its choice; the request always says which (the engine's own default is ``pool``).
DEFAULT_VARIANTS = "all"
#: The job states of the page (``data-state``): the server's ``succeeded`` is ``done``.
PAGE_STATES = {"queued": "queued", "running": "running", "succeeded": "done", "failed": "failed", "cancelled": "cancelled"}
MAX_CODES = 400  # codes one URL parameter may list
MAX_ITEMS = 4  # items one comparison may hold
MIN_ITEMS = 2
TABLE_ROWS = 200  # rows shown of a result's generic table
SIM_SERIES = (("production", "chart-production"), ("value_added", "chart-value-added"), ("final_consumption", "chart-consumption"))
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"


# ---- the builder's state (URL <-> scenario request) ----------------------------------------------
@dataclass(frozen=True)
class BuilderState:
    """What the builder holds; ``cut`` maps a country code to the percentage of capacity cut."""

    remove: tuple[str, ...] = ()
    remove_firm: tuple[str, ...] = ()
    remove_bloc: tuple[str, ...] = ()
    cut: tuple[tuple[str, float], ...] = ()
    variants: str = DEFAULT_VARIANTS
    control: tuple[str, str] | None = None
    policy: tuple[str, ...] = ()
    scenario: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)

    def spec(self, name: str = "") -> dict:
        """The scenario as a :class:`ScenarioSpec`'s fields (only those given): ``cut`` 30 is capacity 0.7."""
        parts = {"name": name, "remove_countries": list(self.remove), "remove_firms": list(self.remove_firm),
                 "remove_blocs": list(self.remove_bloc), "capacity": {c: round(1 - p / 100, 6) for c, p in self.cut},
                 "export_control": {"denied_by": self.control[0], "target": self.control[1]} if self.control else None,
                 "policies": list(self.policy)}  # fmt: skip
        return {k: v for k, v in parts.items() if v}

    def request(self) -> dict:
        """The body of ``POST /api/workspaces/{ws}/datasets/{ds}/scenario`` (scenario.js builds the same)."""
        return {"scenarios": [self.spec()], "variants": self.variants}

    def is_empty(self) -> bool:
        return not self.spec()

    def query(self) -> dict:
        """The URL parameters of this state."""
        params = {"remove": ",".join(self.remove), "remove_firm": ",".join(self.remove_firm), "remove_bloc": ",".join(self.remove_bloc),
                  "cut": ",".join(f"{c}:{_percent_text(p)}" for c, p in self.cut), "variants": "" if self.variants == DEFAULT_VARIANTS else self.variants,
                  "control": ":".join(self.control) if self.control else "", "policy": ",".join(self.policy)}  # fmt: skip
        return {k: v for k, v in params.items() if v}


def _percent_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _codes(text: str | None, upper: bool = True) -> tuple[str, ...]:
    items = [part.strip() for part in (text or "").split(",")[:MAX_CODES]]
    return tuple(dict.fromkeys(item.upper() if upper else item for item in items if item and len(item) <= 200))


def _cuts(text: str | None) -> tuple[tuple[str, float], ...]:
    """``TWN:30,KOR:10`` -> ``(("TWN", 30.0), ("KOR", 10.0))``; a bad part is a :class:`RequestError`."""
    cuts = {}
    for part in _codes(text):
        code, _, value = part.partition(":")
        try:
            percent = float(value)
        except ValueError:
            percent = float("nan")
        if not code or not 0 <= percent <= 100:
            raise RequestError(f"cut: '{part}' is not CODE:PERCENT with a percentage from 0 to 100", field="cut")
        cuts[code] = percent
    return tuple((c, p) for c, p in cuts.items() if p > 0)


def _control(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    denied_by, _, target = text.partition(":")
    if not denied_by.strip() or not target.strip():
        raise RequestError(f"control: '{text[:100]}' is not BLOC:COUNTRY (such as core:CHN)", field="control")
    return denied_by.strip()[:200], target.strip().upper()[:200]


def state_of_request(request: dict) -> BuilderState:
    """The builder state of a saved scenario's request (its first scenario)."""
    specs = request.get("scenarios") or [{}]
    spec = ScenarioSpec.model_validate(specs[0])
    control = (spec.export_control.denied_by if isinstance(spec.export_control.denied_by, str) else ",".join(spec.export_control.denied_by),
               spec.export_control.target) if spec.export_control else None  # fmt: skip
    return BuilderState(remove=tuple(spec.remove_countries), remove_firm=tuple(spec.remove_firms), remove_bloc=tuple(spec.remove_blocs),
                        cut=tuple((c, round((1 - f) * 100, 4)) for c, f in spec.capacity.items()), variants=request.get("variants", "pool"),
                        control=control, policy=tuple(spec.policies))  # fmt: skip


def parse_state(query: Any, saved: BuilderState | None = None) -> BuilderState:
    """The state of a URL's parameters, over a saved scenario's state (the URL's parameters win);
    a bad parameter is dropped and named in ``problems``."""
    state, problems = saved or BuilderState(), []
    readers = {"remove": lambda t: {"remove": _codes(t)}, "remove_firm": lambda t: {"remove_firm": _codes(t, upper=False)},
               "remove_bloc": lambda t: {"remove_bloc": tuple(b for b in _codes(t, upper=False) if b)}, "cut": lambda t: {"cut": _cuts(t)},
               "variants": lambda t: {"variants": t if t in VARIANTS else _bad_variants(t)}, "control": lambda t: {"control": _control(t)},
               "policy": lambda t: {"policy": _codes(t, upper=False)}}  # fmt: skip
    for name, read in readers.items():
        if name in query:
            try:
                state = replace(state, **read(query.get(name)))
            except RequestError as exc:
                problems.append(str(exc))
    return replace(state, scenario=(query.get("scenario") or "")[:200] or None, problems=tuple(problems))


def _bad_variants(text: str) -> str:
    raise RequestError(f"variants: '{text[:50]}' is not one of {', '.join(VARIANTS)}", field="variants")


def scenario_key(request: dict) -> str | None:
    """A request's scenarios and variants in one canonical text (None when they are not valid)."""
    try:
        specs = [ScenarioSpec.model_validate({**s, "name": "scenario"}).model_dump(mode="json") for s in request.get("scenarios") or [{}]]
    except (ValueError, TypeError):
        return None
    return json.dumps([specs, request.get("variants", "pool")], sort_keys=True)


# ---- a static result as the page shows it ----------------------------------------------------------
def scenario_view(payload: dict, lang: Language) -> dict:
    """The ``coreatlas:scenario`` event's detail of a static result (``scenario.js`` makes the same
    from the API's answer): availability of every node, the outputs, and the binding path of the
    worst output (the engine's own trace: from the output back to the providers that were cut)."""
    rows = payload.get("rows") or []
    outputs = [_output_row(r, lang) for r in rows if r.get("output")]
    worst = min(outputs, key=lambda r: (r["available"], r["node_id"])) if outputs else None
    binding = [step["node_id"] for step in worst["binding"]] if worst and worst["available"] < 1 else []
    scenarios = payload.get("scenarios") or [{}]
    return {"availability": {r["node_id"]: r["available"] for r in rows}, "binding": binding, "outputs": outputs,
            "summary": scenarios[0].get("summary", ""), "warnings": list(scenarios[0].get("warnings") or [])}  # fmt: skip


def _output_row(row: dict, lang: Language) -> dict:
    steps = [{"node_id": s["node_id"], "name": lang.node_name(s["node_name"]), "available": s["available"],
              "lost": [p.get("provider_name") or p.get("provider") for p in s.get("lost_providers", [])]} for s in row.get("binding") or []]  # fmt: skip
    return {"node_id": row["node_id"], "name": lang.node_name(row["node_name"]), "available": row["available"],
            "low": row.get("available_low", row["available"]), "high": row.get("available_high", row["available"]),
            "estimated": bool(row.get("estimated")), "binding": steps}  # fmt: skip


def unchanged_view(tm: Any, lang: Language) -> dict:
    """The view of the empty scenario: every node available, no binding path (nothing is run)."""
    outputs = [{"node_id": n, "name": lang.node_name(tm.node_names[n]), "available": 1.0, "low": 1.0, "high": 1.0, "estimated": False,
                "binding": []} for n in tm.outputs]  # fmt: skip
    return {"availability": dict.fromkeys(tm.node_ids, 1.0), "binding": [], "outputs": outputs, "summary": "", "warnings": []}


# ---- the builder on the map page ------------------------------------------------------------------
def _territories() -> dict[str, str]:
    aliases = get_global("territory_aliases")
    return {code: targets[0] for code, targets in aliases.items() if len(code) == 3 and code.isalpha() and len(targets) == 1}


TERRITORY_OF = _territories()  # ISO alpha-3 -> alpha-2 (CLDR, through Babel)


def country_name(code: str, lang: Language, fallback: str = "") -> str:
    """A country's name in the page's language (CLDR), else the dataset's name for it, else its code."""
    alpha2 = TERRITORY_OF.get(code)
    return (lang.locale.territories.get(alpha2) if alpha2 else None) or fallback or code


def builder_options(providers: list[dict], policies: list[dict], lang: Language) -> dict:
    """The countries (ISO alpha-3 codes of the map's providers), firms and policies the builder offers."""
    names = {p["provider_id"]: p.get("name") or "" for p in providers if p.get("type") == "country"}
    codes = {p.get("country") for p in providers if p.get("type") in ("country", "firm")} | set(names)
    countries = sorted(({"code": c, "name": country_name(c, lang, names.get(c, ""))} for c in codes if c and is_iso_alpha3(c)),
                       key=lambda c: c["name"])  # fmt: skip
    firms = sorted(({"id": p["provider_id"], "name": p.get("name") or p["provider_id"], "country": p.get("country") or ""}
                    for p in providers if p.get("type") == "firm"), key=lambda f: (f["name"].lower(), f["id"]))  # fmt: skip
    return {
        "countries": countries,
        "firms": firms,
        "policies": [{"id": p["policy_id"], "name": p.get("name") or p["policy_id"]} for p in policies],
    }


def _policies(server: Any, caller: Any, ws: str, ds: str) -> list[dict]:
    try:
        return server.run_static(caller, ws, ds, "policies", {}).get("rows") or []
    except CoreAtlasError:  # a map without policies.csv has none to offer
        return []


def _runs(server: Any, caller: Any, ws: str) -> list[dict]:
    return server.list_runs(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]


def _saved_state(server: Any, caller: Any, ws: str, query: Any) -> tuple[BuilderState | None, dict | None, str | None]:
    """The state and record of the saved scenario the URL names (``scenario``), or why not."""
    wanted = (query.get("scenario") or "")[:200]
    if not wanted:
        return None, None, None
    try:
        saved = server.get_scenario(caller, ws, wanted)
        return state_of_request(saved.get("request") or {}), saved, None
    except (CoreAtlasError, ValueError) as exc:
        return None, None, str(exc)


def _static_view(
    server: Any, caller: Any, ws: str, ds: str, state: BuilderState, lang: Language
) -> tuple[dict | None, str | None]:
    """The view of the state's static result, and a message when there is none."""
    try:  # every member may ask a static scenario (an editor's answer is also recorded as a run)
        payload = server.run_static(caller, ws, ds, "scenario", state.request())
    except CoreAtlasError as exc:
        return None, str(exc)
    view = scenario_view(payload, lang)
    return {**view, "summary": _request_text(state.request(), lang) or view["summary"]}, None


def scenario_result(server: Any, caller: Any, ws: str, ds: str, query: Any, lang: Language, workspace: dict) -> dict:
    """The URL's scenario on ``ds`` and its static result: ``{state, saved, view, problems, can_edit, tm}``
    (the map's JSON twin needs only this; the builder adds its options)."""
    from coreatlas.services.inputs import load_map  # noqa: PLC0415 - the engines load on first use

    tm = load_map(server.dataset_map_ref(caller, ws, ds))
    editor = can_edit(caller, workspace)
    saved_state, saved, saved_problem = _saved_state(server, caller, ws, query)
    state = parse_state(query, saved_state)
    view, problem = (unchanged_view(tm, lang), None) if state.is_empty() else _static_view(server, caller, ws, ds, state, lang)
    problems = [p for p in (saved_problem, *state.problems, problem) if p]
    return {"state": state, "saved": saved, "view": view, "problems": problems, "can_edit": editor, "tm": tm}


def builder_context(server: Any, query: Any, caller: Any, lang: Language, ws: str, ds: str, dataset: dict, workspace: dict) -> dict:
    """The map page's ``scenario_builder`` context: the state of the URL, the options and the initial result
    (``dataset`` and ``workspace`` are the page's ``get_dataset`` and ``get_workspace`` answers, read once)."""
    result = scenario_result(server, caller, ws, ds, query, lang, workspace)
    tm, state = result.pop("tm"), result["state"]
    options = builder_options(dataset.get("providers") or [], _policies(server, caller, ws, ds), lang)
    blocs = {name: list(tm.blocs.get(name, ())) for name in BLOCS}
    island = _island(ws, ds, lang, tm, state, result["view"], result["can_edit"], result["saved"])
    return {**result, "options": options, "blocs": blocs, "cuts": dict(state.cut), "island": island}


def _island(ws: str, ds: str, lang: Language, tm: Any, state: BuilderState, view: dict | None, editor: bool, saved: dict | None) -> dict:
    api = f"/api/workspaces/{ws}"
    return {"workspace": ws, "dataset": ds, "lang": lang.code, "request": state.request(), "view": view, "can_edit": editor,
            "saved": {"id": saved["id"], "name": saved["name"]} if saved else None, "outputs": list(tm.outputs),
            "names": {n: lang.node_name(tm.node_names[n]) for n in tm.node_ids},
            "urls": {"scenario": f"{api}/datasets/{ds}/scenario", "saved": f"{api}/scenarios", "jobs": f"{api}/jobs", "job_page": f"/w/{ws}/jobs/"},
            "texts": {**builder_texts(lang), "describe": describe_texts(lang)}}  # fmt: skip


def builder_texts(lang: Language) -> dict:
    """What scenario.js writes on the page, in the page's language."""
    _ = lang.gettext
    return {"saved": _("Saved as"), "save_failed": _("Not saved:"), "run_failed": _("The simulation was not submitted:"),
            "scenario_failed": _("The scenario could not be run:"), "assumed": _("assumed"), "running": _("Running the scenario…"),
            "unchanged": _("No change: every node is fully available."), "need_name": _("Give the scenario a name first."),
            "lost": _("lost:"), "none": _("none")}  # fmt: skip


# ---- Vega-Lite specs made here (the stored results keep data, not charts) ----------------------------
def line_spec(rows: list[dict], y: str, title: str, y_title: str, series: str | None = None, rule: tuple[int, str] | None = None) -> dict:
    """Days against ``y`` (one line per ``series``), with a dotted, labelled rule at ``rule`` = (day, label)."""
    encoding = {"x": {"field": "day", "type": "quantitative", "title": None},
                "y": {"field": y, "type": "quantitative", "title": y_title, "scale": {"zero": False}, "axis": {"format": ".3~f"}}}  # fmt: skip
    if series:
        encoding["color"] = {
            "field": series,
            "type": "nominal",
            "title": None,
            "scale": {"range": list(PALETTE)},
            "legend": {"orient": "bottom"},
        }
    layers = [{"mark": {"type": "line", "strokeWidth": 1.8}, "encoding": encoding}]
    if rule is not None:
        layers.append({"mark": {"type": "rule", "strokeDash": [4, 3], "color": PALETTE[1]}, "encoding": {"x": {"datum": rule[0]}}})
        days = [r["day"] for r in rows if isinstance(r.get("day"), int | float)]
        right_half = bool(days) and rule[0] > (min(days) + max(days)) / 2  # the label then goes left of the rule, inside the chart
        layers.append({"mark": {"type": "text", "align": "right" if right_half else "left", "baseline": "top", "dx": -3 if right_half else 3,
                                "dy": 2, "color": "#8a3a00"},
                       "encoding": {"x": {"datum": rule[0]}, "y": {"value": 0}, "text": {"value": rule[1]}}})  # fmt: skip
    return {"$schema": VEGA_LITE, "title": title, "width": "container", "height": 240, "data": {"values": rows}, "layer": layers}


def bar_spec(rows: list[dict], x: str, y: str, title: str, x_title: str, colour: str | None = None) -> dict:
    """Horizontal bars: ``y`` the category (in the rows' order), ``x`` the value (a fraction shown as %)."""
    encoding = {"y": {"field": y, "type": "nominal", "sort": None, "title": None},
                "x": {"field": x, "type": "quantitative", "title": x_title, "axis": {"format": "%"}}}  # fmt: skip
    if colour:
        encoding["color"] = {"field": colour, "type": "nominal", "title": None, "scale": {"range": list(PALETTE)}}
        encoding["yOffset"] = {"field": colour}
    return {"$schema": VEGA_LITE, "title": title, "width": "container", "height": {"step": 18}, "data": {"values": rows},
            "mark": {"type": "bar"}, "encoding": encoding}  # fmt: skip


def percent_of_baseline(totals: list[dict], column: str) -> list[dict]:
    """Day and ``column`` as a percentage of its baseline (day -1, the first row)."""
    base = totals[0].get(column) if totals else None
    if not base:
        return []
    return [{"day": r["day"], "percent": 100.0 * r[column] / base} for r in totals]


# ---- a simulation's result ---------------------------------------------------------------------------
def simulation_view(result: dict, lang: Language, names: dict[str, str]) -> dict:
    """Charts (production, value added, final consumption over time; losses by sector and region)
    and tables of a ``simulate`` result."""
    _ = lang.gettext
    totals = result.get("totals") or []
    recovery = (result.get("losses") or {}).get("production", {}).get("recovery_day")
    titles = {"production": _("Gross production"), "value_added": _("Value added"), "final_consumption": _("Final consumption delivered")}
    rule = (recovery, _("recovery day")) if recovery is not None else None
    charts = [{"id": chart_id, "label": titles[col], "spec": line_spec(percent_of_baseline(totals, col), "percent", titles[col],
               _("% of baseline"), rule=rule)} for col, chart_id in SIM_SERIES if totals]  # fmt: skip
    sectors = [{**r, "name": sector_name(r["sector"], names, lang)} for r in result.get("losses_by_sector") or []]
    regions = [
        {**r, "name": country_name(r["region"], lang) if is_iso_alpha3(r["region"]) else r["region"]}
        for r in result.get("losses_by_region") or []
    ]
    bars = [{"id": f"chart-{key}", "label": label, "spec": bar_spec(rows, "share_of_loss", "name", label, _("share of the production lost"))}
            for key, label, rows in (("losses-sector", _("Losses by sector"), sectors), ("losses-region", _("Losses by region"), regions)) if rows]  # fmt: skip
    return {"charts": charts, "bars": bars, "sectors": sectors, "regions": regions, "losses": result.get("losses") or {},
            "days": result.get("days"), "totals": totals, "amount": lambda value: amount(value, lang)}  # fmt: skip


def amount(value: float | None, lang: Language) -> str:
    """A loss in the network's units with three significant digits (``0.0123``; tiny values and -0 as 0)."""
    if value is None or not math.isfinite(value):
        return lang.number(None)
    if abs(value) < 1e-9:
        return lang.number(0, 0)
    return lang.number(value, max(0, min(8, 2 - math.floor(math.log10(abs(value))))))


def sector_name(sector: str, names: dict[str, str], lang: Language) -> str:
    """A sector of a compiled map: its node's name (``variants:X``: the variants of node X together)."""
    if sector.startswith("variants:"):
        variants = lang.gettext("(its variants)")
        return f"{names.get(sector[9:], sector[9:])} {variants}"
    return names.get(sector, sector)


def generic_view(result: dict) -> dict:
    """Any result: its lists of records as tables (the first rows) and its other fields as a summary."""
    tables, summary = [], []
    for key, value in result.items():
        if key == "provenance":
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for row in value[:TABLE_ROWS] for k, v in row.items() if _scalar(v)))
            tables.append({"name": key, "columns": columns, "rows": value[:TABLE_ROWS], "total": len(value)})
        elif _scalar(value):
            summary.append((key, value))
        elif isinstance(value, dict) and all(_scalar(v) for v in value.values()):
            summary.extend((f"{key}.{k}", v) for k, v in value.items())
    return {"tables": tables, "summary": summary}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def result_context(server: Any, caller: Any, ws: str, kind: str, request: dict, result: dict | None, lang: Language,
                   origin: dict | None = None) -> dict:  # fmt: skip
    """What the result part of the job and run pages shows: a simulation's charts and tables, a static
    scenario's outputs, a risk kind's partial (:func:`risk_pages.kind_view`, with ``origin`` = where the
    result comes from), else every field of the result as a generic table."""
    if result is None:
        return {"result": None, "simulation": None, "static_view": None, "generic": None, "kind_view": None}
    # the node names of the request's dataset: read once for the page (each get_dataset is an audit entry)
    names = node_names(server, caller, ws, request.get("data"), lang) if kind == "simulate" or kind in risk_pages.JOB_TEMPLATES else {}
    simulation = simulation_view(result, lang, names) if kind == "simulate" else None
    static_view = scenario_view(result, lang) if kind == "scenario" else None
    kind_view = risk_pages.kind_view(server, caller, ws, kind, request, result, lang, names, origin)
    return {"result": result, "simulation": simulation, "static_view": static_view, "kind_view": kind_view,
            "generic": generic_view(result) if simulation is None and static_view is None and kind_view is None else None}  # fmt: skip


# ---- the job page ------------------------------------------------------------------------------------
def job_context(server: Any, caller: Any, ws: str, job_id: str, lang: Language) -> dict:
    job = server.get_job(caller, job_id)
    if job.get("workspace") != ws:  # a job is seen only under its own workspace
        raise NotFoundError(f"job '{job_id}' not found", field="job")
    workspace = server.get_workspace(caller, ws)
    result = server.job_result(caller, job_id) if job["state"] == "succeeded" else None
    request = job.get("request") or {}
    progress = job.get("progress") or {}
    return {"job": job, "workspace": workspace, "page_state": PAGE_STATES.get(job["state"], job["state"]),
            "can_cancel": can_edit(caller, workspace) and job["state"] in ("queued", "running"), "done": progress.get("done") or 0,
            "total": progress.get("total"), "request": request, "scenario_text": _request_text(request, lang),
            "island": {"job": job_id, "state": job["state"], "urls": {"job": f"/api/jobs/{job_id}", "events": f"/api/jobs/{job_id}/events"},
                       "states": state_labels(lang), "texts": {"cancel_failed": lang.gettext("Not cancelled:")}},
            "states": state_labels(lang),
            **result_context(server, caller, ws, job["kind"], request, result, lang, {"job": job_id, "at": job.get("finished_at")})}  # fmt: skip


def use_case_labels(lang: Language) -> dict[str, str]:
    """The use cases of runs, jobs and saved scenarios, in the page's language."""
    _ = lang.gettext
    return {"scenario": _("Static scenario"), "simulate": _("Simulation, day by day"), "montecarlo": _("Monte Carlo"), "rank": _("Ranking"),
            "invest": _("Investment plan"), "ttr": _("Time to recover"), "tts": _("Time to survive"), "mrio-simulate": _("Input-output simulation"),
            "policy": _("Policy")}  # fmt: skip


def state_labels(lang: Language) -> dict[str, str]:
    _ = lang.gettext
    return {"queued": _("queued"), "running": _("running"), "succeeded": _("done"), "done": _("done"), "failed": _("failed"),
            "cancelled": _("cancelled")}  # fmt: skip


def _request_text(request: dict, lang: Language) -> str:
    """What a request's first scenario does (``remove NLD; TWN at 70%``) in the page's language, or an empty text."""
    specs = request.get("scenarios") or []
    try:
        return scenario_text(ScenarioSpec.model_validate(specs[0]), lang) if specs else ""
    except (ValueError, TypeError):
        return ""


def describe_texts(lang: Language) -> dict[str, str]:
    """The patterns of :func:`scenario_text` (scenario.js fills the same ones)."""
    _ = lang.gettext
    return {"remove": _("remove %(what)s"), "remove_bloc": _("remove bloc %(what)s"), "only": _("only %(what)s"),
            "capacity": _("%(code)s at %(share)s"), "control": _("%(by)s deny inputs to %(target)s"), "policy": _("policy %(name)s"),
            "none": _("no change"), "separator": _("; ")}  # fmt: skip


def scenario_text(spec: ScenarioSpec, lang: Language) -> str:
    """What a scenario does, in the page's language: :meth:`ScenarioSpec.describe` in words the page translates."""
    t = describe_texts(lang)

    def listed(codes: Any) -> str:
        return codes if isinstance(codes, str) else ", ".join(codes)

    parts = [t["remove"] % {"what": listed(codes)} for codes in (spec.remove_countries, spec.remove_firms) if codes]
    parts += [t["remove_bloc"] % {"what": listed(spec.remove_blocs)}] if spec.remove_blocs else []
    parts += [t["only"] % {"what": listed(spec.only_bloc)}] if spec.only_bloc else []
    parts += [t["capacity"] % {"code": code, "share": lang.percent(share, 0)} for code, share in spec.capacity.items()]
    control = spec.export_control
    parts += [t["control"] % {"by": listed(control.denied_by), "target": control.target}] if control else []
    parts += [t["policy"] % {"name": p} for p in spec.policies]
    return t["separator"].join(parts) or t["none"]


# ---- saved scenarios and runs ------------------------------------------------------------------------
def _author_names(server: Any, caller: Any, ws: str, role: str) -> dict[str, str]:
    """User id -> name as far as the caller may know: themselves, and for owners everyone in the audit log."""
    names = {caller.user_id: caller.user_name} if getattr(caller, "user_id", None) else {}
    if role == "owner":
        for entry in server.audit(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]:
            if entry.get("user_id"):
                names.setdefault(entry["user_id"], entry.get("user") or entry["user_id"])
    return names


def saved_dataset(saved: dict, runs: list[dict]) -> str | None:
    """The dataset of a saved scenario: its request's ``data``, else the newest static run of the same scenario."""
    request = saved.get("request") or {}
    if request.get("data"):
        return request["data"]
    key = scenario_key(request)
    return next(
        (r["request"].get("data") for r in runs if r["use_case"] == "scenario" and scenario_key(r.get("request") or {}) == key), None
    )


def map_link(ws: str, ds: str, query: dict, lang_amp: str = "") -> str:
    text = urlencode(query)
    return f"/w/{ws}/d/{ds}/map" + (f"?{text}{lang_amp}" if text else (f"?{lang_amp[1:]}" if lang_amp else ""))


def listed_runs(runs: list[dict], lang: Language, limit: int = 50) -> list[dict]:
    """The runs worth listing: every job's run, and each distinct static result once (its newest run)."""
    seen, listed = set(), []
    for run in runs:
        key = run.get("result") if not run.get("job") else run["id"]
        if key in seen:
            continue
        seen.add(key)
        request = run.get("request") or {}
        listed.append({**run, "dataset": request.get("data"), "text": _request_text(request, lang), "days": request.get("days")})
    return listed[:limit]


def scenarios_context(server: Any, caller: Any, ws: str, lang: Language) -> dict:
    info = server.get_workspace(caller, ws)
    runs = _runs(server, caller, ws)
    saved = server.list_scenarios(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]
    authors = _author_names(server, caller, ws, info.get("role"))
    rows = [{**s, "dataset": saved_dataset(s, runs), "author": s.get("created_by_name") or authors.get(s.get("created_by"), s.get("created_by") or ""),
             "text": _request_text(s.get("request") or {}, lang)} for s in saved]  # fmt: skip
    datasets = [d["name"] for d in server.list_datasets(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]]
    return {"workspace": info, "saved": rows, "runs": listed_runs(runs, lang), "total_runs": len(runs), "datasets": datasets}


# ---- comparisons -----------------------------------------------------------------------------------
def parse_items(query: Any) -> list[tuple[str, str]]:
    """``items=scenario:ID,run:ID`` (or repeated ``compare=`` from the scenarios page's form): 2 to 4 items."""
    texts = [*_codes(query.get("items"), upper=False), *(v for v in query.getlist("compare") if v)]
    items = list(dict.fromkeys(tuple(t.split(":", 1)) for t in texts if t.count(":") >= 1))
    if any(kind not in ("scenario", "run") for kind, _ in items) or not MIN_ITEMS <= len(items) <= MAX_ITEMS:
        raise RequestError(f"items: give {MIN_ITEMS} to {MAX_ITEMS} items, each scenario:ID or run:ID", field="items")
    return items


def compare_item(server: Any, caller: Any, ws: str, kind: str, item_id: str, runs: list[dict], lang: Language,
                 fallback: str | None = None) -> dict:  # fmt: skip
    """One item of a comparison: its label, dataset and result (a static scenario's or a run's). A saved
    static scenario names no dataset (the API keeps none): the dataset its run was made on, else ``fallback``."""
    if kind == "run":
        run = server.get_run(caller, ws, item_id)
        request = run.get("request") or {}
        label = f"{_request_text(request, lang) or run['use_case']} ({lang.datetime(run.get('created_at'))})"
        return {
            "key": f"run:{item_id}",
            "label": label,
            "use_case": run["use_case"],
            "dataset": request.get("data"),
            "result": run.get("result"),
        }
    saved = server.get_scenario(caller, ws, item_id)
    dataset = saved_dataset(saved, runs) or fallback
    result = None
    if saved.get("kind") == "scenario" and dataset:
        request = {k: v for k, v in (saved.get("request") or {}).items() if k != "data"}
        result = server.run_static(caller, ws, dataset, "scenario", request)
    return {"key": f"scenario:{item_id}", "label": saved["name"], "use_case": saved.get("kind"), "dataset": dataset, "result": result}


def item_metrics(item: dict, lang: Language) -> dict[str, tuple[str, float | None]]:
    """``key -> (label, fraction)`` of an item: each output's availability (static scenarios);
    production's trough and the production and value added lost (simulations)."""
    _ = lang.gettext
    result = item.get("result") or {}
    if item["use_case"] == "scenario":
        return {f"output:{o['node_id']}": (o["name"], o["available"]) for o in scenario_view(result, lang)["outputs"]}
    if item["use_case"] != "simulate" or not result:
        return {}
    losses, days = result.get("losses") or {}, result.get("days") or 0
    lost = {m: (losses.get(m) or {}).get("total") / ((losses.get(m) or {}).get("baseline_per_day") * days)
            if days and (losses.get(m) or {}).get("baseline_per_day") else None for m in ("production", "value_added")}  # fmt: skip
    return {"sim:trough": (_("Lowest daily production (share of baseline)"), (losses.get("production") or {}).get("trough_share")),
            "sim:production": (_("Production lost over the run (share of baseline)"), lost["production"]),
            "sim:value_added": (_("Value added lost over the run (share of baseline)"), lost["value_added"])}  # fmt: skip


def compare_table(items: list[dict], lang: Language) -> list[dict]:
    """One row per metric: the value of each item and its difference from the first item's."""
    metrics = [item_metrics(item, lang) for item in items]
    keys = list(dict.fromkeys(k for m in metrics for k in m))
    rows = []
    for key in keys:
        label = next(m[key][0] for m in metrics if key in m)
        values = [m[key][1] if key in m else None for m in metrics]
        first = values[0]
        rows.append({"key": key, "label": label, "cells": [{"value": v, "diff": None if i == 0 or v is None or first is None else v - first}
                                                           for i, v in enumerate(values)]})  # fmt: skip
    return rows


def compare_charts(items: list[dict], lang: Language) -> list[dict]:
    """Overlaid charts: production over time of the runs, availability of the outputs of the static scenarios."""
    _ = lang.gettext
    lines = [{**p, "item": item["label"]} for item in items if item["use_case"] == "simulate"
             for p in percent_of_baseline((item.get("result") or {}).get("totals") or [], "production")]  # fmt: skip
    bars = [{"output": o["name"], "available": o["available"], "item": item["label"]} for item in items if item["use_case"] == "scenario"
            for o in scenario_view(item.get("result") or {}, lang)["outputs"]]  # fmt: skip
    charts = []
    if lines:
        charts.append({"id": "compare-production", "label": _("Gross production over time"),
                       "spec": line_spec(lines, "percent", _("Gross production over time"), _("% of baseline"), series="item")})  # fmt: skip
    if bars:
        charts.append({"id": "compare-availability", "label": _("Availability of the outputs"),
                       "spec": bar_spec(bars, "available", "output", _("Availability of the outputs"), _("available"), colour="item")})  # fmt: skip
    return charts


def compare_context(server: Any, caller: Any, ws: str, query: Any, lang: Language) -> dict:
    info = server.get_workspace(caller, ws)
    runs = _runs(server, caller, ws)
    items = [compare_item(server, caller, ws, kind, item_id, runs, lang) for kind, item_id in parse_items(query)]
    datasets = [d["name"] for d in server.list_datasets(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]]
    asked = (query.get("ds") or "")[:200]
    fallback = (asked if asked in datasets else None) or next((i["dataset"] for i in items if i["dataset"]), None)
    fallback = fallback or (datasets[0] if len(datasets) == 1 else None)
    items = [
        compare_item(server, caller, ws, *i["key"].split(":", 1), runs, lang, fallback) if i["result"] is None else i for i in items
    ]
    return {"workspace": info, "items": items, "rows": compare_table(items, lang), "charts": compare_charts(items, lang),
            "datasets": datasets, "dataset": fallback, "items_text": ",".join(i["key"] for i in items),
            "unplaced": any(i["use_case"] == "scenario" and not i["dataset"] for i in items)}  # fmt: skip


def run_context(server: Any, caller: Any, ws: str, run_id: str, lang: Language) -> dict:
    run = server.get_run(caller, ws, run_id)
    request = run.get("request") or {}
    link = None
    if run["use_case"] == "scenario" and request.get("data"):
        try:
            link = (request["data"], state_of_request(request).query())
        except (ValueError, TypeError):
            link = None
    return {"workspace": server.get_workspace(caller, ws), "run": run, "request": request, "scenario_text": _request_text(request, lang),
            "map_query": link,
            **result_context(server, caller, ws, run["use_case"], request, run.get("result"), lang,
                             {"job": run.get("job"), "run": run["id"], "at": run.get("created_at")})}  # fmt: skip


# ---- routes ----------------------------------------------------------------------------------------
def add_routes(router: APIRouter, site: Site) -> None:
    server = site.server

    def page(request: Request, make) -> HTMLResponse:
        """``make(caller, lang) -> (template, context)``, with the use cases' names in the context."""

        def build(caller, lang):
            template, context = make(caller, lang)
            return template, {"kind_names": use_case_labels(lang), **context}

        return site.page(request, build)

    @router.get("/w/{ws}/scenarios", response_class=HTMLResponse)
    def scenarios_page(request: Request, ws: str) -> HTMLResponse:
        return page(request, lambda caller, lang: ("scenarios.html", scenarios_context(server, caller, ws, lang)))

    @router.get("/w/{ws}/compare", response_class=HTMLResponse)
    def compare_page(request: Request, ws: str) -> HTMLResponse:
        return page(request, lambda caller, lang: ("compare.html", compare_context(server, caller, ws, request.query_params, lang)))

    @router.get("/w/{ws}/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, ws: str, job_id: str) -> HTMLResponse:
        def make(caller, lang):
            return "job.html", job_context(server, caller, ws, job_id[:200], lang)

        return page(request, make)

    @router.get("/w/{ws}/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, ws: str, run_id: str) -> HTMLResponse:
        return page(request, lambda caller, lang: ("scenario_run.html", run_context(server, caller, ws, run_id[:200], lang)))
