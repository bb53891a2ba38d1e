r"""Day-by-day shock propagation through a firm-level production network.

The model of Inoue & Todo (2019), *Firm-level propagation of shocks through
supply-chain networks*, Nature Sustainability 2:841–847 — Hallegatte's ARIO logic at
the level of firms, with substitution only among suppliers of the same sector and a
prioritised rationing rule — in the exact order of operations of the authors' C++
simulator (../shared/research/propagation_models.md, section 1.3). One day ``t``:

1. Shocks starting on day ``t`` set ``delta_i``; capacity ``P_cap_i = (1 - delta_i) P_ini_i``.
2. Inventories: the sector-``s`` requirement ``A_{i,s} P_act_i(t-1) / P_ini_i`` is drawn
   from the stocks of that sector in proportion to their share of the pool,
   ``S_ij <- max(0, S_ij + O*_ij(t-1) - S_ij A_{i,s} (P_act_i / P_ini_i) / S_{i,s})``.
3. Orders: ``O_ij = max(0, A_ij r_i + (n_i A_ij r_i - S_ij) / tau)``, ``r_i = P_act_i(t-1)/P_ini_i``.
4. Demand: ``D_i = c_i + sum_k O_ki``.
5. Production: ``P_act_i = min(P_cap_i, P_ini_i min_s S_{i,s} / A_{i,s}, D_i)`` (Leontief
   across input sectors, perfect substitution within one).
6. Rationing of ``P_act_i`` among clients and final demand (:data:`RATIONING_RULES`).
7. Observers record the day.
8. Recovery of lost capacity (:mod:`coreatlas.analysis.recovery`).

``P_ini_i = c_i + sum_k A_ik`` (the reference recomputes it from flows), value added
``VA = sum_i v_i P_act_i`` with ``v_i = 1 - sum_j A_ji / P_ini_i``.

:func:`step` maps a :class:`State` to the next one and changes nothing; :func:`run` steps
``days`` times and feeds observers, advancing the per-link arrays (inventories, orders) in
place, so that a day at a million firms allocates no new link arrays (the kernels and their
costs: :mod:`coreatlas.analysis._kernels`). Both give the same numbers, bit for bit. The
parameters (:class:`~coreatlas.model.dynamics.DynamicsParams`) and the registry of rationing
rules are data in :mod:`coreatlas.model.dynamics`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from coreatlas.analysis import _kernels as kernels
from coreatlas.analysis.recovery import recover
from coreatlas.errors import ValidationError
from coreatlas.model.dynamics import RATIONING_RULES, DynamicsParams
from coreatlas.model.firms import FirmNetwork, Shocks

__all__ = [
    "RATIONING_RULES",
    "DynamicModel",
    "DynamicsParams",
    "Losses",
    "Observer",
    "SimulationResult",
    "State",
    "capped_delivery",
    "dynamic_model",
    "firm_observer",
    "group_observer",
    "initial_state",
    "run",
    "step",
]


def target_inventory_days(n_firms: int, params: DynamicsParams) -> np.ndarray:
    """``n_i`` per firm: ``inventory_days`` for all, or Poisson draws with a minimum."""
    if params.inventory_draw == "fixed":
        return np.full(n_firms, float(params.inventory_days))
    rng = np.random.default_rng(params.seed)
    days = rng.poisson(params.inventory_days, n_firms)
    low = days < params.min_inventory_days
    while low.any():  # redraw, as the reference does, rather than clip (keeps the shape above the floor)
        days[low] = rng.poisson(params.inventory_days, int(low.sum()))
        low = days < params.min_inventory_days
    return days.astype(np.float64)


@dataclass(frozen=True, eq=False)
class DynamicModel:
    """A network with its parameters, per-firm inventory targets and shocks, ready to step."""

    network: FirmNetwork
    params: DynamicsParams
    shocks: Shocks
    target_days: np.ndarray


def capped_delivery(params: DynamicsParams) -> bool:
    """True for the priority rules: a supplier's delivery factor is a water level ``x`` and a
    client gets ``min(O, A x)``; otherwise it is a share and a client gets ``O x``."""
    return params.rationing.startswith("priority")


def dynamic_model(network: FirmNetwork, shocks: Shocks | None = None, params: DynamicsParams | None = None) -> DynamicModel:
    shocks = Shocks.none() if shocks is None else shocks
    params = params or DynamicsParams()
    if len(shocks) and (shocks.firm.min() < 0 or shocks.firm.max() >= network.n_firms):
        raise ValidationError(f"shock on firm index {int(shocks.firm.max())} out of range 0..{network.n_firms - 1}")
    # only water-filling needs the links in supplier order (one sort of all links)
    prepared = network.prepare(supplier_order=capped_delivery(params))
    return DynamicModel(prepared, params, shocks, target_inventory_days(network.n_firms, params))


@dataclass(frozen=True, eq=False)
class State:
    """The state at the end of day ``day`` (-1 = baseline). Per link: ``inventory`` S,
    ``orders`` O and (computed when asked) ``delivered`` O*; per firm: ``delivery`` (what each
    supplier delivers of an order: the share ``x`` with ``O* = O x``, or with ``capped`` the
    water level ``x`` with ``O* = min(O, A x)``), ``production`` P_act, ``demand`` D,
    ``final_delivered`` c*, ``capacity_loss`` delta (after recovery), ``initial_loss``
    delta0, ``shock_day`` (-1 if never shocked) and ``lost_today`` (capacity lost today,
    ``delta P_ini``, before today's recovery). ``network`` gives the links of ``delivered``."""

    day: int
    inventory: np.ndarray
    orders: np.ndarray
    delivery: np.ndarray
    production: np.ndarray
    demand: np.ndarray
    final_delivered: np.ndarray
    capacity_loss: np.ndarray
    initial_loss: np.ndarray
    shock_day: np.ndarray
    lost_today: np.ndarray
    network: FirmNetwork = field(repr=False)
    capped: bool = False

    @cached_property
    def delivered(self) -> np.ndarray:
        """``O*`` per link: ``O x_supplier`` (``capped``: ``min(O, A x_supplier)``)."""
        net = self.network
        out = np.empty_like(self.orders)
        kernels.deliver(self.orders, net.flow, net.supplier, self.delivery, self.capped, out)
        return out


def initial_state(model: DynamicModel) -> State:
    """Baseline: ``S = n_i A``, ``O = O* = A``, ``D = P_act = P_ini``, no capacity lost."""
    net = model.network
    n = net.n_firms
    capped = capped_delivery(model.params)
    return State(
        day=-1,
        inventory=model.target_days[net.client] * net.flow,
        orders=net.flow.copy(),
        delivery=np.full(n, np.inf if capped else 1.0),  # every order in full: O* = O = A
        production=net.baseline_output.copy(),
        demand=net.baseline_output.copy(),
        final_delivered=net.final_demand.copy(),
        capacity_loss=np.zeros(n),
        initial_loss=np.zeros(n),
        shock_day=np.full(n, -1, dtype=np.int64),
        lost_today=np.zeros(n),
        network=net,
        capped=capped,
    )


def _apply_shocks(model: DynamicModel, state: State, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 1: shocks starting today set ``delta = delta0``; shocks ending today clear it."""
    shocks = model.shocks
    delta, delta0, shock_day = state.capacity_loss, state.initial_loss, state.shock_day
    starting = shocks.start_day == day
    ending = shocks.end_day == day
    if not (starting.any() or ending.any()):
        return delta, delta0, shock_day
    delta, delta0, shock_day = delta.copy(), delta0.copy(), shock_day.copy()
    delta[shocks.firm[ending]] = 0.0
    firms = shocks.firm[starting]
    delta[firms] = delta0[firms] = shocks.capacity_loss[starting]
    shock_day[firms] = day
    return delta, delta0, shock_day


def _rule_code(params: DynamicsParams) -> int:
    if capped_delivery(params):
        return kernels.WATER_FILLING
    return kernels.PROPORTIONAL if params.rationing == "proportional" else kernels.FINAL_DEMAND_LAST


def _outputs(model: DynamicModel, delta, input_days, orders, demand) -> tuple[np.ndarray, ...]:
    """Steps 5 and 6 per firm: ``P_act``, capacity lost today, the delivery factor ``x`` of
    :class:`State` and ``c*``."""
    net = model.network
    c = net.final_demand
    production, lost, factor, final = (np.empty_like(c) for _ in range(4))
    kernels.firm_output(delta, net.baseline_output, input_days, demand, c, _rule_code(model.params), production, lost, factor, final)
    _water_fill(model, orders, production, demand, factor, final)
    return production, lost, factor, final


def _water_fill(model: DynamicModel, orders, production, demand, factor, final) -> None:
    """The water levels and ``c*`` of the priority rules (nothing for the others)."""
    net, rule = model.network, model.params.rationing
    if rule.startswith("priority"):
        kernels.waterfill_levels(orders, net.flow, net.by_supplier, net.supplier_links, production, demand, net.final_demand,
                                 rule == "priority", factor, final)  # fmt: skip


def ration(model: DynamicModel, orders: np.ndarray, production: np.ndarray, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 6: delivered orders ``O*`` per link and delivered final demand ``c*`` per firm.

    * ``proportional``: ``O* = O P/D``, ``c* = c P/D`` (Hallegatte 2008).
    * ``final-demand-last``: clients first; final demand gets ``max(0, c - (D - P))``.
    * ``priority``: water-filling on ``O/A`` (Inoue & Todo 2019; see ``_kernels.waterfill_levels``).
    * ``priority-final-demand-last``: water-filling among clients, final demand last.
    """
    net = model.network
    factor, final = np.empty(net.n_firms), np.empty(net.n_firms)
    kernels.rationing_shares(production, demand, net.final_demand, _rule_code(model.params), factor, final)
    _water_fill(model, orders, production, demand, factor, final)
    delivered = np.empty_like(orders)
    kernels.deliver(orders, net.flow, net.supplier, factor, capped_delivery(model.params), delivered)
    return delivered, final


def step(model: DynamicModel, state: State) -> State:
    """One day of the model (steps 1–6 and 8 of the module docstring); a new state (``state``
    is not changed)."""
    return _advance(model, state, np.empty_like(state.inventory), np.empty_like(state.orders), np.empty_like(state.orders))


def _advance(model: DynamicModel, state: State, inventory: np.ndarray, orders: np.ndarray, received: np.ndarray) -> State:
    """The day after ``state``, its inventories and orders written to ``inventory`` and
    ``orders`` (which may be ``state.inventory`` and ``state.orders``: then in place);
    ``received`` is work space for yesterday's delivered orders (one per link)."""
    net, params = model.network, model.params
    day = state.day + 1
    delta, delta0, shock_day = _apply_shocks(model, state, day)
    kernels.deliver(state.orders, net.flow, net.supplier, state.delivery, state.capped, received)
    input_days = np.empty(net.n_firms)
    kernels.advance_links(
        state.inventory, received, net.flow, net.pool_start, net.pool_flow, net.client_pools, state.production, net.baseline_output,
        model.target_days, float(params.tau_days), inventory, orders, input_days,
    )  # fmt: skip
    demand = np.empty(net.n_firms)
    kernels.demand_on_suppliers(orders, net.supplier, net.final_demand, demand)
    production, lost, delivery, final = _outputs(model, delta, input_days, orders, demand)
    delta_next = recover(
        params.recovery, delta, delta0, shock_day, day, params.recovery_days, params.recovery_delay_days, (net.supplier, net.client)
    )
    return State(day, inventory, orders, delivery, production, demand, final, delta_next, delta0, shock_day, lost, net, state.capped)


# ---- observers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Observer:
    """Records ``columns`` each day: ``record(model, state) -> array (len(columns),)``."""

    name: str
    columns: tuple
    record: Callable[[DynamicModel, State], np.ndarray]


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    """``sum_i w_i x_i``, summed by numpy (pairwise), not by BLAS: a multi-threaded BLAS dot
    adds in an order that depends on its thread count, and its threads, woken every day,
    fight the kernels' threads for the cores (7-10 ms a day instead of 0.4 at 1M firms)."""
    return float(np.multiply(weights, values).sum())


def _totals(model: DynamicModel, state: State) -> np.ndarray:
    v = model.network.value_added_ratio
    production, lost = state.production, state.lost_today
    return np.array([production.sum(), _weighted_sum(v, production), state.final_delivered.sum(), lost.sum(), _weighted_sum(v, lost)])


TOTAL_COLUMNS = ("production", "value_added", "final_consumption", "capacity_lost", "capacity_lost_value_added")
totals_observer = Observer("totals", TOTAL_COLUMNS, _totals)


def group_observer(network: FirmNetwork, by: str = "sector", quantity: str = "production") -> Observer:
    """Daily sum of ``quantity`` (``production`` or ``capacity_lost``) per sector or region."""
    codes = getattr(network, by)
    names = network.sector_names if by == "sector" else network.region_names
    size = max(len(names), int(codes.max(initial=-1)) + 1)
    attribute = "production" if quantity == "production" else "lost_today"
    codes = codes.astype(np.intp)  # once: bincount would convert int32 codes every day
    return Observer(f"{quantity}_by_{by}", tuple(names), lambda model, state: np.bincount(codes, getattr(state, attribute), size))


def firm_observer(firms: Sequence[int] | None = None, quantity: str = "production") -> Observer:
    """Daily ``production`` (or another per-firm state array) of the given firms (all if None)."""
    index = None if firms is None else np.asarray(firms, dtype=np.int64)

    def record(model: DynamicModel, state: State) -> np.ndarray:
        values = getattr(state, quantity)
        return values.copy() if index is None else values[index]

    return Observer(f"{quantity}_by_firm", () if index is None else tuple(index.tolist()), record)


# ---- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Losses:
    """Loss summary over the simulated days, in units of ``measure`` (per-day flow x days).

    ``direct`` is capacity lost x days (``sum_t sum_i delta_i(t) P_ini_i``, or with ``v_i``
    for value added); ``total`` is baseline minus actual, summed over days; ``indirect =
    total - direct`` and ``ratio = indirect / direct`` (Inoue & Todo's amplification).
    ``trough_day`` is the day of lowest output, ``recovery_day`` the first day after the
    trough from which output stays within 1% of baseline to the end (None if it does not).
    """

    measure: str
    baseline_per_day: float
    direct: float
    indirect: float
    total: float
    ratio: float
    trough_day: int
    trough_share: float
    recovery_day: int | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Daily series of one run: ``days`` is -1 (baseline), 0, 1, ...; ``series[name]`` is
    ``(columns, values (days+1, len(columns)))`` for each observer."""

    days: np.ndarray
    series: dict
    params: DynamicsParams
    meta: dict = field(default_factory=dict)

    def frame(self, name: str = "totals") -> pd.DataFrame:
        columns, values = self.series[name]
        frame = pd.DataFrame(values, columns=list(columns))
        frame.insert(0, "day", self.days)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """Daily totals: ``day, production, value_added, final_consumption, capacity_lost, ...``."""
        return self.frame("totals")

    def losses(self, measure: str = "production", recovery_tolerance: float = 0.01) -> Losses:
        totals = self.to_frame()
        lost_column = "capacity_lost" if measure == "production" else "capacity_lost_value_added"
        return loss_summary(totals[measure].to_numpy(), totals[lost_column].to_numpy()[1:], measure, recovery_tolerance)

    def losses_by(self, by: str = "sector") -> pd.DataFrame:
        """Production loss per sector or region: total, direct, indirect and share of the total."""
        names, produced = self.series[f"production_by_{by}"]
        _, lost = self.series[f"capacity_lost_by_{by}"]
        total = (produced[0] - produced[1:]).sum(axis=0)
        direct = lost[1:].sum(axis=0)
        frame = pd.DataFrame({by: list(names), "baseline_per_day": produced[0], "total_loss": total, "direct_loss": direct})
        frame["indirect_loss"] = frame["total_loss"] - frame["direct_loss"]
        grand = total.sum()
        frame["share_of_loss"] = frame["total_loss"] / grand if grand else 0.0
        return frame.sort_values("total_loss", ascending=False, ignore_index=True)


def loss_summary(series: np.ndarray, capacity_lost: np.ndarray, measure: str = "production", tolerance: float = 0.01) -> Losses:
    """:class:`Losses` from a daily series whose first value is the baseline."""
    baseline, values = float(series[0]), series[1:]
    total = float((baseline - values).sum())
    direct = float(capacity_lost.sum())
    trough = int(np.argmin(values)) if values.size else 0
    ok = np.abs(values - baseline) <= tolerance * abs(baseline)
    bad_after = np.flatnonzero(~ok[trough:])
    if not values.size:
        recovery = None
    elif bad_after.size == 0:
        recovery = trough
    else:
        last_bad = trough + int(bad_after[-1])
        recovery = last_bad + 1 if last_bad + 1 < values.size else None
    share = float(values[trough] / baseline) if values.size and baseline else 1.0
    ratio = (total - direct) / direct if direct > 0 else float("nan")
    return Losses(measure, baseline, direct, total - direct, total, ratio, trough, share, recovery)


def default_observers(network: FirmNetwork) -> list[Observer]:
    groups = [group_observer(network, by, q) for by in ("sector", "region") for q in ("production", "capacity_lost")]
    return [totals_observer, *groups]


def run(
    network: FirmNetwork | DynamicModel,
    shocks: Shocks | None = None,
    days: int = 30,
    params: DynamicsParams | None = None,
    observers: Sequence[Observer] = (),
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate ``days`` days from the baseline; observers record day -1 and every day.

    Totals and production (and capacity lost) by sector and region are always recorded;
    ``observers`` adds more (e.g. :func:`firm_observer`). ``progress(done, days)`` is
    called after each day. The per-link arrays of the state an observer is given
    (``inventory``, ``orders``, ``delivered``) are advanced in place the next day: an
    observer that keeps them must copy them (per-firm arrays are new every day).
    """
    if days < 0:
        raise ValidationError("days must be >= 0")
    model = network if isinstance(network, DynamicModel) else dynamic_model(network, shocks, params)
    every = default_observers(model.network) + list(observers)
    state = initial_state(model)
    rows = {obs.name: [obs.record(model, state)] for obs in every}
    received = np.empty_like(state.orders)
    for done in range(1, days + 1):
        state = _advance(model, state, state.inventory, state.orders, received)  # in place: no new 5M-link arrays a day
        for obs in every:
            rows[obs.name].append(obs.record(model, state))
        if progress is not None:
            progress(done, days)
    series = {obs.name: (_columns(obs, model), np.vstack(rows[obs.name])) for obs in every}
    return SimulationResult(np.arange(-1, days), series, model.params, dict(model.network.meta))


def _columns(obs: Observer, model: DynamicModel) -> tuple:
    if obs.columns or not obs.name.endswith("_by_firm"):
        return obs.columns
    return tuple(model.network.firm_ids.tolist())
