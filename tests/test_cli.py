"""The command line: every command runs, `--json` parses, bad input exits 2 with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coreatlas.cli import app
from coreatlas.io.datasets import builtin_path

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small valid native dataset to corrupt in each bad-input test."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    files = {
        "metadata.yaml": "name: tiny\nversion: '1'\nlicence: CC0-1.0\nsources: [{id: s, title: hand-made}]\n",
        "nodes.csv": "node_id,name,kind\nchip,Chip,output\nfab,Fab,process\ntool,Tool,tool\n",
        "providers.csv": "provider_id,name,type,country\nUSA,United States,country,USA\nJPN,Japan,country,JPN\nacme,Acme,firm,USA\n",
        "provision.csv": "node_id,provider_id,share,year,source\ntool,USA,0.6,2024,s\ntool,JPN,0.4,2024,s\ntool,acme,0.5,2024,s\nfab,JPN,1.0,2024,s\n",
        "relations.csv": "node_id,relation,target_id\nchip,uses,fab\nfab,uses,tool\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_demo_writes_report_and_prints_story(tmp_path: Path):
    result = run("demo", "--out-dir", str(tmp_path / "report"))
    assert result.exit_code == 0, result.output
    assert "EUV lithography tools" in result.stdout and "Netherlands" in result.stdout
    assert "Taiwan at 30%" in result.stdout
    html = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and "Chokepoints" in html and "Sources" in html
    # self-contained: nothing is fetched when the page opens
    assert "<script" not in html and "<link" not in html and 'src="http' not in html


def test_chokepoints_json_on_builtin():
    result = run("chokepoints", "--json")
    rows = json.loads(result.stdout)["rows"]
    assert {"node_id", "node_name", "provider", "share"} <= set(rows[0])
    assert rows[0]["node_id"] == "euv_lithography_tools" and rows[0]["provider"] == "NLD" and rows[0]["share"] == 1.0


def test_exposure_json_fields(tiny: Path):
    rows = json.loads(run("exposure", "--data", str(tiny), "--json", "--bloc", "USA").stdout)["rows"]
    tool = next(r for r in rows if r["node_id"] == "tool")
    # shares 0.6 / 0.4 -> HHI 0.36 + 0.16 = 0.52; USA holds 0.6; two countries needed for 75%
    assert tool["hhi"] == pytest.approx(0.52)
    assert tool["effective_suppliers"] == pytest.approx(1 / 0.52)
    assert tool["countries_to_75"] == 2 and tool["bloc_share"] == pytest.approx(0.6)
    assert tool["shares"] == {"USA": pytest.approx(0.6), "JPN": pytest.approx(0.4)}


def test_scenario_options_and_json(tiny: Path):
    rows = json.loads(run("scenario", "--data", str(tiny), "--remove-country", "JPN", "--json").stdout)["rows"]
    by_id = {r["node_id"]: r for r in rows}
    assert by_id["fab"]["available"] == 0.0 and by_id["tool"]["available"] == pytest.approx(0.6)
    assert [s["node_id"] for s in by_id["chip"]["binding"]] == ["chip", "fab"]
    firm = json.loads(run("scenario", "--data", str(tiny), "--remove-firm", "Acme", "--json").stdout)["rows"]
    assert {r["node_id"]: r["available"] for r in firm}["tool"] == pytest.approx(0.5)
    cut = json.loads(run("scenario", "--data", str(tiny), "--cut", "JPN=0.25", "--json").stdout)["rows"]
    assert {r["node_id"]: r["available"] for r in cut}["chip"] == pytest.approx(0.25)


def test_scenario_file_and_csv_out(tiny: Path, tmp_path: Path):
    file = tmp_path / "s.yaml"
    file.write_text("scenarios:\n  - name: a\n    only_bloc: USA\n  - name: b\n    remove_firms: [acme]\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run("scenario", str(file), "--data", str(tiny), "--out", str(out))
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("scenario,node_id") and text.count("\n") == 7


def test_validate_ok_on_builtin_and_eto(eto_dir: Path):
    assert run("validate").exit_code == 0
    result = run("validate", "--data", str(eto_dir), "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"] and report["counts"]["nodes"] == 129


# ---- bad input: one clear message, exit code 2, never a traceback ---------------------------
def _bad(tiny: Path, filename: str, text: str, *command: str):
    (tiny / filename).write_text(text, encoding="utf-8")
    result = runner.invoke(app, [*(command or ("chokepoints",)), "--data", str(tiny)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    return result.stderr


def test_bad_unknown_node_id(tiny: Path):
    message = _bad(tiny, "provision.csv", "node_id,provider_id,share,year,source\ntool,USA,0.6,2024,s\nwafer,JPN,0.4,2024,s\n")
    assert "provision.csv, line 3, column 'node_id': unknown node id 'wafer'" in message


def test_bad_share_outside_unit_interval(tiny: Path):
    message = _bad(tiny, "provision.csv", "node_id,provider_id,share,year,source\ntool,USA,60,2024,s\n")
    assert "provision.csv, line 2, column 'share': share 60 is outside [0, 1]" in message


def test_bad_share_not_a_number(tiny: Path):
    message = _bad(tiny, "provision.csv", "node_id,provider_id,share,year,source\ntool,USA,sixty,2024,s\n")
    assert "provision.csv, line 2, column 'share': 'sixty' is not a number" in message


def test_bad_country_shares_above_tolerance(tiny: Path):
    message = _bad(tiny, "provision.csv", "node_id,provider_id,share,year,source\ntool,USA,0.7,2024,s\ntool,JPN,0.4,2024,s\n")
    assert "provision.csv, line 2, column 'share': country shares of node 'tool' sum to 1.1, above 1 + tolerance 0.02" in message


def test_bad_uses_cycle(tiny: Path):
    message = _bad(tiny, "relations.csv", "node_id,relation,target_id\nchip,uses,fab\nfab,uses,tool\ntool,uses,fab\n")
    assert "relations.csv" in message and "'uses' relations form a cycle: fab -> tool -> fab" in message


def test_bad_missing_required_column(tiny: Path):
    message = _bad(tiny, "nodes.csv", "node_id,name\nchip,Chip\n")
    assert "nodes.csv, line 1, column 'kind': missing required column 'kind'" in message


def test_bad_encoding(tiny: Path):
    (tiny / "nodes.csv").write_bytes("node_id,name,kind\nchip,Chip,output\nfab,F\xe4b,process\ntool,Tool,tool\n".encode("latin-1"))
    result = runner.invoke(app, ["validate", "--data", str(tiny)])
    assert result.exit_code == 2
    assert "nodes.csv, line 3: the file is not UTF-8 text (byte 0xe4 cannot be decoded)" in result.stderr


def test_bad_unknown_kind(tiny: Path):
    message = _bad(tiny, "nodes.csv", "node_id,name,kind\nchip,Chip,output\nfab,Fab,factory\ntool,Tool,tool\n")
    assert "nodes.csv, line 3, column 'kind': unknown kind 'factory'" in message


def test_bad_data_path():
    result = runner.invoke(app, ["chokepoints", "--data", "no-such-thing"])
    assert (
        result.exit_code == 2
        and "no built-in dataset of that name (available: chips," in result.stderr
        and "and no such folder" in result.stderr
    )


def test_bad_eto_percent(eto_dir: Path, tmp_path: Path):
    copy = tmp_path / "eto"
    shutil.copytree(eto_dir, copy)
    lines = (copy / "provision.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",2.4,", ",240,")
    (copy / "provision.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["chokepoints", "--data", str(copy)])
    assert result.exit_code == 2
    assert "provision.csv, line 2, column 'share_provided': share 240 is outside [0, 100]; ETO shares are percent" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--remove-firm", "ASLM"], "unknown firm 'ASLM' in chips; did you mean ASML?"),
        (["--cut", "TWN=30"], "--cut 'TWN=30': expected CODE=FRACTION with a fraction in [0, 1]"),
        (["--cut", "TWN"], "expected CODE=FRACTION"),
        (["--remove-country", "Taiwan"], "unknown country code 'Taiwan'; use ISO 3166 alpha-3 codes"),
        (["--only-bloc", "friends"], "unknown bloc 'friends': name one of allies, core"),
        ([], "no scenario given"),
    ],
)
def test_bad_scenario_options(args, message):
    result = runner.invoke(app, ["scenario", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_bad_scenario_file_key(tmp_path: Path):
    file = tmp_path / "s.yaml"
    file.write_text("name: x\nremove_country: [NLD]\n", encoding="utf-8")
    result = runner.invoke(app, ["scenario", str(file)])
    assert result.exit_code == 2
    assert f"{file}, line 2, column 'remove_country': unknown key 'remove_country'" in result.stderr


def test_bad_output_suffix_writes_nothing(tmp_path: Path):
    target = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["chokepoints", "--out", str(target)])
    assert result.exit_code == 2 and "unknown output format '.xlsx'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_builtin_dataset_is_shipped():
    assert (builtin_path("chips") / "metadata.yaml").is_file()


def test_site_attribution_moves_firm_shares(tmp_path: Path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "metadata.yaml").write_text("name: site\nversion: '1'\nlicence: CC0-1.0\nsources: []\n", encoding="utf-8")
    (folder / "nodes.csv").write_text("node_id,name,kind\nfab,Fab,output\n", encoding="utf-8")
    (folder / "providers.csv").write_text(
        "provider_id,name,type,country,site_country\nfoundry,Foundry,firm,TWN,USA\nother,Other,firm,KOR,\n", encoding="utf-8"
    )
    (folder / "provision.csv").write_text(
        "node_id,provider_id,share,year,source\nfab,foundry,0.6,2024,s\nfab,other,0.4,2024,s\n", encoding="utf-8"
    )
    (folder / "relations.csv").write_text("node_id,relation,target_id\n", encoding="utf-8")
    # only firms are given: country shares derive from them, by headquarters or by site
    hq = json.loads(run("exposure", "--data", str(folder), "--json").stdout)["rows"][0]["shares"]
    site = json.loads(run("exposure", "--data", str(folder), "--json", "--attribution", "site").stdout)["rows"][0]["shares"]
    assert hq == {"TWN": pytest.approx(0.6), "KOR": pytest.approx(0.4)}
    assert site == {"USA": pytest.approx(0.6), "KOR": pytest.approx(0.4)}
    lost = json.loads(run("scenario", "--data", str(folder), "--remove-country", "TWN", "--attribution", "site", "--json").stdout)["rows"]
    assert lost[0]["available"] == 1.0
    bad = runner.invoke(app, ["exposure", "--data", str(folder), "--attribution", "plant"])
    assert bad.exit_code == 2 and "--attribution must be 'hq'" in bad.stderr
