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

from coreatlas.errors import Problem, ValidationError

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


class _Locator:
    """Problems about rows of ``nodes``, ``edges`` or ``groups``, with source lines where given."""

    def __init__(self, lines: dict | None):
        self.lines = {k: np.asarray(v) for k, v in (lines or {}).items()}

    def error(self, table: str, row: int, column: str, message: str) -> ValidationError:
        line = self.lines.get(table)
        return ValidationError(Problem(message, table=table, line=None if line is None else int(line[row]), column=column))


def _pairs(dst: np.ndarray, material: np.ndarray, ratio: np.ndarray, where: _Locator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair index per edge and, per pair, its consumer and ratio (which all its edges must share)."""
    keys = np.stack([dst, material], axis=1)
    unique, pair = np.unique(keys, axis=0, return_inverse=True)
    pair = pair.ravel()
    low = np.full(len(unique), np.inf)
    np.minimum.at(low, pair, ratio)
    differs = np.flatnonzero(ratio - low[pair] > 1e-12 * np.maximum(1.0, ratio))
    if differs.size:
        edge = int(differs[0])
        message = f"ratio {ratio[edge]:g} differs from {low[pair[edge]]:g} of another supplier of the same material; alternative suppliers share one ratio"
        raise where.error("edges", edge, "ratio", message)
    return pair, unique[:, 0], low


def _check_ids(node_ids: np.ndarray, where: _Locator) -> None:
    seen: dict = {}
    for i, node in enumerate(node_ids.tolist()):
        if node is None or (isinstance(node, float) and node != node) or (isinstance(node, str) and not node.strip()):
            raise where.error("nodes", i, "node", "the node id is blank; every node needs an id")
        if node in seen:
            raise where.error("nodes", i, "node", f"duplicate node id '{node}' (also node {seen[node] + 1}); ids must be unique")
        seen[node] = i


def _check(values: dict, node_ids: np.ndarray, where: _Locator) -> None:
    n = node_ids.size
    for name, array in values.items():
        if array.shape != (n,):
            raise ValidationError(f"{name} must have one value per node ({n}), not {array.shape}", field=name)
        bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
        if bad.size:
            i = int(bad[0])
            raise where.error("nodes", i, name, f"{name} {array[i]:g} of node '{node_ids[i]}' is not a finite number >= 0")
    short = np.flatnonzero(values["capacity"] < values["demand"] * (1 - 1e-9))
    if short.size:
        i = int(short[0])
        message = (f"capacity {values['capacity'][i]:g} of node '{node_ids[i]}' is below its demand {values['demand'][i]:g} "
                   "(negative spare capacity); expected capacity >= demand")  # fmt: skip
        raise where.error("nodes", i, "capacity", message)


def _check_tiers(tier, node_ids: np.ndarray, where: _Locator) -> np.ndarray:
    if tier is None:
        return np.zeros(node_ids.size, dtype=np.int64)
    values = np.asarray(tier, dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0) | (values != np.round(values)) | (values > 2**31))
    if bad.size:
        i = int(bad[0])
        raise where.error("nodes", i, "tier", f"tier {values[i]:g} of node '{node_ids[i]}' is not a whole number >= 0")
    return values.astype(np.int64)


def _check_groups(group, group_capacity, n: int, where: _Locator) -> tuple[np.ndarray, np.ndarray]:
    capacity = np.asarray(group_capacity, dtype=float)
    bad = np.flatnonzero(~np.isfinite(capacity) | (capacity < 0))
    if bad.size:
        raise where.error("groups", int(bad[0]), "capacity", f"group capacity {capacity[bad[0]]:g} is not a finite number >= 0")
    index = np.full(n, -1, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    outside = np.flatnonzero((index < -1) | (index >= capacity.size))
    if index.shape != (n,) or outside.size:
        raise ValidationError(f"group must give each node a group index 0..{capacity.size - 1}, or -1 for none", field="group")
    return index, capacity


def _check_edges(src: np.ndarray, dst: np.ndarray, ratio: np.ndarray, n: int, where: _Locator) -> None:
    if not (src.shape == dst.shape == ratio.shape):
        raise ValidationError("src, dst, material and ratio must have one value per edge")
    outside = np.flatnonzero((np.minimum(src, dst) < 0) | (np.maximum(src, dst) >= n))
    if outside.size:
        raise where.error("edges", int(outside[0]), "supplier", f"edge node index out of range 0..{n - 1}")
    bad = np.flatnonzero(~np.isfinite(ratio) | (ratio <= 0))
    if bad.size:
        raise where.error("edges", int(bad[0]), "ratio", f"ratio {ratio[bad[0]]:g} is not a finite number > 0")
    loops = np.flatnonzero(src == dst)
    if loops.size:
        message = "the supplier and the consumer are the same node; expected two different nodes"
        raise where.error("edges", int(loops[0]), "consumer", message)


def risk_network(
    node_ids, capacity, inventory, demand, ttr_days, src, dst, material, ratio, *,
    profit=None, group=None, group_capacity=(), country=None, firm=None, tier=None, meta=None, lines=None,
) -> RiskNetwork:
    """Build and check a :class:`RiskNetwork` (edges by node index; ``material`` any int code per edge).

    Node ids must be unique and not blank, values finite and non-negative, capacity at least
    demand, tiers whole. ``lines`` (``{"nodes": ..., "edges": ...}``, a source line per row)
    locates the problems of a network read from files."""
    where = _Locator(lines)
    node_ids = np.asarray(node_ids, dtype=object)
    n = node_ids.size
    _check_ids(node_ids, where)
    arrays = {
        name: np.asarray(v, dtype=float)
        for name, v in (("capacity", capacity), ("inventory", inventory), ("demand", demand), ("ttr_days", ttr_days))
    }
    arrays["profit"] = np.ones(n) if profit is None else np.asarray(profit, dtype=float)
    _check(arrays, node_ids, where)
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    ratio = np.asarray(ratio, dtype=float)
    _check_edges(src, dst, ratio, n, where)
    pair, pair_dst, pair_ratio = _pairs(dst, np.asarray(material, dtype=np.int64), ratio, where)
    labels = {
        k: np.full(n, "", dtype=object) if v is None else np.asarray(v, dtype=object) for k, v in (("country", country), ("firm", firm))
    }
    group, group_capacity = _check_groups(group, group_capacity, n, where)
    return RiskNetwork(
        node_ids=node_ids, src=src, dst=dst, pair=pair, pair_dst=pair_dst, pair_ratio=pair_ratio,
        group=group, group_capacity=group_capacity,
        tier=_check_tiers(tier, node_ids, where),
        meta=dict(meta or {}), **arrays, **labels,
    )  # fmt: skip
