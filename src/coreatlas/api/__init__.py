"""The REST API of CoRe Atlas: FastAPI over :mod:`coreatlas.services.server`.

``create_app(server)`` builds the application for one opened server
(``coreatlas.services.server.open_server``); ``coreatlas serve`` runs it with uvicorn, in this
process or, with ``--http-workers N``, in N processes that each build theirs with
:func:`app_from_environment`. The routes only parse, call a service and answer
(:mod:`coreatlas.api.routes`); who may do what is decided by the services. OpenAPI at
``/openapi.json``, its documentation page (offline, no script) at ``/api/docs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from coreatlas._version import __version__
from coreatlas.api.docs import DOCS_CSS, docs_page
from coreatlas.api.envelope import install_handlers
from coreatlas.api.routes import router
from coreatlas.api.security import BodyLimit, SecurityHeaders
from coreatlas.web import create_router as web_router

__all__ = ["APP_ENV", "MAX_BODY", "MAX_UPLOAD", "app_from_environment", "create_app"]

MAX_BODY = 1 << 20  # 1 MiB of JSON
MAX_UPLOAD = 50 << 20  # 50 MiB of zipped CSVs
#: The environment variable through which ``coreatlas serve --http-workers N`` gives each HTTP
#: process its settings (JSON: ``server`` for ``open_server``, ``app`` for ``create_app``).
APP_ENV = "COREATLAS_APP_SETTINGS"


def _lifespan(server: Any, owns_server: bool):
    """At shutdown, write what the server batched (audit entries, runs); close it if this app opened it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        finish = getattr(server, "close" if owns_server else "flush_pending", None)
        if callable(finish):
            await asyncio.to_thread(finish)

    return lifespan


def create_app(server: Any, *, max_body: int = MAX_BODY, max_upload: int = MAX_UPLOAD, cors_origins: list[str] | None = None,
               secure_cookies: bool = False, sse_interval: float = 0.5, sse_max_seconds: float = 3600.0,
               owns_server: bool = False) -> FastAPI:  # fmt: skip
    """The API for ``server``. CORS is off unless ``cors_origins`` lists the origins allowed;
    ``secure_cookies`` marks the session cookie Secure (behind HTTPS); ``owns_server``: the app
    closes the server when it shuts down."""
    app = FastAPI(
        title="CoRe Atlas",
        version=__version__,
        description="Critical-technology supply chains shared across organisations: maps, analyses, scenarios and jobs. "
        "Bodies are the request models of `coreatlas.services`; answers are their results' `to_dict()`, "
        'as `coreatlas ... --json` prints them. Errors: `{"error": {code, message, field, problems}}`.',
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_lifespan(server, owns_server),
    )
    app.state.server = server
    app.state.max_upload = max_upload
    app.state.secure_cookies = secure_cookies
    app.state.sse_interval = sse_interval
    app.state.sse_max_seconds = sse_max_seconds
    install_handlers(app)
    app.include_router(router)
    app.include_router(web_router(server), include_in_schema=False)  # the web page: the same app, the same middleware
    _docs_routes(app)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"], allow_credentials=False)  # fmt: skip
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_body=max_body, max_upload=max_upload)
    return app


def _docs_routes(app: FastAPI) -> None:
    page: list[str] = []

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not page:
            page.append(docs_page(app.openapi()))
        return HTMLResponse(page[0])

    @app.get("/api/docs/docs.css", include_in_schema=False)
    def docs_css() -> Response:
        return Response(DOCS_CSS, media_type="text/css")


def app_from_environment() -> FastAPI:
    """The app of one HTTP process of ``coreatlas serve --http-workers N``: the server named by
    :data:`APP_ENV` (already migrated and bootstrapped by ``serve``), closed with the app."""
    from coreatlas.services.server import open_server

    settings = json.loads(os.environ.get(APP_ENV) or "{}")
    server_settings = dict(settings.get("server") or {})
    db, data_dir = server_settings.pop("db", None) or os.environ.get("COREATLAS_DB"), server_settings.pop("data_dir")
    server = open_server(db, data_dir, migrate_db=False, bootstrap=False, **server_settings)
    return create_app(server, owns_server=True, **dict(settings.get("app") or {}))
