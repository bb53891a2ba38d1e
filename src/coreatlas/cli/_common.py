"""What every command shares: consoles, options, error rendering, ``emit``, tables, progress.

A command only parses its options into a request, calls one service and renders the result
with these helpers. ``--out`` means the same everywhere: a path ending ``.json``, ``.csv`` or
``.parquet`` is one file of the result; any other path is a result folder (``summary.json``,
the tables as CSV, the charts as PNG and Vega-Lite JSON).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from coreatlas import services
from coreatlas.errors import CoreAtlasError, Problem

__all__ = [
    "CONTEXT",
    "AttributionOption",
    "Column",
    "CsvOption",
    "DataOption",
    "ForceOption",
    "JsonOption",
    "OutOption",
    "emit",
    "err",
    "flag_for",
    "handles_errors",
    "out",
    "pct",
    "pct_range",
    "precheck",
    "print_table",
    "register_flags",
    "progress_bar",
    "split_items",
    "sub_app",
]

out = Console()
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line, for grep and logs
CONTEXT = {"help_option_names": ["-h", "--help"]}
MAX_PROBLEMS_SHOWN = 20
MAX_WORD_WIDTH = 30  # a column is at least as wide as its longest word up to this, so ids wrap between words

DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="Built-in dataset name (chips, telecom-ran, ...), a folder in the native or ETO format, or several joined by '+'.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON (with its provenance) for scripts.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print the result's table as CSV.")]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Save the result: FILE.json, FILE.csv or FILE.parquet, or any other path as a result folder."),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Let --out replace a non-empty folder that holds no earlier CoRe Atlas result.")
]
AttributionOption = Annotated[str, typer.Option(help="Attribute firms to their headquarters country (hq) or production site (site).")]


def sub_app(help_text: str) -> typer.Typer:
    """A command group with the shared conventions (``-h``, no completion)."""
    return typer.Typer(help=help_text, no_args_is_help=True, context_settings=CONTEXT, add_completion=False)


# ---- errors: request fields become this front end's flags ------------------------------------
#: Request fields whose flag is not ``--`` + the field name with hyphens.
FLAGS: dict[str, str | None] = {
    "capacity": "--cut",
    "remove_countries": "--remove-country",
    "remove_firms": "--remove-firm",
    "remove_blocs": "--remove-bloc",
    "scenario_name": "--name",
    "scenario_file": "--scenario",
    "network_dir": "--network",
    "tiers": "--generate",
    "hazards_file": "--hazards",
    "measures_file": "--measures",
    "out": "--out",
}


#: Per command module (``coreatlas.cli.sim``), its own fields' flags, which win over FLAGS.
GROUP_FLAGS: dict[str, dict[str, str | None]] = {}


def register_flags(group: str, flags: dict[str, str | None]) -> None:
    """The request fields of the commands of module ``group`` whose flag differs from
    ``--field-name`` (None: the field has no flag, its path is shown as it is; "": the field
    is a positional argument, the message is shown alone)."""
    GROUP_FLAGS.setdefault(group, {}).update(flags)


def flag_for(field: str, group: str | None = None) -> str:
    """``capacity.TWN`` -> ``--cut TWN``; ``threshold`` -> ``--threshold``; a field without a flag as it is."""
    field = re.sub(r"^scenarios\[\d+\]\.", "", field)  # the one scenario the options describe
    head, _, rest = field.partition(".")
    head, _, _ = head.partition("[")
    flags = {**FLAGS, **GROUP_FLAGS.get(group or "", {})}
    flag = flags.get(head, "--" + head.replace("_", "-"))
    if flag is None:
        return field
    if not flag:
        return ""
    rest = re.sub(r"\[\d+\]", "", rest).replace(".", " ").strip()  # list positions: the value itself is named
    return f"{flag} {rest}" if rest else flag


def _line(problem: Problem, exc: CoreAtlasError, group: str | None) -> str:
    field = problem.field or exc.field
    if problem.file or not field:
        return str(problem)
    message = problem.message
    starts = message.startswith(field) and not message[len(field) : len(field) + 1].isalnum() and message[len(field) : len(field) + 1] != "_"
    flag = flag_for(field, group)
    if not flag:
        return message
    return flag + message[len(field) :] if starts else f"{flag}: {message}"


def _fail(exc: CoreAtlasError, group: str | None = None) -> None:
    problems = exc.problems or [Problem(str(exc), field=exc.field)]
    if len(problems) > 1:
        err.print(f"[bold red]error:[/] {len(problems)} problems in the input", highlight=False)
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            err.print(f"  {_line(problem, exc, group)}", highlight=False, markup=False)
        if len(problems) > MAX_PROBLEMS_SHOWN:
            err.print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more (coreatlas validate --json lists all)")
    else:
        err.print("[bold red]error:[/] ", end="", highlight=False)
        err.print(_line(problems[0], exc, group), highlight=False, markup=False)
    raise typer.Exit(exc.exit_code)


#: Errors writing to standard output that are the reader's doing, not a bug: a closed pipe, a full disk.
STDOUT_ERRORS = (errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT)


def _stdout_failed(exc: OSError) -> None:
    """A closed or full standard output: one line on stderr, exit 2, and no second error when
    Python flushes the dead stream at exit."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    err.print(f"[bold red]error:[/] cannot write to standard output ({exc.strerror or exc}); the output is incomplete", highlight=False)
    raise typer.Exit(2)


