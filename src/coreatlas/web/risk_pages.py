"""Risk and planning (``/w/{ws}/d/{ds}/risk``) and the workspace's activity (``/w/{ws}/activity``).

The risk page shows at once what needs no job: the concentration ranking of every node (the
static ``exposure`` use case: top country and its share, HHI, effective suppliers, the core
bloc's share, chokepoints), the Open RAN comparison (static ``openran``) and the third-country
view of the connectivity commitments (the telecom map's ``country_exposure``, ``commitments``
and ``indicators`` tables). The long analyses are jobs (``rank``, ``montecarlo``, ``invest``):
editors start them from the page; the page shows the latest finished run of each for the
dataset (or the job named in the URL: ``?rank_job=``, ``?invest_job=``, ``?mc_job=``), so a
ranking, a plan or a loss distribution is on screen for every reader once anyone ran it.

The job and run pages of :mod:`.scenario_pages` show a risk job's result with :func:`kind_view`
(``templates/job_<kind>.html``, the same partials this page includes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coreatlas.errors import CoreAtlasError, NotFoundError
from coreatlas.services.server import MAX_PAGE, Page
from coreatlas.web.i18n import Language
from coreatlas.web.site import Site, can_edit, node_names

__all__ = ["JOB_TEMPLATES", "add_routes", "job_view", "kind_view"]

#: The kinds whose results this module renders, and their partials.
JOB_TEMPLATES = {"montecarlo": "job_montecarlo.html", "invest": "job_invest.html", "rank": "job_rank.html",
                 "ttr": "job_ttr.html", "tts": "job_tts.html"}  # fmt: skip
RISK_KINDS = ("rank", "montecarlo", "invest")
TELECOM = "telecom-ran"
CHOKEPOINT_SHARE = 0.9  # one country's share that makes a chokepoint (the chokepoints use case's default)
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MAX_TABLE_ROWS = 500
AUDIT_PAGE = 50
COMMENT_PAGE = 100
#: Illustrative hazard and measure defaults: assumptions to edit, not estimates (the page says so).
DEFAULT_HAZARD = {"annual_probability": 0.02, "duration": (14, 120), "depth": (0.2, 0.8)}
DEFAULT_SECOND_SOURCE = {"added_share": 0.1, "cost_usd": 2e9}
DEFAULT_STOCKPILE = {"days": 90, "cost_usd": 0.3e9}
DEFAULT_OPEN_RAN = {"adoption": 0.3, "cost_usd": 1.5e9}


@dataclass(frozen=True)
class Ctx:
    """What the builders of one page need: the server, the caller, the workspace, the language."""

    server: Any
    caller: Any
    ws: str
    lang: Language
    names: dict  # node id -> name in the page's language
    ds: str = ""
    dataset: dict | None = None  # the page's dataset (server.get_dataset's answer)
    others: dict = field(default_factory=dict)  # other datasets read for this page, each once


def add_routes(router: APIRouter, site: Site) -> None:
    @router.get("/w/{ws}/d/{ds}/risk", response_class=HTMLResponse)
    def risk_page(request: Request, ws: str, ds: str) -> HTMLResponse:
        def build(caller, lang):
            return "risk.html", risk_context(site.server, caller, ws, ds, lang, dict(request.query_params))

        return site.page(request, build)

    @router.get("/w/{ws}/activity", response_class=HTMLResponse)
    def activity_page(request: Request, ws: str) -> HTMLResponse:
        def build(caller, lang):
            return "activity.html", activity_context(site.server, caller, ws, lang, dict(request.query_params))

        return site.page(request, build)


# ---- the risk page ----------------------------------------------------------------------------
def risk_context(server: Any, caller: Any, ws: str, ds: str, lang: Language, query: dict) -> dict:
    workspace = server.get_workspace(caller, ws)
    dataset = server.get_dataset(caller, ws, ds)
    names = {n["node_id"]: lang.node_name(n.get("name") or n["node_id"]) for n in dataset["nodes"]}
    ctx = Ctx(server, caller, ws, lang, names, ds, dataset)
    exposure = server.run_static(caller, ws, ds, "exposure", {"bloc": "core"})
    sort, order = ranking_sort(query)
    ranking = sorted_rows(ranking_rows(exposure["rows"], names), sort, order)
    editor = can_edit(caller, workspace)
    measures = default_measures(exposure["rows"], exposure["bloc"], _openran_pairs(server, caller, ws, ds))
    budget = _budget_param(query)
    datasets = [d["name"] for d in server.list_datasets(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]]
    island = {"ws": ws, "ds": ds, "lang": lang.code, "texts": risk_texts(lang), "can_edit": editor,
              "sort": sort, "order": order}  # fmt: skip
    return {"workspace": workspace, "dataset": dataset, "names": names, "ranking": ranking, "sort": sort, "order": order, "bloc": exposure["bloc"],
            "can_edit": editor, "hazards": default_hazards(exposure["rows"], name=lang.gettext("{country} disruption")),
            "measures": measures, "years": _int_param(query, "years", 10_000, 1, 1_000_000),
            "budget_billion": default_budget_billion(measures) if budget is None else budget,
            "results": latest_results(ctx, ds, query), "openran": openran_section(ctx, ds, datasets),
            "third_country": third_country_section(ctx, ds, datasets), "island": island}  # fmt: skip


def risk_texts(lang: Language) -> dict:
    """The words risk.js shows (the page's language)."""
    _ = lang.gettext
    return {"ascending": _("sorted ascending"), "descending": _("sorted descending"), "submitting": _("Submitting the job…"),
            "queued": _("Queued"), "running": _("Running"), "failed": _("The job failed"), "cancelled": _("The job was cancelled"),
            "no_hazards": _("Choose at least one hazard."), "no_measures": _("Choose at least one measure."),
            "bad_number": _("Enter a number in the allowed range."), "done": _("Done: loading the result…")}  # fmt: skip


def _int_param(query: dict, key: str, default: int, low: int, high: int) -> int:
    try:
        value = int(query.get(key, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


def _budget_param(query: dict) -> float | None:
    try:
        value = float(query["budget"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


# ---- the concentration ranking -------------------------------------------------------------------
RANKING_KEYS = ("node", "kind", "top_country", "top_share", "hhi", "effective", "bloc_share", "chokepoint")


def ranking_sort(query: dict) -> tuple[str, str]:
    """``(column, "asc"|"desc")`` from ``?sort=&order=`` (default: top country's share, largest first)."""
    sort = query.get("sort") if query.get("sort") in RANKING_KEYS else "top_share"
    order = query.get("order") if query.get("order") in ("asc", "desc") else "desc"
    return sort, order


def ranking_rows(rows: list[dict], names: dict) -> list[dict]:
    """One row per node of the exposure table, with the values the ranking sorts by."""
    out = []
    for r in rows:
        top = r.get("top_country_share")
        out.append({"node_id": r["node_id"], "node": names.get(r["node_id"], r.get("node_name") or r["node_id"]), "kind": r.get("kind") or "",
                    "top_country": r.get("top_country") or "", "top_share": top, "top_range": r.get("top_country_share_range"),
                    "hhi": r.get("hhi"), "effective": r.get("effective_suppliers"), "bloc_share": r.get("bloc_share"),
                    "bloc_range": r.get("bloc_share_range"), "basis": r.get("basis") or "none",
                    "chokepoint": top is not None and top >= CHOKEPOINT_SHARE})  # fmt: skip
    return out


def sorted_rows(rows: list[dict], key: str, order: str) -> list[dict]:
    """Rows sorted by ``key``; rows without a value last in either order (as risk.js sorts)."""
    present = [r for r in rows if r.get(key) is not None and r.get(key) != ""]
    missing = [r for r in rows if r not in present]
    text = key in ("node", "kind", "top_country")
    present.sort(key=lambda r: str(r[key]).casefold() if text else float(r[key]), reverse=order == "desc")
    return present + missing


# ---- default hazards and measures (illustrative, editable) ----------------------------------------
def _leading_countries(rows: list[dict], count: int) -> list[str]:
    """The countries that lead the most nodes (ties: the larger summed share)."""
    score: dict[str, list[float]] = {}
    for r in rows:
        if r.get("top_country") and r.get("top_country_share") is not None:
            entry = score.setdefault(r["top_country"], [0, 0.0])
            entry[0] += 1
            entry[1] += r["top_country_share"]
    return sorted(score, key=lambda c: (-score[c][0], -score[c][1], c))[:count]


def default_hazards(rows: list[dict], count: int = 5, name: str = "{country} disruption") -> list[dict]:
    """One illustrative disruption per leading country of the map (probability, duration and
    depth are assumptions shown in the form, to be replaced by the analyst's own)."""
    d = DEFAULT_HAZARD
    return [{"name": name.format(country=code), "targets": code, "annual_probability": d["annual_probability"],
             "duration_low": d["duration"][0], "duration_high": d["duration"][1], "depth_low": d["depth"][0], "depth_high": d["depth"][1]}
            for code in _leading_countries(rows, count)]  # fmt: skip


def _bloc_supplier(row: dict, bloc: list[str]) -> str | None:
    """The bloc country holding most of a node already (a second source there is plausible)."""
    shares = {c: s for c, s in (row.get("shares") or {}).items() if c in bloc and s}
    return max(shares, key=shares.get) if shares else (bloc[0] if bloc else None)


def default_measures(rows: list[dict], bloc: list[str], openran_pairs: list[tuple[str, str]], count: int = 4) -> list[dict]:
    """Illustrative candidate measures: a bloc second source at the nodes most concentrated
    outside the bloc, a stockpile at the two most concentrated, an Open RAN shift where the map
    has a proprietary/open pair. Costs and shares are assumptions, editable in the form."""
    outside = [r for r in rows if r.get("top_country") and r["top_country"] not in bloc and r.get("top_country_share") is not None]
    outside.sort(key=lambda r: (-r["top_country_share"], r["node_id"]))
    measures = []
    for r in outside[:count]:
        country = _bloc_supplier(r, bloc)
        if country:
            measures.append({"id": f"{country.lower()}-second-source-{r['node_id']}", "kind": "second_source", "node": r["node_id"],
                             "country": country, **DEFAULT_SECOND_SOURCE})  # fmt: skip
    for r in outside[:2]:
        measures.append({"id": f"reserve-{r['node_id']}", "kind": "stockpile", "node": r["node_id"], **DEFAULT_STOCKPILE})
    for proprietary, open_node in openran_pairs[:1]:
        measures.append(
            {"id": f"open-ran-{open_node}", "kind": "open_ran", "node": proprietary, "target_node": open_node, **DEFAULT_OPEN_RAN}
        )
    return measures


def default_budget_billion(measures: list[dict]) -> float:
    """Half the measures' total cost (so that the plan must choose), in billions of USD."""
    return round(sum(m["cost_usd"] for m in measures) / 2e9, 1)


def _openran_pairs(server: Any, caller: Any, ws: str, ds: str) -> list[tuple[str, str]]:
    try:
        rows = server.run_static(caller, ws, ds, "openran", {})["rows"]
    except CoreAtlasError:
        return []
    return list(dict.fromkeys((r["proprietary"], r["open"]) for r in rows))


# ---- the latest results of the long analyses ---------------------------------------------------------
def latest_results(ctx: Ctx, ds: str, query: dict) -> dict:
    """``kind -> view`` for rank, montecarlo and invest: the job named in the URL, else the
    newest finished run of the kind on this dataset (None where there is none)."""
    named = {"rank": query.get("rank_job"), "montecarlo": query.get("mc_job"), "invest": query.get("invest_job")}
    runs = _latest_runs(ctx, ds)
    out = {}
    for kind in RISK_KINDS:
        found = _named_job(ctx, kind, named[kind]) or runs.get(kind)
        out[kind] = None if found is None else result_view(ctx, kind, *found)
    return out


def _latest_runs(ctx: Ctx, ds: str) -> dict[str, tuple[dict, dict, dict]]:
    items = ctx.server.list_runs(ctx.caller, ctx.ws, Page(offset=0, limit=MAX_PAGE))["items"]
    latest = {}
    for item in items:  # newest first
        if item["use_case"] in RISK_KINDS and item["use_case"] not in latest and (item.get("request") or {}).get("data") == ds:
            latest[item["use_case"]] = item
    out = {}
    for kind, item in latest.items():
        run = ctx.server.get_run(ctx.caller, ctx.ws, item["id"])
        if run.get("result"):
            out[kind] = (run["request"], run["result"], {"job": run.get("job"), "run": run["id"], "at": run["created_at"]})
    return out


def _named_job(ctx: Ctx, kind: str, job_id: str | None) -> tuple[dict, dict, dict] | None:
    if not job_id or len(job_id) > 100:
        return None
    try:
        job = ctx.server.get_job(ctx.caller, job_id)
        if job["kind"] != kind or job["workspace"] != ctx.ws:
            return None
        result = ctx.server.job_result(ctx.caller, job_id)
    except NotFoundError:
        return None
    return job["request"], result, {"job": job_id, "run": None, "at": job.get("finished_at")}


def result_view(ctx: Ctx, kind: str, request: dict, result: dict, origin: dict | None = None) -> dict:
    """What ``templates/job_<kind>.html`` shows of a result."""
    build = {"montecarlo": montecarlo_view, "invest": invest_view, "rank": rank_view, "ttr": risk_table_view, "tts": risk_table_view}[kind]
    return {"template": JOB_TEMPLATES[kind], "kind": kind, "origin": origin or {}, "ws": ctx.ws, "labels": result_labels(ctx.lang),
            **build(ctx, request, result)}  # fmt: skip


def result_labels(lang: Language) -> dict:
    """Words of the result partials: measure kinds, ranking measures, kinds of entity."""
    _ = lang.gettext
    return {"measures": {"capacity": _("new capacity"), "second_source": _("second source"), "stockpile": _("stockpile"),
                         "open_ran": _("shift to Open RAN")},
            "rank": {"rank_static_loss": _("static loss"), "rank_pi": _("PI (TTR program)"), "rank_dynamic_loss": _("dynamic loss")},
            "entities": {"node": _("node"), "firm": _("firm"), "country": _("country"), "region": _("region")}}  # fmt: skip


def kind_view(server: Any, caller: Any, ws: str, kind: str, request: dict, result: dict | None, lang: Language, names: dict,
              origin: dict | None = None) -> dict | None:  # fmt: skip
    """The hook of the job and run pages (``scenario_pages.result_context``): for a result of a risk
    kind, ``{"template": "job_<kind>.html", ...}``, included with the name ``view``
    (``{% with view = kind_view %}{% include kind_view.template %}{% endwith %}``); None for other kinds.
    ``names`` are the node names of the request's dataset, read once by the page."""
    if kind not in JOB_TEMPLATES or not result:
        return None
    return result_view(Ctx(server, caller, ws, lang, names), kind, request, result, origin)


def job_view(server: Any, caller: Any, job: dict, result: dict, lang: Language) -> dict | None:
    """:func:`kind_view` of a finished job (``server.get_job``'s answer) and its result."""
    request = job.get("request") or {}
    names = node_names(server, caller, job["workspace"], request.get("data"), lang) if job.get("kind") in JOB_TEMPLATES else {}
    return kind_view(server, caller, job["workspace"], job.get("kind"), request, result, lang, names,
                     {"job": job.get("id"), "at": job.get("finished_at")})  # fmt: skip


# ---- Monte Carlo ------------------------------------------------------------------------------------
def montecarlo_view(ctx: Ctx, request: dict, result: dict) -> dict:
    """The statistics table, the histogram of annual losses and the exceedance curve, all from the
    stored result (its ``distribution``; runs stored before it existed show the table only)."""
    _ = ctx.lang.gettext
    rows = [{**r, "label": _series_label(r["series"], ctx)} for r in result.get("rows", [])]
    view = {"rows": rows, "levels": result.get("levels", []), "years": result.get("years"), "events": result.get("events"),
            "hazards": result.get("hazards", []), "charts_missing": None, "histogram": None, "exceedance": None}  # fmt: skip
    distribution = result.get("distribution")
    if not distribution:
        view["charts_missing"] = _("This run was stored without its distribution of losses; run it again to draw the charts.")
        return view
    view["histogram"] = histogram_spec(distribution["histogram"], ctx.lang)
    view["exceedance"] = exceedance_spec(distribution["exceedance"], _risk_rules(rows, view["levels"]), ctx.lang)
    view["zero_years"] = int(distribution["zero_years"])
    return view


def _risk_rules(rows: list[dict], levels: list[float]) -> list[dict]:
    """VaR and CVaR of the total annual loss at each level, as lines on the exceedance curve."""
    total = next((r for r in rows if r.get("series") == "total"), None)
    if total is None:
        return []
    marks = [(f"VaR {a:g}", total.get(f"var_{a:g}")) for a in levels] + [(f"CVaR {a:g}", total.get(f"cvar_{a:g}")) for a in levels]
    return [{"label": f"{label} {value:.3g}", "value": float(value)} for label, value in marks if value is not None]


def _series_label(series: str, ctx: Ctx) -> str:
    _ = ctx.lang.gettext
    kind, _colon, name = series.partition(":")
    if kind == "output":
        return f"{_('Output')}: {ctx.names.get(name, name)}"
    if kind == "hazard":
        return f"{_('Hazard')}: {name}"
    return _("All outputs") if series == "total" else series


def histogram_spec(values: list[dict], lang: Language) -> dict:
    """Vega-Lite: the years with a loss in the result's bins (``loss_from, loss_to, years``) of
    the annual loss (share of a year's output); years without a loss are counted beside the chart."""
    _ = lang.gettext
    x_title, y_title = _("annual loss (share of a year's output)"), _("simulated years")
    return {"title": _("Annual loss in the years with a loss"),
            "width": 520, "height": 240, "data": {"values": values},
            "mark": {"type": "bar", "color": OKABE_ITO[0], "binSpacing": 0},
            "encoding": {"x": {"field": "loss_from", "bin": "binned", "type": "quantitative", "title": x_title, "axis": {"format": ".0%"}},
                         "x2": {"field": "loss_to"}, "y": {"field": "years", "type": "quantitative", "title": y_title},
                         "tooltip": [{"field": "loss_from", "title": _("from"), "format": ".2%"},
                                     {"field": "loss_to", "title": _("to"), "format": ".2%"},
                                     {"field": "years", "title": y_title}]}}  # fmt: skip


def _decades(smallest: float) -> list[float]:
    """Powers of ten from below ``smallest`` to 1: the ticks of a log axis that do not crowd."""
    low = math.floor(math.log10(smallest)) if smallest > 0 else 0
    return [10.0**k for k in range(low, 1)]


def exceedance_spec(curve: list[dict], rules: list[dict], lang: Language) -> dict:
    """Vega-Lite: the exceedance curve of the result (``probability, loss`` points, log-scaled
    probability), with its VaR and CVaR lines (``label, value``)."""
    _ = lang.gettext
    points = [{"p": float(q["probability"]), "loss": float(q["loss"])} for q in curve if q["probability"] > 0]
    x_title, y_title = _("annual exceedance probability"), _("annual loss (share of a year's output)")
    line = {"data": {"values": points}, "mark": {"type": "line", "color": OKABE_ITO[0], "strokeWidth": 1.8},
            "encoding": {"x": {"field": "p", "type": "quantitative", "scale": {"type": "log"}, "title": x_title,
                               "axis": {"values": _decades(min((q["p"] for q in points), default=1.0)), "format": "~g"}},
                         "y": {"field": "loss", "type": "quantitative", "title": y_title, "axis": {"format": ".0%"}},
                         "tooltip": [{"field": "p", "title": x_title, "format": ".4f"}, {"field": "loss", "title": y_title, "format": ".2%"}]}}  # fmt: skip
    marks = {"data": {"values": rules}, "mark": {"type": "rule", "strokeDash": [4, 3]},
             "encoding": {"y": {"field": "value", "type": "quantitative"},
                          "color": {"field": "label", "type": "nominal", "title": _("risk measure"),
                                    "scale": {"range": list(OKABE_ITO[1:])}},
                          "tooltip": [{"field": "label", "title": _("risk measure")}, {"field": "value", "format": ".2%"}]}}  # fmt: skip
    return {"title": _("Exceedance curve of the annual loss"),
            "width": 520, "height": 240, "layer": [line, marks] if rules else [line]}  # fmt: skip


# ---- the investment plan ---------------------------------------------------------------------------------
def invest_view(ctx: Ctx, request: dict, result: dict) -> dict:
    """The plan (every measure, chosen first), its cost, the losses before and after and the
    saving per dollar: of the whole plan, and of a further dollar (the optimiser's marginal value)."""
    rows = [{**r, "node_name": ctx.names.get(r.get("node"), r.get("node")),
             "target_name": ctx.names.get(r.get("target_node"), r.get("target_node"))} for r in result.get("rows", [])]  # fmt: skip
    summary = {k: v for k, v in result.items() if k not in ("rows", "provenance")}
    before, after = summary.get("expected_loss_before"), summary.get("expected_loss_after")
    cost = summary.get("cost_usd") or 0.0
    per_billion = (before - after) / (cost / 1e9) if before is not None and after is not None and cost > 0 else None
    alpha = summary.get("alpha", 0.95)
    cvar = (summary.get(f"cvar_{alpha:g}_before"), summary.get(f"cvar_{alpha:g}_after"))
    return {"rows": rows, "summary": summary, "plan_saving_per_billion": per_billion, "cvar": cvar, "alpha": alpha,
            "chosen": sum(1 for r in rows if r.get("chosen"))}  # fmt: skip


# ---- the extraction ranking (rank) and TTR / TTS ---------------------------------------------------------
def rank_view(ctx: Ctx, request: dict, result: dict) -> dict:
    """The side-by-side ranking (static loss, PI/TTS, dynamic loss and their ranks), the
    extraction sweep and the single points of failure."""

    def entity(kind: str, ident: str) -> str:
        return ctx.names.get(ident, ident) if kind == "node" else ident

    sweep = [{**r, "name": entity(r.get("kind", ""), str(r.get("id", "")))} for r in result.get("sweep", [])[:MAX_TABLE_ROWS]]
    single = [{**r, "name": entity(r.get("kind", ""), str(r.get("id", "")))} for r in result.get("single_points", [])]
    ranking = [{**r, "node_id": str(r.get("firm", "")).split("|")[0], "node_name": ctx.names.get(str(r.get("firm", "")).split("|")[0])}
               for r in result.get("ranking", [])[:MAX_TABLE_ROWS]]  # fmt: skip
    agreement = result.get("agreement_spearman") or {}
    return {"sweep": sweep, "single_points": single, "ranking": ranking, "firms": result.get("firms"), "compared": result.get("compared_firms"),
            "agreement": agreement, "measures": list(agreement)}  # fmt: skip


def risk_table_view(ctx: Ctx, request: dict, result: dict) -> dict:
    """TTR / TTS / REI per node of a network (the first :data:`MAX_TABLE_ROWS` rows)."""
    rows = result.get("rows", [])
    return {
        "rows": rows[:MAX_TABLE_ROWS],
        "nodes": result.get("nodes"),
        "critical": result.get("critical_nodes"),
        "shown": min(len(rows), MAX_TABLE_ROWS),
    }


# ---- Open RAN and the third countries ----------------------------------------------------------------------
def _dataset_of(ctx: Ctx, ds: str) -> dict:
    if ds == ctx.ds and ctx.dataset is not None:
        return ctx.dataset
    if ds not in ctx.others:
        ctx.others[ds] = ctx.server.get_dataset(ctx.caller, ctx.ws, ds)
    return ctx.others[ds]


def _names_of(ctx: Ctx, ds: str) -> dict:
    if ds == ctx.ds:
        return ctx.names
    return {n["node_id"]: ctx.lang.node_name(n.get("name") or n["node_id"]) for n in _dataset_of(ctx, ds)["nodes"]}


def openran_section(ctx: Ctx, ds: str, datasets: list[str]) -> dict | None:
    """The static Open RAN comparison of this dataset, else of the workspace's telecom map."""
    for name in dict.fromkeys([ds, TELECOM]):
        if name not in datasets:
            continue
        try:
            rows = ctx.server.run_static(ctx.caller, ctx.ws, name, "openran", {})["rows"]
        except NotFoundError:
            continue
        return {"dataset": name, "rows": rows, "names": _names_of(ctx, name)}
    return None


def third_country_section(ctx: Ctx, ds: str, datasets: list[str]) -> dict | None:
    """Third countries' installed base of excluded vendors under each exclusion policy, the
    partners' commitments for secure connectivity and the competitiveness indicators, each
    with its source, from this dataset's tables or else the workspace's telecom map's."""
    for name in dict.fromkeys([ds, TELECOM]):
        if name not in datasets:
            continue
        tables = _third_country_tables(ctx, name)
        if tables is not None:
            sources = {s["id"]: s for s in _dataset_of(ctx, name).get("sources", [])}
            return {"dataset": name, **tables, "sources": sources, "names": _names_of(ctx, name)}
    return None


def _third_country_tables(ctx: Ctx, ds: str) -> dict | None:
    from coreatlas.model.policy import get_policy, policies, third_country_exposure  # noqa: PLC0415
    from coreatlas.services.inputs import load_map  # noqa: PLC0415 - the server answers no route with these tables

    tm = load_map(ctx.server.dataset_map_ref(ctx.caller, ctx.ws, ds))
    exposure = tm.annex.get("country_exposure")
    if exposure is None or not len(exposure):
        return None
    excluding = [p for p in policies(tm).values() if p.kind == "exclude" or p.kind == "trusted_only"]
    by_policy = {p.policy_id: third_country_exposure(tm, get_policy(tm, p.policy_id)).to_dict("records") for p in excluding}
    records = [_plain(r) for r in exposure.drop(columns=["line"], errors="ignore").to_dict("records")]
    for i, record in enumerate(records):
        record["policies"] = [{"policy": p.name, **_plain(by_policy[p.policy_id][i])} for p in excluding]
    indicators = ctx.server.run_static(ctx.caller, ctx.ws, ds, "indicators", {"bloc": "core"})
    return {"exposure": records, "policies": [p.name for p in excluding], "commitments": indicators.get("commitments", []),
            "position": indicators.get("position", []), "bloc": indicators.get("bloc", [])}  # fmt: skip


def _plain(record: dict) -> dict:
    """NaN (an empty cell) as None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}


# ---- the activity page ---------------------------------------------------------------------------------------
COMMENT_STATUSES = ("open", "resolved")


def activity_context(server: Any, caller: Any, ws: str, lang: Language, query: dict) -> dict:
    workspace = server.get_workspace(caller, ws)
    status = query.get("status") if query.get("status") in COMMENT_STATUSES else None
    offset = _int_param(query, "offset", 0, 0, 10**9)
    comments = server.list_comments(caller, ws, Page(offset=0, limit=COMMENT_PAGE), status=status)
    owner = workspace["role"] == "owner"
    recent = server.audit(caller, ws, Page(offset=0, limit=MAX_PAGE)) if owner else None
    audit = _audit_page(server, caller, ws, recent, offset, lang)
    authors = _author_names(recent["items"]) if owner else {}
    targets = _comment_targets(server, caller, ws, comments["items"], lang)
    items = [_comment_item(c, caller, authors, targets, lang) for c in comments["items"]]
    return {"workspace": workspace, "comments": items, "total": comments["total"], "status": status, "owner": owner, "audit": audit,
            "offset": offset, "audit_page": AUDIT_PAGE, "statuses": COMMENT_STATUSES}  # fmt: skip


def _audit_page(server: Any, caller: Any, ws: str, recent: dict | None, offset: int, lang: Language) -> dict | None:
    """The page of the audit log at ``offset`` (from the newest entries read already when it is among them),
    each entry with its action and target kind in the page's language and its detail as readable text."""
    if recent is None:
        return None
    if offset + AUDIT_PAGE <= MAX_PAGE:
        page = {**recent, "items": recent["items"][offset : offset + AUDIT_PAGE], "offset": offset, "limit": AUDIT_PAGE}
    else:
        page = server.audit(caller, ws, Page(offset=offset, limit=AUDIT_PAGE))
    labels = audit_labels(lang)
    return {**page, "items": [_audit_row(entry, labels) for entry in page["items"]]}


def _audit_row(entry: dict, labels: dict) -> dict:
    """An audit entry as the table shows it: the codes stay in ``data-value`` (and the downloads), the cells say them in words."""
    detail = entry.get("detail") or {}
    return {**entry, "action_label": labels["actions"].get(entry["action"], entry["action"]),
            "target_label": labels["targets"].get(entry["target_kind"], entry["target_kind"]),
            "detail_json": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
            "detail_text": ", ".join(f"{k}: {v}" for k, v in sorted(detail.items()))}  # fmt: skip


def audit_labels(lang: Language) -> dict:
    """The server's audit actions and target kinds (``services.server``'s ``_audit`` calls) in the page's language."""
    _ = lang.gettext
    return {"actions": {"read": _("read"), "run": _("ran"), "change": _("changed"), "share": _("shared"), "export": _("exported"),
                        "login": _("signed in")},
            "targets": {"dataset": _("dataset"), "run": _("run"), "job": _("job"), "scenario": _("saved scenario"), "view": _("saved view"),
                        "comment": _("comment"), "workspace": _("workspace"), "audit": _("audit log"), "user": _("user"), "token": _("API token"),
                        "organisation": _("organisation"), "server": _("server"), "backup": _("backup")}}  # fmt: skip


def _author_names(entries: list[dict]) -> dict:
    """Comment id -> its author's user name, from the audit log's newest entries (the comments
    answer only user ids; older comments' authors are not named)."""
    return {e["target_id"]: e["user"] for e in entries
            if e["target_kind"] == "comment" and (e.get("detail") or {}).get("change") == "create"}  # fmt: skip


def _comment_targets(server: Any, caller: Any, ws: str, comments: list[dict], lang: Language) -> dict:
    """``node id -> [(dataset, node name)]``: the datasets of the workspace holding each commented node."""
    wanted = {c["target_id"] for c in comments if c["target_kind"] == "node"}
    if not wanted:
        return {}
    found: dict[str, list] = {}
    for d in server.list_datasets(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]:
        names = node_names(server, caller, ws, d["name"], lang)
        for node in wanted & names.keys():
            found.setdefault(node, []).append((d["name"], names[node]))
    return found


def _comment_item(c: dict, caller: Any, authors: dict, targets: dict, lang: Language) -> dict:
    _ = lang.gettext
    author = c.get("author_name") or authors.get(c["id"])
    if author and c.get("author_org"):
        author = f"{author} ({c['author_org']})"
    if not author:
        author = _("you") if c.get("author") and c.get("author") == caller.user_id else _("a member of the workspace")
    replies = [_comment_item(r, caller, authors, targets, lang) for r in c.get("replies", [])]
    return {
        **c,
        "author_label": author,
        "places": targets.get(c["target_id"], []) if c["target_kind"] == "node" else [],
        "replies": replies,
    }
