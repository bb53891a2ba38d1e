"""The map of a dataset (the chain in stage columns, positions from :mod:`.layout`, coloured by a
measure) and the node panel (shares, concentration, links, sources, comments).

Routes (every state in the query string, so a link reproduces the view):

- ``GET /w/{ws}/d/{ds}/map?measure=&bloc=&countries=&node=`` the page, coloured on the server;
- ``GET /w/{ws}/d/{ds}/map/values?measure=&bloc=&countries=`` the colouring as JSON (``map.js``
  repaints with it when the user picks another measure or bloc);
- ``GET /w/{ws}/d/{ds}/node/{node_id}?bloc=&countries=`` the node panel, an HTML fragment
  (``map.js`` loads it into ``#panel-body``; with ``?node=`` the page renders it in place).

Measures (values are fractions; the classes of the legend are :data:`SHARE_EDGES` or
:data:`HHI_EDGES`): the share the chosen bloc holds (``exposure``'s ``bloc_share``, with its range
where sources disagree), the top country's share, the Herfindahl–Hirschman index
``HHI = sum_c s_c**2`` (effective suppliers ``1 / HHI``), the chokepoint flag (one country or firm
holds at least 90%: ``chokepoints``), and availability under the URL's scenario (``scenario``;
100% without one; ``map.js`` repaints it from the scenario builder's ``coreatlas:scenario`` event).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from coreatlas.errors import AuthError, CoreAtlasError, ForbiddenError, NotFoundError, RequestError
from coreatlas.services.server import MAX_PAGE, Page
from coreatlas.web import scenario_pages
from coreatlas.web.i18n import Language
from coreatlas.web.layout import NO_STAGE, OUTPUT_STAGE, stage_layout
from coreatlas.web.site import KINDS, Site, can_edit, kind_labels

MAX_NODE_ID = 200
MAX_COUNTRIES = 60
MEASURES = ("bloc_share", "top_country_share", "hhi", "chokepoint", "availability")
BLOCS = ("core", "allies", "custom")
#: The scenario builder's URL parameters, kept by the map's links and forms.
SCENARIO_PARAMS = ("remove", "remove_firm", "remove_bloc", "cut", "variants", "control", "policy", "scenario")
CHOKEPOINT_SHARE = 0.9
#: Upper edges of the first classes of a share (the last class runs to 100%).
SHARE_EDGES = (0.2, 0.4, 0.6, 0.8)
#: HHI classes: below 0.15 unconcentrated, to 0.25 moderately, above highly concentrated (U.S. merger guidelines of 2010), then 0.5 and 0.75.
HHI_EDGES = (0.15, 0.25, 0.5, 0.75)
#: A single-hue sequential ramp, light to dark blue, and the text colour readable on each (contrast >= 4.5:1).
RAMP = ("#eef4fa", "#c6dbef", "#7fb2da", "#2a6fad", "#0b3d77")
RAMP_TEXT = ("#1a1a1a", "#1a1a1a", "#1a1a1a", "#ffffff", "#ffffff")
FLAG = {"yes": ("#e69f00", "#1a1a1a"), "no": ("#eef4fa", "#1a1a1a")}
NO_DATA = ("#f2f2f2", "#1a1a1a")
ISO3 = re.compile(r"^[A-Z]{3}$")
MARKDOWN_LINK = re.compile(r"\[([^\]]{1,300})\]\((https?://[^\s)]{1,500})\)")


# ---- the state of the page, from its URL ---------------------------------------------------------
@dataclass(frozen=True)
class MapState:
    """What the URL asks for: the measure, the bloc (or custom countries), the node, the scenario parameters."""

    measure: str = "bloc_share"
    bloc: str = "core"
    countries: tuple[str, ...] = ()
    node: str = ""
    scenario: tuple[tuple[str, str], ...] = ()
    #: ``(parameter, value)`` the URL gave that is not a known measure or bloc (the defaults are shown instead).
    unknown: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, query: Any) -> MapState:
        measure = query.get("measure", "")
        bloc = query.get("bloc", "")
        codes = [c.strip().upper() for c in query.get("countries", "").split(",") if c.strip()][:MAX_COUNTRIES]
        kept = tuple((k, query[k][:2000]) for k in SCENARIO_PARAMS if query.get(k))
        unknown = tuple((k, v[:50]) for k, v, known in (("measure", measure, MEASURES), ("bloc", bloc, BLOCS)) if v and v not in known)
        return cls(measure if measure in MEASURES else "bloc_share", bloc if bloc in BLOCS else "core", tuple(dict.fromkeys(codes)),
                   query.get("node", "")[:MAX_NODE_ID], kept, unknown)  # fmt: skip

    def check(self) -> None:
        """Refuse an unknown measure or bloc (the JSON twin answers 422; the page shows the defaults and says so)."""
        for name, value in self.unknown:
            known = MEASURES if name == "measure" else BLOCS
            raise RequestError(f"{name}: '{value}' is not one of {', '.join(known)}", field=name)

    def bloc_arg(self) -> str:
        """The bloc as the use cases take it: a name, or the custom countries' codes."""
        if self.bloc != "custom":
            return self.bloc
        bad = [c for c in self.countries if not ISO3.match(c)]
        if not self.countries or bad:
            raise RequestError(f"countries: give ISO3 country codes separated by commas{' (not ' + ', '.join(bad) + ')' if bad else ''}",
                               field="countries")  # fmt: skip
        return ",".join(self.countries)

    def query(self, **change: str) -> dict[str, str]:
        """The URL's parameters (defaults left out), with ``change`` applied."""
        out = {"measure": self.measure, "bloc": self.bloc, "countries": ",".join(self.countries) if self.bloc == "custom" else "",
               "node": self.node, **dict(self.scenario)}  # fmt: skip
        out.update(change)
        defaults = {"measure": "bloc_share", "bloc": "core"}
        return {k: v for k, v in out.items() if v and defaults.get(k) != v}


