"""Issue 12, risk layer: bad hazards, measures and options are located user errors (exit 2),
absurd work is refused with the limit named, and `invest` prints figures a reader can use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coreatlas import services
from coreatlas.cli import app
from coreatlas.errors import LimitError, RequestError
from coreatlas.model.hazards import Distribution, Hazard

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HAZARD = "hazards:\n  - name: h\n    targets: [TWN]\n    annual_probability: 0.01\n"


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def message(result) -> str:
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("    duration_days: {uniform: [365, 60]}\n", "line 5, column 'duration_days': uniform [365.0, 60.0]: expected low <= high"),
        (
            "    duration_days: 30\n    depth: {beta: [0, 0]}\n",
            "line 6, column 'depth': beta [0.0, 0.0]: expected both shape parameters > 0",
        ),
        ("    duration_days: -5\n", "line 5, column 'duration_days': a duration in days must be at least 0, not -5"),
        ("    duration_days: .nan\n", "line 5, column 'duration_days': fixed parameters must be finite numbers"),
        ("    duration_days: 30\n    depth: 1.5\n", "line 6, column 'depth': a depth (share of capacity lost) must be in [0, 1], not 1.5"),
        ("    duration_days: 30\n    depth: {uniform: [-0.5, 1]}\n", "can give -0.5 to 1"),
        (
            "    duration_days: 30\n    depth: {lognormal: [0.5, 0.2]}\n",
            "column 'depth': a depth (share of capacity lost) must be in [0, 1]",
        ),
        ("    duration_days: {triangular: [10, 5, 20]}\n", "expected low <= mode <= high"),
    ],
)
def test_bad_distributions_are_located_errors(tmp_path: Path, lines: str, expected: str):
    path = tmp_path / "hazards.yaml"
    path.write_text(HAZARD + lines, encoding="utf-8")
    result = cli("montecarlo", "--hazards", path, "--years", "10")
    assert result.exit_code == 2, result.output
    assert str(path) in message(result) and expected in message(result)


def test_bad_distribution_inline_names_the_field():
    hazard = {"name": "h", "targets": ["TWN"], "annual_probability": 0.1, "duration_days": 30, "depth": {"beta": [0, 0]}}
    with pytest.raises(RequestError) as caught:
        services.run("montecarlo", {"hazards": [hazard], "years": 10})
    assert caught.value.problems[0].field == "hazards[0].depth"
    assert "expected both shape parameters > 0" in caught.value.problems[0].message


def test_valid_distributions_still_load():
    h = Hazard(name="h", targets=("TWN",), annual_probability=0.1, duration_days={"uniform": [60, 60]}, depth={"beta": [2, 5]})
    assert h.duration_days.support() == (60.0, 60.0) and h.depth.support() == (0.0, 1.0)
    assert Distribution(kind="lognormal", params=(30, 0.5)).support()[1] == float("inf")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--years", "0"), "--years: Input should be greater than or equal to 1"),
        (("--seed", "-1"), "--seed: Input should be greater than or equal to 0"),
        (("--workers", "0"), "--workers: Input should be greater than or equal to 1"),
        (("--years", "10000000000000"), "--years: 10,000,000,000,000 asked for; an ensemble simulates at most 10,000,000 years"),
    ],
)
def test_montecarlo_counts_seeds_workers_and_limits(args, expected):
    result = cli("montecarlo", "--hazards", EXAMPLES / "hazards-chips.yaml", *args)
    assert result.exit_code == 2 and expected in message(result), result.output


def test_years_limit_is_a_limit_error():
    with pytest.raises(LimitError) as caught:
        services.run("montecarlo", {"hazards_file": str(EXAMPLES / "hazards-chips.yaml"), "years": 10**13})
    assert caught.value.field == "years" and "at most 10,000,000 years" in str(caught.value)


def test_generated_network_limit():
    result = cli("risk", "ttr", "--generate", "100000000,1")
    assert result.exit_code == 2 and "--generate: 100,000,001 nodes asked for; a generated network has at most 1,000,000" in message(result)
    with pytest.raises(LimitError) as caught:
        services.run("ttr", {"tiers": [10**8, 1]})
    assert caught.value.field == "tiers"


def test_rank_kind_must_be_a_kind():
    result = cli("risk", "rank", "--data", "sequencing", "--kind", "blah")
    assert result.exit_code == 2
    assert "--kind" in message(result) and all(k in message(result) for k in ("'node'", "'firm'", "'country'", "'region'"))


def test_rank_compare_bounds_the_ranking_table():
    full = json.loads(cli("risk", "rank", "--data", "sequencing", "--json").stdout)
    some = json.loads(cli("risk", "rank", "--data", "sequencing", "--compare", "5", "--json").stdout)
    assert full["compared_firms"] == full["firms"] == len(full["ranking"])
    assert some["compared_firms"] == 5 == len(some["ranking"]) and some["firms"] == full["firms"]
    assert some["sweep"] == full["sweep"]  # the sweep covers every entity whatever is compared
    largest = sorted((r["static_loss"] for r in full["ranking"] if r["static_loss"] is not None), reverse=True)[:5]
    assert sorted((r["static_loss"] for r in some["ranking"]), reverse=True) == pytest.approx(largest)
    assert cli("risk", "rank", "--data", "sequencing", "--compare", "0").exit_code == 2


def test_invest_budget_must_be_finite():
    args = ("invest", "--measures", EXAMPLES / "measures-chips.yaml", "--hazards", EXAMPLES / "hazards-chips.yaml")
    for bad in ("inf", "nan"):
        result = cli(*args, "--budget", bad)
        assert result.exit_code == 2 and "--budget: Input should be a finite number" in message(result), result.output
    result = cli(*args, "--seed", "-2")
    assert result.exit_code == 2 and "--seed: Input should be greater than or equal to 0" in message(result)


def _measures_file(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "measures.yaml"
    path.write_text((EXAMPLES / "measures-chips.yaml").read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return path


def test_invest_unknown_country_and_node_are_located(tmp_path: Path):
    bad_country = _measures_file(tmp_path, "country: USA", "country: QQQ")
    result = cli("invest", "--measures", bad_country, "--target", "0.005")
    assert result.exit_code == 2
    assert f"{bad_country}, line 8, column 'country': measure 'us-leading-edge-fab': unknown country code 'QQQ'" in message(result)
    bad_node = _measures_file(tmp_path, "node: photoresists", "node: nosuch")
    result = cli("invest", "--measures", bad_node, "--hazards", EXAMPLES / "hazards-chips.yaml")
    assert result.exit_code == 2 and "column 'node': measure 'photoresist-reserve': unknown node 'nosuch' in chips" in message(result)


def test_invest_inline_country_is_checked_and_normalised():
    measure = {"id": "a", "kind": "capacity", "node": "euv_lithography_tools", "added_share": 0.5, "cost_usd": 1.0}
    with pytest.raises(RequestError) as caught:
        services.run("invest", {"measures": [measure | {"country": "qqq"}], "target": 0.005})
    assert caught.value.field == "measures[0].country" and "unknown country code 'qqq'" in str(caught.value)
    result = services.run("invest", {"measures": [measure | {"country": "usa"}], "target": 0.005})
    assert result.to_dict()["rows"][0]["country"] == "USA"


@pytest.mark.parametrize("bloc", [(), ("--bloc", "core")])
def test_invest_target_examples_run(bloc):
    result = cli("invest", "--data", "chips", "--measures", EXAMPLES / "measures-chips.yaml", "--target", "0.005", *bloc)
    assert result.exit_code == 0, result.output
    assert "euv_lithography_tools: core share 0.0% -> 13.0%" in message(result)


def test_invest_says_what_the_budget_left_and_shows_small_savings():
    result = cli("invest", "--data", "chips", "--measures", EXAMPLES / "measures-chips.yaml", "--hazards", EXAMPLES / "hazards-chips.yaml",
                 "--budget", "25e9", "--years", "500")  # fmt: skip
    text = message(result)
    assert result.exit_code == 0, result.output
    assert "a further dollar avoids 0.00e+00" not in text
    assert "Budget USD 25.00B, of which USD" in text and "is not used" in text and "10% more budget avoids no further loss" in text
    assert " bp)" in text and "% -> " in text
    summary = json.loads(cli("invest", "--measures", EXAMPLES / "measures-chips.yaml", "--hazards", EXAMPLES / "hazards-chips.yaml",
                             "--budget", "25e9", "--years", "500", "--json").stdout)  # fmt: skip
    assert summary["budget_left_usd"] == pytest.approx(summary["budget_usd"] - summary["cost_usd"])
