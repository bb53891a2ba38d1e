r"""Monte Carlo ensembles of hazards: annual loss distributions, VaR and expected shortfall.

A :class:`Hazard` strikes its targets (countries, regions, firms or nodes — all together, so
an earthquake hitting a region's firms is one hazard) in a year with probability
``annual_probability``; when it strikes it removes ``depth`` of their capacity for
``duration_days`` (both drawn from :class:`Distribution`\s). Years are simulated in chunks
of fixed size, chunk ``c`` with its own random stream ``SeedSequence(seed, spawn_key=(c,))``,
so results are identical whatever the number of workers.

Static engine: each event is one column of a batched static evaluation; an output's loss
from an event is ``(1 - available) x duration / 365`` of a year's output, and the events of
one year add up (they are taken not to overlap in time). With share ranges, each event
draws ``u ~ U(0, 1)`` and mixes the two corner maps' results, ``(1 - u) low + u high``
(docs/risk.md). Loss statistics: expected loss, value at risk and expected shortfall
(CVaR; Rockafellar & Uryasev 2000) and the exceedance curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from coreatlas.analysis.dynamics import run
from coreatlas.analysis.firm_compile import MapFirms, firms_from_map
from coreatlas.analysis.propagate import Propagator
from coreatlas.analysis.ranking import output_weights
from coreatlas.analysis.uncertainty import corner_maps
from coreatlas.errors import ValidationError
from coreatlas.model.firms import Shocks

__all__ = [
    "CHUNK_YEARS",
    "Distribution",
    "EnsembleModel",
    "EnsembleResult",
    "Hazard",
    "chunk_count",
    "combine",
    "ensemble_model",
    "loss_statistics",
    "simulate_chunk",
]

CHUNK_YEARS = 2000
ENGINES = ("static", "dynamic")
DISTRIBUTIONS = {"fixed": 1, "uniform": 2, "triangular": 3, "lognormal": 2, "beta": 2}


@dataclass(frozen=True)
class Distribution:
    """``fixed(v)``, ``uniform(low, high)``, ``triangular(low, mode, high)``,
    ``lognormal(median, sigma)`` or ``beta(a, b)`` (for depths in [0, 1])."""

    kind: str
    params: tuple

    def __post_init__(self) -> None:
        if self.kind not in DISTRIBUTIONS:
            raise ValidationError(f"distribution '{self.kind}' is not one of {', '.join(DISTRIBUTIONS)}")
        if len(self.params) != DISTRIBUTIONS[self.kind]:
            raise ValidationError(f"a {self.kind} distribution takes {DISTRIBUTIONS[self.kind]} parameter(s), not {len(self.params)}")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        p = self.params
        if self.kind == "fixed":
            return np.full(size, float(p[0]))
        if self.kind == "uniform":
            return rng.uniform(p[0], p[1], size)
        if self.kind == "triangular":
            return rng.triangular(p[0], p[1], p[2], size)
        if self.kind == "lognormal":
            return float(p[0]) * np.exp(float(p[1]) * rng.standard_normal(size))
        return rng.beta(p[0], p[1], size)

    def mean(self) -> float:
        p = [float(x) for x in self.params]
        means = {"fixed": lambda: p[0], "uniform": lambda: (p[0] + p[1]) / 2, "triangular": lambda: sum(p) / 3}
        means |= {"lognormal": lambda: p[0] * np.exp(p[1] ** 2 / 2), "beta": lambda: p[0] / (p[0] + p[1])}
        return means[self.kind]()


@dataclass(frozen=True)
class Hazard:
    """A hazard striking ``targets`` (country/region codes, firm ids or node ids) together."""

    name: str
    targets: tuple[str, ...]
    annual_probability: float
    duration_days: Distribution
    depth: Distribution = field(default_factory=lambda: Distribution("fixed", (1.0,)))

    def __post_init__(self) -> None:
        if not 0.0 <= self.annual_probability <= 1.0:
            raise ValidationError(f"hazard '{self.name}': annual probability {self.annual_probability} must be in [0, 1]")
        if not self.targets:
            raise ValidationError(f"hazard '{self.name}' strikes nothing: give at least one target")


def chunk_count(years: int) -> int:
    return max(1, -(-years // CHUNK_YEARS))


def _chunk_years(years: int, chunk: int) -> int:
    return min(CHUNK_YEARS, years - chunk * CHUNK_YEARS)


def sample_events(hazards: list[Hazard], years: int, rng: np.random.Generator) -> pd.DataFrame:
    """Events of ``years`` simulated years: year (0-based in the chunk), hazard, depth, days, mix."""
    strikes = rng.random((years, len(hazards))) < np.array([h.annual_probability for h in hazards])
    year, hazard = np.nonzero(strikes)
    depth, days = np.empty(year.size), np.empty(year.size)
    for k, h in enumerate(hazards):  # a loop over hazards (a handful), each vectorised over events
        mine = hazard == k
        depth[mine] = np.clip(h.depth.sample(rng, int(mine.sum())), 0.0, 1.0)
        days[mine] = np.clip(h.duration_days.sample(rng, int(mine.sum())), 0.0, 365.0)
    return pd.DataFrame({"year": year, "hazard": hazard, "depth": depth, "days": days, "mix": rng.random(year.size)})


def hazard_masks(prop: Propagator, hazards: list[Hazard]) -> np.ndarray:
    """``(atoms, hazards)`` bool: which supply atoms each hazard strikes."""
    s, tm = prop.supply, prop.tm
    codes = np.asarray(s.codes, dtype=object)[s.atom_code]
    firms = np.asarray([*s.firms, None], dtype=object)[s.atom_firm]
    nodes = np.asarray(s.node_ids, dtype=object)[s.atom_node]
    masks = np.zeros((len(s.atom_share), len(hazards)), dtype=bool)
    for k, h in enumerate(hazards):
        named = set(h.targets)
        for region, members in tm.region_members.items():  # a region falls with all its members, and they with it
            if region in named:
                named |= set(members)
            elif members and members <= named:
                named.add(region)
        masks[:, k] = np.isin(codes, list(named)) | np.isin(firms, list(named)) | np.isin(nodes, list(named))
    return masks


def check_targets(prop: Propagator, hazards: list[Hazard]) -> None:
    known = set(prop.supply.codes) | set(prop.supply.firms) | set(prop.supply.node_ids) | set(prop.tm.region_members)
    for h in hazards:
        unknown = [t for t in h.targets if t not in known]
        if unknown:
            raise ValidationError(f"hazard '{h.name}': unknown target(s) {', '.join(unknown)} in {prop.tm.meta.name}")


@dataclass(frozen=True, eq=False)
class EnsembleModel:
    """What every chunk needs, built once: the static engine, per-hazard corner engines
    (where shares have ranges), the atoms each hazard strikes, and the outputs' weights."""

    prop: Propagator
    corners: tuple
    masks: np.ndarray
    outputs: np.ndarray
    weights: np.ndarray
    firms: MapFirms | None = None  # with engine="dynamic": the map compiled into firms
    after_days: int = 60

    @property
    def output_ids(self) -> tuple:
        return tuple(np.asarray(self.prop.supply.node_ids, dtype=object)[self.outputs])