# ---- the measures ----------------------------------------------------------------------------------
def _class_of(value: float | None, edges: tuple[float, ...]) -> int | None:
    return None if value is None else sum(value >= e - 1e-12 for e in edges)


def _legend(lang: Language, measure: str) -> list[dict]:
    """The classes of a measure: ``{key, label, fill, text}``, the no-figures class last."""
    _ = lang.gettext
    if measure == "chokepoint":
        classes = [{"key": "yes", "label": _("chokepoint (one provider holds 90% or more)")}, {"key": "no", "label": _("no chokepoint")}]
        classes = [{**c, "fill": FLAG[c["key"]][0], "text": FLAG[c["key"]][1]} for c in classes]
    else:
        edges = HHI_EDGES if measure == "hhi" else SHARE_EDGES
        bounds = (0.0, *edges, 1.0)
        fmt = (lambda v: lang.number(v, 2)) if measure == "hhi" else (lambda v: lang.percent(v, 0))
        classes = [{"key": str(k), "label": f"{fmt(bounds[k])}–{fmt(bounds[k + 1])}", "fill": RAMP[k], "text": RAMP_TEXT[k]}
                   for k in range(len(RAMP))]  # fmt: skip
    return [*classes, {"key": "none", "label": _("no figures"), "fill": NO_DATA[0], "text": NO_DATA[1]}]


def _share_label(lang: Language, value: float | None, span: Any = None) -> str:
    if value is None:
        return lang.gettext("no figures")
    if span and abs(span[1] - span[0]) > 5e-3:
        return f"{lang.percent(value, 0)} ({lang.percent(span[0], 0)}–{lang.percent(span[1], 0)})"
    return lang.percent(value, 0)


def _entry(value: float | None, label: str, key: Any, detail: str = "") -> dict:
    return {"value": value, "label_value": label, "class": "none" if key is None else str(key), "detail": detail}


def _bloc_values(rows: list[dict], lang: Language) -> dict:
    return {r["node_id"]: _entry(r["bloc_share"], _share_label(lang, r["bloc_share"], r["bloc_share_range"]),
                                 _class_of(r["bloc_share"], SHARE_EDGES)) for r in rows}  # fmt: skip


