"""Static propagation of a disruption through a technology map.

For a scenario with country factors ``f_c`` and firm factors ``g_k`` (1 = untouched,
0 = gone), a node's **direct availability** is what its remaining providers supply,
relative to the baseline:

    d_j = sum_a s_a f_{c(a)} g_{k(a)} / sum_a s_a        over the supply atoms a of j

(1 for a node with no providers of its own). Its **availability** is limited by its
scarcest required input (Leontief: inputs are complements) and by its variants:

    x_j = min(d_j, min_{i in uses(j)} x_i, V_j)

where ``V_j`` combines the availabilities of the variants of ``j``: their
market-size-weighted mean (``variants="pool"``: variants add up to the parent's
capacity) or their minimum (``variants="all"``: every variant is needed). A region
(e.g. EUR) keeps the largest factor of its members unless it is named itself, so it is
lost only when all its members are. ``x`` is computed in one pass over the
topological levels of the ``uses``/``variant_of`` graph, for many scenarios at once.

The availability is a capacity bound in the spirit of the supply-constrained
input–output model (Miller & Blair 2009, ch. 12; the static limit of ARIO with no
inventories, Hallegatte 2008): it is monotone in the shock and lies in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coreatlas.analysis.graph import size_weights, topological_levels
from coreatlas.analysis.supply import UNATTRIBUTED, Supply, build_supply
from coreatlas.model.scenario import Scenario
from coreatlas.model.techmap import TechMap

__all__ = ["Propagator", "ScenarioResult", "VARIANT_RULES", "run_scenario", "run_scenarios"]

VARIANT_RULES = ("pool", "all")


@dataclass(frozen=True, eq=False)
class Level:
    """Nodes of one topological level and their incoming edges, sorted by node."""

    nodes: np.ndarray
    input_starts: np.ndarray
    input_nodes: np.ndarray
    input_sources: np.ndarray
    variant_parents: np.ndarray
    variant_children: np.ndarray
    variant_weights: np.ndarray


def _edge_arrays(tm: TechMap) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    uses = tm.edges("uses")
    variants = tm.edges("variant_of")
    index = tm.node_index
    consumer = uses["node_id"].map(index).to_numpy(dtype=np.int64)
    needed = uses["target_id"].map(index).to_numpy(dtype=np.int64)
    child = variants["node_id"].map(index).to_numpy(dtype=np.int64)
    parent = variants["target_id"].map(index).to_numpy(dtype=np.int64)
    return consumer, needed, parent, child


def _levels(tm: TechMap) -> list[Level]:
    consumer, needed, parent, child = _edge_arrays(tm)
    level = topological_levels(len(tm.nodes), np.concatenate([needed, child]), np.concatenate([consumer, parent]))
    weights = size_weights(tm.nodes["market_size_usd"].to_numpy(dtype=float)[child], parent, len(tm.nodes))
    levels = []
    for depth in range(1, int(level.max(initial=0)) + 1):
        nodes = np.flatnonzero(level == depth)
        in_level = level[consumer] == depth
        order = np.argsort(consumer[in_level], kind="stable")
        cons, need = consumer[in_level][order], needed[in_level][order]
        starts = np.flatnonzero(np.r_[True, cons[1:] != cons[:-1]]) if cons.size else np.zeros(0, dtype=np.int64)
        v = level[parent] == depth
        levels.append(Level(nodes, starts, cons[starts] if cons.size else cons, need, parent[v], child[v], weights[v]))
    return levels


class Propagator:
    """Precomputed structure of one map, to run many scenarios fast.

    ``Propagator(tm).availability(country_factors, firm_factors)`` returns an
    ``(n_nodes, n_scenarios)`` array; factors are ``(n_codes, n_scenarios)`` and
    ``(n_firms, n_scenarios)`` arrays over ``supply.codes`` and ``supply.firms``.
    """

    def __init__(self, tm: TechMap, *, attribution: str = "hq", variants: str = "pool"):
        if variants not in VARIANT_RULES:
            msg = f"variants must be one of {VARIANT_RULES}, not '{variants}'"
            raise ValueError(msg)
        self.tm = tm
        self.variants = variants
        self.supply: Supply = build_supply(tm, attribution)
        s = self.supply
        self._atoms = sp.csr_matrix((s.atom_share, (s.atom_node, np.arange(len(s.atom_share)))), shape=(s.n_nodes, len(s.atom_share)))
        self._totals = s.node_totals()
        self._levels = _levels(tm)
        self.needs = _needs(tm)  # node -> inputs and variants, for explaining results
        self._code_index = {c: i for i, c in enumerate(s.codes)}
        self._firm_index = {f: i for i, f in enumerate(s.firms)}

    def direct(self, country_factors: np.ndarray, firm_factors: np.ndarray) -> np.ndarray:
        s = self.supply
        firm_part = np.vstack([firm_factors, np.ones((1, firm_factors.shape[1]))])[s.atom_firm]
        atom_factor = country_factors[s.atom_code] * firm_part
        # Sum losses, not what is kept, so an untouched node stays at exactly 1.
        lost = self._atoms @ (1.0 - atom_factor)
        totals = self._totals[:, None]
        return 1.0 - np.divide(lost, totals, out=np.zeros_like(lost), where=totals > 0)

    def availability(self, country_factors: np.ndarray, firm_factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(direct, available)`` per node and scenario."""
        direct = self.direct(country_factors, firm_factors)
        available = direct.copy()
        for level in self._levels:
            self._apply_level(level, available)
        return direct, np.clip(available, 0.0, 1.0)

    def _apply_level(self, level: Level, available: np.ndarray) -> None:
        if level.input_nodes.size:
            limits = np.minimum.reduceat(available[level.input_sources], level.input_starts, axis=0)
            available[level.input_nodes] = np.minimum(available[level.input_nodes], limits)
        if level.variant_parents.size:
            combined = self._combine_variants(level, available)
            parents = np.unique(level.variant_parents)
            available[parents] = np.minimum(available[parents], combined[parents])

    def _combine_variants(self, level: Level, available: np.ndarray) -> np.ndarray:
        values = available[level.variant_children]
        combined = np.full_like(available, np.inf)
        if self.variants == "pool":
            weighted = sp.csr_matrix(
                (level.variant_weights, (level.variant_parents, np.arange(len(level.variant_children)))),
                shape=(available.shape[0], len(level.variant_children)),
            )
            pooled = 1.0 - weighted @ (1.0 - values)  # exactly 1 when no variant lost anything
            parents = np.unique(level.variant_parents)
            combined[parents] = pooled[parents]
        else:
            np.minimum.at(combined, level.variant_parents, values)
        return combined

    # ---- scenarios as factors ---------------------------------------------------------------
    def factors(self, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
        """Country and firm factors (1-d) for one scenario."""
        country = _country_factors(self.tm, self.supply.codes, scenario)
        firm = np.ones(len(self.supply.firms))
        for firm_id in scenario.remove_firms:
            if firm_id in self._firm_index:
                firm[self._firm_index[firm_id]] = 0.0
        for key, value in scenario.capacity.items():
            if key in self._firm_index:
                firm[self._firm_index[key]] = min(firm[self._firm_index[key]], float(value))
        return country, firm

    def run(self, scenarios: Sequence[Scenario]) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.factors(s) for s in scenarios]
        countries = np.column_stack([p[0] for p in pairs]) if pairs else np.ones((len(self.supply.codes), 0))
        firms = np.column_stack([p[1] for p in pairs]) if pairs else np.ones((len(self.supply.firms), 0))
        return self.availability(countries, firms)


