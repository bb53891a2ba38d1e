"""Reading CSV tables with the line numbers users need in error messages."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from coreatlas.errors import DataSourceError, Problem, ValidationError
from coreatlas.model import schema
from coreatlas.model.techmap import LINE

__all__ = ["check_numeric_columns", "locate", "read_table", "read_text"]


def read_text(path: Path) -> str:
    """The file's text, decoded as UTF-8 (a byte-order mark is allowed)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataSourceError(f"{path}: file not found") from exc
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot read the file ({exc.strerror})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); expected UTF-8: re-save it as UTF-8"
        raise ValidationError(Problem(message, file=str(path), line=line)) from exc


def read_table(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a CSV file into a frame of strings plus a ``line`` column (1 = header).

    Raises :class:`ValidationError` naming the file, line and column for an
    undecodable file, a missing required column or a row with too many fields.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    header = next(reader, None)
    if header is None:
        raise ValidationError(Problem("the file is empty; expected a header row", file=str(path), line=1))
    header = [name.strip() for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        message = f"missing required column '{missing[0]}'; the header has: {', '.join(header)}"
        raise ValidationError(Problem(message, file=str(path), line=1, column=missing[0]))
    records, lines = _records(reader, header, path)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame[LINE] = lines
    return frame


def _records(reader, header: list[str], path: Path) -> tuple[list[list[str]], list[int]]:
    records, lines = [], []
    start = reader.line_num + 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) > len(header):
                    message = f"{len(row)} fields where the header has {len(header)}; expected {len(header)}"
                    raise ValidationError(Problem(message, file=str(path), line=start))
                records.append(row + [""] * (len(header) - len(row)))
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ValidationError(Problem(f"malformed CSV ({exc})", file=str(path), line=reader.line_num)) from exc
    return records, lines


def check_numeric_columns(frame: pd.DataFrame, table: str, path: Path) -> list[Problem]:
    """Problems for cells of numeric schema columns that are not numbers."""
    problems = []
    for col in schema.TABLES[table]:
        if col.dtype == "str" or col.name not in frame:
            continue
        text = frame[col.name].astype("string").str.strip()
        parsed = pd.to_numeric(text.mask(text == ""), errors="coerce")
        bad = parsed.isna() & text.notna() & (text != "")
        if col.dtype == "int":
            bad |= parsed.notna() & (parsed != parsed.round())
        for value, line in zip(text[bad], frame.loc[bad, LINE], strict=True):
            kind = "a whole number" if col.dtype == "int" else "a number"
            message = f"'{value}' is not {kind}; expected {kind} ({col.description})"
            problems.append(Problem(message, file=str(path), line=int(line), column=col.name))
    return problems


def locate(problems: list[Problem], files: dict[str, Path]) -> list[Problem]:
    """Fill in the file of problems the core located only by table."""
    located = []
    for problem in problems:
        path = files.get(problem.table or "")
        if problem.file is None and path is not None:
            problem = Problem(problem.message, problem.table, problem.line, problem.column, str(path), problem.severity)
        located.append(problem)
    return located