def ensemble_model(prop: Propagator, hazards: list[Hazard], engine: str = "static", after_days: int = 60) -> EnsembleModel:
    """Check targets and precompute; with share ranges, hazard ``k``'s corners put the rows
    it strikes at their high end and the rest at their low end, then the reverse.
    ``engine="dynamic"`` runs each strike through the firm-level engine instead (central
    shares), following it for ``after_days`` after capacity is back."""
    if engine not in ENGINES:
        raise ValidationError(f"engine must be one of {', '.join(ENGINES)}, not '{engine}'")
    check_targets(prop, hazards)
    masks = hazard_masks(prop, hazards)
    corners = ()
    if prop.has_ranges:
        s = prop.supply
        corners = tuple(_corner_pair(prop, s.atom_row[masks[:, k] & (s.atom_row >= 0)], hazards[k]) for k in range(len(hazards)))
    outputs, weights = output_weights(prop)
    if engine == "dynamic":
        return EnsembleModel(prop, (), masks, outputs, weights, firms_from_map(prop.tm, prop.supply), after_days)
    return EnsembleModel(prop, corners, masks, outputs, weights)


def _corner_pair(prop: Propagator, struck_rows: np.ndarray, hazard: Hazard) -> tuple:
    """``((down, its atoms struck), (up, its atoms struck))``: corner maps have their own atoms."""
    raising = np.ones(len(prop.tm.provision), dtype=bool)
    raising[struck_rows] = False
    corners = [Propagator(tm, attribution=prop.supply.attribution, variants=prop.variants) for tm in corner_maps(prop.tm, raising)]
    return tuple((corner, hazard_masks(corner, [hazard])[:, 0]) for corner in corners)


