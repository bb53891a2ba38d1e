"""The built-in critical-technology datasets: provenance, share sums, a check of figures
against the sourced facts table, validity of every dataset and combination, the Open RAN
result, and the demo's run time."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas.cli import app
from coreatlas.io import datasets
from coreatlas.model.policy import get_policy
from coreatlas.services import demo as demo_service
from coreatlas.services import policy as policy_service

NAMES = datasets.builtin_names()
FACTS = Path(__file__).resolve().parents[2] / "shared" / "research" / "facts_critical_tech.csv"
runner = CliRunner()


def test_the_critical_technology_datasets_are_built_in():
    assert {"chips", "telecom-ran", "sequencing", "quantum", "materials"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_share_has_a_source_and_a_year(name):
    tm = datasets.load(name)
    numeric = tm.provision[tm.provision["share"].notna()]
    missing = numeric[numeric["source"].isna() | numeric["year"].isna()]
    assert missing.empty, f"{name}: shares without source or year:\n{missing[['node_id', 'provider_id']]}"
    assert tm.meta.version and tm.meta.licence and tm.meta.sources


@pytest.mark.parametrize("name", NAMES)
def test_country_shares_never_sum_above_one_plus_tolerance(name):
    tm = datasets.load(name)
    kind = tm.provision["provider_id"].map(tm.provider_rows["type"])
    country_level = tm.provision[kind.isin(["country", "region", "residual"]) & tm.provision["share"].notna()]
    totals = country_level.groupby("node_id")["share"].sum()
    assert (totals <= 1 + tm.meta.share_tolerance + 1e-9).all(), totals[totals > 1 + tm.meta.share_tolerance]


@pytest.mark.parametrize("data", ["+".join(c) for r in (1, 2, 5) for c in itertools.combinations(NAMES, r)])
def test_validate_passes_on_every_dataset_and_combination(data):
    result = runner.invoke(app, ["validate", "--data", data])
    assert result.exit_code == 0, result.output + result.stderr
    assert ": valid" in result.stdout


@pytest.fixture(scope="module")
def facts() -> pd.DataFrame:
    if not FACTS.is_file():
        pytest.skip(f"sourced facts table not found at {FACTS} (../shared beside the repository)")
    table = pd.read_csv(FACTS)
    return table.assign(fractions=table["share_pct"].map(_percentages), noted=table["notes"].map(_noted_percentages))


def _percentages(text: object) -> list[float]:
    """``"74 (2019); 78 (2020)"`` -> ``[0.74, 0.78]``: the percentages of a share cell (years dropped)."""
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", str(text))] if isinstance(text, str) else []
    return [n / 100 for n in numbers if n <= 100]


def _noted_percentages(text: object) -> list[float]:
    """Percentages written as ``N%`` in a note (the disagreeing sources' figures)."""
    return [float(n) / 100 for n in re.findall(r"(\d+(?:\.\d+)?)\s?%", str(text))] if isinstance(text, str) else []


def _figures_from_facts(name: str, facts: pd.DataFrame) -> pd.DataFrame:
    """Provision rows whose source is a page of the facts table, with that page's figures."""
    tm = datasets.load(name)
    url = {s.id: s.url for s in tm.meta.sources}
    rows = tm.provision[tm.provision["share"].notna()].assign(url=lambda f: f["source"].map(url))
    rows = rows[rows["url"].isin(set(facts["source_url"]))]
    figures = facts.groupby("source_url")["fractions"].agg(lambda cells: [v for cell in cells for v in cell])
    return rows.assign(page_figures=rows["url"].map(figures))


def _matches(value: float, candidates) -> bool:
    return isinstance(candidates, list) and any(math.isclose(value, c, abs_tol=1e-9) for c in candidates)


def test_shares_agree_with_the_sourced_facts_table(facts):
    """Each share cited to a page of the facts table is one of that page's figures; each end
    of a range is a figure of the table or of its notes on disagreeing sources."""
    every_figure = [v for cell in [*facts["fractions"], *facts["noted"]] for v in cell]
    checked, wrong = 0, []
    for name in NAMES:
        for r in _figures_from_facts(name, facts).itertuples(index=False):
            checked += 1
            if not _matches(r.share, r.page_figures):
                wrong.append(f"{name}: {r.node_id}/{r.provider_id} share {r.share} not on {r.url}")
            for end in (r.share_low, r.share_high):
                if not pd.isna(end) and end != r.share and not _matches(end, every_figure):
                    wrong.append(f"{name}: {r.node_id}/{r.provider_id} range end {end} is no figure of the facts table")
    assert checked >= 25, f"only {checked} figures could be checked against the facts table"
    assert not wrong, "\n".join(wrong)


def test_a_sample_of_known_figures(facts):
    """Spot checks a reader can verify in facts_critical_tech.md."""
    share = {}
    for name in NAMES:
        tm = datasets.load(name)
        for r in tm.provision[tm.provision["share"].notna()].itertuples(index=False):
            share[(name, r.node_id, r.provider_id)] = r.share
    assert share[("materials", "gallium", "CHN")] == 0.98  # USGS 2022, via facts row 'Primary (low-purity) gallium production'
    assert share[("materials", "rare_earth_refining", "CHN")] == 0.92  # IEA 2023
    assert share[("sequencing", "sequencing_instruments", "illumina")] in (0.804, 0.80, 0.776)
    assert share[("telecom-ran", "ran_proprietary", "huawei")] == 0.33  # Dell'Oro 2020


# ---- Open RAN -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def telecom():
    return datasets.load("telecom-ran")


def test_covered_list_ban_open_network_keeps_at_least_as_much(telecom):
    (row,) = [r for r in policy_service.open_ran_comparison(telecom).to_records() if "Covered List" in r["scenario"]]
    covered = set(get_policy(telecom, "fcc_covered_list").providers)
    rows = telecom.provision[(telecom.provision["node_id"] == "ran_proprietary") & telecom.provision["provider_id"].isin(covered)]
    # The proprietary RAN loses exactly the covered vendors' share of the installed base.
    assert row["proprietary_available"] == pytest.approx(1 - rows["share"].sum(), abs=0.02)
    assert row["open_available"] >= row["proprietary_available"] - 1e-12
    assert row["open_low"] >= row["proprietary_low"] - 1e-12 and row["open_high"] >= row["proprietary_high"] - 1e-12


def test_openran_command_shows_the_numbers():
    result = runner.invoke(app, ["openran", "--policy", "fcc_covered_list"])
    assert result.exit_code == 0, result.stderr
    assert "proprietary" in result.stdout and "%" in result.stdout
    as_json = runner.invoke(app, ["openran", "--json"])
    assert as_json.exit_code == 0 and '"open_advantage"' in as_json.stdout


def test_policy_applied_to_a_third_country(telecom):
    impact = policy_service.policy_impact(telecom, "fcc_covered_list", "DEU")
    (deu,) = impact.third_countries.to_dict("records")
    assert deu["to_replace"] == pytest.approx(0.59)


def test_policy_command_errors_are_one_line():
    result = runner.invoke(app, ["policy", "no_such_policy"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown policy 'no_such_policy' in telecom-ran; known policies: fcc_covered_list")
    result = runner.invoke(app, ["policy", "fcc_covered_list", "--country", "ATA"])
    assert result.exit_code == 2 and "no exposure record for country 'ATA' in telecom-ran" in result.stderr


def test_indicators_command_reports_the_partners_position():
    result = runner.invoke(app, ["indicators", "--data", "telecom-ran", "--bloc", "core", "--json"])
    assert result.exit_code == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["bloc"] == ["USA", "JPN"]
    methods = {r["method"] for r in report["position"] if r["indicator"] == "sep_share"}
    assert len(methods) >= 2  # declared families and assessed essentiality are kept apart
    assert {c["party"] for c in report["commitments"]} >= {"USA", "JPN"}
    core = [c for c in report["commitments"] if c["program"].startswith("CoRe")]
    assert sorted(c["amount"] for c in core if c["currency"] == "USD") == [2.0e9, 2.5e9]


def test_combination_letter_errors():
    result = runner.invoke(app, ["exposure", "--data", "chips+chips"])
    assert result.exit_code == 2 and "name each dataset once" in result.stderr


# ---- demo -----------------------------------------------------------------------------------
def test_demo_covers_every_dataset_offline(tmp_path):
    # how long it takes is measured in benchmarks/ (a timed assertion fails on a busy machine)
    result = demo_service.demo(demo_service.DemoRequest(out_dir=str(tmp_path)))
    names = [s.tm.meta.name for s in result.sections]
    assert set(NAMES) <= set(names) and demo_service.DEMO_COMBINATION in names
    report = result.report_path.read_text(encoding="utf-8")
    assert report.count("<h3>Sources</h3>") == len(names) and "Open RAN vs proprietary RAN" in report
    (shock,) = [s for s in result.sections if s.tm.meta.name == demo_service.DEMO_COMBINATION]
    hit = {o["node_id"] for r in shock.results for o in r.outputs() if o["available"] < 1}
    assert {"finished_logic_chip", "ran_proprietary"} <= hit  # a materials shock reaches chips and radios
