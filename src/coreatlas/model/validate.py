"""Validation of a technology map: pure ``check_*`` functions returning problems.

Each check returns a list of :class:`~coreatlas.errors.Problem` naming the table, the
source line and the column; adapters add the file name. :func:`validate` runs them
all, and :func:`check` raises :class:`~coreatlas.errors.ValidationError` on errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coreatlas.errors import Problem, ValidationError
from coreatlas.model import schema
from coreatlas.model.countries import is_iso_alpha3
from coreatlas.model.techmap import LINE, TechMap
from coreatlas.model.validate_annex import ANNEX_CHECKS

__all__ = ["check", "find_cycle", "validate"]

COUNTRY_LEVEL = ("country", "region", "residual")
BLANK = {"", "nan", "<na>", "none", "null"}


def _line(row) -> int | None:
    value = getattr(row, LINE)
    return None if pd.isna(value) else int(value)


def _problem(table: str, row, column: str, message: str, severity: str = "error") -> Problem:
    return Problem(message, table=table, line=_line(row), column=column, severity=severity)


def check_required_values(tm: TechMap) -> list[Problem]:
    problems = []
    for table in ("nodes", "providers", "provision", "relations", *schema.ANNEX_TABLES):
        frame = tm.annex[table] if table in schema.ANNEX_TABLES else getattr(tm, table)
        for col in schema.required_columns(table):
            for row in frame[frame[col].isna()].itertuples(index=False):
                problems.append(_problem(table, row, col, f"'{col}' is empty; a value is required"))
    return problems


def check_unique_ids(tm: TechMap) -> list[Problem]:
    problems = []
    for table, col in (("nodes", "node_id"), ("providers", "provider_id")):
        frame = getattr(tm, table)
        for row in frame[frame[col].duplicated()].itertuples(index=False):
            value = getattr(row, col)
            problems.append(_problem(table, row, col, f"duplicate id '{value}'; ids must be unique"))
    pairs = tm.provision.duplicated(["node_id", "provider_id"])
    for row in tm.provision[pairs].itertuples(index=False):
        message = f"provider '{row.provider_id}' is listed twice for node '{row.node_id}'"
        problems.append(_problem("provision", row, "provider_id", message))
    return problems


def check_vocabularies(tm: TechMap) -> list[Problem]:
    problems = []
    vocabularies = (
        ("nodes", "kind", schema.NODE_KINDS),
        ("providers", "type", schema.PROVIDER_TYPES),
        ("relations", "relation", schema.RELATION_TYPES),
    )
    for table, col, allowed in vocabularies:
        frame = getattr(tm, table)
        bad = frame[frame[col].notna() & ~frame[col].isin(allowed)]
        for row in bad.itertuples(index=False):
            message = f"unknown {col} '{getattr(row, col)}'; expected one of {', '.join(allowed)}"
            problems.append(_problem(table, row, col, message))
    return problems


def check_references(tm: TechMap) -> list[Problem]:
    node_ids = set(tm.nodes["node_id"].dropna())
    provider_ids = set(tm.providers["provider_id"].dropna())
    references = (
        ("provision", "node_id", node_ids, "node"),
        ("provision", "provider_id", provider_ids, "provider"),
        ("relations", "node_id", node_ids, "node"),
        ("relations", "target_id", node_ids, "node"),
    )
    problems = []
    for table, col, known, what in references:
        frame = getattr(tm, table)
        for row in frame[frame[col].notna() & ~frame[col].isin(known)].itertuples(index=False):
            message = f"unknown {what} id '{getattr(row, col)}'; it is not defined in the {what}s table"
            problems.append(_problem(table, row, col, message))
    return problems


def check_shares(tm: TechMap) -> list[Problem]:
    problems = []
    frame = tm.provision
    for col in ("share", "share_low", "share_high"):
        bad = frame[frame[col].notna() & ((frame[col] < 0) | (frame[col] > 1))]
        for row in bad.itertuples(index=False):
            message = f"share {getattr(row, col):g} is outside [0, 1]; shares are fractions (0.25 for 25%)"
            problems.append(_problem("provision", row, col, message))
    low_bad = frame["share_low"].notna() & frame["share"].notna() & (frame["share_low"] > frame["share"])
    high_bad = frame["share_high"].notna() & frame["share"].notna() & (frame["share_high"] < frame["share"])
    for row in frame[low_bad | high_bad].itertuples(index=False):
        message = "the range must hold the share: expected share_low <= share <= share_high"
        problems.append(_problem("provision", row, "share", message))
    return problems


def check_provenance(tm: TechMap) -> list[Problem]:
    """Numeric shares should say where they come from and which year they describe."""
    frame = tm.provision[tm.provision["share"].notna()]
    problems = []
    for col in ("source", "year"):
        for row in frame[frame[col].isna()].itertuples(index=False):
            message = f"share of '{row.provider_id}' in '{row.node_id}' has no {col}"
            problems.append(_problem("provision", row, col, message, severity="warning"))
    return problems


def _country_level(tm: TechMap) -> pd.DataFrame:
    types = tm.providers.drop_duplicates("provider_id").set_index("provider_id")["type"]
    rows = tm.provision.assign(ptype=tm.provision["provider_id"].map(types))
    return rows[rows["ptype"].isin(COUNTRY_LEVEL) & rows["share"].notna()]


def check_share_sums(tm: TechMap) -> list[Problem]:
    """Country shares of a node may sum to at most 1 + ``meta.share_tolerance``."""
    rows = _country_level(tm)
    limit = 1.0 + tm.meta.share_tolerance
    totals = rows.groupby("node_id", sort=False)["share"].sum()
    problems = []
    for node_id, total in totals[totals > limit + 1e-12].items():
        first = rows[rows["node_id"] == node_id].iloc[0]
        message = (
            f"country shares of node '{node_id}' sum to {total:.4g}, above 1 + tolerance "
            f"{tm.meta.share_tolerance:g}; expected at most {limit:g}"
        )
        line = None if pd.isna(first[LINE]) else int(first[LINE])
        problems.append(Problem(message, table="provision", line=line, column="share"))
    return problems


def check_metadata(tm: TechMap) -> list[Problem]:
    """``share_tolerance`` finite and at least 0 (NaN would switch the share-sum check off);
    source years in ``schema.YEARS``."""
    tol, problems = tm.meta.share_tolerance, []
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        message = f"share_tolerance is {tol}; expected a finite number of at least 0 (0.02 lets country shares sum to 1.02)"
        problems.append(Problem(message, table="metadata", column="share_tolerance"))
    for source in tm.meta.sources:
        low, high = schema.YEARS
        if source.year is not None and not low <= source.year <= high:
            message = f"source '{source.id}' has year {source.year}; expected a year from {low} to {high}"
            problems.append(Problem(message, table="metadata", column="sources"))
    return problems


def _tables(tm: TechMap) -> dict[str, pd.DataFrame]:
    return {"nodes": tm.nodes, "provision": tm.provision, **tm.annex}


#: Numeric columns whose range has its own check (fractions in [0, 1]).
FRACTIONS = {"share", "share_low", "share_high", "value", "value_low", "value_high"}


def check_numbers(tm: TechMap) -> list[Problem]:
    """Every other number finite and within its column's bounds in the schema (years in
    ``schema.YEARS``, market sizes at least 0): what a file's loader checks, for maps built
    in Python too."""
    problems = []
    for table, frame in _tables(tm).items():
        for col in (c for c in schema.TABLES[table] if c.dtype != "str" and c.name not in FRACTIONS):
            values = frame[col.name].to_numpy(dtype=float, na_value=np.nan)
            low, high = -np.inf if col.low is None else col.low, np.inf if col.high is None else col.high
            bad = ~np.isnan(values) & ~(np.isfinite(values) & (values >= low) & (values <= high))
            expected = " ".join(part for part in ("a finite number", col.bounds()) if part)
            for row in frame[bad].itertuples(index=False):
                message = f"{col.name} {getattr(row, col.name):g} is not allowed; expected {expected} ({col.description})"
                problems.append(_problem(table, row, col.name, message))
    return problems


def check_blocs(tm: TechMap) -> list[Problem]:
    """Each bloc names at least one country, none blank, each a code of the map or of
    ISO 3166-1 alpha-3 exactly as written (``usa`` would match nothing)."""
    problems = []
    for name, codes in tm.blocs.items():
        if str(name).strip().casefold() in BLANK:
            problems.append(Problem(f"a bloc has a blank name (countries {', '.join(map(str, codes))})", table="blocs", column="bloc"))
        if not codes:
            problems.append(Problem(f"bloc '{name}' names no country", table="blocs", column="country"))
        for code in codes:
            problems += _bloc_code_problems(tm, name, code)
    return problems


def _bloc_code_problems(tm: TechMap, name: str, code: object) -> list[Problem]:
    text = "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code).strip()
    if text.casefold() in BLANK:
        return [Problem(f"bloc '{name}' names a blank country; give an ISO 3166 alpha-3 code", table="blocs", column="country")]
    if text in tm.code_set or is_iso_alpha3(text):
        return []
    known = tm.code_of(text)
    hint = f"; write '{known}'" if known else "; use ISO 3166 alpha-3 codes such as USA, JPN, or a region code of the map"
    return [Problem(f"bloc '{name}' names unknown country code '{text}'{hint}", table="blocs", column="country")]


def find_cycle(edges: pd.DataFrame) -> list[int] | None:
    """Row positions of ``edges`` forming a directed cycle ``node_id -> target_id``, or None."""
    successors: dict[str, list[tuple[str, int]]] = {}
    for position, (source, target) in enumerate(zip(edges["node_id"], edges["target_id"], strict=True)):
        successors.setdefault(source, []).append((target, position))
    state: dict[str, int] = {}
    for start in successors:
        cycle = _cycle_from(start, successors, state)
        if cycle is not None:
            return cycle
    return None


def _cycle_from(start, successors, state) -> list[int] | None:
    """Iterative depth-first search; state 1 = on the stack, 2 = done."""
    if state.get(start):
        return None
    stack = [(start, iter(successors.get(start, ())))]
    path_edges: list[int] = []
    path_nodes = [start]
    state[start] = 1
    while stack:
        node, children = stack[-1]
        step = next(children, None)
        if step is None:
            state[node] = 2
            stack.pop()
            path_nodes.pop()
            if path_edges:
                path_edges.pop()
            continue
        child, position = step
        if state.get(child) == 1:
            return path_edges[path_nodes.index(child) :] + [position]
        if not state.get(child):
            state[child] = 1
            stack.append((child, iter(successors.get(child, ()))))
            path_nodes.append(child)
            path_edges.append(position)
    return None


def _cycle_problem(edges: pd.DataFrame, label: str) -> list[Problem]:
    cycle = find_cycle(edges)
    if cycle is None:
        return []
    names = [edges.at[i, "node_id"] for i in cycle] + [edges.at[cycle[0], "node_id"]]
    row = edges.iloc[cycle[-1]]
    line = None if pd.isna(row[LINE]) else int(row[LINE])
    message = f"{label} form a cycle: {' -> '.join(names)}; they must be acyclic"
    return [Problem(message, table="relations", line=line, column="target_id")]


def check_acyclic(tm: TechMap) -> list[Problem]:
    """``uses``, ``variant_of`` and ``bundles`` must each be acyclic, and so must all together.

    Together means in the direction of need: a node needs its inputs and bundled
    components, a parent its variants.
    """
    problems = []
    for relation in ("uses", "variant_of", "bundles"):
        edges = tm.edges(relation).dropna(subset=["node_id", "target_id"]).reset_index(drop=True)
        problems += _cycle_problem(edges, f"'{relation}' relations")
    if not problems:
        uses = pd.concat([tm.edges("uses"), tm.edges("bundles")], ignore_index=True)
        variants = tm.edges("variant_of").rename(columns={"node_id": "target_id", "target_id": "node_id"})
        both = pd.concat([uses, variants], ignore_index=True).dropna(subset=["node_id", "target_id"]).reset_index(drop=True)
        problems += _cycle_problem(both, "'uses', 'bundles' and 'variant_of' relations together")
    return problems


CHECKS = (
    check_metadata,
    check_required_values,
    check_unique_ids,
    check_vocabularies,
    check_references,
    check_shares,
    check_share_sums,
    check_numbers,
    check_blocs,
    check_acyclic,
    check_provenance,
    *ANNEX_CHECKS,
)


def validate(tm: TechMap) -> list[Problem]:
    """Every problem of ``tm``, errors and warnings, in check order."""
    problems: list[Problem] = []
    for check_function in CHECKS:
        problems.extend(check_function(tm))
    return problems


def check(tm: TechMap) -> list[Problem]:
    """Raise :class:`ValidationError` if ``tm`` has errors; return its warnings."""
    problems = validate(tm)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError(errors)
    return problems
