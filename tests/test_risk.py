"""TTR / TTS / REI: hand-solved networks and properties of the programs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreatlas.analysis.firm_compile import firms_from_map
from coreatlas.analysis.propagate import build_propagator
from coreatlas.analysis.ranking import firm_risk_network
from coreatlas.analysis.risk import RiskModel, risk_table, steady_rates
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.analysis.synthetic_map import synthetic_map
from coreatlas.errors import RequestError
from coreatlas.model.risknet import risk_network

METHODS = pytest.mark.parametrize("method", ["local", "whole"])


def chain(alternative: bool = False):
    """Raw A (20/day, no stock) -> product P (20/day, 30 in stock, demand 10/day), 1 unit of A per P.
    With ``alternative``, B (20/day) can supply the same material."""
    ids = ["P", "A", "B"] if alternative else ["P", "A"]
    n = len(ids)
    src, dst = ([1, 2], [0, 0]) if alternative else ([1], [0])
    return risk_network(
        ids, [20.0] * n, [30.0] + [0.0] * (n - 1), [10.0] + [0.0] * (n - 1), [5.0] * n, src, dst, [0] * len(src), [1.0] * len(src)
    )


@METHODS
def test_chain_by_hand(method):
    """Without A, P lives 3 days on its 30 units; down 5 days it misses 10 x 5 - 30 = 20."""
    model = RiskModel(chain(), method=method)
    assert model.method == method  # the chain has a steady state (A makes 10 of its 20 a day for P)
    assert model.time_to_survive([1]) == pytest.approx(3.0)
    assert model.performance_impact([1], 5.0) == pytest.approx(20.0)
    assert model.performance_impact([1], 2.0) == pytest.approx(0.0)  # TTR <= TTS: no loss
    assert model.time_to_survive([0]) == pytest.approx(3.0)  # P itself down: its stock only
    assert model.time_to_survive([]) == float("inf")


@METHODS
def test_alternative_supplier_by_hand(method):
    model = RiskModel(chain(alternative=True), method=method)
    assert model.performance_impact([1], 5.0) == 0.0
    assert model.time_to_survive([1]) == float("inf")
    assert model.performance_impact([1, 2], 5.0) == pytest.approx(20.0)


@METHODS
def test_bill_of_materials_and_upstream_stock(method):
    """P needs 2 units of A per unit; A is down but holds 8 units: P can make 4 more.
    Demand 10/day for 5 days = 50; P's stock 30 + 4 made = 34; lost 16. TTS = 3 + 0.4."""
    net = risk_network(["P", "A"], [20.0, 20.0], [30.0, 8.0], [10.0, 0.0], [5.0, 5.0], [1], [0], [0], [2.0])
    model = RiskModel(net, method=method)
    assert model.performance_impact([1], 5.0) == pytest.approx(16.0)
    assert model.time_to_survive([1]) == pytest.approx(3.4)


def test_shared_capacity_group_and_profit():
    """P1 and P2 (demand 10/day each, profit 1 and 3) share a line making 15/day: over 4 days
    20 units are lost; by units it does not matter which, by profit P1 goes short."""
    net = risk_network(["P1", "P2", "X"], [99.0, 99.0, 99.0], [0.0, 0.0, 0.0], [10.0, 10.0, 0.0], [4.0, 4.0, 4.0], [], [], [], [],
                       profit=[1.0, 3.0, 0.0], group=[0, 0, -1], group_capacity=[15.0])  # fmt: skip
    assert RiskModel(net).performance_impact([2], 4.0) == pytest.approx(20.0)
    assert RiskModel(net, measure="profit").performance_impact([2], 4.0) == pytest.approx(20.0 * 1.0)
    assert RiskModel(net).time_to_survive([2]) == pytest.approx(0.0)
    assert steady_rates(net) is None and RiskModel(net).method == "whole"  # 20 a day cannot be made on a 15/day line


@METHODS
def test_risk_table_rei_and_flags(method):
    table = risk_table(chain(), method=method)
    frame = table.to_frame().set_index("node")
    assert frame.loc["A", "pi"] == pytest.approx(20.0) and frame.loc["P", "pi"] == pytest.approx(20.0)
    assert frame["rei"].max() == 1.0 and bool(frame.loc["A", "ttr_exceeds_tts"])


networks = st.builds(
    lambda seed, a, b: multi_tier_network((3, 6, 8), alternatives=(1, 2), inventory_days=(0.0, 4.0), seed=seed),
    st.integers(0, 10_000),
    st.integers(0, 1),
    st.integers(0, 1),
)


@settings(max_examples=40, deadline=None)
@given(networks, st.integers(0, 16), st.floats(0.5, 20), st.floats(1.0, 3.0))
def test_pi_non_decreasing_in_ttr(net, node, days, factor):
    model = RiskModel(net)
    node = node % net.n_nodes
    assert model.performance_impact([node], days * factor) >= model.performance_impact([node], days) - 1e-7


@settings(max_examples=40, deadline=None)
@given(networks, st.integers(0, 16))
def test_no_loss_while_ttr_within_tts(net, node):
    model = RiskModel(net)
    node = node % net.n_nodes
    tts = model.time_to_survive([node])
    if np.isfinite(tts) and tts > 0:
        assert model.performance_impact([node], 0.999 * tts) <= 1e-6 * net.demand.sum()


