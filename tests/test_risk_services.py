"""Measures, the investment service, rankings and the risk commands end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.measures import savings, with_capacity
from coreatlas.analysis.propagate import build_propagator
from coreatlas.analysis.ranking import extraction_sweep, structural_dominators
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.cli import app
from coreatlas.errors import ValidationError
from coreatlas.io.measure_file import read_measures
from coreatlas.io.risknet_file import read_risk_network, write_risk_network
from coreatlas.model.measures import Measure
from coreatlas.model.risknet import risk_network
from maps import make_map

runner = CliRunner()
EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples"
MEASURES, HAZARDS = EXAMPLES / "measures-chips.yaml", EXAMPLES / "hazards-chips.yaml"


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def chip_map():
    return make_map(provision=[("fab", "TWN", 0.6), ("fab", "USA", 0.4)], relations=[("chip", "uses", "fab")])


TAIWAN = [mc.Hazard(name="taiwan", targets=("TWN",), annual_probability=1.0, duration_days=mc.Distribution(kind="fixed", params=(36.5,)))]


def one_event():
    return pd.DataFrame({"year": [0], "hazard": [0], "depth": [1.0], "days": [36.5], "mix": [0.5]})


def test_capacity_dilutes_and_saves_by_hand():
    """A US site of 25% more: Taiwan holds 0.6/1.25 = 48%; losing it costs 48% instead of 60%."""
    tm = with_capacity(chip_map(), "fab", "USA", 0.25)
    shares = tm.provision.groupby("provider_id")["share"].sum()
    assert shares["TWN"] == pytest.approx(0.48) and shares["USA"] == pytest.approx(0.52)
    model = mc.ensemble_model(build_propagator(chip_map()), TAIWAN)
    base, saving = savings(
        model, TAIWAN, one_event(), [Measure(id="us", kind="capacity", cost_usd=1.0, node="fab", country="USA", added_share=0.25)]
    )
    assert base[0] == pytest.approx(0.6 * 0.1) and saving[0, 0] == pytest.approx((0.6 - 0.48) * 0.1)


def test_stockpile_covers_days_of_the_shortfall():
    """60 days of fab output against a 60% shortfall last 100 days: a 36.5-day event is covered;
    10 days of stock cover 10/0.6 = 16.7 of the 36.5 days."""
    model = mc.ensemble_model(build_propagator(chip_map()), TAIWAN)
    stocks = [
        Measure(id="big", kind="stockpile", cost_usd=1.0, node="fab", days=60),
        Measure(id="small", kind="stockpile", cost_usd=1.0, node="fab", days=10),
    ]
    _, saving = savings(model, TAIWAN, one_event(), stocks)
    np.testing.assert_allclose(saving[0], [0.06, 0.06 * (10 / 0.6) / 36.5])


def test_extraction_sweep_and_single_points_by_hand():
    sweep = extraction_sweep(build_propagator(chip_map())).set_index("id")
    assert sweep.loc["TWN", "output_loss"] == pytest.approx(0.6) and sweep.loc["fab", "output_loss"] == 1.0
    assert sweep.loc["fab", "outputs_cut_off"] == 1 and sweep.loc["TWN", "outputs_cut_off"] == 0


def test_structural_dominators_and_or():
    """P needs materials a (from A or B) and c (from C only): C dominates P, A and B do not."""
    net = risk_network(
        ["P", "A", "B", "C"], [1.0] * 4, [0.0] * 4, [1.0, 0, 0, 0], [1.0] * 4, [1, 2, 3], [0, 0, 0], [0, 0, 1], [1.0, 1.0, 1.0]
    )
    dominated = structural_dominators(net)
    assert dominated[3, 0] and not dominated[1, 0] and not dominated[2, 0] and dominated[0, 0]


def test_risk_network_folder_round_trip(tmp_path):
    net = multi_tier_network((3, 6, 9), seed=2)
    back = read_risk_network(write_risk_network(net, tmp_path / "net"))
    np.testing.assert_allclose(back.capacity, net.capacity)
    assert back.n_edges == net.n_edges
    (tmp_path / "net" / "edges.csv").write_text("supplier,consumer,material,ratio\nt1-0,nowhere,m,1\n")
    with pytest.raises(ValidationError, match=r"edges\.csv, line 2, column 'consumer': unknown node 'nowhere'"):
        read_risk_network(tmp_path / "net")


def test_measure_file_errors(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("measures:\n  - {id: a, kind: capacity, node: fab, cost_usd: 1e9}\n")
    with pytest.raises(ValidationError, match="needs a country and added_share"):
        read_measures(path)
    path.write_text("measures:\n  - {id: a, kind: magic, node: fab, cost_usd: 1}\n")
    with pytest.raises(ValidationError, match="kind 'magic' is not one of"):
        read_measures(path)
    path.write_text("measures:\n  - {id: a, kind: stockpile, node: fab, days: 9, cost_usd: lots}\n")
    with pytest.raises(ValidationError, match="line 2, column 'cost_usd': expected a number, got 'lots'"):
        read_measures(path)


def test_invest_command_and_budget_monotone():
    base = ["invest", "--data", "chips", "--measures", MEASURES, "--hazards", HAZARDS, "--years", 400, "--json"]
    small = json.loads(cli(*base, "--budget", 1e9).stdout)
    large = json.loads(cli(*base, "--budget", 30e9).stdout)
    assert large["expected_loss_after"] <= small["expected_loss_after"] + 1e-12
    assert small["cost_usd"] <= 1e9 and small["provenance"]["dataset"] == "chips" and small["provenance"]["seed"] == 1
    assert len(small["provenance"]["content_hash"]) == 16


def test_invest_default_budget_is_the_named_commitments():
    result = cli("invest", "--data", "chips", "--measures", MEASURES, "--hazards", HAZARDS, "--years", 200, "--json")
    assert json.loads(result.stdout)["budget_usd"] == pytest.approx(39e9 + 13.2e9)


def test_risk_commands(tmp_path):
    result = cli("risk", "ttr", "--generate", "5,10,20", "--json", "--out", tmp_path / "ttr")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert len(rows) == 35 and {"pi", "rei", "tts_days", "ttr_exceeds_tts"} <= set(rows[0])
    assert (tmp_path / "ttr" / "rei.png").read_bytes()[:4] == b"\x89PNG"
    assert cli("risk", "tts", "--generate", "5,10,20", "--csv").stdout.startswith("node,tier")
    ranked = json.loads(cli("risk", "rank", "--data", "sequencing", "--json").stdout)
    assert ranked["single_points"] and ranked["ranking"] and "rank_static_loss" in ranked["agreement_spearman"]


def test_montecarlo_command(tmp_path):
    args = (
        "montecarlo",
        "--data",
        "chips",
        "--hazards",
        HAZARDS,
        "--years",
        3000,
        "--scheduler",
        "serial",
        "--json",
        "--out",
        tmp_path / "mc",
    )
    result = cli(*args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"][0]["series"] == "total" and summary["provenance"]["request"]["years"] == 3000
    assert (tmp_path / "mc" / "exceedance.png").is_file()
    short = ("montecarlo", "--data", "chips", "--hazards", HAZARDS, "--years", 100, "--scheduler", "serial", "--json")
    static, dynamic = json.loads(cli(*short).stdout), json.loads(cli(*short, "--engine", "dynamic").stdout)
    assert dynamic["provenance"]["request"]["engine"] == "dynamic" and static["provenance"]["request"]["engine"] == "static"
    assert dynamic["rows"][0]["expected_loss"] != static["rows"][0]["expected_loss"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("risk", "ttr"), "give exactly one of --network DIR, --data MAP or --generate"),
        (("risk", "ttr", "--generate", "5,x"), "expected nodes per tier as positive integers"),
        (("montecarlo", "--data", "chips", "--hazards", HAZARDS, "--levels", "2"), "expected fractions in (0, 1)"),
        (("montecarlo", "--data", "chips", "--hazards", HAZARDS, "--scheduler", "bogus"), "unknown scheduler 'bogus'"),
        (("invest", "--data", "chips", "--measures", MEASURES), "give --hazards FILE"),
        (("invest", "--data", "chips", "--measures", MEASURES, "--target", "0.3"), "cannot reach 30% at"),
    ],
)
def test_bad_input(args, message):
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output.replace("\n", " ") and "Traceback" not in result.output
