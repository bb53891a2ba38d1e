"""Multi-regional input–output tables in and out: pymrio systems, table folders, aggregation.

* :func:`from_pymrio` / :func:`to_pymrio` convert between a ``pymrio.IOSystem`` (dense
  DataFrames with a ``(region, sector)`` MultiIndex) and our sparse :class:`MrioTable`.
* :func:`load_test_table` is pymrio's bundled 6-region x 8-sector test MRIO (no network).
* :func:`aggregate` merges regions into blocs and sectors into groups, ``Z' = G Z G'``.
* :func:`write_table_folder` / :func:`read_table_folder`: a folder with ``meta.json``, the
  non-zero intermediate flows as triplets (``intermediate.parquet`` or ``.csv``: seller_region,
  seller_sector, buyer_region, buyer_sector, value) and the non-zero final demand
  (``final_demand.parquet`` or ``.csv``: region, sector, fd_region, category, value). A folder
  written by pymrio's ``IOSystem.save_all`` is read through ``pymrio.load_all``.

pymrio is optional: it is imported only by the functions that need it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from coreatlas.errors import CoreAtlasError, DataSourceError, LimitError, Problem, ValidationError
from coreatlas.io.csvfile import read_table
from coreatlas.io.output import atomic_write_folder, frame_to_file
from coreatlas.model.mrio import MrioTable, mrio_table
from coreatlas.model.techmap import LINE

__all__ = ["aggregate", "from_pymrio", "load_test_table", "read_table_folder", "to_pymrio", "write_table_folder"]

FORMAT = "coreatlas-mrio"
META_FILE = "meta.json"
Z_COLUMNS = ["seller_region", "seller_sector", "buyer_region", "buyer_sector", "value"]
Y_COLUMNS = ["region", "sector", "fd_region", "category", "value"]
PYMRIO_MARKER = "file_parameters.json"


def _pymrio():
    try:
        import pymrio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DataSourceError("pymrio is not installed; install it with 'pip install pymrio'") from exc
    return pymrio


# --- pymrio -------------------------------------------------------------------------------


def _unit(io) -> str:
    """pymrio keeps one unit per industry (a DataFrame); we keep the distinct values, joined."""
    unit = getattr(io, "unit", None)
    if unit is None or isinstance(unit, str):
        return unit or ""
    return ", ".join(str(u) for u in pd.unique(np.asarray(unit, dtype=object).ravel()))


def _aligned(frame: pd.DataFrame, rows: pd.MultiIndex, cols: pd.MultiIndex, name: str) -> np.ndarray:
    """``frame`` reordered to ``rows`` x ``cols`` (region-major); nothing may be dropped or missing."""
    if len(frame.index) != len(rows) or not frame.index.isin(rows).all():
        raise DataSourceError(f"pymrio {name}: rows are not the (region, sector) pairs of get_regions() x get_sectors()")
    if not frame.columns.isin(cols).all():
        raise DataSourceError(f"pymrio {name}: some columns are not (region, sector/category) pairs of the system")
    return frame.reindex(index=rows, columns=cols, fill_value=0.0).to_numpy(dtype=float)


def _net_negative_final_demand(Y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Net negative final demand (inventory draw-downs) against the same industry's positive entries.

    Each row's positive entries are scaled by ``(pos - neg) / pos`` so the row total, hence gross
    output ``x`` and every coefficient, is unchanged. A row whose total is negative is set to zero,
    which raises ``x_i`` by that amount. Returns the netted ``Y``, the sum of the negative entries
    removed (absolute) and the part that could not be absorbed (the rise in total output).
    """
    positive = np.clip(Y, 0.0, None)
    negative = positive - Y
    pos, neg = positive.sum(axis=1), negative.sum(axis=1)
    keep = np.divide(pos - neg, pos, out=np.zeros_like(pos), where=pos > 0).clip(0.0, None)
    return positive * keep[:, None], float(neg.sum()), float(np.clip(neg - pos, 0.0, None).sum())


def _check_intermediate(Z: np.ndarray, rows: pd.MultiIndex) -> None:
    if (Z < 0).any():
        i, j = np.unravel_index(np.argmin(Z), Z.shape)
        raise ValidationError(
            f"pymrio Z has {(Z < 0).sum()} negative intermediate flows (most negative {Z[i, j]:.6g} from {rows[i]} to {rows[j]}); "
            "correct or clip them before converting"
        )


