"""The pages and their static files, as one FastAPI router over an opened server.

Each page resolves the caller (the session cookie of ``POST /api/session``, or a bearer token),
calls the server's use cases as that caller and renders a Jinja2 template. A page the caller
may not see answers 404 as one that does not exist; without a valid session a page answers 401
with the sign-in form, at its own URL, so signing in (``static/js/signin.js``) reloads the page
asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from coreatlas.errors import AuthError, CoreAtlasError, ForbiddenError, NotFoundError
from coreatlas.services.server import MAX_PAGE, Page
from coreatlas.web.layout import NO_STAGE, OUTPUT_STAGE, stage_layout
from coreatlas.web.text import LANGUAGES, TEXTS, pick_language, texts

__all__ = ["KINDS", "SESSION_COOKIE", "STATIC_DIR", "TEMPLATE_DIR", "VENDOR_MANIFEST", "create_router"]

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
VENDOR_MANIFEST = STATIC_DIR / "vendor" / "VENDOR.json"
#: The cookie ``POST /api/session`` sets (``coreatlas.api.auth.SESSION_COOKIE``; a front end may not import another).
SESSION_COOKIE = "coreatlas_session"
#: Node kinds with a colour of their own (others are drawn as ``other``).
KINDS = ("output", "process", "design", "material", "tool", "component")
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json",
               ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}  # fmt: skip
MAX_NODE_ID = 200


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip


def _static_versions() -> dict[str, str]:
    """``relative path -> first 12 hex digits of its SHA-256``, for cache-busting URLs."""
    return {p.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in sorted(STATIC_DIR.rglob("*")) if p.is_file()}  # fmt: skip


def create_router(server: Any) -> APIRouter:
    """The pages (``/``, ``/w/{ws}``, ``/w/{ws}/d/{ds}/map``) and ``/static/...`` for ``server``
    (a :class:`coreatlas.services.server.Server`)."""
    router = APIRouter(include_in_schema=False)
    env = _environment()
    versions = _static_versions()

    def static(path: str) -> str:
        if path not in versions:  # a template naming a missing file is a bug of the build
            raise KeyError(f"no static file {path}")
        return f"/static/{path}?v={versions[path]}"

    def caller_of(request: Request) -> Any:
        """The caller, or None when the request carries no valid credentials."""
        header = request.headers.get("authorization")
        if header:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                return None
            try:
                return server.authenticate_token(credentials.strip())
            except AuthError:
                return None
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            return None
        try:
            return server.caller_from_session(session_id)
        except AuthError:
            return None

    def render(request: Request, template: str, context: dict, status: int = 200) -> HTMLResponse:
        asked = request.query_params.get("lang")
        lang = pick_language(asked, request.headers.get("accept-language"))
        t = texts(lang)
        query = dict(request.query_params)
        languages = [
            (code, LANGUAGE_NAMES.get(code, code), f"{request.url.path}?{urlencode({**query, 'lang': code})}") for code in LANGUAGES
        ]
        kept = asked if asked in TEXTS else None
        base = {
            "lang": lang,
            "t": t,
            "static": static,
            "languages": languages,
            "lang_query": f"?{urlencode({'lang': kept})}" if kept else "",
            "lang_amp": f"&{urlencode({'lang': kept})}" if kept else "",
            "kind_label": lambda kind: t.get(f"kind_{kind}", t["kind_other"] if kind not in KINDS else kind),
            "user": None,
        }
        html = env.get_template(template).render({**base, **context})
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"})

    def page(request: Request, build: Callable[[Any, dict], tuple[str, dict]]) -> HTMLResponse:
        """Render ``build(caller, t)``'s template; sign-in, not-found and forbidden pages for the errors."""
        t = texts(pick_language(request.query_params.get("lang"), request.headers.get("accept-language")))
        caller = caller_of(request)
        if caller is None:
            return render(request, "signin.html", {}, 401)
        user = getattr(caller, "user_name", None)
        try:
            template, context = build(caller, t)
        except AuthError:
            return render(request, "signin.html", {}, 401)
        except NotFoundError:
            return render(request, "error.html", {"user": user, "title": t["not_found_title"], "message": t["not_found"]}, 404)
        except ForbiddenError:
            return render(request, "error.html", {"user": user, "title": t["forbidden_title"], "message": t["forbidden"]}, 403)
        except CoreAtlasError as exc:
            return render(request, "error.html", {"user": user, "title": t["error_title"], "message": str(exc)}, exc.http_status)
        return render(request, template, {"user": user, **context})

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        def build(caller, t):
            listed = server.list_workspaces(caller, Page(offset=0, limit=MAX_PAGE))["items"]
            workspaces = [{**w, "shares": server.shares(caller, w["name"]) if w["role"] == "owner" else None} for w in listed]
            return "workspaces.html", {"workspaces": workspaces}

        return page(request, build)

    @router.get("/w/{ws}", response_class=HTMLResponse)
    def workspace(request: Request, ws: str) -> HTMLResponse:
        def build(caller, t):
            info = server.get_workspace(caller, ws)
            datasets = server.list_datasets(caller, ws, Page(offset=0, limit=MAX_PAGE))["items"]
            return "workspace.html", {"workspace": info, "datasets": datasets}

        return page(request, build)

    @router.get("/w/{ws}/d/{ds}/map", response_class=HTMLResponse)
    def map_page(request: Request, ws: str, ds: str) -> HTMLResponse:
        def build(caller, t):
            info = server.get_workspace(caller, ws)
            dataset = server.get_dataset(caller, ws, ds)
            layout = map_layout(server, caller, ws, ds, dataset, t)
            wanted = request.query_params.get("node", "")[:MAX_NODE_ID]
            selected = next((n for n in layout["nodes"] if n["id"] == wanted), None)
            island = {**layout, "selected": selected["id"] if selected else None,
                      "texts": {"kinds": {k: t[f"kind_{k}"] for k in (*KINDS, "other")}, "none_selected": t["none_selected"],
                                "stages": {s["key"]: s["label"] for s in layout["stages"]}}}  # fmt: skip
            kinds = sorted(
                {n["kind"] if n["kind"] in KINDS else "other" for n in layout["nodes"]}, key=lambda k: (*KINDS, "other").index(k)
            )
            return "map.html", {
                "workspace": info,
                "dataset": dataset,
                "layout": layout,
                "island": island,
                "selected": selected,
                "kinds": kinds,
            }

        return page(request, build)

    @router.get("/static/{path:path}")
    def static_file(path: str, v: str | None = None) -> Response:
        root = STATIC_DIR.resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return PlainTextResponse("not found", status_code=404)
        cache = "public, max-age=31536000, immutable" if v and v == versions.get(target.relative_to(root).as_posix()) else "no-cache"
        return FileResponse(target, media_type=MEDIA_TYPES.get(target.suffix, "application/octet-stream"), headers={"Cache-Control": cache})

    return router


