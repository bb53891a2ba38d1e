"""Multi-tier supply networks for time-to-recover / time-to-survive analysis, as arrays.

A :class:`RiskNetwork` has ``n`` nodes (plants, supplier sites, distribution centres) and
``m`` edges ``supplier -> consumer``. Each edge carries one *material* of its consumer:
the edges of one ``(consumer, material)`` pair are alternative suppliers (any mix will
do), and a consumer needs every one of its materials, ``ratio`` units of material per
unit of its output (a bill of materials). Nodes with demand are products.
Reference: Simchi-Levi et al., Interfaces 45(5):375–390 (2015); notes §3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from coreatlas.errors import ValidationError

__all__ = ["ENTITY_KINDS", "RISK_MEASURES", "RiskNetwork", "risk_network"]

#: What a performance impact counts: lost units, or lost units x profit per unit.
RISK_MEASURES = ("units", "profit")
#: The entities a hypothetical extraction removes, one at a time.
ENTITY_KINDS = ("node", "firm", "country", "region")


@dataclass(frozen=True, eq=False)
class RiskNetwork:
    """Nodes and edges (read-only arrays; see the module docstring).

    Per node: ``capacity`` (units a day), ``inventory`` (units of its own output on hand,
    including pipeline), ``demand`` (units a day; > 0 marks a product), ``profit`` (weight of
    a lost unit of a product), ``ttr_days`` (time to recover), ``group`` (shared capacity
    group, -1 for none; ``group_capacity`` per group, units a day), and labels ``country``,
    ``firm``. Per edge: ``src``, ``dst``, ``pair`` (index of its ``(dst, material)``) and
    per pair ``pair_ratio``.
    """

    node_ids: np.ndarray
    capacity: np.ndarray
    inventory: np.ndarray
    demand: np.ndarray
    profit: np.ndarray
    ttr_days: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    pair: np.ndarray
    pair_dst: np.ndarray
    pair_ratio: np.ndarray
    group: np.ndarray
    group_capacity: np.ndarray
    country: np.ndarray
    firm: np.ndarray
    tier: np.ndarray
    meta: dict = field(default_factory=dict)

    n_nodes = property(lambda self: int(self.capacity.size), doc="Number of nodes.")
    n_edges = property(lambda self: int(self.src.size), doc="Number of edges (supplier -> client).")

    @cached_property
    def products(self) -> np.ndarray:
        return np.flatnonzero(self.demand > 0)

    @cached_property
    def suppliers(self) -> np.ndarray:
        """Nodes that ship to another node (the flow rows of the LP)."""
        return np.unique(self.src)

    @cached_property
    def index(self) -> dict:
        return {node: i for i, node in enumerate(self.node_ids.tolist())}


def _pairs(dst: np.ndarray, material: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair index per edge and, per pair, its consumer and ratio (which all its edges must share)."""
    keys = np.stack([dst, material], axis=1)
    unique, pair = np.unique(keys, axis=0, return_inverse=True)
    pair = pair.ravel()
    low = np.full(len(unique), np.inf)
    high = np.full(len(unique), -np.inf)
    np.minimum.at(low, pair, ratio)
    np.maximum.at(high, pair, ratio)
    if np.any(high - low > 1e-12 * np.maximum(1.0, high)):
        bad = int(np.flatnonzero(high - low > 1e-12 * np.maximum(1.0, high))[0])
        raise ValidationError(
            f"alternative suppliers of material {unique[bad, 1]} of node {unique[bad, 0]} give different ratios; one ratio per (node, material)"
        )
    return pair, unique[:, 0], low


def _check(values: dict, n: int) -> None:
    for name, array in values.items():
        if array.shape != (n,):
            raise ValidationError(f"{name} must have one value per node ({n}), not {array.shape}")
        if not np.all(np.isfinite(array)) or np.any(array < 0):
            raise ValidationError(f"{name} must be finite and non-negative")


def risk_network(
    node_ids,
    capacity,
    inventory,
    demand,
    ttr_days,
    src,
    dst,
    material,
    ratio,
    *,
    profit=None,
    group=None,
    group_capacity=(),
    country=None,
    firm=None,
    tier=None,
    meta=None,
) -> RiskNetwork:
    """Build and check a :class:`RiskNetwork` (edges by node index; ``material`` any int code per edge)."""
    node_ids = np.asarray(node_ids, dtype=object)
    n = node_ids.size
    arrays = {
        name: np.asarray(v, dtype=float)
        for name, v in (("capacity", capacity), ("inventory", inventory), ("demand", demand), ("ttr_days", ttr_days))
    }
    arrays["profit"] = np.ones(n) if profit is None else np.asarray(profit, dtype=float)
    _check(arrays, n)
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    ratio = np.asarray(ratio, dtype=float)
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise ValidationError(f"edge node index out of range 0..{n - 1}")
    if np.any(ratio <= 0) or np.any(src == dst):
        raise ValidationError("every edge needs a positive ratio and two different nodes")
    pair, pair_dst, pair_ratio = _pairs(dst, np.asarray(material, dtype=np.int64), ratio)
    labels = {
        k: np.full(n, "", dtype=object) if v is None else np.asarray(v, dtype=object) for k, v in (("country", country), ("firm", firm))
    }
    return RiskNetwork(
        node_ids=node_ids, src=src, dst=dst, pair=pair, pair_dst=pair_dst, pair_ratio=pair_ratio,
        group=np.full(n, -1, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64),
        group_capacity=np.asarray(group_capacity, dtype=float),
        tier=np.zeros(n, dtype=np.int64) if tier is None else np.asarray(tier, dtype=np.int64),
        meta=dict(meta or {}), **arrays, **labels,
    )  # fmt: skip
