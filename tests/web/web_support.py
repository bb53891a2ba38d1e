"""Helpers of the web page tests (the fixture ``site`` is in conftest.py): one server for the
module with three organisations, TestClients signed in as each user, and an HTML reader (no
browser: the pages are checked as HTML).

- ``admin`` (organisation ``local``, which owns workspace ``default`` with the built-in datasets);
- ``vic`` (organisation ``partners``, a viewer of ``default``);
- ``olga`` (organisation ``outsiders``, without a share).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

PASSWORD = "a long test passphrase"
USERS = {"admin": "local", "vic": "partners", "olga": "outsiders"}


@dataclass
class Site:
    server: object
    app: object
    data_dir: Path

    def client(self, user: str | None = None, **headers) -> TestClient:
        """A client signed in as ``user`` through ``POST /api/session`` (anonymous for None)."""
        client = TestClient(self.app, headers=headers)
        if user is not None:
            answer = client.post("/api/session", json={"user": user, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            reach_pages(client)
        return client


def reach_pages(client: TestClient) -> None:
    """The API sets the session cookie for ``/api`` only, so a browser would not send it to the
    pages; until the API sets it for ``/``, give the same session to the whole site."""
    for cookie in list(client.cookies.jar):
        if cookie.name == "coreatlas_session" and cookie.path != "/":
            client.cookies.set(cookie.name, cookie.value, path="/")


class Page(HTMLParser):
    """What the tests read of a page: every tag with its attributes, and each script's body."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None
        self._body: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {k: (v or "") for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script, self._body = attributes, []

    def handle_data(self, data):
        if self._script is not None:
            self._body.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._body)))
            self._script = None

    def attributes(self, name: str) -> list[tuple[str, str]]:
        """``(tag, value)`` of every attribute called ``name``."""
        return [(tag, attrs[name]) for tag, attrs in self.tags if name in attrs]

    def by_id(self, id_: str) -> dict | None:
        return next((attrs for _, attrs in self.tags if attrs.get("id") == id_), None)

    def island(self, id_: str) -> str:
        return next(body for attrs, body in self.scripts if attrs.get("id") == id_)
