"""Exposure and chokepoints: who holds each node, how concentrated, how much a bloc holds.

Definitions (fractions of the global market of a node):

* **Country shares** ``s_c``: from the node's supply atoms with figures
  (:mod:`coreatlas.analysis.supply`); estimated splits of qualitative providers are not
  figures and are listed under ``qualitative`` instead.
* **Herfindahl–Hirschman index** ``HHI = sum_c s_c**2`` over named countries and regions
  (a region such as EUR counts as one supplier). Residuals ("Various countries",
  unattributed rest) are many small suppliers and add nothing, so HHI is a lower bound.
* **Effective number of suppliers** ``1 / HHI`` (Adelman 1969, the "numbers equivalent").
* **Countries to 75%**: the fewest named countries whose shares reach 0.75 (the ETO
  Chip Explorer's concentration measure); ``None`` if named countries never reach it.
* **Bloc share**: sum of ``s_c`` over the bloc's countries. A region counts only if the
  bloc names it or all of its members (``bloc_share``); ``bloc_share_high`` also counts
  regions with any member in the bloc.
* **Ranges**: where a dataset gives ``share_low``/``share_high``, ``bloc_share_range``
  and ``top_country_share_range`` span the results at the corners of those ranges
  (:mod:`coreatlas.analysis.uncertainty`); without ranges both ends equal the figure.
* **Variant roll-up**: a parent node with no figures of its own takes the weighted mean
  of its variants' shares (recursively, deepest first), weighted by the variants'
  ``market_size_usd`` when every variant with figures has one, else equally.

References: Herfindahl (1950); Hirschman (1945); Adelman, "Comment on the 'H'
concentration measure as a numbers-equivalent", Rev. Econ. Stat. 51 (1969).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coreatlas.analysis.graph import size_weights, topological_levels
from coreatlas.analysis.supply import UNATTRIBUTED, Supply, build_supply
from coreatlas.analysis.uncertainty import corner_maps, has_ranges, row_codes, span
from coreatlas.errors import RequestError
from coreatlas.model.techmap import TechMap

__all__ = ["Chokepoint", "ExposureTable", "bloc_shares", "chokepoints", "exposure", "leverage"]

SHARE_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class ShareMatrices:
    """Node x country and node x firm shares with figures (own or rolled up)."""

    country: np.ndarray
    firm: np.ndarray
    codes: tuple[str, ...]
    firms: tuple[str, ...]
    basis: np.ndarray  # "own", "rollup" or "none" per node
    named_code: np.ndarray  # bool per code: a named country or region
    named_firm: np.ndarray  # bool per firm: not a residual firm


def _matrix(supply: Supply, columns: np.ndarray, n_columns: int, keep: np.ndarray) -> np.ndarray:
    shape = (supply.n_nodes, n_columns)
    coo = sp.coo_matrix((supply.atom_share[keep], (supply.atom_node[keep], columns[keep])), shape=shape)
    return coo.toarray()


def _rollup_weights(tm: TechMap, has_data: np.ndarray) -> sp.csr_matrix:
    """Parent x child weights over children with data: market size if all known, else equal."""
    edges = tm.edges("variant_of")
    child = edges["node_id"].map(tm.node_index).to_numpy(dtype=np.int64)
    parent = edges["target_id"].map(tm.node_index).to_numpy(dtype=np.int64)
    keep = has_data[child]
    child, parent = child[keep], parent[keep]
    n = len(has_data)
    weight = size_weights(tm.nodes["market_size_usd"].to_numpy(dtype=float)[child], parent, n)
    return sp.csr_matrix((weight, (parent, child)), shape=(n, n))


def _roll_up(tm: TechMap, country: np.ndarray, firm: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill parents without figures from their variants, deepest level first."""
    edges = tm.edges("variant_of")
    child = edges["node_id"].map(tm.node_index).to_numpy(dtype=np.int64)
    parent = edges["target_id"].map(tm.node_index).to_numpy(dtype=np.int64)
    height = topological_levels(len(own), child, parent)
    has_data = own.copy()
    rolled = np.zeros_like(own)
    for level in range(1, int(height.max(initial=0)) + 1):
        weights = _rollup_weights(tm, has_data)
        fill = ~has_data & (height == level) & (np.asarray(weights.sum(axis=1)).ravel() > 0)
        country[fill] = (weights @ country)[fill]
        firm[fill] = (weights @ firm)[fill]
        has_data, rolled = has_data | fill, rolled | fill
    return country, firm, rolled


