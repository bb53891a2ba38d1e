"""TTR / TTS / REI: hand-solved networks and properties of the programs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreatlas.analysis.risk import RiskModel, risk_table
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.model.risknet import risk_network


def chain(alternative: bool = False):
    """Raw A (20/day, no stock) -> product P (20/day, 30 in stock, demand 10/day), 1 unit of A per P.
    With ``alternative``, B (20/day) can supply the same material."""
    ids = ["P", "A", "B"] if alternative else ["P", "A"]
    n = len(ids)
    src, dst = ([1, 2], [0, 0]) if alternative else ([1], [0])
    return risk_network(
        ids, [20.0] * n, [30.0] + [0.0] * (n - 1), [10.0] + [0.0] * (n - 1), [5.0] * n, src, dst, [0] * len(src), [1.0] * len(src)
    )


def test_chain_by_hand():
    """Without A, P lives 3 days on its 30 units; down 5 days it misses 10 x 5 - 30 = 20."""
    model = RiskModel(chain())
    assert model.time_to_survive([1]) == pytest.approx(3.0)
    assert model.performance_impact([1], 5.0) == pytest.approx(20.0)
    assert model.performance_impact([1], 2.0) == pytest.approx(0.0)  # TTR <= TTS: no loss
    assert model.time_to_survive([0]) == pytest.approx(3.0)  # P itself down: its stock only
    assert model.time_to_survive([]) == float("inf")


def test_alternative_supplier_by_hand():
    model = RiskModel(chain(alternative=True))
    assert model.performance_impact([1], 5.0) == 0.0
    assert model.time_to_survive([1]) == float("inf")
    assert model.performance_impact([1, 2], 5.0) == pytest.approx(20.0)


def test_bill_of_materials_and_upstream_stock():
    """P needs 2 units of A per unit; A is down but holds 8 units: P can make 4 more.
    Demand 10/day for 5 days = 50; P's stock 30 + 4 made = 34; lost 16. TTS = 3 + 0.4."""
    net = risk_network(["P", "A"], [20.0, 20.0], [30.0, 8.0], [10.0, 0.0], [5.0, 5.0], [1], [0], [0], [2.0])
    model = RiskModel(net)
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


def test_risk_table_rei_and_flags():
    table = risk_table(chain())
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
