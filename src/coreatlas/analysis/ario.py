r"""The Adaptive Regional Input–Output model (ARIO) on a sparse core.

Hallegatte (2008, 2014), in the variant BoARIO implements as ``ARIOPsiModel`` with the
``"alt"`` order rule (Guan et al. 2020) — overproduction, inventory targets with ``psi``,
inventory restoration time, orders split over suppliers by initial shares weighted by their
production capacity, proportional rationing, capital-loss ("recovery") and arbitrary
capacity-loss events. Equations and order of operations: docs/ario.md and the research notes
(peers_boario_pymrio.md §2.3); where BoARIO's documentation and code differ we follow the code.

Industries ``f`` are region-sectors; ``s(i)`` is the sector of supplier ``i``. BoARIO keeps
N x N dense matrices; here orders are never stored: with the "alt" rule they are
``O_if = Z_if r_i W_{s(i) f}`` (``r = x^cap / x_0``, ``W = gap / (I_sum diag(r) Z)``), so a
day needs two passes over the non-zeros of ``Z`` (compiled kernels) and arrays of one value
per industry and input sector (stocks, gaps; stored N x S) — memory ``O(nnz(Z) + S N)``
instead of ``O(N^2)``. Rebuilding demand is not
modelled yet; the state carries a slot for it (``rebuild_demand``) that is zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit, prange

from coreatlas.errors import LimitError, RequestError, ValidationError
from coreatlas.model.mrio import ARIO_EVENT_KINDS, MrioTable

__all__ = ["MAX_DAILY_VALUES", "MAX_DAYS", "ArioEvent", "ArioParams", "ArioResult", "ario_model", "check_run_size", "run_ario"]

TECHNOLOGY_THRESHOLD = 1e-5  # BoARIO: inputs below this share of daily output do not bind
ARBITRARY_DECIMALS = 6  # BoARIO rounds arbitrary capacity losses to 6 decimals while recovering
MAX_DAYS = 36_500  # a run covers at most a hundred years
MAX_DAILY_VALUES = 20_000_000  # days x industries of daily production a run keeps (160 MB)


def check_run_size(days: int, industries: int) -> None:
    """Refuse a run of fewer than one day, or one past :data:`MAX_DAYS` or :data:`MAX_DAILY_VALUES`
    (the daily production of every industry is kept: ``8 days industries`` bytes)."""
    if days < 1:
        raise RequestError(f"days: must be at least 1, not {days}", field="days")
    if days > MAX_DAYS:
        raise LimitError(f"days: {days:,} days is above the limit of {MAX_DAYS:,} days (a hundred years)", field="days")
    if days * industries > MAX_DAILY_VALUES:
        raise LimitError(
            f"days: {days:,} days x {industries:,} industries is {days * industries:,} daily values, above the limit of "
            f"{MAX_DAILY_VALUES:,}; simulate at most {MAX_DAILY_VALUES // industries:,} days or aggregate the table",
            field="days",
        )


@dataclass(frozen=True)
class ArioParams:
    """BoARIO's defaults (``ARIOPsiModel``): see the module docstring."""

    alpha_base: float = 1.0
    alpha_max: float = 1.25
    alpha_tau_days: float = 365.0
    inventory_days: float = 90.0
    psi: float = 0.8
    restoration_tau_days: float = 60.0
    capital_to_value_added: float = 4.0
    days_per_year: float = 365.0

    def __post_init__(self) -> None:
        if not 0 < self.psi <= 1 or self.inventory_days <= 1 or self.alpha_max < self.alpha_base:
            raise ValidationError("need 0 < psi <= 1, inventory days > 1 and alpha_max >= alpha_base")


@dataclass(frozen=True)
class ArioEvent:
    """A shock to industries (indices into the table), as BoARIO's events.

    ``kind="recovery"``: ``impact`` is productive capital destroyed (table units); capacity
    lost is ``impact / capital``; recovers linearly over ``recovery_tau_days`` once
    ``occurrence + duration`` is reached. ``kind="arbitrary"``: ``impact`` is the share of
    capacity lost (0..1), recovering the same way.
    """

    industries: tuple[int, ...]
    impact: tuple[float, ...]
    kind: str = "recovery"
    occurrence: int = 1
    duration: int = 1
    recovery_tau_days: int = 30
    decimals: int = 7  # BoARIO rounds capital still destroyed to log10(event monetary factor) + 1 decimals

    def __post_init__(self) -> None:
        if self.kind not in ARIO_EVENT_KINDS:
            raise ValidationError(f"event kind '{self.kind}' is not one of {', '.join(ARIO_EVENT_KINDS)}")
        if len(self.industries) != len(self.impact) or self.recovery_tau_days <= 0:
            raise ValidationError("an event needs one impact per industry and recovery_tau_days > 0")
        if self.kind == "arbitrary" and any(not 0 <= v <= 1 for v in self.impact):
            raise ValidationError("an arbitrary event's impact is a share of capacity in [0, 1]")


