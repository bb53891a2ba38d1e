"""Static disruption scenarios as data.

A scenario says which providers drop out or run at part capacity; it names countries by
code and firms by provider id (front ends resolve names). :func:`country_factors` and
:func:`firm_factors` in :mod:`coreatlas.analysis.propagate` turn it into numbers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from coreatlas.errors import ScenarioError
from coreatlas.model.countries import is_iso_alpha3

if TYPE_CHECKING:
    from coreatlas.model.techmap import TechMap

__all__ = ["Exclusion", "ExportControl", "Scenario"]


@dataclass(frozen=True)
class ExportControl:
    """Countries ``denied_by`` refuse their supply to country ``target``."""

    denied_by: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class Exclusion:
    """Providers (firm ids or country codes) excluded at ``nodes`` (empty = every node).

    This is how a vendor policy that covers only some components is expressed, e.g.
    a high-risk vendor kept out of the core network but not of the radio units.
    """

    providers: tuple[str, ...]
    nodes: tuple[str, ...] = ()
    label: str = ""

    def summary(self) -> str:
        where = f" at {', '.join(self.nodes)}" if self.nodes else ""
        label = f" ({self.label})" if self.label else ""
        return f"exclude {', '.join(self.providers)}{where}{label}"


@dataclass(frozen=True)
class Scenario:
    """Which providers are lost or cut.

    Codes and firm ids are checked against a map when the scenario runs (:meth:`checked`):
    an unknown one is an error, and a code of the wrong case is upper-cased.

    Attributes
    ----------
    name : str
    remove_countries : tuple of str
        Country (or region) codes whose providers drop out entirely.
    remove_firms : tuple of str
        Provider ids of firms that drop out.
    only_bloc : tuple of str or None
        If given, every country outside this set (codes, or bloc names such as ``core``)
        drops out ("friend-shoring only").
    capacity : mapping of str to float
        Country codes or firm ids running at a fraction of capacity (``{"TWN": 0.3}``:
        Taiwan at 30%).
    export_control : ExportControl or None
        Supply denied to one target country; results are that country's access.
    exclusions : tuple of Exclusion
        Providers excluded at some nodes only (vendor policies such as the FCC Covered List).
    """

    name: str = "scenario"
    description: str = ""
    remove_countries: tuple[str, ...] = ()
    remove_firms: tuple[str, ...] = ()
    only_bloc: tuple[str, ...] | None = None
    capacity: Mapping[str, float] = field(default_factory=dict)
    export_control: ExportControl | None = None
    exclusions: tuple[Exclusion, ...] = ()

    def __post_init__(self) -> None:
        for name in ("remove_countries", "remove_firms", "only_bloc"):
            value = getattr(self, name)
            if isinstance(value, str):  # "TWN, KOR" from Python: a list, not its letters
                object.__setattr__(self, name, tuple(v.strip() for v in value.split(",") if v.strip()))
        for key, value in self.capacity.items():
            if not 0.0 <= _number(value) <= 1.0:
                msg = f"capacity.{key} is {value}; expected a fraction in [0, 1] (0.3 = 30% of capacity remains)"
                raise ScenarioError(msg, field=f"capacity.{key}")
        object.__setattr__(self, "capacity", MappingProxyType(dict(self.capacity)))

    def summary(self) -> str:
        """One line saying what the scenario does."""
        parts = []
        if self.remove_countries:
            parts.append("remove " + ", ".join(self.remove_countries))
        if self.remove_firms:
            parts.append("remove firms " + ", ".join(self.remove_firms))
        if self.only_bloc is not None:
            parts.append("only " + ", ".join(self.only_bloc))
        parts += [f"{key} at {value:.0%}" for key, value in self.capacity.items()]
        if self.export_control:
            ec = self.export_control
            parts.append(f"{', '.join(ec.denied_by)} deny inputs to {ec.target}")
        parts += [exclusion.summary() for exclusion in self.exclusions]
        return "; ".join(parts) or "no change"

    def checked(self, tm: TechMap) -> Scenario:
        """This scenario with its codes normalised against ``tm`` (``twn`` is ``TWN``, by
        :meth:`TechMap.code_of`); an unknown country code or firm id raises
        :class:`ScenarioError` naming its field (``remove_countries[0]``, ``capacity.QQQ``)."""
        control = self.export_control
        if control is not None:
            denied = tuple(tm.check_code(c, f"export_control.denied_by[{i}]") for i, c in enumerate(control.denied_by))
            control = ExportControl(denied, tm.check_code(control.target, "export_control.target"))
        bloc = None
        if self.only_bloc is not None:  # bloc names (core) stand for their codes
            named = [c for item in self.only_bloc for c in tm.blocs.get(item, (item,))]
            bloc = _codes(tm, tuple(named), "only_bloc")
        return dataclasses.replace(
            self,
            remove_countries=_codes(tm, self.remove_countries, "remove_countries"),
            remove_firms=tuple(_firm(tm, f, f"remove_firms[{i}]") for i, f in enumerate(self.remove_firms)),
            only_bloc=bloc,
            capacity={_capacity_key(tm, key): value for key, value in self.capacity.items()},
            export_control=control,
        )


def _number(value: object) -> float:
    """``value`` as a float, NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _codes(tm: TechMap, codes: tuple[str, ...], field: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tm.check_code(code, f"{field}[{i}]") for i, code in enumerate(codes)))


def _firm_id(tm: TechMap, name: object) -> str | None:
    """The firm id ``name`` is, as written or in another case; None if no firm has it."""
    if name in tm.firm_ids:
        return name
    folded = {f.casefold(): f for f in tm.firm_ids}
    return folded.get(name.strip().casefold()) if isinstance(name, str) else None


def _firm(tm: TechMap, firm_id: str, field: str) -> str:
    if _firm_id(tm, firm_id) is not None:
        return _firm_id(tm, firm_id)
    raise ScenarioError(f"unknown firm '{firm_id}' in {tm.meta.name}; give the provider id of one of its firms", field=field)


def _capacity_key(tm: TechMap, key: str) -> str:
    """A capacity key: a code as written (of the map or ISO), a firm id, or a code in another case."""
    if key in tm.code_set or key in tm.firm_ids or is_iso_alpha3(key):
        return key
    code = _firm_id(tm, key) or tm.code_of(key)
    if code is None:
        raise ScenarioError(f"capacity.{key}: unknown country code or firm '{key}' in {tm.meta.name}; use ISO 3166 alpha-3 codes "
                            "such as TWN or the provider id of a firm", field=f"capacity.{key}")  # fmt: skip
    return code
