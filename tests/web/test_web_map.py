"""The map page and the node panel, rendered by FastAPI's TestClient (no browser): stage columns
with positions from the server, the colouring of each measure computed on the server for the
URL's state (and its JSON twin for the page's script), the node panel (shares with their assumed
figures, concentration, links, sources, comments) and what each role sees."""

from __future__ import annotations

import json

import pytest
from web_support import Page

from coreatlas.services.server import SYSTEM
from coreatlas.web.layout import COLUMN_WIDTH, OUTPUT_STAGE, ROW_HEIGHT
from coreatlas.web.map_pages import SHARE_EDGES, MapState, node_sources, share_bars

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
MAP = "/w/default/d/chips/map"
NODE = "/w/default/d/chips/node"
VALUES = "/w/default/d/chips/map/values"


def _island(html: str) -> dict:
    return json.loads(Page(html).island("map-data"))


# ---- the layout as the page gets it -------------------------------------------------------------
def test_map_renders_the_chain_in_stage_columns(site):
    answer = site.client("vic").get(MAP)
    assert answer.status_code == 200
    data = _island(answer.text)
    assert [s["key"] for s in data["stages"]] == ["Design", "Fabrication", "ATP", OUTPUT_STAGE]
    assert data["stages"][-1]["label"] == "Output"
    nodes = {n["id"]: n for n in data["nodes"]}
    assert len(nodes) == 36
    stages = {s["key"]: s for s in data["stages"]}
    for n in data["nodes"]:
        stage = stages[n["stage"]]
        assert n["x"] == stage["left"] + n["sub"] * COLUMN_WIDTH + COLUMN_WIDTH // 2 and n["y"] == n["row"] * ROW_HEIGHT + ROW_HEIGHT // 2
        assert n["row"] < data["rows"]
    assert stages["Fabrication"]["subcolumns"] >= 2 and data["rows"] < 26  # 26 nodes wrap into sub-columns, not one column of 26
    assert nodes["finished_logic_chip"]["column"] == 3
    assert nodes["euv_lithography_tools"]["stage"] == "Fabrication"
    edges = {(e["source"], e["target"], e["relation"]) for e in data["edges"]}  # from an input to its user
    assert {("lithography_tools", "photolithography", "uses"), ("lithography_tools", "euv_lithography_tools", "variant_of")} <= edges
    page = Page(answer.text)
    assert page.by_id("map") is not None and page.by_id("map").get("aria-label") and page.by_id("map").get("tabindex") == "0"
    assert any(src.startswith("/static/vendor/cytoscape/cytoscape.min.js") for _, src in page.attributes("src"))
    for script in ("js/map.js", "js/panel.js", "js/scenario.js"):
        assert any(src.startswith(f"/static/{script}") for _, src in page.attributes("src")), script
    assert page.by_id("scenario-builder") is not None


def test_map_positions_are_deterministic(site):
    first = site.client("admin").get(MAP).text
    second = site.client("vic").get(MAP).text
    assert Page(first).island("map-data") == Page(second).island("map-data")  # byte for byte


def test_controls_search_and_legend_are_there_and_labelled(site):
    page = Page(site.client("vic").get(f"{MAP}?bloc=custom&countries=usa,JPN").text)
    options = {tag_attrs.get("value") for tag, tag_attrs in page.tags if tag == "option" and tag_attrs.get("value") in
               {"bloc_share", "top_country_share", "hhi", "chokepoint", "availability", "core", "allies", "custom"}}  # fmt: skip
    assert options == {"bloc_share", "top_country_share", "hhi", "chokepoint", "availability", "core", "allies", "custom"}
    labelled = {attrs["for"] for tag, attrs in page.tags if tag == "label" and "for" in attrs}
    assert {"measure", "bloc", "countries", "node-search"} <= labelled
    assert page.by_id("countries")["value"] == "USA,JPN"
    assert page.by_id("node-search")["list"] == "node-names" and page.by_id("map-legend") is not None
    names = [attrs["value"] for tag, attrs in page.tags if tag == "option" and "value" in attrs and attrs["value"].startswith("EUV")]
    assert names == ["EUV lithography tools"]


