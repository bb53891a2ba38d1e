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
    """Ultimate outputs (the one rule of :attr:`TechMap.outputs`) and their weights (sum 1)."""
    tm = prop.tm
    outputs = np.array([tm.node_index[o] for o in tm.outputs], dtype=np.int64)
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


#: Bytes of one batch of dense ``(atoms or nodes, entities)`` factors: extraction sweeps run in
#: batches of columns, so memory is ``O(BATCH_BYTES + atoms + entities)``, not ``O(atoms x entities)``.
BATCH_BYTES = 32 * 2**20


def _removal_matrix(prop: Propagator, entities: pd.DataFrame) -> sp.csc_matrix:
    """``(atoms, entities)`` sparse: 1 where the entity's extraction removes the atom."""
    s, tm = prop.supply, prop.tm
    kinds, ids = entities["kind"].to_numpy(), entities["id"].to_numpy()
    labels = {"node": (s.atom_node, list(s.node_ids)), "firm": (s.atom_firm, list(s.firms)), "country": (s.atom_code, list(s.codes))}
    rows, cols = [], []
    for kind, (atom_label, names) in labels.items():
        chosen = np.flatnonzero(kinds == kind)
        where = pd.Index(names).get_indexer(ids[chosen])
        entity_of_label = np.full(len(names) + 1, -1)  # the last: an atom without this label (no firm)
        entity_of_label[where[where >= 0]] = chosen[where >= 0]
        column = entity_of_label[atom_label]
        rows.append(np.flatnonzero(column >= 0))
        cols.append(column[column >= 0])
    atom_code = np.asarray(s.codes, dtype=object)[s.atom_code]
    for j in np.flatnonzero(kinds == "region"):
        hit = np.flatnonzero(np.isin(atom_code, list(tm.with_regions((ids[j],), members_of_named=True))))
        rows.append(hit)
        cols.append(np.full(hit.size, j))
    row, col = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, int), np.zeros(0, int))
    return sp.csc_matrix((np.ones(row.size), (row, col)), shape=(len(s.atom_share), len(entities)))


def batched_output_losses(prop: Propagator, removed: sp.csc_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``removed`` (atoms x columns, 1 = the atom is gone): ``(loss, lost)``, the
    weighted loss of the ultimate outputs and the ``(outputs, columns)`` loss of each. Columns run in batches
    of at most :data:`BATCH_BYTES` of dense factors; ``lost`` itself is ``outputs x columns``."""
    outputs, weights = output_weights(prop)
    atoms, count = removed.shape
    batch = max(1, BATCH_BYTES // (8 * max(atoms, prop.supply.n_nodes, 1)))
    lost = np.zeros((outputs.size, count))
    for start in range(0, count, batch):
        factors = 1.0 - removed[:, start : start + batch].toarray()
        lost[:, start : start + batch] = 1.0 - prop.evaluate_atoms(factors).available[outputs]
    return weights @ lost, lost


def extraction_sweep(prop: Propagator, kinds=ENTITY_KINDS) -> pd.DataFrame:
    """Output loss when each node, firm, country or region is removed (batched static runs;
    time ``O(entities x (atoms + relations))``, memory ``O(outputs x entities)`` beyond the map)."""
    entities = _entities(prop, kinds)
    s = prop.supply
    outputs, _ = output_weights(prop)
    loss, lost = batched_output_losses(prop, _removal_matrix(prop, entities))
    frame = entities.copy()
    frame["output_loss"] = loss if outputs.size else 0.0
    frame["outputs_cut_off"] = (lost >= 1.0 - 1e-12).sum(axis=0) if outputs.size else 0
    worst = lost.argmax(axis=0) if outputs.size else np.zeros(len(entities), dtype=int)
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


def _dynamic_losses(net: FirmNetwork, ttr_days: np.ndarray, after_days: int, firms: np.ndarray, progress) -> np.ndarray:
    """Total production loss when each of ``firms`` is down for its TTR (then back), over TTR +
    after (NaN for the others); ``progress(done, len(firms))`` after each run."""
    losses = np.full(net.n_firms, np.nan)
    params = DynamicsParams()
    for done, firm in enumerate(firms, start=1):  # one simulation per firm: a sweep of runs, not a hot path
        days = int(ttr_days[firm])
        result = run(net, Shocks.of([int(firm)], 1.0, 0, days), days + after_days, params)
        losses[firm] = result.losses().total
        if progress is not None:
            progress(done, firms.size)
    return losses


@dataclass(frozen=True, eq=False)
class Ranking:
    table: pd.DataFrame
    agreement: pd.DataFrame
    firms: int  # firms of the compiled map; ``table`` holds the ``compared`` of them
    compared: int


def _static_losses(prop: Propagator, atoms: np.ndarray) -> np.ndarray:
    """Static output loss when each firm (its supply atom; -1: a stand-in, NaN) is extracted."""
    real = np.flatnonzero(atoms >= 0)
    removed = sp.csc_matrix((np.ones(real.size), (atoms[real], real)), shape=(len(prop.supply.atom_share), atoms.size))
    static = batched_output_losses(prop, removed)[0]
    static[atoms < 0] = np.nan  # a node's stand-in firm (no provider data) has no share to extract
    return static


def _compared(static: np.ndarray, compare: int | None) -> np.ndarray:
    """The ``compare`` firms with the largest static loss (stand-ins last), in firm order."""
    if compare is None or compare >= static.size:
        return np.arange(static.size)
    order = np.lexsort((np.arange(static.size), -np.nan_to_num(static, nan=-np.inf)))
    return np.sort(order[:compare])


def ranking_table(
    prop: Propagator, compiled: MapFirms, *, ttr_days: float = 30.0, after_days: int = 60, compare: int | None = None,
    progress: Callable | None = None, **assumptions,
) -> Ranking:  # fmt: skip
    """Per firm of a compiled map (a provider at a node): static extraction loss, PI / TTS /
    REI at ``ttr_days``, and the dynamic engine's loss; ranks and their Spearman agreement.
    The TTR programs and simulations run for the ``compare`` firms of largest static loss
    (default all): time ``O(firms x relations + compare x (LP + simulation))``.
    ``progress(done, total)``: a TTR solve, then a simulation, per compared firm (``total`` twice)."""
    net = compiled.network
    static = _static_losses(prop, compiled.firm_atom)
    chosen = _compared(static, compare)
    total = 2 * chosen.size
    step = (lambda offset: lambda done, _: progress(offset + done, total)) if progress is not None else (lambda offset: None)  # noqa: E731
    risk = risk_table(firm_risk_network(net, ttr_days=ttr_days, **assumptions), nodes=chosen, progress=step(0))
    dynamic = _dynamic_losses(net, risk.net.ttr_days, after_days, chosen, step(chosen.size))
    table = pd.DataFrame(
        {"firm": net.firm_ids, "region": risk.net.country, "static_loss": static, "pi": risk.pi, "rei": risk.rei,
         "tts_days": risk.tts_days, "ttr_exceeds_tts": risk.critical, "dynamic_loss": dynamic}
    ).iloc[chosen].reset_index(drop=True)  # fmt: skip
    for column in ("static_loss", "pi", "dynamic_loss"):
        table[f"rank_{column}"] = table[column].rank(ascending=False, method="min", na_option="bottom").astype(int)
    ranks = table[["rank_static_loss", "rank_pi", "rank_dynamic_loss"]]
    ordered = table.sort_values(["rank_pi", "rank_static_loss"], ignore_index=True)
    return Ranking(ordered, ranks.corr(method="spearman"), net.n_firms, int(chosen.size))
