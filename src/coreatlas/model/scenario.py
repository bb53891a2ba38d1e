"""Static disruption scenarios as data.

A scenario says which providers drop out or run at part capacity; it names countries by
code and firms by provider id (front ends resolve names). :func:`country_factors` and
:func:`firm_factors` in :mod:`coreatlas.analysis.propagate` turn it into numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from coreatlas.errors import ScenarioError

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

    Attributes
    ----------
    name : str
    remove_countries : tuple of str
        Country (or region) codes whose providers drop out entirely.
    remove_firms : tuple of str
        Provider ids of firms that drop out.
    only_bloc : tuple of str or None
        If given, every country outside this set drops out ("friend-shoring only").
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
        for key, value in self.capacity.items():
            if not 0.0 <= float(value) <= 1.0:
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
