"""Graph utilities over index arrays (no networkx needed for these)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["size_weights", "topological_levels"]


def topological_levels(n: int, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Level of each node: 0 for nodes needing nothing, else 1 + max level of what it needs.

    An edge ``sources[e] -> targets[e]`` means ``targets[e]`` needs ``sources[e]``.
    """
    graph = sp.csr_matrix((np.ones(len(sources)), (targets, sources)), shape=(n, n))
    level = np.zeros(n, dtype=np.int64)
    indegree = np.diff(graph.indptr)
    ready = indegree == 0
    frontier = np.flatnonzero(ready)
    remaining = indegree.copy()
    depth = 0
    reverse = graph.T.tocsr()
    while frontier.size:
        level[frontier] = depth
        touched = reverse[frontier].indices
        np.subtract.at(remaining, touched, 1)
        frontier = np.unique(touched[remaining[touched] == 0])
        depth += 1
    return level


def size_weights(sizes: np.ndarray, parent: np.ndarray, n: int) -> np.ndarray:
    """Weight of each edge ``child -> parent[e]`` among its parent's edges, summing to 1.

    Proportional to ``sizes`` (the children's market sizes) when every child of that parent
    has one; equal weights where any size is unknown (NaN).
    """
    unknown = np.bincount(parent, weights=np.isnan(sizes).astype(float), minlength=n) > 0
    weight = np.where(unknown[parent], 1.0, np.nan_to_num(sizes))
    total = np.bincount(parent, weights=weight, minlength=n)
    return np.divide(weight, total[parent], out=np.zeros_like(weight), where=total[parent] > 0)
