"""The use cases of the technology maps: chokepoints, exposure, leverage, static scenarios,
validation and the list of built-in datasets.

Each takes one request (defined here, beside its function) and returns one result with
``to_dict()`` (``payload()`` plus ``provenance``), a tidy ``to_frame()`` and ``provenance``.

Payload keys (stable):

- ``chokepoints``: ``threshold``, ``by``, ``attribution``, ``rows`` (node_id, node_name,
  provider, provider_name, share, by, basis).
- ``exposure``: ``bloc`` (codes), ``attribution``, ``rows`` (one per node; see
  :mod:`coreatlas.analysis.exposure`).
- ``leverage``: ``bloc``, ``threshold``, ``rows`` (node_id, node_name, bloc_share,
  top_country, top_country_share).
- ``scenario``: ``variants``, ``attribution``, ``scenarios`` (name, description, summary,
  warnings), ``rows`` (one per scenario and node, with ``scenario``; ``output`` marks the
  map's ultimate outputs, :attr:`TechMap.outputs`, and ``estimated`` a figure that rests on
  an assumption) and ``estimated_rule`` (that assumption in words).
- ``validate``: ``data``, ``ok``, ``counts``, ``problems``.
- ``datasets``: ``rows`` (name, version, title, licence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import pandas as pd
import pydantic

from coreatlas.analysis.exposure import ExposureTable
from coreatlas.analysis.exposure import chokepoints as find_chokepoints
from coreatlas.analysis.exposure import exposure as exposure_table
from coreatlas.analysis.exposure import leverage as bloc_leverage
from coreatlas.analysis.propagate import ASSUMED_RULE, VARIANT_RULES, ScenarioResult, build_propagator, run_scenario
from coreatlas.errors import ValidationError
from coreatlas.io import datasets as builtin
from coreatlas.model.spec import CodeList
from coreatlas.model.techmap import TechMap
from coreatlas.model.validate import validate as validate_map
from coreatlas.services.inputs import ScenarioSource, load_map, map_provenance, scenarios_of
from coreatlas.services.protocol import Progress, Provenance, Request, Result, content_hash, make_provenance, report, use_case
from coreatlas.services.requests import MapRequest

__all__ = [
    "ASSUMED_RULE",
    "BY_CHOICES",
    "DEFAULT_DATASET",
    "VARIANT_RULES",
    "Bloc",
    "ChokepointsRequest",
    "ChokepointsResult",
    "DatasetsRequest",
    "DatasetsResult",
    "ExposureRequest",
    "ExposureResult",
    "Fraction",
    "LeverageRequest",
    "LeverageResult",
    "ScenarioRequest",
    "ScenarioRunResult",
    "ValidateRequest",
    "ValidationResult",
    "chokepoint_rows",
    "chokepoints",
    "datasets",
    "exposure",
    "frame_of",
    "leverage",
    "run_scenarios",
    "scenario",
    "validate",
]

DEFAULT_DATASET = builtin.DEFAULT_DATASET
BY_CHOICES = ("country", "firm")
#: A fraction in [0, 1].
Fraction = Annotated[float, pydantic.Field(ge=0.0, le=1.0, allow_inf_nan=False)]
#: A bloc: its name (``core``, ``allies``) or country codes (``"USA,JPN"`` or a list).
Bloc = str | CodeList


def frame_of(rows: list[dict] | tuple[dict, ...], columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Records as a table (with ``columns`` when there are none)."""
    return pd.DataFrame(list(rows)) if rows else pd.DataFrame(columns=list(columns))


@dataclass(frozen=True, eq=False)
class _Rows(Result):
    """A result that is a list of records."""

    rows: tuple[dict, ...]
    provenance: Provenance

    def payload(self) -> dict:
        return {"rows": list(self.rows)}

    def to_frame(self) -> pd.DataFrame:
        return frame_of(self.rows)


# ---- chokepoints -----------------------------------------------------------------------------
class ChokepointsRequest(MapRequest):
    """Nodes where one country (or firm) holds at least ``threshold`` of the market."""

    threshold: Fraction = pydantic.Field(0.9, description="Share (0..1) one provider must hold.")
    by: Literal["country", "firm"] = pydantic.Field("country", description="Providers counted: countries or firms.")