def event_losses(model: EnsembleModel, events: pd.DataFrame, batch: int = 4096) -> np.ndarray:
    """``(events, outputs)`` share of a year's output lost to each event (static engine)."""
    losses = np.zeros((len(events), model.outputs.size))
    groups = (
        [np.arange(len(events))]
        if not model.corners
        else [np.flatnonzero(events["hazard"].to_numpy() == k) for k in range(len(model.corners))]
    )
    for k, rows in enumerate(groups):  # one group, or one per hazard when corners differ by hazard
        engines = ((model.prop, None),) if not model.corners else model.corners[k]
        for start in range(0, rows.size, batch):  # batches bound memory; each is one vectorised evaluation
            part = events.iloc[rows[start : start + batch]]
            depth = part["depth"].to_numpy()[None, :]
            struck = [model.masks[:, part["hazard"].to_numpy()] if mask is None else mask[:, None] for _, mask in engines]
            lost = [1.0 - p.evaluate_atoms(1.0 - hit * depth).available[model.outputs] for (p, _), hit in zip(engines, struck, strict=True)]
            mix = part["mix"].to_numpy()
            mixed = lost[0] if len(lost) == 1 else (1 - mix) * lost[0] + mix * lost[1]
            losses[rows[start : start + batch]] = (mixed * part["days"].to_numpy()[None, :] / 365.0).T
    return losses


def dynamic_event_losses(model: EnsembleModel, events: pd.DataFrame) -> np.ndarray:
    """``(events, outputs)`` share of a year's output lost, from the firm-level engine: the
    struck firms lose ``depth`` of capacity from day 0 until ``days``; the run continues
    ``after_days`` more, so losses from restocking and recovery are counted."""
    firms = model.firms
    net = firms.network
    sectors = {name: k for k, name in enumerate(net.sector_names)}
    columns = [sectors[node] for node in model.output_ids]
    losses = np.zeros((len(events), len(columns)))
    for k, event in enumerate(events.itertuples(index=False)):  # one simulation per strike
        struck = np.flatnonzero((firms.firm_atom >= 0) & model.masks[np.maximum(firms.firm_atom, 0), event.hazard])
        days = max(1, int(np.ceil(event.days)))
        result = run(net, Shocks.of(struck, event.depth, 0, days), days + model.after_days)
        _, produced = result.series["production_by_sector"]
        base = produced[0, columns]
        losses[k] = (base - produced[1:, columns]).sum(axis=0) / np.where(base > 0, base, 1.0) / 365.0
    return losses


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """Annual losses of one chunk: per output ``(years, outputs)`` and per hazard ``(years, hazards)``."""

    chunk: int
    by_output: np.ndarray
    by_hazard: np.ndarray
    events: int


