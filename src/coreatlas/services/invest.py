"""The investment optimiser on a map (use case ``invest``): which measures a budget should buy
to minimise the loss over a hazard ensemble, and which commitment pays for each; or, with a
``target``, the cheapest plan lifting the bloc's share of every chokepoint (docs/risk.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import pydantic

from coreatlas.analysis import invest as opt
from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.exposure import chokepoints, exposure
from coreatlas.analysis.measures import savings
from coreatlas.analysis.propagate import build_propagator
from coreatlas.errors import CoreAtlasError, RequestError
from coreatlas.io.hazard_file import locate_listed
from coreatlas.io.measure_file import read_measure_file
from coreatlas.model.measures import OBJECTIVES, Measure, Measures
from coreatlas.model.techmap import TechMap
from coreatlas.services.inputs import load_map, map_provenance
from coreatlas.services.protocol import Progress, Provenance, Result, use_case
from coreatlas.services.requests import MapRequest
from coreatlas.services.risk import HazardSource, checked_hazards, inline_or_file, records

__all__ = ["InvestRequest", "InvestResult", "invest"]


class InvestRequest(MapRequest, HazardSource):
    """Measures (inline or in a file) and either hazards (minimise the loss over their seeded
    ensemble within ``budget``) or a ``target`` bloc share for every chokepoint."""

    measures: Measures = pydantic.Field(default_factory=list, description="Candidate measures (docs/risk.md).")
    measures_file: str | None = pydantic.Field(None, description="A measure file (YAML).")
    budget: float | None = pydantic.Field(
        None, ge=0, allow_inf_nan=False, description="Budget in USD, a finite amount (default: the commitments the measures name)."
    )
    objective: Literal[OBJECTIVES] = pydantic.Field("expected", description="expected (annual loss) or cvar (expected shortfall at alpha).")
    alpha: float = pydantic.Field(0.95, ge=0, lt=1, description="CVaR level.")
    years: int = pydantic.Field(2000, ge=1, description="Simulated years of the ensemble.")
    seed: int = pydantic.Field(1, ge=0, description="Random seed of the ensemble (>= 0).")
    target: float | None = pydantic.Field(None, ge=0, le=1, description="Instead: the bloc share every chokepoint must reach.")
    bloc: str = pydantic.Field("core", min_length=1, description="With target: bloc name or country codes.")
    threshold: float = pydantic.Field(0.9, gt=0, le=1, description="With target: share of one country that makes a chokepoint.")


@dataclass(frozen=True, eq=False)
class InvestResult(Result):
    """The measures with whether each is chosen, and the plan's totals.

    ``to_dict()``: ``mode`` (``loss`` or ``target``), the totals (loss mode: ``budget_usd``,
    ``cost_usd``, ``budget_left_usd``, ``objective``, ``alpha``, ``status``, ``expected_loss_before|after``,
    ``cvar_<alpha>_before|after``, ``marginal_loss_avoided_per_usd``, ``years``; target mode:
    ``bloc``, ``target``, ``cost_usd``, ``status``, ``chokepoints``), ``rows`` (one per
    measure), ``provenance``."""

    measures: pd.DataFrame
    summary: dict
    provenance: Provenance
    table_name: ClassVar[str] = "plan"

    @property
    def by_share(self) -> bool:
        return self.summary["mode"] == "target"

    def payload(self) -> dict:
        return {**self.summary, "rows": records(self.measures)}

    def to_frame(self) -> pd.DataFrame:
        return self.measures


def _measures(tm: TechMap, request: InvestRequest) -> tuple[list[Measure], object]:
    """The request's measures, their nodes and countries checked against the map (country codes
    normalised, ``twn`` is ``TWN``); errors located in the file where one is read."""
    measures, doc = inline_or_file(request.measures, request.measures_file, read_measure_file, "measures")
    try:
        return [_checked(tm, m, f"measures[{i}]") for i, m in enumerate(measures)], doc
    except CoreAtlasError as exc:
        raise (locate_listed(doc, exc, "measures") if doc is not None else exc) from None


def _checked(tm: TechMap, m: Measure, at: str) -> Measure:
    for key in ("node", "target_node"):
        node = getattr(m, key)
        if (node or key == "node") and node not in tm.node_index:
            raise RequestError(f"{at}.{key}: measure '{m.id}': unknown node '{node}' in {tm.meta.name}", field=f"{at}.{key}")
    if not m.country:
        return m
    try:
        return m.model_copy(update={"country": tm.check_code(m.country, f"{at}.country", RequestError)})
    except RequestError as exc:
        raise RequestError(f"{at}.country: measure '{m.id}': {exc.message}", field=f"{at}.country") from None


def _sampled_years(hazards, years: int, seed: int) -> pd.DataFrame:
    """Events of ``years`` years, chunked and seeded exactly as the Monte Carlo use case."""
    frames = []
    for chunk in range(mc.chunk_count(years)):  # a few chunks of 2,000 years
        events = mc.chunk_events(hazards, years, seed, chunk)
        frames.append(events.assign(year=events["year"] + chunk * mc.CHUNK_YEARS))
    return pd.concat(frames, ignore_index=True)


def _by_year(values: np.ndarray, year: np.ndarray, years: int) -> np.ndarray:
    out = np.zeros((years, *values.shape[1:]))
    np.add.at(out, year, values)
    return out


def _commitment_caps(tm: TechMap, measures: list[Measure]) -> tuple[np.ndarray | None, np.ndarray | None, pd.DataFrame]:
    """Group index per measure (-1 none) and the USD amount of each commitment named."""
    ledger = tm.annex["commitments"]
    named = sorted({m.commitment for m in measures if m.commitment})
    if not named:
        return None, None, ledger.iloc[0:0]
    known = ledger.set_index("commitment_id")
    missing = [c for c in named if c not in known.index]
    if missing:
        raise RequestError(f"measures: unknown commitment(s) {', '.join(missing)}; the commitments ledger of {tm.meta.name} "
                           "lists the known ones", field="measures")  # fmt: skip
    rows = known.loc[named]
    if (rows["currency"] != "USD").any():
        raise RequestError(f"measures: commitments {', '.join(rows.index[rows['currency'] != 'USD'])} are not in USD; "
                           "CoRe Atlas makes no currency conversion", field="measures")  # fmt: skip
    groups = np.array([named.index(m.commitment) if m.commitment else -1 for m in measures])
    return groups, rows["amount"].to_numpy(dtype=float), rows.reset_index()


def _budget(request: InvestRequest, caps: np.ndarray | None) -> float:
    if request.budget is not None:
        return request.budget
    if caps is None:
        raise RequestError("budget: give a budget (USD), or name commitments in the measures to take their amounts as the budget",
                           field="budget")  # fmt: skip
    return float(caps.sum())


def _savings(tm: TechMap, request: InvestRequest, measures, doc, progress) -> tuple[np.ndarray, np.ndarray]:
    """``(base, saving)`` per simulated year: the loss without measures and each measure's saving alone."""
    prop = build_propagator(tm, attribution=request.attribution)
    hazards = checked_hazards(prop, request)
    events = _sampled_years(hazards, request.years, request.seed)
    try:
        base, saving = savings(mc.ensemble_model(prop, hazards), hazards, events, measures, progress=progress)
    except CoreAtlasError as exc:
        raise (locate_listed(doc, exc, "measures") if doc is not None and exc.field else exc) from None
    year = events["year"].to_numpy()
    saving_year = np.maximum(_by_year(saving, year, request.years), 0.0)  # a measure that hurts is not bought for it
    return _by_year(base, year, request.years), saving_year


