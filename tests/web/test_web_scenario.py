"""The scenario builder (a partial of the map page), the job, run, scenarios and compare pages,
rendered by FastAPI's TestClient (no browser): the state of the URL, the static result in the
island, the roles (viewers read, editors change and run), jobs with their result, comparisons."""

from __future__ import annotations

import json
import threading

import pytest
from web_support import Page

from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.services.server import Page as ListPage
from coreatlas.services.server import run_worker
from coreatlas.web import language
from coreatlas.web.scenario_pages import BuilderState, parse_state, scenario_text, scenario_view, state_of_request

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
MAP = "/w/default/d/chips/map"


def _island(html: str, name: str = "scenario-data") -> dict:
    return json.loads(Page(html).island(name))


def _csrf(client) -> dict:
    return {"X-CSRF-Token": client.cookies.get("coreatlas_csrf")}


def _runs(site) -> int:
    return site.server.list_runs(site.server.authenticate_token(site.server.create_token("admin")[1]), "default", ListPage(0, 1))["total"]


def _rows(page: Page, table_id: str) -> list[dict]:
    """The attributes of the ``tr`` of a table's body (the table ends at the next table)."""
    start = next(i for i, (tag, attrs) in enumerate(page.tags) if tag == "table" and attrs.get("id") == table_id)
    rows = []
    for tag, attrs in page.tags[start + 1 :]:
        if tag == "table":
            break
        if tag == "tr" and "data-node-id" in attrs:
            rows.append(attrs)
    return rows


def _no_inline_code(html: str) -> None:
    page = Page(html)
    for attrs, _body in page.scripts:
        assert attrs.get("src", "").startswith("/static/") or (attrs.get("type") == "application/json" and not attrs.get("src")), attrs
    for tag, attrs in page.tags:
        assert "style" not in attrs and not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "style":
            raise AssertionError("an inline <style>")


def _simulate(site, client, days: int = 20, scenario: dict | None = None, run: bool = True) -> str:
    body = {"kind": "simulate", "request": {"data": "chips", "scenarios": [scenario or {"remove_countries": ["NLD"]}], "days": days}}
    answer = client.post("/api/workspaces/default/jobs", json=body, headers=_csrf(client))
    assert answer.status_code == 202, answer.text
    if run:
        assert run_worker(site.server, "test-worker", threading.Event(), max_jobs=1, poll_seconds=0.05) == 1
    return answer.json()["id"]


# ---- the state of the URL ---------------------------------------------------------------------------
def test_the_url_gives_the_state_and_the_request():
    state = parse_state({"remove": "nld, DEU", "cut": "TWN:30,KOR:0", "remove_bloc": "core", "variants": "all", "control": "allies:chn",
                         "policy": "p1", "remove_firm": "ASML"})  # fmt: skip
    assert state.remove == ("NLD", "DEU") and state.cut == (("TWN", 30.0),) and state.control == ("allies", "CHN")
    assert state.request() == {"variants": "all", "scenarios": [{"remove_countries": ["NLD", "DEU"], "remove_firms": ["ASML"], "remove_blocs": ["core"],
                                                                  "capacity": {"TWN": 0.7}, "export_control": {"denied_by": "allies", "target": "CHN"},
                                                                  "policies": ["p1"]}]}  # fmt: skip
    assert parse_state(state.query()) == state and "variants" not in state.query()  # the URL gives the state back; "all" is the default
    assert parse_state({"variants": "pool"}).query() == {"variants": "pool"}
    assert BuilderState().request() == {"scenarios": [{}], "variants": "all"} and BuilderState().is_empty()


def test_a_bad_parameter_is_named_and_dropped():
    state = parse_state({"cut": "TWN:130", "remove": "NLD", "variants": "some"})
    assert state.remove == ("NLD",) and state.cut == () and state.variants == "all"
    assert any(p.startswith("cut: 'TWN:130'") for p in state.problems) and any(p.startswith("variants:") for p in state.problems)