# ---- the colouring --------------------------------------------------------------------------------
def test_the_bloc_share_is_coloured_on_the_server_for_the_urls_state(site):
    core = _island(site.client("vic").get(MAP).text)["colouring"]
    assert core["measure"] == "bloc_share" and core["bloc"] == "core"
    euv = core["values"]["euv_lithography_tools"]
    assert euv["value"] == 0 and euv["label_value"] == "0%" and euv["class"] == "0"  # the Netherlands is no core country
    allies = _island(site.client("vic").get(f"{MAP}?bloc=allies").text)["colouring"]
    assert "NLD" in allies["bloc_codes"]
    assert allies["values"]["euv_lithography_tools"] == {"value": 1.0, "label_value": "100%", "class": "4", "detail": ""}
    assert allies["values"]["finished_logic_chip"]["class"] == "none"  # the output has no shares of its own
    custom = _island(site.client("vic").get(f"{MAP}?bloc=custom&countries=NLD").text)["colouring"]
    assert custom["values"]["euv_lithography_tools"]["value"] == 1.0 and custom["bloc_codes"] == ["NLD"]
    keys = [c["key"] for c in allies["legend"]]
    assert keys == ["0", "1", "2", "3", "4", "none"] and len(SHARE_EDGES) == 4


def test_every_measure_colours_every_node(site):
    client = site.client("vic")
    for measure in ("top_country_share", "hhi", "chokepoint", "availability"):
        colouring = _island(client.get(f"{MAP}?measure={measure}").text)["colouring"]
        assert colouring["measure"] == measure and not colouring["error"], measure
        assert len(colouring["values"]) == 36, measure
    top = _island(client.get(f"{MAP}?measure=top_country_share").text)["colouring"]["values"]["euv_lithography_tools"]
    assert top["label_value"] == "NLD 100%"
    hhi = _island(client.get(f"{MAP}?measure=hhi").text)["colouring"]["values"]["euv_lithography_tools"]
    assert hhi["value"] == 1.0 and hhi["label_value"] == "1" and "effective suppliers 1" in hhi["detail"]
    flags = _island(client.get(f"{MAP}?measure=chokepoint").text)["colouring"]["values"]
    assert flags["euv_lithography_tools"]["class"] == "yes" and "Netherlands 100%" in flags["euv_lithography_tools"]["label_value"]
    assert flags["wafer_fabrication"]["class"] == "no"
    availability = _island(client.get(f"{MAP}?measure=availability").text)["colouring"]
    assert {v["value"] for v in availability["values"].values()} == {1.0} and availability["note"]


def test_availability_follows_the_urls_scenario_as_the_builder_computes_it(site):
    owner = _island(site.client("admin").get(f"{MAP}?measure=availability&remove=NLD").text)["colouring"]
    assert owner["values"]["euv_lithography_tools"]["value"] == 0.0 and owner["values"]["finished_logic_chip"]["value"] < 0.01
    assert "NLD" in owner["note"] and owner["binding"][0] == "finished_logic_chip" and "euv_lithography_tools" in owner["binding"]
    viewer = _island(site.client("vic").get(f"{MAP}?measure=availability&remove=NLD").text)["colouring"]  # viewers see it too
    assert viewer["values"] == owner["values"]
    twin = site.client("admin").get(f"{VALUES}?measure=availability&cut=NLD:100").json()
    assert twin["values"]["euv_lithography_tools"]["value"] == 0.0


def test_a_bad_bloc_is_a_message_not_a_broken_page(site):
    answer = site.client("vic").get(f"{MAP}?bloc=custom&countries=XXX")
    assert answer.status_code == 200
    colouring = _island(answer.text)["colouring"]
    assert colouring["error"] and colouring["values"] == {}
    empty = _island(site.client("vic").get(f"{MAP}?bloc=custom").text)["colouring"]
    assert "ISO3" in empty["error"]
    assert 'id="map-message"' in answer.text and colouring["error"] in answer.text.replace("&#39;", "'")


def test_the_values_route_is_the_json_twin_of_the_colouring(site):
    client = site.client("vic")
    answer = client.get(f"{VALUES}?measure=bloc_share&bloc=allies")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert answer.json() == _island(client.get(f"{MAP}?bloc=allies").text)["colouring"]
    assert client.get(f"{VALUES}?lang=ja").json()["legend"][-1]["label"] != "no figures"  # in the page's language
    assert site.client().get(VALUES).status_code == 401
    outsider = site.client("olga").get(VALUES)
    assert outsider.status_code == 404 and outsider.json()["error"]["code"] == "not_found"


