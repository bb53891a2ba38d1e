"""The result protocol, saving results, charts and request parsing, on hand-made results."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from coreatlas import services
from coreatlas.errors import DataSourceError, RequestError
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.render import Chart, Rule, to_svg, to_vega_lite
from coreatlas.services.protocol import Provenance, Result, content_hash, make_provenance
from coreatlas.services.requests import MapRequest


@dataclass(frozen=True, eq=False)
class Tiny(Result):
    rows: list[dict]
    provenance: Provenance

    def payload(self) -> dict:
        return {"rows": self.rows}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def charts(self) -> dict:
        return {"bars": Chart("bar", self.to_frame(), x="share", y="node", title="shares")}


def tiny() -> Tiny:
    rows = [{"node": "fab", "share": 0.25}, {"node": "tool", "share": 0.75}]
    return Tiny(rows, make_provenance("tiny", "1", content_hash("abc"), MapRequest(data="tiny")))


def test_to_dict_carries_the_provenance_and_the_request():
    doc = tiny().to_dict()
    assert doc["rows"][1] == {"node": "tool", "share": 0.75}
    prov = doc["provenance"]
    assert set(prov) == {"dataset", "version", "content_hash", "request", "seed", "software", "created_at"}
    assert prov["request"] == {"data": "tiny", "attribution": "hq"} and prov["software"].startswith("coreatlas ")


def test_content_hash_follows_content():
    a = pd.DataFrame({"share": [0.5, 0.5]})
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(pd.DataFrame({"share": [0.5, 0.6]}))


@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet"])
def test_save_result_as_one_file(tmp_path: Path, suffix: str):
    path = services.save_result(tiny(), tmp_path / f"r{suffix}")
    if suffix == ".json":
        assert json.loads(path.read_text())["rows"][0]["node"] == "fab"
    else:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        assert list(frame["share"]) == [0.25, 0.75]


def test_save_result_as_a_folder_with_charts(tmp_path: Path):
    folder = services.save_result(tiny(), tmp_path / "run")
    assert sorted(p.name for p in folder.iterdir()) == ["bars.png", "bars.vl.json", "result.csv", "summary.json"]
    assert (folder / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    spec = json.loads((folder / "bars.vl.json").read_text())
    assert spec["layer"][0]["mark"]["type"] == "bar" and len(spec["data"]["values"]) == 2
    again = services.save_result(tiny(), folder)  # an earlier result is replaced whole
    assert again == folder and not list(tmp_path.glob(".run-*"))


def test_save_result_refuses_a_foreign_folder_and_an_unknown_suffix(tmp_path: Path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(DataSourceError, match="holds no earlier CoRe Atlas result") as info:
        services.save_result(tiny(), tmp_path / "mine")
    assert info.value.field == "out" and (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    with pytest.raises(DataSourceError, match="unknown output format '.xlsx'"):
        services.save_result(tiny(), tmp_path / "r.xlsx")


def test_vega_lite_spec_of_a_line_chart_with_rules():
    frame = pd.DataFrame({"day": [0, 1, 0, 1], "share": [1.0, 0.5, 1.0, 0.8], "series": ["a", "a", "b", "b"]})
    spec = to_vega_lite(Chart("line", frame, "day", "share", series="series", x_scale="log", rules=(Rule("VaR", 0.7),)))
    main, rule = spec["layer"]
    assert main["encoding"]["x"]["scale"] == {"type": "log"} and main["encoding"]["color"]["field"] == "series"
    assert rule["mark"]["type"] == "rule" and rule["encoding"] == {"y": {"datum": 0.7}}
    assert spec["data"]["values"][1] == {"day": 1, "share": 0.5, "series": "a"}
    assert to_svg(Chart("histogram", frame, "day", "share", width=1.0)).lstrip().startswith("<?xml")


def test_drawing_a_chart_switches_no_backend_and_loads_no_pyplot():
    code = (
        "import sys, pandas as pd; from coreatlas.render import Chart, to_png;"
        "to_png(Chart('line', pd.DataFrame({'x': [0, 1], 'y': [1, 2]}), 'x', 'y'), sys.argv[1]);"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, "/tmp/coreatlas-test-chart.png"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_parse_request_names_each_field():
    with pytest.raises(RequestError) as info:
        services.parse_request(MapRequest, {"data": "", "attribution": "moon", "colour": "red"})
    fields = sorted(p.field for p in info.value.problems)
    assert fields == ["attribution", "colour", "data"]
    assert any(p.message == "colour: unknown key 'colour'" for p in info.value.problems)


def test_scenario_spec_accepts_comma_lists_and_checks_fractions():
    assert ScenarioSpec(remove_countries="NLD, JPN").remove_countries == ("NLD", "JPN")
    with pytest.raises(RequestError) as info:
        services.parse_request(ScenarioSpec, {"capacity": {"TWN": 1.5}}, prefix="scenarios[0]")
    assert info.value.field == "scenarios[0].capacity.TWN"


def test_every_use_case_is_found_by_name_and_lives_where_the_index_says():
    cases = services.all_use_cases()
    assert set(cases) == set(services.MODULE_OF)
    for name, case in cases.items():
        assert case.run.__module__ == f"coreatlas.services.{services.MODULE_OF[name]}", name
        assert issubclass(case.request, services.Request)
    assert {n for n, c in cases.items() if c.long} >= {"simulate", "montecarlo", "rank", "ttr", "tts", "invest", "mrio-simulate"}


def test_every_request_type_is_found_in_one_place():
    from coreatlas.services import requests

    for name, module in requests.REQUEST_TYPES.items():
        request_type = getattr(requests, name)
        assert issubclass(request_type, services.Request) and request_type.__module__ == f"coreatlas.services.{module}"
        assert request_type.model_json_schema()["type"] == "object"  # the REST API's schema comes from here
    used = {case.request.__name__ for case in services.all_use_cases().values()}
    assert used <= set(requests.REQUEST_TYPES)
