"""The activity page (``/w/{ws}/activity``), as HTML: the workspace's comments with their status,
author, time and a link to what they are on, filtered by status; the audit log for owners only."""

from __future__ import annotations

import json

import pytest
from web_support import PASSWORD, Page

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
ACTIVITY = "/w/default/activity"


@pytest.fixture(scope="module")
def comments(site):
    admin = site.server.login_password("admin", PASSWORD)
    first = site.server.add_comment(admin, "default", "node", "euv_lithography_tools", "Only ASML makes these: check the second source.")
    second = site.server.add_comment(admin, "default", "node", "photoresists", "Resolved: stock is 120 days.")
    site.server.update_comment(admin, "default", second["id"], status="resolved")
    reply = site.server.add_comment(admin, "default", "node", "euv_lithography_tools", "Agreed.", parent_id=first["id"])
    return {"open": first["id"], "resolved": second["id"], "reply": reply["id"]}


def _comments(page: Page) -> dict[str, dict]:
    return {a["data-comment-id"]: a for t, a in page.tags if t == "li" and "comment" in a.get("class", "").split()}


def test_the_owner_sees_every_comment_with_status_author_and_link(site, comments):
    answer = site.client("admin").get(ACTIVITY)
    assert answer.status_code == 200
    page = Page(answer.text)
    assert page.by_id("activity-comments") is not None
    listed = _comments(page)
    assert listed[comments["open"]]["data-status"] == "open" and listed[comments["resolved"]]["data-status"] == "resolved"
    assert comments["reply"] in listed  # replies under their comment
    assert 'href="/w/default/d/chips/map?node=euv_lithography_tools"' in answer.text
    assert "Only ASML makes these" in answer.text and ">admin<" in answer.text
    assert page.by_id("audit-log") is not None
    assert answer.text.count("<time ") >= 3


def test_the_status_filter(site, comments):
    client = site.client("admin")
    open_only = _comments(Page(client.get(f"{ACTIVITY}?status=open").text))
    assert comments["open"] in open_only and comments["resolved"] not in open_only
    resolved = _comments(Page(client.get(f"{ACTIVITY}?status=resolved").text))
    assert comments["resolved"] in resolved and comments["open"] not in resolved
    everything = _comments(Page(client.get(f"{ACTIVITY}?status=nonsense").text))
    assert {comments["open"], comments["resolved"]} <= everything.keys()


def test_viewers_see_the_comments_but_not_the_audit_log(site, comments):
    answer = site.client("vic").get(ACTIVITY)
    assert answer.status_code == 200
    page = Page(answer.text)
    assert comments["open"] in _comments(page)
    assert page.by_id("audit-log") is None and "audit-section" not in answer.text


def test_outsiders_get_not_found(site, comments):
    assert site.client("olga").get(ACTIVITY).status_code == 404
    assert site.client().get(ACTIVITY).status_code == 401


def test_the_audit_log_pages(site, comments):
    client, admin = site.client("admin"), site.server.login_password("admin", PASSWORD)
    while site.server.audit(admin, "default")["total"] <= 60:  # each reading of the log is an entry of it
        site.server.flush_pending()
    first = client.get(ACTIVITY).text
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = Page(client.get(f"{ACTIVITY}?offset=50").text)
    assert second.by_id("audit-log") is not None and any(a.get("rel") == "prev" for t, a in second.tags if t == "a")


def test_the_page_in_japanese(site, comments):
    text = site.client("admin").get(f"{ACTIVITY}?lang=ja").text
    assert "監査ログ" in text and "すべてのコメント" in text and "Audit log" not in text


def test_the_audit_log_escapes_its_details_and_says_them_in_words(site, comments):
    admin = site.server.login_password("admin", PASSWORD)
    hostile = 'x" autofocus data-injected="1 <b>bold</b>'
    site.server.save_scenario(admin, "default", hostile, "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})
    run = site.server.add_comment(admin, "default", "run", _a_run(site, admin), "On this run.")
    answer = site.client("admin").get(ACTIVITY)
    page = Page(answer.text)
    assert not page.attributes("autofocus") and not page.attributes("data-injected") and "<b>bold" not in answer.text
    details = [json.loads(v) for t, v in page.attributes("data-value") if v.startswith("{")]
    assert {"change": "create", "kind": "scenario", "name": hostile} in details  # the raw detail, whole, for the downloads
    assert f'href="/w/default/runs/{run["target_id"]}"' in answer.text  # a run's comment links to the run (compare needs two items)
    japanese = site.client("admin").get(f"{ACTIVITY}?lang=ja").text
    assert ">read<" not in japanese and ">閲覧<" in japanese and ">change<" not in japanese


def _a_run(site, admin) -> str:
    site.server.run_static(admin, "default", "chips", "scenario", {"scenarios": [{"remove_countries": ["JPN"]}]})
    site.server.flush_pending()
    return site.server.list_runs(admin, "default")["items"][0]["id"]
