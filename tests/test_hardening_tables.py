"""Issue 12, the table loaders: every bad CSV table (native, annex, ETO, risk network) is a located
user error, exit code 2 through the command line, with the file, line and column named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from coreatlas.cli import app
from coreatlas.errors import ValidationError
from coreatlas.io.eto import parse_market_size, read_eto
from coreatlas.io.native import read_native
from coreatlas.model.risknet import risk_network

runner = CliRunner()

TINY = {
    "metadata.yaml": "name: tiny\nversion: '1'\nlicence: CC0-1.0\nsources: [{id: s, title: hand-made}]\n",
    "nodes.csv": "node_id,name,kind\nchip,Chip,output\nfab,Fab,process\ntool,Tool,tool\n",
    "providers.csv": "provider_id,name,type,country\nUSA,United States,country,USA\nJPN,Japan,country,JPN\nacme,Acme,firm,USA\n",
    "provision.csv": "node_id,provider_id,share,year,source\ntool,USA,0.6,2024,s\ntool,JPN,0.4,2024,s\nfab,JPN,1.0,2024,s\n",
    "relations.csv": "node_id,relation,target_id\nchip,uses,fab\nfab,uses,tool\n",
}
ETO = {
    "inputs.csv": "input_id,input_name,type,stage_name,stage_id,description,year,market_share_chart_global_market_size_info\n"
    "N0,Chip design,process,Design,S1,d,2024,$10 billion (2024)\nN1,EDA,tool_resource,,,e,2024,\nN2,Chip,ultimate_output,,,c,,\n",
    "providers.csv": "provider_name,alias,provider_id,provider_type,country\nUSA,United States,P1,country,\nSynopsys,,P10,organization,USA\n",
    "provision.csv": "provider_name,provider_id,provided_name,provided_id,share_provided,year,source\n"
    "USA,P1,EDA,N1,80,2024,s\nSynopsys,P10,EDA,N1,50,2024,s\nUSA,P1,Chip design,N0,,2024,s\n",
    "sequence.csv": "input_name,input_id,goes_into_name,goes_into_id,is_type_of_name,is_type_of_id\nEDA,N1,Chip design,N0,,\nChip design,N0,Chip,N2,,\n",
    "stages.csv": "stage_id,stage_name,description,market_share_chart_global_market_size_info\nS1,Design,d,$5 billion (2024)\n",
}
RISK = {
    "nodes.csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\nA,20,8,0,5\n",
    "edges.csv": "supplier,consumer,material,ratio\nA,P,m,2\n",
}


def _folder(tmp_path: Path, files: dict[str, str], **changes: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(parents=True)
    for name, text in {**files, **{k.replace("__", "."): v for k, v in changes.items()}}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _refused(*args: str) -> str:
    """The message of a command that must refuse its input with exit code 2 (no traceback)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "internal error" not in result.stderr.lower() and "Traceback" not in result.output
    return " ".join(result.stderr.split())


def _validate(folder: Path) -> str:
    return _refused("validate", "--data", str(folder))


# ---- native and annex tables --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "nodes.csv",
            "node_id,name,kind,name\nchip,Chip,output,x\n",
            "nodes.csv, line 1, column 'name': column 4 is named 'name' and it is also column 2",
        ),
        (
            "provision.csv",
            "node_id,provider_id,share,share,year\ntool,USA,0.6,0.6,2024\n",
            "provision.csv, line 1, column 'share': column 4 is named 'share'",
        ),
        (
            "commitments.csv",
            "commitment_id,party,program,technology,amount,amount,currency,year,source\n",
            "commitments.csv, line 1, column 'amount': column 6",
        ),
        (
            "nodes.csv",
            "node_id,name,kind,line\nchip,Chip,output,3\n",
            "nodes.csv, line 1, column 'line': column 4 is named 'line' and it is reserved",
        ),
    ],
)
def test_duplicate_column_names_are_refused(tmp_path: Path, file: str, text: str, expected: str):
    assert expected in _validate(_folder(tmp_path, TINY, **{file.replace(".", "__"): text}))


def test_a_value_under_an_unnamed_column_is_refused_and_blank_trailing_columns_are_not(tmp_path: Path):
    folder = _folder(tmp_path, TINY, nodes__csv="node_id,name,kind,,\nchip,Chip,output,,\nfab,Fab,process,,\ntool,Tool,tool,,\n")
    assert len(read_native(folder).nodes) == 3
    (folder / "nodes.csv").write_text("node_id,name,kind,\nchip,Chip,output,oops\n")
    assert "nodes.csv, line 2: 'oops' is in column 4, which has no name in the header" in _validate(folder)


