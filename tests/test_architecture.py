"""The architecture's promises: the layer contract, messages free of command-line flags,
short CLI functions, one error table, and the safe YAML loader."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from coreatlas import errors
from coreatlas.io.yamlfile import load_yaml, validate_yaml
from coreatlas.model.scenario_spec import ScenarioSpec

SRC = Path(__file__).resolve().parents[1] / "src" / "coreatlas"
TOOLS = Path(__file__).resolve().parents[1] / "tools"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _layers():
    spec = importlib.util.spec_from_file_location("check_layers", TOOLS / "check_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layer_contract_holds_on_the_source():
    assert _layers().check(SRC) == []


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("coreatlas.cli.maps", "from coreatlas.io import datasets\n", "cli may not import io"),
        ("coreatlas.cli.sim", "def f():\n    from coreatlas.analysis import dynamics\n", "cli may not import analysis"),
        ("coreatlas.analysis.exposure", "import coreatlas.services.maps\n", "analysis may not import services"),
        ("coreatlas.model.techmap", "from coreatlas.io.csvfile import read_text\n", "model may not import io"),
        ("coreatlas.services.maps", "from coreatlas.cli import app\n", "services may not import cli"),
        ("coreatlas.errors", "from coreatlas.model import spec\n", "errors may not import model"),
    ],
)
def test_layer_contract_fails_on_a_forbidden_import(module, source, broken):
    problems = _layers().broken_rules(module, source)
    assert len(problems) == 1 and broken in problems[0]


def test_layer_contract_finds_a_circle_between_packages_of_one_layer():
    assert _layers().package_cycles({("io", "store"), ("store", "io")}) == ["io and store import each other"]


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal that is not a docstring, with its line."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


@pytest.mark.parametrize("layer", ["services", "io", "analysis", "model", "render"])
def test_no_message_below_the_front_ends_names_a_flag(layer):
    found = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            found += [f"{path.relative_to(SRC)}:{line}: {m}" for m in FLAG.findall(text)]
    assert found == []


def test_the_flag_check_can_fail():
    tree = ast.parse('def f():\n    """Use --data."""\n    raise ValueError("give --data MAP")\n')
    assert [FLAG.findall(t) for _, t in _strings(tree)] == [["--data"]]


def _long_functions(path: Path, limit: int) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.name} has {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_cli_function_is_longer_than_40_lines():
    assert [p for path in sorted((SRC / "cli").glob("*.py")) for p in _long_functions(path, 40)] == []


def test_one_error_table_gives_exit_code_and_http_status():
    table = errors.ERROR_TABLE
    assert table[errors.ValidationError] == ("invalid_data", 2, 422)
    assert table[errors.NotFoundError] == ("not_found", 2, 404)
    assert table[errors.InfeasibleError] == ("infeasible", 3, 409)
    assert table[errors.LimitError][2] == 413
    assert not issubclass(errors.InfeasibleError, errors.ValidationError)  # an infeasible program is not bad input
    envelope = errors.error_envelope(errors.ScenarioError("capacity.TWN is 3; expected a fraction", field="capacity.TWN"))
    assert envelope == {"error": {"code": "invalid_scenario", "message": "capacity.TWN is 3; expected a fraction", "field": "capacity.TWN", "problems": []}}


# ---- the YAML loader ------------------------------------------------------------------------
def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert path.stat().st_size < 1024
    with pytest.raises(errors.ValidationError, match="aliases") as info:
        load_yaml(path, "a scenario")
    assert info.value.problems[0].file == str(path) and info.value.problems[0].line == 2


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(40)) + "  " * 41 + "v\n", "nested deeper than", None),
        ("name: a\nname: b\n", "the key 'name' appears twice", 2),
        ("name: !!python/object:os.system x\n", "is not allowed", 1),
        ("1: a\n", "keys must be text", 1),
        ("name: [a\n", "not valid YAML", 2),
        ("", "the file is empty", 1),
    ],
)
def test_yaml_refusals_name_the_file_and_line(tmp_path: Path, text: str, message: str, line):
    path = _write(tmp_path, text)
    with pytest.raises(errors.ValidationError, match=re.escape(message)) as info:
        load_yaml(path, "a scenario")
    assert info.value.problems[0].file == str(path)
    if line is not None:
        assert info.value.problems[0].line == line


def test_yaml_model_errors_name_field_file_and_line(tmp_path: Path):
    path = _write(tmp_path, "name: blockade\nremove_countries: [NLD]\ncapacity:\n  TWN: 3\n")
    with pytest.raises(errors.ValidationError) as info:
        validate_yaml(load_yaml(path, "a scenario"), ScenarioSpec)
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.column, problem.field) == (str(path), 4, "TWN", "capacity.TWN")
    assert "less than or equal to 1" in problem.message


def test_yaml_file_and_dict_give_equal_specs(tmp_path: Path):
    path = _write(tmp_path, "name: blockade\nremove_countries: NLD, JPN\ncapacity: {TWN: 0.3}\n")
    from_file = validate_yaml(load_yaml(path, "a scenario"), ScenarioSpec)
    from_dict = ScenarioSpec.model_validate({"name": "blockade", "remove_countries": ["NLD", "JPN"], "capacity": {"TWN": 0.3}})
    assert from_file == from_dict


def _command_paths(group, prefix=()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_every_command_has_a_parity_case_and_json():
    """Each command's ``--json`` is compared with its service in a tests/test_parity_*.py case."""
    import typer.main

    from coreatlas.cli import app

    root = typer.main.get_command(app)
    parity = "\n".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_parity_*.py"))
    paths = [p for p in _command_paths(root) if not _runs_the_server(root, p)]
    assert len(paths) >= 21
    missing = [" ".join(path) for path in paths if ("(" + ", ".join(f'"{p}"' for p in path)) not in parity]
    assert missing == []
    lacking_json = [" ".join(p) for p in paths if "--json" not in _params(root, p)]
    assert lacking_json == []


def _runs_the_server(root, path) -> bool:
    """``serve``, ``worker`` and ``admin ...`` print no result: the server's twin is its API."""
    command = root
    for name in path:
        command = command.commands[name]
    return command.callback.__module__ == "coreatlas.cli.server"


def _params(root, path) -> list[str]:
    command = root
    for name in path:
        command = command.commands[name]
    return [opt for param in command.params for opt in getattr(param, "opts", [])]