def test_links_keep_the_state():
    state = MapState.of({"measure": "hhi", "bloc": "custom", "countries": "usa, jpn,USA", "node": "x", "remove": "NLD", "other": "y"})
    assert state.countries == ("USA", "JPN") and state.bloc_arg() == "USA,JPN"
    assert state.query(node="y") == {"measure": "hhi", "bloc": "custom", "countries": "USA,JPN", "node": "y", "remove": "NLD"}
    assert MapState.of({"measure": "nonsense"}).query() == {}


# ---- the node panel -------------------------------------------------------------------------------
def test_selected_node_is_in_the_url_and_the_panel(site):
    answer = site.client("vic").get(f"{MAP}?node=euv_lithography_tools")
    data = _island(answer.text)
    assert data["selected"] == "euv_lithography_tools"
    page = Page(answer.text)
    assert page.by_id("panel-body")["data-node-id"] == "euv_lithography_tools"
    assert "EUV lithography tools" in answer.text and page.by_id("panel-name") is not None
    unknown = site.client("vic").get(f"{MAP}?node=nothing")
    assert _island(unknown.text)["selected"] is None and "data-node-id" not in (Page(unknown.text).by_id("panel-body") or {})


def test_the_panel_fragment_has_charts_facts_links_and_sources(site):
    answer = site.client("vic").get(f"{NODE}/euv_lithography_tools?bloc=allies")
    assert answer.status_code == 200 and "<html" not in answer.text
    page = Page(answer.text)
    assert page.by_id("panel-name") is not None
    for chart in ("country-shares", "company-shares"):
        assert (
            page.by_id(chart)["class"] == "chart"
            and page.by_id(chart)["data-spec"] == f"{chart}-spec"
            and page.by_id(chart)["role"] == "figure"  # it holds the export links: not an img
        )
    spec = json.loads(page.island("country-shares-spec"))
    assert spec["data"]["values"][0]["name"] == "Netherlands" and spec["data"]["values"][0]["share"] == 1.0
    assert json.loads(page.island("company-shares-spec"))["data"]["values"][0]["name"] == "ASML"
    assert "$13B" in answer.text  # market size, usd()
    assert "Netherlands 100%" in answer.text  # the chokepoint
    assert 'data-node-id="lithography_tools"' in answer.text  # a variant of: a link
    assert 'rel="noopener noreferrer external"' in answer.text  # the source, with its link
    tables = [attrs["data-download"] for tag, attrs in page.tags if tag == "table"]
    assert tables == ["country-shares-euv_lithography_tools", "company-shares-euv_lithography_tools"]
    assert site.client("vic").get(f"{NODE}/nothing").status_code == 404
    assert site.client("olga").get(f"{NODE}/euv_lithography_tools").status_code == 404


def test_assumed_figures_and_ranges_are_marked():
    providers = {"USA": {"provider_id": "USA", "name": "United States", "type": "country", "country": "USA"},
                 "JPN": {"provider_id": "JPN", "name": "Japan", "type": "country", "country": "JPN"},
                 "KOR": {"provider_id": "KOR", "name": "South Korea", "type": "country", "country": "KOR"},
                 "acme": {"provider_id": "acme", "name": "Acme", "type": "firm", "country": "USA"}}  # fmt: skip
    row = {"share_low": None, "share_high": None, "year": 2024, "source": "s"}
    rows = [{**row, "provider_id": "USA", "share": 0.6, "share_low": 0.5, "share_high": 0.7}, {**row, "provider_id": "JPN", "share": None},
            {**row, "provider_id": "KOR", "share": None}, {**row, "provider_id": "acme", "share": None}]  # fmt: skip
    record = {"basis": "own", "shares": {"USA": 0.6}, "firm_shares": {}, "residual_share": 0.0}
    from coreatlas.web import language

    countries, firms, assumed = share_bars(record, rows, providers, language("en"))
    assert assumed and firms == []
    by = {b["key"]: b for b in countries}
    assert (by["USA"]["low"], by["USA"]["high"], by["USA"]["assumed"]) == (0.5, 0.7, False) and "(50%–70%)" in by["USA"]["text"]
    assert by["JPN"]["assumed"] and by["JPN"]["share"] == pytest.approx(0.2) and by["KOR"]["share"] == pytest.approx(0.2)
    nothing = {"basis": "none", "shares": {}, "firm_shares": {}, "residual_share": None}
    _, firms_only, assumed = share_bars(nothing, [{**row, "provider_id": "acme", "share": None}], providers, language("en"))
    assert assumed and firms_only[0]["share"] == 1.0 and firms_only[0]["assumed"]


