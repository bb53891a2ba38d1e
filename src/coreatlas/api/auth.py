"""Who is calling: a bearer token, or the browser's session cookie with its CSRF token.

- ``Authorization: Bearer <token>``: the token of ``coreatlas admin create-token`` (or of the
  bootstrap), checked by the server (digest, expiry, revocation, scope).
- The session cookie ``coreatlas_session`` (HttpOnly, SameSite=Lax, Secure behind HTTPS), set
  by ``POST /api/session`` after a password or token sign-in. A state-changing request made
  with the cookie (anything but GET, HEAD, OPTIONS) must also send the session's CSRF token in
  the ``X-CSRF-Token`` header, checked against the session's (the server keeps its digest);
  the token is given at sign-in and kept in the readable cookie ``coreatlas_csrf``, so a
  page of this origin can send it and another site cannot.

No credentials answers 401 with the envelope. Tokens and session ids are never logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from coreatlas.api.backend import call, soon
from coreatlas.errors import AuthError, ForbiddenError

__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "SESSION_COOKIE", "CallerDep", "OptionalCaller", "current_caller", "optional_caller"]

SESSION_COOKIE = "coreatlas_session"
CSRF_COOKIE = "coreatlas_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The browser's session (with `X-CSRF-Token` on writes).")


def _session_caller(server: Any, request: Request, session_id: str) -> Any:
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent:
            call(server, "caller_from_session", session_id)  # an ended session is 401, before the CSRF check
            raise ForbiddenError("a change made with the session cookie needs its CSRF token in the X-CSRF-Token header", field=CSRF_HEADER)
        call(server, "check_csrf", session_id, sent)
    return call(server, "caller_from_session", session_id)


async def optional_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    session_id: Annotated[str | None, Depends(_cookie)] = None,
) -> Any:
    """The caller, or None when the request has no credentials at all (a known token or session
    is answered from the server's memory, on the event loop)."""
    server = request.app.state.server
    header = request.headers.get("authorization")
    if header is not None:
        if bearer is None or not bearer.credentials.strip():
            raise AuthError("the Authorization header must be 'Bearer <token>'")
        token = bearer.credentials.strip()
        caller = await soon(server, lambda: call(server, "authenticate_token", token))
    elif session_id:
        caller = await soon(server, lambda: _session_caller(server, request, session_id))
    else:
        return None
    request.state.caller = caller
    return caller


async def current_caller(caller: Annotated[Any, Depends(optional_caller)]) -> Any:
    """The caller; 401 without credentials."""
    if caller is None:
        raise AuthError("authentication required: send 'Authorization: Bearer <token>' or sign in")
    return caller


CallerDep = Annotated[Any, Depends(current_caller)]
OptionalCaller = Annotated[Any, Depends(optional_caller)]
