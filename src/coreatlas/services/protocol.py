"""The protocol every use case follows: a typed request in, a result out, progress on the way.

- A **request** is a pydantic model (:class:`Request`): it validates, carries field paths in
  its errors and gives the REST API its JSON Schema.
- A **result** (:class:`Result`) has ``to_dict()`` (JSON-ready, stable keys, always with
  ``provenance``), ``to_frame()`` (a tidy table), ``provenance`` (what it was computed from),
  and, for saving, ``tables()`` and ``charts()``.
- **Progress** is ``progress(done, total)``, ``total`` None when unknown.
- :func:`use_case` registers each service function under a name, with its request type, so
  every front end finds the same list (:data:`USE_CASES`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from coreatlas._version import __version__
from coreatlas.model.spec import Spec, parse_model

__all__ = [
    "USE_CASES",
    "Progress",
    "Provenance",
    "Request",
    "Result",
    "UseCase",
    "content_hash",
    "make_provenance",
    "parse_request",
    "report",
    "use_case",
]

#: ``progress(done, total)``: ``done`` units of ``total`` (None when unknown) are finished.
Progress = Callable[[int, int | None], None] | None


def report(progress: Progress, done: int, total: int | None) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(done, total)


# ---- requests -------------------------------------------------------------------------------
class Request(Spec):
    """Base of every request: immutable, unknown fields refused (see :class:`~coreatlas.model.spec.Spec`)."""


def parse_request(model: type[Request], data: Any, prefix: str = "") -> Any:
    """A request from plain data (a JSON body, a dict); errors name each field's path."""
    return parse_model(model, data, prefix)


# ---- provenance -----------------------------------------------------------------------------
def content_hash(*parts: pd.DataFrame | np.ndarray | bytes | str) -> str:
    """SHA-256 (16 hex digits) of tables, arrays, bytes or text: equal content hashes equal."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(pd.util.hash_pandas_object(part.astype(str), index=False).to_numpy().tobytes())
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """What a result was computed from: enough to compute it again."""

    dataset: str
    version: str
    content_hash: str
    request: dict = field(default_factory=dict)
    seed: int | None = None
    software: str = f"coreatlas {__version__}"
    created_at: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def make_provenance(dataset: str, version: str, digest: str, request: Request | dict | None, seed: int | None = None) -> Provenance:
    data = request.to_dict() if isinstance(request, Request) else dict(request or {})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Provenance(dataset, str(version), digest, data, seed, created_at=now)


# ---- results --------------------------------------------------------------------------------
class Result:
    """Mixin of every result: subclasses define ``payload()`` (JSON-ready keys) and
    ``to_frame()``; ``to_dict()`` adds the provenance. ``tables()`` and ``charts()`` say what
    a result folder holds (:func:`coreatlas.services.save.save_result`)."""

    provenance: Provenance
    #: the name of the main table in a result folder
    table_name: ClassVar[str] = "result"

    def payload(self) -> dict:
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {**self.payload(), "provenance": self.provenance.to_dict()}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {self.table_name: self.to_frame()}

    def charts(self) -> dict:
        """Name -> :class:`coreatlas.render.Chart` (drawn as PNG and as a Vega-Lite spec)."""
        return {}


# ---- the registry ---------------------------------------------------------------------------
@dataclass(frozen=True)
class UseCase:
    name: str
    request: type[Request]
    run: Callable
    long: bool = False  # long work: a job on the server, a progress bar on the command line


USE_CASES: dict[str, UseCase] = {}


def use_case(name: str, request: type[Request], long: bool = False):
    """Register ``function(request, progress=None) -> Result`` as use case ``name``."""

    def register(function: Callable) -> Callable:
        USE_CASES[name] = UseCase(name, request, function, long)
        return function

    return register
