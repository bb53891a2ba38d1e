"""Resilience measures as data: what the investment optimiser may buy (docs/risk.md).

A :class:`Measure` costs ``cost_usd`` and is one of :data:`MEASURE_KINDS`:

* ``capacity`` — new capacity at ``node`` in ``country``, ``added_share`` of the node's
  current output (a new plant; ``lead_time_days`` is reported, not modelled);
* ``second_source`` — qualifying a supplier in ``country`` for ``added_share`` of ``node``;
* ``stockpile`` — ``days`` of ``node``'s output held in reserve;
* ``open_ran`` — moving ``adoption`` of the demand for ``node`` to ``target_node``.

Any measure may name a ``commitment`` of the map's commitments ledger that could pay for it.
A measure file and a JSON body give the same objects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from coreatlas.model.spec import Spec

__all__ = ["MEASURE_KINDS", "OBJECTIVES", "Measure", "MeasureList", "Measures"]

MEASURE_KINDS = ("capacity", "second_source", "stockpile", "open_ran")
#: What the optimiser minimises: the expected annual loss or its CVaR (expected shortfall).
OBJECTIVES = ("expected", "cvar")


def _number(value: Any) -> float:
    """A number; YAML 1.1 reads ``20.0e9`` as text, so such text is accepted too."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got '{value}'") from None


Number = Annotated[float, pydantic.BeforeValidator(_number)]


class Measure(Spec):
    """One candidate measure (see the module doc)."""

    id: str
    kind: Literal["capacity", "second_source", "stockpile", "open_ran"]
    cost_usd: Number = pydantic.Field(description="Cost in USD.")
    node: str
    country: str = ""
    added_share: Number = 0.0
    days: Number = 0.0
    target_node: str = ""
    adoption: Number = 1.0
    lead_time_days: Number = 0.0
    commitment: str = ""

    @pydantic.field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        if value not in MEASURE_KINDS:
            raise ValueError(f"measure '{info.data.get('id', '')}': kind '{value}' is not one of {', '.join(MEASURE_KINDS)}")
        return value

    @pydantic.model_validator(mode="after")
    def _complete(self) -> Measure:
        if not self.cost_usd >= 0:
            raise ValueError(f"measure '{self.id}': cost must be >= 0")
        if self.kind in ("capacity", "second_source") and not (self.country and self.added_share > 0):
            raise ValueError(f"measure '{self.id}': a {self.kind} measure needs a country and added_share > 0")
        if self.kind == "stockpile" and not self.days > 0:
            raise ValueError(f"measure '{self.id}': a stockpile needs days > 0")
        if self.kind == "open_ran" and not (self.target_node and 0 < self.adoption <= 1):
            raise ValueError(f"measure '{self.id}': open_ran needs target_node and 0 < adoption <= 1")
        return self


def _unique(measures: list[Measure]) -> list[Measure]:
    seen = set()
    for m in measures:
        if m.id in seen:
            raise ValueError(f"measure id '{m.id}' appears twice")
        seen.add(m.id)
    return measures


#: A list of measures with distinct ids.
Measures = Annotated[list[Measure], pydantic.AfterValidator(_unique)]


class MeasureList(Spec):
    """The content of a measure file: ``measures: [...]`` (at least one)."""

    measures: Annotated[Measures, pydantic.Field(min_length=1)]
