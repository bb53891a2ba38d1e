"""The firm-level engine: hand-worked cases, rationing rules, recovery laws, losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coreatlas.analysis.dynamics import DynamicsParams, dynamic_model, firm_observer, initial_state, loss_summary, ration, run, step
from coreatlas.analysis.recovery import recover
from coreatlas.errors import ValidationError
from coreatlas.model.firms import Shocks, firm_network


def toy():
    """Two firms selling 100 a day to each other and 100 to final demand (P_ini = 200 each)."""
    return firm_network([0, 1], [1, 0], [100.0, 100.0], [100.0, 100.0])


# ---- hand-worked days ------------------------------------------------------------------------
def test_toy_first_days_by_hand():
    """Firm 0 loses 10%: day 0 it makes 180 and rations 0.9 to everyone (380 in all, 190
    to consumers). Day 1: firm 1 drew 100 from 1,500 and received 90 -> 1,490 in stock and
    orders 100 + (1,500 - 1,490)/6; firm 0 drew 90 (it made 180) and got 100 -> 1,510 and
    orders 90 + (1,350 - 1,510)/6."""
    result = run(toy(), Shocks.of([0], 0.1), 2, DynamicsParams()).to_frame()
    assert result["production"].tolist()[:2] == [400.0, 380.0]
    assert result["final_consumption"].tolist()[:2] == [200.0, 190.0]
    order_1 = 100 + (1500 - 1490) / 6  # firm 1's order to firm 0
    order_0 = 90 + (1350 - 1510) / 6  # firm 0's order to firm 1
    # day 1: firm 0 is capacity-bound (demand 100 + order_1 > 180); firm 1 makes its demand 100 + order_0
    assert 100 + order_1 > 180
    assert result["production"].iloc[2] == pytest.approx(180 + 100 + order_0, rel=1e-12)
    assert result["production"].iloc[2] == pytest.approx(343.33333333333337, rel=1e-15)  # the reference's day 1


def test_value_added_uses_baseline_ratios():
    net = firm_network([0], [1], [30.0], [70.0, 50.0])  # firm 0: P=100, v=1; firm 1: P=50, v=0.4
    np.testing.assert_allclose(net.value_added_ratio, [1.0, 0.4])
    assert run(net, None, 1).to_frame()["value_added"].iloc[0] == pytest.approx(100 + 0.4 * 50)


def test_substitution_within_a_sector_only():
    """Client 2 buys 10 from each of firms 0 and 1. If they share a sector, losing firm 0
    for good leaves 2 able to draw on firm 1's stock; in different sectors it stops when
    firm 0's stock runs out."""
    shocks = Shocks.of([0], 1.0)
    same = firm_network([0, 1], [2, 2], [10.0, 10.0], [0, 0, 40.0], sector=[0, 0, 1])
    apart = firm_network([0, 1], [2, 2], [10.0, 10.0], [0, 0, 40.0], sector=[0, 1, 2])
    p = DynamicsParams(inventory_days=3)
    out_same = run(same, shocks, 30, p).to_frame()["production"].iloc[1:].sum()
    out_apart = run(apart, shocks, 30, p).to_frame()["production"].iloc[1:].sum()
    assert out_same > out_apart


def test_a_larger_shock_can_raise_later_output():
    """Not monotone over time: two firms in a loop, the deeper shock (100% vs 50%, both
    recovering linearly in 10 days) destocks faster, restocks earlier and produces more
    over 60 days (280.74 vs 280.35). docs/dynamics.md explains the mechanism."""
    net = firm_network([0, 1], [1, 0], [2.0, 4.0], [1.0, 1.0])
    p = DynamicsParams(recovery="linear", recovery_days=10)
    half = run(net, Shocks.of([1], 0.5), 60, p).to_frame()["production"].iloc[1:].sum()
    full = run(net, Shocks.of([1], 1.0), 60, p).to_frame()["production"].iloc[1:].sum()
    assert full == pytest.approx(280.744, abs=1e-3) and half == pytest.approx(280.346, abs=1e-3)
    assert full > half


