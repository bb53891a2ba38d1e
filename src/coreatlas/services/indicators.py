"""Competitiveness indicators: the partners' position against others per technology.

Use case ``indicators`` (payload keys): ``bloc`` (codes), ``position`` (one row per
technology and indicator), ``commitments`` (the ledger, as reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
import pydantic

from coreatlas.analysis.exposure import exposure
from coreatlas.model.spec import CodeList
from coreatlas.model.techmap import TechMap
from coreatlas.services.inputs import load_map, map_provenance
from coreatlas.services.protocol import Progress, Provenance, Result, use_case
from coreatlas.services.requests import MapRequest

__all__ = ["IndicatorReport", "IndicatorsRequest", "IndicatorsResult", "ReportResult", "indicator_report", "indicators"]

#: Node kinds that are stages of a technology (not tools or materials) and are reported
#: besides the headline markets.
STAGE_KINDS = ("output", "product", "component", "process", "design")

R = TypeVar("R")


@dataclass(frozen=True, eq=False)
class ReportResult(Result, Generic[R]):
    """A result that is one report and its provenance (also used by
    :mod:`coreatlas.services.policy`): ``payload()`` is the report's ``to_records()``,
    ``to_frame()`` its ``to_frame()``, and ``tables()`` its ``tables()`` where it has them."""

    report: R
    provenance: Provenance

    def payload(self) -> dict:
        return self.report.to_records()

    def to_frame(self) -> pd.DataFrame:
        return self.report.to_frame()

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = getattr(self.report, "tables", None)
        return super().tables() if tables is None else tables()


@dataclass(frozen=True)
class IndicatorReport:
    """``position``: one row per technology and indicator; ``commitments``: the ledger."""

    bloc: tuple[str, ...]
    position: pd.DataFrame
    commitments: pd.DataFrame

    def to_records(self) -> dict:
        return {"bloc": list(self.bloc), "position": _plain(self.position), "commitments": _plain(self.commitments)}

    def to_frame(self) -> pd.DataFrame:
        return self.position

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"position": self.position, "commitments": self.commitments}


def _plain(frame: pd.DataFrame) -> list[dict]:
    return frame.replace({np.nan: None}).to_dict("records")


def _value_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(low=frame["value_low"].fillna(frame["value"]), high=frame["value_high"].fillna(frame["value"]))


def _from_table(tm: TechMap, bloc: tuple[str, ...]) -> pd.DataFrame:
    """Indicator rows summed into the bloc and the leading holder country outside it."""
    rows = _value_columns(tm.annex["indicators"])
    keys = ["technology", "indicator", "method", "year", "source"]
    out = []
    for key, group in rows.groupby(keys, dropna=False, sort=False):
        inside = group["country"].isin(bloc)
        others = group[~inside].groupby("country")["value"].sum().sort_values(ascending=False)
        out.append(
            dict(zip(keys, key, strict=True))
            | {
                "bloc_share": float(group.loc[inside, "value"].sum()),
                "bloc_share_low": float(group.loc[inside, "low"].sum()),
                "bloc_share_high": float(group.loc[inside, "high"].sum()),
                "top_other": others.index[0] if len(others) else None,
                "top_other_share": float(others.iloc[0]) if len(others) else None,
                "covered": float(group["value"].sum()),
                "holders": len(group),
                "basis": "indicators table",
            }
        )
    return pd.DataFrame(out)


def _headline_nodes(tm: TechMap, has_figures: set[str]) -> list[str]:
    """The technology's headline markets: from each output, down its inputs, bundled
    components and variants, the first nodes on each path that have figures."""
    edges = pd.concat(
        [tm.edges("uses"), tm.edges("bundles"), tm.edges("variant_of").rename(columns={"node_id": "target_id", "target_id": "node_id"})]
    )
    below = edges.groupby("node_id")["target_id"].agg(list).to_dict()
    found, seen, frontier = [], set(), list(tm.outputs)
    while frontier:
        node = frontier.pop(0)
        if node in seen:
            continue
        seen.add(node)
        if node in has_figures:
            found.append(node)
        else:
            frontier += below.get(node, [])
    return found


def _from_map(tm: TechMap, bloc: tuple[str, ...]) -> pd.DataFrame:
    table = {r["node_id"]: r for r in exposure(tm, bloc).records}
    out = []
    with_figures = {n for n, r in table.items() if r["bloc_share"] is not None}
    stages = [n for n in tm.node_ids if n in with_figures and table[n]["kind"] in STAGE_KINDS]
    for node_id in dict.fromkeys(_headline_nodes(tm, with_figures) + stages):
        r = table[node_id]
        if r["bloc_share"] is None:
            continue
        others = {c: v for c, v in r["shares"].items() if c not in bloc}
        top = max(others.items(), key=lambda kv: kv[1]) if others else (None, None)
        years = r["years"]
        out.append(
            {
                "technology": r["node_name"],
                "indicator": "supply_share",
                "method": "by HQ country, from the map",
                "year": max(years) if years else None,
                "source": tm.meta.name,
                "bloc_share": r["bloc_share"],
                "bloc_share_low": r["bloc_share_range"][0],
                "bloc_share_high": r["bloc_share_range"][1],
                "top_other": top[0],
                "top_other_share": top[1],
                "covered": sum(r["shares"].values()),
                "holders": len(r["shares"]),
                "basis": "map",
            }
        )
    return pd.DataFrame(out)


def indicator_report(tm: TechMap, bloc: tuple[str, ...]) -> IndicatorReport:
    """The bloc's share per technology and indicator, against the leading other country,
    from the map's headline nodes and the dataset's indicator table; and the ledger of
    public commitments (the bloc's parties first)."""
    position = pd.concat([_from_map(tm, bloc), _from_table(tm, bloc)], ignore_index=True)
    ledger = tm.annex["commitments"].drop(columns="line")
    ledger = ledger.assign(in_bloc=ledger["party"].isin(bloc)).sort_values(
        ["in_bloc", "technology", "party", "year"], ascending=[False, True, True, True]
    )
    return IndicatorReport(tuple(bloc), position, ledger.reset_index(drop=True))


class IndicatorsRequest(MapRequest):
    """The position of ``bloc`` per technology against the leading other country."""

    data: str = pydantic.Field("telecom-ran", min_length=1, description="Built-in dataset, folder, or a+b combination.")
    bloc: str | CodeList = pydantic.Field("core", description="Bloc name (core, allies) or country codes.")


class IndicatorsResult(ReportResult[IndicatorReport]):
    table_name = "position"


@use_case("indicators", IndicatorsRequest)
def indicators(request: IndicatorsRequest, progress: Progress = None) -> IndicatorsResult:
    tm = load_map(request.data)
    return IndicatorsResult(indicator_report(tm, tm.resolve_bloc(request.bloc, field="bloc")), map_provenance(tm, request))