def _inside(code: str, members: set[str], regions: dict[str, frozenset[str]]) -> bool:
    if code in members:
        return True
    region = regions.get(code)
    return bool(region) and region <= members


def _country_factors(tm: TechMap, codes: tuple[str, ...], scenario: Scenario) -> np.ndarray:
    """Factor per code: 1 untouched, 0 gone; a region follows its best member unless named."""
    explicit = {code: 0.0 for code in scenario.remove_countries}
    for code, value in scenario.capacity.items():
        if code not in tm.provider_rows.index or tm.provider_rows.at[code, "type"] != "firm":
            explicit[code] = min(explicit.get(code, 1.0), float(value))
    factor = {code: explicit.get(code, 1.0) for code in codes}
    regions = tm.region_members
    for region, members in regions.items():
        if members:
            from_members = max(explicit.get(m, 1.0) for m in members)
            factor[region] = min(from_members, explicit.get(region, 1.0))
    excluded = set()
    if scenario.only_bloc is not None:
        keep = set(scenario.only_bloc)
        excluded |= {code for code in codes if not _inside(code, keep, regions)}
    if scenario.export_control is not None:
        deny = set(scenario.export_control.denied_by) - {scenario.export_control.target}
        excluded |= {code for code in codes if _inside(code, deny, regions)}
    return np.array([0.0 if c in excluded else factor[c] for c in codes])


@dataclass(frozen=True)
class ScenarioResult:
    """Availability of every node under one scenario; ``to_frame()`` gives a table."""

    scenario: Scenario
    records: tuple[dict, ...]
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.records))
        frame.insert(0, "scenario", self.scenario.name)
        frame["binding"] = frame["binding"].map(lambda b: " <- ".join(step["node_id"] for step in b) if b else "")
        return frame

    def to_records(self) -> list[dict]:
        return list(self.records)

    def outputs(self) -> list[dict]:
        return [r for r in self.records if r["kind"] == "output"]


