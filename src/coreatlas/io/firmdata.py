"""Read and write firm networks: the reference simulator's text files, CSV and Parquet.

Formats, chosen by file suffix:

* ``.txt`` / ``.dat`` / ``.tsv`` — whitespace separated, no header, as the reference
  simulator ``ProductionNetworkSimulator`` (links ``supplier client amount``, final
  demand ``firm amount``, sectors ``firm sector [extra]``, delta ``firm delta [day]``).
* ``.csv`` — comma separated with a header naming the columns of :data:`COLUMNS`.
* ``.parquet`` — the same columns, for networks of millions of links.

A network folder (:func:`write_network` / :func:`read_network`) holds ``links.parquet``
and ``firms.parquet``. Firm ids may be integers or strings; they are kept as given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.errors import DataSourceError, Problem, ValidationError
from coreatlas.io.output import write_frame
from coreatlas.model.firms import FirmNetwork, Shocks, firm_network

__all__ = ["COLUMNS", "network_from_tables", "network_tables", "read_firm_table", "read_network", "read_network_files", "read_shocks", "write_network"]

# required columns, then optional ones, per table; the reference text files give them in this order
COLUMNS = {
    "links": (("supplier", "client", "amount"), ()),
    "final_demand": (("firm", "amount"), ()),
    "sectors": (("firm", "sector"), ("region",)),
    "shocks": (("firm", "capacity_loss"), ("start_day", "end_day")),
}
TEXT_SUFFIXES = (".txt", ".dat", ".tsv", "")
ALIASES = {"flow": "amount", "delta": "capacity_loss", "day": "start_day", "final_demand": "amount"}
NUMERIC = {"amount", "capacity_loss", "start_day", "end_day"}


def _read_text(path: Path, table: str) -> pd.DataFrame:
    required, optional = COLUMNS[table]
    names = list(required + optional)
    if table == "sectors":
        names = ["firm", "sector", "extra"]  # the reference's third column is unused
    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None, names=names, comment="#", dtype=str, engine="c")
    except pd.errors.ParserError as exc:
        raise ValidationError(Problem(f"cannot parse: {exc}", file=str(path))) from None
    return frame.drop(columns=["extra"], errors="ignore")


def _read_any(path: Path, table: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataSourceError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise DataSourceError(f"{path}: cannot read {suffix[1:]} file ({exc})") from None
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, table)
    raise DataSourceError(f"{path}: unknown format '{suffix}'; expected .txt (reference simulator), .csv or .parquet")


def _first_line(path: Path, frame: pd.DataFrame, bad: np.ndarray) -> int:
    """1-based line of the first bad row (a header line counts for CSV)."""
    header = 1 if path.suffix.lower() == ".csv" else 0
    return int(np.flatnonzero(bad)[0]) + 1 + header


def _numeric(path: Path, frame: pd.DataFrame, column: str, table: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna().to_numpy() & frame[column].notna().to_numpy()
    if column in ("amount", "capacity_loss"):
        bad |= values.isna().to_numpy()
    if bad.any():
        line = _first_line(path, frame, bad)
        raw = frame[column].iloc[int(np.flatnonzero(bad)[0])]
        raise ValidationError(Problem(f"expected a number, got '{raw}'", table=table, line=line, column=column, file=str(path)))
    return values


def read_firm_table(path: Path | str, table: str) -> pd.DataFrame:
    """One table (``links``, ``final_demand``, ``sectors`` or ``shocks``) with checked columns."""
    path = Path(path)
    frame = _read_any(path, table).rename(columns=lambda c: ALIASES.get(str(c).strip().lower(), str(c).strip().lower()))
    required, optional = COLUMNS[table]
    missing = [c for c in required if c not in frame.columns or frame[c].isna().all()]
    if missing:
        expected = ", ".join(required)
        raise ValidationError(Problem(f"missing column(s) {', '.join(missing)}; expected {expected}", table=table, file=str(path)))
    frame = frame[[c for c in required + optional if c in frame.columns]].copy()
    for column in NUMERIC & set(frame.columns):
        frame[column] = _numeric(path, frame, column, table)
    _check_missing_ids(path, frame, table)
    return frame


def _check_missing_ids(path: Path, frame: pd.DataFrame, table: str) -> None:
    for column in ("supplier", "client", "firm", "sector"):
        if column in frame.columns and frame[column].isna().any():
            line = _first_line(path, frame, frame[column].isna().to_numpy())
            raise ValidationError(Problem("missing value", table=table, line=line, column=column, file=str(path)))


def _ids(values: pd.Series) -> pd.Series:
    """Ids as integers when every id is one (so 7 and '7' match), else as strings."""
    as_int = pd.to_numeric(values, errors="coerce")
    if as_int.notna().all() and (as_int == np.floor(as_int)).all():
        return as_int.astype(np.int64)
    return values.astype(str).str.strip()


def network_from_tables(links: pd.DataFrame, final_demand: pd.DataFrame, sectors: pd.DataFrame | None = None, meta=None) -> FirmNetwork:
    """A :class:`FirmNetwork` from id-based tables; firms are every id that appears anywhere."""
    supplier, client = _ids(links["supplier"]), _ids(links["client"])
    firms_fd = _ids(final_demand["firm"])
    firms_sec = _ids(sectors["firm"]) if sectors is not None else pd.Series([], dtype=supplier.dtype)
    all_ids = pd.Index(pd.unique(pd.concat([supplier, client, firms_fd, firms_sec], ignore_index=True))).sort_values()
    c = np.zeros(len(all_ids))
    np.add.at(c, all_ids.get_indexer(firms_fd), final_demand["amount"].to_numpy(dtype=float))
    sector = region = None
    sector_names = region_names = ()
    if sectors is not None:
        sector, sector_names = _codes(all_ids, firms_sec, sectors["sector"], "(none)")
        if "region" in sectors.columns and sectors["region"].notna().any():
            region, region_names = _codes(all_ids, firms_sec, sectors["region"], "(none)")
    return firm_network(
        all_ids.get_indexer(supplier), all_ids.get_indexer(client), links["amount"].to_numpy(dtype=float), c, sector, region,
        firm_ids=all_ids.to_numpy(), sector_names=sector_names, region_names=region_names, meta=meta,
    )  # fmt: skip


def _codes(all_ids: pd.Index, firms: pd.Series, labels: pd.Series, missing: str) -> tuple[np.ndarray, tuple]:
    """Integer codes per firm for a label column (firms without a label get ``missing``)."""
    full = pd.Series(missing, index=all_ids, dtype=object)
    full.iloc[all_ids.get_indexer(firms)] = labels.fillna(missing).astype(str).str.strip().to_numpy()
    codes, names = pd.factorize(full, sort=True)
    return codes.astype(np.int32), tuple(names)


def read_network_files(links: Path | str, final_demand: Path | str, sectors: Path | str | None = None) -> FirmNetwork:
    """A network from separate link, final-demand and sector files (any supported format)."""
    meta = {"links": str(links), "final_demand": str(final_demand), "sectors": str(sectors) if sectors else None}
    return network_from_tables(
        read_firm_table(links, "links"),
        read_firm_table(final_demand, "final_demand"),
        read_firm_table(sectors, "sectors") if sectors else None,
        meta=meta,
    )


def read_shocks(path: Path | str, network: FirmNetwork) -> Shocks:
    """Shocks by firm id; an id not in the network is an error naming the line."""
    path = Path(path)
    frame = read_firm_table(path, "shocks")
    ids = _ids(frame["firm"])
    index = pd.Index(network.firm_ids).get_indexer(ids)
    if (index < 0).any():
        line = _first_line(path, frame, index < 0)
        raise ValidationError(
            Problem(
                f"firm '{ids.iloc[int(np.flatnonzero(index < 0)[0])]}' is not in the network",
                table="shocks",
                line=line,
                column="firm",
                file=str(path),
            )
        )
    loss = frame["capacity_loss"].to_numpy(dtype=float)
    if ((loss < 0) | (loss > 1)).any():
        bad = (loss < 0) | (loss > 1)
        raise ValidationError(
            Problem(
                f"capacity loss {loss[bad][0]} must be a fraction in [0, 1]",
                table="shocks",
                line=_first_line(path, frame, bad),
                column="capacity_loss",
                file=str(path),
            )
        )
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


def write_network(network: FirmNetwork, folder: Path | str) -> Path:
    """``links.parquet`` and ``firms.parquet`` (:func:`network_tables`), each written atomically."""
    folder = Path(folder)
    for name, frame in network_tables(network).items():
        write_frame(frame, folder / f"{name}.parquet")
    return folder


def read_network(folder: Path | str) -> FirmNetwork:
    """Read a folder written by :func:`write_network`."""
    folder = Path(folder)
    for name in ("links.parquet", "firms.parquet"):
        if not (folder / name).is_file():
            raise DataSourceError(f"{folder}: no {name}; expected a network folder written by coreatlas (links.parquet, firms.parquet)")
    links = read_firm_table(folder / "links.parquet", "links")
    firms = pd.read_parquet(folder / "firms.parquet")
    final = firms.rename(columns={"final_demand": "amount"})[["firm", "amount"]]
    return network_from_tables(links, final, firms[["firm", "sector", "region"]], meta={"network": str(folder)})
