"""Technology maps compiled into firm networks: structure, baseline and the static limit."""

from __future__ import annotations

import numpy as np
import pytest

from coreatlas.analysis.dynamics import DynamicsParams, run
from coreatlas.analysis.firm_compile import ANY_REGION, firms_from_map, map_capacity_loss
from coreatlas.analysis.propagate import Propagator
from coreatlas.io import datasets
from coreatlas.model.firms import Shocks
from coreatlas.model.scenario import Scenario
from maps import make_map


def compile_map(tm, input_share=0.5):
    prop = Propagator(tm)
    return prop, firms_from_map(tm, prop.supply, input_share)


def small_map():
    """chip uses fab (TWN 60%, USA 40%) and design (USA); fab uses tool (no provider data)."""
    return make_map(
        provision=[("fab", "TWN", 0.6), ("fab", "USA", 0.4), ("design", "USA", 1.0)],
        relations=[("chip", "uses", "fab"), ("chip", "uses", "design"), ("fab", "uses", "tool")],
    )


def test_firms_volumes_and_flows_by_hand():
    """chip is the final product (1 a day) with two inputs: 0.25 each of fab and design;
    fab buys 0.5 x 0.25 of tool (its only input). chip and tool have no providers: one firm each."""
    _, compiled = compile_map(small_map())
    net = compiled.network
    output = dict(zip(net.firm_ids.tolist(), net.baseline_output, strict=True))
    assert output["chip|(any)"] == pytest.approx(1.0)
    assert output["fab|TWN"] == pytest.approx(0.6 * 0.25) and output["fab|USA"] == pytest.approx(0.4 * 0.25)
    assert output["design|USA"] == pytest.approx(0.25)
    assert output["tool|(any)"] == pytest.approx(0.5 * 0.25)  # fab spends half its 0.25 on its one input
    assert net.region_names[net.region[list(net.firm_ids).index("tool|(any)")]] == ANY_REGION
    assert net.final_demand.sum() == pytest.approx(1.0)
    assert net.value_added_ratio.min() == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["chips", "telecom-ran", "sequencing", "quantum", "materials", "materials+chips+telecom-ran"])
def test_builtin_maps_compile_to_a_steady_baseline(name):
    _, compiled = compile_map(datasets.load(name))
    totals = run(compiled.network, None, 20, DynamicsParams(rationing="priority")).to_frame()
    np.testing.assert_allclose(totals["production"], totals["production"].iloc[0], rtol=1e-12)
    assert compiled.network.n_firms >= 20


def test_scenario_becomes_capacity_loss_per_firm():
    prop, compiled = compile_map(small_map())
    loss = map_capacity_loss(compiled, prop.run_evaluation([Scenario(remove_countries=("TWN",))]).atom_factor[:, 0])
    lost = {fid for fid, x in zip(compiled.network.firm_ids, loss, strict=True) if x > 0}
    assert lost == {"fab|TWN"}
    assert loss.max() == 1.0


def test_long_run_output_meets_the_static_result():
    """Taiwan out for good: once stocks are spent the chip runs at what the static engine
    says is available (40%), with no loss beyond it (inputs of one node substitute)."""
    prop, compiled = compile_map(small_map())
    scenario = Scenario(remove_countries=("TWN",))
    evaluation = prop.run_evaluation([scenario])
    static_chip = evaluation.available[list(prop.supply.node_ids).index("chip"), 0]
    loss = map_capacity_loss(compiled, evaluation.atom_factor[:, 0])
    hit = np.flatnonzero(loss > 0)
    net = compiled.network
    result = run(net, Shocks.of(hit, loss[hit]), 300, DynamicsParams())
    names, produced = result.series["production_by_sector"]
    chip = produced[:, list(names).index("chip")]
    assert static_chip == pytest.approx(0.4)
    assert chip[-1] == pytest.approx(0.4, rel=1e-3)
    assert chip.min() >= 0.4 - 1e-9  # inventories never make it worse than the static limit here


def test_variants_share_one_sector():
    tm = make_map(
        provision=[("euv", "NLD", 1.0), ("duv", "JPN", 0.6), ("duv", "NLD", 0.4)],
        relations=[("euv", "variant_of", "litho"), ("duv", "variant_of", "litho"), ("fab", "uses", "litho")],
    )
    _, compiled = compile_map(tm)
    net = compiled.network
    sector = {fid: net.sector_names[s] for fid, s in zip(net.firm_ids, net.sector, strict=True)}
    assert sector["euv|NLD"] == sector["duv|JPN"] == sector["duv|NLD"] == "variants:litho"
    assert sector["fab|(any)"] == "fab"
