"""The country-by-sector view: multi-regional input–output tables, static analysis, ARIO runs.

Use cases (each takes one request, returns one result with ``to_dict()``, ``to_frame()`` and
``provenance``):

- ``mrio-leontief`` (:class:`LeontiefRequest` -> :class:`LeontiefResult`): output (Leontief)
  and forward (Ghosh) multipliers and linkages of every region-sector, by output multiplier.
- ``mrio-extraction`` (:class:`ExtractionRequest` -> :class:`ExtractionResult`): output lost
  when each region, sector or region-sector is extracted, largest loss first.
- ``mrio-dependence`` (:class:`DependenceRequest` -> :class:`DependenceResult`): value added of
  each supplier region in each region's final demand, and the foreign dependences ranked.
- ``mrio-simulate`` (:class:`MrioSimulateRequest` -> :class:`MrioSimulateResult`, long): an
  ARIO run (as BoARIO's ``ARIOPsiModel``), daily production of every region-sector.

Every request names a table (``table``: a saved table folder, or None for pymrio's bundled
test table) and may merge regions or sectors into groups before the analysis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pydantic

from coreatlas.analysis import io_static
from coreatlas.analysis.ario import ArioEvent, ArioResult, ario_model, check_run_size, run_ario
from coreatlas.errors import CoreAtlasError, RequestError
from coreatlas.io.mrio import aggregate, load_test_table, read_table_folder
from coreatlas.model.mrio import ARIO_EVENT_KINDS, EXTRACTION_GROUPS, MrioTable
from coreatlas.model.spec import CodeList, Spec
from coreatlas.render import Chart
from coreatlas.services.protocol import Progress, Provenance, Request, Result, content_hash, make_provenance, use_case
from coreatlas.services.save import check_out

__all__ = [
    "ARIO_EVENT_KINDS",
    "EXTRACTION_GROUPS",
    "DependenceRequest",
    "DependenceResult",
    "ExtractionRequest",
    "ExtractionResult",
    "LeontiefRequest",
    "LeontiefResult",
    "MrioRequest",
    "MrioSimulateRequest",
    "MrioSimulateResult",
    "Shock",
    "check_mrio_out",
    "load_table",
    "mrio_dependence",
    "mrio_extraction",
    "mrio_leontief",
    "mrio_simulate",
]

SHOCK_FORMAT = "REGION:SECTOR=VALUE"
#: A comma starts a new shock only where the rest reads ``REGION:SECTOR=``: sector names may hold commas.
_NEXT_SHOCK = re.compile(r",\s*(?=[^,:=]+:[^,=]+=)")


# ---- requests -------------------------------------------------------------------------------
class MrioRequest(Request):
    """A multi-regional input–output table, optionally with regions or sectors merged."""

    table: str | None = pydantic.Field(None, description="A saved table folder; None for pymrio's bundled test table.")
    region_groups: dict[str, CodeList] | None = pydantic.Field(None, description="Group name -> the regions merged into it.")
    sector_groups: dict[str, CodeList] | None = pydantic.Field(None, description="Group name -> the sectors merged into it.")


class RankingRequest(MrioRequest):
    """A ranking of the table's industries, regions or sectors."""

    top: int | None = pydantic.Field(None, ge=1, description="Keep the first TOP rows of the ranking; None keeps all.")


class LeontiefRequest(RankingRequest):
    """Multipliers and linkages of every region-sector."""


class ExtractionRequest(RankingRequest):
    """Hypothetical extraction of every region, sector or region-sector (``industry``)."""

    by: Literal[EXTRACTION_GROUPS] = pydantic.Field("region", description="What is extracted: " + ", ".join(EXTRACTION_GROUPS))

    @pydantic.field_validator("by", mode="before")
    @classmethod
    def _known_group(cls, value: Any) -> Any:
        if value not in EXTRACTION_GROUPS:
            raise ValueError(f"must be one of {', '.join(EXTRACTION_GROUPS)}, not '{value}'")
        return value


class DependenceRequest(RankingRequest):
    """Value added of each supplier region in each region's final demand (``top``: foreign ranking)."""


