"""Trusted-vendor policies: what they cut in a map, in third countries, and in a
proprietary versus an open-interface network."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coreatlas.analysis.propagate import Propagator, ScenarioResult, run_scenario
from coreatlas.errors import NotFoundError
from coreatlas.model.policy import get_policy, policies, policy_scenario, third_country_exposure
from coreatlas.model.scenario import Scenario
from coreatlas.model.techmap import TechMap

__all__ = [
    "policy_scenario",
    "OpenRanComparison",
    "PolicyImpact",
    "bundle_counterparts",
    "list_policies",
    "open_ran_comparison",
    "policy_impact",
]


def _record(policy) -> dict:
    return {**policy.__dict__, "providers": list(policy.providers), "nodes": list(policy.nodes)}


def list_policies(tm: TechMap) -> list[dict]:
    """The dataset's policies as plain records."""
    return [_record(p) for p in policies(tm).values()]


@dataclass(frozen=True)
class PolicyImpact:
    """A policy applied to the map (``result``) and to third countries' installed base."""

    policy: dict
    result: ScenarioResult
    third_countries: pd.DataFrame

    def to_records(self) -> dict:
        return {"policy": self.policy, "outputs": self.result.outputs(), "third_countries": self.third_countries.to_dict("records")}


def policy_impact(tm: TechMap, policy_id: str, country: str | None = None) -> PolicyImpact:
    """Apply one policy: availability of every node, and the capacity that each country
    with an exposure record would have to replace (only ``country``, if given)."""
    policy = get_policy(tm, policy_id)
    if country is not None and country not in set(tm.annex["country_exposure"]["country"]):
        known = ", ".join(sorted(set(tm.annex["country_exposure"]["country"]))) or "none in this dataset"
        raise NotFoundError(f"no exposure record for country '{country}' in {tm.meta.name}; countries with records: {known}")
    result = run_scenario(tm, policy_scenario(tm, [policy_id]))
    return PolicyImpact(_record(policy), result, third_country_exposure(tm, policy, country))


def bundle_counterparts(tm: TechMap) -> list[tuple[str, str]]:
    """``(bundled, open)`` node pairs: a node that bundles components, and an output that
    ``uses`` every one of them (its open-interface counterpart)."""
    bundles = tm.edges("bundles").groupby("node_id")["target_id"].agg(frozenset)
    uses = tm.edges("uses").groupby("node_id")["target_id"].agg(frozenset)
    return [(b, u) for b, parts in bundles.items() for u, inputs in uses.items() if parts <= inputs and u != b]


@dataclass(frozen=True)
class OpenRanComparison:
    """Capacity kept by a proprietary (bundled) network and its open counterpart, per policy."""

    rows: tuple[dict, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows))

    def to_records(self) -> list[dict]:
        return list(self.rows)


def _vendors_left(prop: Propagator, atom_factor: np.ndarray, node: int) -> int:
    s = prop.supply
    atoms = (s.atom_node == node) & (s.atom_firm >= 0) & (atom_factor >= 1.0 - 1e-12)
    return int(len(set(s.atom_firm[atoms])))


def _comparison_row(tm, prop, scenario: Scenario, atom_factor: np.ndarray, pair: tuple[str, str]) -> dict:
    by_node = {r["node_id"]: r for r in run_scenario(tm, scenario, propagator=prop).records}
    bundled, open_node = pair
    parts = tm.edges("bundles").query("node_id == @bundled")["target_id"]
    index = tm.node_index
    row = {"scenario": scenario.name, "proprietary": bundled, "open": open_node}
    for label, node in (("proprietary", bundled), ("open", open_node)):
        r = by_node[node]
        row |= {f"{label}_available": r["available"], f"{label}_low": r["available_low"], f"{label}_high": r["available_high"]}
    row["open_advantage"] = row["open_available"] - row["proprietary_available"]
    row["full_stack_vendors_left"] = _vendors_left(prop, atom_factor, index[bundled])
    row["component_vendors_left"] = min(_vendors_left(prop, atom_factor, index[c]) for c in parts)
    return row


def open_ran_comparison(tm: TechMap, scenarios: list[Scenario] | None = None) -> OpenRanComparison:
    """For each proprietary/open pair of the map, the capacity each keeps under each scenario
    (default: every ``exclude`` policy of the dataset, one scenario each).

    The proprietary network keeps a vendor's share only if that vendor can still supply every
    bundled component; the open one needs each component from any remaining vendor
    (formulas in :mod:`coreatlas.analysis.propagate`)."""
    pairs = bundle_counterparts(tm)
    if not pairs:
        raise NotFoundError(f"{tm.meta.name} has no proprietary/open pair (a node that bundles components and an output that uses them)")
    if scenarios is None:
        chosen = [p for p in policies(tm).values() if p.kind == "exclude"]
        scenarios = [policy_scenario(tm, [p.policy_id], p.name) for p in chosen]
    prop = Propagator(tm)
    factors = prop.run_evaluation(scenarios).atom_factor  # one batched pass for the vendor counts
    rows = (_comparison_row(tm, prop, s, factors[:, k], pair) for pair in pairs for k, s in enumerate(scenarios))
    return OpenRanComparison(tuple(rows))
