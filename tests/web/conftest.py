"""Fixtures of the web page tests: ``site``, one server for the module (see web_support.py)."""

from __future__ import annotations

import pytest
from web_support import PASSWORD, USERS, Site

from coreatlas.api import create_app
from coreatlas.services.server import open_server
from coreatlas.web import create_router


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    data_dir = tmp_path_factory.mktemp("web-data")
    server = open_server(None, data_dir)
    server.set_password("admin", PASSWORD)
    for user, org in USERS.items():
        if org != "local":
            server.create_org(org)
            server.create_user(user, org, password=PASSWORD)
    server.share("default", "partners", "viewer")
    app = create_app(server)
    app.include_router(create_router(server))
    yield Site(server, app, data_dir)
    server.close()