def test_a_saved_scenario_gives_the_state_and_the_url_overrides_it():
    saved = state_of_request({"variants": "all", "scenarios": [{"remove_countries": ["NLD"], "capacity": {"TWN": 0.75}}]})
    assert saved.remove == ("NLD",) and saved.cut == (("TWN", 25.0),) and saved.variants == "all"
    state = parse_state({"scenario": "abc", "remove": "KOR"}, saved)
    assert state.remove == ("KOR",) and state.cut == (("TWN", 25.0),) and state.scenario == "abc"


def test_the_view_follows_the_worst_output_back_to_the_cut():
    def row(node, available, output=False, binding=()):
        return {"node_id": node, "node_name": node, "output": output, "available": available, "binding": list(binding)}

    payload = {"scenarios": [{"summary": "remove NLD", "warnings": []}],
               "rows": [row("a", 0.2), row("b", 0.9, True, [{"node_id": "b", "node_name": "b", "available": 0.9}]),
                        row("c", 0.2, True, [{"node_id": "c", "node_name": "c", "available": 0.2},
                                             {"node_id": "a", "node_name": "a", "available": 0.2, "lost_providers": [{"provider_name": "ASML"}]}])]}  # fmt: skip
    view = scenario_view(payload, language("en"))
    assert view["availability"] == {"a": 0.2, "b": 0.9, "c": 0.2} and view["binding"] == ["c", "a"]
    assert [o["node_id"] for o in view["outputs"]] == ["b", "c"] and view["outputs"][1]["binding"][1]["lost"] == ["ASML"]
    assert scenario_view({"rows": [row("b", 1.0, True)]}, language("en"))["binding"] == []


# ---- the builder on the map page ------------------------------------------------------------------------
def test_the_builder_offers_the_maps_countries_blocs_cuts_and_firms(site):
    answer = site.client("admin").get(MAP)
    assert answer.status_code == 200
    page = Page(answer.text)
    assert page.by_id("scenario-builder") is not None
    countries = {a["value"] for t, a in page.tags if t == "input" and a.get("name") == "remove_country"}
    assert {"NLD", "TWN", "USA", "JPN", "KOR"} <= countries and all(len(c) == 3 for c in countries)
    assert {a["value"] for t, a in page.tags if a.get("name") == "remove_bloc"} == {"core", "allies"}
    sliders = [a for t, a in page.tags if t == "input" and a.get("type") == "range" and a.get("name") == "cut"]
    assert {a["data-country"] for a in sliders} == countries and all(a["min"] == "0" and a["max"] == "100" for a in sliders)
    assert any(a.get("name") == "remove_firm" and a.get("value") == "asml" for t, a in page.tags)
    for tag, attrs in page.tags:  # every control of the builder has a label
        mine = attrs.get("id", "").startswith(("remove-", "cut-", "control-", "variants", "sim-", "scenario-name"))
        if tag in ("input", "select") and attrs.get("type") != "hidden" and mine:
            assert any(t == "label" and a.get("for") == attrs["id"] for t, a in page.tags) or attrs.get("aria-label"), attrs
    assert page.by_id("save-scenario") and page.by_id("run-simulation") and page.by_id("sim-days")
    _no_inline_code(answer.text)


def test_the_empty_scenario_shows_every_output_at_100_percent_without_a_run(site):
    before = _runs(site)
    html = site.client("admin").get(MAP).text
    island = _island(html)
    assert island["request"] == {"scenarios": [{}], "variants": "all"} and set(island["view"]["availability"].values()) == {1.0}
    assert [r["data-node-id"] for r in _rows(Page(html), "scenario-outputs")] == ["finished_logic_chip"]
    assert _runs(site) == before


def test_removing_the_netherlands_leaves_almost_no_chip_with_the_binding_path_to_euv(site):
    html = site.client("admin").get(f"{MAP}?remove=NLD").text
    page = Page(html)
    assert page.by_id("remove-country-NLD").get("checked") is not None and page.by_id("remove-country-DEU").get("checked") is None
    island = _island(html)
    assert island["request"] == {"scenarios": [{"remove_countries": ["NLD"]}], "variants": "all"}
    view = island["view"]
    assert view["availability"]["euv_lithography_tools"] == 0.0 and view["availability"]["finished_logic_chip"] < 0.01
    assert view["binding"][0] == "finished_logic_chip" and view["binding"][-1] == "euv_lithography_tools"
    cells = [a for t, a in page.tags if t == "td" and "availability" in a.get("class", "")]
    assert len(cells) == 1 and float(cells[0]["data-value"]) < 0.01
    assert "ASML" in html and "EUV lithography tools" in html and "remove NLD" in html


