"""The server's use cases as the API calls them.

:mod:`coreatlas.services.server` offers each server use case either as a method of the
``Server`` or as a module function taking it first; :func:`call` finds either, so the routes
read ``call(server, "list_workspaces", caller, page)``. :func:`soon` runs such a call on the
event loop when the server can answer it from memory (a cached caller, a cached static result),
and in a worker thread when it needs the database or computing: the hot routes then cost no
thread hop.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from coreatlas.errors import RequestError

__all__ = ["call", "page_of", "server_module", "soon"]


def server_module():
    return importlib.import_module("coreatlas.services.server")


def _holds_nul(value: Any, depth: int = 0) -> bool:
    """Whether a text anywhere in ``value`` (strings, dict keys and values, lists) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if depth > 64:  # deeper than any request model allows: the model refuses it
        return False
    if isinstance(value, dict):
        return any(_holds_nul(k, depth + 1) or _holds_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v, depth + 1) for v in value)
    return False


def call(server: Any, name: str, *args, **kwargs) -> Any:
    """``server.name(*args)`` if the Server has it, else ``services.server.name(server, *args)``.

    A text holding the NUL character is refused first: PostgreSQL cannot store it (nor its
    audit entry), and no name, comment or request needs it."""
    if _holds_nul(args) or _holds_nul(kwargs):
        raise RequestError("a text of the request holds the NUL character (U+0000), which cannot be stored")
    method = getattr(server, name, None)
    if callable(method):
        return method(*args, **kwargs)
    function = getattr(server_module(), name, None)
    if function is None:  # pragma: no cover - a missing use case is a bug of the build
        raise NotImplementedError(f"the server has no use case '{name}'")
    return function(server, *args, **kwargs)


def page_of(offset: int, limit: int) -> Any:
    """The services' ``Page(offset, limit)`` (a plain pair where it has none)."""
    page = getattr(server_module(), "Page", None)
    return page(offset=offset, limit=limit) if page is not None else {"offset": offset, "limit": limit}


async def soon(server: Any, work: Callable[[], Any]) -> Any:
    """``work()``: at once if the server answers it from memory (``server.from_memory``), else in a worker thread."""
    from_memory = getattr(server, "from_memory", None)
    if callable(from_memory):
        done, value = from_memory(work)
        if done:
            return value
    return await run_in_threadpool(work)
