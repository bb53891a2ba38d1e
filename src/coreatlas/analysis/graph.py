"""Graph utilities over index arrays (no networkx needed for these)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["topological_levels"]


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
