"""Static input–output analysis of an :class:`~coreatlas.model.mrio.MrioTable`.

Notation: ``Z`` intermediate flows (row = seller, column = buyer), ``f = Y 1`` final demand,
``x = Z 1 + f`` gross output, ``v' = x' - 1' Z`` value added, ``x̂ = diag(x)``.

* Technical coefficients ``A = Z x̂^{-1}``, Leontief inverse ``L = (I - A)^{-1}``, ``x = L f``
  (Miller & Blair 2009, ch. 2).
* Allocation coefficients ``B = x̂^{-1} Z``, Ghosh inverse ``G = (I - B)^{-1}``, ``x' = v' G``
  (Miller & Blair 2009, ch. 12). ``G = x̂^{-1} L x̂`` when ``x > 0``.
* Output multipliers ``m_j = 1' L e_j`` and Rasmussen (1956) backward linkages ``BL_j = m_j / mean(m)``;
  forward multipliers ``g_i = e_i' G 1`` and forward linkages ``FL_i = g_i / mean(g)``.
* Hypothetical extraction (Dietzenbacher, van der Linden & Steenge 1993; Miller & Lahr 2001;
  Miller & Blair 2009, 12.2.2): complete, backward (columns of ``A``) and forward (rows of ``B``).
* Value added embodied in final demand: ``v̂ x̂^{-1} L Y_r`` per consumer region ``r``.

``L`` and ``G`` are never formed: every product is a solve with one LU factorisation of ``I - A``
(or ``I - B``) or its transpose. Up to ``DENSE_MAX`` industries the factorisation is LAPACK's dense LU
(MRIO factors fill in almost completely, so a sparse LU of such a table is slower and no smaller);
above it, SuperLU (``scipy.sparse.linalg.splu``). Industries with zero output get zero coefficients
(``1/0 := 0``).

Reference: R. E. Miller and P. D. Blair, *Input-Output Analysis: Foundations and Extensions*,
2nd ed., Cambridge University Press, 2009. P. N. Rasmussen, *Studies in Inter-Sectoral Relations*,
1956. E. Dietzenbacher, J. A. van der Linden and A. E. Steenge, "The regional extraction method",
Economic Systems Research 5 (1993) 185–206.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sl
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from coreatlas.errors import ValidationError
from coreatlas.model.mrio import EXTRACTION_GROUPS, MrioTable

__all__ = [
    "allocation_coefficients",
    "ghosh_multipliers",
    "ghosh_output",
    "hypothetical_extraction",
    "leontief_multipliers",
    "leontief_output",
    "linkages",
    "technical_coefficients",
    "value_added_content",
]

BLOCK_BYTES = 64 * 2**20  # at most this much dense right-hand side per solve
DENSE_MAX = 4000  # industries; a dense LU of I - A then takes at most 128 MB


def _reciprocal(x: np.ndarray) -> np.ndarray:
    """``1 / x`` with ``1 / 0 := 0``."""
    return np.divide(1.0, x, out=np.zeros_like(x, dtype=float), where=x != 0)


def technical_coefficients(table: MrioTable) -> sp.csr_matrix:
    """``A = Z x̂^{-1}``: input from seller ``i`` per unit of buyer ``j``'s output (Miller & Blair 2009, ch. 2)."""
    return sp.csr_matrix(table.Z @ sp.diags(_reciprocal(table.x)))


def allocation_coefficients(table: MrioTable) -> sp.csr_matrix:
    """``B = x̂^{-1} Z``: share of seller ``i``'s output bought by ``j`` (Miller & Blair 2009, ch. 12)."""
    return sp.csr_matrix(sp.diags(_reciprocal(table.x)) @ table.Z)


SINGULAR = "I - A is singular: the table is not productive (some industries use at least what they produce)"


@dataclass(frozen=True)
class Factor:
    """An LU factorisation of ``M = I - C``: ``solve(b)`` gives ``M^{-1} b``, ``solve(b, "T")`` ``M'^{-1} b``."""

    n: int
    sparse: object = None  # scipy SuperLU
    dense: tuple | None = None  # scipy.linalg.lu_factor result

    def solve(self, b: np.ndarray, trans: str = "N") -> np.ndarray:
        if self.dense is not None:
            return sl.lu_solve(self.dense, b, trans=0 if trans == "N" else 1, check_finite=False)
        return self.sparse.solve(np.asarray(b, dtype=float), trans=trans)