def test_shock_with_end_day_and_start_day():
    net = toy()
    totals = run(net, Shocks.of([0], 0.5, start_day=2, end_day=4), 8, DynamicsParams(inventory_days=30)).to_frame()
    assert totals["production"].iloc[1:3].tolist() == [400.0, 400.0]  # days 0, 1: not yet
    assert totals["production"].iloc[3] == 300.0  # day 2: firm 0 at half capacity
    lost = run(net, Shocks.of([0], 0.5, start_day=2, end_day=4), 8, DynamicsParams()).to_frame()["capacity_lost"]
    assert lost.iloc[1:].tolist() == [0, 0, 100, 100, 0, 0, 0, 0]


# ---- losses ------------------------------------------------------------------------------------
def test_direct_loss_is_capacity_times_days():
    """Linear recovery over 10 days: delta = 0.1, 0.09, ..., 0.01 -> 0.55 x 200 = 110."""
    result = run(toy(), Shocks.of([0], 0.1), 60, DynamicsParams(recovery="linear", recovery_days=10))
    losses = result.losses()
    assert losses.direct == pytest.approx(110.0)
    assert losses.total == pytest.approx(60 * 400 - result.to_frame()["production"].iloc[1:].sum())
    assert losses.indirect == pytest.approx(losses.total - 110.0)
    assert losses.ratio == pytest.approx(losses.indirect / 110.0)


def test_loss_summary_trough_and_recovery_day():
    series = np.array([100.0, 90, 80, 95, 99.5, 98, 99.2, 100])  # baseline, then days 0..6
    summary = loss_summary(series, np.array([10.0, 0, 0, 0, 0, 0, 0]))
    assert summary.trough_day == 1 and summary.trough_share == 0.8
    assert summary.recovery_day == 5  # day 4 (99.5) is followed by a dip to 98 on day 4+1
    assert summary.total == pytest.approx(10 + 20 + 5 + 0.5 + 2 + 0.8)
    never = loss_summary(np.array([100.0, 50, 60]), np.zeros(2))
    assert never.recovery_day is None


def test_losses_by_sector_add_up():
    net = firm_network([0, 1, 2], [1, 2, 0], [5.0, 5.0, 5.0], [10.0, 10, 10], sector=[0, 1, 1], region=[0, 0, 1])
    result = run(net, Shocks.of([0], 0.5), 20, DynamicsParams(recovery="linear", recovery_days=5))
    by_sector = result.losses_by("sector")
    assert by_sector["total_loss"].sum() == pytest.approx(result.losses().total)
    assert by_sector["direct_loss"].sum() == pytest.approx(result.losses().direct)
    assert result.losses_by("region")["total_loss"].sum() == pytest.approx(result.losses().total)


def test_firm_observer_records_chosen_firms():
    result = run(toy(), Shocks.of([0], 0.1), 3, observers=[firm_observer([0])])
    columns, values = result.series["production_by_firm"]
    assert columns == (0,) and values[:, 0].tolist()[:2] == [200.0, 180.0]


# ---- rationing ---------------------------------------------------------------------------------
def star(weights, final):
    """Supplier 0 with clients 1..k (baseline flows ``weights``) and final demand ``final``."""
    k = len(weights)
    return firm_network(np.zeros(k, dtype=int), np.arange(1, k + 1), weights, [final] + [1.0] * k)