def _top_values(rows: list[dict], lang: Language) -> dict:
    def label(r: dict) -> str:
        share = r["top_country_share"]
        return (
            f"{r['top_country']} {_share_label(lang, share, r['top_country_share_range'])}"
            if share is not None
            else lang.gettext("no figures")
        )

    return {r["node_id"]: _entry(r["top_country_share"], label(r), _class_of(r["top_country_share"], SHARE_EDGES)) for r in rows}


def _hhi_values(rows: list[dict], lang: Language) -> dict:
    def detail(r: dict) -> str:
        n = r["effective_suppliers"]
        return lang.gettext("effective suppliers") + f" {lang.number(n, 1)}" if n else ""

    return {r["node_id"]: _entry(r["hhi"], lang.number(r["hhi"], 2) if r["hhi"] is not None else lang.gettext("no figures"),
                                 _class_of(r["hhi"], HHI_EDGES), detail(r)) for r in rows}  # fmt: skip


def _chokepoint_values(rows: list[dict], points: list[dict], lang: Language) -> dict:
    found: dict[str, list[str]] = {}
    for p in points:  # largest share first
        found.setdefault(p["node_id"], []).append(f"{_chokepoint_name(p, lang)} {lang.percent(p['share'], 0)}")
    out = {}
    for r in rows:
        if r["node_id"] in found:
            out[r["node_id"]] = _entry(1.0, " · ".join(found[r["node_id"]][:2]), "yes")
        elif r["basis"] == "none":
            out[r["node_id"]] = _entry(None, lang.gettext("no figures"), None)
        else:
            out[r["node_id"]] = _entry(0.0, lang.gettext("no chokepoint"), "no")
    return out


def _availability_values(view: dict | None, problems: list[str], node_ids: list[str], lang: Language) -> tuple[dict, str]:
    """Availability from the view of the URL's scenario (``scenario_pages.scenario_result``):
    100% for every node without a scenario, and the builder's problem when it could not get a result."""
    available = (view or {}).get("availability") or {}
    values = {n: _entry(a, lang.percent(a, 0), _class_of(a, SHARE_EDGES)) for n in node_ids if (a := available.get(n, 1.0)) is not None}
    if problems:
        return values, " ".join(problems)
    summary = (view or {}).get("summary", "")
    return values, summary or lang.gettext("No scenario yet: every node is at 100%. Build one below.")


def measure_values(server: Any, caller: Any, ws: str, ds: str, state: MapState, node_ids: list[str], lang: Language,
                   scenario: dict | None = None) -> dict:  # fmt: skip
    """The colouring of the map for ``state``: ``{measure, bloc, legend, values: {node_id: {value,
    label_value, class, detail}}, note, error}``; a bad bloc gives ``error`` and no values. Availability
    comes from ``scenario`` (``scenario_pages.scenario_result``: its ``view`` and ``problems``)."""
    out = {"measure": state.measure, "bloc": state.bloc, "countries": list(state.countries), "legend": _legend(lang, state.measure),
           "values": {}, "note": "", "error": ""}  # fmt: skip
    try:
        if state.measure == "availability":
            scenario = scenario or {}
            out["values"], out["note"] = _availability_values(scenario.get("view"), scenario.get("problems") or [], node_ids, lang)
            out["binding"] = list((scenario.get("view") or {}).get("binding") or [])
            return out
        bloc = state.bloc_arg() if state.measure == "bloc_share" else "core"
        exposure = server.run_static(caller, ws, ds, "exposure", {"bloc": bloc})
        rows = exposure["rows"]
        out["bloc_codes"] = exposure.get("bloc", [])
        if state.measure == "chokepoint":
            points = [p for by in ("country", "firm")
                      for p in server.run_static(caller, ws, ds, "chokepoints", {"threshold": CHOKEPOINT_SHARE, "by": by})["rows"]]  # fmt: skip
            out["values"] = _chokepoint_values(rows, sorted(points, key=lambda p: -p["share"]), lang)
        else:
            out["values"] = {"bloc_share": _bloc_values, "top_country_share": _top_values, "hhi": _hhi_values}[state.measure](rows, lang)
    except (RequestError, ForbiddenError) as exc:
        out["error"] = str(exc)
    except CoreAtlasError as exc:
        if exc.http_status == 404 and exc.field in ("dataset", "workspace"):
            raise
        out["error"] = str(exc)
    return out


