"""A quiet HiGHS instance and a helper to pass a column-wise sparse model.

``highspy.Highs()`` registers Python callbacks in its constructor, which prints the HiGHS
banner on standard output (from C++, before any option can be set); that would corrupt
``--json`` output. The bare core class ``highspy._core._Highs`` has no callbacks and prints
nothing, so it is used where the installed highspy has it.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

__all__ = ["INF", "new_highs", "pass_model"]

INF = highspy.kHighsInf
_CORE = getattr(getattr(highspy, "_core", None), "_Highs", highspy.Highs)


def new_highs(**options) -> highspy.Highs:
    """A HiGHS instance with logging off and the given options set."""
    highs = _CORE()
    for name, value in {"output_flag": False, **options}.items():
        highs.setOptionValue(name, value)
    return highs


def pass_model(highs, matrix: sp.spmatrix, cost, col_lower, col_upper, row_lower, row_upper, integer=None, sense_max: bool = False):
    """Load ``min/max cost @ x, row_lower <= A x <= row_upper, col bounds`` into ``highs``."""
    a = sp.csc_matrix(matrix)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_, lp.col_upper_ = np.asarray(col_lower, dtype=float), np.asarray(col_upper, dtype=float)
    lp.row_lower_, lp.row_upper_ = np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    if sense_max:
        lp.sense_ = highspy.ObjSense.kMaximize
    if integer is not None:
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[int(flag)] for flag in np.asarray(integer, dtype=bool)]
    highs.passModel(lp)
    return highs
