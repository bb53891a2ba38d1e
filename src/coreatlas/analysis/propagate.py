"""Static propagation of a disruption through a technology map.

For a scenario with country factors ``f_c`` and firm factors ``g_k`` (1 = untouched,
0 = gone), a node's **direct availability** is what its remaining providers supply,
relative to the baseline:

    d_j = sum_a s_a f_{c(a)} g_{k(a)} / sum_a s_a        over the supply atoms a of j

(1 for a node with no providers of its own). Its **availability** is limited by its
scarcest required input (Leontief: inputs are complements) and by its variants:

    x_j = min(d_j, min_{i in uses(j)} x_i, V_j)

A node that **bundles** components (``j bundles c``: one vendor must supply them all, as in
a proprietary RAN) gets its direct availability from vendor stacks instead: each atom
``a`` of ``j`` keeps its share only if its vendor may still supply every component,

    d_j = sum_a s_a f_a min_{c in bundle(j)} e_{a,c} / sum_a s_a,    x_j = min(d_j, min_c L_c, ...)

where ``f_a`` is the atom's own factor, ``e_{a,c}`` is 0 if a policy excludes the vendor
at ``c`` (else 1) and ``L_c`` is the limit ``c`` inherits from its own inputs and variants
(inputs are fungible across vendors, as everywhere in this model). A node that ``uses``
the same components sources each one independently (an open RAN): ``min_c x_c``. With one
vendor mix for all components the open node is never below the bundled one:
``min_c sum_v s_v e_{v,c} >= sum_v s_v min_c e_{v,c}``.

Here ``V_j`` combines the availabilities of the variants of ``j``: their
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
from coreatlas.analysis.memo import per_map
from coreatlas.analysis.supply import UNATTRIBUTED, Supply, build_supply
from coreatlas.analysis.uncertainty import corner_maps, has_ranges, span
from coreatlas.errors import RequestError
from coreatlas.model.scenario import Scenario
from coreatlas.model.techmap import TechMap

__all__ = ["VARIANT_RULES", "Evaluation", "Propagator", "ScenarioResult", "build_propagator", "run_scenario", "run_scenarios"]

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
    bundle_nodes: np.ndarray


@dataclass(frozen=True, eq=False)
class Bundles:
    """(atom of a bundling node, bundled component) pairs, sorted by atom, for one level."""

    nodes: np.ndarray
    atoms: np.ndarray
    starts: np.ndarray
    pair_index: np.ndarray
    pair_comp: np.ndarray
    edge_starts: np.ndarray  # the bundled components of ``nodes``, grouped by node
    edge_comps: np.ndarray


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Per node and scenario: ``direct`` and ``available``; per atom: its effective factor
    (for an atom of a bundling node, what is left of its vendor's stack)."""

    direct: np.ndarray
    available: np.ndarray
    atom_factor: np.ndarray


