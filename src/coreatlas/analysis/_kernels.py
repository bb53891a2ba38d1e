"""Compiled kernels of the daily step of :mod:`coreatlas.analysis.dynamics`.

Each kernel is one pass over links (or over the links of one firm), run in parallel
over firms with numba. They hold no state: outputs are arrays the caller allocates.
Why compiled: on 1M firms / 5M links (benchmarks/bench_dynamics.py) the proportional
day is 1.3-1.9x faster than the same step as numpy expressions, and the water-filling
of priority rationing needs a sort per short supplier, which numpy can only do as one
segmented sort of all links (2.2 s/day in the research notes, against 0.23 s here).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "deliver_scaled",
    "demand_on_suppliers",
    "inventories_orders_capacity",
    "waterfill_delivery",
]


@njit(parallel=True, cache=True)
def inventories_orders_capacity(
    inventory,
    delivered,
    flow,
    pool_start,
    pool_flow,
    client_pools,
    output_ratio,
    target_days,
    tau_days,
    new_inventory,
    orders,
    input_capacity,
):  # pragma: no cover - compiled
    """Steps 2, 3 and the input limit of step 5, for every client ``i`` (see dynamics).

    ``output_ratio[i] = P_act_i(t-1) / P_ini_i`` (negative = the firm has no output:
    it orders its baseline flows). Writes ``new_inventory``, ``orders`` (per link) and
    ``input_capacity[i] = min_s S_{i,s} / A_{i,s}`` (in days of baseline use; inf if
    the firm buys nothing).
    """
    n = client_pools.size - 1
    for i in prange(n):
        ratio = output_ratio[i]
        use_ratio = max(ratio, 0.0)
        limit = np.inf
        for p in range(client_pools[i], client_pools[i + 1]):
            a, b = pool_start[p], pool_start[p + 1]
            pooled = 0.0
            for k in range(a, b):
                pooled += inventory[k]
            need = pool_flow[p] * use_ratio
            new_pooled = 0.0
            for k in range(a, b):
                used = inventory[k] * need / pooled if pooled > 0.0 else 0.0
                stock = max(0.0, inventory[k] + delivered[k] - used)
                new_inventory[k] = stock
                new_pooled += stock
                if ratio < 0.0:
                    orders[k] = flow[k]
                else:
                    base = flow[k] * ratio
                    orders[k] = max(0.0, base + (target_days[i] * base - stock) / tau_days)
            limit = min(limit, new_pooled / pool_flow[p])
        input_capacity[i] = limit


@njit(parallel=True, cache=True)
def demand_on_suppliers(orders, by_supplier, supplier_links, final_demand, demand):  # pragma: no cover
    """``D_j = c_j + sum_k O_kj``: final demand plus every client's order to ``j``."""
    n = supplier_links.size - 1
    for j in prange(n):
        total = 0.0
        for q in range(supplier_links[j], supplier_links[j + 1]):
            total += orders[by_supplier[q]]
        # same order of additions as P_ini (sales, then final demand): D == P_ini exactly at baseline
        demand[j] = final_demand[j] + total


@njit(parallel=True, cache=True)
def deliver_scaled(orders, supplier, ratio, delivered):  # pragma: no cover
    """``O*_l = r_{supplier(l)} O_l``: every client of a supplier gets the same fraction."""
    for k in prange(orders.size):
        delivered[k] = orders[k] * ratio[supplier[k]]


@njit(cache=True)
def _water_level(ratios, weights, capacity):  # pragma: no cover
    """Largest ``lam`` with ``sum_k w_k min(rho_k, lam) <= capacity`` (sorted by rho)."""
    order = np.argsort(ratios, kind="mergesort")
    remaining_weight = weights.sum()
    served = 0.0
    for k in order:
        if served + ratios[k] * remaining_weight >= capacity:
            break
        served += weights[k] * ratios[k]
        remaining_weight -= weights[k]
    if remaining_weight <= 0.0:
        return np.inf
    return (capacity - served) / remaining_weight


@njit(parallel=True, cache=True)
def waterfill_delivery(
    orders, flow, by_supplier, supplier_links, production, demand, final_demand, final_now, include_final, delivered, final_delivered
):  # pragma: no cover
    """Priority rationing: clients ordering least relative to baseline are served first.

    For a supplier short of output (``P_act < D``) find the largest ``lam`` with
    ``sum_k A_k min(rho_k, lam) + [c_0 min(rho_c, lam)] <= P_act`` where
    ``rho_k = O_k / A_k`` and deliver ``A_k min(rho_k, lam)`` (water-filling; sorting
    makes it O(k log k) per supplier). With ``include_final`` False final demand is
    served last: it gets what the clients leave. Suppliers not short deliver in full.
    """
    n = supplier_links.size - 1
    for j in prange(n):
        lo, hi = supplier_links[j], supplier_links[j + 1]
        firm_orders = 0.0
        for q in range(lo, hi):
            firm_orders += orders[by_supplier[q]]
        capacity = production[j]
        short = capacity < demand[j]
        # with final demand served last, clients share at most what they ordered
        firm_capacity = capacity if include_final or not short else min(capacity, firm_orders)
        if not short or (not include_final and firm_capacity >= firm_orders):
            for q in range(lo, hi):
                delivered[by_supplier[q]] = orders[by_supplier[q]]
            final_delivered[j] = final_now[j] if not short else max(0.0, capacity - firm_orders)
            continue
        extra = 1 if (include_final and final_demand[j] > 0.0) else 0
        size = hi - lo + extra
        ratios = np.empty(size)
        weights = np.empty(size)
        for q in range(lo, hi):
            link = by_supplier[q]
            weights[q - lo] = flow[link]
            ratios[q - lo] = orders[link] / flow[link]
        if extra:
            weights[size - 1] = final_demand[j]
            ratios[size - 1] = final_now[j] / final_demand[j]
        level = _water_level(ratios, weights, firm_capacity)
        for q in range(lo, hi):
            link = by_supplier[q]
            delivered[link] = min(orders[link], flow[link] * level)
        final_delivered[j] = min(final_now[j], final_demand[j] * level) if extra else 0.0