def _loss_plan(tm: TechMap, request: InvestRequest, progress: Progress) -> InvestResult:
    measures, doc = _measures(tm, request)
    groups, caps, ledger = _commitment_caps(tm, measures)
    budget = _budget(request, caps)
    base_year, saving_year = _savings(tm, request, measures, doc, progress)
    cost = np.array([m.cost_usd for m in measures])
    kw = {"objective": request.objective, "alpha": request.alpha, "groups": groups, "group_caps": caps}
    plan = opt.optimise(base_year, saving_year, cost, budget, **kw)
    marginal = opt.marginal_value(base_year, saving_year, cost, budget, max(budget * 0.1, 1.0), **kw)
    a = request.alpha
    summary = {
        "mode": "loss", "budget_usd": budget, "cost_usd": plan.cost, "budget_left_usd": max(budget - plan.cost, 0.0),
        "objective": request.objective, "alpha": a, "status": plan.status,
        "expected_loss_before": float(base_year.mean()), "expected_loss_after": plan.expected_loss_after,
        f"cvar_{a:g}_before": opt.cvar(base_year, None, a), f"cvar_{a:g}_after": plan.cvar_after,
        "marginal_loss_avoided_per_usd": marginal, "years": request.years,
    }  # fmt: skip
    table = _plan_table(measures, plan.chosen, saving_year.mean(axis=0), ledger)
    return InvestResult(table, summary, map_provenance(tm, request, request.seed))


