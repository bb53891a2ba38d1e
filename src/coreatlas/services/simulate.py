"""Dynamic simulations: a firm network (files, a folder, a technology map plus a scenario,
or a generated network) run through the Inoue–Todo engine, with losses, tables and a chart.

Use cases:

- ``simulate`` (:class:`SimulationRequest` -> :class:`SimulationRun`, long work: progress
  in days). A result folder holds ``totals.csv`` (day -1, the baseline, first),
  ``losses_by_sector.csv``, ``losses_by_region.csv``, ``summary.json``, ``totals.png`` with
  ``totals.vl.json`` and, with ``firm_series``, ``production_by_firm.parquet``.
- ``generate`` (:class:`GenerateRequest` -> :class:`GenerateResult`): a synthetic network
  written as a network folder (``links.parquet``, ``firms.parquet``) that ``simulate``
  reads as ``network_dir``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pydantic

from coreatlas._version import __version__
from coreatlas.analysis.dynamics import SimulationResult, firm_observer, run
from coreatlas.errors import CoreAtlasError, LimitError, RequestError, ScenarioError
from coreatlas.io import firmdata
from coreatlas.model.dynamics import DynamicsParams
from coreatlas.model.firms import DEGREE_MODELS, FirmNetwork, Shocks
from coreatlas.model.scenario import Scenario
from coreatlas.render import Chart, Rule
from coreatlas.services.inputs import ScenarioSource, load_map, map_provenance, scenarios_of
from coreatlas.services.protocol import Progress, Provenance, Request, Result, content_hash, make_provenance, use_case
from coreatlas.services.requests import Attribution
from coreatlas.services.save import check_out

__all__ = [
    "FILE_FIELDS",
    "SOURCE_FIELDS",
    "TOTALS_COLUMNS",
    "GenerateRequest",
    "GenerateResult",
    "NetworkSpec",
    "NoNetworkError",
    "SimulationRequest",
    "SimulationRun",
    "generate",
    "network_summary",
    "simulate",
    "source_of",
    "totals_chart",
]

TOTALS_COLUMNS = ["day", "production", "value_added", "final_consumption"]
SERIES = (("production", "gross production"), ("value_added", "value added"), ("final_consumption", "final consumption delivered"))
#: The request fields of each kind of network source (exactly one kind is given).
SOURCE_FIELDS = {"files": ("links", "final_demand", "sectors"), "network_dir": ("network_dir",), "data": ("data",),
                 "generated": ("generated",)}  # fmt: skip
FILE_FIELDS = ("links", "final_demand", "sectors", "shocks")
TOP = 10  # sectors and regions listed in the summary (the tables list all)
#: The most days one simulation may run (a century).
MAX_DAYS = 36_500
#: The most daily values a run may record (8 bytes each: 2 GB), sectors, regions and firms counted.
MAX_RECORDED_VALUES = 250_000_000
#: The largest network that may be generated (about 5 GB while it is drawn).
MAX_GENERATED_FIRMS = 10_000_000
MAX_GENERATED_LINKS = 20_000_000


# ---- requests ------------------------------------------------------------------------------
class NetworkSpec(Request):
    """A synthetic production network (:func:`coreatlas.analysis.synthetic.scale_free_network`)."""

    firms: int = pydantic.Field(10_000, ge=2, description="Number of firms.")
    links: int = pydantic.Field(50_000, ge=1, description="Number of links.")
    sectors: int = pydantic.Field(100, ge=1, description="Number of sectors (assigned at random).")
    regions: int = pydantic.Field(47, ge=1, description="Number of regions (assigned at random).")
    degrees: Literal[DEGREE_MODELS] = pydantic.Field("scale-free", description="Power-law (scale-free) or Poisson (Erdős–Rényi) degrees.")
    out_exponent: float = pydantic.Field(1.3, gt=0, description="Pareto tail exponent of out-degrees (suppliers).")
    in_exponent: float = pydantic.Field(1.3, gt=0, description="Pareto tail exponent of in-degrees (clients).")
    seed: int = pydantic.Field(12345, ge=0, description="Random seed (0 or more): the same seed gives the same network.")

    @pydantic.field_validator("links")
    @classmethod
    def _links_fit(cls, links: int, info: pydantic.ValidationInfo) -> int:
        firms = info.data.get("firms")
        if firms is not None and links > firms * (firms - 1):
            raise ValueError(f"links is {links}; expected at most firms x (firms - 1) = {firms * (firms - 1)}")
        return links

    def build(self) -> FirmNetwork:
        """The network; a size past :data:`MAX_GENERATED_FIRMS` or :data:`MAX_GENERATED_LINKS` is a LimitError."""
        for name, value, limit in (("firms", self.firms, MAX_GENERATED_FIRMS), ("links", self.links, MAX_GENERATED_LINKS)):
            if value > limit:
                raise LimitError(f"{name} is {value:,}; the limit of a generated network is {limit:,} {name}", field=name)
        from coreatlas.analysis.synthetic import scale_free_network  # noqa: PLC0415 - scipy.sparse.linalg, for generated networks only

        return scale_free_network(
            self.firms, self.links, n_sectors=self.sectors, n_regions=self.regions, degrees=self.degrees,
            out_exponent=self.out_exponent, in_exponent=self.in_exponent, seed=self.seed,
        )  # fmt: skip


class GenerateRequest(NetworkSpec):
    """A synthetic network, written to the network folder ``out`` (None: not written)."""

    out: str | None = pydantic.Field("coreatlas-network", description="Network folder to write (links.parquet, firms.parquet).")
    force: bool = pydantic.Field(False, description="Replace a non-empty folder that is not a network folder.")


class SimulationRequest(ScenarioSource):
    """A simulation: exactly one network source, the days, the model's parameters.

    Sources: files (``links`` and ``final_demand``, optional ``sectors``), a network folder
    (``network_dir``), a technology map (``data``) with one scenario (``scenarios`` inline,
    or ``scenario_file`` and ``scenario_name``) whose lost capacity becomes the shock from
    ``shock_day``, or a ``generated`` network. ``shocks`` (a shocks file) goes with every
    source but a map. ``firm_series`` also records every firm's daily production.
    """

    links: str | None = pydantic.Field(None, description="Links file: supplier client amount (.txt reference format, .csv, .parquet).")
    final_demand: str | None = pydantic.Field(None, description="Final demand file: firm amount.")
    sectors: str | None = pydantic.Field(None, description="Sectors file: firm sector [region]; inputs substitute within a sector.")
    shocks: str | None = pydantic.Field(None, description="Shocks file: firm capacity_loss [start_day [end_day]].")
    network_dir: str | None = pydantic.Field(None, description="Network folder (links.parquet, firms.parquet).")
    data: str | None = pydantic.Field(None, min_length=1, description="Technology map: built-in name, folder or a+b.")
    attribution: Attribution = pydantic.Field("hq", description="With data: firms count for their headquarters (hq) or site.")
    shock_day: int = pydantic.Field(0, ge=0, description="With data: day the scenario's shock starts.")
    input_share: float = pydantic.Field(0.5, description="With data: share of each node's output spent on inputs, in (0, 1).")
    generated: NetworkSpec | None = pydantic.Field(None, description="A generated network.")
    days: int = pydantic.Field(30, ge=0, description=f"Days to simulate (days 0..days-1), at most {MAX_DAYS:,}.")
    params: DynamicsParams = pydantic.Field(default_factory=DynamicsParams)
    firm_series: bool = pydantic.Field(False, description="Also record every firm's daily production.")

    @pydantic.field_validator("input_share")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError(f"input_share is {value}; expected a fraction between 0 and 1")
        return value


class NoNetworkError(RequestError):
    """A simulation request names no network source."""


# ---- results -------------------------------------------------------------------------------
def _shock_summary(shocks: Shocks) -> dict:
    if not len(shocks):
        return {"firms": 0}
    return {
        "firms": int(np.unique(shocks.firm).size),
        "mean_capacity_loss": float(shocks.capacity_loss.mean()),
        "first_day": int(shocks.start_day.min()),
        "last_day": int(shocks.start_day.max()),
    }


def network_summary(network: FirmNetwork) -> dict:
    return {
        "firms": network.n_firms,
        "links": network.n_links,
        "sectors": len(network.sector_names),
        "regions": len(network.region_names),
        "negative_value_added_firms": int((network.value_added_ratio < 0).sum()),
    }


@dataclass(frozen=True, eq=False)
class SimulationRun(Result):
    """One run with what it ran on: ``title`` names it, ``inputs`` says where data came from.

    ``to_dict()``: ``title, inputs, network, shocks, days, params, losses`` (production and
    value added), ``losses_by_sector`` and ``losses_by_region`` (the 10 largest), ``totals`` (the
    daily totals as records, day -1 first: what the server keeps and the web page charts), ``software``
    and ``provenance``. ``to_frame()``: the daily totals ``day, production, value_added,
    final_consumption``, day -1 (the baseline) first — ``totals.csv`` of the result folder.
    """

    result: SimulationResult
    network: FirmNetwork
    shocks: Shocks
    title: str
    inputs: dict
    provenance: Provenance
    firm_series: bool = False
    table_name = "totals"

    def payload(self) -> dict:
        r = self.result
        return {
            "title": self.title,
            "inputs": self.inputs,
            "network": network_summary(self.network),
            "shocks": _shock_summary(self.shocks),
            "days": int(r.days[-1] + 1),
            "params": r.params.to_dict(),
            "losses": {m: r.losses(m).to_dict() for m in ("production", "value_added")},
            "losses_by_sector": r.losses_by("sector").head(TOP).to_dict("records"),
            "losses_by_region": r.losses_by("region").head(TOP).to_dict("records"),
            "totals": self.to_frame().to_dict("records"),
            "software": {"coreatlas": __version__},
        }

    def to_frame(self) -> pd.DataFrame:
        return self.result.to_frame()[TOTALS_COLUMNS]

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"totals": self.to_frame(), **{f"losses_by_{by}": self.result.losses_by(by) for by in ("sector", "region")}}
        if self.firm_series and "production_by_firm" in self.result.series:
            tables["production_by_firm.parquet"] = self.result.frame("production_by_firm").rename(columns=str)
        return tables

    def charts(self) -> dict[str, Chart]:
        return {"totals": totals_chart(self.to_frame(), self.title, self.result.losses().recovery_day)}


def totals_chart(totals: pd.DataFrame, title: str, recovery_day: int | None = None) -> Chart:
    """The three daily totals as a percentage of their baseline (day -1); a rule at the recovery day."""
    parts = []
    for column, label in SERIES:
        base = totals[column].iloc[0]
        if base:
            parts.append(pd.DataFrame({"day": totals["day"], "series": label, "percent_of_baseline": 100.0 * totals[column] / base}))
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["day", "series", "percent_of_baseline"])
    rules = (Rule("recovery day", float(recovery_day), "x"),) if recovery_day is not None else ()
    return Chart("line", data, x="day", y="percent_of_baseline", series="series", title=title, x_title="day", y_title="% of baseline",
                 rules=rules)  # fmt: skip


@dataclass(frozen=True, eq=False)
class GenerateResult(Result):
    """A generated network. ``to_dict()``: ``out`` (the folder written, or None), ``network``
    (its size), ``spec`` (what was asked) and ``provenance``. ``to_frame()``: its links
    (``supplier, client, amount``). Saved as a folder it is a network folder
    (``links.parquet``, ``firms.parquet``) that ``simulate`` reads."""

    network: FirmNetwork
    spec: dict
    out: str | None
    provenance: Provenance
    table_name = "links"

    def payload(self) -> dict:
        return {"out": self.out, "network": network_summary(self.network), "spec": self.spec}

    def to_frame(self) -> pd.DataFrame:
        return firmdata.network_tables(self.network)["links"]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f"{name}.parquet": frame for name, frame in firmdata.network_tables(self.network).items()}


# ---- the use cases -------------------------------------------------------------------------
def _network_hash(network: FirmNetwork, shocks: Shocks) -> str:
    return content_hash(network.supplier, network.client, network.flow, network.final_demand, network.sector, network.region,
                        shocks.firm, shocks.capacity_loss, shocks.start_day, shocks.end_day)  # fmt: skip


@contextlib.contextmanager
def _about(field_name: str):
    """Errors reading the file or folder of request field ``field_name`` name that field."""
    try:
        yield
    except CoreAtlasError as exc:
        exc.field = exc.field or field_name
        raise


def source_of(request: SimulationRequest) -> str:
    """Which network source ``request`` gives (a key of :data:`SOURCE_FIELDS`); exactly one."""
    given = [kind for kind, names in SOURCE_FIELDS.items() if any(getattr(request, n) is not None for n in names)]
    if not given:
        raise NoNetworkError("no network given: name a network folder (network_dir), links and final_demand files (sectors optional), "
                             "a technology map (data) with a scenario, or a generated network", field="network_dir")  # fmt: skip
    if len(given) > 1:
        second = next(n for n in SOURCE_FIELDS[given[1]] if getattr(request, n) is not None)
        raise RequestError(f"{second}: give one network source, not {given[0]} and {given[1]}", field=second)
    if given[0] == "files" and (request.links is None or request.final_demand is None):
        missing = "links" if request.links is None else "final_demand"
        raise RequestError(f"{missing}: a network from files needs links and final_demand", field=missing)
    if given[0] != "data" and (request.scenarios or request.scenario_file or request.scenario_name):
        raise RequestError("data: a scenario runs on a technology map; name one", field="data")
    if given[0] == "data" and request.shocks is not None:
        raise RequestError("shocks: on a technology map the scenario is the shock; give no shocks file", field="shocks")
    return given[0]


def _read_network(request: SimulationRequest, kind: str) -> tuple[FirmNetwork, dict]:
    if kind == "network_dir":
        with _about("network_dir"):
            return firmdata.read_network(request.network_dir), {"network": request.network_dir}
    if kind == "generated":
        with _about("generated"):
            return request.generated.build(), {"generated": request.generated.to_dict()}
    files = {name: getattr(request, name) for name in ("links", "final_demand", "sectors") if getattr(request, name) is not None}
    tables = {}
    for name, path in files.items():
        with _about(name):
            tables[name] = firmdata.read_firm_table(path, name)
    with _about("links"):
        network = firmdata.network_from_tables(tables["links"], tables["final_demand"], tables.get("sectors"), meta=dict(files), sources=files)
    return network, dict(files)


def _on_network(request: SimulationRequest, kind: str) -> tuple[FirmNetwork, Shocks, str, dict, Provenance]:
    """Network, shocks, title, inputs and provenance of a run on files, a folder or a generated network."""
    network, inputs = _read_network(request, kind)
    shocks = Shocks.none()
    if request.shocks is not None:
        with _about("shocks"):
            shocks = firmdata.read_shocks(request.shocks, network)
        inputs["shocks"] = request.shocks
    source = request.network_dir or request.links or f"a generated network (seed {request.generated.seed})"
    seed = request.generated.seed if kind == "generated" else request.params.seed
    provenance = make_provenance(str(source), "", _network_hash(network, shocks), request, seed)
    return network, shocks, f"simulation on {source}", inputs, provenance


def _one_scenario(tm, request: SimulationRequest) -> Scenario:
    scenarios = scenarios_of(tm, request)
    if len(scenarios) > 1:
        names = ", ".join(s.name for s in scenarios)
        if request.scenario_file is not None:
            raise ScenarioError(f"scenario_name: {request.scenario_file} has {len(scenarios)} scenarios ({names}); choose one",
                                field="scenario_name")  # fmt: skip
        raise ScenarioError(f"scenarios: {len(scenarios)} scenarios given ({names}); a simulation runs one", field="scenarios")
    return scenarios[0]


def _on_map(request: SimulationRequest) -> tuple[FirmNetwork, Shocks, str, dict, Provenance]:
    """Compile the map into firms; the scenario's lost capacity per provider (as the static
    engine computes it) becomes each firm's capacity loss from ``shock_day``."""
    # the static engine and the map compiler (scipy.sparse.linalg) are loaded for maps only: a
    # run on a million-firm network from files does not wait for them
    from coreatlas.analysis.firm_compile import firms_from_map, map_capacity_loss  # noqa: PLC0415
    from coreatlas.analysis.propagate import build_propagator  # noqa: PLC0415

    tm = load_map(request.data)
    scenario = _one_scenario(tm, request)
    propagator = build_propagator(tm, attribution=request.attribution)
    compiled = firms_from_map(tm, propagator.supply, request.input_share)
    loss = map_capacity_loss(compiled, propagator.run_evaluation([scenario]).atom_factor[:, 0])
    hit = np.flatnonzero(loss > 0)
    shocks = Shocks.of(hit, loss[hit], request.shock_day)
    inputs = {"data": request.data, "dataset_version": tm.meta.version, "scenario": scenario.name,
              "scenario_summary": scenario.summary(), "input_share": request.input_share}  # fmt: skip
    provenance = map_provenance(tm, request, request.params.seed)
    return compiled.network, shocks, f"{tm.meta.name}: {scenario.name}", inputs, provenance