def from_pymrio(io) -> MrioTable:
    """Our table from a pymrio ``IOSystem`` (any table pymrio parsed).

    If ``Z`` is missing, ``calc_system()`` is run on a copy (pymrio derives ``Z`` from ``A`` and
    ``x``, forming a dense ``L`` on the way). Rows and columns are reordered region-major over
    ``get_regions()`` x ``get_sectors()``; final-demand categories are the second level of ``Y``'s
    columns, in order of appearance. Negative intermediate flows raise :class:`ValidationError`.

    **Negative final demand** (e.g. changes in inventories) is netted within its row: the industry's
    positive final-demand entries are scaled down pro rata by the negative total, so every row total,
    gross output ``x`` and ``A``, ``L``, multipliers are exactly pymrio's. Only a row whose net final
    demand is negative is set to zero, which raises that industry's output by the shortfall. Recorded in
    ``meta["negative_final_demand_clipped"]`` (sum of the negative entries removed, absolute) and
    ``meta["negative_final_demand_unabsorbed"]`` (the rise in total output, 0 when all were absorbed).
    Netting moves final demand between the consumers of one industry's output in proportion to their
    purchases.
    """
    if getattr(io, "Y", None) is None:
        raise DataSourceError("the pymrio system has no final demand Y")
    if getattr(io, "Z", None) is None:
        io = io.copy().calc_system()
    regions, sectors = list(io.get_regions()), list(io.get_sectors())
    categories = list(pd.unique(io.Y.columns.get_level_values(-1)))
    rows = pd.MultiIndex.from_product([regions, sectors])
    Z = _aligned(io.Z, rows, rows, "Z")
    _check_intermediate(Z, rows)
    Y, clipped, unabsorbed = _net_negative_final_demand(_aligned(io.Y, rows, pd.MultiIndex.from_product([regions, categories]), "Y"))
    meta = {"source": "pymrio", "name": str(getattr(io, "name", "") or ""), "negative_final_demand_clipped": clipped}
    meta["negative_final_demand_unabsorbed"] = unabsorbed
    return mrio_table(regions, sectors, Z, Y, categories, unit=_unit(io), meta=meta)


def load_test_table() -> MrioTable:
    """pymrio's bundled test MRIO (6 regions x 8 sectors, 7 final-demand categories, Mill USD);
    ``meta["version"]`` is the version of pymrio that holds it."""
    pymrio = _pymrio()
    table = from_pymrio(pymrio.load_test())
    return replace(table, meta={**table.meta, "version": str(getattr(pymrio, "__version__", ""))})


def to_pymrio(table: MrioTable):
    """A pymrio ``IOSystem`` with dense ``Z`` and ``Y`` (for comparisons); call ``calc_all()`` on it."""
    rows = pd.MultiIndex.from_tuples(table.labels(), names=["region", "sector"])
    cols = pd.MultiIndex.from_product([table.regions, table.fd_categories], names=["region", "category"])
    Z = pd.DataFrame(table.Z.toarray(), index=rows, columns=rows)
    Y = pd.DataFrame(table.Y, index=rows, columns=cols)
    unit = pd.DataFrame({"unit": table.unit}, index=rows)
    return _pymrio().IOSystem(Z=Z, Y=Y, unit=unit, name=str(table.meta.get("name", "coreatlas")))


# --- aggregation --------------------------------------------------------------------------


def _owners(names: tuple, groups: dict | None, kind: str) -> dict:
    """Member -> group; unknown members, members in two groups and empty groups are errors,
    each with the field ``<kind>_groups.<group>`` (the parameter of :func:`aggregate`)."""
    known, owner = set(names), {}
    for group, members in (groups or {}).items():
        field = f"{kind}_groups.{group}"
        if isinstance(members, str) or not list(members):
            raise ValidationError(f"{field}: {kind} group '{group}' must be a non-empty list of {kind}s", field=field)
        for member in members:
            if member not in known:
                raise ValidationError(f"{field}: unknown {kind} '{member}' in group '{group}'", field=field)
            if member in owner:
                raise ValidationError(f"{field}: {kind} '{member}' is in two groups: '{owner[member]}' and '{group}'", field=field)
            owner[member] = group
    return owner