@settings(max_examples=40, deadline=None)
@given(networks, st.integers(0, 16), st.integers(0, 100), st.floats(0.0, 200.0), st.floats(0.0, 50.0), st.floats(1.0, 15.0))
def test_adding_an_alternative_supplier_never_raises_pi(net, node, pair, capacity, stock, days):
    """A new supplier of an existing (consumer, material) relaxes the program."""
    if net.pair_dst.size == 0:
        return
    node, pair = node % net.n_nodes, pair % net.pair_dst.size
    before = RiskModel(net).performance_impact([node], days)
    n = net.n_nodes
    material = np.r_[net.pair[:], pair]  # the pair index serves as the material code
    bigger = risk_network(
        np.r_[net.node_ids, ["new"]], np.r_[net.capacity, capacity], np.r_[net.inventory, stock], np.r_[net.demand, 0.0],
        np.r_[net.ttr_days, 1.0], np.r_[net.src, n], np.r_[net.dst, net.pair_dst[pair]], material,
        np.r_[net.pair_ratio[net.pair], net.pair_ratio[pair]],
    )  # fmt: skip
    assert RiskModel(bigger).performance_impact([node], days) <= before + 1e-7 * max(1.0, before)


def test_unknown_method_is_refused():
    with pytest.raises(RequestError, match="method must be one of local, whole"):
        RiskModel(chain(), method="magic")


@METHODS
def test_a_shared_supplier_serves_the_more_profitable_product(method):
    """B (5/day, no stock) makes all P2 needs (5/day, profit 1); A (5/day) supplies P1 (5/day,
    profit 3), B being its alternative. With A down 4 days, B serves P1 and P2 goes short: 20
    units or 20 of profit lost (not 60). B's shipments to P2 lie outside A's downstream part: the
    local program must give them up, which only the certificate can find."""
    net = risk_network(["P1", "P2", "A", "B"], [5.0] * 4, [0.0] * 4, [5.0, 5.0, 0.0, 0.0], [4.0] * 4,
                       [2, 3, 3], [0, 0, 1], [0, 0, 0], [1.0, 1.0, 1.0], profit=[3.0, 1.0, 0.0, 0.0])  # fmt: skip
    assert RiskModel(net, method=method).performance_impact([2], 4.0) == pytest.approx(20.0)
    profit = RiskModel(net, measure="profit", method=method)
    assert profit.performance_impact([2], 4.0) == pytest.approx(20.0) and profit.time_to_survive([2]) == pytest.approx(0.0)


tight_networks = st.builds(
    lambda seed: multi_tier_network((3, 6, 8), alternatives=(1, 3), slack=(0.0, 0.1), inventory_days=(0.0, 2.0), seed=seed),
    st.integers(0, 10_000),
)


@settings(max_examples=60, deadline=None)
@given(tight_networks, st.lists(st.integers(0, 16), min_size=0, max_size=3), st.floats(0.5, 20))
def test_local_programs_equal_the_whole_programs(net, nodes, days):
    """The restricted programs give the whole programs' optimum (the certificate is exact), on
    networks with little spare capacity, where suppliers outside the downstream part are scarce."""
    disrupted = sorted({node % net.n_nodes for node in nodes})
    local, whole = RiskModel(net), RiskModel(net, method="whole")
    assert local.method == "local"
    pi = whole.performance_impact(disrupted, days)
    assert local.performance_impact(disrupted, days) == pytest.approx(pi, rel=1e-6, abs=1e-6 * net.demand.sum())
    tts = whole.time_to_survive(disrupted)
    assert local.time_to_survive(disrupted) == pytest.approx(tts, rel=1e-6, abs=1e-7)


def compiled(nodes: int, seed: int = 1, **assumptions):
    tm = synthetic_map(nodes, seed=seed)
    return firm_risk_network(firms_from_map(tm, build_propagator(tm).supply).network, **assumptions)


@pytest.mark.parametrize("measure", ["units", "profit"])
def test_local_sweep_equals_whole_sweep_on_a_compiled_map(measure):
    """Every firm of a compiled 40-node map: the same PI, TTS and flags by both methods,
    while the local programs are far smaller than the whole ones."""
    net = compiled(40, spare_capacity=0.05, inventory_days=5.0, ttr_days=12.0)
    local, whole = risk_table(net, measure=measure), risk_table(net, measure=measure, method="whole")
    np.testing.assert_allclose(local.pi, whole.pi, rtol=1e-6, atol=1e-9 * np.nanmax(whole.pi))
    np.testing.assert_allclose(local.tts_days, whole.tts_days, rtol=1e-6, atol=1e-7)
    assert np.array_equal(local.critical, whole.critical) and local.critical.any() and (local.pi > 0).any()
    assert local.work.columns < 0.5 * whole.work.columns


def test_sweep_cost_grows_with_the_network_not_its_square():
    """docs/risk.md: a node's programs cover its downstream part (in these maps about the same
    size whatever the map's size), so columns per node stay flat from a 400- to a 1,600-node map
    (4x the firms) while a whole program grows 4x. Counted columns, not seconds."""
    per_node, whole_columns = [], []
    for nodes in (400, 1600):
        net = compiled(nodes)
        sample = np.arange(0, net.n_nodes, 40)  # every 40th firm: all stages
        table = risk_table(net, nodes=sample)
        assert table.method == "local"
        per_node.append(table.work.columns / sample.size)
        whole_columns.append(net.n_nodes + net.n_edges + net.products.size)
    assert whole_columns[1] > 3.5 * whole_columns[0]
    assert per_node[1] < 1.6 * per_node[0]
    assert per_node[1] < 0.1 * whole_columns[1]
