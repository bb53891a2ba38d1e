"""Sweeps and rankings: hypothetical extraction, single points of failure, and one table
that puts the static, TTR-based and dynamic measures side by side.

* **Hypothetical extraction** (Dietzenbacher et al. 1993, adapted to maps): remove one
  entity — a node, a firm, a country or a region — and measure what the ultimate outputs
  lose in the static engine, ``loss = sum_o w_o (1 - available_o)`` with weights ``w_o``
  by market size (equal where unknown). All extractions run as one batch.
* **Single points of failure**: entities whose removal alone leaves some ultimate output
  with nothing (static availability 0); on a multi-tier network, nodes that every way of
  making a product passes through — dominators in the AND (materials) / OR (alternative
  suppliers) sense, computed for every node at once by boolean propagation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coreatlas.analysis.dynamics import DynamicsParams, run
from coreatlas.analysis.firm_compile import MapFirms
from coreatlas.analysis.graph import size_weights
from coreatlas.analysis.propagate import Propagator
from coreatlas.analysis.risk import risk_table
from coreatlas.model.firms import FirmNetwork, Shocks
from coreatlas.model.risknet import ENTITY_KINDS, RiskNetwork, risk_network

__all__ = ["ENTITY_KINDS", "extraction_sweep", "firm_risk_network", "ranking_table", "single_points_of_failure", "structural_dominators"]


def output_weights(prop: Propagator) -> tuple[np.ndarray, np.ndarray]:
    """Ultimate outputs (kind ``output``, else nodes nothing uses) and their weights (sum 1)."""
    tm = prop.tm
    outputs = np.array([tm.node_index[o] for o in tm.outputs], dtype=np.int64)
    if outputs.size == 0:
        used = pd.concat([tm.edges(r) for r in ("uses", "bundles", "variant_of")])["target_id"].map(tm.node_index)
        outputs = np.setdiff1d(np.arange(len(tm.nodes)), used.to_numpy(dtype=np.int64))
    sizes = tm.nodes["market_size_usd"].to_numpy(dtype=float)[outputs]
    return outputs, size_weights(sizes, np.zeros(outputs.size, dtype=np.int64), 1)


def _entities(prop: Propagator, kinds) -> pd.DataFrame:
    """One row per entity to extract: kind, id and, per kind, which atoms it removes."""
    s, tm = prop.supply, prop.tm
    rows = []
    if "node" in kinds:
        rows += [("node", n) for n in np.asarray(s.node_ids)[np.unique(s.atom_node)]]
    if "firm" in kinds:
        rows += [("firm", f) for f in s.firms]
    if "country" in kinds:
        rows += [("country", c) for c in s.codes if c not in tm.residual_codes and c not in tm.region_members]
    if "region" in kinds:
        rows += [("region", r) for r, members in tm.region_members.items() if members]
    return pd.DataFrame(rows, columns=["kind", "id"])


def _removal_matrix(prop: Propagator, entities: pd.DataFrame) -> np.ndarray:
    """``(atoms, entities)`` factors: 0 where the entity's extraction removes the atom."""
    s, tm = prop.supply, prop.tm
    atom_node_id = np.asarray(s.node_ids, dtype=object)[s.atom_node]
    atom_code = np.asarray(s.codes, dtype=object)[s.atom_code]
    atom_firm = np.asarray([*s.firms, None], dtype=object)[s.atom_firm]
    hit = np.zeros((len(s.atom_share), len(entities)), dtype=bool)
    for kind, labels in (("node", atom_node_id), ("firm", atom_firm), ("country", atom_code)):
        chosen = np.flatnonzero(entities["kind"].to_numpy() == kind)
        hit[:, chosen] = labels[:, None] == entities["id"].to_numpy()[chosen][None, :]
    for j in np.flatnonzero(entities["kind"].to_numpy() == "region"):
        hit[:, j] = np.isin(atom_code, list(tm.with_regions((entities["id"].iat[j],), members_of_named=True)))
    return np.where(hit, 0.0, 1.0)


def extraction_sweep(prop: Propagator, kinds=ENTITY_KINDS) -> pd.DataFrame:
    """Output loss when each node, firm, country or region is removed (one batched run)."""
    entities = _entities(prop, kinds)
    s = prop.supply
    count = len(entities)
    evaluation = prop.evaluate_atoms(_removal_matrix(prop, entities))
    outputs, weights = output_weights(prop)
    lost = 1.0 - evaluation.available[outputs]
    frame = entities.copy()
    frame["output_loss"] = weights @ lost if outputs.size else 0.0
    frame["outputs_cut_off"] = (lost >= 1.0 - 1e-12).sum(axis=0) if outputs.size else 0
    worst = lost.argmax(axis=0) if outputs.size else np.zeros(count, dtype=int)
    frame["worst_output"] = np.asarray(s.node_ids, dtype=object)[outputs][worst] if outputs.size else None
    frame["worst_output_loss"] = lost.max(axis=0) if outputs.size else 0.0
    return frame.sort_values(["output_loss", "kind", "id"], ascending=[False, True, True], ignore_index=True)


def single_points_of_failure(sweep: pd.DataFrame) -> pd.DataFrame:
    """Entities whose removal alone cuts some ultimate output off entirely."""
    return sweep[sweep["outputs_cut_off"] > 0].reset_index(drop=True)


