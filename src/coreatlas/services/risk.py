"""Risk ranking and resilience planning: TTR/TTS tables, sweeps and rankings, Monte Carlo
ensembles; every result carries a provenance record so any figure can be reproduced."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas import __version__
from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.firm_compile import firms_from_map
from coreatlas.analysis.propagate import Propagator
from coreatlas.analysis.ranking import extraction_sweep, firm_risk_network, ranking_table, single_points_of_failure
from coreatlas.analysis.risk import RiskTable, risk_table
from coreatlas.analysis.synthetic import multi_tier_network
from coreatlas.errors import ValidationError
from coreatlas.io.hazard_file import read_hazards
from coreatlas.io.risknet_file import read_risk_network
from coreatlas.model.risknet import RiskNetwork
from coreatlas.model.techmap import TechMap
from coreatlas.services.core import load_map
from coreatlas.services.executors import run_chunks

__all__ = ["Provenance", "ensemble", "load_risk_network", "provenance", "rank", "ttr_tts"]


def map_hash(tm: TechMap) -> str:
    """SHA-256 of the map's tables (content, not file names): equal maps hash equal."""
    digest = hashlib.sha256()
    for frame in (tm.nodes, tm.providers, tm.provision, tm.relations):
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """What a result was computed from: enough to compute it again."""

    dataset: str
    version: str
    content_hash: str
    parameters: dict = field(default_factory=dict)
    seed: int | None = None
    software: str = f"coreatlas {__version__}"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def provenance(source, parameters: dict, seed: int | None = None) -> Provenance:
    if isinstance(source, TechMap):
        return Provenance(source.meta.name, str(source.meta.version), map_hash(source), parameters, seed)
    net: RiskNetwork = source
    digest = hashlib.sha256(np.concatenate([net.capacity, net.inventory, net.demand, net.ttr_days, net.pair_ratio]).tobytes()).hexdigest()[
        :16
    ]
    return Provenance(str(net.meta.get("network") or net.meta.get("generator") or "network"), "", digest, parameters, seed)


# ---- TTR / TTS ---------------------------------------------------------------------------
def load_risk_network(
    network: str | Path | None = None, data: str | None = None, generate: tuple[int, ...] | None = None, seed: int = 7, **assumptions
) -> RiskNetwork:
    """A network from a folder (nodes.csv, edges.csv), a technology map (with assumed
    capacities, stocks and TTR: ``assumptions``), or generated (nodes per tier)."""
    given = sum(x is not None for x in (network, data, generate))
    if given != 1:
        raise ValidationError("give exactly one of --network DIR, --data MAP or --generate N,N,N (nodes per tier)")
    if network is not None:
        return read_risk_network(network)
    if generate is not None:
        return multi_tier_network(tuple(generate), seed=seed)
    tm = load_map(data)
    net = firm_risk_network(firms_from_map(tm, Propagator(tm).supply).network, **assumptions)
    return RiskNetwork(**{**net.__dict__, "meta": {**net.meta, "map": tm.meta.name}})


@dataclass(frozen=True, eq=False)
class RiskReport:
    table: RiskTable
    provenance: Provenance

    def to_frame(self) -> pd.DataFrame:
        return self.table.to_frame()


def ttr_tts(net: RiskNetwork, *, measure: str = "units", tts: bool = True, progress=None, parameters: dict | None = None) -> RiskReport:
    """PI at each node's TTR, TTS, REI and the TTR > TTS flag for every node."""
    table = risk_table(net, measure=measure, tts=tts, progress=progress)
    return RiskReport(table, provenance(net, {"measure": measure, **(parameters or {})}))


# ---- sweeps and rankings -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RankReport:
    sweep: pd.DataFrame
    single_points: pd.DataFrame
    ranking: pd.DataFrame
    agreement: pd.DataFrame
    provenance: Provenance


def rank(data: str, *, ttr_days: float = 30.0, spare_capacity: float = 0.1, inventory_days: float = 15.0, progress=None) -> RankReport:
    """Extraction sweep, single points of failure and the side-by-side ranking for one map."""
    tm = load_map(data)
    prop = Propagator(tm)
    sweep = extraction_sweep(prop)
    compiled = firms_from_map(tm, prop.supply)
    ranking = ranking_table(
        prop, compiled, ttr_days=ttr_days, progress=progress, spare_capacity=spare_capacity, inventory_days=inventory_days
    )
    params = {"ttr_days": ttr_days, "spare_capacity": spare_capacity, "inventory_days": inventory_days}
    return RankReport(sweep, single_points_of_failure(sweep), ranking.table, ranking.agreement, provenance(tm, params))


def rank_steps(data: str) -> int:
    """Progress steps of :func:`rank`: a TTR solve and a simulation per firm of the compiled map."""
    tm = load_map(data)
    return 2 * firms_from_map(tm, Propagator(tm).supply).network.n_firms


# ---- Monte Carlo --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class EnsembleReport:
    result: mc.EnsembleResult
    hazards: list
    provenance: Provenance

    def statistics(self, levels=(0.95, 0.99)) -> pd.DataFrame:
        return self.result.statistics(levels)


def ensemble(
    data: str,
    hazards_file: Path | str,
    *,
    years: int = 10_000,
    seed: int = 1,
    scheduler: str | None = None,
    workers: int | None = None,
    engine: str = "static",
    progress=None,
) -> EnsembleReport:
    """Simulate ``years`` years of the hazards on the map with the static or the dynamic engine."""
    if years < 1:
        raise ValidationError("--years must be at least 1")
    tm = load_map(data)
    hazards = read_hazards(hazards_file)
    model = mc.ensemble_model(Propagator(tm), hazards, engine)
    task = functools.partial(mc.simulate_chunk, model, hazards, years, seed)
    chunks = run_chunks(task, mc.chunk_count(years), scheduler=scheduler, workers=workers, progress=progress)
    params = {"years": years, "hazards": [h.name for h in hazards], "hazards_file": str(hazards_file), "engine": engine}
    return EnsembleReport(mc.combine(model, hazards, chunks, seed), hazards, provenance(tm, params, seed))
