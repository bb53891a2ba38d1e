"""Firm networks on disk (reference text, CSV, Parquet), the generator and the
`simulate` / `generate` commands, including every bad-input message and exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas.analysis.dynamics import run
from coreatlas.analysis.synthetic import scale_free_network
from coreatlas.cli import app
from coreatlas.errors import DataSourceError, ValidationError
from coreatlas.io.firmdata import read_network, read_network_files, read_shocks, write_network
from coreatlas.model.firms import firm_network

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def toy_files(tmp_path: Path) -> Path:
    """The two-firm loop in the reference's text format, with a header-less delta file."""
    (tmp_path / "links.txt").write_text("1 2 100\n2 1 100\n")
    (tmp_path / "final_demand.txt").write_text("1 100\n2 100\n")
    (tmp_path / "sectors.txt").write_text("1 1001 0\n2 1002 0\n")
    (tmp_path / "delta.txt").write_text("1 0.1\n")
    return tmp_path


# ---- the network data model -----------------------------------------------------------------
def test_links_sorted_into_pools_and_duplicates_merged():
    net = firm_network([2, 0, 1, 0], [3, 3, 3, 3], [1.0, 2.0, 4.0, 3.0], [0, 0, 0, 1.0], sector=[5, 6, 5, 0])
    assert net.n_links == 3  # 0 -> 3 twice, summed
    assert net.flow.tolist() == [5.0, 1.0, 4.0]  # sector 5 (firms 0, 2) then sector 6 (firm 1)
    assert net.pool_start.tolist() == [0, 2, 3] and net.pool_flow.tolist() == [6.0, 4.0]
    assert net.client_pools.tolist() == [0, 0, 0, 0, 2]
    assert net.baseline_output.tolist() == [5.0, 4.0, 1.0, 1.0]


def test_bad_links_rejected():
    with pytest.raises(ValidationError, match="must be a positive number"):
        firm_network([0], [1], [0.0], [1.0, 1.0])
    with pytest.raises(ValidationError, match="out of range"):
        firm_network([0], [7], [1.0], [1.0, 1.0])


# ---- files -----------------------------------------------------------------------------------
def test_reference_text_format(toy_files):
    net = read_network_files(toy_files / "links.txt", toy_files / "final_demand.txt", toy_files / "sectors.txt")
    assert net.firm_ids.tolist() == [1, 2] and net.sector_names == ("1001", "1002")
    shocks = read_shocks(toy_files / "delta.txt", net)
    assert shocks.firm.tolist() == [0] and shocks.capacity_loss.tolist() == [0.1] and shocks.start_day.tolist() == [0]


def test_csv_with_string_ids_and_regions(tmp_path):
    (tmp_path / "links.csv").write_text("supplier,client,amount\nacme,beta,2\nbeta,acme,1\n")
    (tmp_path / "fd.csv").write_text("firm,amount\nacme,5\nbeta,3\n")
    (tmp_path / "sec.csv").write_text("firm,sector,region\nacme,chips,JPN\nbeta,tools,USA\n")
    (tmp_path / "shocks.csv").write_text("firm,capacity_loss,start_day,end_day\nbeta,0.5,3,10\n")
    net = read_network_files(tmp_path / "links.csv", tmp_path / "fd.csv", tmp_path / "sec.csv")
    assert net.region_names == ("JPN", "USA") and net.baseline_output.tolist() == [7.0, 4.0]
    shocks = read_shocks(tmp_path / "shocks.csv", net)
    assert (shocks.firm.tolist(), shocks.start_day.tolist(), shocks.end_day.tolist()) == ([1], [3], [10])