def measure_texts(lang: Language) -> dict:
    _ = lang.gettext
    return {"measures": {"bloc_share": _("Share held by the bloc"), "top_country_share": _("Top country's share"),
                         "hhi": _("Concentration (HHI)"), "chokepoint": _("Chokepoint"), "availability": _("Availability under the scenario")},
            "blocs": {"core": _("Core partners"), "allies": _("Allies"), "custom": _("Countries I choose")}}  # fmt: skip


# ---- the page ----------------------------------------------------------------------------------------
def map_layout(server: Any, caller: Any, ws: str, ds: str, dataset: dict, lang: Language) -> dict:
    """The stage-column layout of a dataset (``server.get_dataset``'s answer), with each node's
    name and description and the stage labels in the page's language."""
    layout = stage_layout(dataset["nodes"], dataset_relations(server, caller, ws, ds, dataset))
    descriptions = {n.get("node_id"): n.get("description") or "" for n in dataset["nodes"]}
    for node in layout["nodes"]:
        description = descriptions.get(node["id"], "")
        node["description"] = description if description == description else ""  # NaN from a table
        node["name"] = lang.node_name(node["name"])
    labels = {OUTPUT_STAGE: lang.gettext("Output"), NO_STAGE: lang.gettext("Other")}
    for stage in layout["stages"]:
        stage["label"] = labels.get(stage["key"], lang.stage_name(stage["label"]))
    stage_labels = {s["key"]: s["label"] for s in layout["stages"]}
    for node in layout["nodes"]:
        node["stage_label"] = stage_labels[node["stage"]]
    return layout


def dataset_relations(server: Any, caller: Any, ws: str, ds: str, dataset: dict) -> list[tuple[str, str, str]]:
    """The map's relations (``get_dataset`` answers nodes, providers and sources: they come from the map itself)."""
    if dataset.get("relations") is not None:
        return dataset["relations"]
    frame = dataset_map(server, caller, ws, ds).relations
    return [(str(r.node_id), str(r.relation), str(r.target_id)) for r in frame.itertuples(index=False)]


def dataset_map(server: Any, caller: Any, ws: str, ds: str) -> Any:
    """The dataset's map as the server reads it (for what ``get_dataset`` does not answer: relations, provision rows)."""
    from coreatlas.services.inputs import load_map  # noqa: PLC0415 - the engines load on first use

    return load_map(server.dataset_map_ref(caller, ws, ds))


def map_context(request: Request, site: Site, caller: Any, ws: str, ds: str, lang: Language) -> tuple[str, dict]:
    server = site.server
    info = server.get_workspace(caller, ws)
    dataset = server.get_dataset(caller, ws, ds)  # once per page: every get_dataset is an entry of the audit log
    layout = map_layout(server, caller, ws, ds, dataset, lang)
    state = MapState.of(request.query_params)
    builder = scenario_pages.builder_context(server, request.query_params, caller, lang, ws, ds, dataset, info)
    colouring = measure_values(server, caller, ws, ds, state, [n["id"] for n in layout["nodes"]], lang, builder)
    selected = next((n for n in layout["nodes"] if n["id"] == state.node), None)
    colouring["note"] = " ".join([*url_problems(state, selected, lang), colouring["note"]]).strip()
    state = replace(state, node=selected["id"] if selected else "")
    panel = node_context(server, caller, ws, ds, selected, dataset, layout, state, lang, info) if selected else None
    order = (*KINDS, "other")
    kinds = sorted({n["kind"] if n["kind"] in KINDS else "other" for n in layout["nodes"]}, key=order.index)
    island = {**layout, "selected": selected["id"] if selected else None, "colouring": colouring, "state": state.query(),
              "urls": {"values": f"/w/{ws}/d/{ds}/map/values", "node": f"/w/{ws}/d/{ds}/node/"}, "texts": map_texts(lang, layout),
              "scale": {"share_edges": SHARE_EDGES, "availability_legend": _legend(lang, "availability")}}  # fmt: skip
    return "map.html", {"workspace": info, "dataset": dataset, "layout": layout, "island": island, "selected": selected, "kinds": kinds,
                        "state": state, "colouring": colouring, "panel": panel, "measure_texts": measure_texts(lang),
                        "scenario_builder": builder}  # fmt: skip


