"""The risk and planning page (``/w/{ws}/d/{ds}/risk``) and the risk jobs' results, as HTML
(no browser): the concentration ranking sorted as its URL says, the job forms for editors only,
the Open RAN comparison and the third-country view from the telecom map, and the results of
finished rank, Monte Carlo and investment jobs (on this page and through the job page's hook)."""

from __future__ import annotations

import json
import threading

import pytest
from web_support import Page

from coreatlas.services.server import run_worker
from coreatlas.web import risk_pages
from coreatlas.web.i18n import language

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
RISK = "/w/default/d/chips/risk"
TELECOM = "/w/default/d/telecom-ran/risk"
EDITING = ("run-montecarlo", "run-invest", "run-rank", "mc-years", "budget")


def _values(page: Page, table: str, column: int) -> list[str]:
    """``data-value`` of one column of a table's body, in page order (a crude reader: cells in tag order)."""
    rows, current, inside = [], None, False
    for tag, attrs in page.tags:
        if tag == "table":
            inside = attrs.get("id") == table
        elif inside and tag == "tr" and "data-node-id" in attrs:
            current = []
            rows.append(current)
        elif inside and current is not None and tag in ("td", "th") and "data-value" in attrs:
            current.append(attrs["data-value"])
    return [r[column] for r in rows]


def _run_jobs(site, count: int) -> None:
    assert run_worker(site.server, "test-worker", threading.Event(), poll_seconds=0.01, max_jobs=count) == count


# ---- the page, its roles -----------------------------------------------------------------------
def test_the_owner_sees_the_ranking_the_forms_and_the_telecom_sections(site):
    answer = site.client("admin").get(RISK)
    assert answer.status_code == 200
    page = Page(answer.text)
    for id_ in ("ranking", "openran", "third-country", "montecarlo-form", "invest-form", "hazards", "measures", *EDITING):
        assert page.by_id(id_) is not None, id_
    island = json.loads(page.island("risk-data"))
    assert island["ws"] == "default" and island["ds"] == "chips" and island["can_edit"] is True
    assert island["sort"] == "top_share" and island["order"] == "desc"
    assert {"ascending", "descending", "failed"} <= island["texts"].keys()
    assert 'href="/w/default/d/chips/map?node=euv_lithography_tools"' in answer.text


def test_the_ranking_is_sorted_as_the_url_says_with_missing_values_last(site):
    client = site.client("admin")
    page = Page(client.get(RISK).text)
    shares = _values(page, "ranking", 3)
    known = [float(v) for v in shares if v]
    assert known == sorted(known, reverse=True) and known[0] == 1.0
    assert shares.index("") == len(known)  # nodes without share data come last
    sorted_th = [a for t, a in page.tags if t == "th" and "aria-sort" in a]
    assert [(a["data-key"], a["aria-sort"]) for a in sorted_th] == [("top_share", "descending")]
    page = Page(client.get(f"{RISK}?sort=hhi&order=asc").text)
    hhi = [float(v) for v in _values(page, "ranking", 4) if v]
    assert hhi == sorted(hhi)
    assert [(a["data-key"], a["aria-sort"]) for t, a in page.tags if t == "th" and "aria-sort" in a] == [("hhi", "ascending")]
    buttons = [a for t, a in page.tags if t == "button" and a.get("data-type") in ("text", "number")]
    assert len(buttons) >= 8  # every ranking column heading is a sort button


def test_a_viewer_sees_the_results_but_no_editing_control(site):
    answer = site.client("vic").get(RISK)
    assert answer.status_code == 200
    page = Page(answer.text)
    assert page.by_id("ranking") is not None and page.by_id("openran") is not None
    for id_ in (*EDITING, "montecarlo-form", "invest-form"):
        assert page.by_id(id_) is None, id_
    assert json.loads(page.island("risk-data"))["can_edit"] is False


def test_outsiders_get_not_found_and_strangers_the_sign_in_form(site):
    assert site.client("olga").get(RISK).status_code == 404
    assert site.client("admin").get("/w/default/d/no-such-map/risk").status_code == 404
    assert site.client().get(RISK).status_code == 401


def test_the_page_in_japanese(site):
    text = site.client("admin").get(f"{RISK}?lang=ja").text
    assert "リスクと計画" in text and "集中度ランキング" in text and "Concentration ranking" not in text
    assert 'href="/w/default/d/chips/map?node=euv_lithography_tools&amp;lang=ja"' in text


def test_no_inline_code_and_resources_are_static(site):
    for path in (RISK, TELECOM):
        page = Page(site.client("admin").get(path).text)
        for attrs, body in page.scripts:
            assert (attrs.get("src", "").startswith("/static/") and not body.strip()) or attrs.get("type") == "application/json", attrs
        assert not page.attributes("style") and not [t for t, _ in page.tags if t == "style"]
        assert not [(t, n) for t, a in page.tags for n in a if n.startswith("on")]
        for tag, attrs in page.tags:
            if tag == "input" and attrs.get("type") != "hidden":  # every control is labelled
                assert attrs.get("aria-label") or any(t == "label" and a.get("for") == attrs.get("id") for t, a in page.tags), attrs