@dataclass(frozen=True, eq=False)
class ArioModel:
    """Everything constant over a run (daily units)."""

    table: MrioTable
    params: ArioParams
    z_csr: sp.csr_matrix  # daily Z, rows = suppliers
    z_csc: sp.csc_matrix
    x0: np.ndarray
    final_demand: np.ndarray  # daily, row totals
    tech: np.ndarray  # A^S, stored N x S: industry-major, so that each industry's inputs are contiguous
    binding: np.ndarray  # N x S: inputs that count (BoARIO's threshold_not_input)
    capital: np.ndarray
    supplier_sector: np.ndarray


def ario_model(table: MrioTable, params: ArioParams | None = None) -> ArioModel:
    params = params or ArioParams()
    n_s = len(table.sectors)
    sector = table.industry_sector.astype(np.int64)
    x_year = table.x
    z_year = table.Z.tocsr()
    aggregate = sp.csr_matrix((np.ones(table.n_industries), (sector, np.arange(table.n_industries))), shape=(n_s, table.n_industries))
    zc_year = (aggregate @ z_year).toarray()
    tech = zc_year / np.where(x_year > 0, x_year, 1.0)[None, :] * (x_year > 0)[None, :]
    daily = 1.0 / params.days_per_year
    binding = zc_year > (x_year * daily)[None, :] * TECHNOLOGY_THRESHOLD  # as BoARIO: annual Z^S against daily x
    capital = np.maximum(table.value_added, 0.0) * params.capital_to_value_added
    z_daily = (z_year * daily).tocsr()
    tech_t, binding_t = np.ascontiguousarray(tech.T), np.ascontiguousarray(binding.T)
    return ArioModel(
        table, params, z_daily, z_daily.tocsc(), x_year * daily, table.Y.sum(axis=1) * daily, tech_t, binding_t, capital, sector
    )


@njit(parallel=True, cache=True)
def _aggregate_by_supplier_sector(indptr, indices, data, supplier_sector, weight, other_weight, n_sectors, out, other):  # pragma: no cover
    """``out[f, s] = sum_{i in s} w_i Z_if`` and the same with ``other_weight`` (Z in CSC:
    column f's suppliers), in one pass. Outputs are N x S, like every per-(industry, input)
    array here, so that each industry's sums are contiguous."""
    n = indptr.size - 1
    for f in prange(n):
        for s in range(n_sectors):
            out[f, s] = 0.0
            other[f, s] = 0.0
        for k in range(indptr[f], indptr[f + 1]):
            i = indices[k]
            s = supplier_sector[i]
            out[f, s] += weight[i] * data[k]
            other[f, s] += other_weight[i] * data[k]


@njit(parallel=True, cache=True)
def _orders_on_suppliers(indptr, indices, data, supplier_sector, ratio, per_unit, out):  # pragma: no cover
    """``out_i = r_i sum_f Z_if W[s(i), f]``: what all clients order from supplier ``i`` (Z in CSR)."""
    n = indptr.size - 1
    for i in prange(n):
        total = 0.0
        s = supplier_sector[i]
        for k in range(indptr[i], indptr[i + 1]):
            total += data[k] * per_unit[indices[k], s]
        out[i] = ratio[i] * total


@njit(parallel=True, cache=True)
def _limited_production(tech, binding, stocks, optimal, days_needed, out):  # pragma: no cover
    """``x^a_f = x^opt_f min(1, min_p stock_pf / (psi s A^S_pf x^opt_f))`` over binding inputs (N x S arrays)."""
    n, n_sectors = tech.shape
    for f in prange(n):
        lowest = 1.0
        for s in range(n_sectors):
            needed = tech[f, s] * optimal[f] * days_needed
            if binding[f, s] and needed != 0.0:
                lowest = min(lowest, stocks[f, s] / needed)
        out[f] = optimal[f] * lowest


@dataclass(frozen=True, eq=False)
class ArioState:
    """Stocks (N x S: per industry and input sector); orders as ``(ratio r, per-unit W)``; production, overproduction alpha,
    capacity loss, and the per-event trackers (remaining impact, status)."""

    day: int
    stocks: np.ndarray
    order_ratio: np.ndarray
    order_per_unit: np.ndarray
    production: np.ndarray
    alpha: np.ndarray
    event_impact: tuple
    event_status: tuple
    rebuild_demand: np.ndarray = field(default=None)
    arbitrary_lagged: np.ndarray = field(default=None)


