"""The web workbench of CoRe Atlas: server-rendered pages (Jinja2, htmx) over the server's use cases.

``create_router(server)`` gives a FastAPI ``APIRouter`` with the pages and their static files
(``/static/...``: the page's own CSS and JavaScript and the vendored libraries listed in
``static/vendor/VENDOR.json``). The API's app includes it::

    app.include_router(coreatlas.web.create_router(server))

Pages call :mod:`coreatlas.services.server` only, as the signed-in browser's caller (the
session cookie set by ``POST /api/session``); what a caller may see is decided there. No page
has inline script: data reaches the page's static JavaScript through JSON data islands
(``<script type="application/json">``), as the Content-Security-Policy requires. Interface text
is in gettext catalogs (:mod:`.i18n`), English and Japanese.
"""

from coreatlas.web.i18n import LANGUAGES, language, pick_language
from coreatlas.web.layout import stage_layout
from coreatlas.web.pages import STATIC_DIR, TEMPLATE_DIR, VENDOR_MANIFEST, create_router

__all__ = ["LANGUAGES", "STATIC_DIR", "TEMPLATE_DIR", "VENDOR_MANIFEST", "create_router", "language", "pick_language", "stage_layout"]
