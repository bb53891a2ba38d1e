"""Read and write firm networks: the reference simulator's text files, CSV and Parquet.

Formats, chosen by file suffix:

* ``.txt`` / ``.dat`` / ``.tsv`` — whitespace separated, no header, as the reference
  simulator ``ProductionNetworkSimulator`` (links ``supplier client amount``, final
  demand ``firm amount``, sectors ``firm sector [extra]``, delta ``firm delta [day]``).
* ``.csv`` — comma separated with a header naming the columns of :data:`COLUMNS`.
* ``.parquet`` — the same columns, for networks of millions of links.

A network folder (:func:`write_network` / :func:`read_network`) holds ``links.parquet``
and ``firms.parquet``; its links may name only the firms that ``firms.parquet`` lists.

Firm ids are integers when every id of the network is written as one (so ``7`` and
``"7"`` are the same firm), otherwise names (text, as written). An id that is a number but
not an integer (``7.5``, ``1e3``) is refused: it would be read differently by each format.

Text is UTF-8. Large files are parsed by pyarrow's multi-threaded CSV reader; a file it
cannot take as it stands (comments, runs of blanks, a bad value) is read again line by
line, so that an error names the file, the line and the column.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from coreatlas.errors import DataSourceError, Problem, ValidationError
from coreatlas.io.output import atomic_write_folder, frame_to_file
from coreatlas.model.firms import FirmNetwork, Shocks, firm_network

__all__ = ["COLUMNS", "network_from_tables", "network_tables", "read_firm_table", "read_network", "read_network_files", "read_shocks", "write_network"]

# required columns, then optional ones, per table; the reference text files give them in this order
COLUMNS = {
    "links": (("supplier", "client", "amount"), ()),
    "final_demand": (("firm", "amount"), ()),
    "sectors": (("firm", "sector"), ("region",)),
    "shocks": (("firm", "capacity_loss"), ("start_day", "end_day")),
    "firms": (("firm", "final_demand"), ("sector", "region")),
}
TEXT_SUFFIXES = (".txt", ".dat", ".tsv", "")
ALIASES = {"flow": "amount", "delta": "capacity_loss", "day": "start_day"}
NUMERIC = {"amount", "capacity_loss", "start_day", "end_day", "final_demand"}
REQUIRED_NUMBERS = {"amount", "capacity_loss", "final_demand"}
ID_COLUMNS = ("supplier", "client", "firm")
LABELS = ("sector", "region")
#: Tables in which a firm may appear once only (a firm has one final demand, one sector).
ONE_ROW_PER_FIRM = ("final_demand", "sectors", "firms")
INTEGER = r"[+-]?\d{1,18}"


# ---- reading a table: the fast path, then the located one ------------------------------------
def _text_names(path: Path, table: str) -> list[str]:
    required, optional = COLUMNS[table]
    return ["firm", "sector", "extra"] if table == "sectors" else list(required + optional)


def _fast_text(path: Path, table: str) -> pd.DataFrame | None:
    """The table by pyarrow's CSV reader, or None when it cannot take the file as it stands."""
    suffix = path.suffix.lower()
    names = _text_names(path, table) if suffix != ".csv" else None
    types = {**{c: pa.float64() for c in NUMERIC}, **{c: pa.string() for c in LABELS}}
    try:
        read = pacsv.ReadOptions(column_names=names)
        parse = pacsv.ParseOptions(delimiter="," if suffix == ".csv" else "\t" if suffix == ".tsv" else " ")
        convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
        table_read = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table_read.schema.types):
            return None  # bytes that are not UTF-8: the located reader names the line
        frame = table_read.to_pandas()
    except (pa.ArrowException, OSError, ValueError):
        return None
    if suffix == ".csv":
        frame.columns = [str(c) for c in frame.columns]
    return frame.drop(columns=["extra"], errors="ignore")


