"""Issue 12 on the technology maps: bad names, codes and numbers refused with a located
message (exit 2), and no answer that misleads (bloc names, code case, unknown splits,
assumed figures, one rule for outputs, combined maps)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas import Scenario, exposure, load_map, run_scenario, services
from coreatlas.analysis.propagate import ASSUMED_RULE, build_propagator
from coreatlas.analysis.ranking import output_weights
from coreatlas.cli import app
from coreatlas.errors import NotFoundError, RequestError, ScenarioError, ValidationError
from coreatlas.io.native import write_native
from coreatlas.model.countries import ISO_ALPHA3
from coreatlas.model.techmap import Metadata, TechMap, normalise_table
from coreatlas.model.validate import check
from coreatlas.services.demo import scenario_chart
from coreatlas.services.policy import SPLIT_RULE
from maps import firm, make_map

runner = CliRunner()


def cli(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def fails(result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    for part in parts:
        assert part in result.stderr, result.stderr


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small valid native dataset (chip uses fab; fab: USA 0.6 with acme inside, JPN 0.4)."""
    tm = make_map(
        nodes=[{"node_id": "chip", "kind": "output", "market_size_usd": 100.0, "market_size_year": 2024}, "fab"],
        providers=[firm("acme", "USA")],
        provision=[("fab", "USA", 0.6), ("fab", "JPN", 0.4), ("fab", "acme", 0.5)],
        relations=[("chip", "uses", "fab")],
    )
    return write_native(tm, tmp_path / "tiny")


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)


# ---- item 5: answers that mislead --------------------------------------------------------------
def test_exposure_resolves_a_bloc_name_from_python():
    tm = load_map("chips")
    by_name = exposure(tm, bloc="core")
    assert by_name.bloc == ("USA", "JPN")
    assert [r["bloc_share"] for r in by_name.records] == [r["bloc_share"] for r in exposure(tm, ("USA", "JPN")).records]
    assert any((r["bloc_share"] or 0) > 0 for r in by_name.records)
    assert exposure(tm, bloc="usa,jpn").bloc == ("USA", "JPN")


def test_exposure_refuses_unknown_blocs_and_codes_from_python():
    tm = load_map("chips")
    with pytest.raises(NotFoundError, match="unknown bloc 'friends'") as exc:
        exposure(tm, bloc="friends")
    assert exc.value.field == "bloc"
    with pytest.raises(RequestError, match="unknown country code 'XYZ'") as exc:
        exposure(tm, bloc=("USA", "XYZ"))
    assert exc.value.field == "bloc"


def test_exposure_of_a_combined_map_with_a_bloc_name():
    combined = load_map("materials+chips+telecom-ran")
    by_name = exposure(combined, bloc="core").to_frame()  # raised a pandas TypeError
    by_codes = exposure(combined, ("USA", "JPN")).to_frame()
    pd.testing.assert_frame_equal(by_name, by_codes)


def test_scenario_codes_are_normalised_from_python():
    tm = load_map("chips")
    lower = run_scenario(tm, Scenario(remove_countries=("twn",)))
    upper = run_scenario(tm, Scenario(remove_countries=("TWN",)))
    assert lower.scenario.remove_countries == ("TWN",)
    assert [o["available"] for o in lower.outputs()] == [o["available"] for o in upper.outputs()]
    assert lower.outputs()[0]["available"] < 1.0
    assert run_scenario(tm, Scenario(only_bloc=("core",))).scenario.only_bloc == ("USA", "JPN")


@pytest.mark.parametrize(
    ("scenario", "field", "message"),
    [
        (Scenario(remove_countries=("QQQ",)), "remove_countries[0]", "unknown country code 'QQQ'"),
        (Scenario(capacity={"QQQ": 0.3}), "capacity.QQQ", "unknown country code or firm 'QQQ'"),
        (Scenario(remove_firms=("nosuch",)), "remove_firms[0]", "unknown firm 'nosuch'"),
        (Scenario(only_bloc=("USA", "QQQ")), "only_bloc[1]", "unknown country code 'QQQ'"),
    ],
)
def test_unknown_codes_and_firms_in_a_python_scenario(scenario, field, message):
    with pytest.raises(ScenarioError, match=message) as exc:
        run_scenario(load_map("chips"), scenario)
    assert exc.value.field == field


