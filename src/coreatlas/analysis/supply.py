"""Each node's supply decomposed into *atoms*: (country, firm, share) pieces.

Everything static in CoRe Atlas (exposure metrics, scenarios, export controls) works on
this one decomposition, so the rules below are stated once:

* Country-level rows (countries, regions, residuals such as "Various countries") give
  a node's country totals when any of them carries a figure.
* Firm rows with figures split their headquarters country's total: each firm is an atom,
  and the country keeps the rest (never below zero). Country rows win: firms that sum
  (by rounding) above their country's row are scaled down to it. Where a node has firm figures only,
  the firms are the atoms and country totals derive from them by headquarters country
  (or by site country with ``attribution="site"``).
* What the figures leave unassigned (1 minus their sum) goes in equal parts to the
  node's qualitative providers ("major provider", no figure) at the most aggregate level
  the node gives (countries if it has any country-level row, else firms); those atoms are
  marked ``estimated``. With no qualitative provider the rest is
  ``UNATTRIBUTED``. A node whose providers are all qualitative is split equally.
* Residual firms ("Various companies": firms whose country is a residual code) are never
  atoms where country totals exist: the residual country row already holds their share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coreatlas.analysis.memo import per_map
from coreatlas.errors import RequestError
from coreatlas.model.techmap import UNATTRIBUTED, TechMap

__all__ = ["ATTRIBUTIONS", "UNATTRIBUTED", "Supply", "build_supply"]

ATTRIBUTIONS = ("hq", "site")
COUNTRY_LEVEL = ("country", "region", "residual")


@dataclass(frozen=True, eq=False)
class Supply:
    """Atoms of supply, as parallel arrays (one entry per atom).

    ``codes`` indexes ``atom_code`` (country, region or residual codes); ``firms``
    indexes ``atom_firm`` (-1 = not a firm); ``atom_row`` is the provision row an atom
    comes from (-1 for the unattributed rest). ``figures`` per node is ``"share"`` (has
    figures), ``"qualitative"`` (providers known, no figures) or ``"none"``.
    """

    node_ids: np.ndarray
    codes: tuple[str, ...]
    firms: tuple[str, ...]
    atom_node: np.ndarray
    atom_code: np.ndarray
    atom_firm: np.ndarray
    atom_share: np.ndarray
    atom_estimated: np.ndarray
    atom_row: np.ndarray
    figures: np.ndarray
    attribution: str

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def node_totals(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Sum of atom shares per node, optionally times per-atom ``weights``."""
        values = self.atom_share if weights is None else self.atom_share * weights
        return np.bincount(self.atom_node, weights=values, minlength=self.n_nodes)


def _provision_with_types(tm: TechMap, attribution: str) -> pd.DataFrame:
    providers = tm.provider_rows
    rows = tm.provision[["node_id", "provider_id", "share"]].copy()
    rows["row"] = np.arange(len(rows))
    rows["ptype"] = rows["provider_id"].map(providers["type"])
    hq = rows["provider_id"].map(providers["country"])
    country_level = rows["ptype"].isin(COUNTRY_LEVEL)
    rows["hq"] = hq.where(~country_level, rows["provider_id"])
    rows["code"] = rows["hq"]
    if attribution == "site":
        site = rows["provider_id"].map(providers["site_country"])
        rows["code"] = site.where(site.notna() & (rows["ptype"] == "firm"), rows["hq"])
    rows["code"] = rows["code"].fillna(UNATTRIBUTED)
    rows["hq"] = rows["hq"].fillna(UNATTRIBUTED)
    rows["is_firm"] = rows["ptype"] == "firm"
    return rows


def _figure_atoms(rows: pd.DataFrame, residual_codes: frozenset[str]) -> pd.DataFrame:
    """Atoms from rows with figures: country totals, split by the firms inside them."""
    numeric = rows[rows["share"].notna()]
    countries = numeric[~numeric["is_firm"]]
    firms = numeric[numeric["is_firm"]]
    country_nodes = set(countries["node_id"])
    firm_sums = firms[firms["node_id"].isin(country_nodes)].groupby(["node_id", "hq"])["share"].sum()
    keys = pd.MultiIndex.from_arrays([countries["node_id"], countries["code"]], names=["node_id", "hq"])
    taken = firm_sums.reindex(keys).fillna(0.0).to_numpy()
    country_atoms = countries.assign(share=np.maximum(countries["share"].to_numpy() - taken, 0.0), firm=None)
    # A residual firm ("Various companies") is already inside the country rows' totals.
    residual_firm = firms["hq"].isin(residual_codes) & firms["node_id"].isin(country_nodes)
    firms = firms[~residual_firm]
    # Country rows win: firms summing (by rounding) above their country's row are scaled to it.
    country_total = pd.Series(countries["share"].to_numpy(), index=keys).groupby(level=[0, 1]).sum()
    firm_keys = pd.MultiIndex.from_arrays([firms["node_id"], firms["hq"]])
    scale = (country_total / firm_sums).clip(upper=1.0).reindex(firm_keys).fillna(1.0).to_numpy()
    firm_atoms = firms.assign(firm=firms["provider_id"], share=firms["share"].to_numpy() * scale)
    return pd.concat([country_atoms, firm_atoms], ignore_index=True)[["node_id", "code", "firm", "share", "row"]]


