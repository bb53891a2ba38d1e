"""The sign-in page (any page without a session), the workspace list and one workspace's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coreatlas.services.server import MAX_PAGE, Page
from coreatlas.web.site import Site


def add_routes(router: APIRouter, site: Site) -> None:
    server = site.server

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        def build(caller, lang):
            listed = server.list_workspaces(caller, Page(offset=0, limit=MAX_PAGE))["items"]
            workspaces = [{**w, "shares": server.shares(caller, w["name"]) if w["role"] == "owner" else None} for w in listed]
            return "workspaces.html", {"workspaces": workspaces}

        return site.page(request, build)

    @router.get("/w/{ws}", response_class=HTMLResponse)
    def workspace(request: Request, ws: str) -> HTMLResponse:
        def build(caller, lang):
            info = server.get_workspace(caller, ws)
            datasets = server.list_datasets(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]
            return "workspace.html", {"workspace": info, "datasets": datasets}

        return site.page(request, build)