def _binding_path(tm: TechMap, trace: Trace, node: int) -> list[dict]:
    """Follow the binding constraint from ``node`` back to the providers that were cut.

    At each step the node's own providers bind if its direct availability equals its
    availability; otherwise the scarcest of its inputs and variants (ties by node id).
    """
    path = []
    while trace.available[node] < 1.0 - 1e-12:
        node_id = tm.node_ids[node]
        step = {"node_id": node_id, "node_name": tm.node_names[node_id], "available": float(trace.available[node])}
        path.append(step)
        if trace.direct[node] <= trace.available[node] + 1e-12:
            step["lost_providers"] = _lost_providers(tm, trace, node)
            break
        needs = trace.needs.get(node, ())
        if not needs:
            break
        node = min(needs, key=lambda i: (trace.available[i], tm.node_ids[i]))
    return path


@dataclass(frozen=True, eq=False)
class Trace:
    """One scenario's per-node and per-atom numbers, for explaining a result."""

    supply: Supply
    atom_factor: np.ndarray
    direct: np.ndarray
    available: np.ndarray
    needs: dict[int, list[int]]


def _needs(tm: TechMap) -> dict[int, list[int]]:
    consumer, needed, parent, child = _edge_arrays(tm)
    needs: dict[int, list[int]] = {}
    for a, b in zip(np.concatenate([consumer, parent]), np.concatenate([needed, child]), strict=True):
        needs.setdefault(int(a), []).append(int(b))
    return needs


def _lost_providers(tm: TechMap, trace: Trace, node: int) -> list[dict]:
    s = trace.supply
    atoms = np.flatnonzero(s.atom_node == node)
    total = s.atom_share[atoms].sum()
    names = tm.provider_rows["name"]
    lost = []
    for a in atoms[trace.atom_factor[atoms] < 1.0]:
        who = s.firms[s.atom_firm[a]] if s.atom_firm[a] >= 0 else s.codes[s.atom_code[a]]
        share = float(s.atom_share[a] * (1 - trace.atom_factor[a]) / total)
        lost.append({"provider": who, "provider_name": str(names.get(who, who)), "country": s.codes[s.atom_code[a]], "share_lost": share})
    return sorted(lost, key=lambda d: -d["share_lost"])


def _warnings(prop: Propagator, scenario: Scenario) -> list[str]:
    known = set(prop.supply.codes)
    notes = [f"{code} provides nothing in this map" for code in scenario.remove_countries if code not in known]
    if scenario.only_bloc is not None or scenario.export_control is not None:
        for region, members in prop.tm.region_members.items():
            notes.append(
                f"{region} is a region overlapping its member states; it counts as inside a bloc only if the bloc names it or all {len(members)} members"
            )
    if scenario.only_bloc is not None and any(c in prop.tm.residual_codes or c == UNATTRIBUTED for c in prop.supply.codes):
        notes.append("residual shares ('Various countries', unattributed) count as outside the bloc")
    return notes


def run_scenario(
    tm: TechMap, scenario: Scenario, *, attribution: str = "hq", variants: str = "pool", propagator: Propagator | None = None
) -> ScenarioResult:
    """Availability of every node of ``tm`` under ``scenario``, with binding paths for outputs."""
    prop = propagator or Propagator(tm, attribution=attribution, variants=variants)
    country, firm = prop.factors(scenario)
    direct, available = prop.availability(country[:, None], firm[:, None])
    s = prop.supply
    atom_factor = country[s.atom_code] * np.r_[firm, 1.0][s.atom_firm]
    trace = Trace(s, atom_factor, direct[:, 0], available[:, 0], prop.needs)
    cut_estimates = (s.atom_estimated & (atom_factor < 1)).astype(float)
    estimated = np.bincount(s.atom_node, weights=cut_estimates, minlength=s.n_nodes) > 0
    kinds = tm.nodes["kind"].to_numpy()
    records = tuple(
        {
            "node_id": node_id,
            "node_name": tm.node_names[node_id],
            "kind": kinds[i],
            "direct": float(trace.direct[i]),
            "available": float(trace.available[i]),
            "estimated": bool(estimated[i]),
            "binding": _binding_path(tm, trace, i) if kinds[i] == "output" else [],
        }
        for i, node_id in enumerate(tm.node_ids)
    )
    return ScenarioResult(scenario, records, tuple(_warnings(prop, scenario)))


def run_scenarios(tm: TechMap, scenarios: Sequence[Scenario], *, attribution: str = "hq", variants: str = "pool") -> pd.DataFrame:
    """Availability of every node under each scenario: a nodes x scenarios frame."""
    prop = Propagator(tm, attribution=attribution, variants=variants)
    _, available = prop.run(scenarios)
    return pd.DataFrame(available, index=pd.Index(tm.node_ids, name="node_id"), columns=[s.name for s in scenarios])
