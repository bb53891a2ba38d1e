"""Investment optimiser: which resilience measures to buy under a budget.

The pure core: numpy arrays in, frozen dataclasses out. Another module computes, for a
scenario ensemble, the loss ``L0_s`` of each scenario ``s`` without measures and the loss
reduction ``R[s, m] >= 0`` that measure ``m`` brings in that scenario. Here:

* **First-order loss model**: with ``x_m in {0, 1}`` the measures bought,
  ``L_s(x) = max(0, L0_s - sum_m x_m R[s, m])`` (reductions add up, a loss never goes below 0).
* **Risk measures** of a discrete loss ``L`` with scenario probabilities ``p_s``: the expected
  loss ``E[L] = sum_s p_s L_s``; the value at risk ``VaR_alpha = min {l : P(L <= l) >= alpha}``;
  the conditional value at risk ``CVaR_alpha = min_eta eta + E[(L - eta)+] / (1 - alpha)``, the
  mean loss of the worst ``1 - alpha`` of probability, splitting an atom at the VaR (Rockafellar &
  Uryasev, "Optimization of conditional value-at-risk", J. Risk 2(3):21-41, 2000, Theorem 1).
* **Optimiser** (:func:`optimise`): a mixed-integer linear programme solved to optimality with
  HiGHS (Huangfu & Hall, Math. Prog. Comp. 10, 2018): minimise ``E[L(x)]`` or ``CVaR_alpha[L(x)]``
  (linearised as in Rockafellar & Uryasev 2000, eq. 17) under a budget and optional group caps.
* **Cheapest plan** (:func:`cheapest_plan`): the cheapest measures lifting every node's bloc share
  to a target, a covering MILP.

Budgets and targets are met up to float rounding: a set of measures counts as within budget when
its cost exceeds the budget by at most ``SLACK`` (5e-10) of the largest cost, and a node reaches
its target when its linear slack (see :func:`cheapest_plan`) is short by at most ``SLACK``.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from coreatlas.analysis._highs import new_highs
from coreatlas.errors import InfeasibleError, ValidationError

__all__ = [
    "SLACK",
    "Plan",
    "SharePlan",
    "cheapest_plan",
    "cvar",
    "expected_loss",
    "marginal_value",
    "model_losses",
    "optimise",
    "value_at_risk",
]

SLACK = 5e-10  # float-rounding allowance on budgets and targets, relative to the largest cost / in share units
_PROB_TOL = 1e-9  # probabilities must sum to 1 within this
_SOLVER_TOL = 1e-10  # HiGHS primal, dual and integer feasibility tolerance, well below SLACK
_INF = highspy.kHighsInf


@dataclass(frozen=True)
class Plan:
    """Measures chosen by :func:`optimise`; losses are the model's, recomputed exactly from ``chosen``."""

    chosen: np.ndarray
    cost: float
    objective: float
    loss_before: float
    loss_after: float
    expected_loss_after: float
    cvar_after: float
    status: str

    def to_dict(self) -> dict:
        return {
            "chosen": [bool(c) for c in self.chosen],
            "cost": self.cost,
            "objective": self.objective,
            "loss_before": self.loss_before,
            "loss_after": self.loss_after,
            "expected_loss_after": self.expected_loss_after,
            "cvar_after": self.cvar_after,
            "status": self.status,
        }


@dataclass(frozen=True)
class SharePlan:
    """Measures chosen by :func:`cheapest_plan` and each node's bloc share before and after them."""

    chosen: np.ndarray
    cost: float
    share_before: np.ndarray
    share_after: np.ndarray
    status: str

    def to_dict(self) -> dict:
        return {
            "chosen": [bool(c) for c in self.chosen],
            "cost": self.cost,
            "share_before": [float(s) for s in self.share_before],
            "share_after": [float(s) for s in self.share_after],
            "status": self.status,
        }


# ---------------------------------------------------------------- validation


