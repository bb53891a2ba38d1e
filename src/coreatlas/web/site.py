"""What every page shares: the template environment, the caller, the language and the error pages.

A page module (``home.py``, ``map_pages.py``, ``scenario_pages.py``, ``risk_pages.py``) adds its
routes with ``add_routes(router, site)`` and builds each page with :meth:`Site.page`::

    @router.get("/w/{ws}/things", response_class=HTMLResponse)
    def things(request: Request, ws: str) -> HTMLResponse:
        def build(caller, lang):
            return "things.html", {"items": site.server.list_things(caller, ws)}
        return site.page(request, build)

``build(caller, lang)`` gets the signed-in caller and the page's :class:`~coreatlas.web.i18n.Language`;
it returns a template and its context. Templates have ``_``, ``pgettext``, ``node_name``, ``num``,
``pct``, ``usd``, ``when``, ``static(path)``, ``lang``, ``lang_query``/``lang_amp`` (the language
kept in links), ``user``, ``kind_label`` and the filter ``web_link`` (an uploaded URL, kept only
if it is http(s)). Without a valid session a page answers 401 with the sign-in form at its own
URL; a workspace or dataset the caller may not see answers 404.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from coreatlas.errors import AuthError, CoreAtlasError, ForbiddenError, NotFoundError
from coreatlas.web.i18n import LANGUAGE_NAMES, LANGUAGES, Language, language, pick_language

__all__ = ["KINDS", "SESSION_COOKIE", "STATIC_DIR", "TEMPLATE_DIR", "Site", "can_edit", "node_names", "web_link"]

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
#: The cookie ``POST /api/session`` sets (``coreatlas.api.auth.SESSION_COOKIE``; a front end may not import another).
SESSION_COOKIE = "coreatlas_session"
#: Node kinds with a colour of their own (others are drawn as ``other``).
KINDS = ("output", "process", "design", "material", "tool", "component")
HEADERS = {"Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"}


def kind_labels(lang: Language) -> dict[str, str]:
    """The node kinds in the page's language (``other`` for kinds without a colour)."""
    _ = lang.gettext
    return {"output": _("output"), "process": _("process"), "design": _("design resource"), "material": _("material"),
            "tool": _("tool"), "component": _("component"), "other": _("other")}  # fmt: skip


def role_labels(lang: Language) -> dict[str, str]:
    _ = lang.gettext
    return {"viewer": _("viewer"), "editor": _("editor"), "owner": _("owner")}


def web_link(url: Any) -> str:
    """``url`` if it is an http(s) address, else an empty text: a dataset's sources are uploaded
    text, and a ``javascript:`` or ``data:`` link must not become a link on the page."""
    text = str(url or "").strip()
    return text if urlsplit(text).scheme.lower() in ("http", "https") else ""


EDITING_ROLES = ("editor", "owner")


def can_edit(caller: Any, workspace: dict) -> bool:
    """Whether the page shows editing controls: the caller's role in the workspace (``get_workspace``'s
    ``role``) lets it change things and its credentials are not read-only (a token's scope)."""
    return workspace.get("role") in EDITING_ROLES and caller.can("write")


def node_names(server: Any, caller: Any, ws: str, data: Any, lang: Language) -> dict[str, str]:
    """Node id -> name in the page's language of the first dataset a request's ``data`` names
    (``{}`` when there is none or the caller may not read it): one ``get_dataset``, one audit entry."""
    if not isinstance(data, str) or not data:
        return {}
    try:
        nodes = server.get_dataset(caller, ws, data.split("+")[0])["nodes"]
    except CoreAtlasError:
        return {}
    return {n["node_id"]: lang.node_name(n.get("name") or n["node_id"]) for n in nodes}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters["web_link"] = web_link
    return env


def static_versions() -> dict[str, str]:
    """``relative path -> first 12 hex digits of its SHA-256``, for cache-busting URLs."""
    return {p.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in sorted(STATIC_DIR.rglob("*")) if p.is_file()}  # fmt: skip


class Site:
    """The pages' shared machinery over one opened server (:class:`coreatlas.services.server.Server`)."""

    def __init__(self, server: Any):
        self.server = server
        self.env = _environment()
        self.versions = static_versions()

    def static(self, path: str) -> str:
        if path not in self.versions:  # a template naming a missing file is a bug of the build
            raise KeyError(f"no static file {path}")
        return f"/static/{path}?v={self.versions[path]}"

    def caller_of(self, request: Request) -> Any:
        """The caller, or None when the request carries no valid credentials."""
        header = request.headers.get("authorization")
        try:
            if header:
                scheme, _, credentials = header.partition(" ")
                ok = scheme.lower() == "bearer" and credentials.strip()
                return self.server.authenticate_token(credentials.strip()) if ok else None
            session_id = request.cookies.get(SESSION_COOKIE)
            return self.server.caller_from_session(session_id) if session_id else None
        except AuthError:
            return None

    def language_of(self, request: Request) -> Language:
        return language(pick_language(request.query_params.get("lang"), request.headers.get("accept-language")))

    def _links(self, request: Request) -> dict:
        asked = request.query_params.get("lang")
        query = dict(request.query_params)
        languages = [(code, LANGUAGE_NAMES[code], f"{request.url.path}?{urlencode({**query, 'lang': code})}") for code in LANGUAGES]
        kept = asked if asked in LANGUAGES else None
        return {"languages": languages, "lang_query": f"?{urlencode({'lang': kept})}" if kept else "",
                "lang_amp": f"&{urlencode({'lang': kept})}" if kept else ""}  # fmt: skip

    def render(self, request: Request, template: str, context: dict, status: int = 200) -> HTMLResponse:
        lang = self.language_of(request)
        kinds, roles = kind_labels(lang), role_labels(lang)
        base = {"lang": lang.code, "language": lang, "static": self.static, "user": None, "path": request.url.path,
                "kind_label": lambda kind: kinds.get(kind, kinds["other"]),
                "role_label": lambda role: roles.get(role, role), **lang.template_globals(), **self._links(request)}  # fmt: skip
        html = self.env.get_template(template).render({**base, **context})
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def error(self, request: Request, user: str | None, title: str, message: str, status: int) -> HTMLResponse:
        return self.render(request, "error.html", {"user": user, "title": title, "message": message}, status)

    def page(self, request: Request, build: Callable[[Any, Language], tuple[str, dict]]) -> HTMLResponse:
        """Render ``build(caller, lang)``'s template; sign-in, not-found and forbidden pages for the errors."""
        lang = self.language_of(request)
        _ = lang.gettext
        caller = self.caller_of(request)
        if caller is None:
            return self.render(request, "signin.html", {}, 401)
        user = getattr(caller, "user_name", None)
        try:
            template, context = build(caller, lang)
        except AuthError:
            return self.render(request, "signin.html", {}, 401)
        except NotFoundError:
            return self.error(request, user, _("Not found"), _("This page does not exist, or you are not allowed to see it."), 404)
        except ForbiddenError:
            return self.error(request, user, _("Not allowed"), _("Your role does not allow this."), 403)
        except CoreAtlasError as exc:
            return self.error(request, user, _("Something went wrong"), str(exc), exc.http_status)
        return self.render(request, template, {"user": user, "caller": caller, **context})