def grouping(names: tuple, groups: dict[str, list[str]] | None, kind: str) -> tuple[tuple, sp.csr_matrix]:
    """Group names (in order of first appearance) and the 0/1 matrix ``G`` (groups x names).

    Names not listed in any group keep their own name; a group may not take the name of an
    unlisted one.
    """
    owner = _owners(names, groups, kind)
    clash = [n for n in names if n not in owner and n in (groups or {})]
    if clash:
        field = f"{kind}_groups.{clash[0]}"
        raise ValidationError(
            f"{field}: group name '{clash[0]}' is also an ungrouped {kind}; rename the group or list '{clash[0]}' in it", field=field
        )
    label = [owner.get(n, n) for n in names]
    new = tuple(dict.fromkeys(label))
    code = pd.Index(new).get_indexer(label)
    return new, sp.csr_matrix((np.ones(len(names)), (code, np.arange(len(names)))), shape=(len(new), len(names)))


def aggregate(
    table: MrioTable, region_groups: dict[str, list[str]] | None = None, sector_groups: dict[str, list[str]] | None = None
) -> MrioTable:
    """Regions into blocs and sectors into groups: ``Z' = G Z G'``, ``Y' = G Y (G_r ⊗ I_C)'``.

    ``G = G_r ⊗ G_s`` (region-major). Every region or sector is in at most one group; unlisted
    ones keep their own name. Final-demand categories are kept. Totals of ``Z``, ``Y``, ``x`` are kept.
    """
    regions, g_region = grouping(table.regions, region_groups, "region")
    sectors, g_sector = grouping(table.sectors, sector_groups, "sector")
    g = sp.kron(g_region, g_sector, format="csr")
    g_fd = sp.kron(g_region, sp.identity(len(table.fd_categories)), format="csr")
    Z = g @ table.Z @ g.T
    Y = np.asarray(g @ table.Y @ g_fd.T.toarray())
    meta = dict(table.meta, aggregated_from=f"{len(table.regions)} regions x {len(table.sectors)} sectors")
    return mrio_table(regions, sectors, Z, Y, table.fd_categories, unit=table.unit, meta=meta)


# --- table folders ------------------------------------------------------------------------


def _triplets(matrix: sp.spmatrix, row_labels: list[tuple], col_labels: list[tuple], columns: list[str]) -> pd.DataFrame:
    coo = sp.coo_matrix(matrix)
    keep = coo.data != 0
    rows, cols = np.asarray(row_labels, dtype=object), np.asarray(col_labels, dtype=object)
    r, c = rows[coo.row[keep]], cols[coo.col[keep]]
    return pd.DataFrame({columns[0]: r[:, 0], columns[1]: r[:, 1], columns[2]: c[:, 0], columns[3]: c[:, 1], columns[4]: coo.data[keep]})


def _json_value(value):
    return value.item() if hasattr(value, "item") else str(value)


def _write_files(table: MrioTable, target: Path, fmt: str) -> None:
    fd_labels = [(r, c) for r in table.regions for c in table.fd_categories]
    files = {"Z": f"intermediate.{fmt}", "Y": f"final_demand.{fmt}"}
    frame_to_file(_triplets(table.Z, table.labels(), table.labels(), Z_COLUMNS), target / files["Z"], fmt)
    frame_to_file(_triplets(sp.coo_matrix(table.Y), table.labels(), fd_labels, Y_COLUMNS), target / files["Y"], fmt)
    meta = {"format": FORMAT, "version": 1, "regions": list(table.regions), "sectors": list(table.sectors)}
    meta |= {"fd_categories": list(table.fd_categories), "unit": table.unit, "files": files, "meta": table.meta}
    (target / META_FILE).write_text(json.dumps(meta, indent=2, default=_json_value), encoding="utf-8")


def write_table_folder(table: MrioTable, folder: Path | str, fmt: str = "parquet", overwrite: bool = False) -> Path:
    """Write ``table`` as a table folder (``fmt`` "parquet" or "csv"), atomically: all files or none."""
    if fmt not in ("parquet", "csv"):
        raise ValidationError(f"unknown table format '{fmt}'; use 'parquet' or 'csv'")
    return atomic_write_folder(folder, lambda staging: _write_files(table, staging, fmt), overwrite)


# Limits of what a table folder may ask for (a LimitError names them).
MAX_META_BYTES = 16 * 2**20  # meta.json
MAX_DENSE_VALUES = 50_000_000  # industries x final-demand columns: the dense Y (400 MB)
MAX_PROBLEMS = 20  # located problems reported per table file


def _json_line(text: str, key: str) -> int | None:
    """Line of the first ``"key"`` in ``text``, to locate a problem in meta.json."""
    at = text.find(f'"{key}"')
    return None if at < 0 else text[:at].count("\n") + 1