def test_scenario_capacity_not_a_fraction_from_python():
    for value in (math.nan, math.inf, "lots"):
        with pytest.raises(ScenarioError, match=r"capacity\.TWN is"):
            Scenario(capacity={"TWN": value})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exposure", "--bloc", "XYZ"], "--bloc: unknown country code 'XYZ'"),
        (["exposure", "--bloc", "USA,XYZ"], "--bloc: unknown country code 'XYZ'"),
        (["leverage", "--bloc", "XYZ"], "--bloc: unknown country code 'XYZ'"),
        (["indicators", "--bloc", "XYZ"], "--bloc: unknown country code 'XYZ'"),
        (["scenario", "--cut", "QQQ=0.3"], "--cut QQQ: unknown country code or firm 'QQQ' in chips"),
        (["scenario", "--remove-country", "QQQ"], "--remove-country: unknown country code 'QQQ'"),
        (["scenario", "--only-bloc", "USA,QQQ"], "--only-bloc: unknown country code 'QQQ'"),
    ],
)
def test_unknown_codes_through_the_cli(args, message):
    fails(cli(*args), message)


def test_lower_case_codes_through_the_cli_mean_the_same():
    lower = json.loads(cli("scenario", "--cut", "twn=0.3", "--json").stdout)["rows"]
    upper = json.loads(cli("scenario", "--cut", "TWN=0.3", "--json").stdout)["rows"]
    assert [r["available"] for r in lower] == [r["available"] for r in upper]
    assert min(r["available"] for r in upper) < 1.0


def test_export_control_to_an_unknown_target_is_refused():
    request = {"scenarios": [{"export_control": {"denied_by": "core", "target": "QQQ"}}]}
    with pytest.raises(ScenarioError, match="unknown country code 'QQQ'") as exc:
        services.run("scenario", request)
    assert exc.value.field == "scenarios[0].export_control.target"


def test_policy_record_that_cannot_be_split_has_no_central_figure():
    doc = json.loads(cli("policy", "uk_huawei_removal", "--country", "DEU", "--json").stdout)
    (row,) = doc["third_countries"]
    assert row["to_replace"] is None and row["split"] == "unknown"
    assert (row["to_replace_low"], row["to_replace_high"]) == (0.0, 0.59)
    assert doc["split_rule"] == SPLIT_RULE
    text = runner.invoke(app, ["policy", "uk_huawei_removal", "--country", "DEU"], env={"COLUMNS": "200"})
    assert "split unknown † (0.0%–59.0%)" in text.stdout and "0.0% (0.0%–59.0%)" not in text.stdout
    assert "† split unknown: the record gives one share for several vendors" in " ".join(text.stdout.split())


def test_policy_covering_every_vendor_of_a_record_keeps_its_figure():
    doc = json.loads(cli("policy", "fcc_covered_list", "--country", "DEU", "--json").stdout)
    (row,) = doc["third_countries"]
    assert (row["to_replace"], row["split"]) == (0.59, "known")


def test_assumed_figures_are_marked_downstream_in_json_and_tables():
    doc = json.loads(cli("scenario", "--data", "quantum", "--remove-country", "FIN", "--json").stdout)
    by_id = {r["node_id"]: r for r in doc["rows"]}
    # Bluefors (FIN) is qualitative: its 25% is an equal split, and the computers inherit it.
    assert by_id["dilution_refrigerators"]["estimated"] is True
    assert by_id["superconducting_quantum_computer"]["available"] == pytest.approx(0.75)
    assert by_id["superconducting_quantum_computer"]["estimated"] is True
    assert by_id["atomic_qubit_quantum_computer"]["estimated"] is False
    assert doc["estimated_rule"] == ASSUMED_RULE
    text = runner.invoke(app, ["scenario", "--data", "quantum", "--remove-country", "FIN"], env={"COLUMNS": "200"}).stdout
    assert "75.0% *" in text and "* assumed: rests on an equal split" in text


def test_an_assumption_not_limiting_a_node_does_not_mark_it():
    # o uses a (USA 0.5, JPN qualitative: assumed 0.5) and b (KOR 1.0). Removing JPN and KOR:
    # a 50% (assumed), b 0%: o is 0%, limited by b, which rests on a figure.
    tm = make_map(nodes=[("o", "output"), "a", "b"], provision=[("a", "USA", 0.5), ("a", "JPN"), ("b", "KOR", 1.0)],
                  relations=[("o", "uses", "a"), ("o", "uses", "b")])  # fmt: skip
    rows = {r["node_id"]: r for r in run_scenario(tm, Scenario(remove_countries=("JPN", "KOR"))).records}
    assert rows["a"]["estimated"] is True and rows["o"]["available"] == 0.0 and rows["o"]["estimated"] is False
    rows = {r["node_id"]: r for r in run_scenario(tm, Scenario(remove_countries=("JPN",))).records}
    assert rows["o"]["available"] == pytest.approx(0.5) and rows["o"]["estimated"] is True


