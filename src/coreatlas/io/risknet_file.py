"""Multi-tier networks for TTR/TTS on disk: a folder of CSV tables.

* ``nodes.csv``: ``node, capacity, inventory, demand, ttr_days`` (units a day, units, units a
  day, days; ``demand > 0`` marks a product) and optionally ``profit, group, country, firm, tier``.
* ``edges.csv``: ``supplier, consumer, material, ratio``: ``consumer`` needs ``ratio`` units of
  ``material`` per unit of output; suppliers of the same ``(consumer, material)`` are alternatives.
* ``groups.csv`` (optional): ``group, capacity``: a capacity shared by the nodes of a group.

Every problem names the file, line and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.errors import DataSourceError, Problem, ValidationError
from coreatlas.io.csvfile import locate, read_table
from coreatlas.io.output import write_frame
from coreatlas.model.risknet import RiskNetwork, risk_network

__all__ = ["read_risk_network", "write_risk_network"]

LINE = "line"
NODE_COLUMNS = ["node", "capacity", "inventory", "demand", "ttr_days"]
EDGE_COLUMNS = ["supplier", "consumer", "material", "ratio"]


def _numbers(frame: pd.DataFrame, columns, path: Path) -> dict[str, np.ndarray | None]:
    """Each column present as floats (None if absent); a blank or non-number cell is refused.
    Signs and ranges are the model's to check (:func:`~coreatlas.model.risknet.risk_network`)."""
    out: dict[str, np.ndarray | None] = {}
    for column in columns:
        if column not in frame.columns:
            out[column] = None
            continue
        text = frame[column].str.strip()
        values = pd.to_numeric(text.mask(text == ""), errors="coerce")
        if values.isna().any():
            row = frame[values.isna()].iloc[0]
            raise ValidationError(Problem(f"expected a number, got '{row[column]}'", file=str(path), line=int(row[LINE]), column=column))
        out[column] = values.to_numpy(dtype=float)
    return out


def _texts(frame: pd.DataFrame, columns, path: Path) -> dict[str, pd.Series]:
    """Each column stripped; a blank cell is refused (ids and materials are required)."""
    out = {}
    for column in columns:
        text = frame[column].str.strip()
        if (text == "").any():
            row = frame[text == ""].iloc[0]
            raise ValidationError(Problem(f"'{column}' is empty; a value is required", file=str(path), line=int(row[LINE]), column=column))
        out[column] = text
    return out


def _index(ids: pd.Series, known: dict, frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    index = ids.map(known)
    if index.isna().any():
        row = frame[index.isna()].iloc[0]
        raise ValidationError(
            Problem(f"unknown node '{row[column]}'; it is not in nodes.csv", file=str(path), line=int(row[LINE]), column=column)
        )
    return index.to_numpy(dtype=np.int64)


def read_risk_network(folder: Path | str) -> RiskNetwork:
    """Read ``nodes.csv``, ``edges.csv`` and an optional ``groups.csv``; every problem names
    the file, line and column."""
    folder = Path(folder)
    if not (folder / "nodes.csv").is_file() or not (folder / "edges.csv").is_file():
        raise DataSourceError(f"{folder}: expected nodes.csv and edges.csv (see docs/risk.md)")
    files = {table: folder / f"{table}.csv" for table in ("nodes", "edges", "groups")}
    nodes = read_table(files["nodes"], NODE_COLUMNS, rows="node")
    edges = read_table(files["edges"], EDGE_COLUMNS)
    values = _numbers(nodes, ("capacity", "inventory", "demand", "ttr_days", "profit", "tier"), files["nodes"])
    ratio = _numbers(edges, ("ratio",), files["edges"])["ratio"]
    ids = _texts(nodes, ["node"], files["nodes"])["node"]
    named = _texts(edges, ["supplier", "consumer", "material"], files["edges"])
    if ids.duplicated().any():
        row = nodes[ids.duplicated()].iloc[0]
        message = f"duplicate node id '{row['node'].strip()}'; ids must be unique"
        raise ValidationError(Problem(message, file=str(files["nodes"]), line=int(row[LINE]), column="node"))
    known = {node: i for i, node in enumerate(ids)}
    src = _index(named["supplier"], known, edges, "supplier", files["edges"])
    dst = _index(named["consumer"], known, edges, "consumer", files["edges"])
    group, capacity, group_lines = _groups(folder, nodes)
    labels = {c: nodes[c].fillna("").to_numpy(dtype=object) if c in nodes else None for c in ("country", "firm")}
    lines = {"nodes": nodes[LINE].to_numpy(), "edges": edges[LINE].to_numpy(), "groups": group_lines}
    try:
        return risk_network(
            ids.to_numpy(dtype=object), values["capacity"], values["inventory"], values["demand"], values["ttr_days"],
            src, dst, pd.factorize(named["material"])[0], ratio, profit=values["profit"], group=group, group_capacity=capacity,
            tier=values["tier"], meta={"network": str(folder)}, lines=lines, **labels,
        )  # fmt: skip
    except ValidationError as exc:
        raise ValidationError(locate(exc.problems, files)) from None


def _groups(folder: Path, nodes: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Each node's group index (-1 for none), each group's capacity and source line."""
    if "group" not in nodes.columns:
        return None, np.zeros(0), np.zeros(0, dtype=np.int64)
    named = nodes["group"].fillna("").str.strip()
    path = folder / "groups.csv"
    if not path.is_file():
        if (named != "").any():
            row = nodes[named != ""].iloc[0]
            message = f"node is in group '{row['group']}' but there is no groups.csv to give the group's capacity"
            raise ValidationError(Problem(message, file=str(folder / "nodes.csv"), line=int(row[LINE]), column="group"))
        return None, np.zeros(0), np.zeros(0, dtype=np.int64)
    groups = read_table(path, ["group", "capacity"])
    capacity = _numbers(groups, ("capacity",), path)["capacity"]
    names = _texts(groups, ["group"], path)["group"]
    repeated = names.duplicated()
    if repeated.any():
        row = groups[repeated].iloc[0]
        message = f"duplicate group '{row['group']}'; groups must be unique"
        raise ValidationError(Problem(message, file=str(path), line=int(row[LINE]), column="group"))
    index = named.map({g: i for i, g in enumerate(names)})
    unknown = (named != "") & index.isna()
    if unknown.any():
        row = nodes[unknown].iloc[0]
        message = f"unknown group '{row['group']}'; it is not in groups.csv"
        raise ValidationError(Problem(message, file=str(folder / "nodes.csv"), line=int(row[LINE]), column="group"))
    return index.fillna(-1).to_numpy(dtype=np.int64), capacity, groups[LINE].to_numpy()


def write_risk_network(net: RiskNetwork, folder: Path | str) -> Path:
    folder = Path(folder)
    nodes = pd.DataFrame(
        {"node": net.node_ids, "capacity": net.capacity, "inventory": net.inventory, "demand": net.demand, "ttr_days": net.ttr_days,
         "profit": net.profit, "tier": net.tier, "country": net.country, "firm": net.firm}
    )  # fmt: skip
    edges = pd.DataFrame(
        {"supplier": net.node_ids[net.src], "consumer": net.node_ids[net.dst], "material": net.pair, "ratio": net.pair_ratio[net.pair]}
    )
    write_frame(nodes, folder / "nodes.csv")
    write_frame(edges, folder / "edges.csv")
    return folder
