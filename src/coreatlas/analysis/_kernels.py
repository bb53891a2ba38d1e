"""Compiled kernels of the daily step of :mod:`coreatlas.analysis.dynamics`.

They hold no state: outputs are arrays the caller allocates (or the inputs themselves, where
a kernel says it may work in place). Why compiled, and why in this shape: on 1M firms / 5M
links (benchmarks/bench_dynamics.py) a day is a few passes over 5M links, and what costs is
memory traffic and random access, not arithmetic. So:

* links stay in one order (by client, then the supplier's sector): per-link arrays are read
  and written in that order only, and a per-supplier quantity (what it delivers of each
  order) is gathered from a per-firm array (8 MB, cache-resident), never from a per-link one;
* yesterday's delivered orders ``O*`` are rebuilt from yesterday's orders and the suppliers'
  delivery factors in one flat pass (:func:`deliver`) before the pass over pools
  (:func:`advance_links`): the same gather inside the pool loop runs several times slower;
* demand is one sequential scatter of orders onto suppliers (:func:`demand_on_suppliers`),
  in link order, so every sum is added in the order of the baseline output
  ``P_ini = c + sum_k A``: the baseline is reproduced exactly;
* the per-firm part of the day (output, and rationing shares) is one pass (:func:`firm_output`).

The water-filling of priority rationing needs the clients of each short supplier together
and a sort per short supplier, which numpy can only do as one segmented sort of all links
(2.2 s/day in the research notes, against 0.2 s here).

Every expression keeps the order of operations of the equations in
:mod:`coreatlas.analysis.dynamics`: results do not depend on the number of threads.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange

# Threads that finish a kernel sleep at once rather than spin: a day runs several short kernels
# with serial work between them, and on a machine with as many busy threads as cores a spinning
# worker takes the core the next step needs (at 1M firms on 2 shared cores: 0.16 s a day with the
# OpenMP default, 0.10 s passive, the same as one thread). OpenMP reads it when numba starts its
# threads, at the first parallel kernel (not at import); a value set by the user is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = [
    "FINAL_DEMAND_LAST",
    "PROPORTIONAL",
    "WATER_FILLING",
    "advance_links",
    "deliver",
    "demand_on_suppliers",
    "firm_output",
    "rationing_shares",
    "waterfill_levels",
]


@njit(inline="always")
def _received(order, flow, factor, capped):  # pragma: no cover - compiled
    """``O*`` of one link: ``O x`` (proportional rules) or ``min(O, A x)`` (water level ``x``)."""
    return min(order, flow * factor) if capped else order * factor


@njit(parallel=True, cache=True)
def deliver(orders, flow, supplier, factor, capped, delivered):  # pragma: no cover - compiled
    """``O*`` per link from the suppliers' delivery factors (see :func:`_received`)."""
    for k in prange(orders.size):
        delivered[k] = _received(orders[k], flow[k], factor[supplier[k]], capped)


@njit(parallel=True, cache=True)
def advance_links(
    inventory,
    received,
    flow,
    pool_start,
    pool_flow,
    client_pools,
    production,
    baseline_output,
    target_days,
    tau_days,
    new_inventory,
    new_orders,
    input_capacity,
):  # pragma: no cover - compiled
    """Steps 2, 3 and the input limit of step 5, for every client ``i`` (see dynamics).

    ``received`` is yesterday's ``O*`` per link (:func:`deliver`), ``production`` yesterday's
    ``P_act``. Writes ``new_inventory`` and ``new_orders`` per link (``new_inventory`` may be
    ``inventory`` itself: each link is read before it is written) and
    ``input_capacity[i] = min_s S_{i,s} / A_{i,s}`` (in days of baseline use; inf if the firm
    buys nothing).
    """
    for i in prange(client_pools.size - 1):
        base_output = baseline_output[i]
        # ``P_act / P_ini``; -1 marks a firm with no baseline output: it orders its baseline flows
        ratio = production[i] / base_output if base_output > 0.0 else -1.0
        use_ratio = max(ratio, 0.0)
        days = target_days[i]
        limit = np.inf
        for p in range(client_pools[i], client_pools[i + 1]):
            a, b = pool_start[p], pool_start[p + 1]
            if b == a + 1:  # one supplier of this sector (most pools): the same arithmetic, no inner loops
                stock_before = inventory[a]
                need = flow[a] * use_ratio  # the pool's flow is this link's flow
                used = stock_before * need / stock_before if stock_before > 0.0 else 0.0
                stock = max(0.0, stock_before + received[a] - used)
                new_inventory[a] = stock
                if ratio < 0.0:
                    new_orders[a] = flow[a]
                else:
                    base = flow[a] * ratio
                    new_orders[a] = max(0.0, base + (days * base - stock) / tau_days)
                limit = min(limit, stock / flow[a])
                continue
            pooled = 0.0
            for k in range(a, b):
                pooled += inventory[k]
            need = pool_flow[p] * use_ratio
            new_pooled = 0.0
            for k in range(a, b):
                used = inventory[k] * need / pooled if pooled > 0.0 else 0.0
                stock = max(0.0, inventory[k] + received[k] - used)
                new_inventory[k] = stock
                new_pooled += stock
                if ratio < 0.0:
                    new_orders[k] = flow[k]
                else:
                    base = flow[k] * ratio
                    new_orders[k] = max(0.0, base + (days * base - stock) / tau_days)
            limit = min(limit, new_pooled / pool_flow[p])
        input_capacity[i] = limit


