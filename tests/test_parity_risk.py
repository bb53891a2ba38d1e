"""The risk group through its service API: CLI ``--json`` equals the use case for the same
request, YAML files and dicts give equal requests, every result follows the protocol."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from coreatlas import services
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.errors import RequestError, ValidationError
from coreatlas.io.hazard_file import read_hazards
from coreatlas.io.measure_file import read_measures
from coreatlas.io.risknet_file import write_risk_network
from coreatlas.services.invest import InvestRequest
from coreatlas.services.risk import MonteCarloRequest, RankRequest, RiskRequest
from parity import assert_parity

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HAZARDS, MEASURES = str(EXAMPLES / "hazards-chips.yaml"), str(EXAMPLES / "measures-chips.yaml")
MC = ("--data", "chips", "--hazards", HAZARDS, "--years", "500", "--scheduler", "serial")

CASES = [
    (("risk", "ttr", "--generate", "5,10,20"), "ttr", RiskRequest(tiers=(5, 10, 20))),
    (("risk", "ttr", "--generate", "4,8", "--measure", "profit", "--seed", "3"), "ttr", {"tiers": [4, 8], "measure": "profit", "seed": 3}),
    (("risk", "tts", "--generate", "5,10,20"), "tts", RiskRequest(tiers=(5, 10, 20))),
    (("risk", "rank", "--data", "sequencing", "--kind", "country"), "rank", RankRequest(data="sequencing", kind="country")),
    (("montecarlo", *MC), "montecarlo", MonteCarloRequest(data="chips", hazards_file=HAZARDS, years=500, scheduler="serial")),
    (("montecarlo", *MC, "--levels", "0.9", "--engine", "dynamic", "--years", "50"), "montecarlo",
     {"hazards_file": HAZARDS, "years": 50, "scheduler": "serial", "levels": [0.9], "engine": "dynamic"}),
    (("invest", "--measures", MEASURES, "--hazards", HAZARDS, "--years", "200", "--budget", "5e9"), "invest",
     InvestRequest(measures_file=MEASURES, hazards_file=HAZARDS, years=200, budget=5e9)),
    (("invest", "--measures", MEASURES, "--target", "0.005"), "invest", InvestRequest(measures_file=MEASURES, target=0.005)),
]  # fmt: skip


@pytest.mark.parametrize(("args", "name", "request_"), CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_cli_json_equals_the_service(args, name, request_):
    assert_parity(args, name, request_)


def test_hazard_file_and_dict_give_equal_requests(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("hazards:\n  - name: a\n    targets: TWN\n    annual_probability: 0.1\n    duration_days: 30\n"
                    "  - targets: [JPN, KOR]\n    annual_probability: 0.2\n    duration_days: {uniform: [5, 10]}\n"
                    "    depth: {kind: beta, params: [2, 3]}\n")  # fmt: skip
    inline = [
        {"name": "a", "targets": ["TWN"], "annual_probability": 0.1, "duration_days": {"fixed": [30]}},
        {"targets": "JPN,KOR", "annual_probability": 0.2, "duration_days": {"kind": "uniform", "params": [5, 10]},
         "depth": {"beta": [2, 3]}},
    ]  # fmt: skip
    from_dict = MonteCarloRequest(hazards=inline)
    assert MonteCarloRequest(hazards=read_hazards(path)) == from_dict
    assert from_dict.hazards[1].name == "hazard 2"
    assert services.parse_request(MonteCarloRequest, from_dict.to_dict()) == from_dict  # JSON round trip


def test_measure_file_and_dict_give_equal_requests():
    import yaml

    data = yaml.safe_load(Path(MEASURES).read_text())
    assert InvestRequest(measures=read_measures(MEASURES)) == InvestRequest(measures=data["measures"])


def test_request_errors_name_their_fields():
    with pytest.raises(RequestError) as caught:
        services.parse_request(MonteCarloRequest, {"hazards": [{"targets": ["TWN"], "annual_probability": 3, "duration_days": 1}]})
    assert caught.value.field == "hazards[0].annual_probability"
    with pytest.raises(RequestError) as caught:
        services.parse_request(RankRequest, {"kind": "planet"})
    assert caught.value.field == "kind"
    with pytest.raises(RequestError, match="unknown target"):
        services.run("montecarlo", {"hazards": [{"targets": ["MARS"], "annual_probability": 0.1, "duration_days": 1}]})


def test_unknown_target_in_a_file_names_its_line(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("hazards:\n  - name: a\n    targets: [TWN]\n    annual_probability: 0.1\n    duration_days: 3\n"
                    "  - name: b\n    targets: [MARS]\n    annual_probability: 0.1\n    duration_days: 3\n")  # fmt: skip
    with pytest.raises(ValidationError, match=r"h\.yaml, line 7, column 'targets'.*unknown target\(s\) MARS"):
        services.run("montecarlo", {"hazards_file": str(path), "years": 10, "scheduler": "serial"})


RESULTS = [
    ("ttr", {"tiers": [3, 6]}),
    ("tts", {"tiers": [3, 6]}),
    ("rank", {"data": "sequencing"}),
    ("montecarlo", {"hazards_file": HAZARDS, "years": 100, "scheduler": "serial"}),
    ("invest", {"measures_file": MEASURES, "hazards_file": HAZARDS, "years": 100}),
    ("invest", {"measures_file": MEASURES, "target": 0.005}),
]


@pytest.mark.parametrize(("name", "request_"), RESULTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(RESULTS)])
def test_every_result_follows_the_protocol(name, request_, tmp_path):
    result = services.run(name, request_)
    doc = result.to_dict()
    assert "provenance" in doc and isinstance(result.to_frame(), pd.DataFrame)
    assert {"dataset", "version", "content_hash", "request", "seed", "software", "created_at"} <= set(doc["provenance"])
    folder = services.save_result(result, tmp_path / "out")
    assert (folder / "summary.json").is_file() and all((folder / f"{t}.csv").is_file() for t in result.tables())
    assert all((folder / f"{c}.png").is_file() and (folder / f"{c}.vl.json").is_file() for c in result.charts())


def test_result_folders_keep_their_file_names(tmp_path):
    ttr = services.save_result(services.run("ttr", {"tiers": [3, 6]}), tmp_path / "ttr")
    assert {"risk.csv", "summary.json", "rei.png", "rei.vl.json"} <= {p.name for p in ttr.iterdir()}
    mc = services.save_result(services.run("montecarlo", {"hazards_file": HAZARDS, "years": 100, "scheduler": "serial"}), tmp_path / "mc")
    assert {"statistics.csv", "annual_losses.csv", "exceedance.png", "exceedance.vl.json"} <= {p.name for p in mc.iterdir()}


def test_content_hash_follows_the_network(tmp_path):
    net = multi_tier_network((3, 6), seed=1)
    first = services.run("ttr", {"network_dir": str(write_risk_network(net, tmp_path / "a"))})
    nodes = pd.read_csv(tmp_path / "a" / "nodes.csv")
    nodes.loc[0, "capacity"] *= 2
    nodes.to_csv(tmp_path / "a" / "nodes.csv", index=False)
    second = services.run("ttr", {"network_dir": str(tmp_path / "a")})
    assert first.provenance.content_hash != second.provenance.content_hash


def test_progress_reports_done_of_total():
    calls = []
    services.run("ttr", {"tiers": [3, 6]}, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (9, 9) and [d for d, _ in calls] == list(range(1, 10))


def test_reading_a_hazard_file_loads_no_engine():
    code = f"import sys; from coreatlas.io.hazard_file import read_hazards; read_hazards({HAZARDS!r}); " \
           "print('numba' in sys.modules, 'coreatlas.analysis.montecarlo' in sys.modules)"  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == ["False", "False"]