def _edge_arrays(tm: TechMap, needs: tuple[str, ...] = ("uses", "bundles")) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consumer/needed pairs of the ``needs`` relations, and parent/child pairs of ``variant_of``."""
    uses = pd.concat([tm.edges(r) for r in needs], ignore_index=True)
    variants = tm.edges("variant_of")
    index = tm.node_index
    consumer = uses["node_id"].map(index).to_numpy(dtype=np.int64)
    needed = uses["target_id"].map(index).to_numpy(dtype=np.int64)
    child = variants["node_id"].map(index).to_numpy(dtype=np.int64)
    parent = variants["target_id"].map(index).to_numpy(dtype=np.int64)
    return consumer, needed, parent, child


def _node_levels(tm: TechMap) -> np.ndarray:
    consumer, needed, parent, child = _edge_arrays(tm)
    return topological_levels(len(tm.nodes), np.concatenate([needed, child]), np.concatenate([consumer, parent]))


def _levels(tm: TechMap) -> list[Level]:
    """Per level, the ``uses`` inputs (bundled components limit a node only through its
    vendor stacks, see :class:`Bundles`) and the variants of its nodes."""
    consumer, needed, parent, child = _edge_arrays(tm, ("uses",))
    level = _node_levels(tm)
    bundling = np.zeros(len(tm.nodes), dtype=bool)
    bundling[_edge_arrays(tm, ("bundles",))[0]] = True
    weights = size_weights(tm.nodes["market_size_usd"].to_numpy(dtype=float)[child], parent, len(tm.nodes))
    levels = []
    for depth in range(1, int(level.max(initial=0)) + 1):
        nodes = np.flatnonzero(level == depth)
        in_level = level[consumer] == depth
        order = np.argsort(consumer[in_level], kind="stable")
        cons, need = consumer[in_level][order], needed[in_level][order]
        starts = np.flatnonzero(np.r_[True, cons[1:] != cons[:-1]]) if cons.size else np.zeros(0, dtype=np.int64)
        v = level[parent] == depth
        bundles = nodes[bundling[nodes]]
        levels.append(Level(nodes, starts, cons[starts] if cons.size else cons, need, parent[v], child[v], weights[v], bundles))
    return levels


def _bundle_edges(tm: TechMap) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, component)`` of every ``bundles`` relation, sorted by owner."""
    owner, comp, _, _ = _edge_arrays(tm, ("bundles",))
    order = np.argsort(owner, kind="stable")
    return owner[order], comp[order]


