"""Declarative schema of the technology-map tables.

One table per entity type; this module is the single source for column names,
types, which columns are required, and what each means. The native CSV reader and
writer, validation and the format documentation all follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ANNEX_TABLES",
    "Column",
    "POLICY_KINDS",
    "NODE_KINDS",
    "PROVIDER_TYPES",
    "RELATION_TYPES",
    "TABLES",
    "columns",
    "required_columns",
]

NODE_KINDS = ("process", "tool", "material", "design", "component", "product", "output")
PROVIDER_TYPES = ("country", "firm", "region", "residual")
RELATION_TYPES = ("uses", "variant_of", "bundles")
POLICY_KINDS = ("exclude", "trusted_only")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str", "float", "int"
    required: bool
    description: str


TABLES: dict[str, tuple[Column, ...]] = {
    "nodes": (
        Column("node_id", "str", True, "unique node id"),
        Column("name", "str", True, "display name"),
        Column("kind", "str", True, "one of " + ", ".join(NODE_KINDS)),
        Column("stage", "str", False, "stage label"),
        Column("market_size_usd", "float", False, "global market size, US dollars"),
        Column("market_size_year", "int", False, "year of the market size"),
        Column("description", "str", False, "free text"),
    ),
    "providers": (
        Column("provider_id", "str", True, "unique id; alpha-3 code for a country"),
        Column("name", "str", True, "display name"),
        Column("type", "str", True, "one of " + ", ".join(PROVIDER_TYPES)),
        Column("country", "str", False, "headquarters country of a firm (alpha-3)"),
        Column("site_country", "str", False, "production site country of a firm"),
        Column("members", "str", False, "member countries of a region, ';'-separated"),
        Column("aliases", "str", False, "other names, ';'-separated"),
    ),
    "provision": (
        Column("node_id", "str", True, "node provided"),
        Column("provider_id", "str", True, "provider"),
        Column("share", "float", False, "share of the global market, 0..1; blank = qualitative"),
        Column("share_low", "float", False, "low end of the share's range"),
        Column("share_high", "float", False, "high end of the share's range"),
        Column("year", "int", False, "year the figure refers to"),
        Column("source", "str", False, "source id or citation"),
        Column("note", "str", False, "free text"),
    ),
    "relations": (
        Column("node_id", "str", True, "node the relation starts from"),
        Column("relation", "str", True, "one of " + ", ".join(RELATION_TYPES)),
        Column("target_id", "str", True, "the other node"),
    ),
    "blocs": (
        Column("bloc", "str", True, "bloc name"),
        Column("country", "str", True, "member country code"),
    ),
    "links": (
        Column("node_id", "str", True, "node the link starts from (may be in another dataset)"),
        Column("relation", "str", True, "one of " + ", ".join(RELATION_TYPES)),
        Column("target_id", "str", True, "the other node (may be in another dataset)"),
    ),
    "policies": (
        Column("policy_id", "str", True, "unique policy id"),
        Column("name", "str", True, "display name"),
        Column("kind", "str", True, "one of " + ", ".join(POLICY_KINDS)),
        Column("providers", "str", False, "excluded provider ids, ';'-separated"),
        Column("bloc", "str", False, "bloc kept by a trusted_only policy"),
        Column("nodes", "str", False, "node ids the policy applies to, ';'-separated; blank = all"),
        Column("year", "int", True, "year the policy was adopted"),
        Column("source", "str", True, "source id or citation"),
        Column("note", "str", False, "free text"),
    ),
    "country_exposure": (
        Column("country", "str", True, "country whose installed base is described"),
        Column("node_id", "str", True, "node"),
        Column("providers", "str", True, "provider ids whose share this is, ';'-separated"),
        Column("share", "float", True, "their share of the country's installed base, 0..1"),
        Column("share_low", "float", False, "low end of the range"),
        Column("share_high", "float", False, "high end of the range"),
        Column("year", "int", True, "year the figure refers to"),
        Column("source", "str", True, "source id or citation"),
        Column("note", "str", False, "free text"),
    ),
    "indicators": (
        Column("technology", "str", True, "technology"),
        Column("indicator", "str", True, "indicator, e.g. market_share or sep_share"),
        Column("method", "str", False, "how it is counted"),
        Column("holder", "str", True, "provider id or free-text holder"),
        Column("country", "str", True, "holder's headquarters country"),
        Column("value", "float", True, "fraction, 0..1"),
        Column("value_low", "float", False, "low end of the range"),
        Column("value_high", "float", False, "high end of the range"),
        Column("year", "int", True, "year the figure refers to"),
        Column("source", "str", True, "source id or citation"),
        Column("note", "str", False, "free text"),
    ),
    "commitments": (
        Column("commitment_id", "str", True, "unique id"),
        Column("party", "str", True, "country code of the committing government"),
        Column("program", "str", True, "programme"),
        Column("technology", "str", True, "technology"),
        Column("amount", "float", True, "amount as reported"),
        Column("currency", "str", True, "currency code, no conversion"),
        Column("year", "int", True, "year of the commitment"),
        Column("source", "str", True, "source id or citation"),
        Column("note", "str", False, "free text"),
    ),
}

#: Optional tables that travel with a map but do not shape it (links apply when combining).
ANNEX_TABLES = ("links", "policies", "country_exposure", "indicators", "commitments")


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


def required_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table] if c.required]
