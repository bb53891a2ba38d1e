r"""Time-to-recover (TTR), time-to-survive (TTS) and the risk exposure index (REI).

Simchi-Levi, Schmidt & Wei, *From superstorms to factory fires*, Harvard Business Review
92(1–2):96–101 (2014); Simchi-Levi et al., *Identifying risks and mitigating disruptions
in the automotive supply chain*, Interfaces 45(5):375–390 (2015). The linear programs are
those of notes §3.2 (continuous, as published; node ``j`` of :class:`RiskNetwork`):

Performance impact of disrupting the nodes ``S`` for ``t`` days::

    PI(S, t) = min  sum_{j in V} f_j l_j
      s.t. r_{jk} u_j - sum_{i in P_jk} y_ij <= 0          every consumer j and material k (BOM)
           sum_{k in N+(i)} y_ik - u_i <= s_i               every supplier i (ship stock or output)
           l_j + u_j >= d_j t - s_j                          every product j (shortfall is lost)
           0 <= u_j <= c_j t,  u_j = 0 for j in S           capacity (or sum_{j in g} u_j <= c_g t per group)
           l, y >= 0

Time to survive: the same constraints with no loss allowed and ``t`` free,
``TTS(S) = max t`` s.t. ``u_j - d_j t >= -s_j`` on products and ``u_j - c_j t <= 0``.

Each LP is built once; each disrupted node only changes bounds, so HiGHS re-solves from the
previous basis (dual simplex hot start) instead of starting over. ``REI = PI / max PI``;
a node is critical when ``TTR > TTS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coreatlas.analysis._highs import INF, new_highs, pass_model
from coreatlas.errors import InfeasibleError, RequestError
from coreatlas.model.risknet import RISK_MEASURES, RiskNetwork

__all__ = ["TTS_CAP_DAYS", "RiskTable", "RiskModel", "risk_table"]

TTS_CAP_DAYS = 3650.0  # a TTS at this cap is reported as infinite (the disruption never binds)
Progress = Callable[[int, int | None], None] | None  # progress(done, total)


def _structure(net: RiskNetwork) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(bom, flow)`` blocks over ``[u | y]``: BOM rows per pair, flow rows per supplier."""
    n, m, pairs = net.n_nodes, net.n_edges, net.pair_dst.size
    edges = np.arange(m)
    bom_u = sp.csr_matrix((net.pair_ratio, (np.arange(pairs), net.pair_dst)), shape=(pairs, n))
    bom_y = sp.csr_matrix((-np.ones(m), (net.pair, edges)), shape=(pairs, m))
    row_of = np.full(n, -1)
    row_of[net.suppliers] = np.arange(net.suppliers.size)
    flow_y = sp.csr_matrix((np.ones(m), (row_of[net.src], edges)), shape=(net.suppliers.size, m))
    flow_u = sp.csr_matrix((-np.ones(net.suppliers.size), (np.arange(net.suppliers.size), net.suppliers)), shape=(net.suppliers.size, n))
    return sp.hstack([bom_u, bom_y]).tocsr(), sp.hstack([flow_u, flow_y]).tocsr()


def _group_rows(net: RiskNetwork) -> sp.csr_matrix:
    grouped = np.flatnonzero(net.group >= 0)
    return sp.csr_matrix((np.ones(grouped.size), (net.group[grouped], grouped)), shape=(net.group_capacity.size, net.n_nodes))


def _solve(highs) -> tuple[str, float]:
    highs.run()
    status = highs.modelStatusToString(highs.getModelStatus())
    return status, highs.getInfo().objective_function_value