def structural_dominators(net: RiskNetwork) -> np.ndarray:
    """``(n, n)`` bool: ``[r, j]`` is True when removing node ``r`` makes node ``j`` impossible
    to supply (a material with no remaining supplier, recursively); capacities are ignored."""
    n = net.n_nodes
    to_pair = sp.csr_matrix((np.ones(net.n_edges), (np.arange(net.n_edges), net.pair)), shape=(net.n_edges, net.pair_dst.size))
    pair_to_node = sp.csr_matrix((np.ones(net.pair_dst.size), (np.arange(net.pair_dst.size), net.pair_dst)), shape=(net.pair_dst.size, n))
    needed = np.asarray(pair_to_node.sum(axis=0)).ravel()
    alive = ~np.eye(n, dtype=bool)
    for _ in range(n):  # converges in (depth of the network) rounds
        supplied = (sp.csr_matrix(alive[:, net.src].astype(float)) @ to_pair).toarray() > 0
        ok = (sp.csr_matrix(supplied.astype(float)) @ pair_to_node).toarray() >= needed - 0.5
        nxt = alive & ok
        if np.array_equal(nxt, alive):
            break
        alive = nxt
    return ~alive


def firm_risk_network(
    net: FirmNetwork, *, spare_capacity: float = 0.1, inventory_days: float = 15.0, ttr_days: float = 30.0
) -> RiskNetwork:
    """A firm network as a TTR/TTS network: materials are the suppliers' sectors, ratios
    ``A_{i,s} / P_ini_i``, capacity ``(1 + spare) P_ini``, stock ``inventory_days x P_ini``."""
    base = net.baseline_output
    pool_of_link = np.repeat(np.arange(net.pool_flow.size), np.diff(net.pool_start))
    ratio = (net.pool_flow / base[net.pool_client])[pool_of_link]
    return risk_network(
        np.asarray(net.firm_ids, dtype=object), base * (1 + spare_capacity), base * inventory_days, net.final_demand,
        np.full(net.n_firms, float(ttr_days)), net.supplier, net.client, net.sector[net.supplier], ratio,
        country=np.asarray(net.region_names, dtype=object)[net.region], meta=dict(net.meta),
    )  # fmt: skip


def _dynamic_losses(net: FirmNetwork, ttr_days: np.ndarray, after_days: int, progress) -> np.ndarray:
    """Total production loss when each firm is down for its TTR (then back), over TTR + after;
    ``progress(done, n_firms)`` after each run."""
    losses = np.zeros(net.n_firms)
    params = DynamicsParams()
    for firm in range(net.n_firms):  # one simulation per firm: a sweep of runs, not a hot path
        days = int(ttr_days[firm])
        result = run(net, Shocks.of([firm], 1.0, 0, days), days + after_days, params)
        losses[firm] = result.losses().total
        if progress is not None:
            progress(firm + 1, net.n_firms)
    return losses


@dataclass(frozen=True, eq=False)
class Ranking:
    table: pd.DataFrame
    agreement: pd.DataFrame


def ranking_table(
    prop: Propagator, compiled: MapFirms, *, ttr_days: float = 30.0, after_days: int = 60, progress: Callable | None = None, **assumptions
) -> Ranking:
    """Per firm of a compiled map (a provider at a node): static extraction loss, PI / TTS /
    REI at ``ttr_days``, and the dynamic engine's loss; ranks and their Spearman agreement.
    ``progress(done, total)``: a TTR solve, then a simulation, per firm (``total`` twice the firms)."""
    net = compiled.network
    atoms = compiled.firm_atom  # -1: a node's stand-in firm
    factors = np.ones((len(prop.supply.atom_share), net.n_firms))
    real = np.flatnonzero(atoms >= 0)
    factors[atoms[real], real] = 0.0
    evaluation = prop.evaluate_atoms(factors)
    outputs, weights = output_weights(prop)
    static = weights @ (1.0 - evaluation.available[outputs])
    static[atoms < 0] = np.nan  # a node's stand-in firm (no provider data) has no share to extract
    total = 2 * net.n_firms
    step = (lambda offset: lambda done, _: progress(offset + done, total)) if progress is not None else (lambda offset: None)  # noqa: E731
    risk = risk_table(firm_risk_network(net, ttr_days=ttr_days, **assumptions), progress=step(0))
    dynamic = _dynamic_losses(net, risk.net.ttr_days, after_days, step(net.n_firms))
    table = pd.DataFrame(
        {"firm": net.firm_ids, "region": risk.net.country, "static_loss": static, "pi": risk.pi, "rei": risk.rei,
         "tts_days": risk.tts_days, "ttr_exceeds_tts": risk.critical, "dynamic_loss": dynamic}
    )  # fmt: skip
    for column in ("static_loss", "pi", "dynamic_loss"):
        table[f"rank_{column}"] = table[column].rank(ascending=False, method="min", na_option="bottom").astype(int)
    ranks = table[["rank_static_loss", "rank_pi", "rank_dynamic_loss"]]
    return Ranking(table.sort_values(["rank_pi", "rank_static_loss"], ignore_index=True), ranks.corr(method="spearman"))