# ---- Open RAN and third countries ----------------------------------------------------------------
def test_open_ran_and_third_countries_come_from_the_telecom_map_with_sources(site):
    text = site.client("admin").get(TELECOM).text
    page = Page(text)
    assert page.by_id("openran-table") is not None and "FCC Covered List" in text
    assert page.by_id("third-country-exposure") is not None and page.by_id("commitments") is not None
    assert "DEU" in text and "59%" in text  # Germany's installed base of Chinese vendors (strand_germany_2022)
    assert "split unknown" in text  # the UK policy excludes Huawei only, the German record names Huawei and ZTE
    links = [a["href"] for t, a in page.tags if t == "a" and "external" in a.get("rel", "")]
    assert any("germany-ups-reliance-on-huawei" in h for h in links) and all(h.startswith("http") for h in links)
    chips = site.client("admin").get(RISK).text  # chips has no pair: the telecom map's, named as such
    assert 'href="/w/default/d/telecom-ran/risk"' in chips and 'id="openran-table"' in chips


# ---- defaults of the forms ---------------------------------------------------------------------------
def test_sorted_rows_put_missing_values_last_in_both_orders():
    rows = [{"k": 2.0}, {"k": None}, {"k": 1.0}, {"k": 3.0}]
    assert [r["k"] for r in risk_pages.sorted_rows(rows, "k", "asc")] == [1.0, 2.0, 3.0, None]
    assert [r["k"] for r in risk_pages.sorted_rows(rows, "k", "desc")] == [3.0, 2.0, 1.0, None]


def test_default_hazards_strike_the_countries_leading_most_nodes():
    rows = [{"top_country": "TWN", "top_country_share": 0.9}, {"top_country": "TWN", "top_country_share": 0.6},
            {"top_country": "NLD", "top_country_share": 1.0}, {"top_country": None, "top_country_share": None}]  # fmt: skip
    hazards = risk_pages.default_hazards(rows)
    assert [h["targets"] for h in hazards] == ["TWN", "NLD"]


def test_the_default_requests_are_accepted_as_jobs(site):
    """What the forms send by default (risk.js turns the rows into this) is a valid request."""
    page = site.client("admin").get(RISK).text
    hazards = [{"name": h["name"], "targets": [h["targets"]], "annual_probability": h["annual_probability"],
                "duration_days": {"uniform": [h["duration_low"], h["duration_high"]]}, "depth": {"uniform": [h["depth_low"], h["depth_high"]]}}
               for h in risk_pages.default_hazards(site.server.run_static(_admin(site), "default", "chips", "exposure", {})["rows"])]  # fmt: skip
    measures = [json.loads(attrs["data-measure"]) for tag, attrs in Page(page).tags if tag == "tr" and "data-measure" in attrs]
    assert hazards and measures and {m["kind"] for m in measures} == {"second_source", "stockpile"}
    from coreatlas import services

    services.parse_request(services.use_case_of("montecarlo").request, {"data": "chips", "hazards": hazards, "years": 100})
    services.parse_request(
        services.use_case_of("invest").request, {"data": "chips", "hazards": hazards, "measures": measures, "budget": 1e9}
    )


def _admin(site):
    return site.server.login_password("admin", "a long test passphrase")


# ---- finished jobs on the page and on the job page ---------------------------------------------------
@pytest.fixture(scope="module")
def risk_jobs(site):
    admin = _admin(site)
    hazards = [{"name": "taiwan", "targets": ["TWN"], "annual_probability": 0.05, "duration_days": {"uniform": [30, 90]}, "depth": 0.5},
               {"name": "netherlands", "targets": ["NLD"], "annual_probability": 0.03, "duration_days": 60, "depth": 1.0}]  # fmt: skip
    measures = [{"id": "euv-second-source", "kind": "second_source", "node": "euv_lithography_tools", "country": "USA", "added_share": 0.2,
                 "cost_usd": 2e9},
                {"id": "resist-reserve", "kind": "stockpile", "node": "photoresists", "days": 60, "cost_usd": 0.5e9}]  # fmt: skip
    mc = site.server.submit_job(admin, "default", "montecarlo", {"data": "chips", "hazards": hazards, "years": 3000, "seed": 3})
    invest = site.server.submit_job(admin, "default", "invest", {"data": "chips", "hazards": hazards, "measures": measures, "budget": 2e9,
                                                                 "years": 500})  # fmt: skip
    _run_jobs(site, 2)
    return {"montecarlo": mc, "invest": invest}


