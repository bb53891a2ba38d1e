"""Risk ranking: time to recover and time to survive (use cases ``ttr``, ``tts``), extraction
sweeps and rankings (``rank``) and Monte Carlo ensembles of hazards (``montecarlo``).

Every result carries a provenance record, so any figure can be computed again (docs/risk.md).
Requests: :class:`RiskRequest` (a network source and assumptions), :class:`RankRequest`,
:class:`MonteCarloRequest` (hazards inline or in a file).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pydantic

from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.firm_compile import firms_from_map
from coreatlas.analysis.propagate import build_propagator
from coreatlas.analysis.ranking import extraction_sweep, firm_risk_network, ranking_table, single_points_of_failure
from coreatlas.analysis.risk import risk_table
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.errors import CoreAtlasError, LimitError, RequestError
from coreatlas.io.hazard_file import locate_listed, read_hazard_file
from coreatlas.io.risknet_file import read_risk_network
from coreatlas.model.hazards import ENGINES, Hazard, Hazards
from coreatlas.model.risknet import ENTITY_KINDS, RISK_MEASURES, RiskNetwork
from coreatlas.render import Chart, Rule
from coreatlas.services.executors import run_chunks, scheduler_problem
from coreatlas.services.inputs import load_map, map_provenance
from coreatlas.services.protocol import Progress, Provenance, Request, Result, content_hash, make_provenance, use_case
from coreatlas.services.requests import MapRequest

__all__ = [
    "Assumptions",
    "HazardSource",
    "MonteCarloRequest",
    "MonteCarloResult",
    "NetworkRequest",
    "RankRequest",
    "RankResult",
    "RiskRequest",
    "RiskResult",
    "hazards_of",
    "inline_or_file",
    "load_risk_network",
    "montecarlo",
    "rank",
    "records",
    "ttr",
    "tts",
]

#: Firms the ranking compares by default (every firm of the built-in maps but the largest
#: combinations), and at most: each costs two programs and a simulation on the whole firm network.
COMPARED_FIRMS = 200
MAX_COMPARED_FIRMS = 5_000
#: Work limits: simulated years of one ensemble (every year's loss is kept, per output) and
#: nodes of a generated network.
MAX_YEARS = 10_000_000
MAX_GENERATED_NODES = 1_000_000
REI_BARS = 20  # nodes in the REI chart
EXCEEDANCE_POINTS = 400  # points of the exceedance curve drawn (log-spaced ranks)
HISTOGRAM_BINS = 30  # bins of the histogram of the years with a loss


def records(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict("records")


# ---- list-valued fields given as text (the command line's "50,400,1250") --------------------
def _numbers(kind: type, hint: str, check: Callable[[Any], bool]) -> Callable[[Any], tuple]:
    """A validator: ``"a,b"`` or a list -> a tuple of ``kind``, each passing ``check``, else ``hint``."""

    def parse(value: Any) -> tuple:
        items = [v for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        try:
            parsed = tuple(kind(v) for v in items)
        except (TypeError, ValueError):
            parsed = ()
        if not parsed or not all(check(v) for v in parsed) or any(isinstance(v, bool) for v in items):
            raise ValueError(f"{hint}, not '{value}'")
        return parsed

    return parse


Tiers = Annotated[
    tuple[int, ...],
    pydantic.BeforeValidator(_numbers(int, "expected nodes per tier as positive integers, e.g. 50,400,1250", lambda n: n >= 1)),
]
Levels = Annotated[
    tuple[float, ...], pydantic.BeforeValidator(_numbers(float, "expected fractions in (0, 1), e.g. 0.95,0.99", lambda a: 0 < a < 1))
]


# ---- requests -------------------------------------------------------------------------------
class Assumptions(Request):
    """What a technology map lacks for TTR / TTS: every firm's time to recover, spare capacity, stock."""

    ttr_days: float = pydantic.Field(30.0, gt=0, description="Assumed time to recover of every firm, days.")
    spare_capacity: float = pydantic.Field(0.1, ge=0, description="Capacity above baseline output (0.1 = 10%).")
    inventory_days: float = pydantic.Field(15.0, ge=0, description="Stock held, in days of output.")


class NetworkRequest(Assumptions):
    """A multi-tier network: a folder (``network_dir``), a technology map compiled into firms with
    the assumptions (``data``), or generated (``tiers``: nodes per tier, with ``seed``)."""

    network_dir: str | None = pydantic.Field(None, description="Folder with nodes.csv and edges.csv (docs/risk.md).")
    data: str | None = pydantic.Field(None, description="A technology map (built-in name or folder), with assumed capacities.")
    tiers: Tiers | None = pydantic.Field(None, description="Generate a multi-tier network: nodes per tier, e.g. [50, 400, 1250].")
    seed: int = pydantic.Field(7, ge=0, description="Random seed of a generated network (>= 0).")

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> NetworkRequest:
        if sum(x is not None for x in (self.network_dir, self.data, self.tiers)) != 1:
            raise ValueError(
                "give exactly one network source: network_dir (a folder with nodes.csv and edges.csv), "
                "data (a technology map) or tiers (nodes per tier)"
            )
        return self


