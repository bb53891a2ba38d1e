"""Firm-level production networks and their shocks, as immutable arrays.

A :class:`FirmNetwork` holds ``n`` firms (agents) and ``m`` links ``supplier -> client``
with a baseline daily flow. Links are stored sorted by client and then by the supplier's
sector, so the *pools* of the Inoue–Todo model (one per client and input sector: inputs
of one sector substitute perfectly, inputs of different sectors do not) are contiguous
runs of links. A permutation sorts the same links by supplier, for demand and rationing.

Sizes in mind: a million firms and five million links take about 0.2 GB here (int32
indices, float64 flows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from coreatlas.errors import ValidationError

__all__ = ["DEGREE_MODELS", "FirmNetwork", "Shocks", "firm_network", "group_starts"]

#: Degree models of generated networks (:mod:`coreatlas.analysis.synthetic`).
DEGREE_MODELS = ("scale-free", "poisson")
INDEX = np.int32
POINTER = np.int64


def group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in ``sorted_keys``, plus the end (CSR pointer; int32
    when it fits, see :func:`_compact`). Written into one array: at 5M links every temporary
    is 40 MB of fresh pages."""
    size = sorted_keys.size
    if size == 0:
        return np.zeros(1, dtype=POINTER)
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1])
    starts = np.empty(change.size + 2, dtype=INDEX if size <= np.iinfo(INDEX).max else POINTER)
    starts[0], starts[-1] = 0, size
    np.add(change, 1, out=starts[1:-1], casting="unsafe")  # positions < size: they fit
    return starts


def _pointer(keys: np.ndarray, n: int) -> np.ndarray:
    """CSR pointer over ``n`` groups for ``keys`` sorted ascending."""
    return np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))]).astype(POINTER)


def _compact(pointer: np.ndarray) -> np.ndarray:
    """A pointer as int32 when it fits: the daily step reads it every day (half the bytes)."""
    return pointer.astype(INDEX) if pointer[-1] <= np.iinfo(INDEX).max else pointer


@dataclass(frozen=True, eq=False)
class FirmNetwork:
    """Firms, links and final demand of a production network (read-only arrays).

    Attributes
    ----------
    supplier, client : int32 arrays (m,)
        Firm indices of each link, sorted by ``(client, sector[supplier], supplier)``.
    flow : float64 array (m,)
        Baseline daily flow ``A`` from supplier to client (> 0).
    final_demand : float64 array (n,)
        Baseline daily final demand ``c`` of each firm's product.
    sector, region : int32 arrays (n,)
        Codes into ``sector_names`` and ``region_names``.
    firm_ids : array (n,)
        The firms' ids as given (integers or strings).
    """

    supplier: np.ndarray
    client: np.ndarray
    flow: np.ndarray
    final_demand: np.ndarray
    sector: np.ndarray
    region: np.ndarray
    firm_ids: np.ndarray
    sector_names: tuple = ()
    region_names: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def n_firms(self) -> int:
        return int(self.final_demand.size)

    @property
    def n_links(self) -> int:
        return int(self.flow.size)

    @cached_property
    def baseline_output(self) -> np.ndarray:
        """``P_ini_i = c_i + sum_k A_ik``: final demand plus all sales (as the reference simulator)."""
        return self.final_demand + np.bincount(self.supplier, self.flow, self.n_firms)

    @cached_property
    def input_use(self) -> np.ndarray:
        """Baseline daily purchases of each firm, ``sum_j A_ji``."""
        return np.bincount(self.client, self.flow, self.n_firms)

    @cached_property
    def value_added_ratio(self) -> np.ndarray:
        """``v_i = (P_ini_i - sum_j A_ji) / P_ini_i`` (0 for a firm with no output)."""
        out = self.baseline_output
        return np.divide(out - self.input_use, out, out=np.zeros_like(out), where=out > 0)

    @cached_property
    def pool_start(self) -> np.ndarray:
        """CSR pointer of pools over links: pool ``p`` is links ``pool_start[p]:pool_start[p+1]``."""
        n_sectors = int(self.sector.max(initial=0)) + 1
        return group_starts(_pool_keys(self.supplier, self.client, self.sector, n_sectors))

    @cached_property
    def pool_flow(self) -> np.ndarray:
        """Baseline flow of each pool, ``A_{i,s} = sum_{j in s} A_ji``."""
        starts = self.pool_start[:-1]
        return np.add.reduceat(self.flow, starts) if starts.size else np.zeros(0)

    @cached_property
    def pool_client(self) -> np.ndarray:
        return self.client[self.pool_start[:-1]]

    @cached_property
    def client_pools(self) -> np.ndarray:
        """CSR pointer of pools over clients: firm ``i`` owns pools ``client_pools[i]:client_pools[i+1]``."""
        return _compact(_pointer(self.pool_client, self.n_firms))

    @cached_property
    def by_supplier(self) -> np.ndarray:
        """Link positions sorted by supplier (stable), for demand and rationing."""
        return np.argsort(self.supplier, kind="stable").astype(INDEX)

    @cached_property
    def supplier_links(self) -> np.ndarray:
        """CSR pointer over suppliers into :attr:`by_supplier`."""
        return _pointer(self.supplier, self.n_firms)

    def prepare(self, supplier_order: bool = True) -> FirmNetwork:
        """Compute the derived indices now (they are otherwise built on first use); the links in
        supplier order (:attr:`by_supplier`, one sort of all links) only with ``supplier_order``."""
        names = ("baseline_output", "value_added_ratio", "pool_flow", "client_pools") + (("by_supplier", "supplier_links") * supplier_order)
        for name in names:
            getattr(self, name)
        return self


