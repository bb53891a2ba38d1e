"""Hazard files (YAML) for Monte Carlo ensembles.

```yaml
hazards:
  - name: taiwan-strait-blockade
    targets: [TWN]                 # country or region codes, firm ids or node ids, struck together
    annual_probability: 0.02
    duration_days: {uniform: [30, 180]}    # a number, or {fixed|uniform|triangular|lognormal|beta: [params]}
    depth: {uniform: [0.5, 1.0]}           # share of capacity lost (default 1)
```

Every problem names the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from coreatlas.analysis.montecarlo import Distribution, Hazard
from coreatlas.errors import Problem, ValidationError
from coreatlas.io.yamlfile import compose_yaml, plain

__all__ = ["read_hazards"]

KEYS = ("name", "targets", "annual_probability", "duration_days", "depth")


def _problem(path: Path, node: yaml.Node, message: str, key: str | None = None) -> ValidationError:
    return ValidationError(Problem(message, file=str(path), line=node.start_mark.line + 1, column=key))


def _distribution(path: Path, key: str, node: yaml.Node) -> Distribution:
    value = plain(node)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Distribution("fixed", (float(value),))
    if isinstance(value, dict) and len(value) == 1:
        kind, params = next(iter(value.items()))
        params = params if isinstance(params, list) else [params]
        try:
            return Distribution(str(kind), tuple(float(p) for p in params))
        except (ValidationError, TypeError, ValueError) as exc:
            raise _problem(path, node, str(exc), key) from None
    raise _problem(path, node, "expected a number or one of {fixed|uniform|triangular|lognormal|beta: [parameters]}", key)


def _hazard(path: Path, node: yaml.Node, index: int) -> Hazard:
    if not isinstance(node, yaml.MappingNode):
        raise _problem(path, node, "each hazard must be a mapping with name, targets, annual_probability and duration_days")
    items = {k.value: v for k, v in node.value}
    unknown = [k for k in items if k not in KEYS]
    if unknown:
        raise _problem(path, node, f"unknown key(s) {', '.join(unknown)}; expected {', '.join(KEYS)}", unknown[0])
    for key in ("targets", "annual_probability", "duration_days"):
        if key not in items:
            raise _problem(path, node, f"missing '{key}'", key)
    targets = plain(items["targets"])
    targets = [targets] if isinstance(targets, str) else targets
    probability = plain(items["annual_probability"])
    if not isinstance(probability, int | float) or isinstance(probability, bool):
        raise _problem(path, items["annual_probability"], f"expected a probability in [0, 1], got '{probability}'", "annual_probability")
    name = str(plain(items["name"])) if "name" in items else f"hazard {index + 1}"
    depth = _distribution(path, "depth", items["depth"]) if "depth" in items else Distribution("fixed", (1.0,))
    try:
        return Hazard(
            name,
            tuple(str(t) for t in targets or ()),
            float(probability),
            _distribution(path, "duration_days", items["duration_days"]),
            depth,
        )
    except ValidationError as exc:
        raise _problem(path, node, str(exc)) from None


def read_hazards(path: Path | str) -> list[Hazard]:
    """Parse a hazard file; raise :class:`ValidationError` with file and line on problems."""
    path = Path(path)
    root = compose_yaml(path, "hazards")
    nodes = root.value if isinstance(root, yaml.SequenceNode) else None
    if isinstance(root, yaml.MappingNode):
        keys = {k.value: v for k, v in root.value}
        nodes = keys["hazards"].value if "hazards" in keys and isinstance(keys["hazards"], yaml.SequenceNode) else None
    if nodes is None:
        raise ValidationError(Problem("expected a list under 'hazards:'", file=str(path), line=1))
    return [_hazard(path, node, i) for i, node in enumerate(nodes)]