def _qualitative_atoms(rows: pd.DataFrame, figure_atoms: pd.DataFrame) -> pd.DataFrame:
    """Split what the figures leave unassigned among qualitative providers (or UNATTRIBUTED)."""
    assigned = figure_atoms.groupby("node_id")["share"].sum()
    qualitative = rows[rows["share"].isna()]
    # The most aggregate level the node gives (any country-level row, with or without a
    # figure) holds the qualitative rest; firms are inside their countries there.
    country_nodes = set(rows.loc[~rows["is_firm"], "node_id"])
    qualitative = qualitative[~(qualitative["is_firm"] & qualitative["node_id"].isin(country_nodes))]
    rest = (1.0 - qualitative["node_id"].map(assigned).astype("float64").fillna(0.0)).clip(lower=0.0)
    count = qualitative.groupby("node_id")["node_id"].transform("size")
    estimated = qualitative.assign(share=rest / count, firm=qualitative["provider_id"].where(qualitative["is_firm"]))
    unlisted = assigned[(assigned < 1.0) & ~assigned.index.isin(set(qualitative["node_id"]))]
    unattributed = pd.DataFrame(
        {"node_id": unlisted.index, "code": UNATTRIBUTED, "firm": None, "share": 1.0 - unlisted.to_numpy(), "row": -1}
    )
    estimated = estimated[["node_id", "code", "firm", "share", "row"]].assign(estimated=True)
    return pd.concat([estimated, unattributed.assign(estimated=False)], ignore_index=True)


@per_map
def build_supply(tm: TechMap, attribution: str = "hq") -> Supply:
    """Decompose every node's supply into atoms (see the module docstring for the rules).

    Parameters
    ----------
    tm : TechMap
    attribution : {"hq", "site"}
        Attribute firms to their headquarters country (default) or, where known, to the
        country of their production site.
    """
    if attribution not in ATTRIBUTIONS:
        raise RequestError(f"attribution must be one of {', '.join(ATTRIBUTIONS)}, not '{attribution}'", field="attribution")
    rows = _provision_with_types(tm, attribution)
    figures = _figure_atoms(rows, tm.residual_codes).assign(estimated=False)
    atoms = pd.concat([figures, _qualitative_atoms(rows, figures)], ignore_index=True)
    atoms = atoms[atoms["share"] > 0].reset_index(drop=True)
    codes = tuple(sorted(set(tm.country_codes) | set(atoms["code"])))
    firms = tuple(sorted(set(atoms["firm"].dropna())))
    code_index = {c: i for i, c in enumerate(codes)}
    firm_index = {f: i for i, f in enumerate(firms)}
    node_index = tm.node_index
    return Supply(
        node_ids=tm.node_ids,
        codes=codes,
        firms=firms,
        atom_node=atoms["node_id"].map(node_index).to_numpy(dtype=np.int64),
        atom_code=atoms["code"].map(code_index).to_numpy(dtype=np.int64),
        atom_firm=atoms["firm"].map(firm_index).fillna(-1).to_numpy(dtype=np.int64),
        atom_share=atoms["share"].to_numpy(dtype=np.float64),
        atom_estimated=atoms["estimated"].to_numpy(dtype=bool),
        atom_row=atoms["row"].to_numpy(dtype=np.int64),
        figures=_figure_kinds(tm, rows),
        attribution=attribution,
    )


def _figure_kinds(tm: TechMap, rows: pd.DataFrame) -> np.ndarray:
    numeric = set(rows.loc[rows["share"].notna(), "node_id"])
    listed = set(rows["node_id"])
    ids = pd.Series(tm.node_ids)
    kinds = np.where(ids.isin(numeric), "share", np.where(ids.isin(listed), "qualitative", "none"))
    return kinds.astype(object)
