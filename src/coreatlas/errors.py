"""The one error hierarchy of CoRe Atlas.

Every error a user can cause (bad data, a bad request, an unknown name) is a
:class:`CoreAtlasError`. It carries

- ``field``: the dotted path of the request field at fault (``cuts.TWN``,
  ``hazards[2].depth``), or None when no single field is;
- ``problems``: for data, every :class:`Problem` found, each with file, line and column.

Messages name no command-line flag: front ends map ``field`` to their own vocabulary
(the CLI to a flag, the REST API to a JSON pointer). :data:`ERROR_TABLE` maps each class to
its machine code, its exit code and its HTTP status, for every front end alike.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ERROR_TABLE",
    "AuthError",
    "CoreAtlasError",
    "DataSourceError",
    "ForbiddenError",
    "InfeasibleError",
    "LimitError",
    "NotFoundError",
    "Problem",
    "RequestError",
    "ScenarioError",
    "ValidationError",
    "WriteError",
    "error_envelope",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    ``file`` and ``line`` are filled in by the adapter that read the data; the pure
    core only knows the ``table`` and, where the table was read from a file, the
    source ``line`` of the offending row. ``field`` is the request field, where one is.
    """

    message: str
    table: str | None = None
    line: int | None = None
    column: str | None = None
    file: str | None = None
    severity: str = "error"
    field: str | None = None

    def location(self) -> str:
        where = self.file or (f"{self.table} table" if self.table else "")
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message, "severity": self.severity}


class CoreAtlasError(Exception):
    """Base class of every error a user can act on; ``field`` names the request field at fault."""

    code = "error"
    exit_code = 2
    http_status = 400

    def __init_subclass__(cls, code: str | None = None, exit_code: int | None = None, http_status: int | None = None, **kwargs):
        """``class XError(CoreAtlasError, code=..., http_status=...)``: each class states its row of the table."""
        super().__init_subclass__(**kwargs)
        cls.code = code or cls.code
        cls.exit_code = exit_code or cls.exit_code
        cls.http_status = http_status or cls.http_status

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self)

    @property
    def problems(self) -> list[Problem]:
        return []

    def to_dict(self) -> dict:
        """The error envelope's body: code, message, field and located problems."""
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "problems": [p.to_dict() for p in self.problems],
        }


class ValidationError(CoreAtlasError, code="invalid_data", http_status=422):
    """The data are malformed; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, *, field: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, field=field)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self._problems = list(problems)
        first = str(self._problems[0]) if self._problems else "invalid data"
        more = len(self._problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""),
                         field=field or next((p.field for p in self._problems if p.field), None))  # fmt: skip

    @property
    def problems(self) -> list[Problem]:
        return self._problems


class RequestError(ValidationError, ValueError, code="invalid_request"):
    """A request (its options or body) is malformed: a value out of range, a missing choice.
    It is a :class:`ValueError` too, so that Python callers catching that keep working."""


class DataSourceError(CoreAtlasError, code="data_source"):
    """A data source cannot be found, read or recognised, or a result cannot be written."""


class WriteError(DataSourceError, OSError):
    """A result cannot be written (a full disk, no permission). It is an :class:`OSError` too,
    so that Python callers catching that keep working."""


class ScenarioError(CoreAtlasError, code="invalid_scenario", http_status=422):
    """A scenario names something that does not exist or is malformed."""


class NotFoundError(CoreAtlasError, code="not_found", http_status=404):
    """A named node, provider, bloc or dataset does not exist."""


class LimitError(CoreAtlasError, code="limit_exceeded", http_status=413):
    """A request asks for more work or memory than the stated limit allows."""


class InfeasibleError(CoreAtlasError, code="infeasible", exit_code=3, http_status=409):
    """The request is well formed but has no solution (an infeasible or unbounded program)."""


class AuthError(CoreAtlasError, code="unauthorized", exit_code=4, http_status=401):
    """No valid credentials: a missing, unknown, expired or revoked token or session."""


class ForbiddenError(CoreAtlasError, code="forbidden", exit_code=4, http_status=403):
    """The caller is known but its role or token scope does not allow this."""


#: Each error class: (code, exit code, HTTP status). Front ends take both numbers from here.
ERROR_TABLE: dict[type[CoreAtlasError], tuple[str, int, int]] = {
    cls: (cls.code, cls.exit_code, cls.http_status)
    for cls in (CoreAtlasError, ValidationError, RequestError, DataSourceError, ScenarioError, NotFoundError, LimitError, InfeasibleError,
                AuthError, ForbiddenError)
}  # fmt: skip


def error_envelope(exc: CoreAtlasError) -> dict:
    """``{"error": {"code", "message", "field", "problems": [...]}}``, as the REST API answers."""
    return {"error": exc.to_dict()}
