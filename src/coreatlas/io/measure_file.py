"""Measure files (YAML) for the investment optimiser: ``load YAML -> dict -> model``.

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

The file parses into :class:`coreatlas.model.measures.MeasureList`, exactly as the same content
given as a dict would; every problem names the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path

from coreatlas.io.hazard_file import read_listed
from coreatlas.io.yamlfile import YamlDocument
from coreatlas.model.measures import Measure, MeasureList

__all__ = ["read_measure_file", "read_measures"]


def read_measure_file(path: Path | str) -> tuple[list[Measure], YamlDocument]:
    """The measures of a file and the document (to locate later errors, e.g. unknown nodes)."""
    parsed, doc = read_listed(path, "measures", MeasureList, Measure, "measures", non_empty=True)
    return parsed.measures, doc


def read_measures(path: Path | str) -> list[Measure]:
    """Parse a measure file; raise :class:`ValidationError` with file and line on problems."""
    return read_measure_file(path)[0]