def parse_shock(text: str) -> dict:
    """``"reg1:manufactoring=0.3"`` -> ``{"region": "reg1", "sector": "manufactoring", "value": 0.3}``."""
    name, sep, value = text.rpartition("=")
    region, colon, sector = name.partition(":")
    try:
        amount = float(value)
    except ValueError:
        amount = None
    if not (sep and colon and region.strip() and sector.strip()) or amount is None:
        raise ValueError(f"expected {SHOCK_FORMAT}, e.g. reg1:manufactoring=0.3, not '{text}'")
    return {"region": region.strip(), "sector": sector.strip(), "value": amount}


class Shock(Spec):
    """One region-sector hit: ``value`` is the share of capacity lost (``arbitrary``) or of
    capital destroyed (``recovery``). Also written ``REGION:SECTOR=VALUE``."""

    region: str = pydantic.Field(min_length=1)
    sector: str = pydantic.Field(min_length=1)
    value: float = pydantic.Field(description="A share in (0, 1].")

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return parse_shock(data) if isinstance(data, str) else data

    @pydantic.field_validator("value")
    @classmethod
    def _share(cls, value: float, info: pydantic.ValidationInfo) -> float:
        if not 0 < value <= 1:
            where = f" for {info.data['region']}:{info.data['sector']}" if {"region", "sector"} <= set(info.data) else ""
            raise ValueError(f"expected a share in (0, 1]{where}, not {value:g}")
        return value

    def label(self) -> str:
        return f"{self.region}:{self.sector}"


def _split_shocks(value: Any) -> Any:
    """Items written ``A:B=0.3,C:D=0.1`` are several shocks."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return [part for item in value for part in (_NEXT_SHOCK.split(item) if isinstance(item, str) else [item])]
    return value


class MrioSimulateRequest(MrioRequest):
    """An ARIO run: one event per shock, all with the same timing."""

    shocks: list[Shock] = pydantic.Field(description=f"The region-sectors hit, as objects or {SHOCK_FORMAT} text.")
    kind: Literal[ARIO_EVENT_KINDS] = pydantic.Field(
        "arbitrary", description="arbitrary: VALUE is the share of capacity lost; recovery: the share of capital destroyed."
    )
    days: int = pydantic.Field(365, ge=1, description="Days to simulate.")
    occurrence: int = pydantic.Field(5, ge=0, description="Day the shock happens.")
    duration: int = pydantic.Field(30, ge=0, description="Days before recovery starts.")
    recovery_days: int = pydantic.Field(60, ge=1, description="Days of linear recovery.")

    @pydantic.field_validator("shocks", mode="before")
    @classmethod
    def _shock_list(cls, value: Any) -> Any:
        value = _split_shocks(value)
        if isinstance(value, list) and not value:
            raise ValueError(f"give at least one shock {SHOCK_FORMAT}")
        return value


# ---- tables ---------------------------------------------------------------------------------
def load_table(table: str | None = None, region_groups: dict | None = None, sector_groups: dict | None = None) -> MrioTable:
    """pymrio's test table by default, or a saved table folder; optionally aggregated."""
    try:
        loaded = load_test_table() if table is None else read_table_folder(table)
    except CoreAtlasError as exc:
        exc.field = exc.field or "table"
        raise
    if not (region_groups or sector_groups):
        return loaded
    return aggregate(loaded, *({name: list(members) for name, members in (g or {}).items()} for g in (region_groups, sector_groups)))


def check_mrio_out(request: MrioRequest, out: str | None, force: bool = False) -> None:
    """Before any work: refuse an ``out`` that is the request's table folder (or holds it), cannot be
    written, or is a foreign non-empty folder without ``force`` (:func:`coreatlas.services.save.check_out`)."""
    check_out(out, [request.table], force)


def _table_of(request: MrioRequest) -> MrioTable:
    return load_table(request.table, request.region_groups, request.sector_groups)


def table_info(table: MrioTable) -> dict:
    """What every MRIO result says about its table."""
    return {"table": _name(table), "regions": len(table.regions), "sectors": len(table.sectors), "unit": table.unit}