@dataclass(frozen=True, eq=False)
class ChokepointsResult(_Rows):
    threshold: float = 0.9
    by: str = "country"
    attribution: str = "hq"
    table_name = "chokepoints"

    def payload(self) -> dict:
        return {"threshold": self.threshold, "by": self.by, "attribution": self.attribution, "rows": list(self.rows)}


def chokepoint_rows(tm: TechMap, threshold: float = 0.9, by: str = "country", attribution: str = "hq") -> tuple[dict, ...]:
    """Chokepoints as records, largest share first."""
    return tuple(cp.__dict__.copy() for cp in find_chokepoints(tm, threshold, by, attribution=attribution))


@use_case("chokepoints", ChokepointsRequest)
def chokepoints(request: ChokepointsRequest, progress: Progress = None) -> ChokepointsResult:
    tm = load_map(request.data)
    rows = chokepoint_rows(tm, request.threshold, request.by, request.attribution)
    return ChokepointsResult(rows, map_provenance(tm, request), request.threshold, request.by, request.attribution)


# ---- exposure --------------------------------------------------------------------------------
class ExposureRequest(MapRequest):
    """Concentration per node (or of one ``node``), with the share held by ``bloc``."""

    node: str | None = pydantic.Field(None, description="Only this node id.")
    bloc: Bloc = pydantic.Field("core", description="Bloc name (core, allies) or country codes.")


@dataclass(frozen=True, eq=False)
class ExposureResult(Result):
    table: ExposureTable
    provenance: Provenance
    table_name = "exposure"

    @property
    def rows(self) -> tuple[dict, ...]:
        return self.table.records

    def payload(self) -> dict:
        return {"bloc": list(self.table.bloc), "attribution": self.table.attribution, "rows": list(self.table.records)}

    def to_frame(self) -> pd.DataFrame:
        return self.table.to_frame()


@use_case("exposure", ExposureRequest)
def exposure(request: ExposureRequest, progress: Progress = None) -> ExposureResult:
    tm = load_map(request.data)
    table = exposure_table(tm, tm.resolve_bloc(request.bloc, field="bloc"), attribution=request.attribution)
    if request.node is not None:
        tm.node(request.node, field="node")
        table = ExposureTable(tuple(r for r in table.records if r["node_id"] == request.node), table.bloc, table.attribution)
    return ExposureResult(table, map_provenance(tm, request))


# ---- leverage --------------------------------------------------------------------------------
LEVERAGE_KEYS = ("node_id", "node_name", "bloc_share", "top_country", "top_country_share")


class LeverageRequest(MapRequest):
    """Nodes where ``bloc`` holds at least ``threshold``: where its export control would bite."""

    bloc: Bloc = pydantic.Field("core", description="Bloc name or country codes.")
    threshold: Fraction = pydantic.Field(0.9, description="Bloc share (0..1) at or above which a control would bite.")


@dataclass(frozen=True, eq=False)
class LeverageResult(_Rows):
    bloc: tuple[str, ...] = ()
    threshold: float = 0.9
    table_name = "leverage"

    def payload(self) -> dict:
        return {"bloc": list(self.bloc), "threshold": self.threshold, "rows": list(self.rows)}

    def to_frame(self) -> pd.DataFrame:
        return frame_of(self.rows, LEVERAGE_KEYS)


@use_case("leverage", LeverageRequest)
def leverage(request: LeverageRequest, progress: Progress = None) -> LeverageResult:
    tm = load_map(request.data)
    codes = tm.resolve_bloc(request.bloc, field="bloc")
    hits = bloc_leverage(tm, codes, request.threshold, attribution=request.attribution)
    rows = tuple({k: r[k] for k in LEVERAGE_KEYS} for r in hits)
    return LeverageResult(rows, map_provenance(tm, request), codes, request.threshold)


# ---- scenarios -------------------------------------------------------------------------------
class ScenarioRequest(MapRequest, ScenarioSource):
    """What is left of every node under each scenario (given inline or in a YAML file)."""

    variants: Literal["pool", "all"] = pydantic.Field("pool", description="pool (variants add up) or all (every variant needed).")


