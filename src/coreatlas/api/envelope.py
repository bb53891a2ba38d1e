"""One error envelope everywhere: ``{"error": {"code", "message", "field", "problems"}}``.

A :class:`~coreatlas.errors.CoreAtlasError` answers with the HTTP status of its row of
:data:`~coreatlas.errors.ERROR_TABLE`; its ``field`` (``capacity.TWN``, ``hazards[2].depth``)
becomes a JSON pointer into the body (``/capacity/TWN``, ``/hazards/2/depth``). A body that
does not match its schema answers 422 ``invalid_request`` with one problem per field. HTTP
errors of the framework (an unknown route, a wrong method) and bugs use the same envelope; a
bug's answer says nothing of its cause (the log has the trace).
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from coreatlas.errors import ERROR_TABLE, CoreAtlasError
from coreatlas.model.spec import dotted

__all__ = ["ENVELOPE_SCHEMA", "error_response", "install_handlers", "pointer"]

log = logging.getLogger("coreatlas.api")

#: The OpenAPI schema of the error envelope.
ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field", "problems"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {
                    "type": ["string", "null"],
                    "description": "A JSON pointer to the request field at fault (in the body or the query).",
                },
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["message"],
                        "properties": {
                            "file": {"type": ["string", "null"]},
                            "line": {"type": ["integer", "null"]},
                            "column": {"type": ["string", "null"]},
                            "message": {"type": "string"},
                            "severity": {"type": "string"},
                            "field": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        }
    },
}

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               406: "not_acceptable", 409: "conflict", 413: "limit_exceeded", 415: "unsupported_media_type", 422: "invalid_request",
               429: "too_many_requests"}  # fmt: skip


def pointer(field: str | None, prefix: str = "") -> str | None:
    """``hazards[2].depth`` -> ``/hazards/2/depth`` (under ``prefix``, e.g. ``/request``)."""
    if not field:
        return None
    if field.startswith("/"):
        return prefix + field
    parts = [p for p in re.split(r"\.|\[(\d+)\]", field) if p]
    return prefix + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def status_of(exc: CoreAtlasError) -> int:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls][2]
    return exc.http_status


def error_response(status: int, code: str, message: str, field: str | None = None, problems: list | None = None,
                   headers: dict | None = None) -> JSONResponse:  # fmt: skip
    body = {"error": {"code": code, "message": message, "field": field, "problems": problems or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def _core_error(request: Request, exc: CoreAtlasError) -> JSONResponse:
    prefix = getattr(request.state, "field_prefix", "")
    body = exc.to_dict()
    problems = []
    for problem, data in zip(exc.problems, body["problems"], strict=True):
        problems.append({**data, "field": pointer(problem.field, prefix)})
    status = status_of(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="coreatlas"'} if status == 401 else None
    return error_response(status, body["code"], body["message"], pointer(exc.field, prefix), problems, headers)


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one problem per field: ``field`` a JSON pointer (``/scenarios/0/capacity``), the
    message led by the dotted path, as the services' own request errors are."""
    problems, seen = [], set()
    body = getattr(exc, "body", None)
    for error in exc.errors():
        where, *loc = error.get("loc") or ("body",)
        if where == "body" and loc and isinstance(body, dict) and loc[0] == body.get("kind"):
            loc = loc[1:]  # the job kind that told the union's members apart
        loc = [p for p in loc if isinstance(p, int) or not (str(p).startswith("function-") or "[" in str(p))]
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            loc = [*loc, "kind"]  # the job kind names no use case run as a job
        path = dotted(tuple(loc))
        field = pointer(path)
        message = _message(error)
        if (field, message) in seen:
            continue
        seen.add((field, message))
        text = (f"{path} {message}" if message.startswith("must ") else f"{path}: {message}") if path else message
        problems.append({"file": None, "line": None, "column": None, "message": text, "severity": "error", "field": field})
    first = problems[0] if problems else {"message": "invalid request", "field": None}
    more = len(problems) - 1
    message = first["message"] + (f" (and {more} more problem{'s' * (more > 1)})" if more > 0 else "")
    return error_response(422, "invalid_request", message, first["field"], problems)


def _message(error: dict) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return f"unknown key '{error['loc'][-1]}'"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"must be {error.get('ctx', {}).get('expected')}, not {error.get('input')!r}"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.url.path}"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal error: this is a bug in CoRe Atlas; the server log has the details")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CoreAtlasError, _core_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal)