def url_problems(state: MapState, selected: dict | None, lang: Language) -> list[str]:
    """What the page says about URL parameters it could not follow (it shows the defaults instead)."""
    _ = lang.gettext
    texts = {"measure": _("The link asks for an unknown measure (%(value)s): the map shows the share held by the bloc."),
             "bloc": _("The link asks for an unknown bloc (%(value)s): the map shows the core partners.")}  # fmt: skip
    out = [texts[name] % {"value": value} for name, value in state.unknown]
    if state.node and selected is None:
        out.append(_("The link names a node that is not on this map (%(value)s).") % {"value": state.node[:50]})
    return out


def map_texts(lang: Language, layout: dict) -> dict:
    _ = lang.gettext
    return {"kinds": kind_labels(lang), "none_selected": _("Select a node on the map."), **measure_texts(lang),
            "stages": {s["key"]: s["label"] for s in layout["stages"]}, "loading": _("Loading…"),
            "failed": _("This could not be loaded. Try again."), "no_match": _("No node has that name."),
            "scenario_note": _("Availability under the scenario the builder computed."), "binding": _("on the binding path"),
            "estimated": _("* rests on an assumed split")}  # fmt: skip


def add_routes(router: APIRouter, site: Site) -> None:
    server = site.server

    @router.get("/w/{ws}/d/{ds}/map", response_class=HTMLResponse)
    def map_page(request: Request, ws: str, ds: str) -> HTMLResponse:
        return site.page(request, lambda caller, lang: map_context(request, site, caller, ws, ds, lang))

    @router.get("/w/{ws}/d/{ds}/map/values")
    def map_values(request: Request, ws: str, ds: str) -> JSONResponse:
        def build(caller, lang):
            state = MapState.of(request.query_params)
            state.check()
            scenario = None
            if state.measure == "availability":
                workspace = server.get_workspace(caller, ws)
                scenario = scenario_pages.scenario_result(server, caller, ws, ds, request.query_params, lang, workspace)
            return measure_values(server, caller, ws, ds, state, _node_ids(server, caller, ws, ds), lang, scenario)

        return _json_page(site, request, build)

    @router.get("/w/{ws}/d/{ds}/node/{node_id}", response_class=HTMLResponse)
    def node_panel(request: Request, ws: str, ds: str, node_id: str) -> HTMLResponse:
        def build(caller, lang):
            info = server.get_workspace(caller, ws)
            dataset = server.get_dataset(caller, ws, ds)
            layout = map_layout(server, caller, ws, ds, dataset, lang)
            node = next((n for n in layout["nodes"] if n["id"] == node_id[:MAX_NODE_ID]), None)
            if node is None:
                raise NotFoundError(f"node '{node_id[:MAX_NODE_ID]}' not found", field="node")
            state = replace(MapState.of(request.query_params), node=node["id"])
            return "node_panel.html", {"panel": node_context(server, caller, ws, ds, node, dataset, layout, state, lang, info),
                                       "workspace": info, "state": state}  # fmt: skip

        return site.page(request, build)


def _node_ids(server: Any, caller: Any, ws: str, ds: str) -> list[str]:
    return [str(n) for n in dataset_map(server, caller, ws, ds).node_ids]


def _json_page(site: Site, request: Request, build) -> JSONResponse:
    """``build(caller, lang)`` as JSON; errors as the API's envelope (401 without a session)."""
    lang = site.language_of(request)
    caller = site.caller_of(request)
    headers = {"Cache-Control": "no-store"}
    try:
        if caller is None:
            raise AuthError("sign in first")
        return JSONResponse(build(caller, lang), headers=headers)
    except CoreAtlasError as exc:
        envelope = {"error": {"code": exc.code, "message": str(exc), "field": exc.field}}
        return JSONResponse(envelope, status_code=exc.http_status, headers=headers)