def test_cuts_and_variants_come_from_the_url_and_a_bad_cut_is_shown(site):
    admin = site.client("admin")
    html = admin.get(f"{MAP}?cut=TWN:30&variants=pool").text
    assert Page(html).by_id("cut-TWN")["value"] == "30"
    assert _island(html)["request"] == {"scenarios": [{"capacity": {"TWN": 0.7}}], "variants": "pool"} and 'value="pool" selected' in html
    bad = admin.get(f"{MAP}?cut=TWN:abc")
    assert bad.status_code == 200 and "cut: &#39;TWN:ABC&#39; is not CODE:PERCENT" in bad.text
    unknown = admin.get(f"{MAP}?remove=XXZ")
    assert unknown.status_code == 200 and _island(unknown.text)["view"] is None and "XXZ" in unknown.text


def test_the_builder_in_japanese(site):
    html = site.client("admin").get(f"{MAP}?remove=NLD&lang=ja").text
    assert "国を除く" in html and "オランダ" in html and _island(html)["texts"]["saved"] == "保存しました："


def test_a_viewer_tries_scenarios_but_cannot_save_or_run_them(site):
    runs_before = site.server.list_runs(site.server.authenticate_token(site.server.create_token("admin")[1]), "default")["total"]
    html = site.client("vic").get(f"{MAP}?remove=SGP,ISR").text
    page = Page(html)
    assert all(page.by_id(i) is None for i in ("save-scenario", "run-simulation", "scenario-name", "sim-days"))
    assert not any(t == "fieldset" and "disabled" in a for t, a in page.tags)  # the controls work: a static answer changes nothing
    view = _island(html)["view"]
    assert view is not None and set(view["availability"]) >= {"finished_logic_chip"}
    admin = site.server.authenticate_token(site.server.create_token("admin")[1])
    assert site.server.list_runs(admin, "default")["total"] == runs_before  # a viewer's scenario is not recorded as a run


# ---- saved scenarios, the scenarios page and comparisons ----------------------------------------------------
@pytest.fixture(scope="module")
def saved(site):
    admin = site.client("admin")
    ids = {}
    for name, request in (("No Netherlands", {"scenarios": [{"remove_countries": ["NLD"]}]}),
                          ("Taiwan at 70%", {"scenarios": [{"capacity": {"TWN": 0.7}}]})):  # fmt: skip
        admin.post("/api/workspaces/default/datasets/chips/scenario", json=request, headers=_csrf(admin))  # as the builder runs it first
        answer = admin.post("/api/workspaces/default/scenarios", json={"name": name, "kind": "scenario", "request": request}, headers=_csrf(admin))
        assert answer.status_code == 201, answer.text
        ids[name] = answer.json()["id"]
    return ids


def test_opening_a_saved_scenario_fills_the_builder(site, saved):
    html = site.client("vic").get(f"{MAP}?scenario={saved['No Netherlands']}").text
    page = Page(html)
    assert page.by_id("remove-country-NLD").get("checked") is not None and "No Netherlands" in html
    assert _island(html)["saved"]["name"] == "No Netherlands" and _island(html)["view"]["binding"][-1] == "euv_lithography_tools"
    missing = site.client("admin").get(f"{MAP}?scenario=nope")
    assert missing.status_code == 200 and "scenario &#39;nope&#39; not found" in missing.text


def test_the_scenarios_page_lists_saved_scenarios_and_runs_with_compare_boxes(site, saved):
    job = _simulate(site, site.client("admin"), days=5)
    answer = site.client("admin").get("/w/default/scenarios")
    assert answer.status_code == 200
    page = Page(answer.text)
    boxes = {a["value"] for t, a in page.tags if t == "input" and a.get("name") == "compare"}
    assert {f"scenario:{i}" for i in saved.values()} <= boxes and any(b.startswith("run:") for b in boxes)
    assert page.by_id("compare") is not None and f'href="/w/default/d/chips/map?scenario={saved["No Netherlands"]}"' in answer.text
    assert f'href="/w/default/jobs/{job}"' in answer.text and "admin" in answer.text  # the author, known to an owner
    _no_inline_code(answer.text)
    assert site.client("vic").get("/w/default/scenarios").status_code == 200


