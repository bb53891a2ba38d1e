"""MRIO inputs that must be refused with a located message and exit code 2 (issue 12, items 1 and 3):
bad table files, a meta.json pointing outside its folder, and ARIO runs past the stated limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas import services
from coreatlas.analysis import ario
from coreatlas.cli import app
from coreatlas.errors import LimitError, RequestError, ValidationError
from coreatlas.io import mrio as mrio_io

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def message(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tables")
    table = mrio_io.load_test_table()
    return {fmt: mrio_io.write_table_folder(table, root / fmt, fmt=fmt) for fmt in ("csv", "parquet")}


@pytest.fixture
def csv_table(good, tmp_path) -> Path:
    return Path(shutil.copytree(good["csv"], tmp_path / "t"))


def edit_lines(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def refused(folder: Path, *expected: str) -> str:
    result = cli("mrio", "leontief", "--table", folder)
    text = message(result)
    assert result.exit_code == 2, text
    assert "internal error" not in text and "Traceback" not in text
    for part in expected:
        assert part in text, text
    return text


def test_empty_and_header_only_tables(csv_table):
    z = csv_table / "intermediate.csv"
    header = z.read_text().splitlines()[0]
    z.write_text("")
    refused(csv_table, "intermediate.csv, line 1: the file is empty")
    z.write_text(header + "\n")
    refused(csv_table, "intermediate.csv, line 2: the table has no rows")


def test_binary_table(csv_table):
    (csv_table / "final_demand.csv").write_bytes(b"region,sector\n\xff\xfe\x00\x81garbage")
    refused(csv_table, "final_demand.csv, line 2", "not UTF-8 text")


def test_non_numeric_and_negative_values(csv_table):
    z = csv_table / "intermediate.csv"
    edit_lines(z, lambda lines: [*lines[:4], lines[4].rsplit(",", 1)[0] + ",lots", *lines[5:]])
    refused(csv_table, "intermediate.csv, line 5, column 'value': 'lots' is not a non-negative number")
    edit_lines(z, lambda lines: [*lines[:4], lines[4].rsplit(",", 1)[0] + ",-2", *lines[5:]])
    refused(csv_table, "intermediate.csv, line 5, column 'value': '-2' is not a non-negative number")


def test_lines_are_counted_past_blank_lines(csv_table):
    z = csv_table / "intermediate.csv"
    edit_lines(z, lambda lines: [*lines[:2], "", ",,,,", lines[2].rsplit(",", 1)[0] + ",nan?", *lines[3:]])
    refused(csv_table, "intermediate.csv, line 5, column 'value': 'nan?'")


def test_too_many_fields(csv_table):
    z = csv_table / "intermediate.csv"
    edit_lines(z, lambda lines: [*lines[:6], lines[6] + ",1,2", *lines[7:]])
    refused(csv_table, "intermediate.csv, line 7: 7 fields where the header has 5")
    edit_lines(z, lambda lines: [lines[0]] + [line.split(",", 5)[0] + "," + line for line in lines[1:] if line])  # every row one more
    refused(csv_table, "intermediate.csv, line 2: 6 fields where the header has 5")


def test_duplicate_column_and_duplicate_entry(csv_table):
    z = csv_table / "intermediate.csv"
    original = z.read_text()
    z.write_text(original.replace("buyer_sector", "seller_sector", 1))
    refused(csv_table, "intermediate.csv, line 1, column 'seller_sector': column 'seller_sector' appears twice")
    z.write_text(original + original.splitlines()[1] + "\n")
    refused(csv_table, f"line {len(original.splitlines()) + 1}", "given before")


def test_unknown_name_is_located(csv_table):
    edit_lines(csv_table / "intermediate.csv", lambda lines: [*lines[:3], lines[3].replace("reg", "atlantis", 1), *lines[4:]])
    refused(csv_table, "intermediate.csv, line 4, column 'seller_region': 'atlantis1' is an unknown name")


def test_corrupt_parquet(good, tmp_path):
    folder = Path(shutil.copytree(good["parquet"], tmp_path / "t"))
    (folder / "intermediate.parquet").write_bytes(b"PAR1 not really")
    refused(folder, "intermediate.parquet: not a readable Parquet file")


def test_non_numeric_parquet_values_name_the_row(good, tmp_path):
    folder = Path(shutil.copytree(good["parquet"], tmp_path / "t"))
    frame = pd.read_parquet(folder / "final_demand.parquet")
    frame["value"] = frame["value"].astype(str)
    frame.loc[2, "value"] = "n/a"
    frame.to_parquet(folder / "final_demand.parquet")
    refused(folder, "final_demand.parquet, column 'value': row 3: 'n/a' is not a non-negative number")


def rewrite_meta(folder: Path, **changes) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(changes)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.csv", "sub/../../outside.csv"])
def test_meta_files_outside_the_folder_are_refused(csv_table, name):
    (csv_table.parent / "outside.csv").write_text("seller_region,seller_sector,buyer_region,buyer_sector,value\n")
    rewrite_meta(csv_table, files={"Z": name, "Y": "final_demand.csv"})
    text = refused(csv_table, "meta.json, line", "column 'files.Z'", f"'files.Z' is '{name}', outside the table folder")
    assert "root:" not in text  # nothing of the file was read


def test_meta_files_that_are_not_tables(csv_table):
    (csv_table / "notes.txt").write_text("x")
    rewrite_meta(csv_table, files={"Z": "notes.txt", "Y": "final_demand.csv"})
    refused(csv_table, "'files.Z' is 'notes.txt'; expected a .csv or .parquet file")
    rewrite_meta(csv_table, files=["intermediate.csv"])
    refused(csv_table, "'files.Z' must name the table's file")


def test_meta_json_that_is_broken(csv_table):
    meta = csv_table / "meta.json"
    text = meta.read_text()
    meta.write_text(text.replace('"regions": [', '"regions": [,', 1))
    refused(csv_table, "meta.json, line 4: not valid JSON")
    meta.write_text(text)
    rewrite_meta(csv_table, sectors=[])
    refused(csv_table, "meta.json, line", "'sectors' must be a non-empty list of distinct, non-blank names")
    rewrite_meta(csv_table, sectors=["a", "a"])
    refused(csv_table, "'sectors' must be a non-empty list of distinct")


def test_meta_json_asking_for_a_huge_table(csv_table):
    rewrite_meta(csv_table, regions=[f"r{i}" for i in range(3000)], sectors=[f"s{i}" for i in range(200)])
    with pytest.raises(LimitError, match=f"above the limit of {mrio_io.MAX_DENSE_VALUES:,}"):
        mrio_io.read_table_folder(csv_table)


# ---- ARIO runs ------------------------------------------------------------------------------
def test_a_hundred_million_days_is_refused_at_once():
    result = cli("mrio", "simulate", "--shock", "reg1:food=0.1", "--days", 100_000_000)
    assert result.exit_code == 2
    assert f"--days: 100,000,000 days is above the limit of {ario.MAX_DAYS:,} days" in message(result)


def test_days_times_industries_past_the_limit_names_it():
    with pytest.raises(LimitError, match=f"above the limit of {ario.MAX_DAILY_VALUES:,}; simulate at most 666 days") as info:
        ario.check_run_size(1000, 30_000)
    assert info.value.field == "days" and str(info.value).startswith("days: 1,000 days x 30,000 industries")
    ario.check_run_size(666, 30_000)  # within the limit


def test_zero_days_is_a_clean_error():
    result = cli("mrio", "simulate", "--shock", "reg1:food=0.1", "--days", 0)
    assert result.exit_code == 2 and "--days" in message(result) and "internal error" not in message(result)
    with pytest.raises(RequestError) as info:
        services.run("mrio-simulate", {"shocks": ["reg1:food=0.1"], "days": 0})
    assert info.value.field == "days"
    with pytest.raises(RequestError, match="days: must be at least 1"):
        ario.check_run_size(0, 48)


def test_the_service_refuses_a_float_day_count_past_the_limit():
    with pytest.raises(LimitError) as info:
        services.run("mrio-simulate", {"shocks": ["reg1:food=0.1"], "days": 1e8})
    assert info.value.field == "days"


def test_mrio_out_check_runs_before_the_table_is_read(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{")
    result = cli("mrio", "leontief", "--table", broken, "--out", broken)
    assert result.exit_code == 2 and "--out: " in message(result) and "is also an input" in message(result)


def test_errors_carry_the_table_field(csv_table):
    (csv_table / "intermediate.csv").write_text("")
    with pytest.raises(ValidationError) as info:
        services.run("mrio-leontief", {"table": str(csv_table)})
    assert info.value.field == "table" and info.value.problems[0].line == 1
