"""The API's documentation page works offline: served by the server itself, no script, no
external request, the same Content-Security-Policy as every page; every route of the OpenAPI
document is on it with its parameters, and every schema."""

from __future__ import annotations

import html
import re
import warnings

import pytest

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

from coreatlas.api import create_app  # noqa: E402
from coreatlas.api.security import CSP  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from coreatlas.services.server import open_server

    with open_server(None, tmp_path_factory.mktemp("docs")) as server, TestClient(create_app(server)) as c:
        yield c


def _section(page: str, method: str, path: str) -> str:
    anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", f"op-{method}-{path}").strip("-")
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_the_docs_page_is_self_contained(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    text = page.text
    assert "<script" not in text.lower() and " style=" not in text.lower()  # nothing the CSP would block
    assert not re.search(r'(src|href)="(https?:)?//', text), "the page must not load anything from another site"
    assert '<link rel="stylesheet" href="/api/docs/docs.css">' in text
    css = client.get("/api/docs/docs.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and "url(" not in css.text


def test_every_route_and_schema_is_on_the_page(client):
    document = client.get("/openapi.json").json()
    text = client.get("/api/docs").text
    operations = [(m, p, op) for p, item in document["paths"].items() for m, op in item.items() if m in ("get", "post", "patch", "delete")]
    assert len(operations) >= 25
    for method, path, op in operations:
        section = _section(text, method, path)
        assert html.escape(path) in section and method in section
        for parameter in op.get("parameters", []):
            assert f"<code>{html.escape(parameter['name'])}</code>" in section, (method, path, parameter["name"])
        for status in op.get("responses", {}):
            assert f"<td>{status}</td>" in section, (method, path, status)
    for name in document["components"]["schemas"]:
        assert f'id="schema-{re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")}"' in text, name


def test_the_page_escapes_what_it_shows():
    from coreatlas.api.docs import docs_page

    page = docs_page({"info": {"title": "<b>x</b>"}, "paths": {"/a/{id}": {"get": {"summary": "<img src=x onerror=alert(1)>",
                      "parameters": [{"name": "<i>", "in": "query", "schema": {"type": "string", "pattern": "^a&b$"}}], "responses": {}}}}})  # fmt: skip
    assert "<img" not in page and "<b>x</b>" not in page and "&lt;i&gt;" in page and "^a&amp;b$" in page
