"""Combine datasets into one map (``--data telecom-ran+materials+chips``).

Rules (docs/formats.md): nodes, providers, sources and blocs are united by id; a node two
datasets both define is one node (its kind must agree; the first non-empty value of each
other column wins). Provision rows are united by ``(node_id, provider_id)``: a figure
replaces a qualitative row, and two different figures for one pair are an error. Relations
are united, then every link whose two ends are both present becomes a relation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from coreatlas.errors import Problem, ValidationError
from coreatlas.model import schema
from coreatlas.model.techmap import LINE, Metadata, TechMap

__all__ = ["combine"]

KEYS = {"nodes": ["node_id"], "providers": ["provider_id"]}


def _tagged(maps: Sequence[TechMap], table: str) -> pd.DataFrame:
    frames = [getattr(tm, table).assign(dataset=tm.meta.name) for tm in maps]
    return pd.concat(frames, ignore_index=True)


def _first_non_empty(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per key: the first non-empty value of each column, in dataset order."""
    return frame.groupby(keys, sort=False, as_index=False).first()


def _conflicts(frame: pd.DataFrame, key: str, column: str, table: str) -> list[Problem]:
    values = frame.dropna(subset=[column]).groupby(key)[column].nunique()
    problems = []
    for value in values[values > 1].index:
        rows = frame[(frame[key] == value) & frame[column].notna()]
        pairs = ", ".join(f"'{v}' in {d}" for v, d in zip(rows[column], rows["dataset"], strict=True))
        problems.append(Problem(f"{key} '{value}' has {column} {pairs}; datasets must agree to be combined", table=table, column=column))
    return problems


def _merge_provision(maps: Sequence[TechMap]) -> tuple[pd.DataFrame, list[Problem]]:
    rows = _tagged(maps, "provision")
    numeric = rows[rows["share"].notna()]
    spread = numeric.groupby(["node_id", "provider_id"])["share"].agg(["min", "max"])
    problems = [
        Problem(
            f"node '{n}', provider '{p}': different shares in the combined datasets ({lo:g} and {hi:g}); give one figure",
            table="provision",
            column="share",
        )
        for (n, p), lo, hi in zip(spread.index, spread["min"], spread["max"], strict=True)
        if not np.isclose(lo, hi)
    ]
    # Figures first, so the first row of each pair is the one with a figure.
    ordered = pd.concat([numeric, rows[rows["share"].isna()]], ignore_index=True)
    merged = ordered.drop_duplicates(["node_id", "provider_id"], keep="first")
    order = rows.drop_duplicates(["node_id", "provider_id"])[["node_id", "provider_id"]]
    return order.merge(merged, on=["node_id", "provider_id"], how="left"), problems


def _active_links(maps: Sequence[TechMap], node_ids: set[str]) -> pd.DataFrame:
    links = pd.concat([tm.annex["links"] for tm in maps], ignore_index=True)
    present = links["node_id"].isin(node_ids) & links["target_id"].isin(node_ids)
    return links[present]


def _metadata(maps: Sequence[TechMap]) -> Metadata:
    sources = {}
    for tm in maps:
        for source in tm.meta.sources:
            sources.setdefault(source.id, source)
    licences = sorted({tm.meta.licence for tm in maps})
    return Metadata(
        name="+".join(tm.meta.name for tm in maps),
        version="+".join(tm.meta.version for tm in maps),
        licence=" AND ".join(licences),
        title="; ".join(tm.meta.title for tm in maps if tm.meta.title),
        description="Combination of " + ", ".join(tm.meta.name for tm in maps) + ".",
        share_tolerance=max(tm.meta.share_tolerance for tm in maps),
        sources=tuple(sources.values()),
        format="combined",
    )


def _source_conflicts(maps: Sequence[TechMap]) -> list[Problem]:
    seen: dict[str, tuple[str, str]] = {}
    problems = []
    for tm in maps:
        for source in tm.meta.sources:
            first = seen.setdefault(source.id, (source.url, tm.meta.name))
            if first[0] != source.url:
                message = f"source id '{source.id}' has url '{first[0]}' in {first[1]} and '{source.url}' in {tm.meta.name}; rename one"
                problems.append(Problem(message, table="metadata", column="sources"))
    return problems


def combine(maps: Sequence[TechMap]) -> TechMap:
    """One map from several (see the module docstring for the rules).

    Raises :class:`ValidationError` listing every conflict (a node's kind, a provider's
    type or country, a share, or a source id that the datasets define differently).
    """
    if len(maps) == 1:
        return maps[0]
    nodes, providers = _tagged(maps, "nodes"), _tagged(maps, "providers")
    problems = _conflicts(nodes, "node_id", "kind", "nodes")
    problems += _conflicts(providers, "provider_id", "type", "providers") + _conflicts(providers, "provider_id", "country", "providers")
    provision, share_problems = _merge_provision(maps)
    problems += share_problems + _source_conflicts(maps)
    if problems:
        raise ValidationError(problems)
    nodes = _first_non_empty(nodes, KEYS["nodes"])
    relations = pd.concat([tm.relations for tm in maps], ignore_index=True)
    relations = pd.concat([relations, _active_links(maps, set(nodes["node_id"]))], ignore_index=True)
    relations = relations.drop_duplicates(["node_id", "relation", "target_id"])
    blocs: dict[str, list[str]] = {}
    for tm in maps:
        for name, codes in tm.blocs.items():
            blocs.setdefault(name, list(codes))  # the first dataset's definition of a bloc wins
    annex = {t: pd.concat([tm.annex[t] for tm in maps], ignore_index=True) for t in schema.ANNEX_TABLES}
    tables = [
        f.drop(columns=["dataset"], errors="ignore").assign(**{LINE: pd.NA})
        for f in (nodes, _first_non_empty(providers, KEYS["providers"]), provision, relations)
    ]
    return TechMap.from_tables(_metadata(maps), *tables, blocs=blocs, annex=annex)