def _check_links(supplier, client, flow, n: int) -> None:
    problems = []
    if not (supplier.shape == client.shape == flow.shape):
        problems.append("supplier, client and flow must have the same length")
    elif supplier.size and (min(supplier.min(), client.min()) < 0 or max(supplier.max(), client.max()) >= n):
        problems.append(f"link firm index out of range (expected 0..{n - 1})")
    elif not np.all(np.isfinite(flow)) or np.any(flow <= 0):
        bad = int(np.flatnonzero(~np.isfinite(flow) | (flow <= 0))[0])
        problems.append(f"link {bad}: flow {flow[bad]} must be a positive number")
    if problems:
        raise ValidationError(problems[0])


def _pool_keys(supplier, client, sector, n_sectors: int) -> np.ndarray:
    """``client * n_sectors + sector[supplier]`` per link (int64, computed in place: temporaries
    of 5M links cost more than the arithmetic)."""
    key = client.astype(np.int64)
    key *= n_sectors
    key += sector[supplier]
    return key


def _sorted_links(supplier, client, flow, sector):
    """Links sorted by ``(client, sector[supplier], supplier)``, repeated pairs merged by summing.

    One sort of a combined int64 key when it fits (a million firms, 1,400 sectors: it does),
    else a lexicographic sort; repeated pairs are then adjacent. Links already in that order
    (as a network written by coreatlas whose sectors keep their codes) are not sorted again.
    """
    n = int(max(supplier.max(initial=0), client.max(initial=0))) + 1
    n_sectors = int(sector.max(initial=0)) + 1
    if n * n * n_sectors < 2**62:
        key = _pool_keys(supplier, client, sector, n_sectors)
        key *= n
        key += supplier
        if key.size and np.any(key[1:] < key[:-1]):
            order = np.argsort(key, kind="stable")
            key = key[order]
            supplier, client, flow = supplier[order], client[order], flow[order]
        else:  # copies, not the caller's arrays
            supplier, client, flow = supplier.copy(), client.copy(), flow.copy()
    else:
        order = np.lexsort((supplier, sector[supplier], client))
        key = None
        supplier, client, flow = supplier[order], client[order], flow[order]
    same = (key[1:] == key[:-1]) if key is not None else ((supplier[1:] == supplier[:-1]) & (client[1:] == client[:-1]))
    if not same.any():
        return supplier, client, flow
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    return supplier[starts], client[starts], np.add.reduceat(flow, starts)


def firm_network(
    supplier,
    client,
    flow,
    final_demand,
    sector=None,
    region=None,
    *,
    firm_ids=None,
    sector_names=(),
    region_names=(),
    meta: dict | None = None,
) -> FirmNetwork:
    """Build a :class:`FirmNetwork` from firm indices (0..n-1), checking and sorting links.

    Repeated ``(supplier, client)`` pairs are merged by summing their flows. ``sector``
    defaults to one sector per firm (no substitution), ``region`` to a single region.
    """
    final_demand = np.asarray(final_demand, dtype=np.float64)
    n = final_demand.size
    supplier, client = np.asarray(supplier, dtype=INDEX), np.asarray(client, dtype=INDEX)
    flow = np.asarray(flow, dtype=np.float64)
    _check_links(supplier, client, flow, n)
    if np.any(final_demand < 0) or not np.all(np.isfinite(final_demand)):
        raise ValidationError("final demand must be finite and non-negative")
    sector = np.arange(n, dtype=INDEX) if sector is None else np.asarray(sector, dtype=INDEX)
    region = np.zeros(n, dtype=INDEX) if region is None else np.asarray(region, dtype=INDEX)
    supplier, client, flow = _sorted_links(supplier, client, flow, sector)
    return FirmNetwork(
        supplier=supplier,
        client=client,
        flow=flow,
        final_demand=final_demand,
        sector=sector,
        region=region,
        firm_ids=np.arange(n) if firm_ids is None else np.asarray(firm_ids),
        sector_names=tuple(sector_names) or tuple(str(s) for s in range(int(sector.max(initial=-1)) + 1)),
        region_names=tuple(region_names) or tuple(str(r) for r in range(int(region.max(initial=-1)) + 1)),
        meta=dict(meta or {}),
    )


@dataclass(frozen=True, eq=False)
class Shocks:
    """Capacity losses: firm ``firm[k]`` loses ``capacity_loss[k]`` (0..1) of its baseline
    capacity from day ``start_day[k]``; with ``end_day[k] >= 0`` it is fully back on that day
    (otherwise the recovery law decides)."""

    firm: np.ndarray
    capacity_loss: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray

    @classmethod
    def of(cls, firm, capacity_loss, start_day=0, end_day=-1) -> Shocks:
        firm = np.asarray(firm, dtype=np.int64).ravel()
        size = firm.size
        loss = np.broadcast_to(np.asarray(capacity_loss, dtype=np.float64), (size,)).copy()
        start = np.broadcast_to(np.asarray(start_day, dtype=np.int64), (size,)).copy()
        end = np.broadcast_to(np.asarray(end_day, dtype=np.int64), (size,)).copy()
        if np.any((loss < 0) | (loss > 1)) or not np.all(np.isfinite(loss)):
            raise ValidationError("capacity loss must be a fraction in [0, 1] (0.3 = 30% of capacity lost)")
        if np.any(start < 0):
            raise ValidationError("shock start day must be 0 or later")
        return cls(firm, loss, start, end)

    @classmethod
    def none(cls) -> Shocks:
        return cls.of(np.zeros(0, dtype=np.int64), 0.0)

    def __len__(self) -> int:
        return int(self.firm.size)

    def scaled(self, factor: float) -> Shocks:
        """The same shocks with every capacity loss multiplied by ``factor`` (capped at 1)."""
        return Shocks(self.firm, np.minimum(1.0, self.capacity_loss * factor), self.start_day, self.end_day)
