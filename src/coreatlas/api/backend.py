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

__all__ = ["call", "page_of", "server_module", "soon"]


def server_module():
    return importlib.import_module("coreatlas.services.server")


def call(server: Any, name: str, *args, **kwargs) -> Any:
    """``server.name(*args)`` if the Server has it, else ``services.server.name(server, *args)``."""
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
