"""The `mrio` commands and their use cases: CLI `--json` equals the service, key by key; requests
validate with field paths; every result follows the protocol (to_dict, to_frame, provenance)."""

from __future__ import annotations

import pandas as pd
import pytest

from coreatlas import services
from coreatlas.errors import CoreAtlasError, RequestError
from coreatlas.services import mrio as svc
from coreatlas.services.protocol import parse_request
from parity import assert_parity

SHOCK = {"region": "reg1", "sector": "manufactoring", "value": 0.3}


@pytest.mark.parametrize(
    ("args", "name", "request_"),
    [
        (("mrio", "leontief"), "mrio-leontief", svc.LeontiefRequest()),
        (("mrio", "leontief", "--top", "3"), "mrio-leontief", svc.LeontiefRequest()),  # --top only cuts the printed table
        (("mrio", "extraction"), "mrio-extraction", svc.ExtractionRequest()),
        (("mrio", "extraction", "--by", "sector"), "mrio-extraction", svc.ExtractionRequest(by="sector")),
        (("mrio", "extraction", "--by", "industry"), "mrio-extraction", svc.ExtractionRequest(by="industry")),
        (("mrio", "dependence"), "mrio-dependence", svc.DependenceRequest()),
        (("mrio", "simulate", "--shock", "reg1:manufactoring=0.3", "--days", "20"), "mrio-simulate",
         svc.MrioSimulateRequest(shocks=[SHOCK], days=20)),
        (("mrio", "simulate", "--shock", "reg1:manufactoring=0.3,reg2:food=0.1", "--kind", "recovery", "--days", "15",
          "--occurrence", "2", "--duration", "3", "--recovery-days", "9"), "mrio-simulate",
         {"shocks": [SHOCK, {"region": "reg2", "sector": "food", "value": 0.1}], "kind": "recovery", "days": 15,
          "occurrence": 2, "duration": 3, "recovery_days": 9}),
    ],
)  # fmt: skip
def test_cli_json_equals_service(args, name, request_):
    doc = assert_parity(args, name, request_)
    assert doc["table"] == "testmrio" and doc["provenance"]["dataset"] == "testmrio"


def test_saved_table_folder_parity(tmp_path):
    from coreatlas.io.mrio import load_test_table, write_table_folder

    write_table_folder(load_test_table(), tmp_path / "t", fmt="csv")
    doc = assert_parity(("mrio", "dependence", "--table", str(tmp_path / "t")), "mrio-dependence", {"table": str(tmp_path / "t")})
    assert doc["provenance"]["content_hash"] == services.run("mrio-dependence", {}).provenance.content_hash


def test_shock_text_and_object_give_equal_requests():
    text = parse_request(svc.MrioSimulateRequest, {"shocks": ["reg1:manufactoring=0.3", "reg2:food=0.1"]})
    joined = parse_request(svc.MrioSimulateRequest, {"shocks": "reg1 : manufactoring = 0.3, reg2:food=0.1"})
    objects = parse_request(svc.MrioSimulateRequest, {"shocks": [SHOCK, {"region": "reg2", "sector": "food", "value": 0.1}]})
    assert text == joined == objects
    assert text.shocks[0] == svc.Shock(**SHOCK)


def test_sector_names_with_commas_stay_one_shock():
    request = parse_request(svc.MrioSimulateRequest, {"shocks": ["TW:Cultivation of vegetables, fruit, nuts=0.5,JP:Trade=0.2"]})
    assert [(s.region, s.sector, s.value) for s in request.shocks] == [
        ("TW", "Cultivation of vegetables, fruit, nuts", 0.5),
        ("JP", "Trade", 0.2),
    ]


def _field_of(data, model=svc.MrioSimulateRequest, name="mrio-simulate") -> str | None:
    with pytest.raises(CoreAtlasError) as caught:
        services.run(name, parse_request(model, data))
    return caught.value.field


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"shocks": [SHOCK, {**SHOCK, "value": 3}]}, "shocks[1].value"),
        ({"shocks": [{**SHOCK, "value": 0}]}, "shocks[0].value"),
        ({"shocks": ["reg1-manufactoring"]}, "shocks[0]"),
        ({"shocks": [{**SHOCK, "region": "mars"}]}, "shocks[0]"),
        ({"shocks": []}, "shocks"),
        ({"shocks": [SHOCK], "days": 0}, "days"),
        ({"shocks": [SHOCK], "recovery_days": 0}, "recovery_days"),
        ({"shocks": [SHOCK], "kind": "rebuild"}, "kind"),
        ({"shocks": [SHOCK], "table": "/nonexistent"}, "table"),
        ({"shocks": [SHOCK], "region_groups": {"west": ["reg1", "atlantis"]}}, "region_groups.west"),
    ],
)
def test_simulate_request_errors_carry_field_paths(data, field):
    assert _field_of(data) == field


