"""Synthetic firm networks for scale tests and studies, reproducible by seed.

:func:`scale_free_network` draws each link's supplier and client independently with
probability proportional to heavy-tailed propensities (Pareto, as in Chung–Lu random
graphs), so out- and in-degrees follow power laws with tail exponents ``out_exponent``
and ``in_exponent``; ``degrees="poisson"`` gives equal propensities (Erdős–Rényi with the
same mean degree). Sectors and regions are drawn uniformly, flows and final demand are
lognormal. With ``balanced=True`` each firm's final demand is raised where needed so that
purchases are at most ``1 - min_value_added`` of output (no negative value added).

One million firms and five million links take a few seconds (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

from coreatlas.errors import ValidationError
from coreatlas.model.firms import FirmNetwork, firm_network

__all__ = ["scale_free_network"]

DEGREE_MODELS = ("scale-free", "poisson")


def _propensity(rng: np.random.Generator, n: int, exponent: float, model: str) -> np.ndarray:
    """Cumulative sampling weights: Pareto(exponent) + 1 for scale-free, flat otherwise."""
    weights = rng.pareto(exponent, n) + 1.0 if model == "scale-free" else np.ones(n)
    cumulative = np.cumsum(weights)
    return cumulative / cumulative[-1]


def _draw_links(rng: np.random.Generator, n: int, m: int, out_cdf: np.ndarray, in_cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m`` distinct links without self-loops (oversample, drop repeats, keep the first ``m``)."""
    supplier = np.zeros(0, dtype=np.int64)
    client = np.zeros(0, dtype=np.int64)
    for _ in range(20):  # heavy tails make repeats common; a few top-ups always suffice
        need = m - supplier.size
        if need <= 0:
            break
        draw = int(need * 1.15) + 16
        s = np.minimum(np.searchsorted(out_cdf, rng.random(draw)), n - 1)
        c = np.minimum(np.searchsorted(in_cdf, rng.random(draw)), n - 1)
        keep = s != c
        supplier, client = np.concatenate([supplier, s[keep]]), np.concatenate([client, c[keep]])
        _, first = np.unique(supplier * n + client, return_index=True)
        first.sort()
        supplier, client = supplier[first], client[first]
    if supplier.size < m:
        raise ValidationError(f"cannot draw {m} distinct links among {n} firms with these exponents; ask for fewer links")
    return supplier[:m], client[:m]


def scale_free_network(
    n_firms: int,
    n_links: int,
    *,
    n_sectors: int = 100,
    n_regions: int = 47,
    out_exponent: float = 1.3,
    in_exponent: float = 1.3,
    degrees: str = "scale-free",
    flow_sigma: float = 1.0,
    final_demand_sigma: float = 1.0,
    balanced: bool = True,
    min_value_added: float = 0.2,
    seed: int = 12345,
) -> FirmNetwork:
    """A random production network (see the module docstring); the same seed gives the same network."""
    if degrees not in DEGREE_MODELS:
        raise ValidationError(f"degrees must be one of {', '.join(DEGREE_MODELS)}")
    if n_firms < 2 or n_links < 0 or n_links > n_firms * (n_firms - 1):
        raise ValidationError("need at least 2 firms and 0 <= links <= firms x (firms - 1)")
    rng = np.random.default_rng(seed)
    out_cdf = _propensity(rng, n_firms, out_exponent, degrees)
    in_cdf = _propensity(rng, n_firms, in_exponent, degrees)
    supplier, client = _draw_links(rng, n_firms, n_links, out_cdf, in_cdf)
    flow = rng.lognormal(0.0, flow_sigma, n_links)
    final = rng.lognormal(0.0, final_demand_sigma, n_firms)
    if balanced:
        purchases = np.bincount(client, flow, n_firms)
        sales = np.bincount(supplier, flow, n_firms)
        final = np.maximum(final, purchases / (1.0 - min_value_added) - sales)
    sector = rng.integers(0, n_sectors, n_firms)
    region = rng.integers(0, n_regions, n_firms)
    meta = {"generator": "scale_free_network", "seed": seed, "degrees": degrees, "n_firms": n_firms, "n_links": n_links}
    return firm_network(supplier, client, flow, final, sector, region, meta=meta)
