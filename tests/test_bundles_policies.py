"""Bundles (proprietary vs open networks), node-specific exclusions, policies, ranges,
combining datasets and indicators, on tiny maps worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreatlas.analysis.exposure import exposure
from coreatlas.analysis.propagate import run_scenario
from coreatlas.errors import NotFoundError, ValidationError
from coreatlas.model.combine import combine
from coreatlas.model.policy import get_policy, policy_scenario, third_country_exposure
from coreatlas.model.scenario import Exclusion, Scenario
from coreatlas.model.validate import validate
from coreatlas.services.indicators import indicator_report
from coreatlas.services.policy import open_ran_comparison
from maps import firm, make_map

VENDORS = [firm("a", "USA"), firm("b", "CHN")]


def ran_map(extra_relations=(), extra_provision=(), annex=None):
    """RU and DU each from vendors a (60%) and b (40%); P bundles them, O uses them."""
    provision = [(n, v, s) for n in ("ru", "du", "p") for v, s in (("a", 0.6), ("b", 0.4))]
    relations = [("p", "bundles", "ru"), ("p", "bundles", "du"), ("o", "uses", "ru"), ("o", "uses", "du"), *extra_relations]
    nodes = [("p", "output"), ("o", "output"), "ru", "du", *({r[2] for r in extra_relations} - {"ru", "du"})]
    return make_map(nodes=nodes, providers=VENDORS, provision=[*provision, *extra_provision], relations=relations, annex=annex)


def outputs(tm, scenario):
    result = run_scenario(tm, scenario)
    return {r["node_id"]: r["available"] for r in result.records if r["node_id"] in ("p", "o")}


def test_untouched_bundle_is_whole():
    assert outputs(ran_map(), Scenario()) == {"p": 1.0, "o": 1.0}


def test_vendor_banned_everywhere_costs_both_networks_its_share():
    got = outputs(ran_map(), Scenario(remove_firms=("b",)))
    assert got == pytest.approx({"p": 0.6, "o": 0.6})


def test_ban_at_different_components_breaks_every_stack_but_not_the_open_network():
    # a is excluded from RUs, b from DUs: no vendor can build a whole stack (P = 0), while
    # the open network pairs b's RUs (40%) with a's DUs (60%): O = min(0.4, 0.6) = 0.4
    scenario = Scenario(exclusions=(Exclusion(("a",), ("ru",)), Exclusion(("b",), ("du",))))
    assert outputs(ran_map(), scenario) == pytest.approx({"p": 0.0, "o": 0.4})


def test_exclusion_at_one_node_leaves_the_others():
    result = run_scenario(ran_map(), Scenario(exclusions=(Exclusion(("b",), ("du",)),)))
    by_node = {r["node_id"]: r for r in result.records}
    assert by_node["ru"]["available"] == 1.0
    assert by_node["du"]["available"] == pytest.approx(0.6)
    assert by_node["p"]["available"] == pytest.approx(0.6)  # b's stacks lack a DU


def test_partial_capacity_of_a_vendor_scales_its_stacks():
    # a at half capacity: P = 0.6 * 0.5 + 0.4 = 0.7; O = min(0.7, 0.7)
    assert outputs(ran_map(), Scenario(capacity={"a": 0.5})) == pytest.approx({"p": 0.7, "o": 0.7})


def test_an_input_of_a_component_limits_every_stack():
    # RUs need gallium: JPN 50%, KOR 50%; without KOR every stack is held to 50%
    tm = ran_map(extra_relations=[("ru", "uses", "ga")], extra_provision=[("ga", "JPN", 0.5), ("ga", "KOR", 0.5)])
    assert outputs(tm, Scenario(remove_countries=("KOR",))) == pytest.approx({"p": 0.5, "o": 0.5})


def test_input_shortage_and_vendor_loss_bind_as_a_minimum():
    # inputs are fungible across vendors: without b (40%) and with half the gallium,
    # the bundle keeps min(0.6, 0.5), as the open network does
    tm = ran_map(extra_relations=[("ru", "uses", "ga")], extra_provision=[("ga", "JPN", 0.5), ("ga", "KOR", 0.5)])
    assert outputs(tm, Scenario(remove_countries=("KOR",), remove_firms=("b",))) == pytest.approx({"p": 0.5, "o": 0.5})


def test_binding_path_of_a_bundle_names_the_vendor_whose_stack_broke():
    result = run_scenario(ran_map(), Scenario(exclusions=(Exclusion(("b",), ("du",)),)))
    (p,) = [r for r in result.outputs() if r["node_id"] == "p"]
    assert p["binding"][0]["lost_providers"][0]["provider"] == "b"
    assert p["binding"][0]["lost_providers"][0]["share_lost"] == pytest.approx(0.4)


@settings(max_examples=60, deadline=None)
@given(
    shares=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5),
    cuts=st.lists(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=3, max_size=3), min_size=5, max_size=5),
)
def test_open_network_never_keeps_less_than_the_proprietary_one(shares, cuts):
    """min_c sum_v s_v e_vc >= sum_v s_v min_c e_vc for one vendor mix and any per-component cut."""
    total = sum(shares)
    vendors = [firm(f"v{i}", "USA") for i in range(len(shares))]
    parts = ("ru", "du", "cu")
    provision = [(n, f"v{i}", s / total) for n in (*parts, "p") for i, s in enumerate(shares)]
    relations = [("p", "bundles", c) for c in parts] + [("o", "uses", c) for c in parts]
    tm = make_map(nodes=[("p", "output"), ("o", "output"), *parts], providers=vendors, provision=provision, relations=relations)
    exclusions = tuple(Exclusion((f"v{i}",), (parts[j],)) for i in range(len(shares)) for j in range(3) if cuts[i][j] == 0.0)
    got = outputs(tm, Scenario(exclusions=exclusions))
    assert got["o"] >= got["p"] - 1e-12
    assert 0.0 <= got["p"] <= 1.0


def test_validation_warns_when_a_bundle_vendor_lacks_a_component():
    tm = make_map(
        nodes=[("p", "output"), "ru"],
        providers=VENDORS,
        provision=[("p", "a", 0.6), ("p", "b", 0.4), ("ru", "a", 1.0)],
        relations=[("p", "bundles", "ru")],
    )
    (w,) = [p for p in validate(tm) if p.severity == "warning" and "bundle" in p.message]
    assert "'b' has a share of bundle 'p' but does not provide the bundled component 'ru'" in w.message


# ---- policies ---------------------------------------------------------------------------
POLICIES = [
    {"policy_id": "ban_b", "name": "Ban B", "kind": "exclude", "providers": "b;zz", "year": 2021, "source": "s"},
    {"policy_id": "b_out_of_du", "name": "B out of DUs", "kind": "exclude", "providers": "b", "nodes": "du", "year": 2020, "source": "s"},
    {"policy_id": "trusted", "name": "Trusted only", "kind": "trusted_only", "bloc": "core", "year": 2022, "source": "s"},
]
EXPOSURE = [
    {"country": "DEU", "node_id": "p", "providers": "b", "share": 0.59, "share_low": 0.5, "share_high": 0.6, "year": 2022, "source": "s"},
    {"country": "FRA", "node_id": "p", "providers": "a;b", "share": 0.3, "year": 2022, "source": "s"},
]


def policy_map():
    return ran_map(annex={"policies": POLICIES, "country_exposure": EXPOSURE})


def test_exclusion_policy_becomes_a_scenario():
    tm = policy_map()
    assert outputs(tm, policy_scenario(tm, ["ban_b"])) == pytest.approx({"p": 0.6, "o": 0.6})
    assert outputs(tm, policy_scenario(tm, ["b_out_of_du"])) == pytest.approx({"p": 0.6, "o": 0.6})


def test_trusted_only_keeps_the_blocs_vendors():
    tm = policy_map()  # core = USA, JPN: a (USA) stays, b (CHN) goes
    assert outputs(tm, policy_scenario(tm, ["trusted"])) == pytest.approx({"p": 0.6, "o": 0.6})


def test_unknown_policy_is_named():
    with pytest.raises(NotFoundError, match="unknown policy 'nope' in t; known policies: ban_b, b_out_of_du, trusted"):
        policy_scenario(policy_map(), ["nope"])


def test_third_country_capacity_to_replace():
    tm = policy_map()
    rows = third_country_exposure(tm, get_policy(tm, "ban_b")).set_index("country")
    assert rows.loc["DEU", ["to_replace", "to_replace_low", "to_replace_high"]].tolist() == [0.59, 0.5, 0.6]
    # FRA's record lumps a and b together: the split is unknown, so no central figure (issue 12:
    # it used to read 0.0), and the range runs from 0 to the record's share
    assert pd.isna(rows.loc["FRA", "to_replace"]) and rows.loc["FRA", "split"] == "unknown"
    assert rows.loc["FRA", ["to_replace_low", "to_replace_high"]].tolist() == [0.0, 0.3]
    assert rows.loc["DEU", "split"] == "known"


def test_open_ran_comparison_pairs_the_bundle_with_its_open_counterpart():
    rows = open_ran_comparison(policy_map()).to_records()
    assert [(r["scenario"], r["proprietary"], r["open"]) for r in rows] == [("Ban B", "p", "o"), ("B out of DUs", "p", "o")]
    assert rows[0]["proprietary_available"] == pytest.approx(0.6) and rows[0]["open_advantage"] == pytest.approx(0.0)
    assert rows[1]["full_stack_vendors_left"] == 1 and rows[1]["component_vendors_left"] == 1


def test_bad_policy_rows_are_reported_with_their_line():
    bad = [
        {"policy_id": "x", "name": "X", "kind": "exclude", "year": 2021, "source": "s"},
        {"policy_id": "y", "name": "Y", "kind": "ban", "providers": "b", "year": 2021, "source": "s"},
        {"policy_id": "z", "name": "Z", "kind": "exclude", "providers": "b", "nodes": "nowhere", "year": 2021, "source": "s"},
    ]
    problems = [p for p in validate(ran_map(annex={"policies": bad})) if p.table == "policies"]
    assert [(p.line, p.column, p.message) for p in problems] == [
        (3, "kind", "unknown kind 'ban'; expected one of exclude, trusted_only"),
        (2, "providers", "an 'exclude' policy needs provider ids (e.g. huawei;zte)"),
        (4, "nodes", "unknown node id 'nowhere'"),
    ]


# ---- ranges -----------------------------------------------------------------------------
def ranged_map():
    provision = [
        {"node_id": "x", "provider_id": "CHN", "share": 0.6, "share_low": 0.5, "share_high": 0.7},
        ("x", "USA", 0.3),
    ]
    return make_map(nodes=[("x", "output")], provision=provision)


def test_scenario_reports_the_range_over_disagreeing_sources():
    (x,) = run_scenario(ranged_map(), Scenario(remove_countries=("CHN",))).records
    # CHN 60% (50-70%) of a market with USA 30% and 10% unattributed: 40% left (30-50%)
    assert (x["available"], x["available_low"], x["available_high"]) == pytest.approx((0.4, 0.3, 0.5))


def test_exposure_reports_the_top_share_range_and_a_fixed_bloc_share():
    (x,) = exposure(ranged_map(), ("USA",)).records
    assert x["top_country"] == "CHN" and x["top_country_share_range"] == pytest.approx((0.5, 0.7))
    assert x["bloc_share_range"] == pytest.approx((0.3, 0.3))


def test_without_ranges_the_range_is_the_figure():
    tm = make_map(nodes=[("x", "output")], provision=[("x", "CHN", 0.6), ("x", "USA", 0.4)])
    (x,) = run_scenario(tm, Scenario(remove_countries=("CHN",))).records
    assert x["available_low"] == x["available"] == x["available_high"] == pytest.approx(0.4)


# ---- combining ----------------------------------------------------------------------------
def test_combine_merges_a_shared_node_and_applies_links():
    chips = make_map(
        nodes=["litho", "resist"],
        provision=[("resist", "JPN"), ("resist", "USA"), ("litho", "NLD", 1.0)],
        relations=[("litho", "uses", "resist")],
    )
    materials = make_map(
        nodes=["resist", "neon"],
        provision=[("resist", "JPN", 0.7), ("neon", "UKR", 0.5)],
        annex={
            "links": [
                {"node_id": "litho", "relation": "uses", "target_id": "neon"},
                {"node_id": "absent", "relation": "uses", "target_id": "neon"},
            ]
        },
    )
    tm = combine([chips, materials])
    assert sorted(tm.node_ids) == ["litho", "neon", "resist"]
    rows = tm.provision.set_index(["node_id", "provider_id"])["share"]
    assert rows[("resist", "JPN")] == 0.7 and np.isnan(rows[("resist", "USA")])
    assert set(zip(tm.relations["node_id"], tm.relations["target_id"], strict=True)) == {("litho", "resist"), ("litho", "neon")}
    (litho,) = [r for r in run_scenario(tm, Scenario(remove_countries=("UKR",))).records if r["node_id"] == "litho"]
    assert litho["available"] == pytest.approx(0.5)


def test_combine_refuses_two_different_figures_for_one_pair():
    a = make_map(nodes=["n"], provision=[("n", "JPN", 0.7)])
    b = make_map(nodes=["n"], provision=[("n", "JPN", 0.9)])
    with pytest.raises(ValidationError) as info:
        combine([a, b])
    assert "node 'n', provider 'JPN': different shares in the combined datasets (0.7 and 0.9); give one figure" in str(info.value)


def test_combine_refuses_a_node_of_two_kinds():
    a = make_map(nodes=[("n", "material")], provision=[("n", "JPN", 0.7)])
    b = make_map(nodes=[("n", "tool")], provision=[("n", "JPN", 0.7)])
    with pytest.raises(ValidationError, match="node_id 'n' has kind 'material' in t, 'tool' in t; datasets must agree"):
        combine([a, b])


# ---- indicators --------------------------------------------------------------------------
def test_indicators_sum_the_bloc_and_name_the_leading_other():
    rows = [
        {
            "technology": "5G SEPs",
            "indicator": "sep_share",
            "method": "declared",
            "holder": h,
            "country": c,
            "value": v,
            "year": 2021,
            "source": "s",
        }
        for h, c, v in (("huawei", "CHN", 0.15), ("qualcomm", "USA", 0.11), ("docomo", "JPN", 0.05), ("nokia", "FIN", 0.09))
    ]
    report = indicator_report(ran_map(annex={"indicators": rows}), ("USA", "JPN"))
    seps = report.position[report.position["indicator"] == "sep_share"].iloc[0]
    assert seps["bloc_share"] == pytest.approx(0.16) and seps["top_other"] == "CHN" and seps["top_other_share"] == pytest.approx(0.15)
    assert seps["covered"] == pytest.approx(0.40) and seps["holders"] == 4
