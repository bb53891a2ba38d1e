"""The `mrio` commands end to end on pymrio's test table, and their bad-input messages."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas.cli import app

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_leontief_and_extraction_json():
    rows = json.loads(cli("mrio", "leontief", "--json").stdout)["rows"]
    assert len(rows) == 48 and rows[0]["output_multiplier"] >= rows[-1]["output_multiplier"] > 1.0
    extraction = json.loads(cli("mrio", "extraction", "--by", "region", "--json").stdout)["rows"]
    assert len(extraction) == 6 and all(r["output_loss"] > 0 for r in extraction)
    assert cli("mrio", "dependence", "--csv").stdout.startswith("consumer_region,supplier_region")


def test_simulate_writes_trajectories(tmp_path):
    result = cli("mrio", "simulate", "--shock", "reg1:manufactoring=0.3", "--days", 60, "--json", "--out", tmp_path / "ario")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert 0.9 < summary["trough_share"] < 1.0 and summary["industries"] == 48
    production = pd.read_csv(tmp_path / "ario" / "production.csv")
    assert len(production) == 60 and "reg1:manufactoring" in production.columns
    assert (tmp_path / "ario" / "production_by_region.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mrio", "extraction", "--by", "planet"), "--by must be one of region, sector, industry"),
        (("mrio", "simulate", "--shock", "reg1-manufactoring"), "expected REGION:SECTOR=VALUE"),
        (("mrio", "simulate", "--shock", "mars:manufactoring=0.3"), "no industry mars:manufactoring"),
        (("mrio", "simulate", "--shock", "reg1:manufactoring=3"), "expected a share in (0, 1]"),
        (("mrio", "leontief", "--table", "/nonexistent"), "not a folder"),
    ],
)
def test_bad_input(args, message):
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output.replace("\n", " ") and "Traceback" not in result.output
