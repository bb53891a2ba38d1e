"""Compile a technology map into a firm network, so the dynamic engine runs on it.

Each supply atom of each node (a provider and its share, :mod:`coreatlas.analysis.supply`)
becomes a firm whose baseline output is ``share x V_N``, the node's volume. A node with
no provider data becomes one firm (region ``(any)``) that only transforms its inputs.

Inputs. Node ``C`` has input groups: one per ``uses`` or ``bundles`` target, and one
for its variants (``variant_of``) if it has any. It spends ``input_share`` of its output
on inputs, equally over its groups: ``a_C = input_share / groups(C)``. Firm ``q`` of ``C``
buys ``a_C V_C s_q w_p`` from firm ``p`` of an input, where ``s_q`` is ``q``'s share of
``C`` and ``w_p`` is ``p``'s share of the input group (variants weighted by market size,
as the static model pools them). The firms of one input node form one sector, and all
variants of a node one sector, so they substitute for each other in the Inoue–Todo sense.

Volumes solve ``V = f + M V`` where ``f_N = 1`` for nodes no other node uses (final
products) and ``M`` holds the input coefficients: every final product is one unit of
final demand a day. Bundles are compiled as plain inputs: the firm model has no
single-vendor constraint (docs/dynamics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from coreatlas.analysis.graph import size_weights
from coreatlas.analysis.supply import Supply
from coreatlas.model.firms import FirmNetwork, firm_network
from coreatlas.model.techmap import TechMap

__all__ = ["MapFirms", "firms_from_map", "map_capacity_loss"]

ANY_REGION = "(any)"


@dataclass(frozen=True, eq=False)
class MapFirms:
    """A compiled map: the network and, per firm, its supply atom (-1 for a node's single firm)."""

    network: FirmNetwork
    firm_atom: np.ndarray
    firm_node: np.ndarray


def _firms(tm: TechMap, supply: Supply) -> pd.DataFrame:
    """One row per firm: node, atom, share of the node, region label and firm id."""
    s = supply
    totals = np.bincount(s.atom_node, s.atom_share, s.n_nodes)
    keep = s.atom_share > 0
    atoms = pd.DataFrame({"node": s.atom_node[keep], "atom": np.flatnonzero(keep)})
    atoms["share"] = s.atom_share[keep] / totals[atoms["node"]]
    atoms["region"] = np.asarray(s.codes, dtype=object)[s.atom_code[keep]]
    firm_names = np.asarray([*s.firms, ""], dtype=object)[s.atom_firm[keep]]
    atoms["who"] = np.where(firm_names != "", firm_names, atoms["region"])
    empty = np.setdiff1d(np.arange(s.n_nodes), atoms["node"])
    lone = pd.DataFrame({"node": empty, "atom": -1, "share": 1.0, "region": ANY_REGION, "who": ANY_REGION})
    firms = pd.concat([atoms, lone], ignore_index=True).sort_values(["node", "atom"], ignore_index=True)
    node_ids = np.asarray(tm.nodes["node_id"], dtype=object)
    firms["firm_id"] = node_ids[firms["node"]] + "|" + firms["who"].astype(str)
    return firms


def _input_groups(tm: TechMap) -> pd.DataFrame:
    """``consumer, input, group, weight``: each input node of each consumer, in groups."""
    index = tm.node_index
    uses = pd.concat([tm.edges("uses"), tm.edges("bundles")], ignore_index=True)
    direct = pd.DataFrame({"consumer": uses["node_id"].map(index), "input": uses["target_id"].map(index)})
    direct["group"] = "input:" + uses["target_id"].astype(str).to_numpy()
    direct["weight"] = 1.0
    variants = tm.edges("variant_of")
    parent = variants["target_id"].map(index).to_numpy(dtype=np.int64)
    sizes = tm.nodes["market_size_usd"].to_numpy(dtype=float)[variants["node_id"].map(index).to_numpy(dtype=np.int64)]
    pooled = pd.DataFrame({"consumer": parent, "input": variants["node_id"].map(index).to_numpy(dtype=np.int64)})
    pooled["group"] = "variants:" + variants["target_id"].astype(str).to_numpy()
    pooled["weight"] = size_weights(sizes, parent, len(tm.nodes))
    groups = pd.concat([direct, pooled], ignore_index=True).drop_duplicates(["consumer", "input"])
    groups["coefficient"] = 1.0 / groups.groupby("consumer")["group"].transform("nunique")
    return groups


def _volumes(n_nodes: int, groups: pd.DataFrame, input_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``V = f + M V`` (``M[input, consumer] = input_share a w``); final products ``f = 1``."""
    final = np.ones(n_nodes)
    final[groups["input"].to_numpy(dtype=np.int64)] = 0.0
    coefficient = input_share * groups["coefficient"].to_numpy() * groups["weight"].to_numpy()
    m = sp.csr_matrix((coefficient, (groups["input"], groups["consumer"])), shape=(n_nodes, n_nodes))
    return np.atleast_1d(spla.spsolve((sp.identity(n_nodes, format="csc") - m).tocsc(), final)), final


def _links(firms: pd.DataFrame, groups: pd.DataFrame, volume: np.ndarray, input_share: float) -> pd.DataFrame:
    """Every firm of each consumer buys from every firm of each of its inputs."""
    buyers = firms.reset_index(names="client")[["client", "node", "share"]].rename(columns={"node": "consumer", "share": "client_share"})
    sellers = firms.reset_index(names="supplier")[["supplier", "node", "share"]].rename(
        columns={"node": "input", "share": "supplier_share"}
    )
    pairs = groups.merge(buyers, on="consumer").merge(sellers, on="input")
    pairs["amount"] = (
        input_share * pairs["coefficient"] * pairs["weight"] * volume[pairs["consumer"]] * pairs["client_share"] * pairs["supplier_share"]
    )
    return pairs[pairs["amount"] > 0]


def firms_from_map(tm: TechMap, supply: Supply, input_share: float = 0.5) -> MapFirms:
    """Compile ``tm`` (with its atoms ``supply``) into a firm network (module docstring)."""
    firms = _firms(tm, supply)
    groups = _input_groups(tm)
    volume, final = _volumes(len(tm.nodes), groups, input_share)
    links = _links(firms, groups, volume, input_share)
    sector_of_node = pd.Series(np.asarray(tm.nodes["node_id"], dtype=object))
    variant_sector = groups[groups["group"].str.startswith("variants:")].drop_duplicates("input").set_index("input")["group"]
    sector_label = sector_of_node.where(~sector_of_node.index.isin(variant_sector.index), variant_sector.reindex(sector_of_node.index))
    sector_codes, sector_names = pd.factorize(sector_label.to_numpy()[firms["node"]], sort=True)
    region_codes, region_names = pd.factorize(firms["region"], sort=True)
    network = firm_network(
        links["supplier"].to_numpy(), links["client"].to_numpy(), links["amount"].to_numpy(),
        final[firms["node"]] * firms["share"].to_numpy(), sector_codes, region_codes,
        firm_ids=firms["firm_id"].to_numpy(), sector_names=tuple(sector_names), region_names=tuple(region_names),
        meta={"map": tm.meta.name, "map_version": tm.meta.version, "input_share": input_share},
    )  # fmt: skip
    return MapFirms(network, firms["atom"].to_numpy(dtype=np.int64), firms["node"].to_numpy(dtype=np.int64))


def map_capacity_loss(compiled: MapFirms, atom_factor: np.ndarray) -> np.ndarray:
    """Capacity loss per firm from the static engine's per-atom factors (1 - factor)."""
    factor = np.r_[atom_factor, 1.0][compiled.firm_atom]
    return np.clip(1.0 - factor, 0.0, 1.0)