@pytest.mark.parametrize(("file", "what"), [("nodes.csv", "node"), ("providers.csv", "provider")])
def test_header_only_tables_that_need_rows_are_refused(tmp_path: Path, file: str, what: str):
    header = TINY[file].splitlines()[0] + "\n"
    message = _validate(_folder(tmp_path, TINY, **{file.replace(".", "__"): header}))
    assert f"{file}, line 2: the table has a header but no rows; expected at least one {what}" in message


def test_blank_tables_are_refused_and_header_only_optional_tables_load(tmp_path: Path):
    folder = _folder(tmp_path, TINY, commitments__csv="commitment_id,party,program,technology,amount,currency,year,source\n")
    assert len(read_native(folder).annex["commitments"]) == 0
    (folder / "policies.csv").write_text("")
    assert "policies.csv, line 1: the file is empty; expected a header row" in _validate(folder)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("twenty", "'twenty' is not a whole number from 1000 to 9999"),
        ("2024.5", "'2024.5' is not a whole number"),
        ("1e30", "'1e30' is not a whole number"),
        ("inf", "'inf' is not a whole number"),
        ("-2024", "'-2024' is not a whole number"),
    ],
)
def test_text_or_nonsense_where_a_year_is_expected(tmp_path: Path, value: str, expected: str):
    folder = _folder(tmp_path, TINY, provision__csv=f"node_id,provider_id,share,year,source\ntool,USA,0.6,{value},s\n")
    assert f"provision.csv, line 2, column 'year': {expected}" in _validate(folder)


def test_years_in_annex_tables_and_metadata(tmp_path: Path):
    folder = _folder(
        tmp_path, TINY, commitments__csv="commitment_id,party,program,technology,amount,currency,year,source\nc1,USA,X,chips,5,USD,soon,s\n"
    )
    assert "commitments.csv, line 2, column 'year': 'soon' is not a whole number from 1000 to 9999 (year of the commitment)" in _validate(
        folder
    )
    (folder / "commitments.csv").unlink()
    (folder / "metadata.yaml").write_text("name: tiny\nversion: '1'\nlicence: CC0-1.0\nsources: [{id: s, year: 20245}]\n")
    assert "metadata.yaml, line 4" in _validate(folder)


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "nodes.csv",
            "node_id,name,kind,market_size_usd\nchip,Chip,output,inf\nfab,Fab,process,\ntool,Tool,tool,\n",
            "nodes.csv, line 2, column 'market_size_usd': 'inf' is not a number at least 0",
        ),
        (
            "nodes.csv",
            "node_id,name,kind,market_size_usd\nchip,Chip,output,-5\nfab,Fab,process,\ntool,Tool,tool,\n",
            "nodes.csv, line 2, column 'market_size_usd': '-5' is not a number at least 0",
        ),
        (
            "commitments.csv",
            "commitment_id,party,program,technology,amount,currency,year,source\nc1,USA,X,chips,inf,USD,2024,s\n",
            "commitments.csv, line 2, column 'amount': 'inf' is not a number",
        ),
        (
            "provision.csv",
            "node_id,provider_id,share,year,source\ntool,USA,nan,2024,s\n",
            "provision.csv, line 2, column 'share': 'nan' is not a number",
        ),
    ],
)
def test_infinite_and_negative_sizes_are_refused(tmp_path: Path, file: str, text: str, expected: str):
    assert expected in _validate(_folder(tmp_path, TINY, **{file.replace(".", "__"): text}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bloc,country\ncore,USA\ncore,QQQ\n", "blocs.csv, line 3, column 'country': bloc 'core' names unknown country code 'QQQ'"),
        ("bloc,country\ncore,USA\ncore,\n", "blocs.csv, line 3, column 'country': bloc 'core' names a blank country"),
        ("bloc,country\n,USA\n", "blocs.csv, line 2, column 'bloc': a bloc has a blank name"),
    ],
)
def test_blocs_naming_unknown_or_blank_countries_are_refused(tmp_path: Path, text: str, expected: str):
    assert expected in _validate(_folder(tmp_path, TINY, blocs__csv=text))


