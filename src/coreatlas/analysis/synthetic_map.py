"""Synthetic technology maps of any size, for scale tests and benchmarks.

:func:`synthetic_map` draws a map of ``n_nodes`` nodes in ``stages`` stages (materials first,
one ``output`` node per ``outputs`` last): every node of a later stage ``uses`` 1–``max_inputs``
nodes of earlier stages (mostly the stage just before, so the graph is deep), a few nodes are
``variant_of`` another node of their stage, and every node but the outputs has 1–``max_providers``
providers: countries and firms (headquartered in a country), with shares that sum to at most 1
and, now and then, a qualitative provider (blank share) or a share range. The same seed gives
the same map; the map passes :func:`coreatlas.model.validate.check`.

Cost: ``O(n_nodes x (max_inputs + max_providers))`` time and memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coreatlas.model.techmap import Metadata, Source, TechMap

__all__ = ["COUNTRY_POOL", "synthetic_map"]

#: Real alpha-3 codes, so blocs (``core``, ``allies``) and regions resolve as on real maps.
COUNTRY_POOL = (
    "USA", "JPN", "NLD", "KOR", "TWN", "DEU", "GBR", "FRA", "CHN", "ITA", "ESP", "SWE", "FIN", "BEL", "AUT", "CHE", "ISR",
    "IND", "SGP", "MYS", "VNM", "THA", "PHL", "IDN", "AUS", "CAN", "MEX", "BRA", "ARG", "CHL", "PER", "ZAF", "COD", "RUS",
    "UKR", "POL", "CZE", "HUN", "ROU", "TUR", "SAU", "ARE", "NOR", "DNK", "IRL", "PRT", "GRC", "NZL", "KAZ", "MNG",
)  # fmt: skip
STAGE_KINDS = ("material", "tool", "process", "component", "product")


def _stages(rng: np.random.Generator, n: int, stages: int, outputs: int) -> np.ndarray:
    """Stage of every node (0 .. stages - 1, outputs last); each stage gets at least one node."""
    inner = n - outputs
    stage = np.sort(np.r_[np.arange(stages - 1), rng.integers(0, stages - 1, inner - (stages - 1))])
    return np.r_[stage, np.full(outputs, stages - 1)]


def _uses(rng: np.random.Generator, stage: np.ndarray, max_inputs: int) -> pd.DataFrame:
    """``uses`` edges: each node of stage >= 1 uses 1..max_inputs distinct earlier nodes."""
    first = np.searchsorted(stage, np.arange(stage.max() + 2))  # first node of each stage
    rows = []
    for node in np.flatnonzero(stage > 0):
        s = stage[node]
        count = int(rng.integers(1, max_inputs + 1))
        near = rng.integers(first[s - 1], first[s], count)  # mostly the stage just before
        far = rng.integers(0, first[s], count)
        picked = np.unique(np.where(rng.random(count) < 0.8, near, far))
        rows.append(np.stack([np.full(picked.size, node), picked], axis=1))
    return pd.DataFrame(np.concatenate(rows), columns=["consumer", "input"])


def _variants(rng: np.random.Generator, stage: np.ndarray, share: float) -> pd.DataFrame:
    """``variant_of`` edges: a node becomes a variant of the first node of its stage."""
    first = np.searchsorted(stage, stage)
    candidates = np.flatnonzero((first != np.arange(stage.size)) & (stage < stage.max()) & (stage > 0))
    chosen = candidates[rng.random(candidates.size) < share]
    return pd.DataFrame({"child": chosen, "parent": first[chosen]})


def _provision(rng: np.random.Generator, n_nodes: int, n_firms: int, max_providers: int) -> pd.DataFrame:
    """Per node 1..max_providers distinct providers (countries or firms) and their shares."""
    counts = rng.integers(1, max_providers + 1, n_nodes)
    node = np.repeat(np.arange(n_nodes), counts)
    pool = len(COUNTRY_POOL) + n_firms
    provider = rng.integers(0, pool, node.size)
    frame = pd.DataFrame({"node": node, "provider": provider}).drop_duplicates(ignore_index=True)
    weight = rng.pareto(1.5, len(frame)) + 0.05
    covered = rng.uniform(0.7, 1.0, n_nodes)[frame["node"]]
    frame["share"] = weight / pd.Series(weight).groupby(frame["node"]).transform("sum").to_numpy() * covered
    frame["share"] = frame["share"].round(4)
    qualitative = rng.random(len(frame)) < 0.05
    frame.loc[qualitative, "share"] = np.nan
    ranged = (rng.random(len(frame)) < 0.1) & ~qualitative
    frame["share_low"] = np.where(ranged, (frame["share"] * 0.8).round(4), np.nan)
    frame["share_high"] = np.where(ranged, np.minimum(1.0, frame["share"] * 1.2).round(4), np.nan)
    return frame


def _providers(rng: np.random.Generator, n_firms: int) -> pd.DataFrame:
    countries = pd.DataFrame({"provider_id": COUNTRY_POOL, "name": COUNTRY_POOL, "type": "country", "country": COUNTRY_POOL})
    hq = np.asarray(COUNTRY_POOL, dtype=object)[rng.integers(0, 12, n_firms) if n_firms else np.zeros(0, dtype=int)]
    ids = [f"firm_{i:05d}" for i in range(n_firms)]
    firms = pd.DataFrame({"provider_id": ids, "name": [f"Firm {i}" for i in range(n_firms)], "type": "firm", "country": hq})
    return pd.concat([countries, firms], ignore_index=True)


def _node_table(rng: np.random.Generator, stage: np.ndarray, stages: int, outputs: int) -> pd.DataFrame:
    n = stage.size
    ids = np.array([f"n{i:06d}" for i in range(n)], dtype=object)
    kinds = np.asarray(STAGE_KINDS, dtype=object)[np.minimum(stage * len(STAGE_KINDS) // max(stages - 1, 1), len(STAGE_KINDS) - 1)]
    kinds[n - outputs :] = "output"
    sizes = np.where(rng.random(n) < 0.5, np.round(10 ** rng.uniform(7, 11, n), -5), np.nan)
    return pd.DataFrame({"node_id": ids, "name": [f"Node {i}" for i in range(n)], "kind": kinds, "stage": [f"stage {s}" for s in stage],
                         "market_size_usd": sizes, "market_size_year": np.where(np.isnan(sizes), pd.NA, 2024)})  # fmt: skip


def synthetic_map(
    n_nodes: int, *, stages: int = 8, outputs: int = 10, max_inputs: int = 3, max_providers: int = 5,
    firms: int | None = None, variant_share: float = 0.02, seed: int = 0,
) -> TechMap:  # fmt: skip
    """A valid technology map of ``n_nodes`` nodes (module docstring); ``firms`` defaults to
    ``n_nodes // 5`` firms drawn as providers beside the 50 countries of :data:`COUNTRY_POOL`."""
    if n_nodes < stages + outputs or stages < 2 or outputs < 1:
        raise ValueError(f"n_nodes must be at least stages + outputs ({stages + outputs}); stages >= 2, outputs >= 1")
    rng = np.random.default_rng(seed)
    n_firms = n_nodes // 5 if firms is None else firms
    stage = _stages(rng, n_nodes, stages, outputs)
    nodes = _node_table(rng, stage, stages, outputs)
    ids = nodes["node_id"].to_numpy()
    uses, variants = _uses(rng, stage, max_inputs), _variants(rng, stage, variant_share)
    uses = uses[~uses["consumer"].isin(variants["child"])]  # a variant takes its parent's inputs
    relations = pd.concat([pd.DataFrame({"node_id": ids[uses["consumer"]], "relation": "uses", "target_id": ids[uses["input"]]}),
                           pd.DataFrame({"node_id": ids[variants["child"]], "relation": "variant_of", "target_id": ids[variants["parent"]]})],
                          ignore_index=True)  # fmt: skip
    providers = _providers(rng, n_firms)
    provided = _provision(rng, n_nodes - outputs, n_firms, max_providers)
    provision = pd.DataFrame({"node_id": ids[provided["node"]], "provider_id": providers["provider_id"].to_numpy()[provided["provider"]],
                              "share": provided["share"], "share_low": provided["share_low"], "share_high": provided["share_high"],
                              "year": 2024, "source": "synthetic"})  # fmt: skip
    meta = Metadata(name=f"synthetic-{n_nodes}", version=f"seed-{seed}", licence="CC0-1.0", title=f"Synthetic map of {n_nodes:,} nodes",
                    sources=(Source("synthetic", "coreatlas.analysis.synthetic_map"),))  # fmt: skip
    return TechMap.from_tables(meta, nodes, providers, provision, relations)
