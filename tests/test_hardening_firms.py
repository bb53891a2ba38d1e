"""Issue 12: every bad firm-network input is a located user error (exit 2), never an internal
error or a quiet wrong answer; absurd sizes are refused with the limit named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas import services
from coreatlas.analysis.synthetic import scale_free_network
from coreatlas.cli import app
from coreatlas.errors import DataSourceError, LimitError, RequestError, ValidationError
from coreatlas.io.firmdata import read_network, read_network_files, read_shocks, write_network

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def refused(result, *parts: str) -> str:
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "internal error" not in text and "Traceback" not in text
    for part in parts:
        assert part in text, text
    return text


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    (tmp_path / "links.txt").write_text("1 2 100\n2 1 100\n")
    (tmp_path / "fd.txt").write_text("1 100\n2 100\n")
    (tmp_path / "sec.txt").write_text("1 7 0\n2 8 0\n")
    return tmp_path


def simulate(toy: Path, *extra, links="links.txt", fd="fd.txt"):
    return cli("simulate", "--links", toy / links, "--final-demand", toy / fd, "--days", 3, "--out", toy / "run", *extra)


# ---- encodings and ids -------------------------------------------------------------------------
def test_latin1_file_names_encoding_file_and_line(toy):
    (toy / "fd1.txt").write_bytes(b"1 100\n2 caf\xe9\n")
    refused(simulate(toy, fd="fd1.txt"), "fd1.txt, line 2", "not UTF-8", "0xe9", "Latin-1")
    (toy / "sec1.csv").write_bytes(b"firm,sector\n1,a\n2,\xe9lectronique\n")
    refused(simulate(toy, "--sectors", toy / "sec1.csv"), "sec1.csv, line 3", "not UTF-8")


def test_mixed_string_and_integer_ids_are_one_kind(tmp_path):
    (tmp_path / "links.csv").write_text("supplier,client,amount\n7,acme,2\nacme,7,1\n")
    (tmp_path / "fd.txt").write_text("7 5\nacme 3\n")
    (tmp_path / "sec.csv").write_text("firm,sector\n7,tools\nacme,chips\n")
    net = read_network_files(tmp_path / "links.csv", tmp_path / "fd.txt", tmp_path / "sec.csv")
    assert net.firm_ids.tolist() == ["7", "acme"] and net.sector_names == ("chips", "tools")
    assert net.baseline_output.tolist() == [7.0, 4.0] and net.sector.tolist() == [1, 0]
    (tmp_path / "shocks.txt").write_text("7 0.5\n")
    assert read_shocks(tmp_path / "shocks.txt", net).firm.tolist() == [0]
    result = cli("simulate", "--links", tmp_path / "links.csv", "--final-demand", tmp_path / "fd.txt",
                 "--shocks", tmp_path / "shocks.txt", "--days", 3, "--json", "--out", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_integer_ids_written_as_text_or_numbers_are_the_same_firm(tmp_path):
    (tmp_path / "links.csv").write_text("supplier,client,amount\n1,2,2\n2,1,1\n")
    (tmp_path / "fd.txt").write_text("1 5\n2 3\n")
    pd.DataFrame({"firm": ["1", "2"], "sector": ["a", "b"]}).to_parquet(tmp_path / "sec.parquet")
    net = read_network_files(tmp_path / "links.csv", tmp_path / "fd.txt", tmp_path / "sec.parquet")
    assert net.firm_ids.tolist() == [1, 2] and net.sector_names == ("a", "b")


@pytest.mark.parametrize("bad", ["2.5", "1e30", "99999999999999999999"])
def test_firm_ids_that_are_numbers_but_not_integers(toy, bad):
    (toy / "l1.txt").write_text(f"1 2 100\n{bad} 1 100\n")
    refused(simulate(toy, links="l1.txt"), "l1.txt, line 2, column 'supplier'", f"firm id '{bad}'", "not an integer")


def test_shock_on_a_firm_id_of_another_kind(toy):
    (toy / "s1.txt").write_text("1 0.5\nacme 0.2\n")
    refused(simulate(toy, "--shocks", toy / "s1.txt"), "s1.txt, line 2, column 'firm'", "firm 'acme' is not in the network")


# ---- values ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 100\n2 1 1e400\n", "line 2, column 'amount': flow inf overflows"),
        ("1 2 100\n2 1 nan\n", "line 2, column 'amount'"),
        ("1 2 100\n\n# a comment\n2 1 -3\n", "line 4, column 'amount': flow -3.0 must be a positive number"),
        ("1 2 1e308\n1 3 1e308\n3 1 1\n", "the sales of firm '1' add up beyond the largest number"),
    ],
)
def test_link_amounts_that_overflow_or_are_not_positive(toy, text, message):
    (toy / "l2.txt").write_text(text)
    (toy / "fd3.txt").write_text("1 1\n2 1\n3 1\n")
    refused(simulate(toy, links="l2.txt", fd="fd3.txt"), "l2.txt", message)


def test_final_demand_negative_or_twice(toy):
    (toy / "fd4.txt").write_text("1 100\n2 -1\n")
    refused(simulate(toy, fd="fd4.txt"), "fd4.txt, line 2, column 'amount': final demand -1.0 must be a finite number of at least 0")
    (toy / "fd5.txt").write_text("1 100\n2 100\n1 5\n")
    refused(simulate(toy, fd="fd5.txt"), "fd5.txt, line 3, column 'firm': firm '1' is listed twice", "(first on line 1)")


def test_a_firm_in_two_sectors(toy):
    (toy / "sec2.txt").write_text("1 7 0\n2 8 0\n2 9 0\n")
    refused(simulate(toy, "--sectors", toy / "sec2.txt"), "sec2.txt, line 3, column 'firm': firm '2' is listed twice; a firm has one sector")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 0.5 5 3\n", "line 1, column 'end_day': end day 3 must come after the start day 5"),
        ("1 0.5 2 2\n", "end day 2 must come after the start day 2"),
        ("1 0.5 0\n2 0.5 1.5\n", "line 2, column 'start_day': day 1.5 is not a whole number of days"),
        ("1 0.5 0 7.25\n", "column 'end_day': day 7.25 is not a whole number"),
        ("1 0.5 -2\n", "column 'start_day': start day -2 must be 0 or later"),
    ],
)
def test_shock_days(toy, text, message):
    (toy / "s2.txt").write_text(text)
    refused(simulate(toy, "--shocks", toy / "s2.txt"), "s2.txt", message)


def test_header_only_and_duplicate_columns(toy):
    (toy / "l3.csv").write_text("supplier,client,amount\n")
    refused(simulate(toy, links="l3.csv"), "l3.csv", "the table has no rows")
    (toy / "l4.csv").write_text("supplier,client,amount,amount\n1,2,3,4\n")
    refused(simulate(toy, links="l4.csv"), "l4.csv", "column 'amount' appears twice")


# ---- network folders -------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_network(scale_free_network(50, 200, n_sectors=3, n_regions=2, seed=1), tmp_path / "net")


def test_network_folder_whose_firms_table_lacks_a_column(folder):
    firms = pd.read_parquet(folder / "firms.parquet").drop(columns=["final_demand"])
    firms.to_parquet(folder / "firms.parquet")
    refused(cli("simulate", "--network", folder, "--days", 2, "--out", folder.parent / "r"),
            "firms.parquet", "missing column(s) final_demand")  # fmt: skip


def test_network_folder_with_nulls(folder):
    firms = pd.read_parquet(folder / "firms.parquet")
    firms.loc[4, "final_demand"] = None
    firms.to_parquet(folder / "firms.parquet")
    refused(cli("simulate", "--network", folder, "--days", 2, "--out", folder.parent / "r"),
            "firms.parquet, line 5, column 'final_demand': missing value")  # fmt: skip
    firms.loc[4, "final_demand"] = 1.0
    firms.loc[7, "firm"] = None
    firms.to_parquet(folder / "firms.parquet")
    with pytest.raises(ValidationError, match=r"line 8, column 'firm': missing value") as info:
        services.run("simulate", {"network_dir": str(folder), "days": 2})
    assert info.value.field == "network_dir"


def test_corrupt_network_folder(folder):
    (folder / "firms.parquet").write_bytes(b"PAR1 not really parquet")
    text = refused(cli("simulate", "--network", folder, "--days", 2, "--out", folder.parent / "r"), "firms.parquet")
    assert "cannot read parquet file" in text
    with pytest.raises(DataSourceError):
        read_network(folder)


def test_network_folder_listing_fewer_firms_than_its_links_use(folder):
    firms = pd.read_parquet(folder / "firms.parquet")
    links = pd.read_parquet(folder / "links.parquet")
    used = int(links["client"].iloc[10])
    firms[firms["firm"] != used].to_parquet(folder / "firms.parquet")
    as_supplier = np.flatnonzero((links["supplier"] == used).to_numpy())
    column, row = ("supplier", as_supplier[0]) if as_supplier.size else ("client", np.flatnonzero((links["client"] == used).to_numpy())[0])
    refused(cli("simulate", "--network", folder, "--days", 2, "--out", folder.parent / "r"),
            f"links.parquet, line {row + 1}, column '{column}': firm '{used}' is not listed in firms.parquet")  # fmt: skip


# ---- requests and limits -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--firms", "0"), "--firms"),
        (("--firms", "-5"), "--firms"),
        (("--links", "0"), "--links"),
        (("--sectors", "0"), "--sectors"),
        (("--regions", "-1"), "--regions"),
        (("--seed", "-1"), "--seed"),
        (("--firms", "100000000"), "--firms is 100,000,000; the limit of a generated network is 10,000,000 firms"),
        (("--firms", "1000000", "--links", "1000000000"), "the limit of a generated network is 20,000,000 links"),
    ],
)
def test_generate_refuses_non_positive_counts_seeds_and_absurd_sizes(tmp_path, args, message):
    refused(cli("generate", "--firms", 100, "--links", 300, *args, "--out", tmp_path / "g"), message)
    assert not (tmp_path / "g").exists()


def test_absurd_days_refused_with_the_limit_named(toy):
    refused(simulate(toy, "--days", "100000000"), "--days is 100,000,000; the limit is 36,500 days")
    with pytest.raises(LimitError, match="the limit is 36,500 days") as info:
        services.run("simulate", {"links": str(toy / "links.txt"), "final_demand": str(toy / "fd.txt"), "days": 100_000_000})
    assert info.value.field == "days"
    with pytest.raises(LimitError) as info:
        services.run("simulate", {"generated": {"firms": 50_000_000, "links": 10}, "days": 1})
    assert info.value.field == "firms"


def test_recorded_values_are_bounded(tmp_path):
    with pytest.raises(LimitError, match="recorded values allows") as info:
        services.run("simulate", {"generated": {"firms": 20_000, "links": 40_000}, "days": 20_000, "firm_series": True})
    assert info.value.field == "days"


def test_data_with_links_is_refused(toy):
    text = refused(cli("simulate", "--data", "chips", "--remove-country", "TWN", "--links", toy / "links.txt",
                       "--final-demand", toy / "fd.txt", "--out", toy / "r"), "give one network source")  # fmt: skip
    assert "--data" in text
    with pytest.raises(RequestError) as info:
        services.run("simulate", {"data": "chips", "links": str(toy / "links.txt"), "final_demand": str(toy / "fd.txt")})
    assert info.value.field == "data"


def test_errors_name_the_file_field(toy):
    (toy / "fd6.txt").write_text("1 x\n")
    with pytest.raises(ValidationError) as info:
        services.run("simulate", {"links": str(toy / "links.txt"), "final_demand": str(toy / "fd6.txt"), "days": 2})
    assert info.value.field == "final_demand" and info.value.problems[0].line == 1