def test_blocs_may_name_any_iso_country_and_the_maps_own_codes(tmp_path: Path):
    folder = _folder(tmp_path, TINY, blocs__csv="bloc,country\nfriends,USA\nfriends,FRA\n")
    assert read_native(folder).blocs["friends"] == ("USA", "FRA")


# ---- ETO ----------------------------------------------------------------------------------------
def test_eto_fixture_loads_and_optional_columns_may_be_absent(tmp_path: Path):
    minimal = {
        "inputs.csv": "input_id,input_name,type\nN0,Chip design,process\nN1,EDA,tool_resource\nN2,Chip,ultimate_output\n",
        "providers.csv": "provider_name,provider_id,provider_type,country\nUSA,P1,country,\nSynopsys,P10,organization,USA\n",
        "stages.csv": "stage_id,stage_name\n",
    }
    assert len(read_eto(_folder(tmp_path, ETO)).nodes) == 4
    tm = read_eto(_folder(tmp_path / "minimal", {**ETO, **minimal}))
    assert tm.provider_rows.loc["USA", "name"] == "USA" and len(tm.nodes) == 3


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "inputs.csv",
            "input_id,input_name,type,type\nN0,a,process,process\n",
            "inputs.csv, line 1, column 'type': column 4 is named 'type'",
        ),
        ("inputs.csv", "input_id,input_name,type\n", "inputs.csv, line 2: the table has a header but no rows; expected at least one input"),
        ("providers.csv", "provider_name,provider_id,provider_type,country\n", "providers.csv, line 2: the table has a header but no rows"),
        (
            "provision.csv",
            "provider_id,provided_id,share_provided,year,source\n",
            "provision.csv, line 2: the table has a header but no rows",
        ),
        ("stages.csv", "", "stages.csv, line 1: the file is empty"),
        (
            "provision.csv",
            "provider_id,provided_id,share_provided,year,source\nP1,N1,80,soon,s\n",
            "provision.csv, line 2, column 'year': 'soon' is not a whole number",
        ),
        (
            "inputs.csv",
            "input_id,input_name,type,year\nN0,a,process,x\nN1,b,tool_resource,\nN2,c,ultimate_output,\n",
            "inputs.csv, line 2, column 'year': 'x' is not a whole number",
        ),
        (
            "inputs.csv",
            "input_id,input_name,type,stage_id\nN0,a,process,S9\nN1,b,tool_resource,\nN2,c,ultimate_output,\n",
            "inputs.csv, line 2, column 'stage_id': unknown stage id 'S9'",
        ),
        ("stages.csv", "stage_id,stage_name\nS1,Design\nS1,Other\n", "stages.csv, line 3, column 'stage_id': duplicate id 'S1'"),
        (
            "stages.csv",
            "stage_id,stage_name\nN1,Design\n",
            "stages.csv, line 2, column 'stage_id': duplicate id 'N1'; stage and input ids must be unique",
        ),
        ("stages.csv", "stage_id,stage_name\nS1,\n", "stages.csv, line 2, column 'stage_name': 'stage_name' is empty"),
        (
            "providers.csv",
            "provider_name,provider_id,provider_type,country\nUSA,P1,,\nSynopsys,P10,organization,USA\n",
            "providers.csv, line 2, column 'provider_type': unknown provider_type ''",
        ),
        (
            "inputs.csv",
            ETO["inputs.csv"].replace("process,Design", "proces,Design"),
            "inputs.csv, line 2, column 'type': unknown kind 'proces'",
        ),
        (
            "provision.csv",
            "provider_id,provided_id,share_provided,year,source\nP1,N9,80,2024,s\n",
            "provision.csv, line 2, column 'provided_id': unknown node id 'N9'",
        ),
    ],
)
def test_bad_eto_tables_are_located(tmp_path: Path, file: str, text: str, expected: str):
    assert expected in _validate(_folder(tmp_path, ETO, **{file.replace(".", "__"): text}))


def test_unparseable_market_sizes_read_as_unknown():
    assert parse_market_size("$1.2.3 billion (2024)")[1] == 2024
    size, year = parse_market_size("$" + "9" * 400 + " (2020)")
    assert np.isnan(size) and year == 2020