class RiskRequest(NetworkRequest):
    """TTR / TTS / REI for every node of a network (use cases ``ttr`` and ``tts``)."""

    measure: Literal[RISK_MEASURES] = pydantic.Field("units", description="units (lost units) or profit (lost units x profit).")
    top: int | None = pydantic.Field(None, ge=1, description="Keep this many rows (default: every node).")


class RankRequest(MapRequest, Assumptions):
    """Extraction sweep, single points of failure and the side-by-side ranking of one map."""

    kind: Literal[ENTITY_KINDS] | None = pydantic.Field(None, description="Keep extraction results of one kind of entity.")
    top: int | None = pydantic.Field(None, ge=1, description="Keep this many rows of the extraction and the ranking (default: all).")
    compare: int = pydantic.Field(
        COMPARED_FIRMS, ge=1, le=MAX_COMPARED_FIRMS,
        description="Firms of largest static loss compared side by side; each costs a TTR/TTS solve and a simulation.",
    )  # fmt: skip


class HazardSource(Request):
    """Hazards inline (``hazards``) or in a YAML file (``hazards_file``)."""

    hazards: Hazards = pydantic.Field(default_factory=list, description="Hazards (docs/risk.md).")
    hazards_file: str | None = pydantic.Field(None, description="A hazard file (YAML).")


def _scheduler(value: str | None) -> str | None:
    problem = scheduler_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class MonteCarloRequest(MapRequest, HazardSource):
    """Annual loss distributions of ``years`` simulated years of the hazards on a map."""

    years: int = pydantic.Field(10_000, ge=1, description="Simulated years.")
    seed: int = pydantic.Field(1, ge=0, description="Random seed (>= 0): the same seed gives the same result on any number of workers.")
    scheduler: Annotated[str | None, pydantic.AfterValidator(_scheduler)] = pydantic.Field(
        None, description="serial, processes (default: a local pool) or a Dask scheduler address, tcp://host:8786."
    )
    workers: int | None = pydantic.Field(None, ge=1, description="Local worker processes (default: the CPU count).")
    levels: Levels = pydantic.Field((0.95, 0.99), description="VaR / CVaR levels, fractions in (0, 1).")
    engine: Literal[ENGINES] = pydantic.Field("static", description="static (availability x duration) or dynamic (firm level).")


def inline_or_file(items, file: str | None, read: Callable, name: str):
    """``(items, document or None)``: the ``name`` given inline, or read from ``file`` (one, not both)."""
    if file is not None and items:
        raise RequestError(f"{name}_file: give {name} inline or a {name} file, not both", field=f"{name}_file")
    if file is not None:
        return read(file)
    if not items:
        raise RequestError(f"{name}: none given: list {name} inline or name a {name} file", field=name)
    return list(items), None


def hazards_of(source: HazardSource):
    """``(hazards, document or None)``: the request's hazards, from the file if one is named."""
    return inline_or_file(source.hazards, source.hazards_file, read_hazard_file, "hazards")


# ---- TTR / TTS ------------------------------------------------------------------------------
def _network_hash(net: RiskNetwork) -> str:
    return content_hash(np.concatenate([net.capacity, net.inventory, net.demand, net.ttr_days, net.pair_ratio]))


def load_risk_network(request: NetworkRequest) -> tuple[RiskNetwork, Provenance]:
    """The request's network and the provenance of results computed on it."""
    if request.data is not None:
        tm = load_map(request.data)
        net = firm_risk_network(firms_from_map(tm, build_propagator(tm).supply).network, spare_capacity=request.spare_capacity,
                                inventory_days=request.inventory_days, ttr_days=request.ttr_days)  # fmt: skip
        net = RiskNetwork(**{**net.__dict__, "meta": {**net.meta, "map": tm.meta.name}})
        return net, map_provenance(tm, request)
    if request.network_dir is not None:
        net, seed = read_risk_network(request.network_dir), None
    else:
        if sum(request.tiers) > MAX_GENERATED_NODES:
            raise LimitError(f"tiers: {sum(request.tiers):,} nodes asked for; a generated network has at most {MAX_GENERATED_NODES:,}",
                             field="tiers")  # fmt: skip
        net, seed = multi_tier_network(tuple(request.tiers), seed=request.seed), request.seed
    name = str(net.meta.get("network") or net.meta.get("generator") or "network")
    return net, make_provenance(name, "", _network_hash(net), request, seed)


