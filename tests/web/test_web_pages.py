"""The pages, rendered by FastAPI's TestClient (no browser): they render, hold no inline code
(the Content-Security-Policy forbids it), load only /static/ files that the site serves, and
links stay on the site (sources cited by the node panel are marked external)."""

from __future__ import annotations

import json
import re

import jinja2
import pytest
from web_support import PASSWORD, Page, reach_pages

from coreatlas.web import language, pick_language

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
MAP = "/w/default/d/chips/map"
PAGES = ["/", "/w/default", MAP, f"{MAP}?node=euv_lithography_tools", f"{MAP}?lang=ja", "/w/default/d/telecom-ran/map",
         f"{MAP}?measure=hhi&node=eda_software"]


def _island(html: str) -> dict:
    return json.loads(Page(html).island("map-data"))


# ---- sign-in ----------------------------------------------------------------------------------
def test_anonymous_gets_the_sign_in_form_posting_to_the_session_route(site):
    for path in ("/", MAP):
        answer = site.client().get(path)
        assert answer.status_code == 401
        page = Page(answer.text)
        form = page.by_id("sign-in")
        assert form["action"] == "/api/session" and form["method"] == "post"
        names = {attrs.get("name") for tag, attrs in page.tags if tag == "input"}
        assert {"user", "password", "token"} <= names
        for tag, attrs in page.tags:  # every control has a label
            if tag == "input":
                assert page.by_id(attrs["id"]) and any(t == "label" and a.get("for") == attrs["id"] for t, a in page.tags)


def test_a_wrong_password_and_a_stale_cookie_give_the_sign_in_page(site):
    client = site.client()
    assert client.post("/api/session", json={"user": "admin", "password": "wrong"}).status_code == 401
    client.cookies.set("coreatlas_session", "not-a-session", path="/")
    assert client.get("/").status_code == 401


def test_signed_in_through_the_api_the_pages_see_the_session(site):
    client = site.client()
    assert client.post("/api/session", json={"user": "admin", "password": PASSWORD}).status_code == 200
    reach_pages(client)
    answer = client.get("/")
    assert answer.status_code == 200 and "admin" in answer.text


def test_the_session_cookie_reaches_the_pages_without_help(site):
    client = site.client()
    assert client.post("/api/session", json={"user": "admin", "password": PASSWORD}).status_code == 200
    assert client.get("/").status_code == 200


# ---- workspaces ---------------------------------------------------------------------------------
def test_workspace_list_shows_owner_and_shares(site):
    html = site.client("admin").get("/").text
    assert 'href="/w/default"' in html and "local" in html and "partners (viewer)" in html
    viewer = site.client("vic").get("/")
    assert viewer.status_code == 200 and 'href="/w/default"' in viewer.text and "viewer" in viewer.text
    outsider = site.client("olga").get("/")
    assert outsider.status_code == 200 and 'href="/w/default"' not in outsider.text and "You do not see any workspace yet." in outsider.text


def test_workspace_page_links_each_dataset_map_and_risk_and_the_workspace_pages(site):
    html = site.client("vic").get("/w/default").text
    for name in ("chips", "materials", "quantum", "sequencing", "telecom-ran"):
        assert f'href="/w/default/d/{name}/map"' in html and f'href="/w/default/d/{name}/risk"' in html
    assert 'href="/w/default/scenarios"' in html and 'href="/w/default/activity"' in html
    assert 'href="/w/default/d/chips/risk?lang=ja"' in site.client("vic").get("/w/default?lang=ja").text


def test_a_workspace_or_dataset_one_cannot_see_is_not_found(site):
    olga = site.client("olga")
    for path in ("/w/default", MAP):
        answer = olga.get(path)
        assert answer.status_code == 404 and "This page does not exist, or you are not allowed to see it." in answer.text
    assert site.client("admin").get("/w/default/d/nope/map").status_code == 404
    assert site.client("admin").get("/w/nope").status_code == 404


