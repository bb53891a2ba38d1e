"""Security headers and body size limits, as plain ASGI middleware (no per-request thread).

Every answer carries a Content-Security-Policy without inline scripts (``script-src 'self'``,
``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
no-referrer``, ``X-Frame-Options: DENY`` and, for the API, ``Cache-Control: no-store``. The
API docs page loads Swagger UI from its CDN; only that page's policy names the CDN.

A body larger than its limit is refused with 413 before it is read whole: by its declared
``Content-Length``, or, for a chunked body, as soon as the bytes received pass the limit.
Uploads (``POST .../datasets``) have their own, larger limit.
"""

from __future__ import annotations

import json
import re

from fastapi import HTTPException

__all__ = ["CSP", "BodyLimit", "SecurityHeaders"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")  # fmt: skip
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        csp = CSP.encode()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in {b"content-security-policy", b"server"}]
                headers += [(b"content-security-policy", csp), *_HEADERS]
                if path.startswith("/api/") and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_UPLOAD = re.compile(r"^/api/workspaces/[^/]+/datasets/?$")


class _TooLarge(HTTPException):
    """Raised from ``receive`` as the bytes pass the limit; rendered as the 413 envelope."""

    def __init__(self, limit: int):
        super().__init__(413, f"the body has more than {limit} bytes; the limit is {limit}")


class BodyLimit:
    """413 for a body over ``max_body`` bytes (``max_upload`` for a dataset upload)."""

    def __init__(self, app, max_body: int, max_upload: int):
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in {"GET", "HEAD", "OPTIONS"}:
            return await self.app(scope, receive, send)
        limit = self.max_upload if _UPLOAD.match(scope.get("path", "")) else self.max_body
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return await _refuse(send, 400, "bad_request", "the Content-Length header is not a number")
            if size > limit:
                return await _refuse(send, 413, "limit_exceeded", f"the body has {size} bytes; the limit is {limit}")
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "field": None, "problems": []}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