@dataclass(frozen=True, eq=False)
class RiskResult(Result):
    """Per node: tier, country, firm, TTR, TTS, PI, REI and whether TTR exceeds TTS.

    ``to_dict()``: ``nodes`` (count), ``critical_nodes`` (TTR > TTS), ``rows`` (one per node,
    keys of :meth:`to_frame`), ``provenance``."""

    rows: pd.DataFrame
    by_rei: pd.DataFrame
    nodes: int
    critical_nodes: int
    title: str
    provenance: Provenance
    table_name: ClassVar[str] = "risk"

    def payload(self) -> dict:
        return {"nodes": self.nodes, "critical_nodes": self.critical_nodes, "rows": records(self.rows)}

    def to_frame(self) -> pd.DataFrame:
        return self.rows

    def charts(self) -> dict:
        bars = self.by_rei.head(REI_BARS)[["node", "rei", "ttr_exceeds_tts"]].assign(node=lambda f: f["node"].astype(str))
        return {"rei": Chart("bar", bars, x="rei", y="node", title=self.title, highlight="ttr_exceeds_tts", highlight_label="TTR > TTS",
                             x_title="risk exposure index (PI / largest PI); red: TTR > TTS", x_domain=(0.0, 1.05))}  # fmt: skip


def _risk(request: RiskRequest, progress: Progress, by_tts: bool) -> RiskResult:
    net, provenance = load_risk_network(request)
    table = risk_table(net, measure=request.measure, progress=progress)
    by_rei = table.to_frame()
    rows = by_rei.sort_values(["tts_days", "node"], ignore_index=True) if by_tts else by_rei
    title = f"{'TTS' if by_tts else 'TTR / TTS'} on {net.n_nodes:,} nodes"
    kept = rows if request.top is None else rows.head(request.top)
    return RiskResult(kept, by_rei, net.n_nodes, int(rows["ttr_exceeds_tts"].sum()), title, provenance)


@use_case("ttr", RiskRequest, long=True)
def ttr(request: RiskRequest, progress: Progress = None) -> RiskResult:
    """Performance impact of losing each node for its time to recover, with TTS and REI (highest REI first)."""
    return _risk(request, progress, by_tts=False)


@use_case("tts", RiskRequest, long=True)
def tts(request: RiskRequest, progress: Progress = None) -> RiskResult:
    """Time to survive of each node: how long demand is still met while it is down (shortest first)."""
    return _risk(request, progress, by_tts=True)


# ---- sweeps and rankings --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RankResult(Result):
    """Hypothetical extraction of every entity, single points of failure and the ranking table.

    ``to_dict()``: ``agreement_spearman`` (rank correlations of the static, TTR-based and dynamic
    measures), ``firms`` (of the compiled map), ``compared_firms`` (those in the ranking: the
    largest static losses), ``sweep``, ``single_points`` and ``ranking`` (rows), ``provenance``."""

    sweep: pd.DataFrame
    single_points: pd.DataFrame
    ranking: pd.DataFrame
    agreement: pd.DataFrame
    firms: int
    compared_firms: int
    provenance: Provenance
    table_name: ClassVar[str] = "extraction"

    def payload(self) -> dict:
        return {"agreement_spearman": self.agreement.round(3).to_dict(), "firms": self.firms, "compared_firms": self.compared_firms,
                "sweep": records(self.sweep), "single_points": records(self.single_points), "ranking": records(self.ranking)}  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        return self.sweep

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"extraction": self.sweep, "single_points_of_failure": self.single_points, "ranking": self.ranking}


@use_case("rank", RankRequest, long=True)
def rank(request: RankRequest, progress: Progress = None) -> RankResult:
    """Extraction sweep (highest loss first; one ``kind`` if asked), single points of failure and
    the side-by-side ranking for one map; progress counts a TTR solve and a simulation per firm."""
    tm = load_map(request.data)
    prop = build_propagator(tm, attribution=request.attribution)
    full = extraction_sweep(prop)
    ranking = ranking_table(prop, firms_from_map(tm, prop.supply), ttr_days=request.ttr_days, compare=request.compare, progress=progress,
                            spare_capacity=request.spare_capacity, inventory_days=request.inventory_days)  # fmt: skip
    sweep = full if request.kind is None else full[full["kind"] == request.kind].reset_index(drop=True)
    table = ranking.table
    if request.top is not None:
        sweep, table = sweep.head(request.top), table.head(request.top)
    return RankResult(sweep, single_points_of_failure(full), table, ranking.agreement, ranking.firms, ranking.compared,
                      map_provenance(tm, request))  # fmt: skip


