"""Answers: results as the CLI's ``--json`` prints them, and the documented error statuses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from coreatlas import services
from coreatlas.api.envelope import ENVELOPE_SCHEMA

__all__ = ["ERRORS", "RESULT_SCHEMA", "AtlasJSON", "errors", "page_schema"]


class AtlasJSON(Response):
    """JSON written by :func:`coreatlas.services.to_json`, byte for byte what ``--json`` prints
    (NaN as null, numpy scalars as numbers)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return services.to_json(content).encode("utf-8")


#: A result's ``to_dict()``: its own keys and always a ``provenance``.
RESULT_SCHEMA = {
    "type": "object",
    "required": ["provenance"],
    "properties": {
        "provenance": {
            "type": "object",
            "required": ["dataset", "version", "content_hash", "request"],
            "properties": {
                "dataset": {"type": "string"},
                "version": {"type": "string"},
                "content_hash": {"type": "string"},
                "request": {"type": "object"},
                "seed": {"type": ["integer", "null"]},
                "software": {"type": "string"},
                "created_at": {"type": "string"},
            },
        }
    },
}

_DESCRIPTIONS = {
    400: "Bad request: a body that cannot be parsed, or a data source that cannot be read.",
    401: "No valid credentials (missing, unknown, expired or revoked token or session).",
    403: "Known caller without the role or token scope for this (or a cookie write without its CSRF token).",
    404: "No such resource, or one the caller may not see (its existence does not leak).",
    409: "Conflict: a well-formed request without a solution, or a state that does not allow it.",
    413: "A body or upload over its limit, or too many concurrent jobs in the workspace.",
    422: "The body or a parameter is invalid; `field` is a JSON pointer, `problems` lists every problem.",
}
ERRORS = (401, 403, 404, 413, 422)


def errors(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` for error statuses, each the envelope (with 400, a body or query
    that cannot be parsed at all, wherever 422 is)."""
    statuses = tuple(sorted({*statuses, *((400,) if 422 in statuses else ())}))
    return {s: {"description": _DESCRIPTIONS[s], "content": {"application/json": {"schema": ENVELOPE_SCHEMA}}} for s in statuses}


def result_response(description: str = "The result's `to_dict()`, as `coreatlas ... --json` prints it.", status: int = 200) -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": RESULT_SCHEMA}}}}


def page_schema(item: dict | None = None) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "offset", "limit"],
        "properties": {
            "items": {"type": "array", "items": item or {"type": "object"}},
            "total": {"type": "integer", "minimum": 0},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
        },
    }
