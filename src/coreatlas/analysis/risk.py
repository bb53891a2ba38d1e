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
``REI = PI / max PI``; a node is critical when ``TTR > TTS``.

**Solved on the part of the network a disruption reaches** (:mod:`coreatlas.analysis.restricted_lp`).
A *steady state* is rates ``(u_bar, y_bar)`` that meet demand with no stock: the BOM rows,
``sum_k y_bar_ik <= u_bar_i`` and ``d_j <= u_bar_j <= c_j`` (groups: ``sum_g u_bar <= c_g``).
Then ``theta (u_bar, y_bar, l = 0)`` satisfies every row of both programs for every
``theta >= 0`` (each row is ``theta`` times a steady-state row, and ``s >= 0``): it is the anchor
at which the columns outside the restriction are held (``theta = t`` for TTR, ``theta`` the TTS
variable ``t`` itself). The restriction starts from ``D``: the nodes of ``S`` and every node
downstream of them, with their ``u`` and ``l`` and the edges of every material that a node of ``D``
supplies to a node of ``D`` (the supply lost and its alternatives); other inputs of ``D`` stay held.
It is feasible: ``u = y = 0`` on it, the loss taking up the demand (for TTS ``t = 0``), since an
edge out of ``D`` ends in ``D`` and a supplier outside ``D`` still has
``s_i + t (u_bar_i - `` its held shipments ``) >= 0`` to give. In TTS a held ``u`` at capacity sits on
a row ``u_j - c_j t <= 0`` of its own (``held_upper`` of the restricted program).
Columns held at the anchor whose reduced cost contradicts optimality (a supplier outside ``D``
whose spare output is scarce, a customer of it that would give some up) join the restriction
until none does; then the Karush–Kuhn–Tucker conditions hold for the whole program, so
``PI`` and ``TTS`` are exactly the whole program's (proof in :mod:`coreatlas.analysis.restricted_lp`). A node whose
downstream is small therefore costs a small program, however large the network; in the worst case
the restriction grows to the whole program. A network without a steady state (demand cannot be met
even with nothing down) is solved whole: each program is built once and each disruption only
changes bounds, so HiGHS re-solves from the previous basis. ``risk_table`` skips the TTR program
of a node whose ``TTR <= TTS``: there ``PI = 0`` exactly (a loss-free solution at ``TTS`` scaled
by ``t / TTS`` is loss-free at ``t``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from coreatlas.analysis._highs import INF, new_highs, pass_model
from coreatlas.analysis.restricted_lp import Program, Restriction, Work, new_solver, ranges, solve_restricted
from coreatlas.errors import InfeasibleError, RequestError
from coreatlas.model.risknet import RISK_MEASURES, RiskNetwork

__all__ = ["RISK_METHODS", "TTS_CAP_DAYS", "RiskModel", "RiskTable", "risk_table", "steady_rates"]

TTS_CAP_DAYS = 3650.0  # a TTS at this cap is reported as infinite (the disruption never binds)
RISK_METHODS = ("local", "whole")  # restricted programs with a certificate, or the whole programs
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


@dataclass(frozen=True, eq=False)
class _Blocks:
    """The rows both programs share, over ``[u | y]``."""

    bom: sp.csr_matrix
    flow: sp.csr_matrix
    groups: sp.csr_matrix  # over u only

    @classmethod
    def of(cls, net: RiskNetwork) -> _Blocks:
        bom, flow = _structure(net)
        return cls(bom, flow, _group_rows(net))

    def groups_uy(self, m: int) -> sp.csr_matrix:
        return sp.hstack([self.groups, sp.csr_matrix((self.groups.shape[0], m))]).tocsr()


def _affine(base, slope=None) -> np.ndarray:
    base = np.asarray(base, dtype=float)
    return np.stack([base, np.zeros_like(base) if slope is None else np.asarray(slope, dtype=float)])


def steady_rates(net: RiskNetwork, blocks: _Blocks | None = None) -> np.ndarray | None:
    """Rates ``[u_bar | y_bar]`` that meet demand with no stock (module docstring), or None if
    there are none. Of those, the one using most capacity (``max sum u_bar / c``, then fewest
    shipments): held columns then have the most spare output to give."""
    blocks = blocks or _Blocks.of(net)
    n, m = net.n_nodes, net.n_edges
    grouped = net.group >= 0
    matrix = sp.vstack([blocks.bom, blocks.flow, blocks.groups_uy(m)]).tocsc()
    per_capacity = np.divide(1.0, net.capacity, out=np.zeros(n), where=net.capacity > 0)
    shipped = 1e-6 * per_capacity[net.src]
    upper = np.concatenate([np.where(grouped, INF, net.capacity), np.full(m, INF)])
    rows = blocks.bom.shape[0] + blocks.flow.shape[0]
    highs = pass_model(new_highs(), matrix, np.r_[-per_capacity, shipped], np.r_[net.demand, np.zeros(m)], upper,
                       np.full(matrix.shape[0], -INF), np.r_[np.zeros(rows), net.group_capacity])  # fmt: skip
    highs.run()
    if highs.modelStatusToString(highs.getModelStatus()) != "Optimal":
        return None
    rates = np.asarray(highs.getSolution().col_value, dtype=float)
    u = np.clip(rates[:n], net.demand, np.where(grouped, INF, net.capacity))
    u = np.where(~grouped & (u >= net.capacity * (1 - 1e-9)), net.capacity, u)  # at capacity: a held column at its bound
    return np.r_[u, np.where(rates[n:] > 1e-12 * np.maximum(1.0, u[net.src]), rates[n:], 0.0)]


def _ttr_program(net: RiskNetwork, measure: str, blocks: _Blocks, rates: np.ndarray) -> Program:
    """Columns ``[u | y | l]``; rows BOM, flow, demand, groups; bounds affine in ``t``."""
    n, m, products = net.n_nodes, net.n_edges, net.products
    k, g = products.size, blocks.groups.shape[0]
    pad = lambda block: sp.hstack([block, sp.csr_matrix((block.shape[0], k))])  # noqa: E731  (no l in these rows)
    demand = sp.hstack([sp.csr_matrix((np.ones(k), (np.arange(k), products)), shape=(k, n + m)), sp.identity(k)])
    matrix = sp.vstack([pad(blocks.bom), pad(blocks.flow), demand, pad(blocks.groups_uy(m))])
    nb, nf = blocks.bom.shape[0], blocks.flow.shape[0]
    grouped = net.group >= 0
    weight = net.profit[products] if measure == "profit" else np.ones(k)
    return Program(
        matrix.tocsc(), matrix.tocsr(), np.r_[np.zeros(n + m), weight],
        col_upper=_affine(np.r_[np.where(grouped, INF, 0.0), np.full(m + k, INF)], np.r_[np.where(grouped, 0.0, net.capacity), np.zeros(m + k)]),
        row_lower=_affine(np.r_[np.full(nb + nf, -INF), -net.inventory[products], np.full(g, -INF)], np.r_[np.zeros(nb + nf), net.demand[products], np.zeros(g)]),
        row_upper=_affine(np.r_[np.zeros(nb), net.inventory[net.suppliers], np.full(k, INF), np.zeros(g)], np.r_[np.zeros(nb + nf + k), net.group_capacity]),
        anchor=np.r_[rates, np.zeros(k)],
    )  # fmt: skip


def _tts_program(net: RiskNetwork, blocks: _Blocks, rates: np.ndarray) -> Program:
    """Columns ``[u | y | t]``, minimising ``-t``; rows BOM, flow, demand, capacity, groups."""
    n, m, products = net.n_nodes, net.n_edges, net.products
    k, free = products.size, np.flatnonzero(net.group < 0)
    demand = sp.csr_matrix((np.ones(k), (np.arange(k), products)), shape=(k, n + m))
    capacity = sp.csr_matrix((np.ones(free.size), (np.arange(free.size), free)), shape=(free.size, n + m))
    body = sp.vstack([blocks.bom, blocks.flow, demand, capacity, blocks.groups_uy(m)]).tocsr()
    nb_nf, g = blocks.bom.shape[0] + blocks.flow.shape[0], blocks.groups.shape[0]
    t_column = np.r_[np.zeros(nb_nf), -net.demand[products], -net.capacity[free], -net.group_capacity]
    matrix = sp.hstack([body, sp.csr_matrix(t_column[:, None])])
    return Program(
        matrix.tocsc(), matrix.tocsr(), np.r_[np.zeros(n + m), -1.0],
        col_upper=_affine(np.r_[np.full(n + m, INF), TTS_CAP_DAYS]),
        row_lower=_affine(np.r_[np.full(nb_nf, -INF), -net.inventory[products], np.full(free.size + g, -INF)]),
        row_upper=_affine(np.r_[np.zeros(blocks.bom.shape[0]), net.inventory[net.suppliers], np.full(k, INF), np.zeros(free.size + g)]),
        anchor=np.r_[rates, 0.0], scale=n + m, held_upper=np.r_[(net.group < 0) & (rates[:n] >= net.capacity), np.zeros(m + 1, dtype=bool)],
    )  # fmt: skip


class _Whole:
    """Each whole program passed to HiGHS once; a disruption only changes bounds, so HiGHS re-solves
    from the previous basis (dual simplex hot start)."""

    def __init__(self, programs: dict[str, Program], work: Work):
        self.programs, self.work, self._built = programs, work, {}

    def solve(self, name: str, disrupted: np.ndarray, t: float) -> tuple[float, str]:
        if name not in self._built:  # nothing held: the restriction to every column is the program
            program = self.programs[name]
            self._built[name] = Restriction(program, np.arange(program.n_cols), new_highs(), self.work)
        result = self._built[name].solve(disrupted, t)
        return result.value, result.status


class _Local:
    """Each disruption solved on its downstream part with a certificate (module docstring)."""

    def __init__(self, net: RiskNetwork, programs: dict[str, Program], work: Work):
        self.net, self.programs, self.work = net, programs, work
        n = net.n_nodes
        self._reach = sp.csr_matrix((np.ones(net.n_edges), (net.src, net.dst)), shape=(n, n))
        self._in_edges = np.argsort(net.dst, kind="stable")
        self._in_start = np.searchsorted(net.dst[self._in_edges], np.arange(n + 1))
        self._product_of = np.full(n, -1)
        self._product_of[net.products] = np.arange(net.products.size)
        self._highs = {name: new_solver() for name in programs}  # one instance per program, reused

    def downstream(self, disrupted: np.ndarray) -> np.ndarray:
        """``D``: the disrupted nodes and every node downstream of them (breadth-first, ``O(|D|)``)."""
        reached = [breadth_first_order(self._reach, int(j), directed=True, return_predecessors=False) for j in disrupted]
        return np.unique(np.concatenate(reached)) if reached else np.zeros(0, dtype=np.int64)

    def columns(self, name: str, disrupted: np.ndarray) -> np.ndarray:
        """The restriction's first columns: ``u`` of ``D``, the edges of every material that a node
        of ``D`` supplies to a node of ``D`` (the lost supply and its alternatives) and (TTR) ``l`` of ``D``."""
        net, n, m = self.net, self.net.n_nodes, self.net.n_edges
        down = self.downstream(disrupted)
        into = self._in_edges[ranges(self._in_start[down], self._in_start[down + 1])]
        inside = np.zeros(n, dtype=bool)
        inside[down] = True
        short = np.zeros(net.pair_dst.size, dtype=bool)
        short[net.pair[into[inside[net.src[into]]]]] = True
        edges = into[short[net.pair[into]]]
        losses = self._product_of[down]
        return np.r_[down, n + edges, (n + m + losses[losses >= 0]) if name == "ttr" else []].astype(np.int64)

    def solve(self, name: str, disrupted: np.ndarray, t: float) -> tuple[float, str]:
        program, highs = self.programs[name], self._highs[name]
        result = solve_restricted(program, self.columns(name, disrupted), disrupted, t, self.work, highs)
        if result.status != "Optimal":  # the restriction is feasible by construction; numerical trouble: solve it whole
            result = solve_restricted(program, np.arange(program.n_cols), disrupted, t, self.work, highs)
        return result.value, result.status


class RiskModel:
    """The TTR and TTS programs of one network, solved per disruption.

    ``method``: ``local`` (default) solves each disruption on the part of the network it reaches,
    certified exact (module docstring), where the network has a steady state, and whole otherwise;
    ``whole`` always solves the whole programs. ``work`` counts the programs solved and their sizes."""

    def __init__(self, net: RiskNetwork, measure: str = "units", method: str = "local"):
        if measure not in RISK_MEASURES:
            raise RequestError(f"measure must be one of {', '.join(RISK_MEASURES)}, not '{measure}'", field="measure")
        if method not in RISK_METHODS:
            raise RequestError(f"method must be one of {', '.join(RISK_METHODS)}, not '{method}'", field="method")
        self.net, self.measure, self.work = net, measure, Work()
        blocks = _Blocks.of(net)
        rates = steady_rates(net, blocks) if method == "local" else None
        self.method = "whole" if rates is None else "local"
        anchor = np.zeros(net.n_nodes + net.n_edges) if rates is None else rates
        programs = {"ttr": _ttr_program(net, measure, blocks, anchor), "tts": _tts_program(net, blocks, anchor)}
        self._solver = _Whole(programs, self.work) if rates is None else _Local(net, programs, self.work)

    def performance_impact(self, disrupted: Sequence[int], days: float) -> float:
        """``PI(S, t)``: weighted units lost when ``disrupted`` produce nothing for ``days``."""
        value, status = self._solver.solve("ttr", np.unique(np.asarray(disrupted, dtype=np.int64)), float(days))
        if status != "Optimal":
            raise InfeasibleError(f"the TTR program for nodes {list(disrupted)[:5]} is {status.lower()}")
        return max(0.0, value)

    def time_to_survive(self, disrupted: Sequence[int]) -> float:
        """``TTS(S)`` in days (``inf`` if demand can be met for ``TTS_CAP_DAYS`` or more)."""
        value, status = self._solver.solve("tts", np.unique(np.asarray(disrupted, dtype=np.int64)), 0.0)
        if status != "Optimal":
            raise InfeasibleError(f"the TTS program for nodes {list(disrupted)[:5]} is {status.lower()}")
        days = -value
        return float("inf") if days >= TTS_CAP_DAYS * (1 - 1e-9) else max(0.0, days)


@dataclass(frozen=True, eq=False)
class RiskTable:
    """Per node: TTR, TTS, PI, REI and whether TTR exceeds TTS (arrays in node order)."""

    net: RiskNetwork
    pi: np.ndarray
    tts_days: np.ndarray
    measure: str
    work: Work = field(default_factory=Work)
    method: str = "local"

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
    net: RiskNetwork, nodes: Sequence[int] | None = None, measure: str = "units", tts: bool = True, progress: Progress = None,
    method: str = "local",
) -> RiskTable:  # fmt: skip
    """PI at each node's own TTR (and TTS) for every node (or ``nodes``); others are NaN.
    With ``tts``, a node whose TTR is at most its TTS has ``PI = 0`` without its TTR program
    (module docstring). ``progress(done, total)`` after each node; ``work`` on the table counts
    the programs solved and their sizes."""
    model = RiskModel(net, measure, method)
    chosen = np.arange(net.n_nodes) if nodes is None else np.asarray(nodes, dtype=np.int64)
    pi = np.full(net.n_nodes, np.nan)
    tts_days = np.full(net.n_nodes, np.nan)
    for done, node in enumerate(chosen, start=1):  # one program (or two) per disrupted node: the work is in HiGHS
        days = float(net.ttr_days[node])
        if tts:
            tts_days[node] = model.time_to_survive([node])
        pi[node] = 0.0 if tts and days <= tts_days[node] else model.performance_impact([node], days)
        if progress is not None:
            progress(done, chosen.size)
    return RiskTable(net, pi, tts_days, measure, model.work, model.method)
