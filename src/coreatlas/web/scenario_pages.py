"""(placeholder: filled by its page group)"""

from __future__ import annotations

from fastapi import APIRouter

from coreatlas.web.site import Site


def add_routes(router: APIRouter, site: Site) -> None:
    """No routes yet."""
