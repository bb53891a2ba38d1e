"""Work done once per technology map: maps are immutable, so what is derived from one (its
supply atoms, its static engine) is kept while the map lives and dropped with it.

A server answers many requests on the same few maps; a notebook asks many questions of one.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TypeVar

from coreatlas.model.techmap import TechMap

__all__ = ["per_map"]

T = TypeVar("T")
_CACHE: dict[int, tuple[weakref.ref, dict]] = {}


def _entry(tm: TechMap) -> dict:
    ident = id(tm)
    entry = _CACHE.get(ident)
    if entry is None or entry[0]() is not tm:  # a new map, or an old id reused after its map died
        entry = (weakref.ref(tm, lambda _, cache=_CACHE, key=ident: cache.pop(key, None)), {})
        _CACHE[ident] = entry
    return entry[1]


def per_map(build: Callable[..., T]) -> Callable[..., T]:
    """``build(tm, *args, **kwargs)`` computed once per map and arguments (which must be hashable)."""

    @functools.wraps(build)
    def cached(tm: TechMap, *args, **kwargs) -> T:
        results = _entry(tm)
        key = (build.__qualname__, args, tuple(sorted(kwargs.items())))
        if key not in results:
            results[key] = build(tm, *args, **kwargs)
        return results[key]

    return cached
