"""The pages and their static files, as one FastAPI router over an opened server.

Each page resolves the caller (the session cookie of ``POST /api/session``, or a bearer token),
calls the server's use cases as that caller and renders a Jinja2 template (see :mod:`.site`).
A page the caller may not see answers 404 as one that does not exist; without a valid session a
page answers 401 with the sign-in form, at its own URL, so signing in (``static/js/signin.js``)
reloads the page asked for. The page groups add their own routes: :mod:`.home` (workspaces),
:mod:`.map_pages` (the map and the node panel), :mod:`.scenario_pages` (scenarios, jobs, runs,
comparisons) and :mod:`.risk_pages` (risk, planning, activity).
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from coreatlas.web import home, map_pages, risk_pages, scenario_pages
from coreatlas.web.site import KINDS, SESSION_COOKIE, STATIC_DIR, TEMPLATE_DIR, Site

__all__ = ["KINDS", "SESSION_COOKIE", "STATIC_DIR", "TEMPLATE_DIR", "VENDOR_MANIFEST", "create_router"]

VENDOR_MANIFEST = STATIC_DIR / "vendor" / "VENDOR.json"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json",
               ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}  # fmt: skip
PAGE_GROUPS = (home, map_pages, scenario_pages, risk_pages)


def create_router(server: Any) -> APIRouter:
    """Every page and ``/static/...`` for ``server`` (a :class:`coreatlas.services.server.Server`)."""
    router = APIRouter(include_in_schema=False)
    site = Site(server)
    for group in PAGE_GROUPS:
        group.add_routes(router, site)
    _add_static(router, site)
    return router


COMPRESSED = (".js", ".css", ".json", ".svg", ".txt")


@functools.lru_cache(maxsize=64)
def _gzipped(path: Path, stamp: float) -> bytes:
    """The file gzipped once per content (``stamp``: its modification time): the vendored
    libraries are about a megabyte and compress to a third."""
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def _add_static(router: APIRouter, site: Site) -> None:
    @router.get("/static/{path:path}")
    def static_file(request: Request, path: str, v: str | None = None) -> Response:
        root = STATIC_DIR.resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return PlainTextResponse("not found", status_code=404)
        fresh = v and v == site.versions.get(target.relative_to(root).as_posix())
        headers = {"Cache-Control": "public, max-age=31536000, immutable" if fresh else "no-cache", "Vary": "Accept-Encoding"}
        media_type = MEDIA_TYPES.get(target.suffix, "application/octet-stream")
        if target.suffix in COMPRESSED and "gzip" in request.headers.get("accept-encoding", ""):
            body = _gzipped(target, target.stat().st_mtime)
            return Response(body, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
        return FileResponse(target, media_type=media_type, headers=headers)