@dataclass(frozen=True, eq=False)
class ScenarioRunResult(Result):
    results: tuple[ScenarioResult, ...]
    provenance: Provenance
    variants: str = "pool"
    attribution: str = "hq"
    table_name = "availability"

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.results for w in r.warnings]

    def payload(self) -> dict:
        scenarios = [{"name": r.scenario.name, "description": r.scenario.description, "summary": r.scenario.summary(),
                      "warnings": list(r.warnings)} for r in self.results]  # fmt: skip
        rows = [{"scenario": r.scenario.name, **rec} for r in self.results for rec in r.records]
        return {"variants": self.variants, "attribution": self.attribution, "scenarios": scenarios, "rows": rows,
                "estimated_rule": ASSUMED_RULE}  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([r.to_frame() for r in self.results], ignore_index=True)


def run_scenarios(
    tm: TechMap, scenarios, *, variants: str = "pool", attribution: str = "hq", progress: Progress = None
) -> list[ScenarioResult]:
    """Run each scenario on one engine; ``progress(done, total)`` after each."""
    propagator = build_propagator(tm, attribution=attribution, variants=variants)
    results = []
    for scenario in scenarios:
        results.append(run_scenario(tm, scenario, propagator=propagator))
        report(progress, len(results), len(scenarios))
    return results


@use_case("scenario", ScenarioRequest)
def scenario(request: ScenarioRequest, progress: Progress = None) -> ScenarioRunResult:
    tm = load_map(request.data)
    scenarios = scenarios_of(tm, request)
    results = run_scenarios(tm, scenarios, variants=request.variants, attribution=request.attribution, progress=progress)
    return ScenarioRunResult(tuple(results), map_provenance(tm, request), request.variants, request.attribution)


# ---- validation, the list of datasets --------------------------------------------------------
class ValidateRequest(Request):
    """Check a dataset and report every problem."""

    data: str = pydantic.Field(DEFAULT_DATASET, min_length=1, description="Built-in dataset, folder, or a+b combination.")


@dataclass(frozen=True, eq=False)
class ValidationResult(Result):
    data: str
    ok: bool
    problems: tuple
    counts: dict
    provenance: Provenance
    table_name = "problems"

    def payload(self) -> dict:
        return {"data": self.data, "ok": self.ok, "counts": self.counts, "problems": [p.to_dict() for p in self.problems]}

    def to_frame(self) -> pd.DataFrame:
        return frame_of([p.to_dict() for p in self.problems], ("file", "line", "column", "message", "severity"))


def _counts(tm: TechMap) -> dict:
    return {
        "nodes": len(tm.nodes),
        "providers": len(tm.providers),
        "provision": len(tm.provision),
        "numeric_shares": int(tm.provision["share"].notna().sum()),
        "relations": len(tm.relations),
        "outputs": len(tm.outputs),
    }


@use_case("validate", ValidateRequest)
def validate(request: ValidateRequest, progress: Progress = None) -> ValidationResult:
    """Load ``data`` and list every problem; errors make ``ok`` false instead of raising."""
    try:
        tm = load_map(request.data)
    except ValidationError as exc:
        return ValidationResult(request.data, False, tuple(exc.problems), {}, make_provenance(request.data, "", "", request))
    problems = tuple(validate_map(tm))
    ok = not any(p.severity == "error" for p in problems)
    return ValidationResult(request.data, ok, problems, _counts(tm), map_provenance(tm, request))


class DatasetsRequest(Request):
    """The built-in datasets (no fields)."""


@dataclass(frozen=True, eq=False)
class DatasetsResult(_Rows):
    table_name = "datasets"


@use_case("datasets", DatasetsRequest)
def datasets(request: DatasetsRequest, progress: Progress = None) -> DatasetsResult:
    rows = []
    for name in builtin.builtin_names():
        meta = builtin.load(name).meta
        rows.append({"name": name, "version": meta.version, "title": meta.title, "licence": meta.licence})
    digest = content_hash(*(f"{r['name']} {r['version']}" for r in rows))
    return DatasetsResult(tuple(rows), make_provenance("built-in", "", digest, request))