def _decoded(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text: byte 0x{data[exc.start]:02x} at character {column} (Latin-1 or another encoding?); save the file as UTF-8"
        raise ValidationError(Problem(message, file=str(path), line=line)) from None


def _slow_text(path: Path, table: str) -> pd.DataFrame:
    """The table as text, read by pandas (every value a string), for located errors."""
    text = _decoded(path)
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True)
        frame = pd.read_csv(io.StringIO(text), sep=r"\s+", header=None, names=_text_names(path, table), comment="#", dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValidationError(Problem(f"cannot parse: {exc}", table=table, file=str(path))) from None
    return frame.drop(columns=["extra"], errors="ignore")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataSourceError(f"{path}: cannot read parquet file ({exc})") from None


def _check_format(path: Path) -> str:
    if not path.is_file():
        raise DataSourceError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", *TEXT_SUFFIXES):
        raise DataSourceError(f"{path}: unknown format '{suffix}'; expected .txt (reference simulator), .csv or .parquet")
    return suffix


def _columns(path: Path, frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The table's columns, renamed from aliases; a missing required column is an error."""
    renamed = [ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns]
    if table == "final_demand":
        renamed = ["amount" if c == "final_demand" else c for c in renamed]
    if len(set(renamed)) < len(renamed):
        twice = next(c for c in renamed if renamed.count(c) > 1)
        raise ValidationError(Problem(f"column '{twice}' appears twice in the header", table=table, file=str(path), line=1))
    frame = frame.set_axis(renamed, axis=1)
    if frame.empty:
        raise ValidationError(Problem("the table has no rows", table=table, file=str(path)))
    required, optional = COLUMNS[table]
    missing = [c for c in required if c not in frame.columns or frame[c].isna().all()]
    if missing:
        expected = ", ".join(required)
        raise ValidationError(Problem(f"missing column(s) {', '.join(missing)}; expected {expected}", table=table, file=str(path)))
    return frame[[c for c in required + optional if c in frame.columns]]


def read_firm_table(path: Path | str, table: str) -> pd.DataFrame:
    """One table (``links``, ``final_demand``, ``sectors``, ``shocks`` or ``firms``), checked.

    Numbers are floats, firm ids int64 (when every id of the table is an integer) or text.
    Every problem names the file, the line (the row, for Parquet) and the column.
    """
    path = Path(path)
    suffix = _check_format(path)
    if suffix == ".parquet":
        frame = _columns(path, _read_parquet(path), table)
        return _checked(path, _typed(path, frame, table), table)
    fast = _fast_text(path, table) if table != "shocks" else None
    if fast is not None:
        with_columns = _columns(path, fast, table)
        if _first_problem(with_columns, table) is None:
            return _as_ids(with_columns)
    return _checked(path, _typed(path, _columns(path, _slow_text(path, table), table), table), table)


def _typed(path: Path, frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Numbers of a table read as text; a value that is not one is a located error."""
    for column in NUMERIC & set(frame.columns):
        raw = frame[column]
        values = pd.to_numeric(raw.str.strip() if raw.dtype.kind not in "iufb" else raw, errors="coerce")
        bad = (values.isna() & raw.notna()).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            _raise(path, table, row, column, f"expected a number, got '{raw.iloc[row]}'")
        frame[column] = values.astype(np.float64)
    return frame


def _checked(path: Path, frame: pd.DataFrame, table: str) -> pd.DataFrame:
    problem = _first_problem(frame, table)
    if problem is not None:
        row, column, message, first = problem
        if first is not None:
            message += f" (first on line {_line_numbers(path, np.array([first]))[0]})"
        _raise(path, table, row, column, message)
    return _as_ids(frame)


def _raise(path: Path, table: str, row: int, column: str, message: str):
    line = int(_line_numbers(path, np.array([row]))[0])
    raise ValidationError(Problem(message, table=table, line=line, column=column, file=str(path)))


def _line_numbers(path: Path, rows: np.ndarray) -> np.ndarray:
    """1-based source lines of data rows (blank and comment lines skipped; Parquet: the row)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return rows + 1
    csv = suffix == ".csv"
    lines = [i + 1 for i, text in enumerate(_decoded(path).splitlines()) if text.strip() and (csv or not text.lstrip().startswith("#"))]
    lines = np.asarray(lines[1:] if csv else lines, dtype=np.int64)
    return lines[np.minimum(rows, lines.size - 1)]


# ---- what a clean table is ---------------------------------------------------------------------
def _bad_id(values: pd.Series) -> np.ndarray:
    """Ids that are numbers but not integers (7.5, 1e30); text names and integers are fine."""
    if values.dtype.kind in "iu":
        return np.zeros(len(values), dtype=bool)
    text = values.dtype.kind not in "iufb"
    number = pd.to_numeric(values, errors="coerce") if text else values
    number = number.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(number) & ((number != np.floor(number)) | (np.abs(number) >= 2.0**63))


def _value_problem(frame: pd.DataFrame, table: str) -> tuple | None:
    """The first number out of its range: flows positive and finite, demand finite and >= 0."""
    checks = []
    if table == "links":
        amount = frame["amount"].to_numpy()
        checks += [(~np.isfinite(amount) & ~np.isnan(amount), "amount", "flow {} overflows: it is beyond the largest number, about 1.8e308"),
                   (amount <= 0, "amount", "flow {} must be a positive number")]  # fmt: skip
    demand = {"final_demand": "amount", "firms": "final_demand"}.get(table)
    if demand is not None:
        values = frame[demand].to_numpy()
        checks.append(((values < 0) | np.isinf(values), demand, "final demand {} must be a finite number of at least 0"))
    for bad, column, message in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            return row, column, message.format(frame[column].iloc[row]), None
    return None


def _first_problem(frame: pd.DataFrame, table: str) -> tuple | None:
    """``(row, column, message, first_row)`` of the first problem of a typed table, or None."""
    for column in [c for c in ID_COLUMNS + LABELS if c in frame.columns]:
        missing = frame[column].isna().to_numpy() if column in ID_COLUMNS + ("sector",) else np.zeros(len(frame), bool)
        if missing.any():
            return int(np.flatnonzero(missing)[0]), column, "missing value", None
        if column in ID_COLUMNS and (bad := _bad_id(frame[column])).any():
            row = int(np.flatnonzero(bad)[0])
            return row, column, f"firm id '{frame[column].iloc[row]}' is a number but not an integer; ids are integers or names", None
    for column in REQUIRED_NUMBERS & set(frame.columns):
        if (missing := frame[column].isna().to_numpy()).any():
            return int(np.flatnonzero(missing)[0]), column, "missing value", None
    if table in ONE_ROW_PER_FIRM:
        again = frame["firm"].duplicated().to_numpy()
        if again.any():
            row = int(np.flatnonzero(again)[0])
            first = int(np.flatnonzero((frame["firm"] == frame["firm"].iloc[row]).to_numpy())[0])
            what = "sector" if table == "sectors" else "row"
            return row, "firm", f"firm '{frame['firm'].iloc[row]}' is listed twice; a firm has one {what}", first
    return _value_problem(frame, table) or (_day_problem(frame) if table == "shocks" else None)


def _day_problem(frame: pd.DataFrame) -> tuple | None:
    """Shock days are whole numbers; the start is 0 or later; an end comes after the start."""
    start = frame["start_day"].to_numpy() if "start_day" in frame else np.zeros(len(frame))
    end = frame["end_day"].to_numpy() if "end_day" in frame else np.full(len(frame), np.nan)
    for column, days in (("start_day", start), ("end_day", end)):
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(days) & ((days != np.floor(days)) | ~np.isfinite(days))
        if bad.any():
            return int(np.flatnonzero(bad)[0]), column, f"day {days[bad][0]} is not a whole number of days", None
    with np.errstate(invalid="ignore"):
        early = np.nan_to_num(start) < 0
        backwards = ~np.isnan(end) & (end <= np.nan_to_num(start))
    if early.any():
        return int(np.flatnonzero(early)[0]), "start_day", f"start day {start[early][0]:g} must be 0 or later", None
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0])
        return row, "end_day", f"end day {end[row]:g} must come after the start day {np.nan_to_num(start)[row]:g}", None
    return None


def _as_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Id columns as int64 when every id of the column is an integer, else as text; labels as text."""
    for column in [c for c in ID_COLUMNS if c in frame.columns]:
        values = frame[column]
        if values.dtype.kind in "iuf":
            frame[column] = values.astype(np.int64)
            continue
        number = pd.to_numeric(values, errors="coerce")
        frame[column] = number.astype(np.int64) if number.notna().all() else values.astype(str).str.strip()
    for column in [c for c in LABELS if c in frame.columns]:
        missing = frame[column].isna()
        frame[column] = frame[column].astype(str).str.strip().astype(object).where(~missing, None)
    return frame


# ---- from tables to a network -------------------------------------------------------------------
def _same_kind(columns: list[pd.Series]) -> list[np.ndarray]:
    """Every id column as int64 if all are integers, else every one as text (7 becomes '7')."""
    if all(c.dtype.kind in "iu" for c in columns):
        return [c.to_numpy(dtype=np.int64) for c in columns]
    return [c.astype(str).to_numpy(dtype=object) for c in columns]


def _universe(arrays: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct ids of ``arrays``."""
    if arrays[0].dtype == object:
        return np.asarray(pd.Index(pd.unique(np.concatenate(arrays))).sort_values(), dtype=object)
    low = min(int(a.min(initial=0)) for a in arrays)
    high = max(int(a.max(initial=0)) for a in arrays)
    total = sum(a.size for a in arrays)
    if low >= 0 and high < 4 * total + 1_000_000:  # dense integer ids, as in the reference files: no sort
        present = np.zeros(high + 1, dtype=bool)
        for a in arrays:
            present[a] = True
        return np.flatnonzero(present).astype(np.int64)
    return np.unique(np.concatenate(arrays))


def _within(values: np.ndarray, size: int) -> bool:
    """True when every value is a valid index of an array of ``size`` (no clipped copy needed)."""
    return not values.size or (int(values.min()) >= 0 and int(values.max()) < size)


def _indexer(universe: np.ndarray):
    """A function giving each value's position in ``universe`` (sorted), -1 where it is not there."""
    if universe.dtype == object:
        return pd.Index(universe).get_indexer
    if universe.size and universe[0] >= 0 and universe[-1] < 4 * universe.size + 1_000_000:
        # the last slot: every id above the range; int32 positions are what the network keeps (no copy later)
        lookup = np.full(int(universe[-1]) + 2, -1, dtype=np.int32 if universe.size < 2**31 else np.int64)
        lookup[universe] = np.arange(universe.size)
        return lambda values: lookup[values if _within(values, lookup.size) else np.clip(values, -1, lookup.size - 1)]

    def search(values: np.ndarray) -> np.ndarray:
        position = np.minimum(np.searchsorted(universe, values), max(universe.size - 1, 0))
        return np.where(universe[position] == values, position, -1) if universe.size else np.full(values.size, -1)

    return search


def network_from_tables(links: pd.DataFrame, final_demand: pd.DataFrame, sectors: pd.DataFrame | None = None, meta=None,
                        *, sources: dict | None = None, firms_listed: bool = False) -> FirmNetwork:  # fmt: skip
    """A :class:`FirmNetwork` from id-based tables (as :func:`read_firm_table` gives them).

    The firms are every id that appears anywhere, or, with ``firms_listed``, exactly those of
    ``final_demand`` (a link to any other firm is an error). ``sources`` maps a table name to
    its file, to locate errors.
    """
    sources = sources or {}
    tables = [links["supplier"], links["client"], final_demand["firm"]] + ([sectors["firm"]] if sectors is not None else [])
    supplier, client, fd_firm, *rest = _same_kind(tables)
    universe = _universe([fd_firm] if firms_listed else [supplier, client, fd_firm, *rest])
    position = _indexer(universe)
    index = {"supplier": position(supplier), "client": position(client)}
    if firms_listed:
        _all_listed(index, links, sources.get("links"), sources.get("final_demand"))
    c = np.zeros(universe.size)
    c[position(fd_firm)] = final_demand["amount"].to_numpy(dtype=float)
    sector = region = None
    sector_names = region_names = ()
    if sectors is not None:
        at = position(rest[0])
        sector, sector_names = _codes(universe.size, at, sectors["sector"])
        if "region" in sectors.columns and sectors["region"].notna().any():
            region, region_names = _codes(universe.size, at, sectors["region"])
    network = firm_network(
        index["supplier"], index["client"], links["amount"].to_numpy(dtype=float), c, sector, region,
        firm_ids=universe, sector_names=sector_names, region_names=region_names, meta=meta,
    )  # fmt: skip
    _check_sums(network, sources.get("links"))
    return network


def _all_listed(index: dict, links: pd.DataFrame, links_file, firms_file) -> None:
    for column in ("supplier", "client"):
        unknown = index[column] < 0
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            message = f"firm '{links[column].iloc[row]}' is not listed in {Path(firms_file).name if firms_file else 'the firms table'}"
            if links_file is None:
                raise ValidationError(Problem(message, table="links", column=column))
            _raise(Path(links_file), "links", row, column, message)


def _check_sums(network: FirmNetwork, links_file) -> None:
    """Flows that are finite one by one may still add up past the largest number."""
    for what, total in (("sales", network.baseline_output), ("purchases", network.input_use)):
        if not np.isfinite(total).all():
            firm = network.firm_ids[int(np.flatnonzero(~np.isfinite(total))[0])]
            message = f"the {what} of firm '{firm}' add up beyond the largest number (about 1.8e308); scale the amounts down"
            raise ValidationError(Problem(message, table="links", column="amount", file=None if links_file is None else str(links_file)))


def _codes(n: int, at: np.ndarray, labels: pd.Series, missing: str = "(none)") -> tuple[np.ndarray, tuple]:
    """Integer codes per firm for a label column (firms without a label get ``missing``)."""
    codes, names = pd.factorize(labels.fillna(missing).astype(str), sort=True)
    names = np.asarray(names, dtype=object)
    full = np.full(n, -1, dtype=np.int64)
    full[at] = codes
    if (full < 0).any():
        names = np.append(names, missing) if missing not in names else names
        order = np.argsort(names, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        full = np.where(full < 0, int(np.flatnonzero(names == missing)[0]), full)
        full, names = rank[full], names[order]
    return full.astype(np.int32), tuple(str(s) for s in names)


def read_network_files(links: Path | str, final_demand: Path | str, sectors: Path | str | None = None) -> FirmNetwork:
    """A network from separate link, final-demand and sector files (any supported format)."""
    meta = {"links": str(links), "final_demand": str(final_demand), "sectors": str(sectors) if sectors else None}
    return network_from_tables(
        read_firm_table(links, "links"),
        read_firm_table(final_demand, "final_demand"),
        read_firm_table(sectors, "sectors") if sectors else None,
        meta=meta, sources={"links": links, "final_demand": final_demand},
    )  # fmt: skip


def read_shocks(path: Path | str, network: FirmNetwork) -> Shocks:
    """Shocks by firm id; an id not in the network, a loss outside [0, 1] or a bad day names the line."""
    path = Path(path)
    frame = read_firm_table(path, "shocks")
    ids = _same_kind([frame["firm"], pd.Series(network.firm_ids[:1])])[0]
    universe = network.firm_ids if network.firm_ids.dtype == ids.dtype else network.firm_ids.astype(str).astype(object)
    index = _indexer(universe)(ids)
    if (index < 0).any():
        row = int(np.flatnonzero(index < 0)[0])
        _raise(path, "shocks", row, "firm", f"firm '{ids[row]}' is not in the network")
    loss = frame["capacity_loss"].to_numpy(dtype=float)
    if ((loss < 0) | (loss > 1)).any():
        row = int(np.flatnonzero((loss < 0) | (loss > 1))[0])
        _raise(path, "shocks", row, "capacity_loss", f"capacity loss {loss[row]} must be a fraction in [0, 1]")
    start = frame["start_day"].fillna(0).to_numpy(dtype=np.int64) if "start_day" in frame else 0
    end = frame["end_day"].fillna(-1).to_numpy(dtype=np.int64) if "end_day" in frame else -1
    return Shocks.of(index, loss, start, end)


def network_tables(network: FirmNetwork) -> dict[str, pd.DataFrame]:
    """``links`` (supplier, client, amount) and ``firms`` (firm, final_demand, sector, region) by firm id."""
    ids = network.firm_ids
    links = pd.DataFrame({"supplier": ids[network.supplier], "client": ids[network.client], "amount": network.flow})
    firms = pd.DataFrame(
        {
            "firm": ids,
            "final_demand": network.final_demand,
            "sector": np.asarray(network.sector_names, dtype=object)[network.sector],
            "region": np.asarray(network.region_names, dtype=object)[network.region],
        }
    )
    return {"links": links, "firms": firms}


NETWORK_FILES = ("links.parquet", "firms.parquet")


def is_network_folder(folder: Path) -> bool:
    """True for a folder written by :func:`write_network` (and nothing else in it)."""
    names = {p.name for p in folder.iterdir()}
    return bool(names) and names <= set(NETWORK_FILES)


def write_network(network: FirmNetwork, folder: Path | str, force: bool = False) -> Path:
    """``links.parquet`` and ``firms.parquet`` (:func:`network_tables`) as one folder, swapped in
    whole: readers see the old network or the new one. A non-empty folder that is not a
    network folder is refused unless ``force``."""

    def fill(staging: Path) -> None:
        for name, frame in network_tables(network).items():
            frame_to_file(frame, staging / f"{name}.parquet", "parquet")

    return atomic_write_folder(folder, fill, overwrite=force, ours=is_network_folder)


def read_network(folder: Path | str) -> FirmNetwork:
    """Read a folder written by :func:`write_network`; its links may use only the firms it lists."""
    folder = Path(folder)
    for name in ("links.parquet", "firms.parquet"):
        if not (folder / name).is_file():
            raise DataSourceError(f"{folder}: no {name}; expected a network folder written by coreatlas (links.parquet, firms.parquet)")
    links = read_firm_table(folder / "links.parquet", "links")
    firms = read_firm_table(folder / "firms.parquet", "firms")
    final = firms.rename(columns={"final_demand": "amount"})[["firm", "amount"]]
    sectors = firms[[c for c in ("firm", "sector", "region") if c in firms.columns]] if "sector" in firms.columns else None
    sources = {"links": folder / "links.parquet", "final_demand": folder / "firms.parquet"}
    return network_from_tables(links, final, sectors, meta={"network": str(folder)}, sources=sources, firms_listed=True)