def test_comparing_two_saved_scenarios_side_by_side(site, saved):
    items = f"scenario:{saved['No Netherlands']},scenario:{saved['Taiwan at 70%']}"
    for user in ("admin", "vic"):
        answer = site.client(user).get(f"/w/default/compare?items={items}")
        assert answer.status_code == 200, answer.text
        page = Page(answer.text)
        assert page.by_id("compare-outputs") is not None and page.by_id("compare-chart") is not None
        cells = [a for t, a in page.tags if t == "td" and a.get("data-value")]
        first, second = (float(c["data-value"]) for c in cells[:2])
        assert first < 0.01 < second < 1 and "pp" in answer.text
        assert json.loads(page.island("spec-compare-availability"))["data"]["values"]
    same_from_form = site.client("admin").get(f"/w/default/compare?compare=scenario:{saved['No Netherlands']}&compare=scenario:{saved['Taiwan at 70%']}")
    assert same_from_form.status_code == 200 and Page(same_from_form.text).by_id("compare-outputs") is not None


def test_a_comparison_needs_two_to_four_items(site, saved):
    for items in (f"scenario:{saved['No Netherlands']}", "thing:1,thing:2", ",".join(f"run:{i}" for i in range(5))):
        answer = site.client("admin").get(f"/w/default/compare?items={items}")
        assert answer.status_code == 422 and "items: give 2 to 4 items" in answer.text


def test_comparing_simulation_runs_overlays_production(site):
    admin = site.client("admin")
    jobs = [_simulate(site, admin, days=8, scenario=s) for s in ({"remove_countries": ["JPN"]}, {"capacity": {"TWN": 0.5}})]
    runs = {r["job"]: r["id"] for r in site.server.list_runs(site.server.authenticate_token(site.server.create_token("admin")[1]), "default")["items"]}
    answer = admin.get(f"/w/default/compare?items=run:{runs[jobs[0]]},run:{runs[jobs[1]]}")
    assert answer.status_code == 200
    spec = json.loads(Page(answer.text).island("spec-compare-production"))
    assert len({v["item"] for v in spec["data"]["values"]}) == 2 and "Lowest daily production" in answer.text


# ---- jobs ------------------------------------------------------------------------------------------------
def test_a_finished_simulation_shows_its_charts_and_losses(site):
    job = _simulate(site, site.client("admin"), days=12)
    for user in ("admin", "vic"):
        answer = site.client(user).get(f"/w/default/jobs/{job}")
        assert answer.status_code == 200
        page = Page(answer.text)
        assert page.by_id("job-state")["data-state"] == "done" and page.by_id("cancel-job") is None
        progress = page.by_id("job-progress")
        assert progress["value"] == progress["max"] == "12"
        for chart in ("chart-production", "chart-value-added", "chart-consumption"):
            assert page.by_id(chart)["data-spec"] == f"spec-{chart}"
        production = json.loads(page.island("spec-chart-production"))["data"]["values"]
        assert production[0] == {"day": -1, "percent": 100.0} and len(production) == 13 and min(p["percent"] for p in production) < 100
        assert page.by_id("losses-sector") is not None and page.by_id("losses-region") is not None
        assert "Bonding tools" in answer.text and "Lithography tools (its variants)" in answer.text  # sectors as node names
        assert ">Netherlands</th>" in answer.text  # regions as countries
    _no_inline_code(answer.text)


def test_a_queued_job_has_a_progress_bar_and_a_cancel_button_for_editors_only(site):
    job = _simulate(site, site.client("admin"), days=3, run=False)
    page = Page(site.client("admin").get(f"/w/default/jobs/{job}").text)
    assert page.by_id("job-state")["data-state"] == "queued" and page.by_id("cancel-job") is not None
    assert json.loads(page.island("job-data"))["urls"]["events"] == f"/api/jobs/{job}/events"
    assert Page(site.client("vic").get(f"/w/default/jobs/{job}").text).by_id("cancel-job") is None
    admin = site.client("admin")
    assert admin.delete(f"/api/jobs/{job}", headers=_csrf(admin)).status_code == 200
    assert Page(admin.get(f"/w/default/jobs/{job}").text).by_id("job-state")["data-state"] == "cancelled"


