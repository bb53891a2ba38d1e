"""Reading CSV tables with the line numbers users need in error messages."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.errors import DataSourceError, Problem, ValidationError
from coreatlas.model import schema
from coreatlas.model.techmap import LINE

__all__ = ["check_columns", "check_numeric_columns", "locate", "read_table", "read_text"]


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


def read_table(path: Path, required: list[str], *, rows: str | None = None) -> pd.DataFrame:
    """Read a CSV file into a frame of strings plus a ``line`` column (1 = header).

    Raises :class:`ValidationError` naming the file, line and column for an
    undecodable file, a missing, repeated or unnamed column, a row with too many fields
    and, where ``rows`` names what the rows are ("node"), a table with no rows.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ValidationError(Problem(f"malformed CSV ({exc})", file=str(path), line=1)) from exc
    if header is None:
        raise ValidationError(Problem("the file is empty; expected a header row", file=str(path), line=1))
    header = _header(header, required, path)
    records, lines = _records(reader, header, path)
    if rows and not records:
        raise ValidationError(Problem(f"the table has a header but no rows; expected at least one {rows}", file=str(path), line=2))
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame = frame.loc[:, [name != "" for name in header]]
    frame[LINE] = lines
    return frame


def _header(header: list[str], required: list[str], path: Path) -> list[str]:
    """The stripped column names; a name given twice, or the reserved ``line``, is refused."""
    header = [name.strip() for name in header]
    for position, name in enumerate(header):
        if name and (name in header[:position] or name == LINE):
            why = "it is reserved for source lines" if name == LINE else f"it is also column {header.index(name) + 1}"
            message = f"column {position + 1} is named '{name}' and {why}; expected each column name once"
            raise ValidationError(Problem(message, file=str(path), line=1, column=name))
    missing = [name for name in required if name not in header]
    if missing:
        message = f"missing required column '{missing[0]}'; the header has: {', '.join(header)}"
        raise ValidationError(Problem(message, file=str(path), line=1, column=missing[0]))
    return header


def _records(reader, header: list[str], path: Path) -> tuple[list[list[str]], list[int]]:
    records, lines = [], []
    start = reader.line_num + 1
    unnamed = [i for i, name in enumerate(header) if not name]
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) > len(header):
                    message = f"{len(row)} fields where the header has {len(header)}; expected {len(header)}"
                    raise ValidationError(Problem(message, file=str(path), line=start))
                _check_unnamed(row, unnamed, path, start)
                records.append(row + [""] * (len(header) - len(row)))
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ValidationError(Problem(f"malformed CSV ({exc})", file=str(path), line=reader.line_num)) from exc
    return records, lines


def _check_unnamed(row: list[str], unnamed: list[int], path: Path, line: int) -> None:
    """Columns without a name (trailing commas) may be present only while they are blank."""
    for i in unnamed:
        if i < len(row) and row[i].strip():
            message = f"'{row[i].strip()}' is in column {i + 1}, which has no name in the header; expected a column name"
            raise ValidationError(Problem(message, file=str(path), line=line))


def check_numeric_columns(frame: pd.DataFrame, table: str, path: Path) -> list[Problem]:
    """Problems for cells of numeric schema columns that are not numbers."""
    return check_columns(frame, schema.TABLES[table], path)


def check_columns(frame: pd.DataFrame, columns, path: Path) -> list[Problem]:
    """Problems for cells of numeric ``columns`` (:class:`~coreatlas.model.schema.Column`)
    that are not finite numbers, whole where the column is ``int``, within its bounds."""
    problems = []
    for col in columns:
        if col.dtype == "str" or col.name not in frame:
            continue
        text = frame[col.name].astype("string").str.strip()
        given = text.notna() & (text != "")
        values = pd.to_numeric(text.mask(~given), errors="coerce").astype("float64")
        bad = given & ~np.isfinite(values)
        if col.dtype == "int":
            bad |= given & ~bad & (values != values.round())
        low, high = (-np.inf if col.low is None else col.low), (np.inf if col.high is None else col.high)
        bad |= given & ~bad & ((values < low) | (values > high))
        expected = f"{'a whole number' if col.dtype == 'int' else 'a number'} {col.bounds()}".strip()
        for value, line in zip(text[bad], frame.loc[bad, LINE], strict=True):
            message = f"'{value}' is not {expected} ({col.description})"
            problems.append(Problem(message, file=str(path), line=int(line), column=col.name))
    return problems


def locate(problems: list[Problem], files: dict[str, Path], columns: dict[str, dict[str, str]] | None = None) -> list[Problem]:
    """Fill in the file of problems the core located only by table; ``columns`` maps a
    table's column names to the file's own (``{"provision": {"share": "share_provided"}}``)."""
    located = []
    for problem in problems:
        path = files.get(problem.table or "")
        if problem.file is None and path is not None:
            column = (columns or {}).get(problem.table or "", {}).get(problem.column or "", problem.column)
            problem = dataclasses.replace(problem, file=str(path), column=column)
        located.append(problem)
    return located
