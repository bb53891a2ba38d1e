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

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from coreatlas.errors import ValidationError
from coreatlas.model.firms import DEGREE_MODELS, FirmNetwork, firm_network
from coreatlas.model.risknet import RiskNetwork, risk_network

__all__ = ["DEGREE_MODELS", "multi_tier_network", "scale_free_network", "synthetic_mrio"]


def _propensity(rng: np.random.Generator, n: int, exponent: float, model: str) -> np.ndarray:
    """Cumulative sampling weights: Pareto(exponent) + 1 for scale-free, flat otherwise."""
    weights = rng.pareto(exponent, n) + 1.0 if model == "scale-free" else np.ones(n)
    cumulative = np.cumsum(weights)
    return cumulative / cumulative[-1]


def _draw_links(rng: np.random.Generator, n: int, m: int, out_cdf: np.ndarray, in_cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m`` distinct links without self-loops (oversample, drop repeats, keep the first ``m``)."""
    supplier = np.zeros(0, dtype=np.int64)
    client = np.zeros(0, dtype=np.int64)
    for attempt in range(1000):  # heavy tails make repeats common: a few top-ups suffice, except on small dense networks
        need = m - supplier.size
        if need <= 0:
            break
        draw = (int(need * 1.15) + 16) * (1 if attempt < 20 else 64)  # the first 20 rounds as always: same seed, same network
        s = np.minimum(np.searchsorted(out_cdf, rng.random(draw)), n - 1)
        c = np.minimum(np.searchsorted(in_cdf, rng.random(draw)), n - 1)
        keep = s != c
        supplier, client = np.concatenate([supplier, s[keep]]), np.concatenate([client, c[keep]])
        _, first = np.unique(supplier * n + client, return_index=True)
        first.sort()
        supplier, client = supplier[first], client[first]
    if supplier.size < m:
        raise ValidationError(f"links: cannot draw {m} distinct links among {n} firms with these exponents; ask for fewer links", field="links")
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
        raise ValidationError(f"degrees must be one of {', '.join(DEGREE_MODELS)}", field="degrees")
    if n_firms < 2:
        raise ValidationError(f"firms is {n_firms}; expected at least 2", field="firms")
    if n_links < 0 or n_links > n_firms * (n_firms - 1):
        raise ValidationError(f"links is {n_links}; expected 0 to firms x (firms - 1) = {n_firms * (n_firms - 1)}", field="links")
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


def multi_tier_network(
    nodes_per_tier: Sequence[int] = (50, 400, 1250),
    *,
    materials_per_node: tuple[int, int] = (1, 3),
    alternatives: tuple[int, int] = (1, 3),
    slack: tuple[float, float] = (0.1, 0.5),
    inventory_days: tuple[float, float] = (0.0, 10.0),
    ttr_days: tuple[float, float] = (1.0, 10.0),
    seed: int = 7,
) -> RiskNetwork:
    """A random multi-tier network for TTR/TTS studies (tier 0 = products, the last tier raw).

    The nodes of tier ``k + 1`` are grouped into materials of ``alternatives`` suppliers each;
    every node of tier ``k`` needs ``materials_per_node`` of them, 1–3 units of each per unit
    of output. Capacities exceed the baseline throughput by ``slack``; inventories hold
    ``inventory_days`` of it; TTRs are drawn in days. Ranges are uniform ``(low, high)``.
    """
    rng = np.random.default_rng(seed)
    tiers = np.repeat(np.arange(len(nodes_per_tier)), nodes_per_tier)
    first = np.concatenate([[0], np.cumsum(nodes_per_tier)])
    src, dst, material, offset = [], [], [], 0
    for k in range(len(nodes_per_tier) - 1):  # a handful of tiers: the loop is not over nodes
        s, d, mat, count = _tier_edges(rng, first[k], first[k + 1], first[k + 2], materials_per_node, alternatives)
        src.append(s), dst.append(d), material.append(mat + offset)
        offset += count
    src, dst, material = (np.concatenate(a) if a else np.zeros(0, dtype=np.int64) for a in (src, dst, material))
    pair_ratio = rng.uniform(1.0, 3.0, int(material.max(initial=-1)) + 1)
    demand = np.where(tiers == 0, rng.uniform(10.0, 100.0, tiers.size), 0.0)
    throughput = _throughput(tiers.size, demand, src, dst, material, pair_ratio)
    capacity = throughput * (1.0 + rng.uniform(*slack, tiers.size)) + 1e-9
    ids = np.array([f"t{t}-{i - first[t]}" for i, t in enumerate(tiers)], dtype=object)
    return risk_network(
        ids, capacity, throughput * rng.uniform(*inventory_days, tiers.size), demand, np.round(rng.uniform(*ttr_days, tiers.size)),
        src, dst, material, pair_ratio[material], tier=tiers, meta={"generator": "multi_tier_network", "seed": seed},
    )  # fmt: skip


def _tier_edges(rng, start: int, mid: int, end: int, materials_per_node, alternatives):
    """Edges from tier ``[mid, end)`` into tier ``[start, mid)``; materials are runs of suppliers."""
    suppliers = rng.permutation(np.arange(mid, end))
    sizes = rng.integers(alternatives[0], alternatives[1] + 1, suppliers.size)
    cuts = np.cumsum(sizes)
    cuts = cuts[cuts < suppliers.size]
    material_of = np.zeros(suppliers.size, dtype=np.int64)
    material_of[cuts] = 1
    material_of = np.cumsum(material_of)
    n_materials = int(material_of[-1]) + 1
    needs = rng.integers(materials_per_node[0], materials_per_node[1] + 1, mid - start)
    consumer = np.repeat(np.arange(start, mid), needs)
    chosen = rng.integers(0, n_materials, consumer.size)
    pairs = np.unique(np.stack([consumer, chosen], axis=1), axis=0)
    members = pd.Series(suppliers).groupby(material_of).apply(np.asarray)
    per_pair = members.loc[pairs[:, 1]].to_numpy()
    counts = np.array([len(x) for x in per_pair])
    src = np.concatenate(per_pair) if len(per_pair) else np.zeros(0, dtype=np.int64)
    dst = np.repeat(pairs[:, 0], counts)
    return src, dst, np.repeat(pairs[:, 1], counts), n_materials


def _throughput(n: int, demand, src, dst, material, pair_ratio) -> np.ndarray:
    """Baseline output per node: product demand pushed upstream, split equally over alternatives."""
    keys = dst * 10**9 + material
    _, pair, counts = np.unique(keys, return_inverse=True, return_counts=True)
    share = 1.0 / counts[pair]
    requirement = sp.csr_matrix((pair_ratio[material] * share, (src, dst)), shape=(n, n))
    # output = demand + R output (a DAG: I - R is invertible)
    output = spla.spsolve((sp.identity(n, format="csc") - requirement).tocsc(), demand)
    return np.maximum(output, 0.0)  # rounding can leave -1e-13 on nodes nobody uses


def synthetic_mrio(
    n_regions: int, n_sectors: int, *, partner_share: float = 0.5, zero_share: float = 0.4, categories: int = 3, seed: int = 1
):
    """A balanced multi-regional table (an :class:`~coreatlas.model.mrio.MrioTable`).

    Each region has a technology matrix with ``zero_share`` zeros and input shares per
    column in [0.30, 0.65]; each product is bought from the home region (60–90%) and from
    ``partner_share`` of the other regions (Dirichlet shares); final demand is lognormal;
    ``x`` solves ``(I - A) x = y`` and ``Z = A diag(x)``, so identities hold and value added is
    positive. With the defaults about 30% of ``Z`` is non-zero (EXIOBASE has about 32%).
    """
    from coreatlas.model.mrio import mrio_table

    rng = np.random.default_rng(seed)
    r, s = n_regions, n_sectors
    tech = rng.random((r, s, s)) * (rng.random((r, s, s)) >= zero_share)
    tech *= rng.uniform(0.30, 0.65, (r, 1, s)) / np.maximum(tech.sum(axis=1, keepdims=True), 1e-12)
    trade = _trade_shares(rng, r, s, partner_share)  # trade[origin, destination, sector]
    a = _coefficients(tech, trade)
    demand = rng.lognormal(0.0, 1.0, (r, categories, s))  # per destination region, category, product
    y = np.einsum("ods,dcs->osdc", trade, demand).reshape(r * s, r * categories)
    x = _leontief_iteration(a, y.sum(axis=1))
    z = (a @ sp.diags(x)).tocsr()
    names = (tuple(f"reg{k:03d}" for k in range(r)), tuple(f"sec{k:03d}" for k in range(s)))
    return mrio_table(*names, z, y, tuple(f"fd{c}" for c in range(categories)), meta={"generator": "synthetic_mrio", "seed": seed})


def _leontief_iteration(a: sp.csr_matrix, final: np.ndarray, tolerance: float = 1e-14) -> np.ndarray:
    """``x = (I - A)^-1 y`` by ``x <- y + A x`` (column sums of A are at most 0.65, so it
    converges geometrically; a sparse LU of a 30%-dense 10,000 x 10,000 matrix would fill in)."""
    x = final.copy()
    for _ in range(500):  # converges in about 80 rounds
        nxt = final + a @ x
        if np.max(np.abs(nxt - x) / np.maximum(nxt, 1e-300)) < tolerance:
            return nxt
        x = nxt
    return x


def _trade_shares(rng, r: int, s: int, partner_share: float) -> np.ndarray:
    """``[o, d, s]``: share of destination ``d``'s use of product ``s`` that comes from ``o``."""
    partners = rng.random((r, r, s)) < partner_share
    weights = rng.gamma(1.0, 1.0, (r, r, s)) * partners
    home = rng.uniform(0.6, 0.9, (r, s))
    eye = np.eye(r, dtype=bool)[:, :, None]
    weights[np.broadcast_to(eye, weights.shape)] = 0.0
    total = weights.sum(axis=0, keepdims=True)
    foreign = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0) * (1 - home)[None, :, :]
    own = np.where(total[0] > 0, home, 1.0)  # no partner: everything from home
    return foreign + eye * own[None, :, :]


def _coefficients(tech: np.ndarray, trade: np.ndarray) -> sp.csr_matrix:
    """``A[(o, i), (d, j)] = trade[o, d, i] tech[d, i, j]``, built one destination region at a
    time so that no dense (R S) x (R S) array is ever formed."""
    r, s = tech.shape[0], tech.shape[1]
    blocks = [sp.csc_matrix(trade[:, d, :].reshape(r * s, 1) * np.tile(tech[d], (r, 1))) for d in range(r)]
    return sp.hstack(blocks, format="csr")
