"""The docs are tested: every command block of README.md and docs/ runs, exits 0 and prints the
figures it shows.

A command block is a fenced block with ``$ coreatlas ...`` lines. The lines after a ``$`` line, up
to the next ``$`` line or the end of the block, are that command's shown output (``...`` marks an
abbreviation). A ``$`` line may end in ``\\`` to go on on the next line, and may carry a comment
after ``#``; ``# not run: REASON`` marks a command that cannot run here (one that starts a
server), which is then only parsed. Each block is one test case, named by its file and line, so that every failing block
is reported at once.

Each block runs in a fresh temporary folder holding copies of ``examples/`` and
``src/coreatlas/datasets/`` (so that the relative paths the docs use resolve, and nothing a
command writes can land in the repository) and the placeholder inputs the docs name as "your own
files" (``links.txt``, ``shocks.csv``, ``my-plants``, ``my-exiobase``: see :func:`_placeholders`).
Commands run through the Typer app with a terminal 120 columns wide. The ETO folder the docs call
``~/eto-chip-explorer/data`` is ``../shared/data/eto-chip-explorer``; a block that needs it is
skipped, with the reason, when ``../shared`` is absent.

The output check compares numbers and words, not layout: every number (``40.0%``, ``1.42``,
``0.6044``) and every word of the shown output must occur in what the command prints, so box
drawing, column widths and line wrapping do not matter, and a changed figure does.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared_data import SHARED

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ETO = SHARED / "data" / "eto-chip-explorer"
ETO_NAMES = ("~/eto-chip-explorer/data", "~/eto-chip-explorer")
WIDTH = "120"

FENCE = re.compile(r"^\s*(```|~~~)")
PROMPT = re.compile(r"^\s*\$ ")
NOT_RUN = re.compile(r"#.*\bnot run: (.+)$")
# a number (thousands separators, decimals, exponent, percent) or a word
TOKEN = re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?%?|[^\W\d_](?:[\w'’]*\w)?")


@dataclass
class Command:
    line: int
    text: str  # after the prompt, continuation lines joined, comment kept
    shown: list[str]

    @property
    def not_run(self) -> str | None:
        """The reason given in a ``# not run: REASON`` comment (a command that starts a server)."""
        found = NOT_RUN.search(self.text)
        return found.group(1).strip() if found else None


