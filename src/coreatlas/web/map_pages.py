"""The map of a dataset: the chain in stage columns (positions from :mod:`.layout`), the node panel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coreatlas.web.i18n import Language
from coreatlas.web.layout import NO_STAGE, OUTPUT_STAGE, stage_layout
from coreatlas.web.site import KINDS, Site, kind_labels

MAX_NODE_ID = 200


def add_routes(router: APIRouter, site: Site) -> None:
    server = site.server

    @router.get("/w/{ws}/d/{ds}/map", response_class=HTMLResponse)
    def map_page(request: Request, ws: str, ds: str) -> HTMLResponse:
        def build(caller, lang):
            info = server.get_workspace(caller, ws)
            dataset = server.get_dataset(caller, ws, ds)
            layout = map_layout(server, caller, ws, ds, dataset, lang)
            wanted = request.query_params.get("node", "")[:MAX_NODE_ID]
            selected = next((n for n in layout["nodes"] if n["id"] == wanted), None)
            island = {**layout, "selected": selected["id"] if selected else None,
                      "texts": {"kinds": kind_labels(lang), "none_selected": lang.gettext("Select a node on the map."),
                                "stages": {s["key"]: s["label"] for s in layout["stages"]}}}  # fmt: skip
            order = (*KINDS, "other")
            kinds = sorted({n["kind"] if n["kind"] in KINDS else "other" for n in layout["nodes"]}, key=order.index)
            return "map.html", {"workspace": info, "dataset": dataset, "layout": layout, "island": island,
                                "selected": selected, "kinds": kinds}  # fmt: skip

        return site.page(request, build)


def map_layout(server: Any, caller: Any, ws: str, ds: str, dataset: dict, lang: Language) -> dict:
    """The stage-column layout of a dataset (``server.get_dataset``'s answer), with each node's
    name and description and the stage labels in the page's language."""
    relations = dataset.get("relations")
    if relations is None:  # get_dataset answers nodes, providers and sources: the relations come from the map itself
        from coreatlas.services.inputs import load_map  # noqa: PLC0415 - the engines load on first use

        frame = load_map(server.dataset_map_ref(caller, ws, ds)).relations
        relations = [(str(r.node_id), str(r.relation), str(r.target_id)) for r in frame.itertuples(index=False)]
    layout = stage_layout(dataset["nodes"], relations)
    descriptions = {n.get("node_id"): n.get("description") or "" for n in dataset["nodes"]}
    for node in layout["nodes"]:
        description = descriptions.get(node["id"], "")
        node["description"] = description if description == description else ""  # NaN from a table
        node["name"] = lang.node_name(node["name"])
    labels = {OUTPUT_STAGE: lang.gettext("Output"), NO_STAGE: lang.gettext("Other")}
    for stage in layout["stages"]:
        stage["label"] = labels.get(stage["key"], stage["label"])
    stage_labels = {s["key"]: s["label"] for s in layout["stages"]}
    for node in layout["nodes"]:
        node["stage_label"] = stage_labels[node["stage"]]
    return layout
