"""validate() and check() on in-memory maps: messages and locations of problems.

``make_map`` gives every row the line it would have in a CSV file: header = line 1,
first row = line 2.
"""

from __future__ import annotations

import pandas as pd
import pytest

from coreatlas.errors import Problem, ValidationError
from coreatlas.model.validate import check, find_cycle, validate
from maps import firm, make_map


def errors(tm) -> list[Problem]:
    return [p for p in validate(tm) if p.severity == "error"]


def warnings(tm) -> list[Problem]:
    return [p for p in validate(tm) if p.severity == "warning"]


def where(p: Problem) -> tuple:
    return (p.table, p.line, p.column)


def good_map(**overrides):
    spec = {
        "nodes": [("wafer", "material"), ("fab", "process"), ("chip", "output")],
        "providers": ["USA", "JPN", "EUR", "various_countries", firm("tsmc", "TWN"), "TWN"],
        "provision": [
            ("wafer", "JPN", 0.6),
            ("wafer", "USA", 0.3),
            ("wafer", "various_countries", 0.1),
            ("fab", "TWN", 0.7),
            ("fab", "tsmc", 0.6),
            ("fab", "EUR", 0.1),
            ("chip", "USA"),
        ],
        "relations": [("fab", "uses", "wafer"), ("chip", "uses", "fab")],
    }
    spec.update(overrides)
    return make_map(**spec)


def test_good_map_has_no_problems():
    tm = good_map()
    assert validate(tm) == []
    assert check(tm) == []


def test_unknown_node_in_provision():
    tm = good_map(provision=[("wafer", "JPN", 0.5), ("wafr", "USA", 0.5)])
    (p,) = errors(tm)
    assert p.message == "unknown node id 'wafr'; it is not defined in the nodes table"
    assert where(p) == ("provision", 3, "node_id")


def test_unknown_nodes_in_relations():
    tm = good_map(relations=[("fab", "uses", "wafer"), ("chips", "uses", "fab"), ("chip", "uses", "fabb")])
    found = errors(tm)
    assert [(p.message, where(p)) for p in found] == [
        ("unknown node id 'chips'; it is not defined in the nodes table", ("relations", 3, "node_id")),
        ("unknown node id 'fabb'; it is not defined in the nodes table", ("relations", 4, "target_id")),
    ]


def test_unknown_provider():
    tm = good_map(provision=[("wafer", "JPN", 0.5), ("wafer", "acme", 0.2)])
    (p,) = errors(tm)
    assert p.message == "unknown provider id 'acme'; it is not defined in the providers table"
    assert where(p) == ("provision", 3, "provider_id")
    assert p.severity == "error"


@pytest.mark.parametrize(("value", "text"), [(1.5, "share 1.5 is outside [0, 1]"), (-0.1, "share -0.1 is outside [0, 1]")])
def test_share_outside_unit_interval(value, text):
    tm = good_map(provision=[("wafer", "JPN", 0.5), ("wafer", "USA", value)])
    found = [p for p in errors(tm) if "outside" in p.message]
    assert len(found) == 1
    assert found[0].message == text + "; shares are fractions (0.25 for 25%)"
    assert where(found[0]) == ("provision", 3, "share")


def test_share_low_outside_unit_interval():
    row = {"node_id": "wafer", "provider_id": "USA", "share": 0.5, "share_low": -0.2, "share_high": 0.6}
    (p,) = errors(good_map(provision=[row]))
    assert p.message.startswith("share -0.2 is outside [0, 1]")
    assert where(p) == ("provision", 2, "share_low")


def test_share_low_above_share():
    rows = [
        ("wafer", "JPN", 0.4),
        {"node_id": "wafer", "provider_id": "USA", "share": 0.3, "share_low": 0.35, "share_high": 0.5},
    ]
    (p,) = errors(good_map(provision=rows))
    assert p.message == "the range must hold the share: expected share_low <= share <= share_high"
    assert where(p) == ("provision", 3, "share")


def test_share_high_below_share():
    rows = [{"node_id": "wafer", "provider_id": "USA", "share": 0.3, "share_low": 0.2, "share_high": 0.25}]
    (p,) = errors(good_map(provision=rows))
    assert "share_low <= share <= share_high" in p.message
    assert where(p) == ("provision", 2, "share")