def _name(table: MrioTable) -> str:
    return str(table.meta.get("name") or table.meta.get("source", ""))


def table_provenance(table: MrioTable, request: Request) -> Provenance:
    """Dataset = the table's name, version from its metadata, hash of its arrays and labels."""
    labels = "\n".join(f"{r}\t{s}" for r, s in table.labels()) + "\n" + "\t".join(table.fd_categories)
    digest = content_hash(table.Z.indptr, table.Z.indices, table.Z.data, np.asarray(table.Y), labels)
    return make_provenance(_name(table), str(table.meta.get("version", "")), digest, request)


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict("records")


def _ranked(frame: pd.DataFrame, column: str, top: int | None) -> pd.DataFrame:
    frame = frame.sort_values(column, ascending=False, ignore_index=True, kind="stable")
    return frame if top is None else frame.head(top)


# ---- static results -------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TableResult(Result):
    """A table of one MRIO table. Keys: table, regions, sectors, unit, rows (the table's records)."""

    info: dict
    frame: pd.DataFrame
    provenance: Provenance

    def payload(self) -> dict:
        return {**self.info, "rows": _records(self.frame)}

    def to_frame(self) -> pd.DataFrame:
        return self.frame


@dataclass(frozen=True, eq=False)
class LeontiefResult(TableResult):
    """Rows: region, sector, output_multiplier, backward_linkage, forward_multiplier,
    forward_linkage, by output multiplier (largest first)."""

    table_name: ClassVar[str] = "linkages"


@dataclass(frozen=True, eq=False)
class ExtractionResult(TableResult):
    """Keys of :class:`TableResult` and ``by``. Rows: the group (region, sector or both), output,
    output_loss, total_backward_linkage, total_forward_linkage and their shares of total output,
    largest loss first."""

    by: str = "region"

    def payload(self) -> dict:
        return {**self.info, "by": self.by, "rows": _records(self.frame)}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f"extraction_by_{self.by}": self.frame}


@dataclass(frozen=True, eq=False)
class DependenceResult(TableResult):
    """Rows (every consumer-supplier pair): consumer_region, supplier_region, value_added, share
    (of the consumer's final demand). ``foreign``: the pairs of two different regions, largest
    share first (cut to ``top``)."""

    foreign: pd.DataFrame | None = None
    table_name: ClassVar[str] = "value_added_content"

    def payload(self) -> dict:
        return {**super().payload(), "foreign": _records(self.foreign)}


@use_case("mrio-leontief", LeontiefRequest)
def mrio_leontief(request: LeontiefRequest, progress: Progress = None) -> LeontiefResult:
    """Multipliers and linkages of every region-sector, largest output multiplier first."""
    table = _table_of(request)
    frame = _ranked(io_static.linkages(table), "output_multiplier", request.top)
    return LeontiefResult(table_info(table), frame, table_provenance(table, request))


@use_case("mrio-extraction", ExtractionRequest)
def mrio_extraction(request: ExtractionRequest, progress: Progress = None) -> ExtractionResult:
    """Hypothetical extraction of every region, sector or region-sector, largest loss first."""
    table = _table_of(request)
    frame = _ranked(io_static.hypothetical_extraction(table, request.by), "output_loss", request.top)
    return ExtractionResult(table_info(table), frame, table_provenance(table, request), by=request.by)


@use_case("mrio-dependence", DependenceRequest)
def mrio_dependence(request: DependenceRequest, progress: Progress = None) -> DependenceResult:
    """Value-added content of final demand, and the largest foreign dependences."""
    table = _table_of(request)
    frame = io_static.value_added_content(table)
    foreign = _ranked(frame[frame["consumer_region"] != frame["supplier_region"]], "share", request.top)
    return DependenceResult(table_info(table), frame, table_provenance(table, request), foreign=foreign)


