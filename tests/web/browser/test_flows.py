"""The flows of issue 14's acceptance list, in Debian's Chromium, each step screenshotted under
test-artifacts/web/<test>/:

1. a user of organisation A signs in, opens the ETO map, colours it by the allies' share, opens EUV
   lithography tools, removes the Netherlands, sees the finished chip fall to 0% with the binding
   path highlighted, saves the scenario, runs a 60-day simulation job and sees its chart, and
   comments on a node (in English, and again in Japanese);
2. a user of organisation B (viewer) opens A's shared link, sees the same view and the comment, and
   cannot edit; a user of organisation C gets "not found".

The pages are driven through the DOM contract of docs/web.md (ids and data attributes), with
Playwright's auto-waiting; nothing here measures time. An action a later step needs fails the test
at once; a check the next steps do not need is recorded (``Checks``) and the flow goes on, so one
run names every missing piece; the test then fails with all of them.
"""

from __future__ import annotations

import math
import re
import uuid

import pytest
from browser_support import (
    CHIP,
    DATASET,
    EUV,
    JOB_WAIT_MS,
    WAIT_MS,
    WORKSPACE,
    Checks,
    Shots,
    api_from_page,
    binding_elements,
    chart_drawn,
    guard_context,
    japanese_glyphs,
    node_data,
    node_name_on_page,
    node_values,
    sign_in_form,
    wait_map_ready,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

MAP = f"/w/{WORKSPACE}/d/{DATASET}/map"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ZERO = re.compile(r"^0(\.0*)?(e[+-]?\d+)?$")


class Flow:
    """One user's page, its screenshots and its recorded checks."""

    def __init__(self, page, shots: Shots, base: str):
        self.page, self.shots, self.base, self.checks = page, shots, base, Checks()

    def api_get(self, path: str) -> dict:
        answer = self.page.request.get(self.base + path)
        assert answer.status == 200, f"GET {path}: {answer.status} {answer.text()[:300]}"
        return answer.json()

    def soft(self, what: str, check) -> bool:
        return self.checks.soft(what, check)


def assert_values_are(shown: dict, expected: dict, what: str) -> None:
    """The map's node values equal the API's, as fractions or as percentages (one rule for all)."""
    keys = [k for k, v in expected.items() if v is not None]
    missing = [k for k in keys if shown.get(k) is None]
    assert keys and not missing, f"{what}: nodes without a data value: {missing[:10]}"
    pairs = [(float(shown[k]), expected[k]) for k in keys]
    as_fraction = all(math.isclose(s, v, abs_tol=1e-6) for s, v in pairs)
    as_percent = all(math.isclose(s, 100 * v, abs_tol=1e-4) for s, v in pairs)
    assert as_fraction or as_percent, (
        f"{what}: the map's values differ from the API's: {[p for p in pairs if not math.isclose(*p, abs_tol=1e-6)][:8]}"
    )


def choose(page, selector: str, value: str) -> None:
    select = page.locator(selector)
    select.select_option(value)
    expect(select).to_have_value(value)


def open_workspace_and_map(flow: Flow, lang: str) -> None:
    page = flow.page
    expect(page.locator(f'a[href="/w/{WORKSPACE}"]').first).to_be_visible()
    flow.shots.take("workspaces")
    page.locator(f'a[href="/w/{WORKSPACE}"]').first.click()
    expect(page.locator(f'a[href="{MAP}"]').first).to_be_visible()
    for link in (f"/w/{WORKSPACE}/scenarios", f"/w/{WORKSPACE}/activity", f"/w/{WORKSPACE}/d/{DATASET}/risk"):
        flow.soft(
            f"workspace page: a link to {link}",
            lambda link=link: expect(page.locator(f'a[href="{link}"]').first).to_be_attached(timeout=WAIT_MS),
        )
    flow.shots.take("workspace")
    page.locator(f'a[href="{MAP}"]').first.click()
    wait_map_ready(page)
    flow.soft("map page: html lang", lambda: expect(page.locator("html")).to_have_attribute("lang", lang))
    flow.shots.take("map")


def colour_by_allies(flow: Flow) -> None:
    page = flow.page
    choose(page, "#measure", "bloc_share")
    choose(page, "#bloc", "allies")
    expected = {
        r["node_id"]: r["bloc_share"] for r in flow.api_get(f"/api/workspaces/{WORKSPACE}/datasets/{DATASET}/exposure?bloc=allies")["rows"]
    }

    def coloured():
        # the repaint after choosing the bloc comes from a fetch: wait for EUV tools to show the allies'
        # share (the core's is 0 there: the Netherlands are an ally, not a core partner), then compare all
        page.wait_for_function(f"() => Math.abs(window.coreatlas.map.getElementById('{EUV}').data('value') - {expected[EUV]!r}) < 1e-9",
                               timeout=WAIT_MS)  # fmt: skip
        assert_values_are(node_values(page), expected, "allies' share")

    flow.soft("map: nodes coloured by the allies' share (cy data value = the API's bloc_share)", coloured)
    flow.soft("map: #map-legend visible", lambda: expect(page.locator("#map-legend")).to_be_visible())
    flow.soft(
        "map: measure and bloc in the URL",
        lambda: page.wait_for_function(
            "() => ['measure=bloc_share', 'bloc=allies'].every(s => location.search.includes(s))", timeout=WAIT_MS
        ),
    )
    flow.shots.take("allies-share")


def open_node(flow: Flow, node_id: str) -> str:
    page = flow.page
    name = node_name_on_page(page, node_id)
    assert name, f"node {node_id} is not on the map"
    page.locator("#node-search").fill(name)
    page.locator("#node-search").press("Enter")
    expect(page.locator("#panel-body")).to_have_attribute("data-node-id", node_id, timeout=WAIT_MS)
    flow.soft("panel: #panel-name is the node's name", lambda: expect(page.locator("#panel-name")).to_have_text(name))
    flow.soft("panel: #country-shares chart drawn", lambda: chart_drawn(page, "#country-shares"))
    flow.soft("panel: #company-shares chart drawn", lambda: chart_drawn(page, "#company-shares"))
    flow.soft("map: node in the URL", lambda: page.wait_for_function(f"() => location.search.includes('node={node_id}')", timeout=WAIT_MS))
    flow.shots.take("panel-euv")
    return name


def remove_netherlands(flow: Flow) -> None:
    page = flow.page
    box = page.locator('#scenario-builder input[name="remove_country"][value="NLD"]')
    box.scroll_into_view_if_needed()
    box.check()
    cell = page.locator(f'#scenario-outputs tr[data-node-id="{CHIP}"] td.availability')
    flow.soft(
        "scenario: the finished chip's availability in #scenario-outputs is 0",
        lambda: expect(cell).to_have_attribute("data-value", ZERO, timeout=WAIT_MS),
    )
    flow.soft("map: switched to the availability measure", lambda: expect(page.locator("#measure")).to_have_value("availability"))

    def chip_at_zero():
        page.wait_for_function(f"() => window.coreatlas.map.getElementById('{CHIP}').hasClass('binding')", timeout=WAIT_MS)
        chip = node_data(page, CHIP)
        assert chip["value"] == 0, f"the finished chip's map value is {chip['value']!r}, not 0"
        assert re.match(r"^0([.,]0+)?\s?%$", str(chip.get("label_value", ""))), (
            f"the finished chip is labelled {chip.get('label_value')!r}, not 0%"
        )
        path = binding_elements(page)
        assert {CHIP, EUV} <= set(path["nodes"]), f"binding path nodes: {path['nodes']}"
        assert path["edges"], "no edge of the binding path has class 'binding'"

    flow.soft("map: the finished chip at 0% with the binding path (class 'binding') from EUV tools", chip_at_zero)
    flow.soft(
        "scenario: remove=NLD in the URL", lambda: page.wait_for_function("() => location.search.includes('remove=NLD')", timeout=WAIT_MS)
    )
    page.locator("#map").scroll_into_view_if_needed()
    flow.shots.take("no-netherlands-map", full_page=False)
    flow.shots.take("no-netherlands-page")


def save_scenario(flow: Flow, name: str) -> None:
    page = flow.page
    page.locator("#scenario-name").fill(name)
    page.locator("#save-scenario").click()
    flow.soft("scenario: #scenario-saved confirmation", lambda: expect(page.locator("#scenario-saved")).to_be_visible(timeout=WAIT_MS))
    saved = flow.api_get(f"/api/workspaces/{WORKSPACE}/scenarios?limit=500")["items"]
    mine = [s for s in saved if s["name"] == name]
    assert mine, f"scenario {name!r} is not in the API's list"
    flow.soft("scenario: the saved request removes NLD", lambda: _removes_nld(mine[0]["request"]))
    flow.shots.take("scenario-saved")


def _removes_nld(request: dict) -> None:
    assert [s.get("remove_countries") for s in request.get("scenarios", [])] == [["NLD"]], request


def run_simulation(flow: Flow, days: int = 60) -> str:
    page = flow.page
    page.locator("#sim-days").fill(str(days))
    page.locator("#run-simulation").click()
    page.wait_for_url(re.compile(rf"/w/{WORKSPACE}/jobs/[^/?#]+"), timeout=WAIT_MS)
    job_id = re.search(r"/jobs/([^/?#]+)", page.url).group(1)
    flow.soft("job page: progress#job-progress", lambda: expect(page.locator("progress#job-progress")).to_be_attached())
    flow.shots.take("job-submitted")
    expect(page.locator("#job-state")).to_be_attached(timeout=WAIT_MS)
    expect(page.locator("#job-state")).to_have_attribute("data-state", re.compile("^(done|failed|cancelled)$"), timeout=JOB_WAIT_MS)
    expect(page.locator("#job-state")).to_have_attribute("data-state", "done", timeout=1_000)
    job = flow.api_get(f"/api/jobs/{job_id}")
    assert job["kind"] == "simulate" and job["state"] == "succeeded", job
    flow.soft("job: 60 days of the scenario without NLD", lambda: (_removes_nld(job["request"]), _days(job["request"], days)))
    chart_drawn(page, "#chart-production")
    for part in ("#chart-value-added", "#chart-consumption", "#losses-sector", "#losses-region"):
        flow.soft(f"job page: {part}", lambda part=part: expect(page.locator(part)).to_be_attached())
    flow.soft("job page: no #cancel-job once done", lambda: expect(page.locator("#cancel-job")).to_have_count(0))
    flow.shots.take("job-done")
    return job_id


def _days(request: dict, days: int) -> None:
    assert request.get("days") == days, request


def comment_on_node(flow: Flow, node_id: str, text: str) -> None:
    page = flow.page
    expect(page.locator("#panel-body")).to_have_attribute("data-node-id", node_id, timeout=WAIT_MS)
    page.locator("#comment-body").fill(text)
    page.locator("#comment-submit").click()
    expect(page.locator("#comments li.comment", has_text=text)).to_be_visible(timeout=WAIT_MS)
    listed = flow.api_get(f"/api/workspaces/{WORKSPACE}/comments?target_kind=node&target_id={node_id}&limit=500")
    assert text in [c["body"] for c in listed["items"]]
    flow.shots.take("commented")


def analyst_flow(flow: Flow, user: str, lang: str) -> None:
    """Flow 1 for ``user`` of organisation A, the page in ``lang`` (the browser's language)."""
    page = flow.page
    page.goto(flow.base + "/")
    expect(page.locator("form#sign-in")).to_be_visible()
    flow.soft("sign-in page: html lang", lambda: expect(page.locator("html")).to_have_attribute("lang", lang))
    flow.shots.take("sign-in")
    sign_in_form(page, user)
    open_workspace_and_map(flow, lang)
    colour_by_allies(flow)
    open_node(flow, EUV)
    remove_netherlands(flow)
    save_scenario(flow, f"No Netherlands ({lang}) {uuid.uuid4().hex[:6]}")
    map_url = page.url
    run_simulation(flow)
    page.goto(map_url)  # the link reproduces the view: the scenario and the node come back from the URL
    wait_map_ready(page)
    flow.soft(
        "map from its URL: the scenario's outputs again (finished chip 0)",
        lambda: expect(page.locator(f'#scenario-outputs tr[data-node-id="{CHIP}"] td.availability')).to_have_attribute(
            "data-value", ZERO, timeout=WAIT_MS
        ),
    )
    flow.shots.take("map-from-url")
    text = (
        f"EUV露光装置の代替調達先は？ ({uuid.uuid4().hex[:6]})" if lang == "ja" else f"Who else could make these? ({uuid.uuid4().hex[:6]})"
    )
    comment_on_node(flow, EUV, text)


def test_flow_analyst_english(live, contexts, request):
    context, _ = contexts("en-GB")
    page = context.new_page()
    flow = Flow(page, Shots(page, request.node.name), live.base)
    analyst_flow(flow, "ana", "en")
    flow.checks.verify()


def test_flow_analyst_japanese(live, contexts, request):
    context, _ = contexts("ja-JP")
    page = context.new_page()
    flow = Flow(page, Shots(page, request.node.name), live.base)
    analyst_flow(flow, "hiro", "ja")
    # Japanese text on the page, drawn with real glyphs (a Noto CJK font), not tofu boxes
    heading = page.locator("h1").first.inner_text()
    assert JAPANESE.search(heading), f"the map's heading is not Japanese: {heading!r}"
    flow.soft("panel: the node's name in Japanese", lambda: _japanese(page.locator("#panel-name").inner_text()))
    glyphs = japanese_glyphs(page, "h1")
    assert glyphs["chars"] and glyphs["tofu"] == 0 and glyphs["blank"] == 0 and glyphs["distinct"] == len(glyphs["chars"]), glyphs
    page.evaluate("() => window.scrollTo(0, 0)")
    flow.shots.take("japanese-rendered", full_page=False)
    flow.checks.verify()


def _japanese(text: str) -> None:
    assert JAPANESE.search(text), f"not Japanese: {text!r}"


# ---- flow 2: B (viewer) opens A's link; C gets "not found" ----------------------------------
VIEW_STATE = """() => ({measure: document.getElementById("measure") && document.getElementById("measure").value,
                        bloc: document.getElementById("bloc") && document.getElementById("bloc").value,
                        node: document.getElementById("panel-body") && document.getElementById("panel-body").dataset.nodeId,
                        name: document.getElementById("panel-name") && document.getElementById("panel-name").textContent.trim(),
                        binding: window.coreatlas.map.nodes(".binding").map(n => n.id()).sort(),
                        values: Object.fromEntries(window.coreatlas.map.nodes().filter(n => !n.hasClass("stage"))
                                                   .map(n => [n.id(), n.data("value") === undefined ? null : n.data("value")]))})"""
EDITING = ("#comment-submit", "#comment-body", "#save-scenario", "#scenario-name", "#run-simulation", "#sim-days")


def owner_shares_a_view(live, contexts, comment: str) -> tuple[str, dict, Checks]:
    """A (ana) comments on EUV tools (API), opens the view by its URL and signs in: the link and what A sees."""
    with live.api() as api:
        answer = api.post(f"/api/workspaces/{WORKSPACE}/comments", json={"target_kind": "node", "target_id": EUV, "body": comment})
        assert answer.status_code == 201, answer.text
    context, _ = contexts("en-GB")
    page = context.new_page()
    flow = Flow(page, Shots(page, "test_flow_viewer_and_outsider-owner"), live.base)
    page.goto(live.url(f"{MAP}?measure=bloc_share&bloc=allies&node={EUV}&remove=NLD"))
    sign_in_form(page, "ana")
    wait_map_ready(page)
    flow.soft(
        "owner: the scenario from the URL (finished chip 0)",
        lambda: expect(page.locator(f'#scenario-outputs tr[data-node-id="{CHIP}"] td.availability')).to_have_attribute(
            "data-value", ZERO, timeout=WAIT_MS
        ),
    )
    flow.soft("owner: the comment in #comments", lambda: expect(page.locator("#comments li.comment", has_text=comment)).to_be_visible())
    flow.shots.take("owner-view")
    return page.url, page.evaluate(VIEW_STATE), flow.checks


def test_flow_viewer_and_outsider(live, contexts, request):
    comment = f"Flow 2: is there a second EUV source? ({uuid.uuid4().hex[:6]})"
    link, owner_view, checks = owner_shares_a_view(live, contexts, comment)
    assert link.startswith(live.url(MAP)) and f"node={EUV}" in link, link

    context, _ = contexts("en-GB")
    page = context.new_page()
    flow = Flow(page, Shots(page, request.node.name), live.base)
    flow.checks = checks
    first = page.goto(link)
    flow.soft("viewer: a shared link opens on the sign-in form (401) at its own URL", lambda: _status(first.status, 401))
    flow.shots.take("viewer-sign-in")
    sign_in_form(page, "kenji")
    wait_map_ready(page)
    flow.soft("viewer: the comment", lambda: expect(page.locator("#comments li.comment", has_text=comment)).to_be_visible(timeout=WAIT_MS))
    flow.soft(
        "viewer: the binding path",
        lambda: page.wait_for_function(f"() => window.coreatlas.map.getElementById('{CHIP}').hasClass('binding')", timeout=WAIT_MS),
    )
    flow.soft(
        "viewer: the same view as the owner (measure, bloc, node, binding path, node values)",
        lambda: _same(page.evaluate(VIEW_STATE), owner_view),
    )
    flow.shots.take("viewer-view")
    for control in EDITING:
        flow.soft(f"viewer: no {control}", lambda control=control: expect(page.locator(control)).to_have_count(0))
    refused = api_from_page(
        page, "POST", f"/api/workspaces/{WORKSPACE}/comments", {"target_kind": "node", "target_id": EUV, "body": "viewer"}
    )
    assert refused["status"] == 403, refused
    refused = api_from_page(page, "POST", f"/api/workspaces/{WORKSPACE}/scenarios",
                            {"name": "viewer's", "kind": "scenario", "request": {"scenarios": [{"remove_countries": ["NLD"]}]}})  # fmt: skip
    assert refused["status"] == 403, refused

    context, _ = contexts("en-GB")
    page = context.new_page()
    flow.page, flow.shots = page, Shots(page, request.node.name + "-outsider")
    page.goto(link)
    sign_in_form(page, "otto")
    expect(page.locator("h1")).to_have_text(re.compile("not found", re.I))
    assert page.evaluate("() => performance.getEntriesByType('navigation')[0].responseStatus") == 404
    assert page.locator("#map").count() == 0 and comment not in page.content()
    hidden = api_from_page(page, "GET", f"/api/workspaces/{WORKSPACE}/comments")
    assert hidden["status"] == 404, hidden
    flow.shots.take("outsider-not-found")
    flow.checks.verify()


def _status(got: int, wanted: int) -> None:
    assert got == wanted, f"HTTP {got}, not {wanted}"


def _same(seen: dict, owner: dict) -> None:
    differ = {k: (seen.get(k), owner.get(k)) for k in owner if k != "values" and seen.get(k) != owner.get(k)}
    values = {k for k in owner["values"] if seen["values"].get(k) != owner["values"][k]}
    assert not differ and not values, f"differs: {differ}; node values differ at {sorted(values)[:10]}"


def test_guard_blocks_other_hosts(browser, live):
    """The guard every test's context has aborts a request beyond 127.0.0.1 and counts it (a
    navigation: a page's own fetch to another host is already refused by its CSP)."""
    context = browser.new_context()
    guard = guard_context(context, live)
    try:
        page = context.new_page()
        assert page.goto(live.url("/")).status == 401  # 127.0.0.1 goes through
        with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
            page.goto("https://cdn.example.org/lib.js")
    finally:
        context.close()
    assert guard.blocked == ["https://cdn.example.org/lib.js"], guard.blocked
