"""Trusted-vendor policies: what they cut in a map, in third countries, and in a
proprietary versus an open-interface network.

Use cases (payload keys): ``policies`` (``dataset``, ``rows``: one per policy), ``policy``
(``policy``, ``outputs``, ``third_countries``, ``estimated_rule``, ``split_rule``) and ``openran`` (``rows``: one per
proprietary/open pair and scenario).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydantic

from coreatlas.analysis.propagate import ASSUMED_RULE, Propagator, ScenarioResult, build_propagator, run_scenario
from coreatlas.errors import NotFoundError
from coreatlas.model.policy import get_policy, policies, policy_scenario, third_country_exposure
from coreatlas.model.scenario import Scenario
from coreatlas.model.spec import CodeList
from coreatlas.model.techmap import TechMap
from coreatlas.services.indicators import ReportResult
from coreatlas.services.inputs import load_map, map_provenance
from coreatlas.services.protocol import Progress, Provenance, Result, use_case
from coreatlas.services.requests import MapRequest

__all__ = [
    "SPLIT_RULE",
    "OpenRanComparison",
    "OpenRanRequest",
    "OpenRanResult",
    "PoliciesRequest",
    "PoliciesResult",
    "PolicyImpact",
    "PolicyRequest",
    "PolicyResult",
    "bundle_counterparts",
    "list_policies",
    "open_ran_comparison",
    "openran",
    "policies_of",
    "policy",
    "policy_impact",
    "policy_scenario",
]

TELECOM = "telecom-ran"
#: What ``split: unknown`` in a third country's row means, in the words shown beside it.
SPLIT_RULE = ("split unknown: the record gives one share for several vendors and the policy excludes only some of them, "
              "so the share to replace lies between 0 and the record's share")  # fmt: skip


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
        return {"policy": self.policy, "outputs": self.result.outputs(), "third_countries": self.third_countries.to_dict("records"),
                "estimated_rule": ASSUMED_RULE, "split_rule": SPLIT_RULE}  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        return self.result.to_frame()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"availability": self.to_frame(), "third_countries": self.third_countries}


def policy_impact(tm: TechMap, policy_id: str, country: str | None = None) -> PolicyImpact:
    """Apply one policy: availability of every node, and the capacity that each country
    with an exposure record would have to replace (only ``country``, if given)."""
    policy = get_policy(tm, policy_id)  # the CLI's POLICY_ID argument has no flag to name
    recorded = set(tm.annex["country_exposure"]["country"])
    country = country.strip().upper() if country is not None and country not in recorded else country  # deu is DEU
    if country is not None and country not in recorded:
        known = ", ".join(sorted(recorded)) or "none in this dataset"
        raise NotFoundError(f"no exposure record for country '{country}' in {tm.meta.name}; countries with records: {known}",
                            field="country")  # fmt: skip
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


def exclusion_scenarios(tm: TechMap) -> list[Scenario]:
    """One scenario per ``exclude`` policy of the dataset, named after the policy."""
    return [policy_scenario(tm, [p.policy_id], p.name) for p in policies(tm).values() if p.kind == "exclude"]


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
        scenarios = exclusion_scenarios(tm)
    prop = build_propagator(tm)
    factors = prop.run_evaluation(scenarios).atom_factor  # one batched pass for the vendor counts
    rows = (_comparison_row(tm, prop, s, factors[:, k], pair) for pair in pairs for k, s in enumerate(scenarios))
    return OpenRanComparison(tuple(rows))


# ---- use cases -----------------------------------------------------------------------------
class PoliciesRequest(MapRequest):
    """The trusted-vendor policies of a dataset."""

    data: str = pydantic.Field(TELECOM, min_length=1, description="Built-in dataset, folder, or a+b combination.")


@dataclass(frozen=True, eq=False)
class PoliciesResult(Result):
    dataset: str
    rows: tuple[dict, ...]
    provenance: Provenance
    table_name = "policies"

    def payload(self) -> dict:
        return {"dataset": self.dataset, "rows": list(self.rows)}

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.rows), columns=["policy_id", "name", "kind", "providers", "bloc", "nodes", "year", "source", "note"])
        return frame.assign(providers=frame["providers"].map(";".join), nodes=frame["nodes"].map(";".join))


@use_case("policies", PoliciesRequest)
def policies_of(request: PoliciesRequest, progress: Progress = None) -> PoliciesResult:
    tm = load_map(request.data)
    return PoliciesResult(tm.meta.name, tuple(list_policies(tm)), map_provenance(tm, request))


class PolicyRequest(PoliciesRequest):
    """Apply one policy to the map and to third countries' installed base."""

    policy_id: str = pydantic.Field(min_length=1, description="Policy id of the dataset's policies.csv.")
    country: str | None = pydantic.Field(None, description="Only this third country's exposure record (alpha-3).")


class PolicyResult(ReportResult[PolicyImpact]):
    table_name = "outputs"

    @property
    def impact(self) -> PolicyImpact:
        return self.report


@use_case("policy", PolicyRequest)
def policy(request: PolicyRequest, progress: Progress = None) -> PolicyResult:
    tm = load_map(request.data)
    return PolicyResult(policy_impact(tm, request.policy_id, request.country), map_provenance(tm, request))


class OpenRanRequest(PoliciesRequest):
    """Open RAN vs proprietary RAN under vendor bans (default: every exclusion policy)."""

    policies: CodeList = pydantic.Field((), description="Compare under these policies (default: every exclusion policy).")


class OpenRanResult(ReportResult[OpenRanComparison]):
    table_name = "openran"

    @property
    def comparison(self) -> OpenRanComparison:
        return self.report

    def payload(self) -> dict:
        return {"rows": self.report.to_records()}


@use_case("openran", OpenRanRequest)
def openran(request: OpenRanRequest, progress: Progress = None) -> OpenRanResult:
    tm = load_map(request.data)
    scenarios = [policy_scenario(tm, [p], field=f"policies[{i}]") for i, p in enumerate(request.policies)] or None
    return OpenRanResult(open_ran_comparison(tm, scenarios), map_provenance(tm, request))