def _array(name: str, values, shape: tuple[int | None, ...]) -> np.ndarray:
    """``values`` as a finite float array of ``shape`` (``None`` = any length), else ValidationError."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numeric: {exc}") from None
    if a.ndim != len(shape) or any(want is not None and got != want for got, want in zip(a.shape, shape, strict=True)):
        want = "(" + ", ".join("any" if n is None else str(n) for n in shape) + ")"
        raise ValidationError(f"{name} has shape {a.shape}, expected {want}")
    if not np.isfinite(a).all():
        raise ValidationError(f"{name} must be finite (no NaN or infinity)")
    return a


def _nonnegative(name: str, values, shape: tuple[int | None, ...]) -> np.ndarray:
    a = _array(name, values, shape)
    if (a < 0).any():
        raise ValidationError(f"{name} must be non-negative (smallest value {a.min():g})")
    return a


def _probabilities(probabilities, n: int) -> np.ndarray:
    """Scenario probabilities: uniform ``1/n`` if None, else non-negative and summing to 1 (tolerance 1e-9)."""
    if probabilities is None:
        return np.full(n, 1.0 / n)
    p = _nonnegative("probabilities", probabilities, (n,))
    if abs(p.sum() - 1.0) > _PROB_TOL:
        raise ValidationError(f"probabilities must sum to 1, they sum to {p.sum():.12g}")
    return p


def _alpha(alpha) -> float:
    if not 0.0 <= float(alpha) < 1.0:
        raise ValidationError(f"alpha must satisfy 0 <= alpha < 1, got {alpha}")
    return float(alpha)


def _cap(name: str, value) -> float:
    """A non-negative budget or cap; infinity allowed (no limit)."""
    v = float(value)
    if not v >= 0.0:
        raise ValidationError(f"{name} must be >= 0, got {value}")
    return v


def _losses(losses, probabilities) -> tuple[np.ndarray, np.ndarray]:
    losses = _array("losses", losses, (None,))
    if losses.size == 0:
        raise ValidationError("losses must hold at least one scenario")
    return losses, _probabilities(probabilities, losses.size)


# ---------------------------------------------------------------- loss model and risk measures


def model_losses(base_loss, reduction, chosen) -> np.ndarray:
    """Per-scenario loss after measures, first-order model ``L_s(x) = max(0, L0_s - sum_m x_m R[s, m])``.

    ``base_loss`` (S,), ``reduction`` (S, M) >= 0, ``chosen`` (M,) bool or 0/1.
    """
    base = np.asarray(base_loss, dtype=float)
    x = np.asarray(chosen, dtype=float)
    return np.maximum(0.0, base - np.asarray(reduction, dtype=float) @ x)


def expected_loss(losses, probabilities=None) -> float:
    """``E[L] = sum_s p_s L_s`` (uniform ``p`` if None)."""
    losses, p = _losses(losses, probabilities)
    return float(p @ losses)


def value_at_risk(losses, probabilities, alpha) -> float:
    """``VaR_alpha = min {l : P(L <= l) >= alpha}`` over scenarios of positive probability.

    The cumulative probability is compared with ``alpha - 1e-12`` so that rounding in the sum of
    the ``p_s`` does not skip an exact quantile (e.g. ten scenarios of 0.1 at alpha = 0.3).
    """
    losses, p = _losses(losses, probabilities)
    alpha = _alpha(alpha)
    support = p > 0
    order = np.argsort(losses[support], kind="stable")
    cumulative = np.cumsum(p[support][order])
    k = min(int(np.searchsorted(cumulative, alpha - 1e-12, side="left")), order.size - 1)
    return float(losses[support][order][k])


def cvar(losses, probabilities, alpha) -> float:
    """``CVaR_alpha = VaR_alpha + E[(L - VaR_alpha)+] / (1 - alpha)`` (Rockafellar & Uryasev 2000, Theorem 1).

    ``eta = VaR_alpha`` minimises ``eta + E[(L - eta)+] / (1 - alpha)``, so this is the expected loss in the
    worst ``1 - alpha`` of probability with the atom at the VaR counted only for the part of its mass that
    falls in that tail. E.g. losses [1, 2, 3, 4] uniform, alpha = 0.6: (0.15 * 3 + 0.25 * 4) / 0.4 = 3.625.
    """
    losses, p = _losses(losses, probabilities)
    var = value_at_risk(losses, p, alpha)
    return float(var + p @ np.maximum(losses - var, 0.0) / (1.0 - alpha))


# ---------------------------------------------------------------- HiGHS


def _highs():
    """A silent HiGHS instance, solving to proven optimality (zero gaps) with tight feasibility tolerances (the
    default dual tolerance 1e-7 ignores improvements of a rare scenario's loss, e.g. probability 6e-8) and
    matrix entries kept down to 1e-12 (HiGHS drops smaller ones; by default below 1e-9, which would let many
    measures of tiny cost overshoot the budget by more than ``SLACK``).

    Made by :func:`coreatlas.analysis._highs.new_highs` (quiet: no banner on stdout).
    """
    return new_highs(
        mip_rel_gap=0.0,
        mip_abs_gap=0.0,
        mip_feasibility_tolerance=_SOLVER_TOL,
        primal_feasibility_tolerance=_SOLVER_TOL,
        dual_feasibility_tolerance=_SOLVER_TOL,
        small_matrix_value=1e-12,
    )


def _solve(c, a, row_lower, row_upper, col_lower, col_upper, n_integer: int, time_limit_s: float) -> tuple[np.ndarray | None, str]:
    """``min c.v`` s.t. ``row_lower <= A v <= row_upper``, ``col_lower <= v <= col_upper``, the first ``n_integer``
    columns integer. Returns (v or None if HiGHS found no solution, HiGHS model status in lower case)."""
    a = sp.csc_matrix(a)
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.asarray(c, float), np.asarray(col_lower, float), np.asarray(col_upper, float)
    lp.row_lower_, lp.row_upper_ = np.asarray(row_lower, float), np.asarray(row_upper, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    kinds = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [kinds[0]] * n_integer + [kinds[1]] * (a.shape[1] - n_integer)
    h = _highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus()).lower()
    if "infeasible" in status or "unbounded" in status:  # the programs here always have a solution: say so if not
        raise InfeasibleError(f"the optimisation program is {status}; no plan satisfies the constraints")
    solution = h.getSolution()
    return (np.asarray(solution.col_value) if solution.value_valid else None), status


def _binaries(v: np.ndarray | None, m: int) -> np.ndarray:
    """The first ``m`` solver columns rounded to bool (none chosen if the solver returned no solution)."""
    return np.zeros(m, dtype=bool) if v is None else np.asarray(v[:m]) > 0.5


# ---------------------------------------------------------------- optimiser


def _objective_value(losses: np.ndarray, p: np.ndarray, objective: str, alpha: float) -> float:
    return expected_loss(losses, p) if objective == "expected" else cvar(losses, p, alpha)


def _groups(groups, group_caps, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Group index per measure (-1 = none) and cap per group, validated; empty caps if no groups."""
    if groups is None and group_caps is None:
        return np.full(m, -1), np.zeros(0)
    if groups is None or group_caps is None:
        raise ValidationError("groups and group_caps must be given together")
    caps = np.asarray(group_caps, dtype=float)
    if caps.ndim != 1 or np.isnan(caps).any() or (caps < 0).any():
        raise ValidationError(f"group_caps must be a 1-D array of values >= 0, got {group_caps!r}")
    g = _array("groups", groups, (m,))
    if (g != np.round(g)).any() or (g < -1).any() or (g >= caps.size).any():
        raise ValidationError(f"groups must be integers in -1..{caps.size - 1} (-1 = no group; one cap per group)")
    return g.astype(int), caps


def _budget_rows(cost: np.ndarray, budget: float, groups: np.ndarray, caps: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows ``sum_m c_m x_m <= budget`` then ``sum_{m in g} c_m x_m <= cap_g``, in units of the largest cost
    (right-hand sides clipped at the total cost, so an infinite budget is no limit, plus ``SLACK``)."""
    scale = cost.max() if cost.size and cost.max() > 0 else 1.0
    unit, member = cost / scale, groups >= 0
    in_group = sp.csr_matrix((unit[member], (groups[member], np.flatnonzero(member))), shape=(caps.size, cost.size))
    upper = np.minimum(np.concatenate([[budget], caps]), cost.sum()) / scale + SLACK
    return sp.csr_matrix(sp.vstack([sp.csr_matrix(unit[None, :]), in_group])), upper


def _loss_model(base: np.ndarray, red: np.ndarray, p: np.ndarray, objective: str, alpha: float):
    """Columns after the M binaries and the rows tying them, in units of the largest base loss:
    ``L_s + sum_m R[s, m] x_m >= L0_s`` with ``L_s >= 0``; for CVaR also ``eta`` free, ``z_s >= 0`` and
    ``z_s - L_s + eta >= 0``. Returns (cost, A over [x, L, eta, z], row lower, col lower, col upper).
    ``R[s, m]`` is first clipped at ``L0_s``, which leaves every ``L_s(x)`` unchanged and every coefficient <= 1."""
    s, m = red.shape
    scale = base.max() if base.max() > 0 else 1.0
    red = np.minimum(red, base[:, None])
    eye = sp.identity(s, format="csr")
    if objective == "expected":
        a = sp.hstack([red / scale, eye])
        return np.concatenate([np.zeros(m), p]), a, base / scale, np.zeros(s), np.full(s, _INF)
    ones = sp.csr_matrix(np.ones((s, 1)))
    a = sp.bmat([[sp.csr_matrix(red / scale), eye, None, None], [None, -eye, ones, eye]])
    c = np.concatenate([np.zeros(m + s), [1.0], p / (1.0 - alpha)])
    lower = np.concatenate([np.zeros(s), [-_INF], np.zeros(s)])
    return c, a, np.concatenate([base / scale, np.zeros(s)]), lower, np.full(2 * s + 1, _INF)


def _plan_inputs(base_loss, reduction, cost, budget, probabilities, objective, alpha):
    """Validated (base, reduction, cost, budget, p, alpha) of :func:`optimise`."""
    base = _nonnegative("base_loss", base_loss, (None,))
    if base.size == 0:
        raise ValidationError("base_loss must hold at least one scenario")
    red = _nonnegative("reduction", reduction, (base.size, None))
    cost = _nonnegative("cost", cost, (red.shape[1],))
    if objective not in ("expected", "cvar"):
        raise ValidationError(f"objective must be 'expected' or 'cvar', got {objective!r}")
    return base, red, cost, _cap("budget", budget), _probabilities(probabilities, base.size), _alpha(alpha)


def optimise(
    base_loss,
    reduction,
    cost,
    budget,
    probabilities=None,
    objective: str = "expected",
    alpha: float = 0.95,
    groups=None,
    group_caps=None,
    time_limit_s: float = 60.0,
) -> Plan:
    """Measures ``x in {0,1}^M`` minimising ``E[L(x)]`` (objective="expected") or ``CVaR_alpha[L(x)]`` ("cvar").

    Subject to ``sum_m cost_m x_m <= budget`` and, for each group ``g``, ``sum_{m in g} cost_m x_m <= group_caps[g]``
    (``groups`` (M,) int, -1 = no group). MILP (Rockafellar & Uryasev 2000, eq. 17, for the CVaR):
    ``x_m`` binary, ``L_s >= 0``, ``L_s >= L0_s - sum_m R[s, m] x_m``; expected: ``min sum_s p_s L_s``;
    cvar: ``eta`` free, ``z_s >= 0``, ``z_s >= L_s - eta``, ``min eta + sum_s p_s z_s / (1 - alpha)``.
    ``probabilities`` default uniform ``1/S``. Reported losses are recomputed from the chosen ``x`` with
    :func:`model_losses`, not read from the solver. ``budget`` and caps may be ``inf``.
    """
    base, red, cost, budget, p, alpha = _plan_inputs(base_loss, reduction, cost, budget, probabilities, objective, alpha)
    group, caps = _groups(groups, group_caps, cost.size)
    if not float(time_limit_s) > 0:
        raise ValidationError(f"time_limit_s must be > 0, got {time_limit_s}")
    m = cost.size
    c, a_loss, lower_loss, col_lower, col_upper = _loss_model(base, red, p, objective, alpha)
    a_budget, upper_budget = _budget_rows(cost, budget, group, caps)
    a = sp.vstack([a_loss, sp.hstack([a_budget, sp.csr_matrix((a_budget.shape[0], a_loss.shape[1] - m))])])
    row_lower = np.concatenate([lower_loss, np.full(upper_budget.size, -_INF)])
    row_upper = np.concatenate([np.full(lower_loss.size, _INF), upper_budget])
    cols_lower, cols_upper = np.concatenate([np.zeros(m), col_lower]), np.concatenate([np.ones(m), col_upper])
    v, status = _solve(c, a, row_lower, row_upper, cols_lower, cols_upper, m, time_limit_s)
    return _plan(base, red, cost, p, objective, alpha, _binaries(v, m), status)


def _plan(base, red, cost, p, objective, alpha, chosen, status) -> Plan:
    after = model_losses(base, red, chosen)
    value = _objective_value(after, p, objective, alpha)
    return Plan(
        chosen=chosen,
        cost=float(cost @ chosen),
        objective=value,
        loss_before=_objective_value(base, p, objective, alpha),
        loss_after=value,
        expected_loss_after=expected_loss(after, p),
        cvar_after=cvar(after, p, alpha),
        status=status,
    )


def marginal_value(base_loss, reduction, cost, budget, step, **kw) -> float:
    """``(OPT(budget) - OPT(budget + step)) / step``: model loss avoided per extra dollar at the margin.

    ``OPT`` is the optimum of :func:`optimise` (``kw`` passed on). Non-negative: a larger budget never does
    worse; the difference is clipped at 0 against solver round-off.
    """
    if not float(step) > 0:
        raise ValidationError(f"step must be > 0, got {step}")
    here = optimise(base_loss, reduction, cost, budget, **kw).objective
    there = optimise(base_loss, reduction, cost, float(budget) + float(step), **kw).objective
    return max(0.0, (here - there) / float(step))


# ---------------------------------------------------------------- cheapest plan to a bloc-share target


def _share_inputs(base_share, share_gain, cost, target):
    base = _nonnegative("base_share", base_share, (None,))
    if (base > 1).any():
        raise ValidationError(f"base_share must lie in [0, 1] (largest value {base.max():g})")
    gain = _nonnegative("share_gain", share_gain, (base.size, None))
    cost = _nonnegative("cost", cost, (gain.shape[1],))
    if not 0.0 <= float(target) <= 1.0:
        raise ValidationError(f"target must lie in [0, 1], got {target}")
    return base, gain, cost, float(target)


def _shares(base: np.ndarray, gain: np.ndarray, chosen) -> np.ndarray:
    """Bloc share after measures ``(b_n + sum_m g_nm x_m) / (1 + sum_m g_nm x_m)``."""
    added = gain @ np.asarray(chosen, dtype=float)
    return (base + added) / (1.0 + added)


def _unreachable(base: np.ndarray, gain: np.ndarray, target: float) -> None:
    """ValidationError naming the nodes whose share stays below ``target`` even with every measure."""
    short = gain.sum(axis=1) * (1.0 - target) < target - base - SLACK
    if short.any():
        nodes = np.flatnonzero(short)
        best = _shares(base, gain, np.ones(gain.shape[1]))[nodes]
        listed = ", ".join(f"{n} ({b:.4g})" for n, b in zip(nodes.tolist(), best, strict=True))
        raise ValidationError(
            f"target bloc share {target:g} cannot be reached even with every measure at node(s) {nodes.tolist()}; "
            f"best shares reachable: {listed}"
        )


def cheapest_plan(base_share, share_gain, cost, target, time_limit_s: float = 60.0) -> SharePlan:
    """Cheapest set of measures bringing every node's bloc share to at least ``target``.

    ``base_share`` (N,) in [0, 1]; ``share_gain`` (N, M) >= 0 is the capacity measure ``m`` adds in a bloc
    country at node ``n``, as a fraction of the node's current total output. After measures the share is
    ``(b_n + sum_m g_nm x_m) / (1 + sum_m g_nm x_m) >= target  <=>  (1 - target) sum_m g_nm x_m >= target - b_n``
    (multiply by the positive denominator), so the MILP is the covering problem ``min sum_m cost_m x_m`` over
    those rows (each met up to ``SLACK``). Raises ValidationError naming the nodes that cannot reach ``target``.
    If HiGHS stops (``time_limit_s``) without a solution, every measure is chosen and ``status`` says why.
    """
    base, gain, cost, target = _share_inputs(base_share, share_gain, cost, target)
    _unreachable(base, gain, target)
    need = target - base
    active = need > SLACK
    m = cost.size
    chosen, status = np.zeros(m, dtype=bool), "optimal"
    if active.any():
        a = sp.csr_matrix(gain[active] * (1.0 - target))
        upper = np.full(int(active.sum()), _INF)
        v, status = _solve(cost, a, need[active] - SLACK, upper, np.zeros(m), np.ones(m), m, time_limit_s)
        chosen = np.ones(m, dtype=bool) if v is None else _binaries(v, m)  # every measure is feasible (checked above)
    return SharePlan(chosen, float(cost @ chosen), base.copy(), _shares(base, gain, chosen), status)