# ---- risk networks ------------------------------------------------------------------------------
def _risk(tmp_path: Path, **changes: str) -> str:
    return _refused("risk", "ttr", "--network", str(_folder(tmp_path, RISK, **changes)))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days,capacity\nP,20,30,10,5,1\nA,20,8,0,5,1\n"},
            "nodes.csv, line 1, column 'capacity': column 6 is named 'capacity'",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\n"},
            "nodes.csv, line 2: the table has a header but no rows; expected at least one node",
        ),
        ({"edges__csv": ""}, "edges.csv, line 1: the file is empty"),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\nA,20,8,0,5\nP,1,1,0,1\n"},
            "nodes.csv, line 4, column 'node': duplicate node id 'P'",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\n ,20,8,0,5\n"},
            "nodes.csv, line 3, column 'node': 'node' is empty",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days,tier\nP,20,30,10,5,0.5\nA,20,8,0,5,1\n"},
            "nodes.csv, line 2, column 'tier': tier 0.5 of node 'P' is not a whole number >= 0",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,5,30,10,5\nA,20,8,0,5\n"},
            "nodes.csv, line 2, column 'capacity': capacity 5 of node 'P' is below its demand 10 (negative spare capacity)",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\nA,inf,8,0,5\n"},
            "nodes.csv, line 3, column 'capacity': capacity inf of node 'A' is not a finite number >= 0",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\nA,20,-8,0,5\n"},
            "nodes.csv, line 3, column 'inventory': inventory -8 of node 'A'",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\nA,20,lots,0,5\n"},
            "nodes.csv, line 3, column 'inventory': expected a number, got 'lots'",
        ),
        (
            {"edges__csv": "supplier,consumer,material,ratio\nA,P,m,0\n"},
            "edges.csv, line 2, column 'ratio': ratio 0 is not a finite number > 0",
        ),
        (
            {"edges__csv": "supplier,consumer,material,ratio\nA,A,m,1\n"},
            "edges.csv, line 2, column 'consumer': the supplier and the consumer are the same node",
        ),
        ({"edges__csv": "supplier,consumer,material,ratio\nA,P,,1\n"}, "edges.csv, line 2, column 'material': 'material' is empty"),
        (
            {
                "nodes__csv": "node,capacity,inventory,demand,ttr_days\nP,20,30,10,5\nA,20,8,0,5\nB,20,8,0,5\n",
                "edges__csv": "supplier,consumer,material,ratio\nA,P,m,2\nB,P,m,3\n",
            },
            "edges.csv, line 3, column 'ratio': ratio 3 differs from 2 of another supplier of the same material",
        ),
        (
            {"nodes__csv": "node,capacity,inventory,demand,ttr_days,group\nP,20,30,10,5,g\nA,20,8,0,5,\n"},
            "nodes.csv, line 2, column 'group': node is in group 'g' but there is no groups.csv",
        ),
        (
            {
                "nodes__csv": "node,capacity,inventory,demand,ttr_days,group\nP,20,30,10,5,g\nA,20,8,0,5,\n",
                "groups__csv": "group,capacity\ng,5\ng,6\n",
            },
            "groups.csv, line 3, column 'group': duplicate group 'g'",
        ),
        (
            {
                "nodes__csv": "node,capacity,inventory,demand,ttr_days,group\nP,20,30,10,5,g\nA,20,8,0,5,\n",
                "groups__csv": "group,capacity\ng,-5\n",
            },
            "groups.csv, line 2, column 'capacity': group capacity -5 is not a finite number >= 0",
        ),
    ],
)
def test_bad_risk_networks_are_located(tmp_path: Path, changes: dict, expected: str):
    assert expected in _risk(tmp_path, **changes)


def test_risk_network_model_refuses_the_same_without_files():
    """From Python (no files), problems name the table and the node."""
    args = ([20.0, 20.0], [30.0, 8.0], [10.0, 0.0], [5.0, 5.0], [1], [0], [0], [2.0])
    assert risk_network(["P", "A"], *args).n_nodes == 2
    for ids, kwargs, expected in [
        (["P", "P"], {}, "nodes table, column 'node': duplicate node id 'P' \\(also node 1\\)"),
        (["P", ""], {}, "nodes table, column 'node': the node id is blank"),
        (["P", None], {}, "nodes table, column 'node': the node id is blank"),
        (["P", "A"], {"tier": [0, 1.5]}, "tier 1.5 of node 'A' is not a whole number"),
    ]:
        with pytest.raises(ValidationError, match=expected):
            risk_network(ids, *args, **kwargs)
    with pytest.raises(ValidationError, match="capacity 5 of node 'P' is below its demand 10"):
        risk_network(["P", "A"], [5.0, 20.0], *args[1:])
