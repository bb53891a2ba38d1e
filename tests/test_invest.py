"""The investment optimiser: hand-worked optima, exhaustive search over every subset of measures,
monotonicity in the budget, the risk measures (CVaR with an atom at the VaR), the cheapest plan to a
bloc-share target, and the messages of bad inputs."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreatlas.analysis.invest import SLACK, cheapest_plan, cvar, expected_loss, marginal_value, model_losses, optimise, value_at_risk
from coreatlas.errors import ValidationError

# Two scenarios, three measures of cost 1 each, budget 2 (any two measures):
#   L0 = [10, 20]; m0 cuts s0 by 5; m1 cuts s1 by 15; m2 cuts s0 by 8 and s1 by 6.
#   {m0, m1}: losses [5, 5]  -> E = 5,   worst = 5
#   {m0, m2}: losses [0, 14] -> E = 7,   worst = 14   (s0: 10 - 13 clipped at 0)
#   {m1, m2}: losses [2, 0]  -> E = 1,   worst = 2    (s1: 20 - 21 clipped at 0)
#   Singletons (budget 1): {m0} E = 12.5, {m1} E = 7.5, {m2} E = 8.
BASE = np.array([10.0, 20.0])
RED = np.array([[5.0, 0.0, 8.0], [0.0, 15.0, 6.0]])
COST = np.ones(3)
FAST = settings(max_examples=60, deadline=None)


# ---------------------------------------------------------------- hand-worked optima


def test_model_losses_subtract_the_reductions_and_stop_at_zero():
    assert model_losses(BASE, RED, [True, False, True]).tolist() == [0.0, 14.0]
    assert model_losses(BASE, RED, [0, 0, 0]).tolist() == [10.0, 20.0]


def test_expected_loss_optimum_by_hand():
    plan = optimise(BASE, RED, COST, budget=2.0)
    assert plan.chosen.tolist() == [False, True, True]
    assert plan.status == "optimal"
    assert (plan.cost, plan.objective, plan.loss_after, plan.loss_before) == (2.0, 1.0, 1.0, 15.0)
    assert plan.expected_loss_after == 1.0
    assert plan.cvar_after == pytest.approx(2.0)  # alpha 0.95, two equal scenarios: CVaR = worst loss


def test_budget_of_one_measure_by_hand():
    plan = optimise(BASE, RED, COST, budget=1.0)
    assert plan.chosen.tolist() == [False, True, False]
    assert plan.objective == 7.5


def test_a_budget_exactly_equal_to_the_cost_is_enough():
    cost = np.array([0.1, 0.2, 5.0])  # 0.1 + 0.2 = 0.30000000000000004 in floats
    plan = optimise(BASE, RED, cost, budget=0.3)
    assert plan.chosen.tolist() == [True, True, False]
    assert plan.objective == 5.0


def test_cvar_and_expected_loss_choose_differently():
    # s0 (p 0.9) loses 10, s1 (p 0.1) loses 100; m0 removes s0's loss, m1 halves s1's; budget for one.
    # Expected: m0 -> 0.1 * 100 = 10, m1 -> 0.9 * 10 + 0.1 * 50 = 14: choose m0.
    # CVaR_0.9 is the loss of the worst 10%, scenario s1: m0 -> 100, m1 -> 50: choose m1.
    base, red, p = np.array([10.0, 100.0]), np.array([[10.0, 0.0], [0.0, 50.0]]), np.array([0.9, 0.1])
    expected = optimise(base, red, [1.0, 1.0], 1.0, probabilities=p)
    tail = optimise(base, red, [1.0, 1.0], 1.0, probabilities=p, objective="cvar", alpha=0.9)
    assert expected.chosen.tolist() == [True, False] and expected.objective == pytest.approx(10.0)
    assert tail.chosen.tolist() == [False, True] and tail.objective == pytest.approx(50.0)
    assert tail.loss_before == pytest.approx(100.0) and tail.expected_loss_after == pytest.approx(14.0)


def test_group_caps_by_hand():
    # m1 and m2 share group 0 capped at 1: {m1, m2} is out, the best pair left is {m0, m1} (E = 5).
    plan = optimise(BASE, RED, COST, 2.0, groups=[-1, 0, 0], group_caps=[1.0])
    assert plan.chosen.tolist() == [True, True, False]
    assert plan.objective == 5.0


def test_zero_budget_buys_nothing_and_infinite_budget_buys_what_helps():
    nothing = optimise(BASE, RED, COST, 0.0)
    assert not nothing.chosen.any() and nothing.loss_after == nothing.loss_before == 15.0
    everything = optimise(BASE, RED, COST, np.inf)
    assert everything.objective == 0.0 and everything.cost <= 3.0


def test_marginal_value_by_hand():
    # OPT(1) = 7.5, OPT(2) = 1: 6.5 of loss avoided per extra dollar; beyond 3 nothing more to gain.
    assert marginal_value(BASE, RED, COST, 1.0, 1.0) == pytest.approx(6.5)
    assert marginal_value(BASE, RED, COST, 3.0, 1.0) == 0.0


def test_plan_to_dict_is_json():
    d = optimise(BASE, RED, COST, 2.0).to_dict()
    assert json.loads(json.dumps(d))["chosen"] == [False, True, True]
    assert set(d) == {"chosen", "cost", "objective", "loss_before", "loss_after", "expected_loss_after", "cvar_after", "status"}


def test_the_solver_prints_nothing():
    code = "from coreatlas.analysis.invest import optimise; optimise([1.0, 2.0], [[1.0], [0.0]], [1.0], 1.0)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "" and run.stderr == ""


# ---------------------------------------------------------------- exhaustive search


def _subsets(m: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=m))).reshape(-1, m)


def _brute_optimum(base, red, cost, budget, p, objective, alpha, groups=None, caps=None) -> float:
    """Minimum of the model objective over every subset within the budget (and group caps), same SLACK rule."""
    x = _subsets(cost.size)
    scale = cost.max() if cost.max() > 0 else 1.0
    ok = x @ cost <= min(budget, cost.sum()) + SLACK * scale
    for g, cap in enumerate(caps if caps is not None else []):
        ok &= x @ (cost * (groups == g)) <= min(cap, cost.sum()) + SLACK * scale
    losses = np.maximum(0.0, base[None, :] - x[ok] @ red.T)
    values = losses @ p if objective == "expected" else [cvar(row, p, alpha) for row in losses]
    return float(np.min(values))


def _floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def cases(draw, with_groups: bool = True):
    m, s = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    base = draw(hnp.arrays(float, s, elements=_floats(0, 100)))
    red = draw(hnp.arrays(float, (s, m), elements=_floats(0, 60)))
    cost = draw(hnp.arrays(float, m, elements=_floats(0, 10)))
    budget = draw(_floats(0, 50))
    weights = draw(hnp.arrays(float, s, elements=_floats(0, 1)))
    p = weights / weights.sum() if weights.sum() > 0 else np.full(s, 1.0 / s)
    alpha = draw(_floats(0, 0.99))
    groups = caps = None
    if with_groups and draw(st.booleans()):
        groups = draw(hnp.arrays(int, m, elements=st.integers(-1, 1)))
        caps = draw(hnp.arrays(float, 2, elements=_floats(0, 20)))
    return base, red, cost, budget, p, alpha, groups, caps


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-7 * abs(want) + 1e-9


@pytest.mark.parametrize("objective", ["expected", "cvar"])
@FAST
@given(case=cases())
def test_optimum_equals_exhaustive_search(objective, case):
    base, red, cost, budget, p, alpha, groups, caps = case
    plan = optimise(base, red, cost, budget, probabilities=p, objective=objective, alpha=alpha, groups=groups, group_caps=caps)
    best = _brute_optimum(base, red, cost, budget, p, objective, alpha, groups, caps)
    assert plan.status == "optimal"
    assert _close(plan.objective, best), (plan.objective, best, plan.chosen)
    assert plan.cost <= budget + SLACK * max(cost.max(), 1.0)
    assert plan.objective == plan.loss_after <= plan.loss_before


@FAST
@given(case=cases(with_groups=False), extra=_floats(0, 30), objective=st.sampled_from(["expected", "cvar"]))
def test_a_larger_budget_never_gives_a_worse_optimum(case, extra, objective):
    base, red, cost, budget, p, alpha, _, _ = case
    kw = {"probabilities": p, "objective": objective, "alpha": alpha}
    small, large = optimise(base, red, cost, budget, **kw), optimise(base, red, cost, budget + extra, **kw)
    assert large.objective <= small.objective + 1e-7 * abs(small.objective) + 1e-9


# ---------------------------------------------------------------- risk measures


@pytest.mark.parametrize(
    ("losses", "alpha", "want"),
    [
        ([0, 0, 10, 10], 0.75, 10.0),  # the tail is half of the atom at 10
        ([0, 0, 10, 10], 0.6, 10.0),  # (0.15 * 10 + 0.25 * 10) / 0.4
        ([0, 0, 10, 10], 0.0, 5.0),  # alpha = 0: the mean
        ([0, 0, 10, 10], 0.4, 10.0 * 0.5 / 0.6),  # (0.1 * 0 + 0.5 * 10) / 0.6: part of the atom at 0
        ([1, 2, 3, 4], 0.5, 3.5),
        ([1, 2, 3, 4], 0.6, 3.625),  # (0.15 * 3 + 0.25 * 4) / 0.4
        ([4, 1, 3, 2], 0.6, 3.625),  # order does not matter
        ([5, 5, 5], 0.9, 5.0),
    ],
)
def test_cvar_by_hand(losses, alpha, want):
    assert cvar(losses, None, alpha) == pytest.approx(want, rel=1e-12)


def test_cvar_with_unequal_probabilities_by_hand():
    # P(L=0) = 0.5, P(L=10) = 0.3, P(L=100) = 0.2; alpha = 0.7: tail 0.3 = 0.2 at 100 + 0.1 at 10.
    assert cvar([0, 10, 100], [0.5, 0.3, 0.2], 0.7) == pytest.approx((0.2 * 100 + 0.1 * 10) / 0.3)
    assert value_at_risk([0, 10, 100], [0.5, 0.3, 0.2], 0.7) == 10.0
    assert expected_loss([0, 10, 100], [0.5, 0.3, 0.2]) == pytest.approx(23.0)


@pytest.mark.parametrize(
    ("losses", "p", "alpha", "want"),
    [
        ([1, 2, 3, 4], None, 0.5, 2.0),  # P(L <= 2) = 0.5 >= 0.5
        ([1, 2, 3, 4], None, 0.6, 3.0),
        ([1, 2, 3, 4], None, 0.0, 1.0),
        ([0, 0, 10, 10], None, 0.75, 10.0),
        ([9, 1, 5], [0.0, 0.5, 0.5], 0.0, 1.0),  # the zero-probability 9 is not in the support
        ([9, 1, 5], [0.0, 0.5, 0.5], 0.9, 5.0),
        (list(range(10)), [0.1] * 10, 0.3, 2.0),  # cumulative 0.1 * 3 rounds to 0.30000000000000004
        (list(range(10)), [0.1] * 10, 0.7, 6.0),  # and 0.1 * 7 to 0.7000000000000001 or 0.6999999999999998
    ],
)
def test_value_at_risk_by_hand(losses, p, alpha, want):
    assert value_at_risk(losses, p, alpha) == want


def test_expected_loss_by_hand():
    assert expected_loss([1, 2, 3, 4]) == 2.5
    assert expected_loss([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(3.0)


@FAST
@given(
    losses=hnp.arrays(float, st.integers(1, 8), elements=_floats(0, 100)),
    alpha=_floats(0, 0.999),
    data=st.data(),
)
def test_cvar_is_the_rockafellar_uryasev_minimum(losses, alpha, data):
    weights = data.draw(hnp.arrays(float, losses.size, elements=_floats(0.001, 1)))
    p = weights / weights.sum()
    # eta + E[(L - eta)+] / (1 - alpha) is convex piecewise linear with kinks at the losses: its minimum is at one.
    ru = min(eta + p @ np.maximum(losses - eta, 0) / (1 - alpha) for eta in losses)
    got = cvar(losses, p, alpha)
    assert got == pytest.approx(ru, rel=1e-9, abs=1e-9)
    assert expected_loss(losses, p) - 1e-9 <= got <= losses.max() + 1e-9
    assert value_at_risk(losses, p, alpha) <= got + 1e-9


# ---------------------------------------------------------------- cheapest plan to a target share


def test_cheapest_plan_by_hand():
    # Node 0 at 0.2, node 1 at 0.5, target 0.5: node 0 needs (1 - 0.5) * gain >= 0.3, i.e. gain >= 0.6;
    # node 1 is there. m0 adds 0.5 (too little, cost 3); m1 adds 0 at node 0 (cost 2); m2 adds 1.0 (cost 4);
    # m0 + m1 also adds only 0.5. Cheapest: m2 alone, cost 4 (m0 + m2 would cost 7).
    plan = cheapest_plan([0.2, 0.5], [[0.5, 0.0, 1.0], [0.0, 1.0, 0.2]], [3.0, 2.0, 4.0], 0.5)
    assert plan.chosen.tolist() == [False, False, True]
    assert plan.cost == 4.0 and plan.status == "optimal"
    assert plan.share_before.tolist() == [0.2, 0.5]
    assert plan.share_after == pytest.approx([(0.2 + 1.0) / 2.0, (0.5 + 0.2) / 1.2])
    assert json.loads(json.dumps(plan.to_dict()))["cost"] == 4.0


def test_cheapest_plan_combines_measures_by_hand():
    # Node 0 at 0, target 0.5: needs gain >= 1. m0 adds 0.6 (cost 1), m1 adds 0.6 (cost 1), m2 adds 1.0 (cost 3).
    # m0 + m1 = 1.2 >= 1 for cost 2 beats m2 for cost 3.
    plan = cheapest_plan([0.0], [[0.6, 0.6, 1.0]], [1.0, 1.0, 3.0], 0.5)
    assert plan.chosen.tolist() == [True, True, False] and plan.cost == 2.0
    assert plan.share_after[0] == pytest.approx(1.2 / 2.2)


def test_cheapest_plan_when_every_node_is_there_already():
    plan = cheapest_plan([0.6, 0.9], [[1.0], [1.0]], [5.0], 0.5)
    assert not plan.chosen.any() and plan.cost == 0.0
    assert plan.share_after.tolist() == [0.6, 0.9]


def test_unreachable_target_names_the_nodes():
    # Node 1 at 0.1 with at most 0.2 added reaches (0.1 + 0.2) / 1.2 = 0.25 < 0.5; node 0 could get there.
    with pytest.raises(ValidationError, match=r"target bloc share 0.5 cannot be reached .* at node\(s\) \[1\].*1 \(0\.25\)"):
        cheapest_plan([0.4, 0.1], [[1.0, 0.0], [0.1, 0.1]], [1.0, 1.0], 0.5)


@FAST
@given(data=st.data())
def test_cheapest_plan_equals_exhaustive_search(data):
    n, m = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 7))
    base = data.draw(hnp.arrays(float, n, elements=_floats(0, 1)))
    gain = data.draw(hnp.arrays(float, (n, m), elements=_floats(0, 2)))
    cost = data.draw(hnp.arrays(float, m, elements=_floats(0, 10)))
    target = data.draw(_floats(0, 1))
    x = _subsets(m)
    reach = ((x @ gain.T) * (1 - target) >= target - base[None, :] - SLACK).all(axis=1)
    if not reach.any():
        with pytest.raises(ValidationError, match="cannot be reached"):
            cheapest_plan(base, gain, cost, target)
        return
    plan = cheapest_plan(base, gain, cost, target)
    best = float((x[reach] @ cost).min())
    assert plan.status == "optimal"
    assert abs(plan.cost - best) <= 1e-9 * max(1.0, best)
    assert (plan.share_after >= target - 1e-9).all()


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reduction": np.ones((3, 3))}, r"reduction has shape \(3, 3\), expected \(2, any\)"),
        ({"cost": [1.0, 1.0]}, r"cost has shape \(2,\), expected \(3\)"),
        ({"cost": [1.0, -2.0, 1.0]}, "cost must be non-negative"),
        ({"base_loss": [10.0, -1.0]}, "base_loss must be non-negative"),
        ({"reduction": -RED}, "reduction must be non-negative"),
        ({"base_loss": [np.nan, 1.0]}, "base_loss must be finite"),
        ({"probabilities": [0.5, 0.4]}, "probabilities must sum to 1, they sum to 0.9"),
        ({"probabilities": [1.5, -0.5]}, "probabilities must be non-negative"),
        ({"alpha": 1.0}, "alpha must satisfy 0 <= alpha < 1, got 1.0"),
        ({"alpha": -0.1}, "alpha must satisfy 0 <= alpha < 1"),
        ({"budget": -1.0}, "budget must be >= 0"),
        ({"budget": np.nan}, "budget must be >= 0"),
        ({"objective": "median"}, "objective must be 'expected' or 'cvar'"),
        ({"groups": [0, 0, -1]}, "groups and group_caps must be given together"),
        ({"groups": [0, 1, -1], "group_caps": [1.0]}, r"groups must be integers in -1\.\.0"),
        ({"groups": [0, 0, -1], "group_caps": [-1.0]}, "group_caps must be a 1-D array of values >= 0"),
        ({"time_limit_s": 0}, "time_limit_s must be > 0"),
    ],
)
def test_bad_optimiser_inputs(kwargs, message):
    args = {"base_loss": BASE, "reduction": RED, "cost": COST, "budget": 2.0} | kwargs
    with pytest.raises(ValidationError, match=message):
        optimise(**args)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cvar([1, 2], [0.5, 0.5], 1.0), "alpha must satisfy"),
        (lambda: cvar([1, 2], [0.5, 0.6], 0.5), "probabilities must sum to 1"),
        (lambda: value_at_risk([1, 2], [1.0], 0.5), r"probabilities has shape \(1,\), expected \(2\)"),
        (lambda: expected_loss([], None), "at least one scenario"),
        (lambda: marginal_value(BASE, RED, COST, 1.0, 0.0), "step must be > 0"),
        (lambda: cheapest_plan([0.2], [[1.0]], [1.0], 1.5), r"target must lie in \[0, 1\]"),
        (lambda: cheapest_plan([1.2], [[1.0]], [1.0], 0.5), r"base_share must lie in \[0, 1\]"),
        (lambda: cheapest_plan([0.2, 0.3], [[1.0]], [1.0], 0.5), r"share_gain has shape \(1, 1\), expected \(2, any\)"),
        (lambda: cheapest_plan([0.2], [[-1.0]], [1.0], 0.5), "share_gain must be non-negative"),
    ],
)
def test_bad_inputs_elsewhere(call, message):
    with pytest.raises(ValidationError, match=message):
        call()


def test_tiny_costs_still_count_against_the_budget():
    # HiGHS drops matrix entries below 1e-9 by default: eight measures of cost 1e-10 next to one of cost 1 would
    # then look free, and buying all nine would overshoot a budget of 1 by 8e-10 > SLACK.
    plan = optimise([10.0], np.ones((1, 9)), [1.0] + [1e-10] * 8, 1.0)
    assert plan.cost <= 1.0 + SLACK
    # Within budget: the unit-cost one plus at most five tiny ones (loss 4), or the eight tiny ones alone (loss 2).
    assert plan.objective == 2.0


@pytest.mark.parametrize("objective", ["expected", "cvar"])
def test_a_rare_scenario_still_counts(objective):
    # Found by hypothesis: with HiGHS's default dual tolerance (1e-7) a gain of 6e-8 in the objective was ignored.
    p = np.array([5.96046412e-08, 1 - 5.96046412e-08])
    plan = optimise([1.0, 0.0], np.ones((2, 3)), [1.0, 1.0, 8.0], 9.0, probabilities=p, objective=objective, alpha=0.0)
    assert plan.objective == 0.0 and plan.loss_before == pytest.approx(5.96046412e-08)