def test_sources_give_title_year_and_link():
    listed = [{"id": "s1", "title": "A report", "url": "https://example.org/r", "year": 2021}]
    rows = [
        {"source": "s1", "year": 2019},
        {"source": "s1", "year": 2020},
        {"source": "[CSET](https://cset.example/x) (citing SIA)", "year": None},
    ]
    first, second = node_sources(rows, listed)
    assert first == {"title": "A report", "url": "https://example.org/r", "year": 2021, "years": [2019, 2020], "links": []}
    assert second["title"] == "CSET (citing SIA)" and second["links"] == [{"text": "CSET", "url": "https://cset.example/x"}]


def test_comments_editors_post_viewers_read(site):
    site.server.add_comment(SYSTEM, "default", "node", "deposition", "Check the 2025 figures")
    owner = Page(site.client("admin").get(f"{NODE}/deposition").text)
    assert owner.by_id("comments") is not None and owner.by_id("comment-body") is not None and owner.by_id("comment-submit") is not None
    assert any(tag == "li" and "comment" in attrs.get("class", "").split() for tag, attrs in owner.tags)
    viewer_html = site.client("vic").get(f"{NODE}/deposition").text
    viewer = Page(viewer_html)
    assert "Check the 2025 figures" in viewer_html and viewer.by_id("comments") is not None
    for control in ("comment-body", "comment-submit", "comment-form"):
        assert viewer.by_id(control) is None, control
    assert "comment-status-set" not in viewer_html and "comment-reply-open" not in viewer_html


def test_the_panel_in_japanese(site):
    html = site.client("vic").get(f"{MAP}?node=euv_lithography_tools&lang=ja").text
    assert '<html lang="ja">' in html and "EUV lithography tools" not in Page(html).island("map-data")


def test_unknown_url_parameters_are_said_on_the_page_and_refused_by_the_json_twin(site):
    client = site.client("vic")
    answer = client.get(f"{MAP}?measure=bogus&bloc=nope&node=not_a_node")
    assert answer.status_code == 200
    data = _island(answer.text)
    assert data["colouring"]["measure"] == "bloc_share" and data["selected"] is None and data["colouring"]["values"]
    note = data["colouring"]["note"]
    assert "unknown measure (bogus)" in note and "unknown bloc (nope)" in note and "(not_a_node)" in note
    assert Page(answer.text).by_id("map-message") is not None and "unknown measure (bogus)" in answer.text
    assert "リンクの指標（bogus）は不明です" in client.get(f"{MAP}?measure=bogus&lang=ja").text
    refused = client.get(f"{VALUES}?measure=bogus")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "measure"
    assert client.get(f"{VALUES}?bloc=nope").json()["error"]["field"] == "bloc"


def test_a_source_link_must_be_http():
    from coreatlas.web.site import web_link

    assert web_link("https://eto.tech/x") == "https://eto.tech/x" and web_link(" HTTP://a.b ") == "HTTP://a.b"
    assert web_link("javascript:alert(document.cookie)") == "" and web_link("JaVaScRiPt:x") == "" and web_link("data:text/html,x") == ""
    assert web_link(None) == "" and web_link("/relative") == ""


def test_the_map_page_reads_its_dataset_and_workspace_once(site, monkeypatch):
    calls = []
    for name in ("get_dataset", "get_workspace"):
        real = getattr(site.server, name)
        monkeypatch.setattr(site.server, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    assert site.client("admin").get(f"{MAP}?node=euv_lithography_tools&remove=NLD").status_code == 200
    assert calls.count("get_dataset") == 1 and calls.count("get_workspace") == 1  # each get_dataset is an audit entry
    calls.clear()
    assert site.client("admin").get(f"{VALUES}?measure=availability&remove=NLD").status_code == 200 and "get_dataset" not in calls


def test_countries_of_the_panel_are_named_in_the_pages_language(site):
    html = site.client("vic").get(f"{NODE}/euv_lithography_tools?lang=ja").text
    assert "オランダ" in html and "Netherlands" not in html
