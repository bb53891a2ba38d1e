r"""A linear program solved on a few of its columns, the others held at a known point, with a
certificate that the answer is the optimum of the whole program.

The program (bounds affine in a parameter ``t``: ``bound = base + t slope``)::

    min  c @ x   s.t.   row_lower(t) <= A x <= row_upper(t),   0 <= x <= col_upper(t)

**Held point.** An *anchor* ``a >= 0`` is given such that ``theta a`` satisfies every row for every
``theta >= 0`` (for the risk programs: a steady state, rates that meet demand with no stock).
``theta`` is either the constant ``t`` or, with a *scale column* ``s`` (``a_s = 0``), the program's
own variable ``x_s``: then held columns move with it.

**Restriction.** Choose columns ``C`` (with ``s``). Every other column ``k`` is held at
``x_k = theta a_k``. The restricted program has the columns ``C`` and the rows ``R`` that have a
non-zero in ``C`` (not counting ``s``); the held columns' share of those rows, ``A_{R,k} a_k``,
moves the row bounds (``theta = t``) or is added to column ``s`` (``theta = x_s``), and likewise
their cost. A row outside ``R`` holds only held columns (and ``s``), so the anchor satisfies it.

**Certificate** (the Karush–Kuhn–Tucker conditions). Let ``x_C`` and the row duals ``pi_R`` solve
the restricted program. Extend ``x`` by the held values and ``pi`` by 0 outside ``R``. Then ``x`` is
feasible for the whole program, every row and every column of ``C`` meets complementary slackness
(their coefficients and bounds in ``R`` are the restricted program's, and a row with ``pi = 0``
always does), and the objectives agree. A held column's reduced cost is
``d_k = c_k - A_{R,k}^T pi_R``; it must agree with where the column is: ``d_k >= 0`` at its lower
bound, ``<= 0`` at its upper bound, ``= 0`` between. With a scale column, ``d_k = 0`` is asked of
every held column with ``a_k > 0`` (then the folded column ``s`` has the reduced cost of the
original ``s`` as well), except that a column held at a bound of its own, a row ``x_k - a_k x_s <= 0``
(``held_upper``), needs only ``d_k <= 0``: that row's dual, free to be chosen as it holds no column of
``C``, takes ``d_k`` up (the right sign for a tight ``<=`` row), and with ``a_k`` as its coefficient
the folded column ``s`` still has the original's reduced cost. If every held column agrees (to ``tolerance``), ``(x, pi)`` satisfies the
optimality conditions of the whole program, so by LP duality the restricted optimum *is* the
whole program's optimum. Otherwise the held columns that disagree join ``C`` and the program is
solved again. ``C`` only grows, so this ends; at worst ``C`` is every column (the whole program).

Cost of one round: ``O(nnz(A_R))`` to build and check, plus HiGHS on ``|R| x |C|``.
Reference: Dantzig & Wolfe's decomposition and column generation rest on the same test
(Chvátal, *Linear Programming*, 1983, ch. 26); here the "columns priced out" are held at a known
feasible point instead of at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from coreatlas.analysis._highs import new_highs, pass_model

__all__ = ["Program", "Restriction", "Round", "Work", "affine", "new_solver", "ranges", "solve_restricted"]


@dataclass(frozen=True, eq=False)
class Program:
    """``min cost @ x, row_lower <= A x <= row_upper, 0 <= x <= col_upper``; each bound array is
    ``(2, size)``: base and slope in ``t``. ``anchor``: the held point (see the module docstring);
    ``scale``: the index of the scale column, or None (held columns at ``t anchor``);
    ``held_upper`` (with a scale column): True for a column ``k`` held at an upper bound that is a
    row ``x_k - a_k x_s <= 0`` of its own (module docstring)."""

    by_col: sp.csc_matrix
    by_row: sp.csr_matrix
    cost: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    anchor: np.ndarray
    scale: int | None = None
    held_upper: np.ndarray | None = None

    n_cols = property(lambda self: int(self.by_col.shape[1]))

    @cached_property
    def tolerance(self) -> float:
        """Reduced costs within this of the required sign count as agreeing (HiGHS's own dual
        feasibility tolerance, 1e-7, relative to the largest cost)."""
        return 1e-7 * max(1.0, float(np.abs(self.cost).max(initial=0.0)))

    @cached_property
    def anchor_cost(self) -> float:
        return float(self.cost @ self.anchor)


@dataclass
class Work:
    """What the restricted programs cost: programs solved, their columns, rows and non-zeros summed."""

    programs: int = 0
    columns: int = 0
    rows: int = 0
    nonzeros: int = 0
    largest: int = 0  # columns of the largest program

    def add(self, columns: int, rows: int, nonzeros: int) -> None:
        self.programs += 1
        self.columns += columns
        self.rows += rows
        self.nonzeros += nonzeros
        self.largest = max(self.largest, columns)


def affine(bounds: np.ndarray, index: np.ndarray, t: float) -> np.ndarray:
    """``base + t slope`` at ``index`` (an infinite base with slope 0 stays infinite)."""
    base, slope = bounds[0, index], bounds[1, index]
    return np.where(slope != 0, base + t * slope, base)


def ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``concatenate([arange(a, b) for a, b in zip(starts, stops)])``, without the loop."""
    lengths = stops - starts
    offsets = np.repeat(starts - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
    return offsets + np.arange(lengths.sum())


@dataclass(frozen=True, eq=False)
class _Block:
    """The rows ``R`` of a restriction as flat entries: ``row`` (position in ``rows``), ``col``,
    ``value``; ``inside`` marks the entries on columns of ``C``."""

    rows: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    inside: np.ndarray
    position: np.ndarray  # of each entry's column in C (meaningful where inside)

    @classmethod
    def of(cls, program: Program, cols: np.ndarray, free: np.ndarray) -> _Block:
        by_col, by_row = program.by_col, program.by_row
        rows = np.unique(by_col.indices[ranges(by_col.indptr[free], by_col.indptr[free + 1])])
        starts, stops = by_row.indptr[rows], by_row.indptr[rows + 1]
        at = ranges(starts, stops)
        col = by_row.indices[at]
        position = np.minimum(np.searchsorted(cols, col), cols.size - 1)
        row = np.repeat(np.arange(rows.size), stops - starts)
        return cls(rows, row, col, by_row.data[at], cols[position] == col, position)

    def held_share(self, anchor: np.ndarray) -> np.ndarray:
        """Per row, the held columns' share at the anchor (per unit ``theta``)."""
        out = ~self.inside
        return np.bincount(self.row[out], self.value[out] * anchor[self.col[out]], self.rows.size)


@dataclass(frozen=True, eq=False)
class Round:
    """A restricted program's optimum, HiGHS's status and the held columns that fail the certificate."""

    value: float
    status: str
    violators: np.ndarray

    @property
    def certified(self) -> bool:
        return self.status == "Optimal" and self.violators.size == 0


class Restriction:
    """``program`` on the columns ``cols`` (sorted, with the scale column if any), the others held,
    passed to HiGHS once: each :meth:`solve` changes only bounds, so HiGHS starts from the
    previous basis (dual simplex hot start)."""

    def __init__(self, program: Program, cols: np.ndarray, highs, work: Work | None = None):
        self.program, self.cols, self.highs, self.work = program, cols, highs, work
        scale, a = program.scale, program.anchor
        self.block = _Block.of(program, cols, cols if scale is None else cols[cols != scale])
        self.held = self.block.held_share(a)
        self.held_cost = program.anchor_cost - float(program.cost[cols] @ a[cols])
        block, cost = self.block, program.cost[cols].copy()
        row, position, value = block.row[block.inside], block.position[block.inside], block.value[block.inside]
        if scale is not None:  # the held columns move with the scale column: their share joins its coefficients
            at = np.searchsorted(cols, scale)
            row, position, value = (
                np.r_[row, np.arange(self.held.size)],
                np.r_[position, np.full(self.held.size, at)],
                np.r_[value, self.held],
            )
            cost[at] += self.held_cost
        matrix = sp.csc_matrix((value, (row, position)), shape=(block.rows.size, cols.size))  # duplicates add up
        self.nonzeros = matrix.nnz
        pass_model(highs, matrix, cost, np.zeros(cols.size), *self._bounds((), 0.0))

    def covers(self, columns: np.ndarray) -> bool:
        return bool(np.isin(columns, self.cols).all())

    def _bounds(self, zero, t: float) -> tuple[np.ndarray, ...]:
        program, rows = self.program, self.block.rows
        upper = affine(program.col_upper, self.cols, t)
        upper[np.searchsorted(self.cols, np.asarray(zero, dtype=np.int64))] = 0.0
        lower_rows, upper_rows = affine(program.row_lower, rows, t), affine(program.row_upper, rows, t)
        if program.scale is None:
            lower_rows, upper_rows = lower_rows - t * self.held, upper_rows - t * self.held
        return upper, lower_rows, upper_rows

    def solve(self, zero, t: float) -> Round:
        """The optimum with the columns ``zero`` (all in ``cols``) bounded to 0, at ``t``."""
        upper, lower_rows, upper_rows = self._bounds(zero, t)
        highs, n, m = self.highs, self.cols.size, lower_rows.size
        highs.changeColsBounds(n, np.arange(n, dtype=np.int32), np.zeros(n), upper)
        highs.changeRowsBounds(m, np.arange(m, dtype=np.int32), lower_rows, upper_rows)
        highs.run()
        status = highs.modelStatusToString(highs.getModelStatus())
        if self.work is not None:
            self.work.add(n, m, self.nonzeros)
        if status != "Optimal":
            return Round(np.nan, status, np.zeros(0, dtype=np.int64))
        value = highs.getInfo().objective_function_value + (t * self.held_cost if self.program.scale is None else 0.0)
        return Round(value, status, _disagreeing(self.program, self.block, np.asarray(highs.getSolution().row_dual), t))


def _disagreeing(program: Program, block: _Block, duals: np.ndarray, t: float) -> np.ndarray:
    """Held columns whose reduced cost disagrees with where they are held (module docstring)."""
    out = ~block.inside
    if not out.any():
        return np.zeros(0, dtype=np.int64)
    held, where = np.unique(block.col[out], return_inverse=True)
    reduced = program.cost[held] - np.bincount(where, block.value[out] * duals[block.row[out]], held.size)
    tol, a = program.tolerance, program.anchor[held]
    if program.scale is not None:  # held columns move with the scale column: d = 0 wherever a > 0 ...
        at_upper = np.zeros(held.size, dtype=bool) if program.held_upper is None else program.held_upper[held]
        return held[np.where(a > 0, np.where(at_upper, reduced > tol, np.abs(reduced) > tol), reduced < -tol)]  # ... or <= 0 at a bound
    upper = affine(program.col_upper, held, t)
    value = t * a
    at_lower, at_upper = value <= 0, value >= upper * (1 - 1e-12)
    wrong = np.where(at_lower, reduced < -tol, np.where(at_upper, reduced > tol, np.abs(reduced) > tol))
    return held[wrong & (upper > 0)]  # a column fixed at 0 (upper 0) agrees with any reduced cost


def solve_restricted(
    program: Program, chosen: np.ndarray, zero: np.ndarray = (), t: float = 0.0, work: Work | None = None, highs=None
) -> Round:
    """``program`` at ``t`` with the columns ``zero`` bounded to 0, solved on ``chosen`` (and ``zero``,
    and the scale column) plus the held columns that fail the certificate, until none does: the
    result is ``certified`` (the whole program's optimum) unless HiGHS fails. ``highs``: an instance
    to reuse (from :func:`new_solver`)."""
    zero = np.asarray(zero, dtype=np.int64)
    cols = np.union1d(np.asarray(chosen, dtype=np.int64), zero)
    if program.scale is not None:
        cols = np.union1d(cols, [program.scale])
    highs = highs or new_solver()
    while True:  # ends: every round adds columns, and with all of them nothing is held
        result = Restriction(program, cols, highs, work).solve(zero, t)
        if result.certified or result.status != "Optimal":
            return result
        cols = np.union1d(cols, result.violators)


def new_solver():
    """A HiGHS instance for restricted programs: small ones, where presolve costs more than it saves."""
    return new_highs(presolve="off")