# ---- the node panel ---------------------------------------------------------------------------------
COUNTRY_TYPES = ("country", "region", "residual")
FIGURE_COLOUR, ASSUMED_COLOUR = "#2a6fad", "#a9c8e6"
CHART_WIDTH = 240  # pixels of the bars' axis; the panel is about 30rem wide and the names take the rest


def _cell(value: Any) -> Any:
    """A table cell with None for NaN and pandas' NA."""
    try:
        return None if value is None or value != value else value
    except TypeError:
        return None


def node_context(server: Any, caller: Any, ws: str, ds: str, node: dict, dataset: dict, layout: dict, state: MapState, lang: Language,
                 workspace: dict) -> dict:  # fmt: skip
    """Everything the node panel shows (see ``templates/node_panel.html``)."""
    node_id = node["id"]
    record, bloc_error = _exposure_record(server, caller, ws, ds, node_id, state)
    rows = _provision_rows(dataset_map(server, caller, ws, ds), node_id)
    providers = {p["provider_id"]: p for p in dataset["providers"]}
    countries, firms, assumed = share_bars(record, rows, providers, lang)
    raw = next((n for n in dataset["nodes"] if n.get("node_id") == node_id), {})
    comments = server.list_comments(caller, ws, Page(offset=0, limit=MAX_PAGE), target_kind="node", target_id=node_id)["items"]
    return {"node": node, "record": record, "bloc_error": bloc_error, "market_size": _cell(raw.get("market_size_usd")),
            "market_year": _cell(raw.get("market_size_year")), "links": node_links(node_id, layout),
            "chokepoints": _node_chokepoints(server, caller, ws, ds, node_id, lang), "countries": countries, "firms": firms,
            "assumed": assumed, "unnamed": _unnamed(rows, providers, countries, firms, lang), "sources": node_sources(rows, dataset["sources"]),
            "comments": [_comment(c, caller) for c in comments], "can_edit": can_edit(caller, workspace), "ws": ws, "ds": ds,
            "country_spec": share_spec(countries, lang, lang.gettext("Share of the world market by country")),
            "firm_spec": share_spec(firms, lang, lang.gettext("Share of the world market by company")),
            "state_query": state.query()}  # fmt: skip


def _exposure_record(server: Any, caller: Any, ws: str, ds: str, node_id: str, state: MapState) -> tuple[dict, str]:
    """The node's exposure record for the page's bloc, with ``bloc_codes`` (the core bloc, and the error, if the bloc is bad)."""
    try:
        bloc, error = state.bloc_arg(), ""
    except RequestError as exc:
        bloc, error = "core", str(exc)
    try:
        answer = server.run_static(caller, ws, ds, "exposure", {"bloc": bloc, "node": node_id})
    except RequestError as exc:
        answer, error = server.run_static(caller, ws, ds, "exposure", {"bloc": "core", "node": node_id}), str(exc)
    return {**answer["rows"][0], "bloc_codes": answer.get("bloc", [])}, error


def _node_chokepoints(server: Any, caller: Any, ws: str, ds: str, node_id: str, lang: Language) -> list[dict]:
    request = {"threshold": CHOKEPOINT_SHARE}
    return [{**p, "provider_name": _chokepoint_name(p, lang)} for by in ("country", "firm")
            for p in server.run_static(caller, ws, ds, "chokepoints", {**request, "by": by})["rows"] if p["node_id"] == node_id]  # fmt: skip


def _chokepoint_name(point: dict, lang: Language) -> str:
    """A chokepoint's provider: a country in the page's language, a firm by its name."""
    if point.get("by") == "country":
        return scenario_pages.country_name(point["provider"], lang, point["provider_name"])
    return point["provider_name"]