def _load_json(path: Path) -> tuple[object, str]:
    """The JSON value of ``path`` and its text; every failure is a located data error."""
    try:
        if path.stat().st_size > MAX_META_BYTES:
            raise LimitError(f"{path}: larger than the limit of {MAX_META_BYTES // 2**20} MB for {META_FILE}")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(Problem("not UTF-8 text; expected a JSON table description", file=str(path))) from exc
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise ValidationError(Problem(f"not valid JSON ({exc.msg})", file=str(path), line=exc.lineno)) from exc
    except RecursionError as exc:
        raise ValidationError(Problem("JSON nested too deeply", file=str(path))) from exc


def _names(meta: dict, key: str, path: Path, text: str) -> tuple:
    names = meta.get(key)
    ok = isinstance(names, list) and names and all(isinstance(n, str | int) and not isinstance(n, bool) for n in names)
    if not ok or len({str(n) for n in names}) != len(names) or any(not str(n).strip() for n in names):
        message = f"'{key}' must be a non-empty list of distinct, non-blank names"
        raise ValidationError(Problem(message, file=str(path), line=_json_line(text, key), column=key))
    return tuple(names)


def _table_file(folder: Path, files: object, key: str, path: Path, text: str) -> Path:
    """``files[key]``: a .csv or .parquet file inside ``folder`` (never a path leading out of it)."""
    name = files.get(key) if isinstance(files, dict) else None
    line = _json_line(text, "files")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(Problem(f"'files.{key}' must name the table's file", file=str(path), line=line, column=f"files.{key}"))
    target = (folder / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(folder.resolve()):
        message = f"'files.{key}' is '{name}', outside the table folder; expected a file name inside {folder}"
        raise ValidationError(Problem(message, file=str(path), line=line, column=f"files.{key}"))
    if target.suffix.lower() not in (".csv", ".parquet"):
        message = f"'files.{key}' is '{name}'; expected a .csv or .parquet file"
        raise ValidationError(Problem(message, file=str(path), line=line, column=f"files.{key}"))
    return folder / name


def _native_meta(folder: Path, meta: dict, text: str) -> dict:
    """The checked parts of meta.json: names, files inside the folder, and sizes within the limits."""
    path = folder / META_FILE
    regions, sectors, categories = (_names(meta, key, path, text) for key in ("regions", "sectors", "fd_categories"))
    dense = len(regions) * len(sectors) * len(regions) * len(categories)
    if dense > MAX_DENSE_VALUES:
        raise LimitError(
            f"{path}: {len(regions):,} regions x {len(sectors):,} sectors x {len(categories):,} final-demand categories need "
            f"{dense:,} final-demand values, above the limit of {MAX_DENSE_VALUES:,}; aggregate the table first"
        )
    files = {key: _table_file(folder, meta.get("files"), key, path, text) for key in ("Z", "Y")}
    extra = meta.get("meta")
    return {"regions": regions, "sectors": sectors, "categories": categories, "files": files,
            "unit": str(meta.get("unit") or ""), "meta": extra if isinstance(extra, dict) else {}}  # fmt: skip


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, TypeError, pa.ArrowException) as exc:
        raise ValidationError(Problem(f"not a readable Parquet file ({exc})", file=str(path))) from exc


def _read_csv(path: Path) -> pd.DataFrame:
    """Fast read; where it fails, the line-by-line reader finds and names the bad line. The
    header is read as a row, so that a line with more fields than the header is an error."""
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:  # UnicodeDecodeError is a ValueError
        read_table(path, [])  # raises the located problem
        raise ValidationError(Problem(f"cannot be read as CSV ({exc})", file=str(path))) from exc
    header = [str(name).strip() for name in frame.iloc[0]]
    twice = [name for name in dict.fromkeys(header) if header.count(name) > 1]
    if twice:
        raise ValidationError(Problem(f"column '{twice[0]}' appears twice in the header", file=str(path), line=1, column=twice[0]))
    frame = frame.iloc[1:].set_axis(header, axis=1)
    blank = ~frame.apply(lambda column: column.fillna("").str.strip().ne("")).any(axis=1)
    return frame[~blank].reset_index(drop=True)  # as the line-by-line reader, which gives the lines