def test_parquet_round_trip(tmp_path):
    net = scale_free_network(300, 1200, n_sectors=7, n_regions=3, seed=3)
    back = read_network(write_network(net, tmp_path / "net"))
    np.testing.assert_allclose(back.baseline_output, net.baseline_output)
    assert back.n_links == net.n_links and back.sector.tolist() == net.sector.tolist()
    a = run(net, None, 3).to_frame()
    b = run(back, None, 3).to_frame()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("links.txt", "1 2 100\n2 1 x\n", r"links\.txt, line 2, column 'amount': expected a number, got 'x'"),
        ("links.csv", "supplier,client\n1,2\n", r"missing column\(s\) amount; expected supplier, client, amount"),
        ("links.csv", "supplier,client,amount\n1,2,3\n,1,4\n", r"line 3, column 'supplier': missing value"),
        ("links.txt", "1 2 -5\n", r"flow -5\.0 must be a positive number"),
        ("links.xlsx", "", r"unknown format '\.xlsx'"),
    ],
)
def test_bad_link_files(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    (tmp_path / "fd.txt").write_text("1 1\n")
    with pytest.raises((ValidationError, DataSourceError), match=message):
        read_network_files(tmp_path / name, tmp_path / "fd.txt")


def test_bad_shock_files(toy_files):
    net = read_network_files(toy_files / "links.txt", toy_files / "final_demand.txt")
    (toy_files / "bad1.txt").write_text("1 0.2\n9 0.1\n")
    with pytest.raises(ValidationError, match=r"bad1\.txt, line 2, column 'firm': firm '9' is not in the network"):
        read_shocks(toy_files / "bad1.txt", net)
    (toy_files / "bad2.txt").write_text("1 1.5\n")
    with pytest.raises(ValidationError, match=r"line 1, column 'capacity_loss': capacity loss 1\.5 must be a fraction"):
        read_shocks(toy_files / "bad2.txt", net)


def test_missing_file(tmp_path):
    with pytest.raises(DataSourceError, match="file not found"):
        read_network_files(tmp_path / "nope.txt", tmp_path / "fd.txt")


# ---- generator ---------------------------------------------------------------------------------
def test_generator_is_reproducible_and_exact_size():
    a = scale_free_network(2000, 10000, seed=5)
    b = scale_free_network(2000, 10000, seed=5)
    assert a.n_links == 10000 and np.array_equal(a.flow, b.flow) and np.array_equal(a.supplier, b.supplier)
    assert not np.array_equal(a.flow, scale_free_network(2000, 10000, seed=6).flow)
    assert np.all(a.supplier != a.client)
    assert a.value_added_ratio.min() >= 0.2 - 1e-12  # balanced: purchases at most 80% of output


def test_generator_heavy_tails_versus_poisson():
    sf = scale_free_network(20000, 100000, seed=1)
    er = scale_free_network(20000, 100000, seed=1, degrees="poisson")
    sf_out, er_out = np.bincount(sf.supplier, minlength=20000), np.bincount(er.supplier, minlength=20000)
    assert sf_out.mean() == er_out.mean() == 5.0
    assert sf_out.max() > 20 * er_out.max()  # hubs: hundreds of clients against about 15
    steeper = scale_free_network(20000, 100000, seed=1, out_exponent=2.5)
    assert np.bincount(steeper.supplier).max() < sf_out.max()


# ---- CLI ---------------------------------------------------------------------------------------
def test_simulate_command_writes_totals_and_chart(toy_files, tmp_path):
    out = tmp_path / "run"
    result = cli("simulate", "--links", toy_files / "links.txt", "--final-demand", toy_files / "final_demand.txt",
                 "--sectors", toy_files / "sectors.txt", "--shocks", toy_files / "delta.txt",
                 "--days", 60, "--recovery-days", 10, "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    totals = pd.read_csv(out / "totals.csv")
    assert list(totals.columns) == ["day", "production", "value_added", "final_consumption"]
    assert totals["day"].iloc[0] == -1 and len(totals) == 61
    assert totals["production"].iloc[:3].round(6).tolist() == [400.0, 380.0, 345.333333]
    assert (out / "totals.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["losses"]["production"]["direct"] == pytest.approx(110.0)
    assert "indirect / direct" in result.output or "ratio" in result.output


def test_simulate_json_and_priority(toy_files, tmp_path):
    result = cli("simulate", "--links", toy_files / "links.txt", "--final-demand", toy_files / "final_demand.txt",
                 "--shocks", toy_files / "delta.txt", "--days", 30, "--rationing", "priority", "--recovery", "exponential",
                 "--recovery-days", 5, "--json", "--out", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["params"]["rationing"] == "priority" and summary["params"]["recovery"] == "exponential"
    assert summary["network"] == {"firms": 2, "links": 2, "sectors": 2, "regions": 1, "negative_value_added_firms": 0}


def test_simulate_on_a_technology_map(tmp_path):
    result = cli(
        "simulate", "--data", "chips", "--remove-country", "TWN", "--days", 40, "--recovery-days", 20, "--json", "--out", tmp_path / "m"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["inputs"]["scenario_summary"] == "remove TWN"
    assert summary["losses"]["production"]["total"] > summary["losses"]["production"]["direct"] > 0
    regions = {r["region"]: r for r in summary["losses_by_region"]}
    assert regions["TWN"]["direct_loss"] > 0 and regions["JPN"]["direct_loss"] == 0 and regions["JPN"]["indirect_loss"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--days", "5"), "give --network DIR, or --links and --final-demand"),
        (("--links", "{d}/links.txt", "--final-demand", "{d}/final_demand.txt", "--rationing", "fair"), "rationing 'fair' is not one of"),
        (
            ("--links", "{d}/links.txt", "--final-demand", "{d}/final_demand.txt", "--recovery", "linear"),
            "recovery 'linear' needs recovery days",
        ),
        (("--links", "{d}/missing.txt", "--final-demand", "{d}/final_demand.txt"), "missing.txt: file not found"),
        (("--data", "chips", "--days", "5"), "no scenario given"),
        (("--data", "chips", "--remove-country", "TWN", "--inventory-days", "0"), "expected at least 1"),
    ],
)
def test_simulate_bad_input(toy_files, tmp_path, args, message):
    result = cli("simulate", *[a.format(d=toy_files) for a in args], "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


def test_generate_command(tmp_path):
    result = cli("generate", "--firms", 500, "--links", 2000, "--sectors", 10, "--out", tmp_path / "g")
    assert result.exit_code == 0, result.output
    assert read_network(tmp_path / "g").n_links == 2000
    result = cli("simulate", "--network", tmp_path / "g", "--days", 3, "--json", "--out", tmp_path / "s")
    assert json.loads(result.stdout)["network"]["firms"] == 500


def test_simulate_a_named_scenario_from_a_file(tmp_path):
    scenarios = Path(__file__).resolve().parents[1] / "src" / "coreatlas" / "datasets" / "chips" / "scenarios.yaml"
    result = cli(
        "simulate", "--data", "chips", "--scenario", scenarios, "--name", "Taiwan at 30%", "--days", 20, "--json", "--out", tmp_path / "s"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inputs"]["scenario"] == "Taiwan at 30%"
    several = cli("simulate", "--data", "chips", "--scenario", scenarios, "--days", 5, "--out", tmp_path / "t")
    assert several.exit_code == 2 and "choose one with --name" in several.output.replace("\n", " ")
    unknown = cli("simulate", "--data", "chips", "--scenario", scenarios, "--name", "Mars out", "--days", 5, "--out", tmp_path / "u")
    assert unknown.exit_code == 2 and "no scenario named 'Mars out'" in unknown.output.replace("\n", " ")