def _provision_rows(tm: Any, node_id: str) -> list[dict]:
    frame = tm.provision[tm.provision["node_id"] == node_id]
    return [{k: _cell(v) for k, v in r.items()} for r in frame.drop(columns=["line"], errors="ignore").to_dict("records")]


def _provider_code(provider: dict | None, provider_id: str) -> str:
    """The code a country-level provider row counts for in the exposure shares."""
    if provider and provider.get("type") == "country" and provider.get("country"):
        return str(provider["country"])
    return provider_id


def _is_country_level(provider: dict | None) -> bool:
    return bool(provider) and provider.get("type") in COUNTRY_TYPES


def _bar(label: str, share: float, lang: Language, low: Any = None, high: Any = None, assumed: bool = False, key: str = "") -> dict:
    ranged = low is not None and high is not None and abs(high - low) > 1e-9
    text = lang.percent(share, 1) + (f" ({lang.percent(low, 0)}–{lang.percent(high, 0)})" if ranged else "") + (" *" if assumed else "")
    return {"key": key or label, "label": label, "share": float(share), "low": float(low) if ranged else None,
            "high": float(high) if ranged else None, "assumed": assumed, "text": text}  # fmt: skip


def share_bars(record: dict, rows: list[dict], providers: dict, lang: Language) -> tuple[list[dict], list[dict], bool]:
    """``(country bars, company bars, whether any rests on an assumption)``: figures from the
    exposure record, ranges from the rows' ``share_low``/``share_high``, and the equal split of
    what the figures leave among qualitative providers (no published share) marked ``assumed``."""
    ranges = {}
    for r in rows:
        if r["share_low"] is not None and r["share_high"] is not None:
            p = providers.get(r["provider_id"])
            key = _provider_code(p, r["provider_id"]) if _is_country_level(p) else r["provider_id"]
            ranges[key] = (r["share_low"], r["share_high"])
    names = _provider_names(providers, lang)
    countries = [_bar(names.get(c, c), s, lang, *ranges.get(c, (None, None)), key=c) for c, s in record["shares"].items()]
    if record.get("residual_share") and record["residual_share"] > 5e-4:
        countries.append(_bar(lang.gettext("Various countries"), record["residual_share"], lang, key="@residual"))
    firms = [_bar(names.get(f, f), s, lang, *ranges.get(f, (None, None)), key=f) for f, s in record["firm_shares"].items()]
    qualitative = [r["provider_id"] for r in rows if r["share"] is None]
    level_is_country = any(_is_country_level(providers.get(r["provider_id"])) for r in rows)
    split = [q for q in qualitative if _is_country_level(providers.get(q)) == level_is_country]
    rest = 1.0 - sum(b["share"] for b in (countries if level_is_country else firms)) if record["basis"] != "none" else 1.0
    if split and rest > 5e-3:
        shares = [_bar(names.get(q, q), rest / len(split), lang, assumed=True, key=q) for q in split]
        (countries if level_is_country else firms).extend(shares)
    return countries, firms, bool(split and rest > 5e-3)


def _provider_names(providers: dict, lang: Language) -> dict[str, str]:
    """Provider id (and a country provider's code) -> name; a country in the page's language (CLDR), as the scenario builder names it."""
    names = {pid: str(p.get("name") or pid) for pid, p in providers.items()}
    countries = {
        str(p["country"]): str(p.get("name") or p["country"]) for p in providers.values() if p.get("type") == "country" and p.get("country")
    }
    names.update({code: scenario_pages.country_name(code, lang, name) for code, name in countries.items()})
    return names


def _unnamed(rows: list[dict], providers: dict, countries: list[dict], firms: list[dict], lang: Language) -> list[str]:
    """Qualitative providers (no published share) the charts do not show."""
    shown = {b["key"] for b in (*countries, *firms)}
    names = _provider_names(providers, lang)
    return [names.get(r["provider_id"], r["provider_id"]) for r in rows if r["share"] is None and r["provider_id"] not in shown]