def brute_force_level(weights, ratios, capacity):
    """Water level by trying every set of fully served clients (exponential, for tests)."""
    weights, ratios = np.asarray(weights), np.asarray(ratios)
    for served in itertools.product([False, True], repeat=len(weights)):
        served = np.array(served)
        rest = weights[~served].sum()
        if rest == 0:
            continue
        level = (capacity - (weights * ratios)[served].sum()) / rest
        # a tolerance relative to the level: an absolute 1e-12 accepted a level of 6.7e-13
        # (nobody fully served) where a client ordering nothing is served and the level is 2e-12
        tol = 1e-9 * abs(level)
        if level >= 0 and np.all(ratios[served] <= level + tol) and np.all(ratios[~served] >= level - tol):
            return level
    raise AssertionError("no consistent water level")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.1, 10), st.floats(0, 3)), min_size=1, max_size=7),
    st.floats(0.0, 10),
    st.floats(0.0, 0.999),
    st.booleans(),
)
@example([(1.0, 2.0), (2.0, 0.0)], 0.0, 1e-12, False)  # a client ordering nothing, output tiny: level 2e-12
def test_priority_rationing_is_water_filling(clients, final, fraction, final_last):
    """Delivered = A_k min(rho_k, lam) with lam from an exhaustive search (brute force)."""
    weights = np.array([w for w, _ in clients])
    ratios = np.array([r for _, r in clients])
    net = star(weights, final)
    rule = "priority-final-demand-last" if final_last else "priority"
    model = dynamic_model(net, None, DynamicsParams(rationing=rule))
    orders = weights * ratios
    demand = np.r_[final + orders.sum(), np.ones(len(weights))]
    production = np.r_[fraction * demand[0], np.ones(len(weights))]
    delivered, final_out = ration(model, orders, production, demand)
    if final_last:
        firm_capacity = min(production[0], orders.sum())
        if production[0] >= orders.sum():
            np.testing.assert_allclose(delivered, orders)
            assert final_out[0] == pytest.approx(production[0] - orders.sum())
            return
        level = brute_force_level(weights, ratios, firm_capacity)
        expected_final = 0.0
    else:
        all_w = np.r_[weights, final] if final > 0 else weights
        all_r = np.r_[ratios, 1.0] if final > 0 else ratios
        level = brute_force_level(all_w, all_r, production[0])
        expected_final = final * min(1.0, level)
    np.testing.assert_allclose(delivered, weights * np.minimum(ratios, level), rtol=1e-9, atol=1e-12)
    assert final_out[0] == pytest.approx(expected_final, rel=1e-9, abs=1e-12)
    assert delivered.sum() + final_out[0] == pytest.approx(production[0], rel=1e-9, abs=1e-12)


def test_priority_serves_low_orders_first_by_hand():
    """Baseline 10 to each of two clients; client 1 orders 5 (rho 0.5), client 2 orders 30
    (rho 3, restocking); no final demand; output 20 -> client 1 gets 5, client 2 gets 15.
    Proportional would give 20 x 5/35 and 20 x 30/35."""
    net = star([10.0, 10.0], 0.0)
    orders = np.array([5.0, 30.0])
    demand, production = np.array([35.0, 1, 1]), np.array([20.0, 1, 1])
    model = dynamic_model(net, None, DynamicsParams(rationing="priority"))
    np.testing.assert_allclose(ration(model, orders, production, demand)[0], [5.0, 15.0])
    model = dynamic_model(net, None, DynamicsParams(rationing="proportional"))
    np.testing.assert_allclose(ration(model, orders, production, demand)[0], [20 * 5 / 35, 20 * 30 / 35])


def test_final_demand_last_by_hand():
    """Output 25 against orders 15 + 15 and final demand 10: clients get 25/30 each, consumers 0.
    Output 35: clients in full, consumers 5."""
    net = star([15.0, 15.0], 10.0)
    model = dynamic_model(net, None, DynamicsParams(rationing="final-demand-last"))
    orders, demand = np.array([15.0, 15.0]), np.array([40.0, 1, 1])
    delivered, final = ration(model, orders, np.array([25.0, 1, 1]), demand)
    np.testing.assert_allclose(delivered, [12.5, 12.5])
    assert final[0] == 0.0
    delivered, final = ration(model, orders, np.array([35.0, 1, 1]), demand)
    np.testing.assert_allclose(delivered, [15.0, 15.0])
    assert final[0] == pytest.approx(5.0)