# ---- language (the map's own tests are in test_web_map.py) -------------------------------------
def test_japanese_by_query_and_by_accept_language(site):
    ja = site.client("vic").get(f"{MAP}?lang=ja").text
    assert '<html lang="ja">' in ja and "マップ：" in ja and _island(ja)["stages"][-1]["label"] == "最終製品"
    assert 'href="/w/default?lang=ja"' in ja  # links keep the language asked for
    header = site.client("vic", **{"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"}).get("/").text
    assert '<html lang="ja">' in header
    assert pick_language(None, "fr, en;q=0.4, ja;q=0.3") == "en"
    assert pick_language(None, "de") == "en" and pick_language("ja", "en") == "ja" and pick_language("xx", "ja") == "ja"
    assert language("ja").gettext("Sign in") == "サインイン" and language("en").gettext("Sign in") == "Sign in"


# ---- no inline code; only /static/ -----------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_no_inline_script_style_or_handler(site, path):
    answer = site.client("admin").get(path)
    assert answer.status_code == 200
    page = Page(answer.text)
    for attrs, body in page.scripts:
        if "src" in attrs:
            assert not body.strip(), attrs
        else:
            assert attrs.get("type") == "application/json", f"inline script with code on {path}: {body[:80]!r}"
            json.loads(body)
    assert not [tag for tag, _ in page.tags if tag == "style"]
    assert not page.attributes("style"), "style attributes are refused by the CSP"
    handlers = [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert not handlers
    assert "javascript:" not in answer.text.lower()


@pytest.mark.parametrize("path", [*PAGES, "/?sign-in"])
def test_resources_are_static_files_the_site_serves(site, path):
    client = site.client("admin") if path != "/?sign-in" else site.client()
    page = Page(client.get(path).text)
    resources = [v for tag, v in page.attributes("src")] + [attrs["href"] for tag, attrs in page.tags if tag == "link"]
    assert resources
    for url in resources:
        assert url.startswith("/static/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        suffix = url.split("?")[0].rsplit(".", 1)[-1]
        wanted = {"js": "text/javascript", "svg": "image/svg+xml"}.get(suffix, "text/css")
        assert served.headers["content-type"].startswith(wanted), url
        assert "immutable" in served.headers["cache-control"], url
    for tag, attrs in page.tags:  # links stay on the site, but for the sources a node cites (external, no referrer)
        href = attrs.get("href", "")
        if tag == "a" and "external" in attrs.get("rel", "").split():
            assert href.startswith("https://") or href.startswith("http://"), href
            assert {"noopener", "noreferrer"} <= set(attrs["rel"].split()), attrs
            continue
        assert not re.match(r"^[a-z]+:", href) and not href.startswith("//"), href
    for _tag, attrs in page.tags:  # forms post to the API, or ask for the same page again (the map's controls without JavaScript)
        if "action" in attrs:
            own = attrs["action"] == path.split("?")[0] and attrs.get("method", "get").lower() == "get"
            assert attrs["action"].startswith("/api/") or own, attrs["action"]


def test_pages_carry_the_apis_security_headers(site):
    answer = site.client("admin").get(MAP)
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


def test_static_files_stay_inside_the_static_folder(site):
    client = site.client()
    for path in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/vendor", "/static/nothing.js", "/static/..%2F__init__.py"):
        assert client.get(path).status_code == 404, path
    assert client.get("/static/vendor/VENDOR.json").status_code == 200
    assert client.get("/static/js/map.js").headers["cache-control"] == "no-cache"  # without its version


def test_data_islands_cannot_close_their_script():
    env = jinja2.Environment(autoescape=True)
    html = env.from_string('<script type="application/json">{{ x|tojson }}</script>').render(x={"d": "</script><!-- & 'x'"})
    body = html.split(">", 1)[1].rsplit("<", 1)[0]
    assert "<" not in body and ">" not in body
    assert json.loads(body) == {"d": "</script><!-- & 'x'"}


def test_static_files_are_sent_gzipped_when_the_browser_accepts_it(site):
    import gzip

    client = site.client()
    plain = client.get("/static/js/app.js", headers={"Accept-Encoding": "identity"})
    packed = client.get("/static/js/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # the client decodes it: the same bytes arrive
    raw = client.build_request("GET", "/static/vendor/vega/vega.min.js", headers={"Accept-Encoding": "gzip"})
    sent = client.send(raw, stream=True)
    body = b"".join(sent.iter_raw())
    assert len(body) < 0.5 * len(gzip.decompress(body)), "the vendored library compresses well"
