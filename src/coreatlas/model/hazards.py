r"""Hazards and their distributions: the data of a Monte Carlo ensemble (docs/risk.md).

A :class:`Hazard` strikes its ``targets`` (country or region codes, firm ids or node ids, all
together) in a year with probability ``annual_probability``; when it strikes it removes
``depth`` of their capacity for ``duration_days``, both drawn from a :class:`Distribution`.

A hazard file and a JSON body give the same objects: a distribution is written as a number
(``36.5``, fixed), in short form (``{uniform: [30, 180]}``) or in full
(``{kind: uniform, params: [30, 180]}``). Nothing here imports an engine.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import pydantic

from coreatlas.model.spec import CodeList, Spec

__all__ = ["DISTRIBUTIONS", "ENGINES", "Distribution", "Hazard", "HazardList", "Hazards"]

#: Distribution kinds and how many parameters each takes.
DISTRIBUTIONS = {"fixed": 1, "uniform": 2, "triangular": 3, "lognormal": 2, "beta": 2}
#: Engines an ensemble can run on: static (availability x duration) or dynamic (firm level, day by day).
ENGINES = ("static", "dynamic")
FORMS = "a number or one of {" + "|".join(DISTRIBUTIONS) + ": [parameters]}"


def _short_form(value: Any) -> Any:
    """``36.5`` -> fixed; ``{uniform: [30, 180]}`` -> kind and params; the full form passes."""
    if isinstance(value, Distribution) or (isinstance(value, dict) and "kind" in value):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"kind": "fixed", "params": (float(value),)}
    if isinstance(value, dict) and len(value) == 1:
        kind, params = next(iter(value.items()))
        return {"kind": kind, "params": params if isinstance(params, list | tuple) else (params,)}
    raise ValueError(f"expected {FORMS}")


def _kind(value: Any) -> Any:
    if not isinstance(value, str) or value not in DISTRIBUTIONS:
        raise ValueError(f"distribution '{value}' is not one of {', '.join(DISTRIBUTIONS)}")
    return value


def _parameter_problem(kind: str, p: tuple[float, ...]) -> str:
    """What is wrong with the parameters of a ``kind`` distribution ("" if nothing)."""
    rules = {
        "uniform": (lambda: p[0] <= p[1], "expected low <= high"),
        "triangular": (lambda: p[0] <= p[1] <= p[2] and p[0] < p[2], "expected low <= mode <= high with low < high"),
        "lognormal": (lambda: p[0] > 0 and p[1] >= 0, "expected a median > 0 and sigma >= 0"),
        "beta": (lambda: p[0] > 0 and p[1] > 0, "expected both shape parameters > 0"),
    }
    ok, hint = rules.get(kind, (lambda: True, ""))
    return "" if ok() else hint


def _within(what: str, value: Distribution, low: float, high: float) -> Distribution:
    """``value`` if every draw lies in ``[low, high]``, else a ValueError naming ``what``."""
    lo, hi = value.support()
    if not (lo >= low and hi <= high):
        span = f"at least {low:g}" if high == np.inf else f"in [{low:g}, {high:g}]"
        given = f"not {lo:g}" if value.kind == "fixed" else f"{value.kind} {list(value.params)} can give {lo:g} to {hi:g}"
        raise ValueError(f"{what} must be {span}, {given}")
    return value


class Distribution(Spec):
    """``fixed(v)``, ``uniform(low, high)``, ``triangular(low, mode, high)``,
    ``lognormal(median, sigma)`` or ``beta(a, b)`` (for depths in [0, 1])."""

    kind: Annotated[Literal["fixed", "uniform", "triangular", "lognormal", "beta"], pydantic.BeforeValidator(_kind)]
    params: tuple[float, ...]

    @pydantic.model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _short_form(value)

    @pydantic.model_validator(mode="after")
    def _count(self) -> Distribution:
        if len(self.params) != DISTRIBUTIONS[self.kind]:
            raise ValueError(f"a {self.kind} distribution takes {DISTRIBUTIONS[self.kind]} parameter(s), not {len(self.params)}")
        if not all(np.isfinite(self.params)):
            raise ValueError(f"{self.kind} parameters must be finite numbers, not {list(self.params)}")
        problem = _parameter_problem(self.kind, self.params)
        if problem:
            raise ValueError(f"{self.kind} {list(self.params)}: {problem}")
        return self

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        p = self.params
        if self.kind in ("fixed", "uniform", "triangular"):
            return p[0], p[-1]
        return (0.0, np.inf) if self.kind == "lognormal" else (0.0, 1.0)

    @classmethod
    def fixed(cls, value: float) -> Distribution:
        return cls(kind="fixed", params=(float(value),))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        p = self.params
        if self.kind == "fixed":
            return np.full(size, float(p[0]))
        if self.kind == "uniform":
            return rng.uniform(p[0], p[1], size)
        if self.kind == "triangular":
            return rng.triangular(p[0], p[1], p[2], size)
        if self.kind == "lognormal":
            return float(p[0]) * np.exp(float(p[1]) * rng.standard_normal(size))
        return rng.beta(p[0], p[1], size)

    def mean(self) -> float:
        p = [float(x) for x in self.params]
        means = {"fixed": lambda: p[0], "uniform": lambda: (p[0] + p[1]) / 2, "triangular": lambda: sum(p) / 3}
        means |= {"lognormal": lambda: p[0] * np.exp(p[1] ** 2 / 2), "beta": lambda: p[0] / (p[0] + p[1])}
        return means[self.kind]()


class Hazard(Spec):
    """A hazard striking ``targets`` (country/region codes, firm ids or node ids) together."""

    name: str = pydantic.Field("", description="Name (default: 'hazard N' by position).")
    targets: CodeList = pydantic.Field(description="Country or region codes, firm ids or node ids, struck together.")
    annual_probability: float = pydantic.Field(description="Probability that the hazard strikes in a year, in [0, 1].")
    duration_days: Distribution = pydantic.Field(description="Days the capacity is lost: " + FORMS + ".")
    depth: Distribution = pydantic.Field(Distribution.fixed(1.0), description="Share of capacity lost (default 1).")

    @pydantic.field_validator("annual_probability")
    @classmethod
    def _probability(cls, value: float, info: pydantic.ValidationInfo) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"hazard '{info.data.get('name', '')}': annual probability {value} must be in [0, 1]")
        return value

    @pydantic.field_validator("duration_days")
    @classmethod
    def _duration(cls, value: Distribution) -> Distribution:
        return _within("a duration in days", value, 0.0, np.inf)

    @pydantic.field_validator("depth")
    @classmethod
    def _depth(cls, value: Distribution) -> Distribution:
        return _within("a depth (share of capacity lost)", value, 0.0, 1.0)

    @pydantic.model_validator(mode="after")
    def _strikes(self) -> Hazard:
        if not self.targets:
            raise ValueError(f"hazard '{self.name}' strikes nothing: give at least one target")
        return self


def _numbered(hazards: list[Hazard]) -> list[Hazard]:
    """Hazards without a name are called ``hazard 1``, ``hazard 2``, ... by position."""
    return [h if h.name else h.model_copy(update={"name": f"hazard {i + 1}"}) for i, h in enumerate(hazards)]


#: A list of hazards, unnamed ones named by position.
Hazards = Annotated[list[Hazard], pydantic.AfterValidator(_numbered)]


class HazardList(Spec):
    """The content of a hazard file: ``hazards: [...]``."""

    hazards: Hazards
