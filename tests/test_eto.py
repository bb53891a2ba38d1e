"""The ETO chip dataset (read from ../shared): its traps and the figures it holds."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from coreatlas.analysis.exposure import chokepoints, exposure
from coreatlas.io.eto import parse_market_size, read_eto

# Every node where one real country holds >= 90% in the August 2026 release
# (research/product_anchors.md section 4.2 lists the same 20).
EXPECTED_CHOKEPOINTS = {
    "N20": ("NLD", 1.0),
    "N8": ("DEU", 1.0),
    "N77": ("SGP", 1.0),
    "N64": ("USA", 1.0),
    "N130": ("USA", 1.0),
    "N9": ("JPN", 0.997),
    "N45": ("USA", 0.994),
    "N22": ("NLD", 0.993),
    "N84": ("USA", 0.96),
    "N116": ("USA", 0.952),
    "N32": ("JPN", 0.952),
    "N71": ("JPN", 0.950),
    "N21": ("NLD", 0.944),
    "N133": ("DEU", 0.925),
    "N122": ("JPN", 0.921),
    "N67": ("USA", 0.919),
    "N113": ("USA", 0.911),
    "N134": ("SGP", 0.909),
    "N107": ("AUT", 0.908),
    "N12": ("JPN", 0.903),
}


@pytest.fixture(scope="module")
def tm(eto_dir: Path):
    return read_eto(eto_dir)


def _raw(eto_dir: Path, name: str) -> list[dict]:
    with open(eto_dir / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_real_country_chokepoint_and_no_residual(tm):
    found = {c.node_id: (c.provider, round(c.share, 3)) for c in chokepoints(tm, 0.9, "country")}
    assert found == {k: (code, pytest.approx(share, abs=2e-3)) for k, (code, share) in EXPECTED_CHOKEPOINTS.items()}
    assert not any("various" in c.provider.lower() for c in chokepoints(tm, 0.5, "country"))


def test_firm_chokepoints_include_asml_and_no_residual(tm):
    firms = {c.node_id: c.provider_name for c in chokepoints(tm, 0.9, "firm")}
    assert firms["N20"] == "ASML" and firms["N32"] == "Tokyo Electron"
    assert "Various companies" not in firms.values()


def test_exposure_matches_hand_computation_from_csv(eto_dir: Path, tm):
    """For every node with its own country figures: shares, HHI and countries-to-75 by hand."""
    countries = {r["provider_id"] for r in _raw(eto_dir, "providers.csv") if r["provider_type"] == "country"}
    by_node = defaultdict(dict)
    for row in _raw(eto_dir, "provision.csv"):
        if row["provider_id"] in countries and row["share_provided"].strip():
            by_node[row["provided_id"]][row["provider_name"]] = float(row["share_provided"]) / 100
    records = {r["node_id"]: r for r in exposure(tm, ("USA", "JPN")).records}
    assert len(by_node) > 90
    for node_id, shares in by_node.items():
        named = {k: v for k, v in shares.items() if not k.startswith("Various")}
        record = records[node_id]
        assert record["hhi"] == pytest.approx(sum(v * v for v in named.values()), abs=1e-9), node_id
        assert record["bloc_share"] == pytest.approx(named.get("USA", 0) + named.get("JPN", 0), abs=1e-9)
        ordered, total, needed = sorted(named.values(), reverse=True), 0.0, None
        for count, value in enumerate(ordered, 1):
            total += value
            if total >= 0.75 - 1e-9:
                needed = count
                break
        assert record["countries_to_75"] == needed, node_id
        assert record["shares"] == pytest.approx({k: v for k, v in named.items() if v > 0})


def test_aliases_merged_so_no_share_counts_twice(tm):
    canon = tm.providers[tm.providers["name"] == "Canon"]
    assert len(canon) == 1 and "Canon ANELVA" in canon.iloc[0]["aliases"]
    for record in exposure(tm).records:
        assert sum(record["firm_shares"].values()) <= 1.0 + 0.005, record["node_id"]


def test_firm_shares_never_exceed_their_country(tm):
    for record in exposure(tm).records:
        per_country = defaultdict(float)
        for firm, share in record["firm_shares"].items():
            per_country[tm.provider_rows.at[firm, "country"]] += share
        for code, share in per_country.items():
            assert share <= record["shares"].get(code, 0.0) + 0.006, (record["node_id"], code)


def test_eur_is_a_region_and_various_are_residuals(tm):
    rows = tm.provider_rows
    assert rows.at["EUR", "type"] == "region" and "DEU" in rows.at["EUR", "members"]
    assert rows.at["various_countries", "type"] == "residual"
    various_companies = tm.providers[tm.providers["name"] == "Various companies"].iloc[0]
    assert various_companies["type"] == "firm" and various_companies["country"] == "various_countries"
    design = next(r for r in exposure(tm, ("USA", "JPN", "DEU", "FRA")).records if r["node_id"] == "S1")
    assert design["bloc_share"] == pytest.approx(0.60)  # EUR (0.10) does not count: the bloc lacks most members
    assert design["bloc_share_high"] == pytest.approx(0.70)


def test_blank_shares_stay_qualitative(tm):
    photoresists = next(r for r in exposure(tm).records if r["node_id"] == "N31")
    assert photoresists["hhi"] is None and photoresists["shares"] == {}
    assert {"JPN", "USA", "KOR"} <= set(photoresists["qualitative"])


def test_mixed_years_are_kept(tm):
    assert set(tm.provision["year"].dropna().astype(int)) == {2019, 2021, 2022, 2025}


def test_variant_rollup_fills_parents_without_figures(tm):
    inspection = next(r for r in exposure(tm).records if r["node_id"] == "N61")
    assert inspection["basis"] == "rollup" and inspection["top_country"] == "USA"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$13 billion (2025)", (13e9, 2025)),
        ("$852.6 million (2025)", (852.6e6, 2025)),
        ("$3.3 billion (all photoresists)", (3.3e9, None)),
        (None, (None, None)),
    ],
)
def test_market_size_parsing(text, expected):
    size, year = parse_market_size(text)
    assert (None if size != size else size) == (pytest.approx(expected[0]) if expected[0] else None) and year == expected[1]


def test_processes_use_their_stage_capacity(tm):
    uses = set(zip(tm.edges("uses")["node_id"], tm.edges("uses")["target_id"], strict=True))
    assert ("N25", "S2") in uses and ("N0", "S1") in uses and ("N78", "S3") in uses
    assert len(tm.relations) == 150