def test_range_holding_the_share_is_fine():
    rows = [{"node_id": "wafer", "provider_id": "USA", "share": 0.3, "share_low": 0.3, "share_high": 0.3}]
    assert errors(good_map(provision=rows)) == []


def test_country_shares_above_one_plus_tolerance():
    # 0.6 + 0.3 + 0.15 = 1.05 > 1.02; reported at the node's first row (line 3)
    rows = [("fab", "TWN", 1.0), ("wafer", "JPN", 0.6), ("wafer", "USA", 0.3), ("wafer", "various_countries", 0.15)]
    (p,) = errors(good_map(provision=rows))
    assert p.message == ("country shares of node 'wafer' sum to 1.05, above 1 + tolerance 0.02; expected at most 1.02")
    assert where(p) == ("provision", 3, "share")


def test_country_shares_exactly_at_the_limit_pass():
    # 0.34 * 3 = 1.02 = 1 + tolerance (up to rounding): allowed
    rows = [("wafer", "JPN", 0.34), ("wafer", "USA", 0.34), ("wafer", "various_countries", 0.34)]
    assert errors(good_map(provision=rows)) == []
    # just above: 1.03
    rows = [("wafer", "JPN", 0.35), ("wafer", "USA", 0.34), ("wafer", "various_countries", 0.34)]
    assert len(errors(good_map(provision=rows))) == 1


def test_share_tolerance_comes_from_metadata():
    # 1.05 passes with tolerance 0.05
    rows = [("wafer", "JPN", 0.6), ("wafer", "USA", 0.45)]
    assert len(errors(good_map(provision=rows))) == 1
    assert errors(good_map(provision=rows, share_tolerance=0.05)) == []


def test_firm_shares_not_in_country_sum():
    # TWN 0.7 + EUR 0.3 = 1.0 at country level; tsmc 0.6 and intel 0.3 split them: no error
    rows = [("fab", "TWN", 0.7), ("fab", "EUR", 0.3), ("fab", "tsmc", 0.6), ("fab", "intel", 0.3)]
    providers = ["TWN", "EUR", firm("tsmc", "TWN"), firm("intel", "USA")]
    assert errors(good_map(providers=providers, provision=rows)) == []


def test_uses_cycle_shows_the_path():
    rels = [("a", "uses", "b"), ("b", "uses", "c"), ("c", "uses", "a")]
    tm = make_map(nodes=["a", "b", "c"], relations=rels)
    (p,) = errors(tm)
    assert p.message == "'uses' relations form a cycle: a -> b -> c -> a; they must be acyclic"
    assert where(p) == ("relations", 4, "target_id")


def test_uses_cycle_among_other_edges():
    # d uses a (no cycle), then b <-> c form a cycle on lines 4 and 5
    rels = [("d", "uses", "a"), ("a", "uses", "b"), ("b", "uses", "c"), ("c", "uses", "b")]
    tm = make_map(nodes=["a", "b", "c", "d"], relations=rels)
    (p,) = errors(tm)
    assert "cycle: b -> c -> b" in p.message
    assert where(p) == ("relations", 5, "target_id")


def test_self_loop_is_a_cycle():
    tm = make_map(nodes=["a"], relations=[("a", "uses", "a")])
    (p,) = errors(tm)
    assert "cycle: a -> a" in p.message


def test_variant_of_cycle():
    rels = [("a", "variant_of", "b"), ("b", "variant_of", "a")]
    (p,) = errors(make_map(nodes=["a", "b"], relations=rels))
    assert p.message == "'variant_of' relations form a cycle: a -> b -> a; they must be acyclic"


def test_uses_and_variant_of_separately_acyclic_is_fine():
    # a uses b; b variant_of a: the uses graph and the variant_of graph are each acyclic
    rels = [("a", "uses", "b"), ("b", "variant_of", "a")]
    assert errors(make_map(nodes=["a", "b"], relations=rels)) == []


def test_uses_and_variant_of_cycle_together():
    # a uses b (a needs b) and a is a variant of b (b needs a): a cycle in the direction
    # of need, reported at the edge that closes it (the variant_of row, line 3)
    rels = [("a", "uses", "b"), ("a", "variant_of", "b")]
    (p,) = errors(make_map(nodes=["a", "b"], relations=rels))
    assert p.message == "'uses', 'bundles' and 'variant_of' relations together form a cycle: a -> b -> a; they must be acyclic"
    assert where(p) == ("relations", 3, "target_id")