def test_extraction_by_is_validated_in_the_request():
    with pytest.raises(RequestError, match="must be one of region, sector, industry") as caught:
        parse_request(svc.ExtractionRequest, {"by": "planet"})
    assert caught.value.field == "by"
    assert svc.ExtractionRequest.model_json_schema()["properties"]["by"]["enum"] == ["region", "sector", "industry"]


def test_days_zero_is_a_clean_cli_error():
    from coreatlas.cli import app
    from parity import runner

    result = runner.invoke(app, ["mrio", "simulate", "--shock", "reg1:manufactoring=0.3", "--days", "0"])
    assert result.exit_code == 2 and "--days" in result.output and "Traceback" not in result.output


def test_groups_aggregate_the_table():
    result = services.run("mrio-leontief", {"region_groups": {"west": ["reg1", "reg2"]}})
    assert result.payload()["regions"] == 5 and {r["region"] for r in result.payload()["rows"]} >= {"west"}
    assert result.provenance.content_hash != services.run("mrio-leontief", {}).provenance.content_hash


def test_top_cuts_the_ranking():
    assert len(services.run("mrio-leontief", {"top": 5}).payload()["rows"]) == 5
    result = services.run("mrio-dependence", {"top": 3})
    assert len(result.payload()["foreign"]) == 3 and len(result.payload()["rows"]) == 36
    shares = [r["share"] for r in result.payload()["foreign"]]
    assert shares == sorted(shares, reverse=True) and all(r["consumer_region"] != r["supplier_region"] for r in result.payload()["foreign"])


REQUESTS = [
    ("mrio-leontief", {}),
    ("mrio-extraction", {"by": "sector"}),
    ("mrio-dependence", {}),
    ("mrio-simulate", {"shocks": [SHOCK], "days": 10}),
]


@pytest.mark.parametrize(("name", "data"), REQUESTS)
def test_every_result_follows_the_protocol(name, data):
    result = services.run(name, data)
    doc = result.to_dict()
    assert "provenance" in doc and isinstance(result.to_frame(), pd.DataFrame) and len(result.to_frame())
    provenance = doc["provenance"]
    for key in ("dataset", "version", "content_hash", "request", "seed", "software", "created_at"):
        assert key in provenance
    assert provenance["request"] == services.use_case_of(name).request.model_validate(data).to_dict()
    assert provenance["version"] and provenance["software"].startswith("coreatlas")


def test_content_hash_changes_with_one_flow(tmp_path):
    from coreatlas.io.mrio import load_test_table, write_table_folder

    table = load_test_table()
    write_table_folder(table, tmp_path / "a", fmt="csv")
    frame = pd.read_csv(tmp_path / "a" / "intermediate.csv")
    frame.loc[0, "value"] *= 1.01
    write_table_folder(table, tmp_path / "b", fmt="csv")
    frame.to_csv(tmp_path / "b" / "intermediate.csv", index=False)
    hashes = {services.run("mrio-leontief", {"table": str(tmp_path / f)}).provenance.content_hash for f in "ab"}
    assert len(hashes) == 2


def test_simulate_result_folder_and_long_frame(tmp_path):
    result = services.run("mrio-simulate", {"shocks": [SHOCK], "days": 12})
    frame = result.to_frame()
    assert list(frame.columns) == ["day", "region", "sector", "production"] and len(frame) == 12 * 48
    folder = services.save_result(result, tmp_path / "run")
    names = {p.name for p in folder.iterdir()}
    assert {"production.csv", "production_by_region.csv", "summary.json", "production_by_region.png",
            "production_by_region.vl.json"} <= names  # fmt: skip
    spec = result.charts()["production_by_region"]
    assert spec.kind == "line" and spec.series == "region"


def test_simulate_reports_progress_per_day():
    seen = []
    services.run("mrio-simulate", {"shocks": [SHOCK], "days": 7}, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (7, 7) and len(seen) == 7