def _check_days(days: int) -> None:
    if days > MAX_DAYS:
        raise LimitError(f"days is {days:,}; the limit is {MAX_DAYS:,} days (a century)", field="days")


def _check_recorded(request: SimulationRequest, network: FirmNetwork) -> None:
    """What the observers keep grows with days x (sectors + regions [+ firms]): refuse it past the limit."""
    per_day = 5 + 2 * (len(network.sector_names) + len(network.region_names)) + (network.n_firms if request.firm_series else 0)
    if (request.days + 1) * per_day > MAX_RECORDED_VALUES:
        most = MAX_RECORDED_VALUES // per_day - 1
        raise LimitError(f"days is {request.days:,}; on this network ({per_day:,} values a day) the limit of "
                         f"{MAX_RECORDED_VALUES:,} recorded values allows {most:,} days", field="days")  # fmt: skip


@use_case("simulate", SimulationRequest, long=True)
def simulate(request: SimulationRequest, progress: Progress = None) -> SimulationRun:
    """Run the engine on the request's network for ``days`` days; ``progress(done, days)`` each day."""
    kind = source_of(request)
    _check_days(request.days)
    network, shocks, title, inputs, provenance = _on_map(request) if kind == "data" else _on_network(request, kind)
    _check_recorded(request, network)
    observers = [firm_observer(None)] if request.firm_series else []
    result = run(network, shocks, request.days, request.params, observers=observers, progress=progress)
    return SimulationRun(result, network, shocks, title, inputs, provenance, request.firm_series)


@use_case("generate", GenerateRequest)
def generate(request: GenerateRequest, progress: Progress = None) -> GenerateResult:
    """Generate a network; with ``out``, write it as a network folder, swapped in whole."""
    if request.out is not None:
        check_out(request.out, (), force=True)  # writable, a folder path: found before the network is drawn
    network = request.build()
    if request.out is not None:
        with _about("out"):
            firmdata.write_network(network, request.out, force=request.force)
    spec = {k: v for k, v in request.to_dict().items() if k not in ("out", "force")}
    provenance = make_provenance("generated network", "", _network_hash(network, Shocks.none()), request, request.seed)
    return GenerateResult(network, spec, request.out, provenance)
