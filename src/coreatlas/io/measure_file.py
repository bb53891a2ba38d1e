"""Measure files (YAML) for the investment optimiser.

```yaml
measures:
  - id: us-fab-expansion
    kind: capacity            # capacity | second_source | stockpile | open_ran
    node: wafer_fabrication
    country: USA
    added_share: 0.10         # of the node's current output
    cost_usd: 12.0e9
    lead_time_days: 1000      # reported, not modelled
    commitment: chips_act_2022   # optional: a commitment_id of the map's commitments ledger
  - {id: neon-reserve, kind: stockpile, node: neon, days: 90, cost_usd: 4.0e7}
  - {id: open-ran, kind: open_ran, node: ran_proprietary, target_node: ran_open, adoption: 0.3, cost_usd: 1.0e9}
```
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from coreatlas.analysis.measures import Measure
from coreatlas.errors import Problem, ValidationError
from coreatlas.io.yamlfile import compose_yaml, plain

__all__ = ["read_measures"]

FIELDS = {f.name: f.type for f in dataclasses.fields(Measure)}
NUMBERS = ("cost_usd", "added_share", "days", "adoption", "lead_time_days")


def _number(value, path: Path, line: int, key: str) -> float:
    """A number; YAML 1.1 reads ``20.0e9`` as a string, so such strings are accepted too."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError(Problem(f"expected a number, got '{value}'", file=str(path), line=line, column=key)) from None


def _measure(path: Path, node: yaml.Node) -> Measure:
    line = node.start_mark.line + 1
    raw = plain(node)
    if not isinstance(raw, dict):
        raise ValidationError(Problem("each measure must be a mapping (id, kind, cost_usd, node, ...)", file=str(path), line=line))
    unknown = [k for k in raw if k not in FIELDS]
    missing = [k for k in ("id", "kind", "cost_usd", "node") if k not in raw]
    if unknown or missing:
        what = f"unknown key(s) {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
        raise ValidationError(Problem(f"{what}; expected {', '.join(FIELDS)}", file=str(path), line=line, column=(unknown or missing)[0]))
    for key in NUMBERS:
        if key in raw:
            raw[key] = _number(raw[key], path, line, key)
    values = {k: (v if k in NUMBERS else str(v)) for k, v in raw.items()}
    try:
        return Measure(**values)
    except ValidationError as exc:
        raise ValidationError(Problem(str(exc), file=str(path), line=line)) from None


def read_measures(path: Path | str) -> list[Measure]:
    path = Path(path)
    root = compose_yaml(path, "measures")
    items = None
    if isinstance(root, yaml.MappingNode):
        keys = {k.value: v for k, v in root.value}
        items = keys.get("measures")
    if not isinstance(items, yaml.SequenceNode) or not items.value:
        raise ValidationError(Problem("expected a non-empty list under 'measures:'", file=str(path), line=1))
    measures = [_measure(path, node) for node in items.value]
    seen = set()
    for m in measures:
        if m.id in seen:
            raise ValidationError(Problem(f"measure id '{m.id}' appears twice", file=str(path)))
        seen.add(m.id)
    return measures