def test_the_job_page_in_japanese(site):
    job = _simulate(site, site.client("admin"), days=4)
    html = site.client("admin").get(f"/w/default/jobs/{job}?lang=ja").text
    assert "完了" in html and "部門別の損失" in html and "生産" in html


def test_a_run_page_shows_a_static_result_and_links_to_its_map(site):
    admin = site.client("admin")
    admin.get(f"{MAP}?remove=DEU")
    run = next(r for r in site.server.list_runs(site.server.authenticate_token(site.server.create_token("admin")[1]), "default")["items"]
               if r["use_case"] == "scenario" and r["request"]["scenarios"][0].get("remove_countries") == ["DEU"])  # fmt: skip
    page = Page(admin.get(f"/w/default/runs/{run['id']}").text)
    assert page.by_id("open-on-map")["href"] == "/w/default/d/chips/map?remove=DEU" and page.by_id("run-outputs") is not None


def test_outsiders_and_other_workspaces_get_not_found(site, saved):
    job = _simulate(site, site.client("admin"), days=2)
    olga = site.client("olga")
    for path in ("/w/default/scenarios", f"/w/default/jobs/{job}", f"/w/default/compare?items=scenario:{saved['No Netherlands']},scenario:x"):
        assert olga.get(path).status_code == 404, path
    assert site.client("admin").get(f"/w/other/jobs/{job}").status_code == 404
    assert site.client("admin").get("/w/default/jobs/no-such-job").status_code == 404
    assert site.client().get("/w/default/scenarios").status_code == 401


def test_a_saved_scenario_without_a_run_is_compared_on_the_dataset_asked_for(site, saved):
    admin = site.client("admin")
    request = {"scenarios": [{"remove_countries": ["CHN"]}]}
    answer = admin.post("/api/workspaces/default/scenarios", json={"name": "No China", "kind": "scenario", "request": request}, headers=_csrf(admin))
    new = answer.json()["id"]
    scenarios = admin.get("/w/default/scenarios").text
    assert f'href="/w/default/d/chips/map?scenario={new}"' in scenarios and f'href="/w/default/d/telecom-ran/map?scenario={new}"' in scenarios
    items = f"scenario:{new},scenario:{saved['Taiwan at 70%']}"
    page = Page(admin.get(f"/w/default/compare?items={items}&ds=chips").text)
    assert page.by_id("compare-ds") is not None
    assert len([a for t, a in page.tags if t == "td" and a.get("data-value")]) == 2  # both have the chip's availability


def test_what_a_scenario_does_is_said_in_the_pages_language(site):
    spec = ScenarioSpec.model_validate({"remove_countries": ["NLD"], "capacity": {"TWN": 0.7}, "export_control": {"denied_by": "core", "target": "CHN"}})
    assert scenario_text(spec, language("en")) == "remove NLD; TWN at 70%; core deny inputs to CHN"
    assert scenario_text(spec, language("ja")) == "NLD を除外；TWN の能力 70%；core が CHN への供給を禁止"
    assert scenario_text(ScenarioSpec(), language("ja")) == "変更なし"
    html = site.client("admin").get(f"{MAP}?remove=NLD&lang=ja").text
    assert Page(html).by_id("scenario-summary") is not None and "NLD を除外" in html and "remove NLD" not in html
    assert _island(html)["texts"]["describe"]["remove"] == "%(what)s を除外"  # scenario.js fills the same patterns


def test_a_rule_label_near_the_right_edge_is_drawn_inside_the_chart():
    from coreatlas.web.scenario_pages import line_spec

    rows = [{"day": d, "v": 1.0} for d in range(-1, 60)]
    late = line_spec(rows, "v", "t", "y", rule=(52, "recovery day"))["layer"][2]["mark"]
    early = line_spec(rows, "v", "t", "y", rule=(5, "recovery day"))["layer"][2]["mark"]
    assert (late["align"], late["dx"]) == ("right", -3) and (early["align"], early["dx"]) == ("left", 3)