def test_assumed_figures_in_the_report_and_chart(tmp_path: Path):
    result = services.run("demo", {"data": "quantum", "out_dir": str(tmp_path / "r")})
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "75.0% (assumed*)" in page and html.escape(ASSUMED_RULE) in page
    chart = scenario_chart(result.sections[0].results)
    labels = chart.data.set_index("scenario")
    assert "Finland out: Superconducting quantum computer *" in labels.index
    assert bool(labels.loc["Finland out: Superconducting quantum computer *", "estimated"])
    assert chart.y_title.startswith("* assumed")


def test_outputs_follow_one_rule_everywhere():
    tm = load_map("materials")  # marks no node 'output': the nodes nothing needs are the outputs
    needed = set(tm.relations["target_id"])
    assert tm.outputs and set(tm.outputs) == set(tm.node_ids) - needed
    engine_outputs = output_weights(build_propagator(tm))[0]  # what simulate, montecarlo and rank use
    assert [tm.node_ids[i] for i in engine_outputs] == tm.outputs
    doc = json.loads(cli("scenario", "--data", "materials", "--remove-country", "CHN", "--json").stdout)
    assert {r["node_id"] for r in doc["rows"] if r["output"]} == set(tm.outputs)
    table = runner.invoke(app, ["scenario", "--data", "materials", "--remove-country", "CHN"], env={"COLUMNS": "200"}).stdout
    assert "Rare-earth permanent magnets" in table.split("most affected")[0]
    assert load_map("chips").outputs == ["finished_logic_chip"]


def test_variants_are_not_outputs_where_no_node_is_marked():
    tm = make_map(nodes=["p", "v1", "v2", "x"], provision=[("v1", "USA", 1.0), ("v2", "JPN", 1.0), ("x", "KOR", 1.0)],
                  relations=[("v1", "variant_of", "p"), ("v2", "variant_of", "p"), ("p", "uses", "x")])  # fmt: skip
    assert tm.outputs == ["p"]


# ---- item 4 and 3: bad values in maps and scenario files ------------------------------------------
def _meta(tolerance: float) -> Metadata:
    return Metadata(name="t", version="1", licence="x", share_tolerance=tolerance)


@pytest.mark.parametrize("tolerance", [math.nan, math.inf, -0.1])
def test_share_tolerance_must_be_finite(tolerance):
    tm = make_map(provision=[("a", "USA", 0.9), ("a", "JPN", 0.9)])
    bad = TechMap.from_tables(_meta(tolerance), tm.nodes, tm.providers, tm.provision, tm.relations)
    with pytest.raises(ValidationError, match="share_tolerance is") as exc:
        check(bad)
    assert exc.value.problems[0].column == "share_tolerance"


def test_share_tolerance_nan_in_metadata_file(tiny: Path):
    lines = [
        ("share_tolerance: .nan" if line.startswith("share_tolerance:") else line)
        for line in (tiny / "metadata.yaml").read_text().splitlines()
    ]
    (tiny / "metadata.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("share_tolerance"))
    fails(cli("validate", "--data", tiny), f"metadata.yaml, line {number}", "share_tolerance")


@pytest.mark.parametrize(
    ("table", "row", "column", "value"),
    [
        ("nodes", 0, "market_size_usd", "-100"),
        ("nodes", 0, "market_size_usd", "inf"),
        ("nodes", 0, "market_size_year", "-2024"),
        ("provision", 1, "year", "20244"),
        ("provision", 1, "year", "twenty"),
    ],
)
def test_bad_numbers_in_table_files(tiny: Path, table, row, column, value):
    set_cell(tiny, table, row, column, value)
    fails(cli("validate", "--data", tiny), f"{table}.csv, line {row + 2}, column '{column}'")


@pytest.mark.parametrize(
    ("nodes", "provision", "column", "message"),
    [
        (
            [{"node_id": "a", "market_size_usd": -5.0}],
            [],
            "market_size_usd",
            "market_size_usd -5 is not allowed; expected a finite number at least 0",
        ),
        ([{"node_id": "a", "market_size_usd": math.inf}], [], "market_size_usd", "market_size_usd inf is not allowed"),
        ([{"node_id": "a", "market_size_year": -2024}], [], "market_size_year", "expected a finite number from 1000 to 9999"),
        (["a"], [{"node_id": "a", "provider_id": "USA", "share": 1.0, "year": 20244, "source": "s"}], "year", "year 20244 is not allowed"),
    ],
)
def test_bad_numbers_in_a_map_built_in_python(nodes, provision, column, message):
    tm = make_map(nodes=nodes, provision=provision or [("a", "USA", 1.0)])
    with pytest.raises(ValidationError) as exc:
        check(tm)
    problem = next(p for p in exc.value.problems if p.column == column)
    assert message in problem.message and problem.line == 2


def test_infinite_commitment_amount(tiny: Path):
    tm = load_map(str(tiny))
    (tiny / "commitments.csv").write_text(
        "commitment_id,party,program,technology,amount,currency,year,source\nc1,USA,CHIPS,chips,inf,USD,2022,s\n", encoding="utf-8"
    )
    fails(cli("validate", "--data", tiny), "commitments.csv, line 2, column 'amount'")
    commitments = pd.DataFrame([{"commitment_id": "c1", "party": "USA", "program": "p", "technology": "t", "amount": math.inf,
                                 "currency": "USD", "year": 2022, "source": "s", "line": 2}])  # fmt: skip
    bad = TechMap.from_tables(tm.meta, tm.nodes, tm.providers, tm.provision, tm.relations, annex={"commitments": commitments})
    with pytest.raises(ValidationError, match="amount inf is not allowed; expected a finite number"):
        check(bad)


def test_text_or_fraction_where_a_year_is_expected_in_a_table():
    frame = pd.DataFrame({"node_id": ["a", "a"], "provider_id": ["USA", "JPN"], "share": ["0.5", "0.5"], "year": ["2023", "twenty"],
                          "line": [2, 3]})  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        normalise_table(frame, "provision")
    (problem,) = exc.value.problems
    assert (problem.table, problem.line, problem.column) == ("provision", 3, "year")
    assert "'twenty' is not a whole number (a year such as 2023)" in problem.message
    with pytest.raises(ValidationError, match="'2023.5' is not a whole number"):
        normalise_table(frame.assign(year=["2023", "2023.5"]), "provision")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("friends,USA\nfriends,QQQ\n", "blocs.csv, line 3, column 'country': bloc 'friends' names unknown country code 'QQQ'"),
        ("friends,USA\nfriends,\n", "blocs.csv, line 3, column 'country': bloc 'friends' names a blank country"),
        ("friends,usa\n", "blocs.csv, line 2, column 'country': bloc 'friends' names unknown country code 'usa'; write 'USA'"),
    ],
)
def test_blocs_naming_unknown_or_blank_countries(tiny: Path, rows, message):
    (tiny / "blocs.csv").write_text("bloc,country\n" + rows, encoding="utf-8")
    fails(cli("validate", "--data", tiny), message)


