"""The technology map: who provides each input of a technology, and what needs what.

A :class:`TechMap` is immutable data: five tables and the bloc definitions. Analyses
are functions over it (:mod:`coreatlas.analysis`); nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from coreatlas.errors import CoreAtlasError, NotFoundError, Problem, ScenarioError, ValidationError
from coreatlas.model import schema
from coreatlas.model.countries import is_iso_alpha3

__all__ = ["DEFAULT_BLOCS", "UNATTRIBUTED", "Metadata", "Source", "TechMap", "empty_annex", "normalise_table", "split_list"]

#: The CoRe partners and a wider circle of allies; datasets and users may redefine both.
DEFAULT_BLOCS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "core": ("USA", "JPN"),
        "allies": ("USA", "JPN", "NLD", "KOR", "TWN", "DEU", "GBR", "FRA"),
    }
)

#: The code of a node's share that no figure attributes to a provider (where figures sum below 1).
UNATTRIBUTED = "(unattributed)"

#: Tables keep the source line of each row (where they were read from a file) in this column.
LINE = "line"


@dataclass(frozen=True)
class Source:
    id: str
    title: str = ""
    url: str = ""
    year: int | None = None


@dataclass(frozen=True)
class Metadata:
    name: str
    version: str = "0"
    licence: str = ""
    title: str = ""
    description: str = ""
    share_tolerance: float = 0.02
    sources: tuple[Source, ...] = ()
    format: str = "native"


def _blank_to_na(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def normalise_table(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Give ``frame`` every column of ``table`` (in schema order) with its dtype.

    Missing optional columns are added empty; strings are stripped, blanks become NA.
    A ``line`` column, if present, is kept as the source line of each row.
    """
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    lines = frame[LINE].reset_index(drop=True) if LINE in frame else pd.Series([pd.NA] * len(frame))
    lines = pd.Series(pd.array(lines, dtype="Int64"))
    problems: list[Problem] = []
    for col in schema.TABLES[table]:
        values = frame[col.name].reset_index(drop=True) if col.name in frame else pd.Series([pd.NA] * len(frame))
        text = _blank_to_na(values)
        out[col.name] = text if col.dtype == "str" else _numbers(text, col, table, lines, problems)
    if problems:
        raise ValidationError(problems)
    out[LINE] = lines.array
    return out


def _numbers(text: pd.Series, col: schema.Column, table: str, lines: pd.Series, problems: list[Problem]) -> pd.Series:
    """``text`` as numbers; a value that is not a number (or not a whole number where one is
    expected, as for a year) is a problem naming the table, line and column."""
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = text.notna() & numbers.isna()
    if col.dtype == "int":
        bad |= numbers.notna() & ~(np.isfinite(numbers) & (numbers == np.floor(numbers)))
    expected = ("a whole number" + (" (a year such as 2023)" if "year" in col.name else "")) if col.dtype == "int" else "a number"
    for i in np.flatnonzero(bad.to_numpy()):
        line = None if pd.isna(lines.iloc[i]) else int(lines.iloc[i])
        problems.append(Problem(f"'{text.iloc[i]}' is not {expected}", table=table, line=line, column=col.name))
    if col.dtype == "float":
        return numbers.where(~bad)
    return numbers.where(~bad).astype("Int64")


