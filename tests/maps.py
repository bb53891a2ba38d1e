"""Build tiny technology maps for tests.

``make_map`` takes short specs and returns ``TechMap.from_tables(...)``:

* nodes: ``"a"`` / ``("a", "output")`` / ``("a", "process", 3.0)`` (market size) / dict.
  If ``nodes`` is None, every node named in provision or relations becomes a ``process``.
* providers: ``"USA"`` (a country), ``"EUR"`` (region of DEU;FRA;NLD),
  ``"various_countries"`` (residual), ``("tsmc", "TWN")`` / ``("intel", "USA", "IRL")``
  (a firm with headquarters and optional site country) or a dict.
  With ``auto_providers`` (default) every provision id that looks like a country code,
  ``EUR`` or ``various_countries`` is added if not declared; firms must be declared.
* provision: ``("a", "USA", 0.5)``; ``("a", "USA")`` or ``("a", "USA", None)`` is
  qualitative; or a dict. Numeric shares get ``year=2023, source="test"`` unless a
  dict says otherwise.
* relations: ``("a", "uses", "b")`` / ``("v", "variant_of", "p")`` or a dict.

Rows get the line they would have in a CSV file (header = line 1, first row = line 2)
unless ``lines=False`` or a dict gives its own ``line``.
"""

from __future__ import annotations

import pandas as pd

from coreatlas.model import schema
from coreatlas.model.techmap import LINE, Metadata, TechMap

__all__ = [
    "EUR_MEMBERS",
    "META",
    "country",
    "firm",
    "make_map",
    "region",
    "residual",
]

EUR_MEMBERS = ("DEU", "FRA", "NLD")
RESIDUAL = "various_countries"


def _meta(share_tolerance: float = 0.02) -> Metadata:
    return Metadata(name="t", version="1", licence="x", share_tolerance=share_tolerance)


META = _meta()


def country(code: str) -> dict:
    return {"provider_id": code, "name": code, "type": "country", "country": code}


def firm(firm_id: str, hq: str | None, site: str | None = None) -> dict:
    return {"provider_id": firm_id, "name": firm_id.upper(), "type": "firm", "country": hq, "site_country": site}


def region(code: str = "EUR", members: tuple[str, ...] = EUR_MEMBERS) -> dict:
    return {"provider_id": code, "name": code, "type": "region", "members": ";".join(members)}


def residual(code: str = RESIDUAL) -> dict:
    return {"provider_id": code, "name": "Various countries", "type": "residual"}


def _looks_like_code(text: str) -> bool:
    return isinstance(text, str) and text.isupper() and text.isalpha() and 2 <= len(text) <= 3


def _provider(spec) -> dict:
    if isinstance(spec, dict):
        return dict(spec)
    if isinstance(spec, tuple):
        return firm(*spec)
    if spec == "EUR":
        return region()
    if spec == RESIDUAL:
        return residual()
    if _looks_like_code(spec):
        return country(spec)
    msg = f"cannot tell what provider {spec!r} is; declare firms as (id, hq) tuples"
    raise ValueError(msg)


def _node(spec) -> dict:
    if isinstance(spec, dict):
        row = dict(spec)
        row.setdefault("name", row.get("node_id"))
        row.setdefault("kind", "process")
        return row
    if isinstance(spec, str):
        spec = (spec,)
    node_id, *rest = spec
    kind = rest[0] if rest else "process"
    size = rest[1] if len(rest) > 1 else None
    return {"node_id": node_id, "name": node_id, "kind": kind, "market_size_usd": size}


def _provision(spec) -> dict:
    if isinstance(spec, dict):
        row = dict(spec)
        if row.get("share") is not None:
            row.setdefault("year", 2023)
            row.setdefault("source", "test")
        return row
    node_id, provider_id, *rest = spec
    share = rest[0] if rest else None
    row = {"node_id": node_id, "provider_id": provider_id, "share": share}
    if share is not None:
        row.update(year=2023, source="test")
    return row


def _relation(spec) -> dict:
    if isinstance(spec, dict):
        return dict(spec)
    node_id, relation, target_id = spec
    return {"node_id": node_id, "relation": relation, "target_id": target_id}


def _frame(rows: list[dict], table: str, lines: bool) -> pd.DataFrame:
    cols = schema.columns(table)
    extra = [LINE] if lines or any(LINE in r for r in rows) else []
    records = []
    for number, row in enumerate(rows, start=2):
        unknown = set(row) - set(cols) - {LINE}
        if unknown:
            msg = f"unknown columns {sorted(unknown)} for table {table}"
            raise ValueError(msg)
        record = {c: row.get(c) for c in cols}
        if extra:
            record[LINE] = row.get(LINE, number if lines else None)
        records.append(record)
    return pd.DataFrame(records, columns=cols + extra, dtype=object)


def make_map(
    nodes=None,
    providers=(),
    provision=(),
    relations=(),
    blocs=None,
    *,
    share_tolerance: float = 0.02,
    auto_providers: bool = True,
    lines: bool = True,
    annex: dict | None = None,
) -> TechMap:
    """A TechMap from short specs (see the module docstring)."""
    provision_rows = [_provision(p) for p in provision]
    relation_rows = [_relation(r) for r in relations]
    if nodes is None:
        seen: dict[str, None] = {}
        for row in provision_rows:
            seen.setdefault(row["node_id"])
        for row in relation_rows:
            seen.setdefault(row["node_id"])
            seen.setdefault(row["target_id"])
        nodes = list(seen)
    node_rows = [_node(n) for n in nodes]
    provider_rows = [_provider(p) for p in providers]
    if auto_providers:
        declared = {row["provider_id"] for row in provider_rows}
        for row in provision_rows:
            pid = row["provider_id"]
            if pid not in declared and (pid in ("EUR", RESIDUAL) or _looks_like_code(pid)):
                provider_rows.append(_provider(pid))
                declared.add(pid)
    return TechMap.from_tables(
        _meta(share_tolerance),
        _frame(node_rows, "nodes", lines),
        _frame(provider_rows, "providers", lines),
        _frame(provision_rows, "provision", lines),
        _frame(relation_rows, "relations", lines),
        blocs=blocs,
        annex={table: pd.DataFrame(rows).assign(**{LINE: range(2, len(rows) + 2)}) for table, rows in (annex or {}).items()},
    )
