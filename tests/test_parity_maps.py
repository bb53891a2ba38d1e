"""The map and technology commands: each command's ``--json`` equals its use case run on the
equivalent request; every result type has ``to_dict()``, ``to_frame()`` and provenance; a
YAML scenario file and the same content as a dict give equal requests; and the content hash
of the provenance follows the map's content."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coreatlas import services
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.services.demo import DemoRequest
from coreatlas.services.indicators import IndicatorsRequest
from coreatlas.services.inputs import read_scenario_file
from coreatlas.services.maps import (
    ChokepointsRequest,
    DatasetsRequest,
    ExposureRequest,
    LeverageRequest,
    ScenarioRequest,
    ValidateRequest,
)
from coreatlas.services.policy import OpenRanRequest, PoliciesRequest, PolicyRequest
from parity import assert_parity, cli_json

SCENARIO_YAML = "scenarios:\n  - name: blockade\n    capacity: {TWN: 0.3}\n  - name: no-nld\n    remove_countries: NLD, JPN\n"
SCENARIO_DICTS = [{"name": "blockade", "capacity": {"TWN": 0.3}}, {"name": "no-nld", "remove_countries": ["NLD", "JPN"]}]


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "s.yaml"
    path.write_text(SCENARIO_YAML, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo") / "report"


CASES = [
    (("chokepoints",), "chokepoints", ChokepointsRequest()),
    (("chokepoints", "--by", "firm", "--threshold", "0.8"), "chokepoints", ChokepointsRequest(by="firm", threshold=0.8)),
    (("exposure", "--node", "euv_lithography_tools"), "exposure", ExposureRequest(node="euv_lithography_tools")),
    (("exposure", "--bloc", "USA,JPN,NLD", "--attribution", "site"), "exposure", ExposureRequest(bloc="USA,JPN,NLD", attribution="site")),
    (("leverage", "--bloc", "allies", "--threshold", "0.75"), "leverage", LeverageRequest(bloc="allies", threshold=0.75)),
    (("scenario", "--remove-country", "NLD"), "scenario",
     ScenarioRequest(scenarios=[ScenarioSpec(name="remove NLD", remove_countries=("NLD",))])),
    (("scenario", "--cut", "TWN=0.3,KOR=0.5", "--variants", "all"), "scenario",
     ScenarioRequest(scenarios=[ScenarioSpec(name="TWN at 30%; KOR at 50%", capacity={"TWN": 0.3, "KOR": 0.5})], variants="all")),
    (("scenario", "--data", "telecom-ran", "--policy", "fcc_covered_list"), "scenario",
     ScenarioRequest(data="telecom-ran", scenarios=[ScenarioSpec(name="policy fcc_covered_list", policies=("fcc_covered_list",))])),
    (("validate",), "validate", ValidateRequest()),
    (("validate", "--data", "chips+telecom-ran"), "validate", ValidateRequest(data="chips+telecom-ran")),
    (("datasets",), "datasets", DatasetsRequest()),
    (("indicators", "--data", "telecom-ran", "--bloc", "core"), "indicators", IndicatorsRequest()),
    (("indicators", "--data", "chips+telecom-ran", "--bloc", "allies"), "indicators", IndicatorsRequest(data="chips+telecom-ran", bloc="allies")),
    (("policy",), "policies", PoliciesRequest()),
    (("policy", "fcc_covered_list", "--country", "DEU"), "policy", PolicyRequest(policy_id="fcc_covered_list", country="DEU")),
    (("openran",), "openran", OpenRanRequest()),
    (("openran", "--policy", "fcc_covered_list"), "openran", OpenRanRequest(policies=("fcc_covered_list",))),
]  # fmt: skip


@pytest.mark.parametrize(("args", "name", "request_"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_cli_json_equals_the_service(args, name, request_):
    assert_parity(args, name, request_)


def test_scenario_file_parity(scenario_file: Path):
    doc = assert_parity(("scenario", str(scenario_file)), "scenario", ScenarioRequest(scenario_file=str(scenario_file)))
    assert [s["name"] for s in doc["scenarios"]] == ["blockade", "no-nld"]


def test_demo_parity(report_dir: Path):
    doc = assert_parity(
        ("demo", "--data", "chips", "--out-dir", str(report_dir)), "demo", DemoRequest(data="chips", out_dir=str(report_dir))
    )
    assert doc["sections"][0]["dataset"] == "chips" and (report_dir / "index.html").is_file()


# ---- YAML and dicts give the same objects ------------------------------------------------------
def test_yaml_scenarios_and_dicts_give_equal_requests(scenario_file: Path):
    specs, _ = read_scenario_file(scenario_file)
    assert specs == [ScenarioSpec.model_validate(d) for d in SCENARIO_DICTS]
    from_yaml = ScenarioRequest(scenarios=specs)
    from_dict = services.parse_request(ScenarioRequest, {"scenarios": SCENARIO_DICTS})
    assert from_yaml == from_dict
    inline = services.run("scenario", from_dict).to_dict()
    from_file = services.run("scenario", ScenarioRequest(scenario_file=str(scenario_file))).to_dict()
    assert inline["rows"] == from_file["rows"]


# ---- every result type: to_dict, to_frame, provenance -----------------------------------------
RESULT_CASES = [
    ("chokepoints", ChokepointsRequest()),
    ("exposure", ExposureRequest(data="telecom-ran")),
    ("leverage", LeverageRequest()),
    ("scenario", ScenarioRequest(scenarios=[ScenarioSpec(remove_countries=("NLD",))])),
    ("validate", ValidateRequest(data="sequencing")),
    ("datasets", DatasetsRequest()),
    ("indicators", IndicatorsRequest()),
    ("policies", PoliciesRequest()),
    ("policy", PolicyRequest(policy_id="fcc_covered_list")),
    ("openran", OpenRanRequest()),
]


@pytest.mark.parametrize(("name", "request_"), RESULT_CASES, ids=[c[0] for c in RESULT_CASES])
def test_every_result_has_dict_frame_and_provenance(name, request_):
    result = services.run(name, request_)
    doc = result.to_dict()
    assert "provenance" in doc
    assert isinstance(result.to_frame(), pd.DataFrame)
    prov = doc["provenance"]
    assert {"dataset", "version", "content_hash", "request", "seed", "software", "created_at"} <= set(prov)
    assert prov["dataset"] and prov["content_hash"] and prov["software"].startswith("coreatlas") and prov["created_at"]
    assert prov["request"] == request_.to_dict()
    for frame in result.tables().values():
        assert isinstance(frame, pd.DataFrame)


def test_demo_result_has_dict_frame_and_provenance(tmp_path: Path):
    calls = []
    result = services.run(
        "demo", DemoRequest(data="telecom-ran", out_dir=str(tmp_path / "r")), lambda done, total: calls.append((done, total))
    )
    assert "provenance" in result.to_dict() and isinstance(result.to_frame(), pd.DataFrame)
    assert result.provenance.dataset == "telecom-ran" and result.provenance.content_hash
    assert calls == [(1, 2), (2, 2)]  # reported as the work proceeds: the dataset, then the report


def test_validate_of_a_broken_map_still_has_provenance(tmp_path: Path):
    (tmp_path / "metadata.yaml").write_text("name: x\n", encoding="utf-8")
    result = services.run("validate", ValidateRequest(data=str(tmp_path)))
    assert not result.ok and result.problems and "provenance" in result.to_dict()


# ---- the content hash follows the map's content --------------------------------------------------
def _tiny_map(folder: Path, tool_usa: str) -> Path:
    folder.mkdir()
    files = {
        "metadata.yaml": "name: tiny\nversion: '1'\nlicence: CC0-1.0\nsources: [{id: s, title: hand-made}]\n",
        "nodes.csv": "node_id,name,kind\nchip,Chip,output\ntool,Tool,tool\n",
        "providers.csv": "provider_id,name,type,country\nUSA,United States,country,USA\nJPN,Japan,country,JPN\n",
        "provision.csv": f"node_id,provider_id,share,year,source\ntool,USA,{tool_usa},2024,s\ntool,JPN,0.4,2024,s\n",
        "relations.csv": "node_id,relation,target_id\nchip,uses,tool\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", ["exposure", "scenario"])
def test_content_hash_changes_when_one_share_changes(tmp_path: Path, name):
    def digest(folder: Path) -> str:
        fields = {"data": str(folder)} | ({"scenarios": [{"remove_countries": ["JPN"]}]} if name == "scenario" else {})
        return services.run(name, fields).provenance.content_hash

    a, same, b = (_tiny_map(tmp_path / n, share) for n, share in (("a", "0.6"), ("same", "0.6"), ("b", "0.5")))
    assert digest(a) == digest(same)  # the content, not the folder's name
    assert digest(a) != digest(b)


# ---- errors: field paths, rendered as flags ---------------------------------------------------------
def test_request_errors_name_the_field():
    from coreatlas.errors import CoreAtlasError

    with pytest.raises(CoreAtlasError) as info:
        services.run("chokepoints", {"threshold": 1.5})
    assert info.value.field == "threshold"
    with pytest.raises(CoreAtlasError) as info:
        services.run("exposure", {"node": "no_such_node"})
    assert info.value.field == "node"
    with pytest.raises(CoreAtlasError) as info:
        services.run("scenario", {"scenarios": [{"remove_firms": ["ASLM"]}]})
    assert info.value.field == "scenarios[0].remove_firms[0]"


def test_comma_lists_of_cuts():
    doc = cli_json("scenario", "--cut", "TWN=0.3,KOR=0.5")
    assert doc["scenarios"][0]["name"] == "TWN at 30%; KOR at 50%"
