"""The REST API of CoRe Atlas: FastAPI over :mod:`coreatlas.services.server`.

``create_app(server)`` builds the application for one opened server
(``coreatlas.services.server.open_server``); ``coreatlas serve`` runs it with uvicorn. The
routes only parse, call a service and answer (:mod:`coreatlas.api.routes`); who may do what
is decided by the services. OpenAPI at ``/openapi.json``, its docs at ``/api/docs``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from coreatlas._version import __version__
from coreatlas.api.envelope import install_handlers
from coreatlas.api.routes import router
from coreatlas.api.security import SWAGGER_CDN, BodyLimit, SecurityHeaders
from coreatlas.web import create_router as web_router

__all__ = ["MAX_BODY", "MAX_UPLOAD", "create_app"]

MAX_BODY = 1 << 20  # 1 MiB of JSON
MAX_UPLOAD = 50 << 20  # 50 MiB of zipped CSVs
SWAGGER_VERSION = "5.17.14"

_DOCS_HTML = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CoRe Atlas API</title>
<link rel="stylesheet" href="{SWAGGER_CDN}/npm/swagger-ui-dist@{SWAGGER_VERSION}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{SWAGGER_CDN}/npm/swagger-ui-dist@{SWAGGER_VERSION}/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
"""
_DOCS_JS = 'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});\n'


def create_app(server: Any, *, max_body: int = MAX_BODY, max_upload: int = MAX_UPLOAD, cors_origins: list[str] | None = None,
               secure_cookies: bool = False, sse_interval: float = 0.5, sse_max_seconds: float = 3600.0) -> FastAPI:  # fmt: skip
    """The API for ``server``. CORS is off unless ``cors_origins`` lists the origins allowed;
    ``secure_cookies`` marks the session cookie Secure (behind HTTPS)."""
    app = FastAPI(
        title="CoRe Atlas",
        version=__version__,
        description="Critical-technology supply chains shared across organisations: maps, analyses, scenarios and jobs. "
        "Bodies are the request models of `coreatlas.services`; answers are their results' `to_dict()`, "
        'as `coreatlas ... --json` prints them. Errors: `{"error": {code, message, field, problems}}`.',
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.server = server
    app.state.max_upload = max_upload
    app.state.secure_cookies = secure_cookies
    app.state.sse_interval = sse_interval
    app.state.sse_max_seconds = sse_max_seconds
    install_handlers(app)
    app.include_router(router)
    app.include_router(web_router(server), include_in_schema=False)  # the web page: the same app, the same middleware

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS_HTML)

    @app.get("/api/docs/init.js", include_in_schema=False)
    def docs_js() -> Response:
        return Response(_DOCS_JS, media_type="text/javascript")

    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"], allow_credentials=False)  # fmt: skip
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_body=max_body, max_upload=max_upload)
    return app
