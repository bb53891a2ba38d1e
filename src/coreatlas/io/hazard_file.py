"""Hazard files (YAML) for Monte Carlo ensembles: ``load YAML -> dict -> model``.

```yaml
hazards:
  - name: taiwan-strait-blockade
    targets: [TWN]                 # country or region codes, firm ids or node ids, struck together
    annual_probability: 0.02
    duration_days: {uniform: [30, 180]}    # a number, or {fixed|uniform|triangular|lognormal|beta: [params]}
    depth: {uniform: [0.5, 1.0]}           # share of capacity lost (default 1)
```

The file parses into :class:`coreatlas.model.hazards.HazardList`, exactly as the same content
given as a dict would; every problem names the file, the line and the key. Reading a hazard
file imports no engine.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from coreatlas.errors import CoreAtlasError, Problem, ValidationError
from coreatlas.io.yamlfile import YamlDocument, load_yaml, locate_error, validate_yaml
from coreatlas.model.hazards import Hazard, HazardList

__all__ = ["locate_listed", "read_hazard_file", "read_hazards", "read_listed", "worded"]


def worded(exc: ValidationError, keys) -> ValidationError:
    """pydantic's generic words for a missing or unknown key, said as the file's reader says them."""

    def reword(p: Problem) -> Problem:
        if p.message == "required field is missing":
            return dataclasses.replace(p, message=f"missing '{p.column}'")
        if p.message.startswith("unknown key "):
            return dataclasses.replace(p, message=f"unknown key(s) {p.column}; expected {', '.join(keys)}")
        return p

    problems = [reword(p) for p in exc.problems]
    problems.sort(key=lambda p: not p.message.startswith("unknown key"))  # a misspelt key explains a missing one
    return ValidationError(problems, field=exc.field)


def read_listed(path: Path | str, key: str, model, item, expected: str, non_empty: bool = False):
    """``model`` (whose field ``key`` lists ``item`` models) from a file holding that list under
    ``key:`` or alone; returns the model and the document."""
    doc = load_yaml(path, expected)
    data, prefix = doc.data, ""
    if isinstance(data, list):
        data, prefix = {key: data}, key
    listed = data.get(key) if isinstance(data, dict) else None
    if not isinstance(listed, list) or (non_empty and not listed):
        what = "a non-empty list" if non_empty else "a list"
        raise ValidationError(Problem(f"expected {what} under '{key}:'", file=str(doc.path), line=1))
    try:
        return validate_yaml(doc, model, data, prefix), doc
    except ValidationError as exc:
        raise worded(exc, item.model_fields) from None


def locate_listed(doc: YamlDocument, exc: CoreAtlasError, key: str) -> ValidationError:
    """``exc``, raised later for field ``<key>[i]...`` of a file read by :func:`read_listed`, located in the file."""
    return locate_error(doc, exc, key if isinstance(doc.data, list) else "")


def read_hazard_file(path: Path | str) -> tuple[list[Hazard], YamlDocument]:
    """The hazards of a file and the document (to locate later errors, e.g. unknown targets)."""
    parsed, doc = read_listed(path, "hazards", HazardList, Hazard, "hazards")
    return parsed.hazards, doc


def read_hazards(path: Path | str) -> list[Hazard]:
    """Parse a hazard file; raise :class:`ValidationError` with file and line on problems."""
    return read_hazard_file(path)[0]
