"""A scenario as a user writes it (a YAML file, a JSON body, command-line options), before
names are resolved against a map.

:func:`coreatlas.services.maps.build_scenario` resolves a :class:`ScenarioSpec` into the
:class:`~coreatlas.model.scenario.Scenario` the engine runs: bloc names into codes, firm names
and aliases into provider ids, policy ids into exclusions.
"""

from __future__ import annotations

import pydantic

from coreatlas.model.spec import CodeList, Spec

__all__ = ["SCENARIO_KEYS", "ExportControlSpec", "ScenarioSpec"]

Fraction = pydantic.confloat(ge=0.0, le=1.0, allow_inf_nan=False)


class ExportControlSpec(Spec):
    """Countries of ``denied_by`` (a bloc name or codes) refuse their supply to ``target``."""

    denied_by: str | CodeList
    target: str


class ScenarioSpec(Spec):
    """Which providers drop out or run at part capacity (docs/scenarios.md).

    ``capacity`` maps a country code or a firm (id, name or alias) to the fraction of its
    capacity that remains: ``{"TWN": 0.3}`` is Taiwan at 30%.
    """

    name: str = "scenario"
    description: str = ""
    remove_countries: CodeList = ()
    remove_firms: CodeList = ()
    remove_blocs: CodeList = ()
    only_bloc: str | CodeList | None = None
    capacity: dict[str, Fraction] = pydantic.Field(default_factory=dict)
    export_control: ExportControlSpec | None = None
    policies: CodeList = ()

    def is_empty(self) -> bool:
        """True when the spec changes nothing."""
        return not (self.remove_countries or self.remove_firms or self.remove_blocs or self.only_bloc or self.capacity
                    or self.export_control or self.policies)  # fmt: skip

    def describe(self) -> str:
        """A name saying what the scenario does, e.g. ``remove NLD; TWN at 30%``."""
        parts = [f"remove {','.join(self.remove_countries)}"] if self.remove_countries else []
        parts += [f"remove {','.join(self.remove_firms)}"] if self.remove_firms else []
        parts += [f"remove bloc {','.join(self.remove_blocs)}"] if self.remove_blocs else []
        parts += [f"only {self.only_bloc if isinstance(self.only_bloc, str) else ','.join(self.only_bloc)}"] if self.only_bloc else []
        parts += [f"{k} at {v:.0%}" for k, v in self.capacity.items()]
        parts += [f"policy {p}" for p in self.policies]
        return "; ".join(parts) or "no change"


SCENARIO_KEYS = tuple(ScenarioSpec.model_fields)