# ---- recovery ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("law", "expected"),
    [
        ("none", 0.5),
        ("linear", 0.5 - 0.6 / 4),
        ("uniform", 0.5 - 1 / 4),
        ("immediate", 0.0),
        ("exponential", 0.6 * np.exp(-3 / 4)),
        ("renewal", 0.5 * (1 - 1 / 4)),
    ],
)
def test_recovery_laws_one_day(law, expected):
    """delta = 0.5 now, delta0 = 0.6, shock on day 1, today is day 3, C = 4."""
    delta = recover(law, np.array([0.5]), np.array([0.6]), np.array([1]), 3, 4.0, 0)
    assert delta[0] == pytest.approx(expected)


def test_recovery_waits_for_the_delay_and_damped_law():
    args = (np.array([0.5, 0.0, 0.2]), np.array([0.6, 0.0, 0.2]), np.array([1, -1, 1]))
    assert recover("linear", *args, 3, 4.0, 5)[0] == 0.5  # recovery starts on day 1 + 5
    links = (np.array([0, 1]), np.array([1, 2]))  # 0 -> 1 -> 2
    damped = recover("damped", *args, 3, 4.0, 0, links)
    # firm 0's only neighbour is firm 1 (delta 0): h = 1; firm 2's is firm 1 too
    np.testing.assert_allclose(damped, [0.5 * (1 - 1 / 4), 0.0, 0.2 * (1 - 1 / 4)])


