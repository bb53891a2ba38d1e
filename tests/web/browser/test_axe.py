"""axe-core (vendored for the tests in tests/web/vendor/axe-core) on every page, in English and
Japanese: no serious or critical violation (WCAG 2.x A/AA rules and axe's best practices).

How axe gets into a page under its CSP (``script-src 'self'``, no inline script): the test routes
one URL of the live server's own origin (``AXE_PATH``) to the vendored file, in the browser, and
adds a ``<script src>`` for it. The page is audited under its real CSP: a context with
``bypass_csp=True`` would also let the page's own inline code run, so it would audit a page the
users never get (and hide CSP breakage). The server never serves axe-core.

Each audit's full result is saved as test-artifacts/web/axe/<page>-<lang>.json beside a screenshot.
"""

from __future__ import annotations

import contextlib
import time

import httpx
import pytest
from browser_support import (
    ARTIFACTS,
    DATASET,
    EUV,
    WORKSPACE,
    describe_violations,
    run_axe,
    save_json,
    serious,
    serve_axe,
    sign_in_api,
    wait_map_ready,
)
from playwright.sync_api import Error as PlaywrightError

PAGES = ("sign-in", "workspaces", "workspace", "map", "scenarios", "compare", "job", "risk", "activity", "error")
LOCALES = {"en": "en-GB", "ja": "ja-JP"}


def wait_job(api: httpx.Client, job_id: str, seconds: float = 900) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(1)


@pytest.fixture(scope="module")
def objects(live) -> dict:
    """Two saved scenarios, a finished 60-day simulation job and a comment, made by A through the API."""
    ws = f"/api/workspaces/{WORKSPACE}"
    with live.api() as api:
        ids = {}
        for key, removed in (("scenario_a", ["NLD"]), ("scenario_b", ["JPN"])):
            answer = api.post(f"{ws}/scenarios", json={"name": f"without {removed[0]}", "kind": "scenario",
                                                      "request": {"scenarios": [{"remove_countries": removed}]}})  # fmt: skip
            assert answer.status_code == 201, answer.text
            ids[key] = answer.json()["id"]
        answer = api.post(f"{ws}/jobs", json={"kind": "simulate", "request": {"data": DATASET, "days": 60,
                                                                             "scenarios": [{"remove_countries": ["NLD"]}]}})  # fmt: skip
        assert answer.status_code == 202, answer.text
        ids["job"] = answer.json()["id"]
        assert api.post(f"{ws}/comments", json={"target_kind": "node", "target_id": EUV, "body": "axe: a comment"}).status_code == 201
        job = wait_job(api, ids["job"])
        assert job["state"] == "succeeded", job
    return ids


def page_url(name: str, ids: dict) -> str:
    return {
        "sign-in": "/",
        "workspaces": "/",
        "workspace": f"/w/{WORKSPACE}",
        "map": f"/w/{WORKSPACE}/d/{DATASET}/map?node={EUV}",
        "scenarios": f"/w/{WORKSPACE}/scenarios",
        "compare": f"/w/{WORKSPACE}/compare?items=scenario:{ids['scenario_a']},scenario:{ids['scenario_b']}",
        "job": f"/w/{WORKSPACE}/jobs/{ids['job']}",
        "risk": f"/w/{WORKSPACE}/d/{DATASET}/risk",
        "activity": f"/w/{WORKSPACE}/activity",
        "error": "/w/no-such-workspace",
    }[name]


def settle(page, name: str) -> None:
    """Let the page finish drawing (the map, its panel, the charts) before the audit; a page that
    never gets there is audited as it stands (drawing is the flows' business, not axe's)."""
    with contextlib.suppress(PlaywrightError):
        page.wait_for_load_state("networkidle", timeout=60_000)
    if name == "map":
        with contextlib.suppress(PlaywrightError):
            wait_map_ready(page)
            page.wait_for_selector("#panel-body[data-node-id]", timeout=30_000)
    with contextlib.suppress(PlaywrightError):
        page.wait_for_function("() => Array.from(document.querySelectorAll('.chart')).every(c => c.querySelector('svg, canvas'))",
                               timeout=30_000)  # fmt: skip


@pytest.mark.parametrize("lang", sorted(LOCALES))
@pytest.mark.parametrize("name", PAGES)
def test_no_serious_axe_violation(live, contexts, objects, name, lang):
    context, _ = contexts(LOCALES[lang])
    if name != "sign-in":
        sign_in_api(context, live, "ana")
    page = context.new_page()
    serve_axe(page, live)
    answer = page.goto(live.url(page_url(name, objects)))
    expected = {"sign-in": 401, "error": 404}.get(name, 200)
    assert answer.status == expected, f"{name}: HTTP {answer.status}; the server's log ends:\n{live.log_tail()}"
    assert page.locator("html").get_attribute("lang") == lang
    settle(page, name)
    results = run_axe(page, live)
    stem = ARTIFACTS / "axe" / f"{name}-{lang}"
    save_json(stem.with_suffix(".json"), {"url": page.url, "rules_passed": len(results["passes"]), "violations": results["violations"]})
    page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
    bad = serious(results)
    assert not bad, f"axe on the {name} page ({lang}):\n{describe_violations(bad)}"


def test_axe_finds_a_planted_violation(live, contexts):
    """The audit can fail: an unlabelled input planted in the sign-in page is a critical violation."""
    context, _ = contexts("en-GB")
    page = context.new_page()
    serve_axe(page, live)
    page.goto(live.url("/"))
    page.evaluate(
        """() => { const input = document.createElement("input"); input.id = "planted"; document.querySelector("main").append(input); }"""
    )
    found = serious(run_axe(page, live))
    assert any(v["id"] == "label" and any("#planted" in n["target"] for n in v["nodes"]) for v in found), describe_violations(found)