def _factor(coefficients: sp.csr_matrix) -> Factor:
    """LU of ``I - C`` (dense up to ``DENSE_MAX`` industries); a singular system is a data error."""
    n = coefficients.shape[0]
    matrix = sp.csc_matrix(sp.identity(n) - coefficients)
    if n <= DENSE_MAX:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.LinAlgWarning)
            lu = sl.lu_factor(matrix.toarray(), check_finite=False)
        if (np.diag(lu[0]) == 0).any():
            raise ValidationError(SINGULAR)
        return Factor(n, dense=lu)
    try:
        return Factor(n, sparse=splu(matrix))
    except RuntimeError as exc:
        raise ValidationError(SINGULAR) from exc


def _vector(table: MrioTable, values, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape[:1] != (table.n_industries,):
        raise ValidationError(f"{what} must have one row per industry ({table.n_industries}), not shape {values.shape}")
    return values


def leontief_output(table: MrioTable, final_demand) -> np.ndarray:
    """Gross output ``x = L f``, solving ``(I - A) x = f``; ``f`` is N or N x k."""
    return _factor(technical_coefficients(table)).solve(_vector(table, final_demand, "final demand"))


def ghosh_output(table: MrioTable, value_added) -> np.ndarray:
    """Gross output ``x' = v' G``, solving ``(I - B)' x = v``; ``v`` is N or N x k."""
    return _factor(allocation_coefficients(table)).solve(_vector(table, value_added, "value added"), trans="T")


def _industries(table: MrioTable) -> pd.DataFrame:
    regions, sectors = np.asarray(table.regions, dtype=object), np.asarray(table.sectors, dtype=object)
    return pd.DataFrame({"region": regions[table.industry_region], "sector": sectors[table.industry_sector]})


def _normalised(values: np.ndarray) -> np.ndarray:
    """Rasmussen normalisation ``u_j / mean(u)`` (Rasmussen 1956; Miller & Blair 2009, ch. 12)."""
    return values / values.mean()


def leontief_multipliers(table: MrioTable) -> pd.DataFrame:
    """Output multipliers ``m' = 1' L`` (one solve of ``(I - A)' m = 1``; Miller & Blair 2009, ch. 6) and
    Rasmussen backward linkages ``BL_j = m_j / mean(m)``. Columns: region, sector,
    output_multiplier, backward_linkage."""
    m = _factor(technical_coefficients(table)).solve(np.ones(table.n_industries), trans="T")
    return _industries(table).assign(output_multiplier=m, backward_linkage=_normalised(m))


def ghosh_multipliers(table: MrioTable) -> pd.DataFrame:
    """Forward (Ghosh) multipliers ``g = G 1`` (one solve of ``(I - B) g = 1``; Miller & Blair 2009, ch. 12) and
    forward linkages ``FL_i = g_i / mean(g)``. Columns: region, sector, forward_multiplier,
    forward_linkage. Ghosh is a ranking device, not a causal supply model."""
    g = _factor(allocation_coefficients(table)).solve(np.ones(table.n_industries))
    return _industries(table).assign(forward_multiplier=g, forward_linkage=_normalised(g))


def linkages(table: MrioTable) -> pd.DataFrame:
    """Backward and forward multipliers and linkages side by side, one row per industry."""
    forward = ghosh_multipliers(table)[["forward_multiplier", "forward_linkage"]]
    return pd.concat([leontief_multipliers(table), forward], axis=1)


# --- hypothetical extraction -----------------------------------------------------------------


def _groups(table: MrioTable, by: str) -> np.ndarray:
    """Industry indices of each extracted group, one row per group (all groups have equal size)."""
    grid = np.arange(table.n_industries).reshape(len(table.regions), len(table.sectors))
    if by == "region":
        return grid
    if by == "sector":
        return grid.T
    if by == "industry":
        return grid.reshape(-1, 1)
    raise ValidationError(f"unknown extraction group '{by}'; use one of {', '.join(EXTRACTION_GROUPS)}")


def diagonal_blocks(lu: Factor, groups: np.ndarray) -> np.ndarray:
    """Blocks ``L_SS`` (groups x k x k) of ``L`` for each row ``S`` of ``groups``.

    Solves for the columns of ``L`` in batches of whole groups (at most ``BLOCK_BYTES`` of dense
    right-hand side each): every column once, ``O(N nnz(LU))`` time, no N x N array of ``L``.
    """
    n, (n_groups, k) = lu.n, groups.shape
    per = max(1, BLOCK_BYTES // (8 * n * k))
    blocks = np.empty((n_groups, k, k))
    for start in range(0, n_groups, per):
        batch = groups[start : start + per]
        rhs = np.zeros((n, batch.size))
        rhs[batch.ravel(), np.arange(batch.size)] = 1.0
        columns = lu.solve(rhs).reshape(n, len(batch), k)
        blocks[start : start + len(batch)] = columns[batch, np.arange(len(batch))[:, None], :]
    return blocks


def _label_frame(table: MrioTable, groups: np.ndarray, by: str) -> pd.DataFrame:
    first = groups[:, 0]
    frame = _industries(table).iloc[first].reset_index(drop=True)
    return frame[["region", "sector"] if by == "industry" else [by]]


def hypothetical_extraction(table: MrioTable, by: str = "region") -> pd.DataFrame:
    """Total output lost when each region, sector or industry ``S`` is extracted, all at once.

    With ``R`` the rest, ``m' = 1' L`` and ``L_SS`` the ``S`` block of ``L`` (block-inverse and
    Sherman–Morrison–Woodbury identities; Miller & Blair 2009, 12.2.2; Dietzenbacher et al. 1993):

    * complete extraction (rows and columns of ``S`` deleted from ``A``, ``f_S`` dropped,
      ``x̄_R = (I - A_RR)^{-1} f_R``): ``output_loss = 1'x - 1'x̄_R = m_S' L_SS^{-1} x_S``;
    * backward extraction (columns ``S`` of ``A`` set to 0, ``x̄ = (I - Ā)^{-1} f``):
      ``total_backward_linkage = 1'(x - x̄) = (m_S - 1)' L_SS^{-1} x_S``;
    * forward extraction (rows ``S`` of ``B`` set to 0, ``x̄' = v'(I - B̄)^{-1}``):
      ``total_forward_linkage = (x - x̄)'1 = 1' L_SS^{-1} (L x - x)_S`` (using ``G = x̂^{-1} L x̂``).

    One LU of ``I - A``; every column of ``L`` is solved for once (see :func:`diagonal_blocks`), in
    batches, whatever ``by``: about 5 s at N = 5,000 with the dense LU; above ``DENSE_MAX`` the sparse
    solves cost ``O(N nnz(LU))``, which for a fully coupled MRIO (dense fill-in) is minutes to hours. The ``*_share`` columns divide by ``1'x``.
    Columns: the group (``region``, ``sector`` or both), output, output_loss, total_backward_linkage,
    total_forward_linkage and their shares.
    """
    groups = _groups(table, by)
    lu, x = _factor(technical_coefficients(table)), table.x
    m = lu.solve(np.ones(table.n_industries), trans="T")
    rhs = np.stack([x[groups], (lu.solve(x) - x)[groups]], axis=-1)
    z = np.linalg.solve(diagonal_blocks(lu, groups), rhs)
    metrics = {
        "output": x[groups].sum(axis=1),
        "output_loss": np.einsum("gk,gk->g", m[groups], z[..., 0]),
        "total_backward_linkage": np.einsum("gk,gk->g", m[groups] - 1.0, z[..., 0]),
        "total_forward_linkage": z[..., 1].sum(axis=1),
    }
    total = x.sum()
    shares = {f"{name}_share": values / total for name, values in metrics.items() if name != "output"}
    return _label_frame(table, groups, by).assign(**metrics, **shares)


# --- value added content ---------------------------------------------------------------------


def value_added_content(table: MrioTable) -> pd.DataFrame:
    """Value added of each supplier region embodied in each region's final demand.

    ``VA_{s,r} = sum_{i in s} (v_i / x_i) (L Y_r)_i`` with ``Y_r`` the sum of region ``r``'s
    final-demand columns: one sparse solve with ``R`` right-hand sides (the trade-in-value-added
    decomposition). Since ``1' v̂ x̂^{-1} L = 1'``, each consumer's rows sum
    to its final demand. Columns: consumer_region, supplier_region, value_added, share (of the
    consumer's total; 0 for a consumer without final demand).
    """
    n_regions, n_sectors = len(table.regions), len(table.sectors)
    demand = table.Y.reshape(table.n_industries, n_regions, len(table.fd_categories)).sum(axis=2)
    output = _factor(technical_coefficients(table)).solve(demand)
    embodied = (table.value_added * _reciprocal(table.x))[:, None] * output
    by_supplier = embodied.reshape(n_regions, n_sectors, n_regions).sum(axis=1).T  # consumer x supplier
    totals = by_supplier.sum(axis=1, keepdims=True)
    share = np.divide(by_supplier, totals, out=np.zeros_like(by_supplier), where=totals != 0)
    regions = np.asarray(table.regions, dtype=object)
    return pd.DataFrame(
        {
            "consumer_region": np.repeat(regions, n_regions),
            "supplier_region": np.tile(regions, n_regions),
            "value_added": by_supplier.ravel(),
            "share": share.ravel(),
        }
    )