def map_layout(server: Any, caller: Any, ws: str, ds: str, dataset: dict, t) -> dict:
    """The stage-column layout of a dataset (``server.get_dataset``'s answer), with each node's
    description and the stage labels in the page's language."""
    relations = dataset.get("relations")
    if relations is None:  # get_dataset answers nodes, providers and sources: the relations come from the map itself
        from coreatlas.services.inputs import load_map  # noqa: PLC0415 - the engines load on first use

        frame = load_map(server.dataset_map_ref(caller, ws, ds)).relations
        relations = [(str(r.node_id), str(r.relation), str(r.target_id)) for r in frame.itertuples(index=False)]
    layout = stage_layout(dataset["nodes"], relations)
    descriptions = {n.get("node_id"): n.get("description") or "" for n in dataset["nodes"]}
    for node in layout["nodes"]:
        node["description"] = descriptions.get(node["id"], "")
        if node["description"] != node["description"]:  # NaN from a table
            node["description"] = ""
    labels = {OUTPUT_STAGE: t["stage_output"], NO_STAGE: t["stage_none"]}
    for stage in layout["stages"]:
        stage["label"] = labels.get(stage["key"], stage["label"])
    stage_labels = {s["key"]: s["label"] for s in layout["stages"]}
    for node in layout["nodes"]:
        node["stage_label"] = stage_labels[node["stage"]]
    return layout