@dataclass(frozen=True, eq=False)
class TechMap:
    """A technology map: nodes, providers, provision shares, relations and blocs.

    Treat the tables as read-only; build a new map instead of changing one.

    Attributes
    ----------
    meta : Metadata
        Name, version, licence, sources and the tolerance on share sums.
    nodes : DataFrame
        One row per node (columns of ``schema.TABLES["nodes"]``).
    providers : DataFrame
        One row per provider: countries, firms, regions and residuals.
    provision : DataFrame
        One row per (node, provider): ``share`` is a fraction of the global market,
        NA for a qualitative ("major provider") row.
    relations : DataFrame
        ``node_id uses target_id`` (an input) or ``node_id variant_of target_id``.
    blocs : Mapping[str, tuple[str, ...]]
        Named sets of country codes; always includes ``core`` and ``allies``.
    annex : Mapping[str, DataFrame]
        The optional tables of ``schema.ANNEX_TABLES``: links into other datasets,
        policies, country exposure records, indicators and commitments (empty if absent).
    """

    meta: Metadata
    nodes: pd.DataFrame
    providers: pd.DataFrame
    provision: pd.DataFrame
    relations: pd.DataFrame
    blocs: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_BLOCS)
    annex: Mapping[str, pd.DataFrame] = field(default_factory=lambda: empty_annex())

    def __getstate__(self) -> dict:
        """Picklable (for worker processes and Dask): read-only mappings travel as dicts."""
        return {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict) -> None:
        for key in ("blocs", "annex"):
            state[key] = MappingProxyType(dict(state[key]))
        self.__dict__.update(state)

    @classmethod
    def from_tables(
        cls,
        meta: Metadata,
        nodes: pd.DataFrame,
        providers: pd.DataFrame,
        provision: pd.DataFrame,
        relations: pd.DataFrame,
        blocs: Mapping[str, Iterable[str]] | None = None,
        annex: Mapping[str, pd.DataFrame] | None = None,
    ) -> TechMap:
        """Build a map from raw tables, normalising columns and dtypes (no validation)."""
        merged = dict(DEFAULT_BLOCS)
        merged.update({name: tuple(codes) for name, codes in (blocs or {}).items()})
        given = annex or {}
        extra = {t: normalise_table(given[t], t) if t in given else _empty(t) for t in schema.ANNEX_TABLES}
        return cls(
            meta=meta,
            nodes=normalise_table(nodes, "nodes"),
            providers=normalise_table(providers, "providers"),
            provision=normalise_table(provision, "provision"),
            relations=normalise_table(relations, "relations"),
            blocs=MappingProxyType(merged),
            annex=MappingProxyType(extra),
        )

    # ---- identities -------------------------------------------------------------------
    @cached_property
    def node_ids(self) -> np.ndarray:
        return self.nodes["node_id"].to_numpy(dtype=object)

    @cached_property
    def node_index(self) -> dict[str, int]:
        return {node_id: i for i, node_id in enumerate(self.node_ids)}

    @cached_property
    def node_names(self) -> dict[str, str]:
        return dict(zip(self.nodes["node_id"], self.nodes["name"], strict=True))

    @cached_property
    def provider_rows(self) -> pd.DataFrame:
        """Providers indexed by id (first row wins if an id repeats: validation reports it)."""
        return self.providers.drop_duplicates("provider_id").set_index("provider_id")

    @cached_property
    def outputs(self) -> list[str]:
        """The ultimate outputs, by the one rule every analysis uses: the nodes of kind
        ``output``; in a map that marks none (such as ``materials``), every node that no other
        node needs (no node uses or bundles it, and it is no node's variant)."""
        marked = self.nodes.loc[self.nodes["kind"] == "output", "node_id"].tolist()
        if marked:
            return marked
        rel = self.relations
        needed = set(rel.loc[rel["relation"].isin(["uses", "bundles"]), "target_id"])
        needed |= set(rel.loc[rel["relation"] == "variant_of", "node_id"])
        return [node_id for node_id in self.node_ids if node_id not in needed]

    def edges(self, relation: str) -> pd.DataFrame:
        """The relations of one type, as ``node_id, target_id`` rows."""
        rows = self.relations[self.relations["relation"] == relation]
        return rows[["node_id", "target_id", LINE]].reset_index(drop=True)

    def node(self, node_id: str, field: str | None = None) -> pd.Series:
        """The row of ``node_id``; ``field`` names the request field that gave it, for errors."""
        if node_id not in self.node_index:
            raise NotFoundError(f"unknown node id '{node_id}' in {self.meta.name}", field=field)
        return self.nodes.iloc[self.node_index[node_id]]

    # ---- countries and blocs ---------------------------------------------------------------
    @cached_property
    def region_members(self) -> dict[str, frozenset[str]]:
        regions = self.providers[self.providers["type"] == "region"]
        return {row.provider_id: frozenset(_split_list(row.members)) for row in regions.itertuples(index=False)}

    def with_regions(self, codes, *, members_of_named: bool = False) -> frozenset[str]:
        """The one region rule: ``codes`` plus every region all of whose members are in ``codes``
        (a region counts as inside a set of countries when the set names it or all its members).

        With ``members_of_named``, a named region also brings its members (a hazard striking
        EUR strikes every member state)."""
        named = set(codes)
        regions = self.region_members
        if members_of_named:
            named |= {m for r in named & set(regions) for m in regions[r]}
        return frozenset(named | {r for r, members in regions.items() if members and members <= named})

    @cached_property
    def residual_codes(self) -> frozenset[str]:
        return frozenset(self.providers.loc[self.providers["type"] == "residual", "provider_id"])

    @cached_property
    def country_codes(self) -> list[str]:
        """Every code a share can be attributed to: countries, regions and residuals."""
        typed = self.providers[self.providers["type"].isin(["country", "region", "residual"])]
        codes = set(typed["provider_id"])
        firms = self.providers[self.providers["type"] == "firm"]
        codes |= set(firms["country"].dropna()) | set(firms["site_country"].dropna())
        return sorted(codes)

    @cached_property
    def code_set(self) -> frozenset[str]:
        """:attr:`country_codes` as a set."""
        return frozenset(self.country_codes)

    @cached_property
    def firm_ids(self) -> frozenset[str]:
        """Provider ids of the map's firms."""
        return frozenset(self.providers.loc[self.providers["type"] == "firm", "provider_id"].dropna())

    def code_of(self, code: str) -> str | None:
        """The country code ``code`` stands for, or None: a code of the map as written, else
        upper-cased (``twn`` is ``TWN``) if the map or ISO 3166-1 alpha-3 knows it."""
        if not isinstance(code, str):
            return None
        code = code.strip()
        if code in self.code_set or code == UNATTRIBUTED:
            return code
        upper = code.upper()
        return upper if upper in self.code_set or is_iso_alpha3(upper) else None

    def check_code(self, code: str, field: str | None = None, error: type[CoreAtlasError] = ScenarioError) -> str:
        """:meth:`code_of`, or ``error`` naming ``field`` when the code is unknown."""
        found = self.code_of(code)
        if found is None:
            regions = ", ".join(sorted(self.region_members)) or "none"
            raise error(f"unknown country code '{code}'; use ISO 3166 alpha-3 codes such as TWN, JPN, USA (or a region code: {regions})",
                        field=field)  # fmt: skip
        return found

    def resolve_bloc(self, spec: str | tuple[str, ...] | list[str], field: str | None = None,
                     error: type[CoreAtlasError] = NotFoundError) -> tuple[str, ...]:  # fmt: skip
        """A bloc by name (``core``), as comma-separated country codes (``USA,JPN``) or a list of
        codes; every code must be known (:meth:`code_of`: ``usa`` is ``USA``), else ``error``."""
        if isinstance(spec, str) and spec.strip() in self.blocs:
            return tuple(self.blocs[spec.strip()])
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        codes = [str(code).strip() for code in items if str(code).strip()]
        if isinstance(spec, str) and len(codes) <= 1 and not (codes and _looks_like_code(codes[0].upper())):
            msg = f"unknown bloc '{spec}': name one of {', '.join(sorted(self.blocs))} or give country codes such as USA,JPN"
            raise NotFoundError(msg, field=field)
        if not codes:
            raise error(f"{field or 'bloc'}: the bloc names no country; give a bloc name or country codes such as USA,JPN", field=field)
        return tuple(dict.fromkeys(self.check_code(code, field, error) for code in codes))

    def equals(self, other: TechMap) -> bool:
        """Same content (ignores where rows were read from)."""
        pairs = [
            (self.nodes, other.nodes),
            (self.providers, other.providers),
            (self.provision, other.provision),
            (self.relations, other.relations),
        ] + [(self.annex[t], other.annex[t]) for t in schema.ANNEX_TABLES]
        same_tables = all(_same_rows(a, b) for a, b in pairs)
        same_meta = _comparable(self.meta) == _comparable(other.meta)
        return same_tables and same_meta and dict(self.blocs) == dict(other.blocs)


def _empty(table: str) -> pd.DataFrame:
    return normalise_table(pd.DataFrame(columns=schema.columns(table)), table)


def empty_annex() -> Mapping[str, pd.DataFrame]:
    return MappingProxyType({t: _empty(t) for t in schema.ANNEX_TABLES})


def split_list(text: object) -> list[str]:
    """``"a; b"`` -> ``["a", "b"]``; blank or NA -> ``[]``."""
    return _split_list(text)


def _comparable(meta: Metadata) -> Metadata:
    return Metadata(**{**meta.__dict__, "format": "native"})


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    left = a.drop(columns=LINE).reset_index(drop=True)
    right = b.drop(columns=LINE).reset_index(drop=True)
    return left.shape == right.shape and left.equals(right)


def _split_list(text: object) -> list[str]:
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]


def _looks_like_code(text: str) -> bool:
    return text.isupper() and 2 <= len(text) <= 3 and text.isalpha()
