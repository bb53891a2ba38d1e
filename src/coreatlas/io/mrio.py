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
import scipy.sparse as sp

from coreatlas.errors import DataSourceError, ValidationError
from coreatlas.io.output import atomic_write_folder, frame_to_file
from coreatlas.model.mrio import MrioTable, mrio_table

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


def _read_frame(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataSourceError(f"{path}: file named in {META_FILE} is missing")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={c: str for c in columns[:4]})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataSourceError(f"{path}: missing column '{missing[0]}' (expected {', '.join(columns)})")
    return frame


def _codes(frame: pd.DataFrame, columns: list[str], first: tuple, second: tuple, path: Path) -> np.ndarray:
    """Flat (region-major) position of each (first, second) name pair; unknown names are errors."""
    a = pd.Index([str(n) for n in first]).get_indexer(frame[columns[0]].astype(str))
    b = pd.Index([str(n) for n in second]).get_indexer(frame[columns[1]].astype(str))
    for codes, column in ((a, columns[0]), (b, columns[1])):
        if (codes < 0).any():
            raise ValidationError(f"{path}: unknown name '{frame[column].to_numpy()[np.argmax(codes < 0)]}' in column '{column}'")
    return a * len(second) + b


def _sparse(path: Path, columns: list[str], rows: tuple[tuple, tuple], cols: tuple[tuple, tuple]) -> sp.csr_matrix:
    frame = _read_frame(path, columns)
    if frame.duplicated(subset=columns[:4]).any():
        raise ValidationError(f"{path}: duplicate entries for the same (row, column) pair")
    i = _codes(frame, columns[:2], *rows, path)
    j = _codes(frame, columns[2:4], *cols, path)
    shape = (len(rows[0]) * len(rows[1]), len(cols[0]) * len(cols[1]))
    return sp.csr_matrix((frame[columns[4]].to_numpy(dtype=float), (i, j)), shape=shape)


def _read_native(folder: Path) -> MrioTable:
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        regions, sectors, categories = tuple(meta["regions"]), tuple(meta["sectors"]), tuple(meta["fd_categories"])
        files = meta["files"]
    except (ValueError, KeyError) as exc:
        raise DataSourceError(f"{folder / META_FILE}: not a valid table description ({exc})") from exc
    Z = _sparse(folder / files["Z"], Z_COLUMNS, (regions, sectors), (regions, sectors))
    Y = _sparse(folder / files["Y"], Y_COLUMNS, (regions, sectors), (regions, categories)).toarray()
    return mrio_table(regions, sectors, Z, Y, categories, unit=meta.get("unit", ""), meta=meta.get("meta", {}))


def _is_native(folder: Path) -> bool:
    try:
        return json.loads((folder / META_FILE).read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_table_folder(folder: Path | str) -> MrioTable:
    """Read a table folder written by :func:`write_table_folder`, or one written by pymrio's ``save_all``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataSourceError(f"{folder}: not a folder")
    if _is_native(folder):
        return _read_native(folder)
    if (folder / PYMRIO_MARKER).is_file():
        try:
            io = _pymrio().load_all(folder)
        except Exception as exc:  # pymrio raises many kinds of errors on bad folders
            raise DataSourceError(f"{folder}: pymrio could not load this folder ({exc})") from exc
        return from_pymrio(io)
    raise DataSourceError(
        f"{folder}: neither a CoRe Atlas MRIO folder ({META_FILE} with format '{FORMAT}') nor a pymrio save_all folder ({PYMRIO_MARKER})"
    )