def _plan_table(measures: list[Measure], chosen: np.ndarray, mean_saving: np.ndarray, ledger: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame([m.model_dump() for m in measures])
    frame["chosen"] = chosen
    frame["expected_saving"] = mean_saving  # share of a year's output, alone
    frame["saving_per_billion_usd"] = np.divide(mean_saving, frame["cost_usd"] / 1e9, out=np.zeros(len(frame)), where=frame["cost_usd"] > 0)
    if len(ledger):
        program = ledger.set_index("commitment_id")["program"]
        frame["paid_by"] = frame["commitment"].map(program).fillna("")
    return frame.sort_values(["chosen", "saving_per_billion_usd"], ascending=[False, False], ignore_index=True)


def _check_reachable(nodes: list[str], base: np.ndarray, gain: np.ndarray, target: float, bloc: str) -> None:
    """Name the chokepoints that every measure together cannot lift to the target."""
    total = gain.sum(axis=1)
    best = (base + total) / (1 + total)
    short = [f"{n} (at most {b:.1%})" for n, b in zip(nodes, best, strict=True) if b < target - 1e-9]
    if short:
        raise RequestError(f"target: the {bloc} share cannot reach {target:.0%} at {', '.join(short)} even with every measure; "
                           "add measures there", field="target")  # fmt: skip


def _bloc(tm: TechMap, bloc: str) -> tuple[str, ...]:
    try:
        return tuple(tm.resolve_bloc(bloc))
    except CoreAtlasError as exc:
        exc.field = exc.field or "bloc"
        raise


def _share_plan(tm: TechMap, request: InvestRequest) -> InvestResult:
    """Cheapest measures bringing the bloc's share of every chokepoint (a node where one country
    holds at least ``threshold``) to ``target`` or more."""
    measures, _ = _measures(tm, request)
    codes, target = _bloc(tm, request.bloc), request.target
    nodes = sorted({c.node_id for c in chokepoints(tm, request.threshold)})
    if not nodes:
        raise RequestError(f"threshold: no chokepoints at threshold {request.threshold} in {tm.meta.name}", field="threshold")
    shares = {r["node_id"]: r for r in exposure(tm, codes).records}
    base = np.array([shares[n]["bloc_share"] or 0.0 for n in nodes])
    lifts = lambda m, n: m.node == n and m.kind in ("capacity", "second_source") and m.country in codes  # noqa: E731
    gain = np.array([[m.added_share if lifts(m, n) else 0.0 for m in measures] for n in nodes])
    _check_reachable(nodes, base, gain, target, request.bloc)
    plan = opt.cheapest_plan(base, gain, np.array([m.cost_usd for m in measures]), target)
    frame = pd.DataFrame([m.model_dump() for m in measures]).assign(chosen=plan.chosen)
    points = [{"node": n, "share_before": float(b), "share_after": float(a)}
              for n, b, a in zip(nodes, plan.share_before, plan.share_after, strict=True)]  # fmt: skip
    summary = {
        "mode": "target",
        "bloc": request.bloc,
        "target": target,
        "cost_usd": plan.cost,
        "status": plan.status,
        "chokepoints": points,
    }
    return InvestResult(frame.sort_values("chosen", ascending=False, ignore_index=True), summary, map_provenance(tm, request))


@use_case("invest", InvestRequest, long=True)
def invest(request: InvestRequest, progress: Progress = None) -> InvestResult:
    """With ``target``: the cheapest plan for bloc shares; otherwise measures within the budget
    minimising the expected annual loss or its CVaR over the seeded hazard ensemble (progress
    counts the measures valued)."""
    tm = load_map(request.data)
    if request.target is not None:
        return _share_plan(tm, request)
    if request.hazards_file is None and not request.hazards:
        raise RequestError("hazards: give hazards (inline or in a hazards file) to minimise the loss over an ensemble, "
                           "or a target share for the cheapest plan for bloc shares", field="hazards")  # fmt: skip
    return _loss_plan(tm, request, progress)