def handles_errors(command):
    """Turn user errors into a message and exit code; unexpected ones into a short report."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            value = command(*args, **kwargs)
            _flush()
            return value
        except CoreAtlasError as exc:
            _fail(exc, command.__module__)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.errno not in STDOUT_ERRORS or not _is_stdout_error(exc):
                _internal(exc)
            _stdout_failed(exc)
        except Exception as exc:  # a bug: say so plainly, trace only on request
            _internal(exc)

    return wrapper


def _internal(exc: Exception) -> None:
    if os.environ.get("COREATLAS_DEBUG"):
        raise exc
    err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False)
    err.print("This is a bug in CoRe Atlas; rerun with COREATLAS_DEBUG=1 for a traceback and report it.")
    raise typer.Exit(1) from None


def _is_stdout_error(exc: OSError) -> bool:
    """An OSError without a file name comes from writing a stream (files are named by the writers)."""
    return exc.filename is None or isinstance(exc, BrokenPipeError)


def _flush() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def _write_stdout(text: str) -> None:
    if sys.stdout is None:  # started with standard output closed
        raise OSError(errno.EBADF, "standard output is closed")
    sys.stdout.write(text)
    sys.stdout.flush()


# ---- output --------------------------------------------------------------------------------
def precheck(save: Path | None, force: bool, *inputs) -> None:
    """Before any work: refuse an ``--out`` that is one of the inputs, cannot be written, or is
    a foreign non-empty folder (unless ``--force``)."""
    if save is not None:
        services.check_out(save, [str(i) for i in inputs if i is not None], force)


def emit(result, as_json: bool = False, as_csv: bool = False, save: Path | None = None, force: bool = False) -> bool:
    """Save if asked (``force``: even over a foreign non-empty folder), print JSON or CSV if
    asked; True if a table should still be printed."""
    if save is not None:
        written = services.save_result(result, save, force=force)
        err.print(f"saved {written}")
    if as_json:
        _write_stdout(services.to_json(result.to_dict()) + "\n")
        return False
    if as_csv:
        _write_stdout(result.to_frame().to_csv(index=False))
        return False
    return True


def pct(value) -> str:
    return "–" if value is None or value != value else f"{value:.1%}"


def pct_range(value, low, high) -> str:
    """``57.0%`` or, where sources disagree, ``57.0% (52.0%–60.0%)``."""
    if value is None:
        return "–"
    if low is None or high is None or abs(high - low) < 5e-4:
        return pct(value)
    return f"{value:.1%} ({low:.1%}–{high:.1%})"


@dataclass(frozen=True)
class Column:
    """A table column: its header, how a row's value is shown, and its alignment."""

    header: str
    show: Callable[[dict], str]
    right: bool = False


def _min_widths(cells: list[list[str]], n: int) -> list[int | None]:
    """Each column at least as wide as its longest word (up to MAX_WORD_WIDTH), so ids wrap
    between words; where the terminal is too narrow for that, rich divides the room (and folds)."""
    longest = [min(max((len(w) for line in cells for w in line[i].split()), default=0), MAX_WORD_WIDTH) for i in range(n)]
    fits = sum(longest) + 3 * n + 1 <= out.width
    return longest if fits else [None] * n


def print_table(title: str, columns: Iterable[Column], rows: Iterable[dict], empty: str | None = None) -> None:
    """One rich table; ids and names are wrapped between words, never cut to an ellipsis."""
    columns, rows = list(columns), list(rows)
    if not rows and empty is not None:
        out.print(empty)
        return
    cells = [[column.show(row) for column in columns] for row in rows]
    grid = Table(title=title, title_justify="left")
    for column, width in zip(columns, _min_widths(cells, len(columns)), strict=True):
        grid.add_column(column.header, justify="right" if column.right else "left", overflow="fold", min_width=width)
    for line in cells:
        grid.add_row(*line)
    out.print(grid)


def split_items(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated and comma-separated values: ``["TWN,KOR", "JPN"]`` -> ``("TWN", "KOR", "JPN")``."""
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


@contextlib.contextmanager
def progress_bar(label: str, unit: str = "") -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr; yields the ``progress(done, total)`` callback of the services."""
    columns = [SpinnerColumn(), TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