# ---- parameters and state ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rationing": "fair"}, "rationing 'fair' is not one of"),
        ({"recovery": "linear"}, "needs recovery days > 0"),
        ({"recovery": "slow", "recovery_days": 3}, "recovery 'slow' is not one of"),
        ({"inventory_days": 0.5}, "expected at least 1"),
        ({"inventory_draw": "gamma"}, "inventory draw 'gamma'"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        DynamicsParams(**kwargs)


def test_poisson_inventory_targets_are_seeded_and_floored():
    net = firm_network([0], [1], [1.0], [1.0, 1.0])
    a = dynamic_model(net, None, DynamicsParams(inventory_draw="poisson", inventory_days=3, seed=7)).target_days
    b = dynamic_model(net, None, DynamicsParams(inventory_draw="poisson", inventory_days=3, seed=7)).target_days
    assert a.tolist() == b.tolist() and a.min() >= 2
    big = firm_network(np.zeros(0), np.zeros(0), np.zeros(0), np.ones(5000))
    draws = dynamic_model(big, None, DynamicsParams(inventory_draw="poisson", inventory_days=3, seed=1)).target_days
    assert draws.min() == 2 and draws.mean() > 3  # redrawn below the floor, not clipped


def test_step_is_pure():
    model = dynamic_model(toy(), Shocks.of([0], 0.3), DynamicsParams())
    state = initial_state(model)
    before = state.inventory.copy()
    nxt = step(model, state)
    assert nxt.day == 0 and state.day == -1
    np.testing.assert_array_equal(state.inventory, before)


def test_shock_out_of_range():
    with pytest.raises(ValidationError, match="out of range"):
        dynamic_model(toy(), Shocks.of([5], 0.3))
    with pytest.raises(ValidationError, match="fraction in"):
        Shocks.of([0], 1.3)


# ---- the in-place engine of run() against step() ----------------------------------------------------
def _stepped_totals(model, days):
    """Daily production and inventories by stepping with :func:`step` (fresh arrays each day)."""
    state = initial_state(model)
    production, inventories = [state.production.sum()], []
    for _ in range(days):
        state = step(model, state)
        production.append(state.production.sum())
        inventories.append(state.inventory.copy())
    return np.array(production), inventories


@pytest.mark.parametrize("rule", ["proportional", "final-demand-last", "priority", "priority-final-demand-last"])
def test_run_in_place_equals_step_bit_for_bit(rule):
    """run() advances inventories and orders in place; step() makes new arrays: same numbers, exactly."""
    from coreatlas.analysis.synthetic import scale_free_network

    net = scale_free_network(300, 1500, n_sectors=6, seed=4)
    shocks = Shocks.of(np.arange(0, 300, 17), 0.6)
    params = DynamicsParams(rationing=rule, recovery="linear", recovery_days=8, inventory_days=3)
    model = dynamic_model(net, shocks, params)
    kept = []

    def keep(model, state):  # an observer that copies the per-link arrays, as run() documents
        kept.append((state.inventory.copy(), state.delivered.copy()))
        return np.zeros(0)

    from coreatlas.analysis.dynamics import Observer

    result = run(model, days=12, observers=[Observer("kept", (), keep)])
    production, inventories = _stepped_totals(model, 12)
    assert result.to_frame()["production"].tolist() == production.tolist()
    for (inventory, _), expected in zip(kept[1:], inventories, strict=True):
        np.testing.assert_array_equal(inventory, expected)
    assert not np.array_equal(kept[1][0], kept[-1][0])  # the run moved: the copies are of different days


def test_delivered_is_what_ration_gives():
    """State.delivered (built from orders and each supplier's delivery factor) equals ration()."""
    from coreatlas.analysis.dynamics import ration as ration_now

    net = firm_network([0, 0, 1], [1, 2, 2], [10.0, 5.0, 4.0], [5.0, 1.0, 20.0], sector=[0, 0, 1])
    for rule in ("proportional", "final-demand-last", "priority", "priority-final-demand-last"):
        model = dynamic_model(net, Shocks.of([0], 0.7), DynamicsParams(rationing=rule))
        state = step(model, step(model, initial_state(model)))
        delivered, final = ration_now(model, state.orders, state.production, state.demand)
        np.testing.assert_array_equal(state.delivered, delivered)
        np.testing.assert_array_equal(state.final_delivered, final)
        assert state.delivered.sum() < state.orders.sum()  # firm 0 is short: someone is rationed


def test_value_added_total_is_a_plain_weighted_sum():
    """The daily value added is sum_i v_i P_i summed by numpy, the same whatever BLAS's threads."""
    from coreatlas.analysis.synthetic import scale_free_network

    net = scale_free_network(500, 2500, n_sectors=5, seed=2)
    totals = run(net, Shocks.of([1, 2, 3], 0.5), 3).to_frame()
    model = dynamic_model(net, Shocks.of([1, 2, 3], 0.5))
    state = step(model, initial_state(model))
    assert totals["value_added"].iloc[1] == float(np.multiply(net.value_added_ratio, state.production).sum())


def test_links_in_order_or_shuffled_give_the_same_network():
    """firm_network skips the sort for links already in order and fills the pool pointer as it sorts:
    the same arrays either way, equal to the pointer computed from scratch, never the caller's arrays."""
    from coreatlas.analysis.synthetic import scale_free_network
    from coreatlas.model.firms import group_starts

    net = scale_free_network(400, 2400, n_sectors=4, seed=9)
    order = np.random.default_rng(0).permutation(net.n_links)
    supplier = net.supplier.copy()
    for links in ((supplier, net.client, net.flow), (net.supplier[order], net.client[order], net.flow[order])):
        again = firm_network(*links, net.final_demand, net.sector)
        for name in ("supplier", "client", "flow"):
            np.testing.assert_array_equal(getattr(again, name), getattr(net, name))
        key = again.client.astype(np.int64) * (int(again.sector.max()) + 1) + again.sector[again.supplier]
        np.testing.assert_array_equal(again.pool_start, group_starts(key))
    in_order = firm_network(supplier, net.client, net.flow, net.final_demand, net.sector)
    supplier[0] += 1  # the caller changes its array afterwards: the network does not change
    assert in_order.supplier[0] == net.supplier[0]