def share_matrices(tm: TechMap, supply: Supply | None = None) -> ShareMatrices:
    """Country and firm share matrices, with variant trees rolled up."""
    supply = supply or build_supply(tm)
    figures = ~supply.atom_estimated
    country = _matrix(supply, supply.atom_code, len(supply.codes), figures)
    is_firm = figures & (supply.atom_firm >= 0)
    firm = _matrix(supply, np.maximum(supply.atom_firm, 0), len(supply.firms), is_firm)
    own = supply.figures == "share"
    country, firm, rolled = _roll_up(tm, country, firm, own)
    basis = np.where(own, "own", np.where(rolled, "rollup", "none")).astype(object)
    residual = tm.residual_codes | {UNATTRIBUTED}
    firm_country = tm.provider_rows["country"].reindex(list(supply.firms))
    return ShareMatrices(
        country=country,
        firm=firm,
        codes=supply.codes,
        firms=supply.firms,
        basis=basis,
        named_code=np.array([c not in residual for c in supply.codes], dtype=bool),
        named_firm=~firm_country.isin(residual).to_numpy(dtype=bool),
    )


def hhi(shares: np.ndarray) -> np.ndarray:
    """Herfindahl–Hirschman index per row: ``sum_c s_c**2`` (fractions, so 0..1)."""
    return np.einsum("ij,ij->i", shares, shares)


def countries_to_reach(shares: np.ndarray, level: float = 0.75) -> np.ndarray:
    """Fewest columns whose shares reach ``level`` per row; 0 where they never do."""
    if shares.shape[1] == 0:
        return np.zeros(shares.shape[0], dtype=np.int64)
    ordered = -np.sort(-shares, axis=1)
    reached = np.cumsum(ordered, axis=1) >= level - 1e-9
    count = reached.argmax(axis=1) + 1
    return np.where(reached.any(axis=1), count, 0)


def bloc_mask(tm: TechMap, codes: tuple[str, ...], bloc: tuple[str, ...], *, any_member: bool = False) -> np.ndarray:
    """Which codes belong to ``bloc``, by the one region rule (:meth:`TechMap.with_regions`);
    with ``any_member`` a region counts as soon as one of its members is in the bloc (the
    high end of ``bloc_share``)."""
    inside = set(tm.with_regions(bloc))
    if any_member:
        inside |= {r for r, members in tm.region_members.items() if members & set(bloc)}
    return np.array([c in inside for c in codes], dtype=bool)


@dataclass(frozen=True)
class ExposureTable:
    """Exposure metrics, one record per node; ``to_frame()`` gives a table."""

    records: tuple[dict, ...]
    bloc: tuple[str, ...]
    attribution: str

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.records))
        for col in ("bloc_share_range", "top_country_share_range"):
            if col in frame:
                frame[col + "_low"] = frame[col].map(lambda r: None if r is None else r[0])
                frame[col + "_high"] = frame[col].map(lambda r: None if r is None else r[1])
        return frame.drop(
            columns=["shares", "firm_shares", "qualitative", "years", "bloc_share_range", "top_country_share_range"], errors="ignore"
        )

    def to_records(self) -> list[dict]:
        return list(self.records)


def _named(matrix: np.ndarray, mask: np.ndarray, labels: tuple[str, ...], row: int) -> dict[str, float]:
    values = matrix[row]
    picks = np.flatnonzero(mask & (values > SHARE_EPS))
    order = picks[np.argsort(-values[picks], kind="stable")]
    return {labels[i]: float(values[i]) for i in order}


