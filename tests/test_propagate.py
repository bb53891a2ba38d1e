"""Scenario propagation on tiny maps, each checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coreatlas.analysis.propagate import build_propagator, run_scenario, run_scenarios
from coreatlas.analysis.supply import UNATTRIBUTED
from coreatlas.errors import ScenarioError
from coreatlas.model.scenario import ExportControl, Scenario
from maps import firm, make_map

approx = pytest.approx


def avail(tm, scenario, **kw) -> dict[str, float]:
    return {r["node_id"]: r["available"] for r in run_scenario(tm, scenario, **kw).records}


def direct(tm, scenario, **kw) -> dict[str, float]:
    return {r["node_id"]: r["direct"] for r in run_scenario(tm, scenario, **kw).records}


@pytest.fixture
def abc():
    # a: USA 0.5, JPN 0.3, KOR 0.2
    return make_map(provision=[("a", "USA", 0.5), ("a", "JPN", 0.3), ("a", "KOR", 0.2)])


@pytest.fixture
def chain():
    # wafer (material): JPN 0.6, CHN 0.4
    # litho (tool):     NLD 0.9, JPN 0.1
    # fab uses wafer and litho; fab's own provider: TWN 1.0
    # chip (output) uses fab; no providers of its own
    return make_map(
        nodes=[("wafer", "material"), ("litho", "tool"), ("fab", "process"), ("chip", "output")],
        provision=[("wafer", "JPN", 0.6), ("wafer", "CHN", 0.4), ("litho", "NLD", 0.9), ("litho", "JPN", 0.1), ("fab", "TWN", 1.0)],
        relations=[("fab", "uses", "wafer"), ("fab", "uses", "litho"), ("chip", "uses", "fab")],
    )


# ---- direct availability ----------------------------------------------------------------


def test_direct_after_removing_a_country(abc):
    # remove JPN: 0.5 + 0.2 = 0.7 of the baseline 1.0
    assert direct(abc, Scenario(remove_countries=("JPN",)))["a"] == approx(0.7)
    assert avail(abc, Scenario(remove_countries=("JPN",)))["a"] == approx(0.7)
    # remove USA and KOR: 0.3
    assert avail(abc, Scenario(remove_countries=("USA", "KOR")))["a"] == approx(0.3)


def test_direct_is_relative_to_listed_supply():
    # a: USA 0.4, JPN 0.4 and 0.2 unattributed; remove JPN -> (0.4 + 0.2) / 1.0 = 0.6
    tm = make_map(provision=[("a", "USA", 0.4), ("a", "JPN", 0.4)])
    assert avail(tm, Scenario(remove_countries=("JPN",)))["a"] == approx(0.6)


def test_no_change_gives_one(chain):
    result = run_scenario(chain, Scenario())
    assert all(r["direct"] == 1.0 and r["available"] == 1.0 for r in result.records)
    assert all(r["binding"] == [] for r in result.records)


def test_node_without_providers_has_direct_one(chain):
    # chip has no providers of its own: direct 1 even when its input is cut
    d = direct(chain, Scenario(remove_countries=("TWN",)))
    assert d["chip"] == 1.0
    assert d["fab"] == 0.0


# ---- Leontief min over inputs -----------------------------------------------------------


def test_leontief_min_two_levels(chain):
    # remove JPN: wafer 0.4, litho 0.9; fab = min(1, 0.4, 0.9) = 0.4; chip = min(1, 0.4) = 0.4
    a = avail(chain, Scenario(remove_countries=("JPN",)))
    assert a == approx({"wafer": 0.4, "litho": 0.9, "fab": 0.4, "chip": 0.4})
    d = direct(chain, Scenario(remove_countries=("JPN",)))
    assert d == approx({"wafer": 0.4, "litho": 0.9, "fab": 1.0, "chip": 1.0})


def test_leontief_scarcest_input_binds(chain):
    # remove NLD: wafer 1.0, litho 0.1 -> fab 0.1 -> chip 0.1
    a = avail(chain, Scenario(remove_countries=("NLD",)))
    assert a == approx({"wafer": 1.0, "litho": 0.1, "fab": 0.1, "chip": 0.1})


def test_own_providers_can_bind_below_inputs(chain):
    # TWN at 0.2 and JPN removed: fab = min(0.2, 0.4, 0.9) = 0.2; chip 0.2
    a = avail(chain, Scenario(remove_countries=("JPN",), capacity={"TWN": 0.2}))
    assert a["fab"] == approx(0.2)
    assert a["chip"] == approx(0.2)


def test_partial_capacity(chain):
    # JPN at 0.3: wafer = 0.6*0.3 + 0.4 = 0.58; litho = 0.9 + 0.1*0.3 = 0.93
    # fab = min(1, 0.58, 0.93) = 0.58; chip 0.58
    a = avail(chain, Scenario(capacity={"JPN": 0.3}))
    assert a == approx({"wafer": 0.58, "litho": 0.93, "fab": 0.58, "chip": 0.58})


def test_capacity_out_of_range_is_rejected():
    with pytest.raises(ScenarioError, match="expected a fraction in"):
        Scenario(capacity={"TWN": 1.5})


# ---- firms ------------------------------------------------------------------------------


@pytest.fixture
def firm_map():
    # f: TWN 0.6 with tsmc (TWN) 0.5 inside it, KOR 0.4
    # atoms: tsmc 0.5, TWN rest 0.1, KOR 0.4
    return make_map(
        providers=[firm("tsmc", "TWN")],
        provision=[("f", "TWN", 0.6), ("f", "KOR", 0.4), ("f", "tsmc", 0.5)],
    )


def test_firm_removal_splits_country_share(firm_map):
    # remove tsmc: 0.1 + 0.4 = 0.5
    assert avail(firm_map, Scenario(remove_firms=("tsmc",)))["f"] == approx(0.5)
    # remove TWN: tsmc and TWN's rest go: 0.4
    assert avail(firm_map, Scenario(remove_countries=("TWN",)))["f"] == approx(0.4)
    # tsmc at half capacity: 0.25 + 0.1 + 0.4 = 0.75
    assert avail(firm_map, Scenario(capacity={"tsmc": 0.5}))["f"] == approx(0.75)
    # unknown firm id: an error (issue 12: it used to change nothing, silently)
    with pytest.raises(ScenarioError, match="unknown firm 'nobody'"):
        avail(firm_map, Scenario(remove_firms=("nobody",)))


def test_firm_only_node_by_site():
    # h: intel (HQ USA, site IRL) 0.6, tsmc (TWN) 0.4
    # hq: remove USA -> 0.4; site: remove USA -> 1.0, remove IRL -> 0.4
    tm = make_map(
        providers=[firm("intel", "USA", "IRL"), firm("tsmc", "TWN")],
        provision=[("h", "intel", 0.6), ("h", "tsmc", 0.4)],
    )
    assert avail(tm, Scenario(remove_countries=("USA",)))["h"] == approx(0.4)
    assert avail(tm, Scenario(remove_countries=("USA",)), attribution="site")["h"] == approx(1.0)
    assert avail(tm, Scenario(remove_countries=("IRL",)), attribution="site")["h"] == approx(0.4)


# ---- blocs and export controls ----------------------------------------------------------


def test_only_bloc(abc):
    # only USA and JPN remain: 0.5 + 0.3 = 0.8
    assert avail(abc, Scenario(only_bloc=("USA", "JPN")))["a"] == approx(0.8)
    assert avail(abc, Scenario(only_bloc=("KOR",)))["a"] == approx(0.2)


def test_only_bloc_drops_residual_and_unattributed():
    # b: USA 0.6, various_countries 0.2, 0.2 unattributed -> only USA: 0.6
    tm = make_map(provision=[("b", "USA", 0.6), ("b", "various_countries", 0.2)])
    result = run_scenario(tm, Scenario(only_bloc=("USA",)))
    assert result.records[0]["available"] == approx(0.6)
    assert any("residual shares" in w for w in result.warnings)


def test_export_control(abc):
    # USA and JPN deny supply to CHN: CHN keeps KOR's 0.2
    ec = ExportControl(denied_by=("USA", "JPN"), target="CHN")
    assert avail(abc, Scenario(export_control=ec))["a"] == approx(0.2)


def test_export_control_target_keeps_its_own_supply():
    # a: CHN 0.4, USA 0.6; USA and CHN "deny" CHN: CHN's own 0.4 stays
    tm = make_map(provision=[("a", "CHN", 0.4), ("a", "USA", 0.6)])
    ec = ExportControl(denied_by=("USA", "CHN"), target="CHN")
    assert avail(tm, Scenario(export_control=ec))["a"] == approx(0.4)


def test_export_control_propagates(chain):
    # JPN and NLD deny CHN: wafer 0.4 (CHN), litho 0 -> fab 0 -> chip 0
    ec = ExportControl(denied_by=("JPN", "NLD"), target="CHN")
    a = avail(chain, Scenario(export_control=ec))
    assert a == approx({"wafer": 0.4, "litho": 0.0, "fab": 0.0, "chip": 0.0})


# ---- regions ----------------------------------------------------------------------------


@pytest.fixture
def eur_map():
    # e: EUR 0.5 (DEU;FRA;NLD), USA 0.5
    return make_map(providers=["DEU", "FRA", "NLD"], provision=[("e", "EUR", 0.5), ("e", "USA", 0.5)])


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (Scenario(remove_countries=("DEU",)), 1.0),  # FRA, NLD remain: EUR keeps max = 1
        (Scenario(remove_countries=("DEU", "FRA")), 1.0),
        (Scenario(remove_countries=("DEU", "FRA", "NLD")), 0.5),  # all members gone
        (Scenario(remove_countries=("EUR",)), 0.5),  # named itself
        (Scenario(capacity={"DEU": 0.3, "FRA": 0.3, "NLD": 0.5}), 0.75),  # largest = 0.5 -> 0.25 + 0.5
        (Scenario(capacity={"EUR": 0.4}), 0.7),  # named: 0.2 + 0.5
        (Scenario(only_bloc=("USA", "DEU")), 0.5),  # EUR inside only if all members
        (Scenario(only_bloc=("USA", "DEU", "FRA", "NLD")), 1.0),
        (Scenario(only_bloc=("EUR",)), 0.5),
        (Scenario(export_control=ExportControl(("DEU",), "CHN")), 1.0),
        (Scenario(export_control=ExportControl(("DEU", "FRA", "NLD"), "CHN")), 0.5),
    ],
)
def test_region_lost_only_when_all_members_are(eur_map, scenario, expected):
    assert avail(eur_map, scenario)["e"] == approx(expected)


def test_naming_a_region_never_restores_it(eur_map):
    # All members removed -> EUR lost: availability 0.5.  Adding a capacity cut on EUR
    # itself is a *bigger* shock, so availability must not rise above 0.5 (the module
    # docstring: "monotone in the shock").
    members_gone = Scenario(remove_countries=("DEU", "FRA", "NLD"))
    also_cut = Scenario(remove_countries=("DEU", "FRA", "NLD"), capacity={"EUR": 0.5})
    assert avail(eur_map, members_gone)["e"] == approx(0.5)
    assert avail(eur_map, also_cut)["e"] <= 0.5 + 1e-9


def test_region_warning_under_bloc(eur_map):
    result = run_scenario(eur_map, Scenario(only_bloc=("USA",)))
    assert any(w.startswith("EUR is a region") and "all 3 members" in w for w in result.warnings)


def test_warning_for_country_that_provides_nothing(abc):
    result = run_scenario(abc, Scenario(remove_countries=("BRA",)))
    assert result.warnings == ("BRA provides nothing in this map",)
    assert result.records[0]["available"] == 1.0


# ---- variants ---------------------------------------------------------------------------


def variant_map(size1=3.0, size2=1.0):
    # p (output) has no providers; v1 (size1): USA 1.0; v2 (size2): JPN 1.0
    return make_map(
        nodes=[("p", "output"), ("v1", "process", size1), ("v2", "process", size2)],
        provision=[("v1", "USA", 1.0), ("v2", "JPN", 1.0)],
        relations=[("v1", "variant_of", "p"), ("v2", "variant_of", "p")],
    )


def test_variants_pool_is_size_weighted_mean():
    # remove JPN: v1 1, v2 0; pool = 3/4 * 1 + 1/4 * 0 = 0.75
    assert avail(variant_map(), Scenario(remove_countries=("JPN",)), variants="pool")["p"] == approx(0.75)
    # remove USA: 1/4
    assert avail(variant_map(), Scenario(remove_countries=("USA",)), variants="pool")["p"] == approx(0.25)


def test_variants_all_is_min():
    # remove JPN: min(1, 0) = 0
    assert avail(variant_map(), Scenario(remove_countries=("JPN",)), variants="all")["p"] == approx(0.0)
    # JPN at 0.6: min(1, 0.6) = 0.6 ; pool: 0.75 + 0.25*0.6 = 0.9
    assert avail(variant_map(), Scenario(capacity={"JPN": 0.6}), variants="all")["p"] == approx(0.6)
    assert avail(variant_map(), Scenario(capacity={"JPN": 0.6}), variants="pool")["p"] == approx(0.9)


def test_variants_pool_equal_weights_when_size_unknown():
    # v2 has no size -> weights 1/2: remove JPN -> 0.5
    assert avail(variant_map(size2=None), Scenario(remove_countries=("JPN",)))["p"] == approx(0.5)


def test_variant_parent_with_own_providers_takes_min():
    # p: CHN 1.0 (own); variants v1 (3) USA, v2 (1) JPN.
    # remove CHN: d_p = 0 -> 0.  remove JPN: min(1, 0.75) = 0.75
    tm = make_map(
        nodes=["p", ("v1", "process", 3.0), ("v2", "process", 1.0)],
        provision=[("p", "CHN", 1.0), ("v1", "USA", 1.0), ("v2", "JPN", 1.0)],
        relations=[("v1", "variant_of", "p"), ("v2", "variant_of", "p")],
    )
    assert avail(tm, Scenario(remove_countries=("CHN",)))["p"] == approx(0.0)
    assert avail(tm, Scenario(remove_countries=("JPN",)))["p"] == approx(0.75)


def test_unknown_variant_rule():
    with pytest.raises(ValueError, match="variants must be one of"):
        build_propagator(variant_map(), variants="any")


# ---- binding paths ----------------------------------------------------------------------


def test_binding_path_back_to_the_cut(chain):
    # remove JPN: chip 0.4 <- fab 0.4 <- wafer 0.4 (direct = available: JPN's 0.6 lost)
    result = run_scenario(chain, Scenario(remove_countries=("JPN",)))
    chip = next(r for r in result.outputs())
    assert [step["node_id"] for step in chip["binding"]] == ["chip", "fab", "wafer"]
    assert [step["available"] for step in chip["binding"]] == approx([0.4, 0.4, 0.4])
    last = chip["binding"][-1]
    assert last["lost_providers"] == [{"provider": "JPN", "provider_name": "JPN", "country": "JPN", "share_lost": approx(0.6)}]
    assert "lost_providers" not in chip["binding"][0]
    frame = result.to_frame()
    assert frame.set_index("node_id").at["chip", "binding"] == "chip <- fab <- wafer"
    assert frame.set_index("node_id").at["fab", "binding"] == ""  # only outputs get a path


def test_binding_path_partial_cut_and_firm(firm_map):
    # out uses f; tsmc at 0.4: f = 0.5*0.4 + 0.1 + 0.4 = 0.7; lost share of tsmc = 0.5*0.6 = 0.3
    tm = make_map(
        nodes=["f", ("out", "output")],
        providers=[firm("tsmc", "TWN")],
        provision=[("f", "TWN", 0.6), ("f", "KOR", 0.4), ("f", "tsmc", 0.5)],
        relations=[("out", "uses", "f")],
    )
    out = run_scenario(tm, Scenario(capacity={"tsmc": 0.4})).outputs()[0]
    assert out["available"] == approx(0.7)
    assert [s["node_id"] for s in out["binding"]] == ["out", "f"]
    lost = out["binding"][-1]["lost_providers"]
    assert lost == [{"provider": "tsmc", "provider_name": "TSMC", "country": "TWN", "share_lost": approx(0.3)}]


def test_binding_path_lost_providers_sorted(abc):
    # out uses a; remove USA and KOR: lost USA 0.5, KOR 0.2 (largest first)
    tm = make_map(
        nodes=["a", ("out", "output")],
        provision=[("a", "USA", 0.5), ("a", "JPN", 0.3), ("a", "KOR", 0.2)],
        relations=[("out", "uses", "a")],
    )
    out = run_scenario(tm, Scenario(remove_countries=("KOR", "USA"))).outputs()[0]
    lost = out["binding"][-1]["lost_providers"]
    assert [(d["provider"], d["share_lost"]) for d in lost] == [("USA", approx(0.5)), ("KOR", approx(0.2))]


def test_binding_path_through_variant():
    # remove JPN, variants "all": p = 0 <- v2 (JPN lost)
    result = run_scenario(variant_map(), Scenario(remove_countries=("JPN",)), variants="all")
    p = result.outputs()[0]
    assert [s["node_id"] for s in p["binding"]] == ["p", "v2"]
    assert p["binding"][-1]["lost_providers"][0]["share_lost"] == approx(1.0)


def test_binding_empty_when_output_untouched(chain):
    out = run_scenario(chain, Scenario(remove_countries=("KOR",))).outputs()[0]
    assert out["available"] == 1.0
    assert out["binding"] == []


def test_estimated_flag_when_a_qualitative_provider_is_cut():
    # a: USA 0.6 (figure), JPN qualitative (gets the estimated rest 0.4)
    # remove JPN -> 0.6, marked estimated; remove USA -> 0.4, not estimated
    tm = make_map(provision=[("a", "USA", 0.6), ("a", "JPN")])
    r = run_scenario(tm, Scenario(remove_countries=("JPN",))).records[0]
    assert r["available"] == approx(0.6)
    assert r["estimated"] is True
    r = run_scenario(tm, Scenario(remove_countries=("USA",))).records[0]
    assert r["available"] == approx(0.4)
    assert r["estimated"] is False


def test_qualitative_firm_gets_the_rest_where_only_firms_have_figures():
    # f: tsmc (TWN) 0.6 with a figure; samsung (KOR) a major provider with no figure.
    # supply.py: the unassigned 1 - 0.6 = 0.4 goes to the node's qualitative providers
    # "at the most aggregate level given" -- here only firms are given, so samsung gets
    # 0.4 (estimated).  Remove KOR (or samsung): 0.6 remains, marked estimated.
    tm = make_map(
        providers=[firm("tsmc", "TWN"), firm("samsung", "KOR")],
        provision=[("f", "tsmc", 0.6), ("f", "samsung")],
    )
    for scenario in (Scenario(remove_countries=("KOR",)), Scenario(remove_firms=("samsung",))):
        r = run_scenario(tm, scenario).records[0]
        assert r["available"] == approx(0.6), scenario.summary()
        assert r["estimated"] is True


def test_qualitative_firm_inside_a_country_figure_gets_nothing_more():
    # f: TWN 0.6 and KOR 0.4 with figures; tsmc (TWN) listed without figure: nothing is
    # unassigned, so removing tsmc changes nothing; removing TWN leaves 0.4
    tm = make_map(
        providers=[firm("tsmc", "TWN")],
        provision=[("f", "TWN", 0.6), ("f", "KOR", 0.4), ("f", "tsmc")],
    )
    assert avail(tm, Scenario(remove_firms=("tsmc",)))["f"] == approx(1.0)
    assert avail(tm, Scenario(remove_countries=("TWN",)))["f"] == approx(0.4)


def test_unattributed_rest_is_never_cut_by_removal():
    # a: USA 0.6 only -> 0.4 unattributed; removing every named country leaves 0.4
    tm = make_map(provision=[("a", "USA", 0.6)])
    assert avail(tm, Scenario(remove_countries=("USA",)))["a"] == approx(0.4)
    assert avail(tm, Scenario(only_bloc=("USA", UNATTRIBUTED)))["a"] == approx(1.0)


def test_mixed_uses_variant_cycle_is_rejected_or_respected():
    # a uses b, and a is a variant of b: each relation type alone is acyclic (the documented
    # rule), but together a needs b and b needs a.  Either validation must reject this map,
    # or propagation must still honour x_a <= x_b ("a uses b": a is limited by b).
    # Remove JPN: b = 0, so a (which uses b) must be 0 and c (uses a) must be 0.
    from coreatlas.model.validate import validate

    tm = make_map(
        nodes=["a", "b", ("c", "output")],
        provision=[("a", "USA", 1.0), ("b", "JPN", 1.0)],
        relations=[("a", "uses", "b"), ("a", "variant_of", "b"), ("c", "uses", "a")],
    )
    if any(p.severity == "error" for p in validate(tm)):
        return
    a = avail(tm, Scenario(remove_countries=("JPN",)))
    assert a["b"] == 0.0
    assert a["a"] <= a["b"]
    assert a["c"] <= a["a"]


# ---- batches ----------------------------------------------------------------------------


def test_run_scenarios_matches_one_by_one(chain):
    scenarios = [
        Scenario(name="none"),
        Scenario(name="no_jpn", remove_countries=("JPN",)),
        Scenario(name="nld_half", capacity={"NLD": 0.5}),
        Scenario(name="allies", only_bloc=("JPN", "NLD", "TWN")),
        Scenario(name="ec", export_control=ExportControl(("JPN",), "CHN")),
    ]
    for variants in ("pool", "all"):
        batch = run_scenarios(chain, scenarios, variants=variants)
        assert list(batch.columns) == [s.name for s in scenarios]
        assert list(batch.index) == ["wafer", "litho", "fab", "chip"]
        for s in scenarios:
            one = pd.Series(avail(chain, s, variants=variants))
            np.testing.assert_allclose(batch[s.name].to_numpy(), one[batch.index].to_numpy())
    # spot check against hand values: nld_half: litho 0.45 + 0.1 = 0.55 -> fab, chip 0.55
    assert batch.at["chip", "nld_half"] == approx(0.55)
    # allies: wafer loses CHN -> 0.6; litho 1; fab 0.6
    assert batch.at["fab", "allies"] == approx(0.6)


def test_run_scenarios_empty_list(chain):
    frame = run_scenarios(chain, [])
    assert frame.shape == (4, 0)
