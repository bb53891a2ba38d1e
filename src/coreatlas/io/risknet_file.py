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
from coreatlas.io.csvfile import read_table
from coreatlas.io.output import write_frame
from coreatlas.model.risknet import RiskNetwork, risk_network

__all__ = ["read_risk_network", "write_risk_network"]

LINE = "line"


def _numbers(frame: pd.DataFrame, columns, path: Path, default=None) -> dict[str, np.ndarray]:
    out = {}
    for column in columns:
        if column not in frame.columns:
            out[column] = None if default is None else np.full(len(frame), default)
            continue
        values = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = frame[bad].iloc[0]
            raise ValidationError(
                Problem(f"expected a number >= 0, got '{row[column]}'", file=str(path), line=int(row[LINE]), column=column)
            )
        out[column] = values.to_numpy(dtype=float)
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
    folder = Path(folder)
    if not (folder / "nodes.csv").is_file() or not (folder / "edges.csv").is_file():
        raise DataSourceError(f"{folder}: expected nodes.csv and edges.csv (see docs/risk.md)")
    nodes = read_table(folder / "nodes.csv", ["node", "capacity", "inventory", "demand", "ttr_days"])
    edges = read_table(folder / "edges.csv", ["supplier", "consumer", "material", "ratio"])
    values = _numbers(nodes, ("capacity", "inventory", "demand", "ttr_days"), folder / "nodes.csv")
    extra = _numbers(nodes, ("profit", "tier"), folder / "nodes.csv")
    ratio = _numbers(edges, ("ratio",), folder / "edges.csv")["ratio"]
    known = {node: i for i, node in enumerate(nodes["node"].str.strip())}
    src = _index(edges["supplier"].str.strip(), known, edges, "supplier", folder / "edges.csv")
    dst = _index(edges["consumer"].str.strip(), known, edges, "consumer", folder / "edges.csv")
    material = pd.factorize(edges["material"].str.strip())[0]
    group, capacity = _groups(folder, nodes)
    labels = {c: nodes[c].fillna("").to_numpy(dtype=object) if c in nodes else None for c in ("country", "firm")}
    return risk_network(
        nodes["node"].str.strip().to_numpy(dtype=object), values["capacity"], values["inventory"], values["demand"], values["ttr_days"],
        src, dst, material, ratio, profit=extra["profit"], group=group, group_capacity=capacity,
        tier=None if extra["tier"] is None else extra["tier"].astype(np.int64), meta={"network": str(folder)}, **labels,
    )  # fmt: skip


def _groups(folder: Path, nodes: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray]:
    if "group" not in nodes.columns or not (folder / "groups.csv").is_file():
        return None, np.zeros(0)
    groups = read_table(folder / "groups.csv", ["group", "capacity"])
    capacity = _numbers(groups, ("capacity",), folder / "groups.csv")["capacity"]
    known = {g: i for i, g in enumerate(groups["group"].str.strip())}
    named = nodes["group"].fillna("").str.strip()
    index = named.map(known)
    unknown = (named != "") & index.isna()
    if unknown.any():
        row = nodes[unknown].iloc[0]
        raise ValidationError(
            Problem(
                f"unknown group '{row['group']}'; it is not in groups.csv",
                file=str(folder / "nodes.csv"),
                line=int(row[LINE]),
                column="group",
            )
        )
    return index.fillna(-1).to_numpy(dtype=np.int64), capacity


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
