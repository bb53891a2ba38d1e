"""Declarative schema of the technology-map tables.

One table per entity type; this module is the single source for column names,
types, which columns are required, and what each means. The native CSV reader and
writer, validation and the format documentation all follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pydantic

__all__ = [
    "ANNEX_TABLES",
    "Column",
    "MetadataSpec",
    "SourceSpec",
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

#: Years are four-digit years; sizes cannot be negative (shares and amounts have their own checks).
YEARS = (1000, 9999)
RANGES = {"year": YEARS, "market_size_year": YEARS, "market_size_usd": (0, None)}


class SourceSpec(pydantic.BaseModel):
    """One cited source of a dataset's ``metadata.yaml``."""

    model_config = pydantic.ConfigDict(frozen=True, coerce_numbers_to_str=True)
    id: str
    title: str = ""
    url: str = ""
    year: int | None = pydantic.Field(None, ge=YEARS[0], le=YEARS[1])


class MetadataSpec(pydantic.BaseModel):
    """``metadata.yaml`` of a native dataset (docs/formats.md); other keys are ignored."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)
    name: str
    version: str
    licence: str
    title: str = ""
    description: str = ""
    share_tolerance: float = pydantic.Field(0.02, ge=0.0, allow_inf_nan=False)
    sources: list[SourceSpec]


@dataclass(frozen=True)
class Column:
    """One column; a numeric one is finite and within ``[low, high]`` where those are given."""

    name: str
    dtype: str  # "str", "float", "int"
    required: bool
    description: str
    low: float | None = None
    high: float | None = None

    def bounds(self) -> str:
        """``"from 1000 to 9999"``, ``"at least 0"`` or ``""``."""
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        return f"at least {self.low:g}" if self.low is not None else (f"at most {self.high:g}" if self.high is not None else "")



def _one_of(values: tuple[str, ...]) -> str:
    return "one of " + ", ".join(values)


#: The last columns of every annex table of records: where each record comes from.
_CITED = """
source            str    *  source id or citation
note              str    -  free text
"""

#: The tables as text: ``[table]``, then one column a line: name, type (str, float, int),
#: ``*`` if required (``-`` if not), description. Parsed into :data:`TABLES`.
_TABLES_TEXT = f"""
[nodes]
node_id           str    *  unique node id
name              str    *  display name
kind              str    *  {_one_of(NODE_KINDS)}
stage             str    -  stage label
market_size_usd   float  -  global market size, US dollars
market_size_year  int    -  year of the market size
description       str    -  free text

[providers]
provider_id       str    *  unique id; alpha-3 code for a country
name              str    *  display name
type              str    *  {_one_of(PROVIDER_TYPES)}
country           str    -  headquarters country of a firm (alpha-3)
site_country      str    -  production site country of a firm
members           str    -  member countries of a region, ';'-separated
aliases           str    -  other names, ';'-separated

[provision]
node_id           str    *  node provided
provider_id       str    *  provider
share             float  -  share of the global market, 0..1; blank = qualitative
share_low         float  -  low end of the share's range
share_high        float  -  high end of the share's range
year              int    -  year the figure refers to
source            str    -  source id or citation
note              str    -  free text

[relations]
node_id           str    *  node the relation starts from
relation          str    *  {_one_of(RELATION_TYPES)}
target_id         str    *  the other node

[blocs]
bloc              str    *  bloc name
country           str    *  member country code

[links]
node_id           str    *  node the link starts from (may be in another dataset)
relation          str    *  {_one_of(RELATION_TYPES)}
target_id         str    *  the other node (may be in another dataset)

[policies]
policy_id         str    *  unique policy id
name              str    *  display name
kind              str    *  {_one_of(POLICY_KINDS)}
providers         str    -  excluded provider ids, ';'-separated
bloc              str    -  bloc kept by a trusted_only policy
nodes             str    -  node ids the policy applies to, ';'-separated; blank = all
year              int    *  year the policy was adopted
{_CITED}

[country_exposure]
country           str    *  country whose installed base is described
node_id           str    *  node
providers         str    *  provider ids whose share this is, ';'-separated
share             float  *  their share of the country's installed base, 0..1
share_low         float  -  low end of the range
share_high        float  -  high end of the range
year              int    *  year the figure refers to
{_CITED}

[indicators]
technology        str    *  technology
indicator         str    *  indicator, e.g. market_share or sep_share
method            str    -  how it is counted
holder            str    *  provider id or free-text holder
country           str    *  holder's headquarters country
value             float  *  fraction, 0..1
value_low         float  -  low end of the range
value_high        float  -  high end of the range
year              int    *  year the figure refers to
{_CITED}

[commitments]
commitment_id     str    *  unique id
party             str    *  country code of the committing government
program           str    *  programme
technology        str    *  technology
amount            float  *  amount as reported
currency          str    *  currency code, no conversion
year              int    *  year of the commitment
{_CITED}
"""


def _parse_tables(text: str) -> dict[str, tuple[Column, ...]]:
    tables: dict[str, list[Column]] = {}
    for line in text.strip().splitlines():
        if not line:
            continue
        if line.startswith("["):
            table = tables.setdefault(line.strip("[]"), [])
        else:
            name, dtype, required, description = line.split(maxsplit=3)
            table.append(Column(name, dtype, required == "*", description, *RANGES.get(name, (None, None))))
    return {name: tuple(cols) for name, cols in tables.items()}


TABLES: dict[str, tuple[Column, ...]] = _parse_tables(_TABLES_TEXT)

#: Optional tables that travel with a map but do not shape it (links apply when combining).
ANNEX_TABLES = ("links", "policies", "country_exposure", "indicators", "commitments")


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


def required_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table] if c.required]