def _read_frame(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataSourceError(f"{path}: file named in {META_FILE} is missing")
    is_csv = path.suffix.lower() == ".csv"
    frame = _read_csv(path) if is_csv else _read_parquet(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        message = f"missing column '{missing[0]}' (expected {', '.join(columns)})"
        raise ValidationError(Problem(message, file=str(path), line=1 if is_csv else None, column=missing[0]))
    if frame.empty:
        raise ValidationError(Problem("the table has no rows; expected at least one non-zero flow", file=str(path), line=2 if is_csv else None))
    return frame


def _problems(path: Path, frame: pd.DataFrame, bad: np.ndarray, column: str, expected: str) -> ValidationError:
    """A located error for the rows ``bad`` (a boolean mask) of ``column``: the CSV line, or the Parquet row."""
    rows = np.flatnonzero(bad)[:MAX_PROBLEMS]
    lines = read_table(path, [])[LINE].to_numpy() if path.suffix.lower() == ".csv" else None
    problems = []
    for row in rows:
        value = frame[column].to_numpy()[row]
        where = "" if lines is not None else f"row {row + 1}: "
        line = int(lines[row]) if lines is not None else None
        problems.append(Problem(f"{where}'{value}' {expected}", file=str(path), line=line, column=column))
    return ValidationError(problems)


def _values(path: Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw.str.strip() if raw.dtype == object else raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise _problems(path, frame, bad, column, "is not a non-negative number; expected a flow in the table's unit")
    return values


def _codes(frame: pd.DataFrame, columns: list[str], first: tuple, second: tuple, path: Path) -> np.ndarray:
    """Flat (region-major) position of each (first, second) name pair; unknown names are errors."""
    a = pd.Index([str(n) for n in first]).get_indexer(frame[columns[0]].astype(str))
    b = pd.Index([str(n) for n in second]).get_indexer(frame[columns[1]].astype(str))
    for codes, column, names in ((a, columns[0], first), (b, columns[1], second)):
        if (codes < 0).any():
            known = ", ".join(map(str, names[:8])) + ("..." if len(names) > 8 else "")
            raise _problems(path, frame, codes < 0, column, f"is an unknown name in column '{column}'; expected one of {known}")
    return a * len(second) + b


def _sparse(path: Path, columns: list[str], rows: tuple[tuple, tuple], cols: tuple[tuple, tuple]) -> sp.csr_matrix:
    frame = _read_frame(path, columns)
    values = _values(path, frame, columns[4])
    i = _codes(frame, columns[:2], *rows, path)
    j = _codes(frame, columns[2:4], *cols, path)
    twice = frame.duplicated(subset=columns[:4]).to_numpy()
    if twice.any():
        raise _problems(path, frame, twice, columns[0], "starts an entry for a (row, column) pair given before; expected each pair once")
    shape = (len(rows[0]) * len(rows[1]), len(cols[0]) * len(cols[1]))
    return sp.csr_matrix((values, (i, j)), shape=shape)


def _read_native(folder: Path, meta: dict, text: str) -> MrioTable:
    parts = _native_meta(folder, meta, text)
    regions, sectors, categories = parts["regions"], parts["sectors"], parts["categories"]
    Z = _sparse(parts["files"]["Z"], Z_COLUMNS, (regions, sectors), (regions, sectors))
    Y = _sparse(parts["files"]["Y"], Y_COLUMNS, (regions, sectors), (regions, categories)).toarray()
    return mrio_table(regions, sectors, Z, Y, categories, unit=parts["unit"], meta=parts["meta"])


def read_table_folder(folder: Path | str) -> MrioTable:
    """Read a table folder written by :func:`write_table_folder`, or one written by pymrio's ``save_all``.

    Every problem of a folder of ours is located: ``meta.json`` must be JSON naming regions,
    sectors, categories and two table files inside the folder; the tables must have their
    columns once, at least one row, known names and non-negative numbers."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataSourceError(f"{folder}: not a folder")
    pymrio_folder = (folder / PYMRIO_MARKER).is_file()
    if (folder / META_FILE).is_file():
        try:
            meta, text = _load_json(folder / META_FILE)
        except CoreAtlasError:
            if not pymrio_folder:
                raise
            meta, text = None, ""
        if isinstance(meta, dict) and meta.get("format") == FORMAT:
            return _read_native(folder, meta, text)
    if pymrio_folder:
        try:
            io = _pymrio().load_all(folder)
        except Exception as exc:  # pymrio raises many kinds of errors on bad folders
            raise DataSourceError(f"{folder}: pymrio could not load this folder ({exc})") from exc
        return from_pymrio(io)
    raise DataSourceError(
        f"{folder}: neither a CoRe Atlas MRIO folder ({META_FILE} with format '{FORMAT}') nor a pymrio save_all folder ({PYMRIO_MARKER})"
    )