# ---- ARIO -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MrioSimulateResult(Result):
    """An ARIO run. Keys: table, regions, sectors, unit, industries, days, trough_day,
    trough_share (lowest total production over baseline), production_lost (table units),
    production_lost_days_of_output, shocks, kind, lowest_by_region (region, lowest_share:
    each region's lowest daily production over its baseline, lowest first).
    ``to_frame()``: day, region, sector, production (one row per day and region-sector)."""

    info: dict
    run: ArioResult
    table: MrioTable
    request: MrioSimulateRequest
    provenance: Provenance

    def by_region(self) -> pd.DataFrame:
        """Daily production per region as a share of its baseline (days x regions)."""
        frame = pd.DataFrame(self.run.production).T.groupby(self.table.industry_region).sum().T
        frame = frame / np.bincount(self.table.industry_region, self.run.baseline)
        frame.columns = list(self.table.regions)
        frame.index.name = "day"
        return frame

    def summary(self) -> dict:
        totals = self.run.totals()
        lost = float((self.run.baseline.sum() - totals["production"]).sum())
        return {"industries": self.table.n_industries, "days": len(totals), "trough_day": int(totals["share_of_baseline"].idxmin()),
                "trough_share": float(totals["share_of_baseline"].min()), "production_lost": lost,
                "production_lost_days_of_output": lost / float(self.run.baseline.sum())}  # fmt: skip

    def payload(self) -> dict:
        lowest = self.by_region().min().sort_values(kind="stable")
        return {**self.info, **self.summary(), "shocks": [s.to_dict() for s in self.request.shocks], "kind": self.request.kind,
                "lowest_by_region": [{"region": r, "lowest_share": float(v)} for r, v in lowest.items()]}  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        days, n = self.run.production.shape
        labels = np.asarray(self.run.labels, dtype=object).reshape(n, 2)
        return pd.DataFrame({"day": np.repeat(np.arange(days), n), "region": np.tile(labels[:, 0], days),
                             "sector": np.tile(labels[:, 1], days), "production": self.run.production.ravel()})  # fmt: skip

    def tables(self) -> dict[str, pd.DataFrame]:
        production = pd.DataFrame(self.run.production, columns=[f"{r}:{s}" for r, s in self.run.labels])
        production.index.name = "day"
        return {"production": production.reset_index(), "production_by_region": self.by_region().reset_index()}

    def charts(self) -> dict[str, Chart]:
        regions = self.by_region().reset_index().melt(id_vars="day", var_name="region", value_name="share")
        regions["percent_of_baseline"] = 100 * regions.pop("share")
        chart = Chart("line", regions, x="day", y="percent_of_baseline", series="region", title="ARIO: production by region",
                      x_title="day", y_title="% of baseline production")  # fmt: skip
        return {"production_by_region": chart}


def _events(table: MrioTable, request: MrioSimulateRequest, capital: np.ndarray) -> list[ArioEvent]:
    """One event per shock; an unknown region-sector is an error of that shock."""
    index = {label: i for i, label in enumerate(table.labels())}
    events = []
    for k, shock in enumerate(request.shocks):
        if (shock.region, shock.sector) not in index:
            raise RequestError(
                f"shocks[{k}]: no industry {shock.label()}; regions: {', '.join(map(str, table.regions[:8]))}"
                f"{'...' * (len(table.regions) > 8)}, sectors: {', '.join(map(str, table.sectors[:8]))}{'...' * (len(table.sectors) > 8)}",
                field=f"shocks[{k}]",
            )
        i = index[(shock.region, shock.sector)]
        impact = shock.value if request.kind == "arbitrary" else shock.value * capital[i]
        events.append(ArioEvent((i,), (impact,), request.kind, request.occurrence, request.duration, request.recovery_days))
    return events


@use_case("mrio-simulate", MrioSimulateRequest, long=True)
def mrio_simulate(request: MrioSimulateRequest, progress: Progress = None) -> MrioSimulateResult:
    """ARIO run with one event per shock; progress is reported once per simulated day."""
    table = _table_of(request)
    check_run_size(request.days, table.n_industries)
    model = ario_model(table)
    run = run_ario(model, _events(table, request, model.capital), request.days, progress=progress)
    return MrioSimulateResult(table_info(table), run, table, request, table_provenance(table, request))