def initial_state(model: ArioModel, events: Sequence[ArioEvent]) -> ArioState:
    inventory = np.full(len(model.table.sectors), model.params.inventory_days)
    stocks = model.tech * model.x0[:, None] * inventory[None, :]
    n, s = model.table.n_industries, len(model.table.sectors)
    return ArioState(
        0, stocks, np.ones(n), np.ones((n, s)), model.x0.copy(), np.full(n, model.params.alpha_base),
        tuple(np.asarray(e.impact, dtype=float) for e in events), tuple("pending" for _ in events), np.zeros(n), np.zeros(n),
    )  # fmt: skip


def _statuses(events: Sequence[ArioEvent], status: tuple, day: int) -> tuple:
    """BoARIO's schedule: pending -> happening when ``day - 1 <= occurrence <= day``,
    happening -> recovering once ``day >= occurrence + duration``."""
    out = []
    for e, s in zip(events, status, strict=True):  # a handful of events
        if s == "pending" and day - 1 <= e.occurrence <= day:
            s = "happening"
        if s == "happening" and day >= e.occurrence + e.duration:
            s = "recovering"
        out.append(s)
    return tuple(out)


def _capacity_loss(model: ArioModel, events, impacts, status) -> tuple[np.ndarray, np.ndarray]:
    """``(capital lost / capital, arbitrary loss)`` over active events."""
    n = model.table.n_industries
    capital_lost, arbitrary = np.zeros(n), np.zeros(n)
    for e, impact, s in zip(events, impacts, status, strict=True):
        if s in ("happening", "recovering") and impact is not None:
            target = capital_lost if e.kind == "recovery" else arbitrary
            if e.kind == "recovery":
                np.add.at(target, np.asarray(e.industries), impact)
            else:
                np.maximum.at(target, np.asarray(e.industries), impact)
    return np.divide(capital_lost, model.capital, out=np.zeros(n), where=model.capital != 0), arbitrary


def _recover(events, impacts, status, day: int) -> tuple[tuple, tuple]:
    """Linear recovery of each recovering event: ``impact0 (1 - elapsed / tau)``, rounded."""
    new_impacts, new_status = [], []
    for e, impact, s in zip(events, impacts, status, strict=True):
        if s == "recovering" and impact is not None:
            elapsed = day - (e.occurrence + e.duration)
            decimals = e.decimals if e.kind == "recovery" else ARBITRARY_DECIMALS
            impact = np.round(np.asarray(e.impact, dtype=float) * (1 - elapsed / e.recovery_tau_days), decimals)
            if not impact.any():
                impact, s = None, "finished"
        new_impacts.append(impact)
        new_status.append(s)
    return tuple(new_impacts), tuple(new_status)