def _bundle_pairs(supply: Supply, owner: np.ndarray, comp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (atom of a bundling node, bundled component) pair, sorted by atom."""
    by_node = np.argsort(supply.atom_node, kind="stable")
    counts = np.bincount(supply.atom_node, minlength=supply.n_nodes)
    first = np.cumsum(counts) - counts
    per_edge = counts[owner]
    offsets = np.arange(per_edge.sum()) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)
    pair_atom = by_node[np.repeat(first[owner], per_edge) + offsets]
    pair_comp = np.repeat(comp, per_edge)
    order = np.argsort(pair_atom, kind="stable")
    return pair_atom[order], pair_comp[order]


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    if not sorted_keys.size:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def _level_bundles(level: Level, supply: Supply, pairs: tuple[np.ndarray, np.ndarray], edges: tuple[np.ndarray, np.ndarray]) -> Bundles:
    """The bundle pairs and bundle edges of one level's bundling nodes."""
    pair_atom, pair_comp = pairs
    in_level = np.flatnonzero(np.isin(supply.atom_node[pair_atom], level.bundle_nodes))
    atoms = pair_atom[in_level]
    starts = _group_starts(atoms)
    keep = np.isin(edges[0], level.bundle_nodes)
    owner, comp = edges[0][keep], edges[1][keep]
    edge_starts = _group_starts(owner)
    return Bundles(owner[edge_starts], atoms[starts], starts, in_level, pair_comp[in_level], edge_starts, comp)


@per_map
def build_propagator(tm: TechMap, *, attribution: str = "hq", variants: str = "pool") -> Propagator:
    """The static engine of ``tm``: the one way every caller builds it. Maps are immutable, so
    the engine of a map is built once per (attribution, variants) and kept while the map lives."""
    return Propagator(tm, attribution=attribution, variants=variants)


class Propagator:
    """Precomputed structure of one map, to run many scenarios fast.

    Build it with :func:`build_propagator`. ``run_evaluation(scenarios)`` gives direct and
    propagated availability, each ``(n_nodes, n_scenarios)``; :meth:`evaluate` takes
    ``(n_codes, n_scenarios)`` and ``(n_firms, n_scenarios)`` factor arrays over
    ``supply.codes`` and ``supply.firms``, and :meth:`evaluate_atoms` a factor per supply
    atom. Node-specific exclusions come as optional per-atom and per-bundle-pair factors
    (see :meth:`exclusion_factors`).
    """

    def __init__(self, tm: TechMap, *, attribution: str = "hq", variants: str = "pool"):
        if variants not in VARIANT_RULES:
            raise RequestError(f"variants must be one of {', '.join(VARIANT_RULES)}, not '{variants}'", field="variants")
        self.tm = tm
        self.variants = variants
        self.supply: Supply = build_supply(tm, attribution)
        s = self.supply
        self._atoms = sp.csr_matrix((s.atom_share, (s.atom_node, np.arange(len(s.atom_share)))), shape=(s.n_nodes, len(s.atom_share)))
        self._totals = s.node_totals()
        self._levels = _levels(tm)
        self.levels = self._levels  # nodes by topological level, inputs before the nodes that need them
        edges = _bundle_edges(tm)
        self.pair_atom, self.pair_comp = _bundle_pairs(s, *edges)
        self._bundles = [_level_bundles(level, s, (self.pair_atom, self.pair_comp), edges) for level in self._levels]
        self.has_ranges = has_ranges(tm)
        self.needs = _needs(tm)  # node -> inputs, bundled components and variants, for explaining results
        self._code_index = {c: i for i, c in enumerate(s.codes)}
        self._firm_index = {f: i for i, f in enumerate(s.firms)}

    def atom_factors(self, country_factors: np.ndarray, firm_factors: np.ndarray, atom_extra: np.ndarray | None = None) -> np.ndarray:
        s = self.supply
        firm_part = np.vstack([firm_factors, np.ones((1, firm_factors.shape[1]))])[s.atom_firm]
        factor = country_factors[s.atom_code] * firm_part
        return factor if atom_extra is None else factor * atom_extra

    def _direct(self, atom_factor: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        atoms = self._atoms if rows is None else self._atoms[rows]
        totals = (self._totals if rows is None else self._totals[rows])[:, None]
        # Sum losses, not what is kept, so an untouched node stays at exactly 1.
        lost = atoms @ (1.0 - atom_factor)
        return 1.0 - np.divide(lost, totals, out=np.zeros_like(lost), where=totals > 0)

    def evaluate(
        self,
        country_factors: np.ndarray,
        firm_factors: np.ndarray,
        atom_extra: np.ndarray | None = None,
        pair_extra: np.ndarray | None = None,
    ) -> Evaluation:
        """Direct and propagated availability, level by level (formulas: module docstring)."""
        return self.evaluate_atoms(self.atom_factors(country_factors, firm_factors, atom_extra), pair_extra)

    def evaluate_atoms(self, atom_factor: np.ndarray, pair_extra: np.ndarray | None = None) -> Evaluation:
        """As :meth:`evaluate`, from a capacity factor per atom ``(atoms, scenarios)`` directly
        (hazards, extractions); the caller's array is not changed."""
        atom_factor = np.array(atom_factor, dtype=float)  # bundles scale it in place
        direct = self._direct(atom_factor)
        available = direct.copy()
        limit = np.ones_like(available)  # what each node inherits from its inputs and variants
        for level, bundles in zip(self._levels, self._bundles, strict=True):
            self._apply_level(level, available, limit)
            if bundles.atoms.size:
                self._apply_bundles(bundles, atom_factor, direct, available, limit, pair_extra)
        return Evaluation(direct, np.clip(available, 0.0, 1.0), atom_factor)

    def _apply_level(self, level: Level, available: np.ndarray, limit: np.ndarray) -> None:
        if level.input_nodes.size:
            limits = np.minimum.reduceat(available[level.input_sources], level.input_starts, axis=0)
            limit[level.input_nodes] = limits
            available[level.input_nodes] = np.minimum(available[level.input_nodes], limits)
        if level.variant_parents.size:
            combined = self._combine_variants(level, available)
            parents = np.unique(level.variant_parents)
            limit[parents] = np.minimum(limit[parents], combined[parents])
            available[parents] = np.minimum(available[parents], combined[parents])

    def _apply_bundles(self, b: Bundles, atom_factor, direct, available, limit, pair_extra) -> None:
        """Vendor stacks: each atom keeps ``f_a * min_c e_{a,c}`` of its share; then the
        components' inherited limits ``L_c`` bind the node as a whole."""
        if pair_extra is not None:
            allowed = np.minimum.reduceat(pair_extra[b.pair_index], b.starts, axis=0)
            atom_factor[b.atoms] = atom_factor[b.atoms] * allowed
        stacked = self._direct(atom_factor, b.nodes)
        direct[b.nodes] = stacked
        inherited = np.minimum.reduceat(limit[b.edge_comps], b.edge_starts, axis=0)
        limit[b.nodes] = np.minimum(limit[b.nodes], inherited)
        available[b.nodes] = np.minimum(available[b.nodes], np.minimum(stacked, inherited))

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

    def exclusion_factors(self, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
        """Per-atom and per-bundle-pair factors (1-d): 0 where an exclusion applies."""
        s = self.supply
        atom = np.ones(len(s.atom_share))
        pair = np.ones(len(self.pair_atom))
        node_ids = np.asarray(s.node_ids)
        for exclusion in scenario.exclusions:
            who = self._excluded_atoms(exclusion)
            at = np.ones(s.n_nodes, dtype=bool) if not exclusion.nodes else np.isin(node_ids, exclusion.nodes)
            atom[who & at[s.atom_node]] = 0.0
            pair[who[self.pair_atom] & at[self.pair_comp]] = 0.0
        return atom, pair

    def _excluded_atoms(self, exclusion) -> np.ndarray:
        """Atoms of the named firms and codes; a region counts when all its members are named."""
        s = self.supply
        named = set(exclusion.providers)
        codes = np.isin(np.asarray(s.codes, dtype=object), list(self.tm.with_regions(named)))
        firms = np.r_[np.isin(np.asarray(s.firms, dtype=object), list(named)), False]
        return codes[s.atom_code] | firms[s.atom_firm]

    def run_evaluation(self, scenarios: Sequence[Scenario]) -> Evaluation:
        scenarios = [s.checked(self.tm) for s in scenarios]
        pairs = [self.factors(s) for s in scenarios]
        countries = np.column_stack([p[0] for p in pairs]) if pairs else np.ones((len(self.supply.codes), 0))
        firms = np.column_stack([p[1] for p in pairs]) if pairs else np.ones((len(self.supply.firms), 0))
        atom_extra = pair_extra = None
        if any(s.exclusions for s in scenarios):
            extras = [self.exclusion_factors(s) for s in scenarios]
            atom_extra = np.column_stack([e[0] for e in extras])
            pair_extra = np.column_stack([e[1] for e in extras])
        return self.evaluate(countries, firms, atom_extra, pair_extra)


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
        keep = tm.with_regions(scenario.only_bloc)
        excluded |= {code for code in codes if code not in keep}
    if scenario.export_control is not None:
        deny = tm.with_regions(set(scenario.export_control.denied_by) - {scenario.export_control.target})
        excluded |= {code for code in codes if code in deny}
    return np.array([0.0 if c in excluded else factor[c] for c in codes])


@dataclass(frozen=True)
class ScenarioResult:
    """Availability of every node under one scenario; ``to_frame()`` gives a table."""

    scenario: Scenario
    records: tuple[dict, ...]
    warnings: tuple[str, ...] = ()
    output_ids: tuple[str, ...] | None = None  # the map's ultimate outputs (TechMap.outputs)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.records))
        frame.insert(0, "scenario", self.scenario.name)
        frame["binding"] = frame["binding"].map(lambda b: " <- ".join(step["node_id"] for step in b) if b else "")
        return frame

    def to_records(self) -> list[dict]:
        return list(self.records)

    def outputs(self) -> list[dict]:
        """The records of the map's ultimate outputs (:attr:`TechMap.outputs`)."""
        if self.output_ids is None:
            return [r for r in self.records if r.get("output", r["kind"] == "output")]
        ids = set(self.output_ids)
        return [r for r in self.records if r["node_id"] in ids]


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
    """One scenario's numbers, for explaining a result: per atom of ``supply`` its factor, per
    node ``direct`` and ``available`` (as :class:`Evaluation`), and ``needs`` (node -> its
    inputs, bundled components and variants)."""

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


def scenario_range(prop: Propagator, scenario: Scenario, result: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    """Low and high availability per node over the share ranges (module
    :mod:`coreatlas.analysis.uncertainty`): the rows of providers the scenario cuts push
    availability down at their high end; the other rows push it down at their low end."""
    mid = result.available[:, 0]
    if not prop.has_ranges:
        return mid, mid
    s = prop.supply
    cut_atoms = (result.atom_factor[:, 0] < 1.0) & (s.atom_row >= 0)
    cut_rows = np.zeros(len(prop.tm.provision), dtype=bool)
    cut_rows[s.atom_row[cut_atoms]] = True
    corners = []
    for tm in corner_maps(prop.tm, ~cut_rows):
        other = build_propagator(tm, attribution=s.attribution, variants=prop.variants)
        corners.append(other.run_evaluation([scenario]).available[:, 0])
    return span(mid, *corners)


def run_scenario(
    tm: TechMap, scenario: Scenario, *, attribution: str = "hq", variants: str = "pool", propagator: Propagator | None = None
) -> ScenarioResult:
    """Availability of every node of ``tm`` under ``scenario``, with binding paths for outputs.

    ``estimated`` marks a figure that rests on an assumption (:data:`ASSUMED_RULE`)."""
    prop = propagator or build_propagator(tm, attribution=attribution, variants=variants)
    scenario = scenario.checked(tm)
    result = prop.run_evaluation([scenario])
    trace = Trace(prop.supply, result.atom_factor[:, 0], result.direct[:, 0], result.available[:, 0], prop.needs)
    low, high = scenario_range(prop, scenario, result)
    estimated = assumed_nodes(prop, trace)
    kinds = tm.nodes["kind"].to_numpy()
    outputs = set(tm.outputs)
    records = tuple(
        {
            "node_id": node_id,
            "node_name": tm.node_names[node_id],
            "kind": kinds[i],
            "output": node_id in outputs,
            "direct": float(trace.direct[i]),
            "available": float(trace.available[i]),
            "available_low": float(low[i]),
            "available_high": float(high[i]),
            "estimated": bool(estimated[i]),
            "binding": _binding_path(tm, trace, i) if node_id in outputs else [],
        }
        for i, node_id in enumerate(tm.node_ids)
    )
    return ScenarioResult(scenario, records, tuple(_warnings(prop, scenario)), tuple(tm.outputs))


#: When a scenario's figure is marked ``estimated`` (assumed), in the words shown beside it.
ASSUMED_RULE = (
    "assumed: rests on an equal split, among a node's qualitative providers (no published share), of the market share "
    "the figures leave; at this node or at an input, bundled component or variant that limits it"
)


def assumed_nodes(prop: Propagator, trace: Trace, eps: float = 1e-12) -> np.ndarray:
    """Per node, whether its availability rests on an assumed split (:data:`ASSUMED_RULE`): an
    estimated atom of its own was cut, or a needed node that rests on one lost something and
    limits it (its availability is at most the node's, or it is a pooled variant)."""
    s = prop.supply
    cut = (s.atom_estimated & (trace.atom_factor < 1.0)).astype(float)
    assumed = np.bincount(s.atom_node, weights=cut, minlength=s.n_nodes) > 0
    pooled = set()
    if prop.variants == "pool":
        edges = prop.tm.edges("variant_of")
        pooled = set(zip(edges["target_id"].map(prop.tm.node_index), edges["node_id"].map(prop.tm.node_index), strict=True))
    available = trace.available
    for level in prop.levels:
        for node in level.nodes:
            if assumed[node] or available[node] >= 1.0 - eps:
                continue
            assumed[node] = any(assumed[i] and available[i] < 1.0 - eps and (available[i] <= available[node] + eps or (node, i) in pooled)
                                for i in trace.needs.get(int(node), ()))  # fmt: skip
    return assumed


def run_scenarios(tm: TechMap, scenarios: Sequence[Scenario], *, attribution: str = "hq", variants: str = "pool") -> pd.DataFrame:
    """Availability of every node under each scenario: a nodes x scenarios frame."""
    available = build_propagator(tm, attribution=attribution, variants=variants).run_evaluation(scenarios).available
    return pd.DataFrame(available, index=pd.Index(tm.node_ids, name="node_id"), columns=[s.name for s in scenarios])