# ---- Monte Carlo ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MonteCarloResult(Result):
    """Annual losses: statistics per series (total, each output, each hazard), every year's loss
    and the exceedance curve.

    ``to_dict()``: ``events`` (strikes simulated), ``years``, ``levels``, ``hazards`` (as
    simulated), ``rows`` (one per series: ``series``, ``expected_loss``, ``years``, ``var_<a>``,
    ``cvar_<a>`` per level), ``distribution`` (of the total annual loss: ``zero_years``, the
    ``histogram`` of the years with a loss as ``loss_from, loss_to, years`` bins, and
    ``exceedance`` points ``probability, loss``, log-spaced in rank), ``provenance``."""

    statistics: pd.DataFrame
    ensemble: mc.EnsembleResult
    hazards: tuple[Hazard, ...]
    levels: tuple[float, ...]
    title: str
    provenance: Provenance
    table_name: ClassVar[str] = "statistics"

    @property
    def events(self) -> int:
        return self.ensemble.events

    def payload(self) -> dict:
        return {"events": self.events, "years": int(self.ensemble.total.size), "levels": list(self.levels),
                "hazards": [h.to_dict() for h in self.hazards], "rows": records(self.statistics),
                "distribution": self.distribution()}  # fmt: skip

    def distribution(self) -> dict:
        """The total annual loss, small enough to keep with the result and draw: the count of
        years without a loss, a histogram of the others, and the exceedance curve's points."""
        total = np.asarray(self.ensemble.total, dtype=float)
        hit = total[total > 0]
        counts, edges = np.histogram(hit, bins=HISTOGRAM_BINS, range=(0.0, float(hit.max()) if hit.size else 1.0))
        bins = [{"loss_from": float(a), "loss_to": float(b), "years": int(n)} for a, b, n in zip(edges[:-1], edges[1:], counts, strict=True)]
        curve = self._exceedance_points()
        points = [{"probability": float(p), "loss": float(v)} for p, v in zip(curve["exceedance_probability"], curve["loss"], strict=True)]
        return {"zero_years": int(total.size - hit.size), "histogram": bins, "exceedance": points}

    def _exceedance_points(self) -> pd.DataFrame:
        curve = self.ensemble.exceedance()
        ranks = np.unique(np.geomspace(1, max(len(curve), 1), EXCEEDANCE_POINTS).round().astype(int)) - 1
        return curve.iloc[ranks].reset_index(drop=True) if len(curve) else curve

    def to_frame(self) -> pd.DataFrame:
        return self.statistics

    def annual_losses(self) -> pd.DataFrame:
        result = self.ensemble
        frame = pd.DataFrame(result.by_output, columns=[f"output:{o}" for o in result.output_ids])
        frame.insert(0, "total", result.total)
        frame.insert(0, "year", range(len(frame)))
        return frame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"statistics": self.statistics, "annual_losses": self.annual_losses()}

    def charts(self) -> dict:
        total = self.statistics.iloc[0]
        marks = [(f"VaR {a:g}", total[f"var_{a:g}"]) for a in self.levels] + [(f"CVaR {a:g}", total[f"cvar_{a:g}"]) for a in self.levels]
        return {"exceedance": Chart("line", self._exceedance_points(), x="exceedance_probability", y="loss",
                                    title=self.title, x_title="annual exceedance probability",
                                    y_title="annual loss (share of a year's output)", x_scale="log",
                                    rules=tuple(Rule(f"{label} {value:.3g}", float(value)) for label, value in marks))}  # fmt: skip


def checked_hazards(prop, source: HazardSource) -> list[Hazard]:
    """The source's hazards, their targets checked against the map (errors located in a file)."""
    hazards, doc = hazards_of(source)
    try:
        mc.check_targets(prop, hazards)
    except CoreAtlasError as exc:
        raise (locate_listed(doc, exc, "hazards") if doc is not None else exc) from None
    return hazards


@use_case("montecarlo", MonteCarloRequest, long=True)
def montecarlo(request: MonteCarloRequest, progress: Progress = None) -> MonteCarloResult:
    """Simulate ``years`` years of the hazards with the static or the dynamic engine; progress
    counts chunks of :data:`~coreatlas.analysis.montecarlo.CHUNK_YEARS` years."""
    if request.years > MAX_YEARS:
        raise LimitError(f"years: {request.years:,} asked for; an ensemble simulates at most {MAX_YEARS:,} years", field="years")
    tm = load_map(request.data)
    prop = build_propagator(tm, attribution=request.attribution)
    hazards = checked_hazards(prop, request)
    model = mc.ensemble_model(prop, hazards, request.engine)
    task = functools.partial(mc.simulate_chunk, model, hazards, request.years, request.seed)
    chunks = run_chunks(task, mc.chunk_count(request.years), scheduler=request.scheduler, workers=request.workers, progress=progress)
    result = mc.combine(model, hazards, chunks, request.seed)
    title = f"{request.data}: annual loss, {request.years:,} years"
    return MonteCarloResult(result.statistics(request.levels), result, tuple(hazards), request.levels, title,
                            map_provenance(tm, request, request.seed))  # fmt: skip
