"""Trusted-vendor policies as data, and what they mean as a scenario.

A policy either excludes named providers (``exclude``: the FCC Covered List, the U.K.'s
Huawei removal) or keeps only providers headquartered in a bloc (``trusted_only``),
optionally at some nodes only. Policies live in a dataset's ``policies.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from coreatlas.errors import NotFoundError
from coreatlas.model.scenario import Exclusion, Scenario
from coreatlas.model.techmap import TechMap, split_list

__all__ = ["Policy", "get_policy", "policies", "policy_scenario", "third_country_exposure"]


@dataclass(frozen=True)
class Policy:
    policy_id: str
    name: str
    kind: str
    providers: tuple[str, ...] = ()
    bloc: str | None = None
    nodes: tuple[str, ...] = ()
    year: int | None = None
    source: str = ""
    note: str = ""

    def excluded(self, tm: TechMap) -> tuple[str, ...]:
        """Provider ids and codes this policy excludes in ``tm``."""
        if self.kind == "exclude":
            return self.providers
        keep = set(tm.resolve_bloc(self.bloc.replace(";", ","))) if self.bloc else set()
        inside = tm.with_regions(keep)
        outside = [code for code in tm.country_codes if code not in inside]
        firms = tm.providers[(tm.providers["type"] == "firm") & ~tm.providers["country"].isin(keep)]
        return tuple(outside) + tuple(firms["provider_id"])


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def policies(tm: TechMap) -> dict[str, Policy]:
    """The map's policies by id, in file order."""
    out = {}
    for row in tm.annex["policies"].itertuples(index=False):
        out[row.policy_id] = Policy(
            policy_id=row.policy_id,
            name=_text(row.name),
            kind=row.kind,
            providers=tuple(split_list(row.providers)),
            bloc=_text(row.bloc) or None,
            nodes=tuple(split_list(row.nodes)),
            year=None if pd.isna(row.year) else int(row.year),
            source=_text(row.source),
            note=_text(row.note),
        )
    return out


def get_policy(tm: TechMap, policy_id: str, field: str | None = None) -> Policy:
    """The policy ``policy_id``; ``field`` names the request field that gave it, for errors."""
    known = policies(tm)
    if policy_id not in known:
        names = ", ".join(known) or "none: this dataset has no policies.csv"
        raise NotFoundError(f"unknown policy '{policy_id}' in {tm.meta.name}; known policies: {names}", field=field)
    return known[policy_id]


def policy_scenario(tm: TechMap, policy_ids: Sequence[str], name: str | None = None, field: str | None = None) -> Scenario:
    """A scenario applying the named policies to every node they cover."""
    chosen = [get_policy(tm, pid, field) for pid in policy_ids]
    exclusions = tuple(Exclusion(p.excluded(tm), p.nodes, p.name) for p in chosen)
    title = name or " + ".join(p.name for p in chosen)
    return Scenario(name=title, description="; ".join(p.note for p in chosen if p.note), exclusions=exclusions)


def third_country_exposure(tm: TechMap, policy: Policy, country: str | None = None) -> pd.DataFrame:
    """Share of each country's installed base a policy would force to be replaced.

    For every ``country_exposure`` record, the share counts as *to be replaced* when every
    provider it names is excluded by the policy (at the record's node; ``split`` is
    ``"known"``). When only some are (a record of Huawei and ZTE together, a policy on Huawei
    alone), the record does not say how its share divides: ``to_replace`` is None, ``split``
    is ``"unknown"`` and the range runs from 0 to the record's (high) share.
    """
    records = tm.annex["country_exposure"]
    if country is not None:
        records = records[records["country"] == country]
    excluded = set(policy.excluded(tm))
    return pd.DataFrame([_exposure_row(r, policy, excluded) for r in records.itertuples(index=False)], columns=EXPOSURE_COLUMNS)


EXPOSURE_COLUMNS = ["country", "node_id", "providers", "excluded", "to_replace", "to_replace_low", "to_replace_high", "split", "year",
                    "source", "note"]  # fmt: skip


def _exposure_row(r, policy: Policy, excluded: set[str]) -> dict:
    named = split_list(r.providers)
    covered = (not policy.nodes or r.node_id in policy.nodes) and bool(named)
    hit = [p for p in named if p in excluded] if covered else []
    share, low, high = float(r.share), _or(r.share_low, r.share), _or(r.share_high, r.share)
    full = bool(named) and len(hit) == len(named)
    unknown = bool(hit) and not full
    return {
        "country": r.country,
        "node_id": r.node_id,
        "providers": ";".join(named),
        "excluded": ";".join(hit),
        "to_replace": None if unknown else (share if full else 0.0),
        "to_replace_low": low if full else 0.0,
        "to_replace_high": high if hit else 0.0,
        "split": "unknown" if unknown else "known",
        "year": None if pd.isna(r.year) else int(r.year),
        "source": _text(r.source),
        "note": _text(r.note),
    }


def _or(value: object, default: float) -> float:
    return float(default) if value is None or pd.isna(value) else float(value)
