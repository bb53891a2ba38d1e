"""Checks of the optional tables (policies, exposure records, indicators, commitments,
links) and of ``bundles`` relations. Same contract as :mod:`coreatlas.model.validate`."""

from __future__ import annotations

import pandas as pd

from coreatlas.errors import CoreAtlasError, Problem
from coreatlas.model import schema
from coreatlas.model.techmap import LINE, TechMap, split_list

__all__ = ["ANNEX_CHECKS"]

RANGED = {"country_exposure": ("share", "share_low", "share_high"), "indicators": ("value", "value_low", "value_high")}


def _problem(table: str, row, column: str, message: str, severity: str = "error") -> Problem:
    line = getattr(row, LINE)
    return Problem(message, table=table, line=None if pd.isna(line) else int(line), column=column, severity=severity)


def check_annex_vocabularies(tm: TechMap) -> list[Problem]:
    problems = []
    for table, col, allowed in (("links", "relation", schema.RELATION_TYPES), ("policies", "kind", schema.POLICY_KINDS)):
        frame = tm.annex[table]
        for row in frame[frame[col].notna() & ~frame[col].isin(allowed)].itertuples(index=False):
            problems.append(_problem(table, row, col, f"unknown {col} '{getattr(row, col)}'; expected one of {', '.join(allowed)}"))
    return problems


def check_policies(tm: TechMap) -> list[Problem]:
    """Unique ids, the field each kind needs, and known nodes (unknown providers are allowed:
    a policy names its vendors whether or not this map lists them)."""
    frame, problems = tm.annex["policies"], []
    for row in frame[frame["policy_id"].duplicated()].itertuples(index=False):
        problems.append(_problem("policies", row, "policy_id", f"duplicate id '{row.policy_id}'; ids must be unique"))
    for row in frame.itertuples(index=False):
        if row.kind == "exclude" and not split_list(row.providers):
            problems.append(_problem("policies", row, "providers", "an 'exclude' policy needs provider ids (e.g. huawei;zte)"))
        if row.kind == "trusted_only" and pd.isna(row.bloc):
            problems.append(
                _problem("policies", row, "bloc", "a 'trusted_only' policy needs a bloc (a name such as allies, or codes USA;JPN)")
            )
        problems += _policy_bloc(tm, row)
        unknown = [n for n in split_list(row.nodes) if n not in tm.node_index]
        if unknown:
            problems.append(_problem("policies", row, "nodes", f"unknown node id '{unknown[0]}'"))
    return problems


def _policy_bloc(tm: TechMap, row) -> list[Problem]:
    """A 'trusted_only' policy's bloc must be a bloc name or known country codes."""
    if row.kind != "trusted_only" or pd.isna(row.bloc):
        return []
    try:
        tm.resolve_bloc(str(row.bloc).replace(";", ","))
    except CoreAtlasError as exc:
        return [_problem("policies", row, "bloc", str(exc))]
    return []


def check_ranged_values(tm: TechMap) -> list[Problem]:
    """Fractions in [0, 1] with ``low <= value <= high``; exposure records name known nodes."""
    problems = []
    for table, (mid, low, high) in RANGED.items():
        frame = tm.annex[table]
        for col in (mid, low, high):
            for row in frame[frame[col].notna() & ((frame[col] < 0) | (frame[col] > 1))].itertuples(index=False):
                problems.append(
                    _problem(table, row, col, f"{col} {getattr(row, col):g} is outside [0, 1]; expected a fraction (0.25 for 25%)")
                )
        outside = (frame[low] > frame[mid]).fillna(False) | (frame[high] < frame[mid]).fillna(False)
        for row in frame[outside].itertuples(index=False):
            problems.append(_problem(table, row, mid, f"the range must hold the value: expected {low} <= {mid} <= {high}"))
    exposure = tm.annex["country_exposure"]
    for row in exposure[exposure["node_id"].notna() & ~exposure["node_id"].isin(tm.node_index)].itertuples(index=False):
        problems.append(_problem("country_exposure", row, "node_id", f"unknown node id '{row.node_id}'"))
    return problems


def check_commitments(tm: TechMap) -> list[Problem]:
    frame, problems = tm.annex["commitments"], []
    for row in frame[frame["commitment_id"].duplicated()].itertuples(index=False):
        problems.append(_problem("commitments", row, "commitment_id", f"duplicate id '{row.commitment_id}'; ids must be unique"))
    for row in frame[frame["amount"] < 0].itertuples(index=False):
        problems.append(_problem("commitments", row, "amount", f"amount {row.amount:g} is negative; expected an amount as reported"))
    return problems


def check_bundles(tm: TechMap) -> list[Problem]:
    """A firm with a share of a bundling node should provide every bundled component."""
    bundles = tm.edges("bundles").rename(columns={"node_id": "bundle", "target_id": "component"})
    firms = set(tm.providers.loc[tm.providers["type"] == "firm", "provider_id"])
    numeric = tm.provision.loc[tm.provision["share"].notna() & tm.provision["provider_id"].isin(firms), ["node_id", "provider_id"]]
    needed = bundles.merge(numeric, left_on="bundle", right_on="node_id")
    offered = tm.provision[["node_id", "provider_id"]].rename(columns={"node_id": "component"}).assign(offered=True)
    missing = needed.merge(offered, on=["component", "provider_id"], how="left")
    missing = missing[missing["offered"].isna()]
    return [
        _problem(
            "relations",
            row,
            "target_id",
            f"'{row.provider_id}' has a share of bundle '{row.bundle}' but does not provide the bundled component "
            f"'{row.component}'; its stacks are assumed to include that component",
            severity="warning",
        )
        for row in missing.itertuples(index=False)
    ]


ANNEX_CHECKS = (check_annex_vocabularies, check_policies, check_ranged_values, check_commitments, check_bundles)