def test_find_cycle_positions():
    edges = pd.DataFrame({"node_id": ["x", "a", "b"], "target_id": ["a", "b", "a"]})
    assert find_cycle(edges) == [1, 2]
    assert find_cycle(pd.DataFrame({"node_id": ["a", "a", "b"], "target_id": ["b", "c", "c"]})) is None


def test_duplicate_node_ids():
    tm = good_map(nodes=[("wafer", "material"), ("fab", "process"), ("chip", "output"), ("fab", "tool")])
    (p,) = errors(tm)
    assert p.message == "duplicate id 'fab'; ids must be unique"
    assert where(p) == ("nodes", 5, "node_id")


def test_duplicate_provider_ids():
    tm = good_map(providers=["USA", "JPN", "EUR", "various_countries", firm("tsmc", "TWN"), "TWN", "JPN"])
    (p,) = errors(tm)
    assert p.message == "duplicate id 'JPN'; ids must be unique"
    assert where(p) == ("providers", 8, "provider_id")


def test_provider_listed_twice_for_a_node():
    tm = good_map(provision=[("wafer", "JPN", 0.4), ("wafer", "JPN", 0.5)])
    (p,) = errors(tm)
    assert p.message == "provider 'JPN' is listed twice for node 'wafer'"
    assert where(p) == ("provision", 3, "provider_id")


def test_unknown_kind():
    tm = good_map(nodes=[("wafer", "material"), ("fab", "widget"), ("chip", "output")])
    (p,) = errors(tm)
    assert p.message == ("unknown kind 'widget'; expected one of process, tool, material, design, component, product, output")
    assert where(p) == ("nodes", 3, "kind")


def test_unknown_provider_type_and_relation():
    tm = good_map(
        providers=[
            "USA",
            "JPN",
            "EUR",
            "various_countries",
            firm("tsmc", "TWN"),
            "TWN",
            {"provider_id": "X1", "name": "x", "type": "club"},
        ],
        relations=[("fab", "needs", "wafer")],
    )
    found = errors(tm)
    assert [(p.message.split(";")[0], where(p)) for p in found] == [
        ("unknown type 'club'", ("providers", 8, "type")),
        ("unknown relation 'needs'", ("relations", 2, "relation")),
    ]


def test_required_value_missing():
    tm = good_map(nodes=[("wafer", "material"), {"node_id": "fab", "name": "Fab", "kind": None}, ("chip", "output")])
    (p,) = errors(tm)
    assert p.message == "'kind' is empty; a value is required"
    assert where(p) == ("nodes", 3, "kind")


def test_missing_year_and_source_are_warnings():
    rows = [
        ("wafer", "JPN", 0.6),
        {"node_id": "wafer", "provider_id": "USA", "share": 0.3, "year": None, "source": None},
        {"node_id": "fab", "provider_id": "TWN", "share": 0.5, "source": "x", "year": None},
        {"node_id": "chip", "provider_id": "USA", "share": None, "year": None, "source": None},  # qualitative: fine
    ]
    tm = good_map(provision=rows)
    assert errors(tm) == []
    found = warnings(tm)
    assert sorted((p.message, where(p)) for p in found) == sorted(
        [
            ("share of 'USA' in 'wafer' has no source", ("provision", 3, "source")),
            ("share of 'USA' in 'wafer' has no year", ("provision", 3, "year")),
            ("share of 'TWN' in 'fab' has no year", ("provision", 4, "year")),
        ]
    )
    # check() does not raise on warnings and returns them
    assert check(tm) == validate(tm)


def test_check_raises_with_every_error():
    tm = good_map(provision=[("wafr", "JPN", 0.5), ("wafer", "acme", 2.0)])
    with pytest.raises(ValidationError) as info:
        check(tm)
    problems = info.value.problems
    assert len(problems) == 3
    assert all(p.severity == "error" for p in problems)
    assert str(info.value) == (
        "provision table, line 2, column 'node_id': unknown node id 'wafr'; it is not defined in the nodes table (and 2 more problems)"
    )


def test_problem_without_line_numbers():
    tm = good_map(provision=[("wafr", "JPN", 0.5)], lines=False)
    (p,) = errors(tm)
    assert p.line is None
    assert str(p) == "provision table, column 'node_id': unknown node id 'wafr'; it is not defined in the nodes table"