def test_trusted_only_policy_with_an_unknown_code(tiny: Path):
    (tiny / "policies.csv").write_text(
        "policy_id,name,kind,providers,bloc,nodes,year,source\nt,Trusted,trusted_only,,USA;QQQ,,2021,s\n", encoding="utf-8"
    )
    fails(cli("validate", "--data", tiny), "policies.csv, line 2, column 'bloc'", "unknown country code 'QQQ'")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "name: a\nremove_countries:\ncapacity: {TWN: 0.3}\n",
            "s.yaml, line 2, column 'remove_countries'",
            "'remove_countries' has no value",
        ),
        ("scenarios:\n  - name: a\n    only_bloc:\n", "s.yaml, line 3, column 'only_bloc'", "'scenarios[0].only_bloc' has no value"),
        ("- name: a\n  remove_countries: [TWN, ~]\n", "s.yaml, line 2", "has no value"),
        ("scenarios:\n  - name: a\n    remove_countries: []\n", "s.yaml, line 2", "the scenario changes nothing"),
        ("name: a\nremove_countries: [QQQ]\n", "s.yaml, line 2, column 'remove_countries'", "unknown country code 'QQQ'"),
        (
            "scenarios:\n - name: a\n   capacity:\n     TWN: 0.2\n     QQQ: 0.3\n",
            "s.yaml, line 5, column 'QQQ'",
            "unknown country code or firm 'QQQ'",
        ),
        ("name: a\nexport_control: {denied_by: [USA, QQQ], target: CHN}\n", "s.yaml, line 2", "unknown country code 'QQQ'"),
    ],
)
def test_bad_scenario_files(tmp_path: Path, text, where, message):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    fails(cli("scenario", path), where, message)


def test_an_empty_inline_scenario_is_refused():
    with pytest.raises(ScenarioError, match="scenarios\\[0\\]: the scenario changes nothing") as exc:
        services.run("scenario", {"scenarios": [{"name": "nothing", "remove_countries": []}]})
    assert exc.value.field == "scenarios[0]"


def test_iso_list_is_the_officially_assigned_codes():
    assert len(ISO_ALPHA3) == 249 and {"TWN", "USA", "NLD", "FIN"} <= ISO_ALPHA3
    assert not {"EUR", "XKX", "QQQ", "ZZZ"} & ISO_ALPHA3


def test_policy_country_code_case_and_unknown_country():
    lower = json.loads(cli("policy", "fcc_covered_list", "--country", "deu", "--json").stdout)["third_countries"]
    assert [(r["country"], r["to_replace"]) for r in lower] == [("DEU", 0.59)]
    fails(cli("policy", "fcc_covered_list", "--country", "QQQ"), "--country: no exposure record for country 'QQQ' in telecom-ran")