@njit(cache=True)
def demand_on_suppliers(orders, supplier, final_demand, demand):  # pragma: no cover - compiled
    """``D_j = c_j + sum_k O_kj``: final demand plus every client's order to ``j``.

    One sequential pass in link order, as ``P_ini = c + bincount(supplier, A)``: at the
    baseline (``O = A``) ``D == P_ini`` exactly. A parallel version would add each supplier's
    orders in another order and break that.
    """
    for j in range(demand.size):
        demand[j] = 0.0
    for k in range(orders.size):
        demand[supplier[k]] += orders[k]
    for j in range(demand.size):
        demand[j] = final_demand[j] + demand[j]  # sales then final demand, as P_ini


@njit(inline="always")
def _smaller(a, b):  # pragma: no cover - compiled
    """``np.minimum`` of two numbers that are not NaN (the second on a tie, as numpy)."""
    return a if a < b else b


#: Codes of the rationing rules for :func:`firm_output` (water-filling shares come later).
PROPORTIONAL, FINAL_DEMAND_LAST, WATER_FILLING = 0, 1, 2


@njit(inline="always")
def _share(output, demand, final_demand, rule):  # pragma: no cover - compiled
    """Step 6 for one supplier under the rules that give each client the same share ``x``:
    ``(x, c*)``. ``PROPORTIONAL``: ``x = P_act / D`` (1 if D = 0), ``c* = c x``.
    ``FINAL_DEMAND_LAST``: clients first; final demand gets ``max(0, c - (D - P_act))``."""
    if rule == PROPORTIONAL:
        ratio = output / demand if demand > 0.0 else 1.0
        return ratio, final_demand * ratio
    if rule == FINAL_DEMAND_LAST:
        shortfall = demand - output
        if final_demand >= shortfall:
            return 1.0, final_demand - shortfall
        firm_orders = demand - final_demand
        return (output / firm_orders if firm_orders > 0.0 else 1.0), 0.0
    return np.inf, 0.0  # WATER_FILLING: :func:`waterfill_levels` writes both


@njit(parallel=True, cache=True)
def firm_output(capacity_loss, baseline_output, input_capacity, demand, final_demand, rule, production, lost, share,
                final_delivered):  # pragma: no cover - compiled  # fmt: skip
    """Step 5, ``P_act = min((1 - delta) P_ini, P_ini min_s S/A, D)`` and ``lost = delta P_ini``,
    then the rationing shares of step 6 (:func:`_share`), in one pass over firms.

    A firm that buys nothing has no input limit (``input_capacity`` inf), also when its
    output is 0.
    """
    for j in prange(demand.size):
        base = baseline_output[j]
        limit = input_capacity[j] * base if np.isfinite(input_capacity[j]) else np.inf
        output = _smaller(_smaller((1.0 - capacity_loss[j]) * base, limit), demand[j])
        production[j] = output
        lost[j] = capacity_loss[j] * base
        share[j], final_delivered[j] = _share(output, demand[j], final_demand[j], rule)


@njit(parallel=True, cache=True)
def rationing_shares(production, demand, final_demand, rule, share, final_delivered):  # pragma: no cover - compiled
    """The shares of :func:`firm_output` for a given output and demand."""
    for j in prange(demand.size):
        share[j], final_delivered[j] = _share(production[j], demand[j], final_demand[j], rule)


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
def waterfill_levels(orders, flow, by_supplier, supplier_links, production, demand, final_demand, include_final, level,
                     final_delivered):  # pragma: no cover  # fmt: skip
    """Priority rationing: clients ordering least relative to baseline are served first.

    For a supplier short of output (``P_act < D``) find the largest ``lam`` with
    ``sum_k A_k min(rho_k, lam) + [c min(1, lam)] <= P_act`` where ``rho_k = O_k / A_k``;
    each client gets ``min(O_k, A_k lam)`` (water-filling; sorting makes it O(k log k) per
    supplier). ``level[j]`` is that ``lam``, inf for a supplier that delivers in full. With
    ``include_final`` False final demand is served last: it gets what the clients leave.
    """
    n = supplier_links.size - 1
    for j in prange(n):
        lo, hi = supplier_links[j], supplier_links[j + 1]
        firm_orders = 0.0
        for q in range(lo, hi):
            firm_orders += orders[by_supplier[q]]
        capacity = production[j]
        c = final_demand[j]
        short = capacity < demand[j]
        # with final demand served last, clients share at most what they ordered
        firm_capacity = capacity if include_final or not short else min(capacity, firm_orders)
        if not short or (not include_final and firm_capacity >= firm_orders):
            level[j] = np.inf
            final_delivered[j] = c if not short else max(0.0, capacity - firm_orders)
            continue
        extra = 1 if (include_final and c > 0.0) else 0
        size = hi - lo + extra
        ratios = np.empty(size)
        weights = np.empty(size)
        for q in range(lo, hi):
            link = by_supplier[q]
            weights[q - lo] = flow[link]
            ratios[q - lo] = orders[link] / flow[link]
        if extra:
            weights[size - 1] = c
            ratios[size - 1] = c / c
        lam = _water_level(ratios, weights, firm_capacity)
        level[j] = lam
        final_delivered[j] = min(c, c * lam) if extra else 0.0
