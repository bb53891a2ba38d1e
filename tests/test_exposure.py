"""Exposure metrics on tiny maps, each checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from coreatlas.analysis.exposure import (
    bloc_mask,
    chokepoints,
    countries_to_reach,
    exposure,
    hhi,
    leverage,
)
from coreatlas.analysis.supply import UNATTRIBUTED
from maps import firm, make_map

approx = pytest.approx


def records(tm, bloc=("USA", "JPN"), **kw) -> dict[str, dict]:
    return {r["node_id"]: r for r in exposure(tm, bloc, **kw).records}


# ---- country shares, HHI, effective suppliers, countries to 75% -------------------------


def test_three_countries_known_answers():
    # a: USA 0.5, JPN 0.3, KOR 0.2
    # HHI = 0.25 + 0.09 + 0.04 = 0.38; effective suppliers = 1/0.38 = 2.6316
    # sorted 0.5, 0.3 -> cumulative 0.8 >= 0.75 after 2 countries
    # bloc USA+JPN = 0.8; top country USA 0.5; nothing residual
    tm = make_map(provision=[("a", "USA", 0.5), ("a", "JPN", 0.3), ("a", "KOR", 0.2)])
    r = records(tm)["a"]
    assert r["basis"] == "own"
    assert r["shares"] == approx({"USA": 0.5, "JPN": 0.3, "KOR": 0.2})
    assert list(r["shares"]) == ["USA", "JPN", "KOR"]  # largest first
    assert r["hhi"] == approx(0.38)
    assert r["effective_suppliers"] == approx(1 / 0.38)
    assert r["countries_to_75"] == 2
    assert r["bloc_share"] == approx(0.8)
    assert r["bloc_share_high"] == approx(0.8)
    assert r["residual_share"] == approx(0.0)
    assert r["top_country"] == "USA"
    assert r["top_country_share"] == approx(0.5)
    assert r["top_firm"] is None
    assert r["firm_hhi"] is None


def test_single_supplier_is_a_monopoly():
    # m: NLD 1.0 -> HHI 1, one effective supplier, one country reaches 75%
    tm = make_map(provision=[("m", "NLD", 1.0)])
    r = records(tm)["m"]
    assert r["hhi"] == approx(1.0)
    assert r["effective_suppliers"] == approx(1.0)
    assert r["countries_to_75"] == 1
    assert r["bloc_share"] == approx(0.0)


def test_countries_to_75_needs_three():
    # 0.4, 0.3, 0.2, 0.1: 0.4+0.3 = 0.7 < 0.75; +0.2 = 0.9 -> 3
    tm = make_map(provision=[("a", "USA", 0.4), ("a", "JPN", 0.3), ("a", "KOR", 0.2), ("a", "CHN", 0.1)])
    assert records(tm)["a"]["countries_to_75"] == 3


def test_countries_to_75_exactly_at_level():
    # 0.5 + 0.25 = 0.75 exactly reaches the level -> 2
    tm = make_map(provision=[("a", "USA", 0.5), ("a", "JPN", 0.25), ("a", "KOR", 0.25)])
    assert records(tm)["a"]["countries_to_75"] == 2


def test_residual_excluded_from_hhi_and_countries_to_75():
    # b: USA 0.6, various_countries 0.4
    # HHI over named countries only = 0.36; effective suppliers 1/0.36
    # named countries reach only 0.6 < 0.75 -> None; residual share 0.4
    tm = make_map(provision=[("b", "USA", 0.6), ("b", "various_countries", 0.4)])
    r = records(tm)["b"]
    assert r["shares"] == approx({"USA": 0.6})
    assert r["hhi"] == approx(0.36)
    assert r["effective_suppliers"] == approx(1 / 0.36)
    assert r["countries_to_75"] is None
    assert r["residual_share"] == approx(0.4)
    assert r["bloc_share"] == approx(0.6)


def test_unattributed_rest_is_residual():
    # c: USA 0.4, JPN 0.3, nothing else listed -> 0.3 unattributed
    # HHI = 0.16 + 0.09 = 0.25; named reach 0.7 < 0.75 -> None; residual 0.3
    tm = make_map(provision=[("c", "USA", 0.4), ("c", "JPN", 0.3)])
    r = records(tm)["c"]
    assert UNATTRIBUTED not in r["shares"]
    assert r["hhi"] == approx(0.25)
    assert r["effective_suppliers"] == approx(4.0)
    assert r["countries_to_75"] is None
    assert r["residual_share"] == approx(0.3)


def test_hhi_and_countries_to_reach_functions():
    # rows: (0.5, 0.3, 0.2) -> 0.38; (0.2, 0.2, 0.2) -> 0.12, reach 0.75 never (sum 0.6)
    shares = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.2]])
    assert hhi(shares) == approx([0.38, 0.12])
    assert countries_to_reach(shares).tolist() == [2, 0]
    assert countries_to_reach(shares, level=0.5).tolist() == [1, 3]


# ---- blocs and regions ------------------------------------------------------------------


@pytest.fixture
def eur_map():
    # r: EUR 0.5, USA 0.3, CHN 0.2 (EUR = DEU;FRA;NLD)
    return make_map(provision=[("r", "EUR", 0.5), ("r", "USA", 0.3), ("r", "CHN", 0.2)])


def test_region_counts_as_one_supplier(eur_map):
    # HHI = 0.25 + 0.09 + 0.04 = 0.38; EUR is the top "country"
    r = records(eur_map)["r"]
    assert r["hhi"] == approx(0.38)
    assert r["top_country"] == "EUR"
    assert r["shares"]["EUR"] == approx(0.5)


@pytest.mark.parametrize(
    ("bloc", "low", "high"),
    [
        # bloc names one member only: EUR not in bloc_share (0.3), in bloc_share_high (0.3+0.5)
        (("USA", "DEU"), 0.3, 0.8),
        # bloc names every member: EUR counts in both
        (("USA", "DEU", "FRA", "NLD"), 0.8, 0.8),
        # bloc names EUR itself
        (("USA", "EUR"), 0.8, 0.8),
        # no member of EUR: only USA
        (("USA", "JPN"), 0.3, 0.3),
        # EUR members but not USA
        (("FRA",), 0.0, 0.5),
    ],
)
def test_bloc_share_with_region(eur_map, bloc, low, high):
    r = records(eur_map, bloc)["r"]
    assert r["bloc_share"] == approx(low)
    assert r["bloc_share_high"] == approx(high)


def test_bloc_mask(eur_map):
    codes = ("CHN", "DEU", "EUR", "USA")
    assert bloc_mask(eur_map, codes, ("USA", "DEU")).tolist() == [False, True, False, True]
    assert bloc_mask(eur_map, codes, ("USA", "DEU"), any_member=True).tolist() == [False, True, True, True]
    assert bloc_mask(eur_map, codes, ("DEU", "FRA", "NLD")).tolist() == [False, True, True, False]


# ---- firms ------------------------------------------------------------------------------


@pytest.fixture
def firm_map():
    # f: countries TWN 0.6, KOR 0.3, USA 0.1; firms tsmc (TWN) 0.5, samsung (KOR) 0.2
    # atoms: tsmc 0.5 + TWN rest 0.1; samsung 0.2 + KOR rest 0.1; USA 0.1
    return make_map(
        providers=[firm("tsmc", "TWN"), firm("samsung", "KOR")],
        provision=[
            ("f", "TWN", 0.6),
            ("f", "KOR", 0.3),
            ("f", "USA", 0.1),
            ("f", "tsmc", 0.5),
            ("f", "samsung", 0.2),
        ],
    )


def test_firms_split_country_totals(firm_map):
    # country totals stay 0.6/0.3/0.1; HHI = 0.36 + 0.09 + 0.01 = 0.46
    # firm shares as given; firm HHI = 0.25 + 0.04 = 0.29; top firm tsmc 0.5
    r = records(firm_map)["f"]
    assert r["shares"] == approx({"TWN": 0.6, "KOR": 0.3, "USA": 0.1})
    assert r["hhi"] == approx(0.46)
    assert r["firm_shares"] == approx({"tsmc": 0.5, "samsung": 0.2})
    assert list(r["firm_shares"]) == ["tsmc", "samsung"]
    assert r["firm_hhi"] == approx(0.29)
    assert r["top_firm"] == "tsmc"
    assert r["top_firm_share"] == approx(0.5)


def test_firms_above_their_country_row_are_scaled_down():
    # f: TWN 0.3, KOR 0.7; firms tsmc (TWN) 0.25 + umc (TWN) 0.15 = 0.4 > 0.3
    # country rows win: firms scaled by 0.3/0.4 = 0.75 -> tsmc 0.1875, umc 0.1125, TWN rest 0
    tm = make_map(
        providers=[firm("tsmc", "TWN"), firm("umc", "TWN")],
        provision=[("f", "TWN", 0.3), ("f", "KOR", 0.7), ("f", "tsmc", 0.25), ("f", "umc", 0.15)],
    )
    r = records(tm)["f"]
    assert r["shares"] == approx({"KOR": 0.7, "TWN": 0.3})
    assert r["firm_shares"] == approx({"tsmc": 0.1875, "umc": 0.1125})
    assert r["hhi"] == approx(0.49 + 0.09)


def test_country_shares_from_firms_by_hq():
    # g: only firms: asml (NLD) 0.8, nikon (JPN) 0.1, canon (JPN) 0.1
    # countries by HQ: NLD 0.8, JPN 0.2 -> HHI 0.64 + 0.04 = 0.68; 1 country reaches 0.75
    tm = make_map(
        providers=[firm("asml", "NLD"), firm("nikon", "JPN"), firm("canon", "JPN")],
        provision=[("g", "asml", 0.8), ("g", "nikon", 0.1), ("g", "canon", 0.1)],
    )
    r = records(tm)["g"]
    assert r["shares"] == approx({"NLD": 0.8, "JPN": 0.2})
    assert r["hhi"] == approx(0.68)
    assert r["countries_to_75"] == 1
    assert r["bloc_share"] == approx(0.2)  # JPN in USA+JPN
    assert r["firm_shares"] == approx({"asml": 0.8, "nikon": 0.1, "canon": 0.1})
    assert r["firm_hhi"] == approx(0.64 + 0.01 + 0.01)


def test_country_shares_by_site_country():
    # h: intel (HQ USA, site IRL) 0.6, tsmc (TWN) 0.4
    # hq: USA 0.6, TWN 0.4; site: IRL 0.6, TWN 0.4 (tsmc has no site: stays TWN)
    tm = make_map(
        providers=[firm("intel", "USA", "IRL"), firm("tsmc", "TWN")],
        provision=[("h", "intel", 0.6), ("h", "tsmc", 0.4)],
    )
    hq = records(tm, ("USA",))["h"]
    site = records(tm, ("USA",), attribution="site")["h"]
    assert hq["shares"] == approx({"USA": 0.6, "TWN": 0.4})
    assert hq["bloc_share"] == approx(0.6)
    assert site["shares"] == approx({"IRL": 0.6, "TWN": 0.4})
    assert site["bloc_share"] == approx(0.0)
    assert site["firm_shares"] == approx({"intel": 0.6, "tsmc": 0.4})


def test_residual_firm_is_not_an_atom_where_country_totals_exist():
    # k: TWN 0.7, various_countries 0.3; firm "others" HQ various_countries 0.3
    # the residual firm is inside the residual row: no firm share, residual 0.3 (not 0.6)
    tm = make_map(
        providers=[firm("others", "various_countries"), "various_countries"],
        provision=[("k", "TWN", 0.7), ("k", "various_countries", 0.3), ("k", "others", 0.3)],
    )
    r = records(tm)["k"]
    assert r["firm_shares"] == {}
    assert r["residual_share"] == approx(0.3)
    assert r["shares"] == approx({"TWN": 0.7})


# ---- qualitative-only nodes -------------------------------------------------------------


def test_qualitative_only_node_has_no_shares():
    # q: USA and JPN known as major providers, no figures -> no metrics, listed providers
    tm = make_map(provision=[("q", "USA"), ("q", "JPN")])
    r = records(tm)["q"]
    assert r["basis"] == "none"
    assert r["shares"] == {}
    assert r["firm_shares"] == {}
    for key in (
        "hhi",
        "effective_suppliers",
        "countries_to_75",
        "bloc_share",
        "bloc_share_high",
        "residual_share",
        "top_country",
        "top_country_share",
    ):
        assert r[key] is None, key
    assert sorted(r["qualitative"]) == ["JPN", "USA"]


def test_qualitative_split_is_not_a_figure():
    # a: USA 0.6 with a figure, JPN qualitative -> JPN gets the rest 0.4 as an *estimate*:
    # shares lists only USA; HHI 0.36; the rest counts as residual
    tm = make_map(provision=[("a", "USA", 0.6), ("a", "JPN")])
    r = records(tm)["a"]
    assert r["shares"] == approx({"USA": 0.6})
    assert r["hhi"] == approx(0.36)
    assert r["bloc_share"] == approx(0.6)


def test_node_without_providers():
    # e has no provision rows; a (USA 1.0) keeps the map non-trivial
    tm = make_map(nodes=["e", "a"], provision=[("a", "USA", 1.0)])
    r = records(tm)["e"]
    assert r["basis"] == "none"
    assert r["hhi"] is None
    assert r["shares"] == {}
    assert r["qualitative"] == []


def test_map_without_any_provision():
    # no provider anywhere: every node has basis "none" and no metrics (no crash)
    tm = make_map(nodes=["e", "f"], provision=[])
    rec = records(tm)
    assert [r["basis"] for r in rec.values()] == ["none", "none"]
    assert all(r["hhi"] is None and r["countries_to_75"] is None for r in rec.values())
    assert chokepoints(tm, 0.5) == []


# ---- variant roll-up --------------------------------------------------------------------


def variant_map(size1=3.0, size2=1.0, extra=()):
    # p has no figures; v1 (size1): USA 0.8, JPN 0.2; v2 (size2): JPN 0.6, KOR 0.4
    return make_map(
        nodes=["p", ("v1", "process", size1), ("v2", "process", size2), *[n for n, _ in extra]],
        provision=[("v1", "USA", 0.8), ("v1", "JPN", 0.2), ("v2", "JPN", 0.6), ("v2", "KOR", 0.4)],
        relations=[("v1", "variant_of", "p"), ("v2", "variant_of", "p"), *[(n[0], "variant_of", "p") for n, _ in extra]],
    )


def test_variant_rollup_weighted_by_market_size():
    # weights 3/4 and 1/4: USA 0.75*0.8 = 0.6; JPN 0.75*0.2 + 0.25*0.6 = 0.3; KOR 0.25*0.4 = 0.1
    # HHI = 0.36 + 0.09 + 0.01 = 0.46; bloc USA+JPN = 0.9
    r = records(variant_map())["p"]
    assert r["basis"] == "rollup"
    assert r["shares"] == approx({"USA": 0.6, "JPN": 0.3, "KOR": 0.1})
    assert r["hhi"] == approx(0.46)
    assert r["bloc_share"] == approx(0.9)
    assert r["countries_to_75"] == 2


def test_variant_rollup_equal_weights_when_a_size_is_unknown():
    # v2 has no size -> weights 1/2 each: USA 0.4, JPN 0.1 + 0.3 = 0.4, KOR 0.2
    r = records(variant_map(size2=None))["p"]
    assert r["shares"] == approx({"USA": 0.4, "JPN": 0.4, "KOR": 0.2})
    assert r["hhi"] == approx(0.16 + 0.16 + 0.04)


def test_variant_without_figures_does_not_change_weights():
    # v3 has no figures and no size: only variants with figures are weighed -> 3/4, 1/4
    r = records(variant_map(extra=[(("v3", "process", None), None)]))["p"]
    assert r["shares"] == approx({"USA": 0.6, "JPN": 0.3, "KOR": 0.1})


def test_parent_with_own_figures_is_not_rolled_up():
    tm = make_map(
        nodes=["p", ("v1", "process", 1.0)],
        provision=[("p", "CHN", 1.0), ("v1", "USA", 1.0)],
        relations=[("v1", "variant_of", "p")],
    )
    r = records(tm)["p"]
    assert r["basis"] == "own"
    assert r["shares"] == approx({"CHN": 1.0})


def test_variant_rollup_of_firm_shares():
    # v1 (3): tsmc 1.0; v2 (1): samsung 1.0 -> p: tsmc 0.75, samsung 0.25
    tm = make_map(
        nodes=["p", ("v1", "process", 3.0), ("v2", "process", 1.0)],
        providers=[firm("tsmc", "TWN"), firm("samsung", "KOR")],
        provision=[("v1", "tsmc", 1.0), ("v2", "samsung", 1.0)],
        relations=[("v1", "variant_of", "p"), ("v2", "variant_of", "p")],
    )
    r = records(tm)["p"]
    assert r["firm_shares"] == approx({"tsmc": 0.75, "samsung": 0.25})
    assert r["shares"] == approx({"TWN": 0.75, "KOR": 0.25})


def test_variant_rollup_is_recursive_deepest_first():
    # gp has variants p and w (no sizes -> equal weights); p has variants v1 (3): USA 1.0
    # and v2 (1): JPN 1.0; w: KOR 1.0.
    # deepest first: p = USA 0.75, JPN 0.25; then gp = (p + w) / 2
    #   = USA 0.375, JPN 0.125, KOR 0.5
    tm = make_map(
        nodes=["gp", "p", "w", ("v1", "process", 3.0), ("v2", "process", 1.0)],
        provision=[("v1", "USA", 1.0), ("v2", "JPN", 1.0), ("w", "KOR", 1.0)],
        relations=[
            ("v1", "variant_of", "p"),
            ("v2", "variant_of", "p"),
            ("p", "variant_of", "gp"),
            ("w", "variant_of", "gp"),
        ],
    )
    rec = records(tm)
    assert rec["p"]["shares"] == approx({"USA": 0.75, "JPN": 0.25})
    assert rec["gp"]["basis"] == "rollup"
    assert rec["gp"]["shares"] == approx({"KOR": 0.5, "USA": 0.375, "JPN": 0.125})


# ---- chokepoints and leverage -----------------------------------------------------------


@pytest.fixture
def choke_map():
    # a: USA 0.5, JPN 0.3, KOR 0.2
    # b: USA 0.6, various_countries 0.4
    # c: various_countries 0.95, USA 0.05         (residual is never a chokepoint)
    # d: NLD 0.95, JPN 0.05
    # f: TWN 0.92 (tsmc 0.9 inside), KOR 0.08
    return make_map(
        providers=[firm("tsmc", "TWN")],
        provision=[
            ("a", "USA", 0.5), ("a", "JPN", 0.3), ("a", "KOR", 0.2),
            ("b", "USA", 0.6), ("b", "various_countries", 0.4),
            ("c", "various_countries", 0.95), ("c", "USA", 0.05),
            ("d", "NLD", 0.95), ("d", "JPN", 0.05),
            ("f", "TWN", 0.92), ("f", "KOR", 0.08), ("f", "tsmc", 0.9),
        ],
    )  # fmt: skip


def test_chokepoints_by_country(choke_map):
    # threshold 0.9: d/NLD 0.95, f/TWN 0.92; c/various_countries 0.95 excluded
    found = chokepoints(choke_map, 0.9)
    assert [(c.node_id, c.provider, c.share) for c in found] == [("d", "NLD", approx(0.95)), ("f", "TWN", approx(0.92))]
    assert all(c.by == "country" and c.basis == "own" for c in found)
    assert found[0].provider_name == "NLD"


def test_chokepoints_lower_threshold_sorted(choke_map):
    # threshold 0.5: d 0.95, f 0.92, b/USA 0.6, a/USA 0.5 (>= counts)
    found = chokepoints(choke_map, 0.5)
    assert [(c.node_id, c.provider) for c in found] == [("d", "NLD"), ("f", "TWN"), ("b", "USA"), ("a", "USA")]
    assert [c.share for c in found] == approx([0.95, 0.92, 0.6, 0.5])


def test_chokepoints_ties_sorted_by_node_id():
    tm = make_map(provision=[("z", "USA", 1.0), ("m", "JPN", 1.0), ("b", "KOR", 1.0)])
    assert [c.node_id for c in chokepoints(tm, 0.9)] == ["b", "m", "z"]


def test_chokepoints_by_firm(choke_map):
    # only firm with a figure: tsmc 0.9 in f
    found = chokepoints(choke_map, 0.9, by="firm")
    assert [(c.node_id, c.provider, c.share, c.by) for c in found] == [("f", "tsmc", approx(0.9), "firm")]
    assert found[0].provider_name == "TSMC"
    assert chokepoints(choke_map, 0.95, by="firm") == []


def test_chokepoints_rejects_unknown_by(choke_map):
    with pytest.raises(ValueError, match="by must be"):
        chokepoints(choke_map, by="region")


def test_leverage_for_a_bloc(choke_map):
    # bloc USA+JPN shares: a 0.8, b 0.6, c 0.05, d 0.05, f 0
    # threshold 0.6 -> a (0.8), b (0.6), sorted by share
    hits = leverage(choke_map, ("USA", "JPN"), 0.6)
    assert [(h["node_id"], h["bloc_share"]) for h in hits] == [("a", approx(0.8)), ("b", approx(0.6))]
    # bloc NLD+TWN at 0.9 -> d 0.95, f 0.92
    assert [h["node_id"] for h in leverage(choke_map, ("NLD", "TWN"), 0.9)] == ["d", "f"]


def test_leverage_counts_region_only_when_bloc_covers_it(eur_map):
    # r: EUR 0.5, USA 0.3 -> bloc USA+DEU: 0.3 (< 0.5); bloc USA+EUR members: 0.8
    assert leverage(eur_map, ("USA", "DEU"), 0.5) == []
    assert [h["node_id"] for h in leverage(eur_map, ("USA", "DEU", "FRA", "NLD"), 0.5)] == ["r"]


def test_bloc_shares_agree_with_exposure_for_every_bloc():
    from coreatlas import load_map
    from coreatlas.analysis.exposure import bloc_shares, exposure

    tm = load_map("chips")
    blocs = {"core": tm.blocs["core"], "allies": tm.blocs["allies"]}
    frame = bloc_shares(tm, blocs)
    for name, codes in blocs.items():
        expected = {r["node_id"]: r["bloc_share"] for r in exposure(tm, codes).records if r["bloc_share"] is not None}
        assert frame[name].to_dict() == approx(expected)
    assert frame.loc["euv_lithography_tools", "allies"] == approx(1.0) and frame.loc["euv_lithography_tools", "core"] == approx(0.0)