def test_the_latest_monte_carlo_run_shows_its_histogram_and_exceedance_curve(site, risk_jobs):
    text = site.client("vic").get(RISK).text
    page = Page(text)
    assert page.by_id("chart-histogram")["data-spec"] == "spec-histogram" and page.by_id("chart-exceedance") is not None
    histogram = json.loads(page.island("spec-histogram"))
    result = site.server.job_result(_admin(site), risk_jobs["montecarlo"])
    years_with_loss = sum(b["years"] for b in histogram["data"]["values"])
    assert 0 < years_with_loss < result["years"] == 3000
    assert f"Years without any loss: {3000 - years_with_loss:,} / 3,000" in text  # every simulated year is counted once
    curve = json.loads(page.island("spec-exceedance"))
    points = curve["layer"][0]["data"]["values"]
    assert all(0 < p["p"] <= 1 for p in points) and {r["label"].split()[0] for r in curve["layer"][1]["data"]["values"]} == {"VaR", "CVaR"}
    assert page.by_id("mc-statistics") is not None


def test_charts_come_from_the_stored_distribution_only(site, risk_jobs):
    admin = _admin(site)
    job = site.server.get_job(admin, risk_jobs["montecarlo"])
    result = site.server.job_result(admin, job["id"])
    view = risk_pages.job_view(site.server, admin, job, result, language("en"))
    assert [b["years"] for b in view["histogram"]["data"]["values"]] == [b["years"] for b in result["distribution"]["histogram"]]
    older = {k: v for k, v in result.items() if k != "distribution"}  # a run stored before results kept their distribution
    view = risk_pages.job_view(site.server, admin, job, older, language("en"))
    assert view["histogram"] is None and view["exceedance"] is None and "run it again" in view["charts_missing"]


def test_the_investment_plan_of_a_job_named_in_the_url(site, risk_jobs):
    job = risk_jobs["invest"]
    page = Page(site.client("admin").get(f"{RISK}?invest_job={job}&budget=2").text)
    assert page.by_id("plan") is not None and page.by_id("budget")["value"] == "2.0"
    before_after = page.by_id("loss-before-after")
    assert float(before_after["data-after"]) < float(before_after["data-before"])
    result = site.server.job_result(_admin(site), job)
    chosen = [r["id"] for r in result["rows"] if r["chosen"]]
    assert chosen == ["euv-second-source"] and result["cost_usd"] <= 2e9  # the budget binds: not both measures
    assert page.by_id("saving-per-dollar") is not None
    assert site.client("admin").get(f"{RISK}?invest_job=not-a-job").status_code == 200  # an unknown job: the latest run instead


def test_the_job_page_includes_the_risk_partials(site, risk_jobs):
    client = site.client("admin")
    page = Page(client.get(f"/w/default/jobs/{risk_jobs['montecarlo']}").text)
    assert page.by_id("chart-histogram") is not None and page.by_id("chart-exceedance") is not None
    page = Page(client.get(f"/w/default/jobs/{risk_jobs['invest']}").text)
    assert page.by_id("plan") is not None


def test_job_view_renders_only_the_risk_kinds(site):
    admin = _admin(site)
    assert risk_pages.job_view(site.server, admin, {"kind": "simulate", "workspace": "default"}, {"x": 1}, language("en")) is None
    view = risk_pages.job_view(site.server, admin, {"kind": "rank", "workspace": "default", "request": {"data": "chips"}},
                               {"sweep": [{"kind": "node", "id": "euv_lithography_tools", "output_loss": 1.0}], "ranking": [],
                                "single_points": [], "agreement_spearman": {}}, language("ja"))  # fmt: skip
    assert view["template"] == "job_rank.html" and view["sweep"][0]["name"] == language("ja").node_name("EUV lithography tools")


def test_the_run_page_of_a_risk_job_shows_its_partial_and_reads_the_dataset_once(site, risk_jobs, monkeypatch):
    admin = _admin(site)
    runs = {r["job"]: r["id"] for r in site.server.list_runs(admin, "default")["items"] if r.get("job")}
    reads = []
    real = site.server.get_dataset
    monkeypatch.setattr(site.server, "get_dataset", lambda *a, **k: reads.append(a[2]) or real(*a, **k))
    answer = site.client("vic").get(f"/w/default/runs/{runs[risk_jobs['montecarlo']]}")  # a run has no job context: it was a 500
    assert answer.status_code == 200 and Page(answer.text).by_id("chart-histogram") is not None
    assert reads == ["chips"]  # the node names are read once per page (each read is an audit entry)
    reads.clear()
    assert site.client("admin").get(f"/w/default/jobs/{risk_jobs['invest']}").status_code == 200 and reads == ["chips"]
    assert site.client("olga").get(f"/w/default/runs/{runs[risk_jobs['montecarlo']]}").status_code == 404
