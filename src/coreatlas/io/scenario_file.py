"""Scenario files (YAML): one scenario, or a list under ``scenarios:``.

```yaml
name: taiwan-at-30
description: Taiwan's capacity falls to 30% (a blockade)
capacity: {TWN: 0.3}          # country codes or firm names -> fraction that remains
remove_countries: [NLD]       # country or region codes
remove_firms: [ASML]          # firm names, aliases or ids
remove_blocs: [core]          # every country of a bloc
only_bloc: allies             # a bloc name or a list of codes: everything else drops out
export_control: {denied_by: core, target: CHN}
policies: [fcc_covered_list]  # policy ids of the dataset's policies.csv
```

This module only parses and checks the shape (every problem names the file and line);
:mod:`coreatlas.services` resolves names against a map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from coreatlas.errors import Problem, ValidationError
from coreatlas.io.yamlfile import compose_yaml, plain

__all__ = ["SCENARIO_KEYS", "ScenarioSpec", "read_scenarios"]

SCENARIO_KEYS = (
    "name",
    "description",
    "remove_countries",
    "remove_firms",
    "remove_blocs",
    "only_bloc",
    "capacity",
    "export_control",
    "policies",
)
LIST_KEYS = ("remove_countries", "remove_firms", "remove_blocs", "policies")


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario as written, before names are resolved against a map."""

    name: str
    description: str = ""
    remove_countries: tuple[str, ...] = ()
    remove_firms: tuple[str, ...] = ()
    remove_blocs: tuple[str, ...] = ()
    only_bloc: str | tuple[str, ...] | None = None
    capacity: dict[str, float] = field(default_factory=dict)
    export_control: dict | None = None
    policies: tuple[str, ...] = ()
    origin: str = ""


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _problem(path: Path, node: yaml.Node, message: str, key: str | None = None) -> ValidationError:
    return ValidationError(Problem(message, file=str(path), line=_line(node), column=key))


def _as_list(path: Path, key: str, node: yaml.Node, value) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise _problem(path, node, f"'{key}' must be a list of names or codes", key)


def _capacity(path: Path, node: yaml.Node, value) -> dict[str, float]:
    if not isinstance(value, dict):
        raise _problem(path, node, "'capacity' must map a country code or firm to a fraction, e.g. {TWN: 0.3}", "capacity")
    out = {}
    for key, fraction in value.items():
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
            raise _problem(
                path, node, f"capacity of '{key}' is {fraction!r}; expected a fraction in [0, 1] (0.3 = 30% remains)", "capacity"
            )
        out[str(key)] = float(fraction)
    return out


def _spec(path: Path, node: yaml.Node, index: int) -> ScenarioSpec:
    if not isinstance(node, yaml.MappingNode):
        raise _problem(path, node, "a scenario must be a mapping of keys such as name, remove_countries, capacity")
    fields: dict = {"name": f"scenario-{index + 1}", "origin": f"{path}:{_line(node)}"}
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in SCENARIO_KEYS:
            raise _problem(path, key_node, f"unknown key '{key}'; expected one of {', '.join(SCENARIO_KEYS)}", key)
        value = plain(value_node)
        fields[key] = _field(path, key, value_node, value)
    return ScenarioSpec(**fields)


def _field(path: Path, key: str, node: yaml.Node, value):
    if key in LIST_KEYS:
        return _as_list(path, key, node, value)
    if key == "capacity":
        return _capacity(path, node, value)
    if key == "only_bloc":
        return value if isinstance(value, str) else _as_list(path, key, node, value)
    if key == "export_control":
        if not isinstance(value, dict) or set(value) != {"denied_by", "target"}:
            raise _problem(path, node, "'export_control' needs exactly 'denied_by' (a bloc or codes) and 'target' (a country code)", key)
        return value
    return str(value)


def read_scenarios(path: Path | str) -> list[ScenarioSpec]:
    """Parse a scenario file; raise :class:`ValidationError` with file and line on problems."""
    path = Path(path)
    root = compose_yaml(path, "a scenario")
    nodes = [root]
    if isinstance(root, yaml.MappingNode):
        keys = {k.value: v for k, v in root.value}
        if "scenarios" in keys:
            nodes = keys["scenarios"].value if isinstance(keys["scenarios"], yaml.SequenceNode) else [keys["scenarios"]]
    elif isinstance(root, yaml.SequenceNode):
        nodes = root.value
    return [_spec(path, node, i) for i, node in enumerate(nodes)]