class RiskModel:
    """The TTR and TTS programs of one network, built once and re-solved per disruption."""

    def __init__(self, net: RiskNetwork, measure: str = "units"):
        if measure not in RISK_MEASURES:
            raise RequestError(f"measure must be one of {', '.join(RISK_MEASURES)}, not '{measure}'", field="measure")
        self.net, self.measure = net, measure
        self._bom, self._flow = _structure(net)
        self._groups = _group_rows(net)
        self._ttr = self._tts = None
        self._grouped = net.group >= 0

    # ---- TTR ------------------------------------------------------------------------------
    def _build_ttr(self):
        net, n, m, products = self.net, self.net.n_nodes, self.net.n_edges, self.net.products
        k = products.size
        pad = lambda block: sp.hstack([block, sp.csr_matrix((block.shape[0], k))])  # noqa: E731  (no l in these rows)
        demand = sp.hstack([sp.csr_matrix((np.ones(k), (np.arange(k), products)), shape=(k, n + m)), sp.identity(k)])
        groups = sp.hstack([self._groups, sp.csr_matrix((self._groups.shape[0], m))])
        matrix = sp.vstack([pad(self._bom), pad(self._flow), demand, pad(groups)]).tocsc()
        weight = net.profit[products] if self.measure == "profit" else np.ones(k)
        cost = np.concatenate([np.zeros(n + m), weight])
        upper = np.concatenate([self._u_upper(1.0), np.full(m + k, INF)])
        self._ttr = pass_model(new_highs(), matrix, cost, np.zeros(n + m + k), upper, *self._ttr_row_bounds(1.0))

    def _ttr_row_bounds(self, days: float) -> tuple[np.ndarray, np.ndarray]:
        net = self.net
        nb, nf, k, g = self._bom.shape[0], self._flow.shape[0], net.products.size, self._groups.shape[0]
        lower = np.concatenate([np.full(nb + nf, -INF), net.demand[net.products] * days - net.inventory[net.products], np.full(g, -INF)])
        upper = np.concatenate([np.zeros(nb), net.inventory[net.suppliers], np.full(k, INF), net.group_capacity * days])
        return lower, upper

    def _u_upper(self, days: float) -> np.ndarray:
        return np.where(self._grouped, INF, self.net.capacity * days)

    def performance_impact(self, disrupted: Sequence[int], days: float) -> float:
        """``PI(S, t)``: weighted units lost when ``disrupted`` produce nothing for ``days``."""
        if self._ttr is None:
            self._build_ttr()
        n = self.net.n_nodes
        upper = self._u_upper(days)
        upper[np.asarray(disrupted, dtype=np.int64)] = 0.0
        self._ttr.changeColsBounds(n, np.arange(n, dtype=np.int32), np.zeros(n), upper)
        lower, row_upper = self._ttr_row_bounds(days)
        self._ttr.changeRowsBounds(lower.size, np.arange(lower.size, dtype=np.int32), lower, row_upper)
        status, value = _solve(self._ttr)
        if status != "Optimal":
            raise InfeasibleError(f"the TTR program for nodes {list(disrupted)[:5]} is {status.lower()}")
        return max(0.0, value)

    # ---- TTS ------------------------------------------------------------------------------
    def _build_tts(self):
        net, n, m, products = self.net, self.net.n_nodes, self.net.n_edges, self.net.products
        k, free = products.size, np.flatnonzero(~self._grouped)
        demand = sp.csr_matrix((np.ones(k), (np.arange(k), products)), shape=(k, n + m))
        capacity = sp.csr_matrix((np.ones(free.size), (np.arange(free.size), free)), shape=(free.size, n + m))
        groups = sp.hstack([self._groups, sp.csr_matrix((self._groups.shape[0], m))])
        body = sp.vstack([self._bom, self._flow, demand, capacity, groups]).tocsr()
        t_column = np.concatenate(
            [np.zeros(self._bom.shape[0] + self._flow.shape[0]), -net.demand[products], -net.capacity[free], -net.group_capacity]
        )
        matrix = sp.hstack([body, sp.csr_matrix(t_column[:, None])], format="csc")
        nb_nf = self._bom.shape[0] + self._flow.shape[0]
        lower = np.concatenate([np.full(nb_nf, -INF), -net.inventory[products], np.full(free.size + groups.shape[0], -INF)])
        upper = np.concatenate(
            [np.zeros(self._bom.shape[0]), net.inventory[net.suppliers], np.full(k, INF), np.zeros(free.size + groups.shape[0])]
        )
        cost = np.zeros(n + m + 1)
        cost[-1] = 1.0
        col_upper = np.concatenate([np.full(n + m, INF), [TTS_CAP_DAYS]])
        self._tts = pass_model(new_highs(), matrix, cost, np.zeros(n + m + 1), col_upper, lower, upper, sense_max=True)

    def time_to_survive(self, disrupted: Sequence[int]) -> float:
        """``TTS(S)`` in days (``inf`` if demand can be met for ``TTS_CAP_DAYS`` or more)."""
        if self._tts is None:
            self._build_tts()
        n = self.net.n_nodes
        upper = np.full(n, INF)
        upper[np.asarray(disrupted, dtype=np.int64)] = 0.0
        self._tts.changeColsBounds(n, np.arange(n, dtype=np.int32), np.zeros(n), upper)
        status, value = _solve(self._tts)
        if status != "Optimal":
            raise InfeasibleError(f"the TTS program for nodes {list(disrupted)[:5]} is {status.lower()}")
        return float("inf") if value >= TTS_CAP_DAYS * (1 - 1e-9) else max(0.0, value)


@dataclass(frozen=True, eq=False)
class RiskTable:
    """Per node: TTR, TTS, PI, REI and whether TTR exceeds TTS (arrays in node order)."""

    net: RiskNetwork
    pi: np.ndarray
    tts_days: np.ndarray
    measure: str

    @property
    def rei(self) -> np.ndarray:
        top = np.nanmax(self.pi, initial=0.0)  # nodes not solved are NaN
        return self.pi / top if top > 0 else np.where(np.isnan(self.pi), np.nan, 0.0)

    @property
    def critical(self) -> np.ndarray:
        return self.net.ttr_days > self.tts_days

    def to_frame(self) -> pd.DataFrame:
        net = self.net
        frame = pd.DataFrame(
            {
                "node": net.node_ids, "tier": net.tier, "country": net.country, "firm": net.firm,
                "ttr_days": net.ttr_days, "tts_days": self.tts_days, "pi": self.pi, "rei": self.rei, "ttr_exceeds_tts": self.critical,
            }
        )  # fmt: skip
        return frame.sort_values(["rei", "node"], ascending=[False, True], ignore_index=True)


def risk_table(
    net: RiskNetwork, nodes: Sequence[int] | None = None, measure: str = "units", tts: bool = True, progress: Progress = None
) -> RiskTable:
    """PI at each node's own TTR (and TTS) for every node (or ``nodes``); others are NaN.
    ``progress(done, total)`` after each node."""
    model = RiskModel(net, measure)
    chosen = np.arange(net.n_nodes) if nodes is None else np.asarray(nodes, dtype=np.int64)
    pi = np.full(net.n_nodes, np.nan)
    tts_days = np.full(net.n_nodes, np.nan)
    for done, node in enumerate(chosen, start=1):  # one LP re-solve per disrupted node: the work is in HiGHS
        pi[node] = model.performance_impact([node], float(net.ttr_days[node]))
        if tts:
            tts_days[node] = model.time_to_survive([node])
        if progress is not None:
            progress(done, chosen.size)
    return RiskTable(net, pi, tts_days, measure)