@dataclass
class Block:
    path: Path
    line: int
    commands: list[Command]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def fenced_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number of the first line inside the fence, the info string, the lines inside) of every
    fenced block."""
    blocks, inside, start, info, lines = [], False, 0, "", []
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence and inside:
            blocks.append((start, info, lines))
            inside = False
        elif fence:
            inside, start, info, lines = True, number + 1, line[fence.end() :].strip(), []
        elif inside:
            lines.append(line)
    return blocks


def named_files() -> dict[str, str]:
    """Blocks whose info string names a file after the language (```` ```yaml my-scenarios.yaml ````):
    the docs' example inputs, written into the working folder of every block."""
    files = {}
    for path in DOCS:
        for _, info, lines in fenced_blocks(path.read_text(encoding="utf-8")):
            words = info.split()
            if len(words) == 2 and re.fullmatch(r"[\w.-]+\.\w+", words[1]):
                files[words[1]] = "\n".join(lines) + "\n"
    return files


def commands_of(start: int, lines: list[str]) -> list[Command]:
    """The ``$`` commands of one block with their shown output; ``$`` lines of other programs
    end the output before them but are not run."""
    commands: list[Command | None] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if PROMPT.match(line):
            number, text = start + i, PROMPT.sub("", line, count=1)
            while text.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text.rstrip()[:-1].rstrip() + " " + lines[i].strip()
            commands.append(Command(number, text.strip(), []) if text.startswith("coreatlas ") else None)
        elif commands and commands[-1] is not None:
            commands[-1].shown.append(line)
        i += 1
    return [c for c in commands if c is not None]


def doc_blocks() -> list[Block]:
    blocks = []
    for path in DOCS:
        for start, _, lines in fenced_blocks(path.read_text(encoding="utf-8")):
            commands = commands_of(start, lines)
            if commands:
                blocks.append(Block(path, commands[0].line, commands))
    return blocks


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def missing_tokens(shown: list[str], printed: str) -> list[str]:
    """The numbers and words of the shown output that the printed output lacks."""
    have = set(tokens(printed))
    wanted = [t for line in shown for t in tokens(line.replace("...", " "))]
    return list(dict.fromkeys(t for t in wanted if t not in have))


def argv_of(text: str) -> list[str]:
    """The arguments after ``coreatlas``, the comment dropped, the ETO folder resolved."""
    argv = shlex.split(text, comments=True)[1:]
    resolved = []
    for arg in argv:
        for name in ETO_NAMES:
            if arg == name or arg.startswith(name + "/"):
                if not (ETO / "provision.csv").is_file():
                    pytest.skip(f"needs the ETO data, not found at {ETO}: the ../shared folder is absent")
                arg = str(ETO) + arg[len(name) :]
                break
        if arg.startswith("../shared/"):
            arg = str(SHARED) + arg[len("../shared") :]
        resolved.append(arg)
    return resolved


# ---- placeholder inputs: the files the docs call "your own" -----------------------------------
TOY_LINKS = "0 1 2\n1 0 4\n"  # firm 0 sells 2 a day to firm 1, firm 1 sells 4 to firm 0
TOY_FINAL = "0 1\n1 1\n"
TOY_SECTORS = "0 0 0\n1 1 0\n"
TOY_DELTA = "1 0.5\n"
PLANT_NODES = "node,capacity,inventory,demand,ttr_days,profit\nore,12,0,0,5,0\nore2,6,0,0,3,0\nchip,11,20,10,4,7\nboard,12,5,8,2,3\n"
PLANT_EDGES = "supplier,consumer,material,ratio\nore,chip,ore,1\nore2,chip,ore,1\nchip,board,chip,1\n"


def _exiobase_like(tmp: Path) -> None:
    """pymrio's test table with one region and one sector renamed as EXIOBASE names them."""
    from coreatlas.io.mrio import aggregate, load_test_table, write_table_folder

    table = aggregate(load_test_table(), {"TW": ["reg1"]}, {"Manufacture of electronic components": ["manufactoring"]})
    write_table_folder(table, tmp / "my-exiobase")


def _placeholders(tmp: Path) -> None:
    files = {
        "links.txt": TOY_LINKS,
        "final_demand.txt": TOY_FINAL,
        "sectors.txt": TOY_SECTORS,
        "delta.txt": TOY_DELTA,
        "shocks.csv": "firm,capacity_loss\n3,0.5\n17,0.5\n",
        "my-plants/nodes.csv": PLANT_NODES,
        "my-plants/edges.csv": PLANT_EDGES,
        **named_files(),
    }
    for name, text in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text, encoding="utf-8")
    _exiobase_like(tmp)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "src" / "coreatlas" / "datasets", tmp_path / "src" / "coreatlas" / "datasets")
    _placeholders(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", WIDTH)
    return tmp_path


BLOCKS = doc_blocks()


def _run(command: Command) -> str | None:
    """None if the command ran as shown, else what went wrong."""
    from coreatlas.cli import app

    result = CliRunner().invoke(app, argv_of(command.text), env={"COLUMNS": WIDTH})
    where = f"line {command.line}: $ {command.text}"
    if result.exit_code != 0:
        error = f"{type(result.exception).__name__}: {result.exception}" if result.exception else ""
        return f"{where}\n  exit code {result.exit_code} {error}\n{result.output[-2000:]}"
    missing = missing_tokens(command.shown, result.output)
    if missing:
        return f"{where}\n  shown but not printed: {missing[:30]}\n{result.output[-3000:]}"
    return None


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_doc_block_runs_as_shown(block: Block, workdir: Path):
    failures = [f for f in (_run(c) for c in block.commands if not c.not_run) if f]
    assert not failures, f"{block.id}:\n" + "\n\n".join(failures)
    if all(c.not_run for c in block.commands):
        pytest.skip("; ".join(dict.fromkeys(c.not_run for c in block.commands)))


# ---- the harness itself ---------------------------------------------------------------------
def test_every_shown_command_is_a_tested_prompt_line():
    """A command shown in a fenced block without its ``$`` would escape this test."""
    bare = []
    for path in DOCS:
        for start, _, lines in fenced_blocks(path.read_text(encoding="utf-8")):
            bare += [f"{path.relative_to(ROOT)}:{start + i}" for i, line in enumerate(lines) if re.match(r"\s*coreatlas\s", line)]
    assert not bare, f"write these as `$ coreatlas ...` lines: {bare}"
    assert len(BLOCKS) >= 8 and sum(len(b.commands) for b in BLOCKS) >= 25


def test_parser_reads_commands_continuations_and_shown_output():
    text = "x\n```console\n$ coreatlas a --b 1 \\\n    --c 2   # note\nout 40.0%\n...\n$ python x\nignored\n$ coreatlas d\n```\n"
    (start, info, lines) = fenced_blocks(text)[0]
    assert info == "console"
    a, d = commands_of(start, lines)
    assert (a.line, a.text, a.shown) == (3, "coreatlas a --b 1 --c 2   # note", ["out 40.0%", "..."])
    assert (d.line, d.shown) == (9, [])
    assert argv_of(a.text) == ["a", "--b", "1", "--c", "2"] and a.not_run is None
    assert Command(1, "coreatlas serve   # not run: starts a server", []).not_run == "starts a server"


def test_output_check_finds_a_changed_figure_and_ignores_layout():
    printed = "┃ node ┃ share ┃\n│ EUV lithography │ 100.0% │\n│ tools │ │\nratio 0.82x, 1,700 nodes"
    assert missing_tokens(["│ EUV lithography tools │ 100.0% │", "...", "ratio 0.82x; 1,700"], printed) == []
    assert missing_tokens(["EUV lithography tools 99.0%"], printed) == ["99.0%"]
    assert missing_tokens(["1.42 days"], "1.420 days") == ["1.42"]


def _command_names(group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        names += _command_names(command, full + " ") if hasattr(command, "commands") else [full]
    return names


def test_readme_lists_every_command():
    from typer.main import get_command

    from coreatlas.cli import app

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    listed = re.search(r"Every command: `coreatlas ([^`]+)`", text)
    assert listed, "README.md: the sentence 'Every command: `coreatlas a | b | ...`' is missing"
    assert [n.strip() for n in listed.group(1).split("|")] == _command_names(get_command(app))
