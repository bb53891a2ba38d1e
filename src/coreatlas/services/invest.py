"""The investment optimiser on a map: which measures a budget should buy, and which
commitment pays for each (docs/risk.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.analysis import invest as opt
from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.exposure import chokepoints, exposure
from coreatlas.analysis.measures import Measure, savings
from coreatlas.analysis.propagate import Propagator
from coreatlas.errors import ValidationError
from coreatlas.io.hazard_file import read_hazards
from coreatlas.io.measure_file import read_measures
from coreatlas.model.techmap import TechMap
from coreatlas.services.core import load_map
from coreatlas.services.risk import Provenance, provenance

__all__ = ["InvestmentPlan", "invest", "share_target_plan"]


@dataclass(frozen=True, eq=False)
class InvestmentPlan:
    """The chosen measures with their cost, saving and paying commitment, and the totals."""

    measures: pd.DataFrame
    summary: dict
    provenance: Provenance


def _sampled_years(hazards, years: int, seed: int) -> pd.DataFrame:
    """Events of ``years`` years, chunked and seeded exactly as the Monte Carlo command."""
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
        raise ValidationError(f"unknown commitment(s) {', '.join(missing)}; `coreatlas indicators --data {tm.meta.name}` lists the ledger")
    rows = known.loc[named]
    if (rows["currency"] != "USD").any():
        raise ValidationError(
            f"commitments {', '.join(rows.index[rows['currency'] != 'USD'])} are not in USD; CoRe Atlas makes no currency conversion"
        )
    groups = np.array([named.index(m.commitment) if m.commitment else -1 for m in measures])
    return groups, rows["amount"].to_numpy(dtype=float), rows.reset_index()


def invest(
    data: str, measures_file: Path | str, hazards_file: Path | str, *, budget: float | None = None, years: int = 2000,
    seed: int = 1, objective: str = "expected", alpha: float = 0.95, progress=None,
) -> InvestmentPlan:  # fmt: skip
    """Choose measures within ``budget`` (default: the commitments they name) minimising the
    expected annual loss or its CVaR over a seeded hazard ensemble."""
    tm = load_map(data)
    measures, hazards = read_measures(measures_file), read_hazards(hazards_file)
    groups, caps, ledger = _commitment_caps(tm, measures)
    if budget is None:
        if caps is None:
            raise ValidationError("give --budget (USD), or name commitments in the measures file to take their amounts as the budget")
        budget = float(caps.sum())
    model = mc.ensemble_model(Propagator(tm), hazards)
    events = _sampled_years(hazards, years, seed)
    base, saving = savings(model, hazards, events, measures)
    if progress is not None:
        progress(1)
    base_year = _by_year(base, events["year"].to_numpy(), years)
    saving_year = np.maximum(_by_year(saving, events["year"].to_numpy(), years), 0.0)  # a measure that hurts is not bought for it
    cost = np.array([m.cost_usd for m in measures])
    plan = opt.optimise(base_year, saving_year, cost, budget, objective=objective, alpha=alpha, groups=groups, group_caps=caps)
    step = max(budget * 0.1, 1.0)
    marginal = opt.marginal_value(
        base_year, saving_year, cost, budget, step, objective=objective, alpha=alpha, groups=groups, group_caps=caps
    )
    table = _plan_table(measures, plan.chosen, saving_year.mean(axis=0), ledger)
    summary = {
        "budget_usd": budget, "cost_usd": plan.cost, "objective": objective, "alpha": alpha, "status": plan.status,
        "expected_loss_before": float(base_year.mean()), "expected_loss_after": plan.expected_loss_after,
        f"cvar_{alpha:g}_before": opt.cvar(base_year, None, alpha), f"cvar_{alpha:g}_after": plan.cvar_after,
        "marginal_loss_avoided_per_usd": marginal, "years": years,
    }  # fmt: skip
    params = {
        "measures_file": str(measures_file),
        "hazards_file": str(hazards_file),
        "years": years,
        "objective": objective,
        "alpha": alpha,
        "budget_usd": budget,
    }
    return InvestmentPlan(table, summary, provenance(tm, params, seed))


def _plan_table(measures: list[Measure], chosen: np.ndarray, mean_saving: np.ndarray, ledger: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame([m.__dict__ for m in measures])
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
        raise ValidationError(
            f"the {bloc} share cannot reach {target:.0%} at {', '.join(short)} even with every measure; add measures there"
        )


def share_target_plan(
    data: str, measures_file: Path | str, *, bloc: str = "core", target: float = 0.5, threshold: float = 0.9
) -> InvestmentPlan:
    """Cheapest measures bringing the bloc's share of every chokepoint (a node where one country
    holds at least ``threshold``) to ``target`` or more."""
    tm = load_map(data)
    measures = read_measures(measures_file)
    codes = tm.resolve_bloc(bloc)
    nodes = sorted({c.node_id for c in chokepoints(tm, threshold)})
    if not nodes:
        raise ValidationError(f"no chokepoints at threshold {threshold} in {tm.meta.name}")
    records = {r["node_id"]: r for r in exposure(tm, codes).records}
    base = np.array([records[n]["bloc_share"] or 0.0 for n in nodes])
    gain = np.array(
        [
            [m.added_share if m.node == n and m.kind in ("capacity", "second_source") and m.country in codes else 0.0 for m in measures]
            for n in nodes
        ]
    )
    _check_reachable(nodes, base, gain, target, bloc)
    plan = opt.cheapest_plan(base, gain, np.array([m.cost_usd for m in measures]), target)
    frame = pd.DataFrame([m.__dict__ for m in measures]).assign(chosen=plan.chosen)
    shares = zip(nodes, plan.share_before, plan.share_after, strict=True)
    points = [{"node": n, "share_before": float(b), "share_after": float(a)} for n, b, a in shares]
    summary = {"bloc": bloc, "target": target, "cost_usd": plan.cost, "status": plan.status, "chokepoints": points}
    return InvestmentPlan(
        frame.sort_values("chosen", ascending=False, ignore_index=True),
        summary,
        provenance(tm, {"bloc": bloc, "target": target, "threshold": threshold}),
    )