def share_spec(bars: list[dict], lang: Language, title: str) -> dict | None:
    """A Vega-Lite horizontal bar chart of shares, largest first: figures dark, assumed figures
    light, a black rule from low to high where sources disagree, the share written beside each bar."""
    if not bars:
        return None
    _ = lang.gettext
    figure, assumed = _("published figure"), _("assumed (equal split)")
    values = [{"name": b["label"], "share": b["share"], "low": b["low"], "high": b["high"], "text": b["text"],
               "basis": assumed if b["assumed"] else figure} for b in sorted(bars, key=lambda b: -b["share"])]  # fmt: skip
    x = {"field": "share", "type": "quantitative", "title": _("share of the world market"), "scale": {"domain": [0, 1]},
         "axis": {"format": ".0%", "tickCount": 5}}  # fmt: skip
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "description": title, "width": CHART_WIDTH,
            "height": 22 * len(values) + 10, "data": {"values": values},
            "encoding": {"y": {"field": "name", "type": "nominal", "sort": None, "title": None, "axis": {"labelLimit": 160}}},
            "layer": [
                {"mark": {"type": "bar", "height": 14},
                 "encoding": {"x": x, "color": {"field": "basis", "type": "nominal", "title": None, "legend": {"orient": "bottom", "labelLimit": 240},
                                                "scale": {"domain": [figure, assumed], "range": [FIGURE_COLOUR, ASSUMED_COLOUR]}},
                              "tooltip": [{"field": "name", "title": " "}, {"field": "text", "title": _("share")}, {"field": "basis", "title": " "}]}},
                {"transform": [{"filter": {"field": "low", "valid": True}}], "mark": {"type": "rule", "color": "#1a1a1a", "strokeWidth": 2},
                 "encoding": {"x": {"field": "low", "type": "quantitative"}, "x2": {"field": "high"}}},
                {"mark": {"type": "text", "align": "left", "dx": 4, "color": "#1a1a1a"},
                 "encoding": {"x": {"field": "share", "type": "quantitative"}, "text": {"field": "text"}}},
            ]}  # fmt: skip


def node_links(node_id: str, layout: dict) -> dict[str, list[dict]]:
    """The node's inputs, the nodes that use it, the node it is a variant of and its variants (each ``{id, name}``)."""
    names = {n["id"]: n["name"] for n in layout["nodes"]}
    links: dict[str, list[dict]] = {"inputs": [], "users": [], "parents": [], "variants": []}
    for e in layout["edges"]:  # edges run downstream: from an input to its user, from a node to its variant
        variant = e["relation"] == "variant_of"
        if e["target"] == node_id:
            links["parents" if variant else "inputs"].append({"id": e["source"], "name": names[e["source"]]})
        elif e["source"] == node_id:
            links["variants" if variant else "users"].append({"id": e["target"], "name": names[e["target"]]})
    return links


def node_sources(rows: list[dict], sources: list[dict]) -> list[dict]:
    """The sources the node's figures cite: ``{title, year, url, links}`` (a dataset source by its
    id; free text with Markdown links, as in the ETO data, split into its text and links)."""
    known = {s["id"]: s for s in sources}
    years: dict[str, set[int]] = {}
    for r in rows:
        if r["source"]:
            years.setdefault(str(r["source"]), set()).update({int(r["year"])} if r["year"] is not None else set())
    out = []
    for cited, seen in years.items():
        source = known.get(cited)
        if source:
            out.append({"title": source["title"], "url": source["url"], "year": source["year"], "years": sorted(seen), "links": []})
        else:
            links = [{"text": t, "url": u} for t, u in MARKDOWN_LINK.findall(cited)]
            out.append({"title": MARKDOWN_LINK.sub(r"\1", cited), "url": None, "year": None, "years": sorted(seen), "links": links})
    return out


def _comment(comment: dict, caller: Any) -> dict:
    """A comment as the panel shows it: its author's name and organisation."""
    mine = comment.get("author") == caller.user_id
    name, org = comment.get("author_name") or (caller.user_name if mine else None), comment.get("author_org")
    return {**comment, "mine": mine, "author_label": f"{name} ({org})" if name and org else name,
            "replies": [_comment(r, caller) for r in comment.get("replies", [])]}  # fmt: skip
