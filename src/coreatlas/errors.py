"""The one error hierarchy of CoRe Atlas.

Every error a user can cause (bad data, a bad scenario, an unknown name) is a
:class:`CoreAtlasError`. Front ends turn it into one clear message and a non-zero
exit; nothing else should escape to the user as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CoreAtlasError",
    "DataSourceError",
    "NotFoundError",
    "Problem",
    "ScenarioError",
    "ValidationError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    ``file`` and ``line`` are filled in by the adapter that read the data; the pure
    core only knows the ``table`` and, where the table was read from a file, the
    source ``line`` of the offending row.
    """

    message: str
    table: str | None = None
    line: int | None = None
    column: str | None = None
    file: str | None = None
    severity: str = "error"

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


class CoreAtlasError(Exception):
    """Base class of every error a user can act on."""

    exit_code = 2


class ValidationError(CoreAtlasError):
    """The data are malformed; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid data"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))


class DataSourceError(CoreAtlasError):
    """A data source cannot be found, read or recognised."""


class ScenarioError(CoreAtlasError):
    """A scenario names something that does not exist or is malformed."""


class NotFoundError(CoreAtlasError):
    """A named node, provider, bloc or dataset does not exist."""