def _aggregate(model: ArioModel, weight: np.ndarray, other_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(I_sum diag(w) Z, I_sum diag(w') Z)``: S x N sums of each supplier sector's flows."""
    z = model.z_csc
    n, n_sectors = model.tech.shape
    out, other = np.empty((n, n_sectors)), np.empty((n, n_sectors))
    _aggregate_by_supplier_sector(z.indptr, z.indices, z.data, model.supplier_sector, weight, other_weight, n_sectors, out, other)
    return out, other


def _total_demand(model: ArioModel, state: ArioState) -> np.ndarray:
    z = model.z_csr
    orders = np.empty(model.table.n_industries)
    _orders_on_suppliers(z.indptr, z.indices, z.data, model.supplier_sector, state.order_ratio, state.order_per_unit, orders)
    return orders + model.final_demand + state.rebuild_demand


def _overproduction(model: ArioModel, alpha: np.ndarray, demand: np.ndarray, production: np.ndarray) -> np.ndarray:
    """``alpha += (alpha_max - alpha) zeta / tau`` when short (``zeta > 0``), else back towards base."""
    p = model.params
    scarcity = np.divide(demand - production, demand, out=np.zeros_like(demand), where=demand != 0)
    scarcity[np.isnan(scarcity)] = 0.0
    change = (p.alpha_max - alpha) * scarcity / p.alpha_tau_days + (p.alpha_base - alpha) * (scarcity == 0) / p.alpha_tau_days
    return np.maximum(alpha + change, 1.0)


def _production(model: ArioModel, stocks: np.ndarray, optimal: np.ndarray) -> np.ndarray:
    """``x^a = x^opt min(1, min_p stock_p / (psi s A^S_p x^opt))`` over binding inputs."""
    p = model.params
    out = np.empty_like(optimal)
    _limited_production(model.tech, model.binding, stocks, optimal, p.psi * p.inventory_days, out)
    return out


def _restock(model: ArioModel, state: ArioState, production: np.ndarray, delivered_by_sector: np.ndarray) -> np.ndarray:
    """Stocks after use ``A^S x^a`` and deliveries ``W (I_sum diag(r rho) Z)`` (proportional
    rationing ``rho = x^a / D``); unchanged when the two are all close (as BoARIO)."""
    added = state.order_per_unit * delivered_by_sector
    used = model.tech * production[:, None]
    if np.allclose(added, used):
        return state.stocks
    return state.stocks - used + added


def _orders(model: ArioModel, stocks: np.ndarray, optimal: np.ndarray, production: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Orders for tomorrow as ``W``: gap ``(s A^S x^opt - stock)^+ / tau_inv + A^S x^a`` split
    over suppliers by ``Z_if r_i / sum_{i' in s} Z_i'f r_i'`` (``weights`` is that sum)."""
    p = model.params
    goal = model.tech * optimal[:, None] * p.inventory_days
    gap = np.zeros_like(goal) if np.allclose(stocks, goal) else np.maximum(goal - stocks, 0.0) / p.restoration_tau_days
    gap = gap + model.tech * production[:, None]
    return np.divide(gap, weights, out=np.zeros_like(gap), where=weights != 0)


def step(model: ArioModel, events: Sequence[ArioEvent], state: ArioState) -> ArioState:
    """One day in BoARIO's order: events, overproduction, production, distribution, recovery, orders."""
    day = state.day
    status = _statuses(events, state.event_status, day)
    by_capital, arbitrary = _capacity_loss(model, events, state.event_impact, status)
    # BoARIO's code applies an arbitrary loss one day late (it sets it after recomputing the total)
    delta = np.maximum(by_capital, state.arbitrary_lagged)
    demand = _total_demand(model, state)  # orders placed yesterday: the same for both uses today
    alpha = _overproduction(model, state.alpha, demand, state.production) if day > 1 else state.alpha
    capacity = model.x0 * (1.0 - delta) * alpha
    optimal = np.fmin(demand, capacity)
    production = _production(model, state.stocks, optimal)
    ratio = np.divide(capacity, model.x0, out=np.ones_like(capacity), where=model.x0 != 0)  # r = x^cap / x_0
    delivered_ratio = np.divide(production, demand, out=np.zeros_like(demand), where=demand != 0)
    delivered_by_sector, weights = _aggregate(model, state.order_ratio * delivered_ratio, ratio)
    stocks = _restock(model, state, production, delivered_by_sector)
    impacts, status = _recover(events, state.event_impact, status, day)
    per_unit = _orders(model, stocks, optimal, production, weights)
    return replace(state, day=day + 1, stocks=stocks, order_ratio=ratio, order_per_unit=per_unit, production=production,
                   alpha=alpha, event_impact=impacts, event_status=status, arbitrary_lagged=arbitrary)  # fmt: skip


@dataclass(frozen=True, eq=False)
class ArioResult:
    """Daily production of every industry, ``(days, N)``, and its labels."""

    production: np.ndarray
    labels: list
    baseline: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.production, columns=pd.MultiIndex.from_tuples(self.labels, names=["region", "sector"]))
        frame.index.name = "day"
        return frame

    def totals(self) -> pd.DataFrame:
        total = self.production.sum(axis=1)
        return pd.DataFrame({"day": np.arange(len(total)), "production": total, "share_of_baseline": total / self.baseline.sum()})


def run_ario(
    table: MrioTable | ArioModel, events: Sequence[ArioEvent], days: int = 365, params: ArioParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ArioResult:  # fmt: skip
    """Simulate ``days`` days (BoARIO's days 0..days-1); production recorded after each day."""
    n = (table.table if isinstance(table, ArioModel) else table).n_industries
    check_run_size(days, n)
    model = table if isinstance(table, ArioModel) else ario_model(table, params)
    for e in events:
        if min(e.industries, default=0) < 0 or max(e.industries, default=0) >= n:
            raise ValidationError(f"event industry index out of range 0..{n - 1}")
    state = initial_state(model, events)
    out = np.empty((days, n))
    for day in range(days):
        state = step(model, events, state)
        out[day] = state.production
        if progress is not None:
            progress(day + 1, days)
    return ArioResult(out, model.table.labels(), model.x0)