def _qualitative_lists(tm: TechMap) -> dict[str, list[str]]:
    rows = tm.provision[tm.provision["share"].isna()]
    return rows.groupby("node_id")["provider_id"].agg(list).to_dict()


def _years(tm: TechMap) -> dict[str, list[int]]:
    rows = tm.provision[tm.provision["year"].notna()]
    return rows.groupby("node_id")["year"].agg(lambda s: sorted({int(y) for y in s})).to_dict()


def _corner_values(tm: TechMap, raising: np.ndarray, measure, attribution: str) -> tuple[np.ndarray, np.ndarray]:
    down, up = corner_maps(tm, raising)
    return measure(share_matrices(down, build_supply(down, attribution))), measure(share_matrices(up, build_supply(up, attribution)))


def _ranges(
    tm: TechMap, m: ShareMatrices, bloc: tuple[str, ...], attribution: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Low and high bloc share and top-country share per node over the share ranges."""
    in_bloc = m.country @ bloc_mask(tm, m.codes, bloc)
    named = m.country * m.named_code
    if named.shape[1] == 0:  # no figures anywhere
        return in_bloc, in_bloc, np.zeros(len(named)), np.zeros(len(named))
    top_col = named.argmax(axis=1)
    top = named[np.arange(len(top_col)), top_col]
    if not has_ranges(tm):
        return in_bloc, in_bloc, top, top
    codes = row_codes(tm)
    in_bloc_rows = codes.isin(bloc).to_numpy()
    bloc_lo, bloc_hi = _corner_values(tm, in_bloc_rows, lambda x: x.country @ bloc_mask(tm, x.codes, bloc), attribution)
    top_code = pd.Series(np.asarray(m.codes, dtype=object)[top_col], index=tm.node_ids)
    top_rows = codes.to_numpy() == tm.provision["node_id"].map(top_code).to_numpy()

    def top_share(x: ShareMatrices) -> np.ndarray:
        columns = pd.Index(x.codes).get_indexer(top_code.to_numpy())
        return x.country[np.arange(len(columns)), columns]

    top_lo, top_hi = _corner_values(tm, top_rows, top_share, attribution)
    return (*span(in_bloc, bloc_lo, bloc_hi), *span(top, top_lo, top_hi))


def exposure(tm: TechMap, bloc: str | Sequence[str] = ("USA", "JPN"), *, attribution: str = "hq") -> ExposureTable:
    """Exposure metrics for every node of ``tm`` (see the module docstring).

    ``bloc`` is a bloc name of the map (``core``), comma-separated codes or a list of codes,
    resolved by :meth:`TechMap.resolve_bloc` (an unknown name or code raises)."""
    bloc = tm.resolve_bloc(bloc, field="bloc", error=RequestError)
    m = share_matrices(tm, build_supply(tm, attribution))
    named = m.country * m.named_code
    per_node = {
        "ranges": _ranges(tm, m, bloc, attribution),
        "named": named,
        "hhi": hhi(named),
        "to_75": countries_to_reach(named),
        "in_bloc": m.country @ bloc_mask(tm, m.codes, bloc),
        "in_bloc_high": m.country @ bloc_mask(tm, m.codes, bloc, any_member=True),
        "firms_named": m.firm * m.named_firm,
        "qualitative": _qualitative_lists(tm),
        "years": _years(tm),
    }
    records = tuple(_record(tm, m, per_node, i, node_id) for i, node_id in enumerate(tm.node_ids))
    return ExposureTable(records, tuple(bloc), attribution)


def _record(tm: TechMap, m: ShareMatrices, a: dict, i: int, node_id: str) -> dict:
    """The exposure record of node ``i`` from the per-node arrays ``a`` of :func:`exposure`."""
    has = m.basis[i] != "none"
    bloc_lo, bloc_hi, top_lo, top_hi = a["ranges"]
    concentration = a["hhi"]
    shares = _named(m.country, m.named_code, m.codes, i)
    firm_shares = _named(m.firm, m.named_firm, m.firms, i)
    top = next(iter(shares.items()), (None, None))
    top_firm = next(iter(firm_shares.items()), (None, None))
    return {
        "node_id": node_id,
        "node_name": tm.node_names[node_id],
        "kind": tm.nodes.at[i, "kind"],
        "basis": m.basis[i],
        "hhi": float(concentration[i]) if has else None,
        "effective_suppliers": float(1.0 / concentration[i]) if has and concentration[i] > 0 else None,
        "countries_to_75": int(a["to_75"][i]) if has and a["to_75"][i] > 0 else None,
        "bloc_share": float(a["in_bloc"][i]) if has else None,
        "bloc_share_high": float(a["in_bloc_high"][i]) if has else None,
        "bloc_share_range": (float(bloc_lo[i]), float(bloc_hi[i])) if has else None,
        "residual_share": float(m.country[i].sum() - a["named"][i].sum()) if has else None,
        "top_country": top[0],
        "top_country_share": top[1],
        "top_country_share_range": (float(top_lo[i]), float(top_hi[i])) if top[0] is not None else None,
        "top_firm": top_firm[0],
        "top_firm_share": top_firm[1],
        "firm_hhi": float(hhi(a["firms_named"][i : i + 1])[0]) if firm_shares else None,
        "shares": shares,
        "firm_shares": firm_shares,
        "qualitative": a["qualitative"].get(node_id, []) if not has else [],
        "years": a["years"].get(node_id, []),
    }


@dataclass(frozen=True)
class Chokepoint:
    node_id: str
    node_name: str
    provider: str
    provider_name: str
    share: float
    by: str
    basis: str


def chokepoints(tm: TechMap, threshold: float = 0.9, by: str = "country", *, attribution: str = "hq") -> list[Chokepoint]:
    """Nodes where one named country (or firm) holds at least ``threshold`` of the market.

    Residuals ("Various countries", "Various companies", unattributed rest) are never
    chokepoints. Sorted by share, largest first, then by node id.
    """
    if by not in ("country", "firm"):
        raise RequestError(f"by must be 'country' or 'firm', not '{by}'", field="by")
    m = share_matrices(tm, build_supply(tm, attribution))
    matrix, mask, labels = (m.country, m.named_code, m.codes) if by == "country" else (m.firm, m.named_firm, m.firms)
    rows, cols = np.nonzero((matrix >= threshold - 1e-9) & mask)
    names = tm.provider_rows["name"]
    found = [
        Chokepoint(
            tm.node_ids[r],
            tm.node_names[tm.node_ids[r]],
            labels[c],
            str(names.get(labels[c], labels[c])),
            float(matrix[r, c]),
            by,
            m.basis[r],
        )
        for r, c in zip(rows, cols, strict=True)
    ]
    return sorted(found, key=lambda cp: (-cp.share, cp.node_id))


def leverage(tm: TechMap, bloc: str | Sequence[str], threshold: float = 0.9, *, attribution: str = "hq") -> list[dict]:
    """Nodes where ``bloc`` (as in :func:`exposure`) holds at least ``threshold``: where its export control would bite."""
    table = exposure(tm, bloc, attribution=attribution)
    hits = [r for r in table.records if r["bloc_share"] is not None and r["bloc_share"] >= threshold - 1e-9]
    return sorted(hits, key=lambda r: (-r["bloc_share"], r["node_id"]))


def bloc_shares(tm: TechMap, blocs: dict[str, str | Sequence[str]], *, attribution: str = "hq") -> pd.DataFrame:
    """Share of each bloc (columns; each as in :func:`exposure`) per node with figures (rows, indexed by node id)."""
    blocs = {name: tm.resolve_bloc(codes, field=f"blocs.{name}", error=RequestError) for name, codes in blocs.items()}
    m = share_matrices(tm, build_supply(tm, attribution))
    has = m.basis != "none"
    columns = {name: (m.country @ bloc_mask(tm, m.codes, codes))[has] for name, codes in blocs.items()}
    frame = pd.DataFrame(columns, index=pd.Index(tm.node_ids[has], name="node_id"))
    frame.insert(0, "node_name", [tm.node_names[n] for n in frame.index])
    return frame
