"""``simulate`` and ``generate``: the CLI's ``--json`` equals the service's result for the same
request; requests from YAML equal requests from dicts; every result carries its provenance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas import services
from coreatlas.cli import app
from coreatlas.errors import RequestError, ValidationError
from coreatlas.io.yamlfile import load_yaml, validate_yaml
from coreatlas.model.dynamics import DynamicsParams
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.services.simulate import GenerateRequest, GenerateResult, NetworkSpec, SimulationRequest, SimulationRun
from parity import assert_parity, service_json

CHIPS = Path(__file__).resolve().parents[1] / "src" / "coreatlas" / "datasets" / "chips"
PROVENANCE_KEYS = {"dataset", "version", "content_hash", "request", "seed", "software", "created_at"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy")
    (folder / "links.txt").write_text("1 2 100\n2 1 100\n")
    (folder / "final_demand.txt").write_text("1 100\n2 100\n")
    (folder / "sectors.txt").write_text("1 1001 0\n2 1002 0\n")
    (folder / "delta.txt").write_text("1 0.1\n")
    return folder


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("net") / "g"
    services.run("generate", GenerateRequest(firms=300, links=1200, sectors=7, regions=3, seed=4, out=str(folder)))
    return folder


def _files(d: Path, **more) -> dict:
    return {"links": str(d / "links.txt"), "final_demand": str(d / "final_demand.txt"), "sectors": str(d / "sectors.txt"),
            "shocks": str(d / "delta.txt"), **more}  # fmt: skip


CASES = {
    "files, linear by default": (
        lambda d, n, o: ["simulate", "--links", d / "links.txt", "--final-demand", d / "final_demand.txt", "--sectors", d / "sectors.txt",
                         "--shocks", d / "delta.txt", "--days", 20, "--recovery-days", 10, "--out", o],
        lambda d, n: SimulationRequest(**_files(d), days=20, params=DynamicsParams(recovery_days=10)),
    ),
    "files, priority and exponential": (
        lambda d, n, o: ["simulate", "--links", d / "links.txt", "--final-demand", d / "final_demand.txt", "--sectors", d / "sectors.txt",
                         "--shocks", d / "delta.txt", "--days", 15, "--rationing", "priority", "--recovery", "exponential",
                         "--recovery-days", 5, "--firm-series", "--out", o],
        lambda d, n: SimulationRequest(**_files(d), days=15, firm_series=True,
                                       params=DynamicsParams(rationing="priority", recovery="exponential", recovery_days=5)),
    ),
    "network folder": (
        lambda d, n, o: ["simulate", "--network", n, "--days", 5, "--inventory-draw", "poisson", "--seed", 3, "--out", o],
        lambda d, n: SimulationRequest(network_dir=str(n), days=5, params=DynamicsParams(inventory_draw="poisson", seed=3)),
    ),
    "map and options": (
        lambda d, n, o: ["simulate", "--data", "chips", "--remove-country", "TWN", "--days", 12, "--recovery-days", 20, "--out", o],
        lambda d, n: SimulationRequest(data="chips", scenarios=[ScenarioSpec(name="remove TWN", remove_countries=("TWN",))], days=12,
                                       params=DynamicsParams(recovery_days=20)),
    ),
    "map and a named scenario of a file": (
        lambda d, n, o: ["simulate", "--data", "chips", "--scenario", CHIPS / "scenarios.yaml", "--name", "Taiwan at 30%", "--days", 8,
                         "--shock-day", 2, "--input-share", 0.4, "--out", o],
        lambda d, n: SimulationRequest(data="chips", scenario_file=str(CHIPS / "scenarios.yaml"), scenario_name="Taiwan at 30%", days=8,
                                       shock_day=2, input_share=0.4),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_simulate_parity(case, toy, network_dir, tmp_path):
    cli_args, request = CASES[case]
    doc = assert_parity(tuple(str(a) for a in cli_args(toy, network_dir, tmp_path / "run")), "simulate", request(toy, network_dir))
    assert (tmp_path / "run" / "summary.json").is_file()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["losses"] == doc["losses"]


@pytest.mark.parametrize(("args", "request_data"), [
    (("--firms", "400", "--links", "1500", "--sectors", "9", "--regions", "4", "--seed", "8"),
     {"firms": 400, "links": 1500, "sectors": 9, "regions": 4, "seed": 8}),
    (("--firms", "300", "--links", "900", "--degrees", "poisson", "--out-exponent", "2", "--in-exponent", "1.5"),
     {"firms": 300, "links": 900, "degrees": "poisson", "out_exponent": 2.0, "in_exponent": 1.5}),
])  # fmt: skip
def test_generate_parity(args, request_data, tmp_path):
    out = tmp_path / "net"
    doc = assert_parity(("generate", *args, "--out", str(out)), "generate", GenerateRequest(**request_data, out=str(out)))
    assert doc["network"]["links"] == request_data["links"] and (out / "links.parquet").is_file() and (out / "firms.parquet").is_file()


# ---- requests from YAML and from dicts ----------------------------------------------------------
def test_a_request_from_yaml_equals_one_from_a_dict(tmp_path, toy):
    data = {"links": str(toy / "links.txt"), "final_demand": str(toy / "final_demand.txt"), "days": 40,
            "params": {"rationing": "priority", "recovery_days": 12, "inventory_days": 10}}  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(f"links: {data['links']}\nfinal_demand: {data['final_demand']}\ndays: 40\n"
                    "params:\n  rationing: priority\n  recovery_days: 12\n  inventory_days: 10\n")  # fmt: skip
    from_yaml = validate_yaml(load_yaml(path, "a simulation request"), SimulationRequest)
    from_dict = services.parse_request(SimulationRequest, data)
    assert from_yaml == from_dict and from_yaml.params.recovery == "linear"  # a recovery time alone: linear recovery
    assert from_dict == SimulationRequest(**{**data, "params": DynamicsParams(**data["params"])})


def test_a_scenario_in_a_file_equals_the_same_scenario_inline(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: Taiwan at 30%\ncapacity: {TWN: 0.3}\n")
    from_file = service_json("simulate", SimulationRequest(data="chips", scenario_file=str(path), days=10))
    inline = service_json("simulate", SimulationRequest(data="chips", scenarios=[{"name": "Taiwan at 30%", "capacity": {"TWN": 0.3}}], days=10))
    assert from_file["losses"] == inline["losses"] and from_file["inputs"] == inline["inputs"]


def test_a_bad_parameter_in_yaml_is_located(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("rationing: priority\nrecovery: slow\nrecovery_days: 3\n")
    with pytest.raises(ValidationError) as info:
        validate_yaml(load_yaml(path, "dynamics parameters"), DynamicsParams)
    problem = info.value.problems[0]
    assert problem.file == str(path) and problem.line == 2 and "recovery 'slow' is not one of" in problem.message


# ---- the requests' own checks ---------------------------------------------------------------------
@pytest.mark.parametrize(("data", "field"), [
    ({}, "network_dir"),
    ({"links": "l.txt", "final_demand": "f.txt", "network_dir": "n"}, "network_dir"),
    ({"links": "l.txt"}, "final_demand"),
    ({"network_dir": "n", "scenario_file": "s.yaml"}, "data"),
    ({"data": "chips", "shocks": "s.txt", "scenarios": [{"remove_countries": ["TWN"]}]}, "shocks"),
    ({"data": "chips", "input_share": 1.0}, "input_share"),
    ({"generated": {"firms": 3, "links": 7}}, "generated.links"),
    ({"data": "chips", "params": {"tau_days": 0}}, "params.tau_days"),
])  # fmt: skip
def test_request_errors_name_their_field(data, field):
    with pytest.raises(RequestError) as info:
        services.run("simulate", data)
    assert info.value.field == field
    assert not str(info.value).startswith("--")


def test_recovery_days_alone_means_linear_recovery():
    assert DynamicsParams(recovery_days=30).recovery == "linear"
    assert DynamicsParams().recovery == "none"
    assert DynamicsParams(recovery="immediate").recovery == "immediate"
    assert DynamicsParams(recovery="none", recovery_days=30).recovery == "none"


def test_a_generated_network_is_a_source(tmp_path):
    run = services.run("simulate", {"generated": {"firms": 200, "links": 800, "seed": 2}, "days": 4})
    assert run.to_dict()["network"]["firms"] == 200 and run.provenance.seed == 2


# ---- the result protocol --------------------------------------------------------------------------
def _check_protocol(result) -> None:
    doc = result.to_dict()
    assert "provenance" in doc and set(doc["provenance"]) == PROVENANCE_KEYS
    assert isinstance(result.to_frame(), pd.DataFrame)
    json.loads(services.to_json(doc))


def test_simulation_run_protocol(toy, tmp_path):
    run = services.run("simulate", SimulationRequest(**_files(toy), days=10, firm_series=True))
    assert isinstance(run, SimulationRun)
    _check_protocol(run)
    assert list(run.to_frame().columns) == ["day", "production", "value_added", "final_consumption"]
    assert set(run.tables()) == {"totals", "losses_by_sector", "losses_by_region", "production_by_firm.parquet"}
    folder = services.save_result(run, tmp_path / "r")
    names = {p.name for p in folder.iterdir()}
    assert names == {"totals.csv", "losses_by_sector.csv", "losses_by_region.csv", "production_by_firm.parquet", "summary.json",
                     "totals.png", "totals.vl.json"}  # fmt: skip
    spec = json.loads((folder / "totals.vl.json").read_text())
    assert spec["data"]["values"][0] == {"day": -1, "series": "gross production", "percent_of_baseline": 100.0}


def test_generate_result_protocol(tmp_path):
    result = services.run("generate", NetworkSpec(firms=100, links=300).to_dict() | {"out": None})
    assert isinstance(result, GenerateResult) and result.out is None
    _check_protocol(result)
    folder = services.save_result(result, tmp_path / "saved")
    back = services.run("simulate", {"network_dir": str(folder), "days": 2})
    assert back.to_dict()["network"]["links"] == 300


def test_progress_counts_the_days(toy):
    seen = []
    services.run("simulate", SimulationRequest(**_files(toy), days=7), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (7, 7) and len(seen) == 7


def test_content_hash_follows_one_share_of_the_map(tmp_path):
    folder = tmp_path / "chips"
    shutil.copytree(CHIPS, folder)
    provision = (folder / "provision.csv").read_text()
    (folder / "provision.csv").write_text(provision.replace("logic_chip_design,TWN,0.11", "logic_chip_design,TWN,0.12", 1))
    request = {"scenarios": [{"remove_countries": ["TWN"]}], "days": 3}
    original = services.run("simulate", {"data": str(CHIPS), **request}).provenance
    changed = services.run("simulate", {"data": str(folder), **request}).provenance
    assert original.content_hash != changed.content_hash and original.dataset == changed.dataset


def test_cli_errors_name_flags(toy, tmp_path):
    runner = CliRunner()
    args = ["simulate", "--links", str(toy / "links.txt"), "--final-demand", str(toy / "final_demand.txt"), "--out", str(tmp_path / "x")]
    for extra, flag in ((["--tau", "0"], "--tau"), (["--recovery-delay", "-1"], "--recovery-delay"), (["--days", "-2"], "--days")):
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 2 and flag in result.output, result.output