def chunk_events(hazards: list[Hazard], years: int, seed: int, chunk: int) -> pd.DataFrame:
    """The strikes of chunk ``chunk`` (years numbered within the chunk), from its own stream
    ``SeedSequence(seed, spawn_key=(chunk,))``: the same whoever computes them."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk,)))
    return sample_events(hazards, _chunk_years(years, chunk), rng)


def simulate_chunk(model: EnsembleModel, hazards: list[Hazard], years: int, seed: int, chunk: int) -> ChunkResult:
    """Simulate chunk ``chunk`` of a ``years``-year ensemble (deterministic in ``seed, chunk``)."""
    n_years = _chunk_years(years, chunk)
    events = chunk_events(hazards, years, seed, chunk)
    losses = event_losses(model, events) if model.firms is None else dynamic_event_losses(model, events)
    weights = model.weights
    by_output = np.zeros((n_years, losses.shape[1]))
    np.add.at(by_output, events["year"].to_numpy(), losses)
    by_hazard = np.zeros((n_years, len(hazards)))
    np.add.at(by_hazard, (events["year"].to_numpy(), events["hazard"].to_numpy()), losses @ weights)
    return ChunkResult(chunk, by_output, by_hazard, len(events))


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """Annual losses over all years: ``total`` (weighted over outputs), per output and per hazard."""

    total: np.ndarray
    by_output: np.ndarray
    by_hazard: np.ndarray
    output_ids: tuple
    hazard_names: tuple
    events: int
    seed: int

    def statistics(self, levels=(0.95, 0.99)) -> pd.DataFrame:
        """One row per series (total, each output, each hazard): expected loss, VaR and CVaR."""
        series = {"total": self.total}
        series |= {f"output:{o}": self.by_output[:, i] for i, o in enumerate(self.output_ids)}
        series |= {f"hazard:{h}": self.by_hazard[:, i] for i, h in enumerate(self.hazard_names)}
        return pd.DataFrame([{"series": name, **loss_statistics(values, levels)} for name, values in series.items()])

    def exceedance(self) -> pd.DataFrame:
        """Annual loss against the probability that a year's loss is at least that large."""
        losses = np.sort(self.total)[::-1]
        return pd.DataFrame({"loss": losses, "exceedance_probability": np.arange(1, losses.size + 1) / losses.size})


def combine(model: EnsembleModel, hazards: list[Hazard], chunks: list[ChunkResult], seed: int) -> EnsembleResult:
    """Stack chunk results in chunk order (so the outcome does not depend on who ran what)."""
    chunks = sorted(chunks, key=lambda c: c.chunk)
    by_output = np.vstack([c.by_output for c in chunks])
    by_hazard = np.vstack([c.by_hazard for c in chunks])
    names = tuple(h.name for h in hazards)
    return EnsembleResult(by_output @ model.weights, by_output, by_hazard, model.output_ids, names, sum(c.events for c in chunks), seed)


def loss_statistics(losses: np.ndarray, levels=(0.95, 0.99)) -> dict:
    """Mean, VaR_a (the a-quantile, lower) and CVaR_a = E[L | L in the worst 1 - a] with the
    atom at VaR split (Rockafellar & Uryasev 2002, Acerbi & Tasche 2002)."""
    ordered = np.sort(np.asarray(losses, dtype=float))
    n = ordered.size
    out = {"expected_loss": float(ordered.mean()) if n else 0.0, "years": int(n)}
    for a in levels:
        k = int(np.ceil(a * n)) - 1 if n else 0
        var = float(ordered[max(k, 0)]) if n else 0.0
        tail = ordered[k + 1 :].sum() + var * ((k + 1) - a * n) if n else 0.0
        out[f"var_{a:g}"] = var
        out[f"cvar_{a:g}"] = float(tail / ((1 - a) * n)) if n else 0.0
    return out
