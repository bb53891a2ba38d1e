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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coreatlas.analysis.dynamics import run
from coreatlas.analysis.firm_compile import MapFirms, firms_from_map
from coreatlas.analysis.propagate import Propagator, build_propagator
from coreatlas.analysis.ranking import output_weights
from coreatlas.analysis.uncertainty import corner_maps
from coreatlas.errors import RequestError
from coreatlas.model.firms import Shocks
from coreatlas.model.hazards import DISTRIBUTIONS, ENGINES, Distribution, Hazard

__all__ = [
    "CHUNK_YEARS",
    "DISTRIBUTIONS",
    "ENGINES",
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
        named = list(tm.with_regions(h.targets, members_of_named=True))  # a region falls with all its members, and they with it
        masks[:, k] = np.isin(codes, named) | np.isin(firms, named) | np.isin(nodes, named)
    return masks


def check_targets(prop: Propagator, hazards: list[Hazard]) -> None:
    """Every target names a country, region, firm or node of the map (error field ``hazards[k].targets``)."""
    known = set(prop.supply.codes) | set(prop.supply.firms) | set(prop.supply.node_ids) | set(prop.tm.region_members)
    for k, h in enumerate(hazards):
        unknown = [t for t in h.targets if t not in known]
        if unknown:
            field = f"hazards[{k}].targets"
            raise RequestError(f"{field}: hazard '{h.name}': unknown target(s) {', '.join(unknown)} in {prop.tm.meta.name}", field=field)


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
        raise RequestError(f"engine must be one of {', '.join(ENGINES)}, not '{engine}'", field="engine")
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
    corners = [build_propagator(tm, attribution=prop.supply.attribution, variants=prop.variants) for tm in corner_maps(prop.tm, raising)]
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
