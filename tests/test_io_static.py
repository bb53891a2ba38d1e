"""Static input–output analysis and the MRIO adapters, against the textbook, dense numpy and pymrio."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pymrio
import pytest

from coreatlas.analysis import io_static
from coreatlas.analysis.io_static import (
    allocation_coefficients,
    ghosh_multipliers,
    ghosh_output,
    hypothetical_extraction,
    leontief_multipliers,
    leontief_output,
    linkages,
    technical_coefficients,
    value_added_content,
)
from coreatlas.errors import DataSourceError, ValidationError
from coreatlas.io.mrio import aggregate, from_pymrio, load_test_table, read_table_folder, to_pymrio, write_table_folder
from coreatlas.model.mrio import mrio_table

approx = pytest.approx
TIGHT = {"rel": 1e-9, "abs": 1e-9}


@pytest.fixture(scope="module")
def book():
    """Miller & Blair (2009), ch. 2, two-sector example: Z = [[150, 500], [200, 100]], f = [350, 1700]."""
    return mrio_table(["r"], ["s1", "s2"], [[150.0, 500.0], [200.0, 100.0]], [[350.0], [1700.0]])


@pytest.fixture(scope="module")
def three():
    """Our own 3-sector example (not from the book), checked against dense numpy only."""
    Z = [[20.0, 40.0, 10.0], [30.0, 10.0, 60.0], [10.0, 50.0, 5.0]]
    return mrio_table(["r"], ["a", "b", "c"], Z, [[30.0], [50.0], [80.0]])


@pytest.fixture(scope="module")
def test_table():
    return load_test_table()


@pytest.fixture(scope="module")
def pm():
    return pymrio.load_test().calc_all(include_ghosh=True)


def dense(table) -> dict[str, np.ndarray]:
    """A, L, B, G by dense numpy inverses (the reference computation)."""
    Z, x = table.Z.toarray(), table.x
    eye = np.eye(len(x))
    A, B = Z / x[None, :], Z / x[:, None]
    return {"A": A, "L": np.linalg.inv(eye - A), "B": B, "G": np.linalg.inv(eye - B)}


def dense_extraction(table, S: np.ndarray) -> tuple[float, float, float]:
    """Complete, backward and forward extraction of industries ``S`` by direct deletion (dense)."""
    d, x, f, v = dense(table), table.x, table.Y.sum(axis=1), table.value_added
    eye, rest = np.eye(len(x)), np.setdiff1d(np.arange(len(x)), S)
    kept = np.linalg.solve(eye[np.ix_(rest, rest)] - d["A"][np.ix_(rest, rest)], f[rest])
    A_bar, B_bar = d["A"].copy(), d["B"].copy()
    A_bar[:, S], B_bar[S, :] = 0.0, 0.0
    backward = np.linalg.solve(eye - A_bar, f)
    forward = np.linalg.solve((eye - B_bar).T, v)
    return x.sum() - kept.sum(), (x - backward).sum(), (x - forward).sum()


def random_table(seed: int, n_regions: int = 3, n_sectors: int = 4):
    """A random productive table with some zero flows (column sums of A well below 1)."""
    rng = np.random.default_rng(seed)
    n = n_regions * n_sectors
    Z = rng.uniform(0, 10, (n, n)) * (rng.random((n, n)) < 0.6)
    Y = rng.uniform(5, 50, (n, 2 * n_regions)) * (rng.random((n, 2 * n_regions)) < 0.7)
    Y[:, 0] += 1.0  # every industry sells some final demand, so x > 0
    return mrio_table([f"R{i}" for i in range(n_regions)], [f"S{j}" for j in range(n_sectors)], Z, Y, ("hh", "gov"))


# ---- Miller & Blair two-sector example -------------------------------------------------


def test_book_coefficients_and_inverse(book):
    assert book.x == approx([1000.0, 2000.0])
    assert technical_coefficients(book).toarray() == approx(np.array([[0.15, 0.25], [0.2, 0.05]]), abs=1e-12)
    inverse = leontief_output(book, np.eye(2))  # the columns of L
    assert inverse == approx(np.array([[1.2541, 0.3300], [0.2640, 1.1221]]), abs=5e-5)  # book, 4 d.p.
    assert inverse == approx(dense(book)["L"], **TIGHT)


def test_book_new_final_demand(book):
    assert leontief_output(book, [600.0, 1500.0]) == approx([1247.52, 1841.58], abs=5e-3)  # book, 2 d.p.
    assert leontief_output(book, [350.0, 1700.0]) == approx(book.x, **TIGHT)


def test_book_output_multipliers(book):
    m = leontief_multipliers(book)
    assert m["output_multiplier"].to_numpy() == approx([1.5181, 1.4521], abs=1e-4)  # book: sums of the rounded L
    assert m["output_multiplier"].to_numpy() == approx(dense(book)["L"].sum(axis=0), **TIGHT)
    assert m["backward_linkage"].mean() == approx(1.0)
    assert list(m.columns) == ["region", "sector", "output_multiplier", "backward_linkage"]


def test_book_ghosh(book):
    d = dense(book)
    assert allocation_coefficients(book).toarray() == approx(np.array([[0.15, 0.5], [0.1, 0.05]]), abs=1e-12)
    assert ghosh_multipliers(book)["forward_multiplier"].to_numpy() == approx(d["G"].sum(axis=1), **TIGHT)
    assert ghosh_output(book, book.value_added) == approx(book.x, **TIGHT)


def test_book_extraction_by_hand(book):
    # extract s1: s2 alone, x2 = 1700 / (1 - 0.05) = 1789.4737, loss = 3000 - 1789.4737
    # extract s2: s1 alone, x1 = 350 / (1 - 0.15) = 411.7647, loss = 3000 - 411.7647
    result = hypothetical_extraction(book, by="industry")
    assert result["output_loss"].to_numpy() == approx([3000 - 1700 / 0.95, 3000 - 350 / 0.85], rel=1e-12)
    assert result["output_loss_share"].to_numpy() == approx([(3000 - 1700 / 0.95) / 3000, (3000 - 350 / 0.85) / 3000], rel=1e-12)
    # backward extraction of s1 (column 1 of A zero): x2 = 1700 / 0.95, x1 = 350 + 0.25 x2
    x2 = 1700 / 0.95
    assert result["total_backward_linkage"].iloc[0] == approx(3000 - x2 - (350 + 0.25 * x2), rel=1e-12)
    assert hypothetical_extraction(book, by="region")["output_loss"].to_numpy() == approx([3000.0])  # nothing left


def test_book_extraction_dense(book):
    result = hypothetical_extraction(book, by="industry")
    for j in range(2):
        expected = dense_extraction(book, np.array([j]))
        got = result.iloc[j][["output_loss", "total_backward_linkage", "total_forward_linkage"]].to_numpy(dtype=float)
        assert got == approx(expected, **TIGHT)


# ---- our three-sector example ----------------------------------------------------------


def test_three_sector_against_dense(three):
    d = dense(three)
    assert technical_coefficients(three).toarray() == approx(d["A"], **TIGHT)
    assert leontief_output(three, np.eye(3)) == approx(d["L"], **TIGHT)
    f = np.array([10.0, 20.0, 30.0])
    assert leontief_output(three, f) == approx(d["L"] @ f, **TIGHT)
    assert ghosh_output(three, f) == approx(f @ d["G"], **TIGHT)
    frame = linkages(three)
    assert frame["output_multiplier"].to_numpy() == approx(d["L"].sum(axis=0), **TIGHT)
    assert frame["forward_multiplier"].to_numpy() == approx(d["G"].sum(axis=1), **TIGHT)
    assert frame["forward_linkage"].to_numpy() == approx(d["G"].sum(axis=1) / d["G"].sum(axis=1).mean(), **TIGHT)


# ---- against pymrio on its test table --------------------------------------------------


def ours(frame: pd.DataFrame, table) -> np.ndarray:
    """A pymrio frame in our (region-major) order."""
    rows = pd.MultiIndex.from_tuples(table.labels())
    return frame.reindex(index=rows, columns=rows if frame.shape[1] == len(rows) else frame.columns).to_numpy(dtype=float)


def test_against_pymrio(test_table, pm):
    assert test_table.regions == tuple(pm.get_regions()) and test_table.sectors == tuple(pm.get_sectors())
    assert technical_coefficients(test_table).toarray() == approx(ours(pm.A, test_table), rel=1e-9, abs=1e-15)
    assert test_table.x == approx(ours(pm.x, test_table).ravel(), rel=1e-9)
    frame = linkages(test_table)
    assert frame["output_multiplier"].to_numpy() == approx(ours(pm.L, test_table).sum(axis=0), rel=1e-9)
    assert frame["forward_multiplier"].to_numpy() == approx(ours(pm.G, test_table).sum(axis=1), rel=1e-9)
    assert test_table.unit == "Mill USD"
    assert len(test_table.fd_categories) == 7 and test_table.Y.sum() == approx(pm.Y.to_numpy().sum(), rel=1e-12)


def test_from_pymrio_reorders_by_index(test_table):
    io = pymrio.load_test()
    rng = np.random.default_rng(0)
    rows, cols = rng.permutation(len(io.Z)), rng.permutation(io.Y.shape[1])
    io.Z = io.Z.iloc[rows, rng.permutation(len(io.Z))]
    io.Y = io.Y.iloc[rows, cols]
    shuffled = from_pymrio(io)
    assert shuffled.regions == tuple(io.get_regions()) != test_table.regions  # pymrio's order of appearance
    assert shuffled.labels() == [(r, s) for r in shuffled.regions for s in shuffled.sectors]
    back = to_pymrio(shuffled)
    assert ours(back.Z, test_table) == approx(test_table.Z.toarray(), rel=1e-15)
    fd = pd.MultiIndex.from_product([test_table.regions, test_table.fd_categories])
    assert back.Y.reindex(index=pd.MultiIndex.from_tuples(test_table.labels()), columns=fd).to_numpy() == approx(test_table.Y, rel=1e-15)


def test_negative_final_demand_is_netted_within_rows():
    io = pymrio.load_test()
    Y = io.Y.copy()
    inventories = Y.columns.get_level_values("category") == "Changes in inventories"
    draw_down = -0.01 * Y.loc[:, ~inventories].to_numpy().sum(axis=1, keepdims=True) / inventories.sum()
    Y.loc[:, inventories] = np.repeat(draw_down, inventories.sum(), axis=1)
    io.Y = Y
    table = from_pymrio(io)
    x = io.Z.to_numpy().sum(axis=1) + Y.to_numpy().sum(axis=1)  # pymrio's x, with the negative entries
    assert (table.Y >= 0).all()
    assert table.x == approx(ours(pd.DataFrame(x, index=io.Z.index), table).ravel(), rel=1e-12)
    assert table.meta["negative_final_demand_clipped"] == approx(-Y.to_numpy()[Y.to_numpy() < 0].sum(), rel=1e-12)
    assert table.meta["negative_final_demand_unabsorbed"] == 0.0


def test_negative_row_total_is_clipped_and_recorded():
    rows = pd.MultiIndex.from_product([["r"], ["a", "b"]], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([["r"], ["hh", "inv"]], names=["region", "category"])
    io = pymrio.IOSystem(
        Z=pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=rows, columns=rows),
        Y=pd.DataFrame([[5.0, -1.0], [1.0, -3.0]], index=rows, columns=cols),
    )
    table = from_pymrio(io)
    netted = table.Y
    assert netted == approx(np.array([[4.0, 0.0], [0.0, 0.0]]))  # row a: 5 scaled by (5-1)/5; row b: net -2, set to 0
    assert table.meta["negative_final_demand_clipped"] == approx(4.0)
    assert table.meta["negative_final_demand_unabsorbed"] == approx(2.0)
    assert table.x == approx([7.0, 7.0])


def test_to_pymrio_round_trip(test_table):
    back = from_pymrio(to_pymrio(test_table))
    assert (back.Z != test_table.Z).nnz == 0 and np.array_equal(back.Y, test_table.Y)
    assert back.fd_categories == test_table.fd_categories and back.unit == test_table.unit


# ---- hypothetical extraction -----------------------------------------------------------


@pytest.mark.parametrize("by", ["region", "sector", "industry"])
def test_extraction_of_test_table_matches_dense(test_table, by):
    result = hypothetical_extraction(test_table, by=by)
    grid = np.arange(test_table.n_industries).reshape(len(test_table.regions), len(test_table.sectors))
    groups = {"region": grid, "sector": grid.T, "industry": grid.reshape(-1, 1)}[by]
    expected = np.array([dense_extraction(test_table, S) for S in groups])
    got = result[["output_loss", "total_backward_linkage", "total_forward_linkage"]].to_numpy(dtype=float)
    assert got == approx(expected, rel=1e-9, abs=1e-9 * test_table.x.sum())
    assert result["output_loss_share"].to_numpy() == approx(expected[:, 0] / test_table.x.sum(), rel=1e-9)
    assert len(result) == len(groups)


def test_extraction_labels(test_table):
    assert list(hypothetical_extraction(test_table, "region")["region"]) == list(test_table.regions)
    assert list(hypothetical_extraction(test_table, "sector")["sector"]) == list(test_table.sectors)
    industry = hypothetical_extraction(test_table, "industry")
    assert list(zip(industry["region"], industry["sector"], strict=True)) == test_table.labels()
    with pytest.raises(ValidationError, match="country"):
        hypothetical_extraction(test_table, "country")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("by", ["region", "sector", "industry"])
def test_extraction_random_tables(seed, by):
    table = random_table(seed)
    result = hypothetical_extraction(table, by=by)
    grid = np.arange(table.n_industries).reshape(len(table.regions), len(table.sectors))
    groups = {"region": grid, "sector": grid.T, "industry": grid.reshape(-1, 1)}[by]
    expected = np.array([dense_extraction(table, S) for S in groups])
    got = result[["output_loss", "total_backward_linkage", "total_forward_linkage"]].to_numpy(dtype=float)
    assert got == approx(expected, rel=1e-9, abs=1e-9 * table.x.sum())


def test_extraction_loss_bounds(test_table):
    """Loss >= output driven by the region's own final demand (m_S' f_S) >= 0, and loss >= own output."""
    result = hypothetical_extraction(test_table, "region")
    m, f, x = dense(test_table)["L"].sum(axis=0), test_table.Y.sum(axis=1), test_table.x
    grid = np.arange(test_table.n_industries).reshape(len(test_table.regions), -1)
    own_driven, own_output = (m[grid] * f[grid]).sum(axis=1), x[grid].sum(axis=1)
    assert (result["output_loss"].to_numpy() >= own_driven * (1 - 1e-12)).all()
    assert (result["output_loss_share"].to_numpy() >= own_driven / x.sum() * (1 - 1e-12)).all()
    assert (result["output_loss"].to_numpy() >= own_output * (1 - 1e-12)).all()
    assert (result[["total_backward_linkage", "total_forward_linkage"]].to_numpy() >= -1e-9).all()
    assert result["output"].to_numpy() == approx(own_output)


# ---- value added content ---------------------------------------------------------------


def test_value_added_content(test_table):
    va = value_added_content(test_table)
    R = len(test_table.regions)
    demand = test_table.Y.reshape(test_table.n_industries, R, -1).sum(axis=2)
    totals = va.groupby("consumer_region", sort=False)["value_added"].sum().to_numpy()
    assert totals == approx(demand.sum(axis=0), rel=1e-9)
    d = dense(test_table)
    embodied = (test_table.value_added / test_table.x)[:, None] * (d["L"] @ demand)
    expected = embodied.reshape(R, -1, R).sum(axis=1).T.ravel()
    assert va["value_added"].to_numpy() == approx(expected, rel=1e-9)
    assert va.groupby("consumer_region")["share"].sum().to_numpy() == approx(np.ones(R))
    assert list(va.columns) == ["consumer_region", "supplier_region", "value_added", "share"]
    assert len(va) == R * R


# ---- errors ----------------------------------------------------------------------------


def test_singular_and_shape_errors(book):
    circular = mrio_table(["r"], ["a", "b"], [[0.0, 1.0], [1.0, 0.0]], [[0.0], [0.0]])  # A = [[0,1],[1,0]]
    with pytest.raises(ValidationError, match="singular"):
        leontief_multipliers(circular)
    with pytest.raises(ValidationError, match="one row per industry"):
        leontief_output(book, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("by", ["region", "industry"])
def test_sparse_lu_path_agrees(test_table, monkeypatch, by):
    """Above DENSE_MAX industries the SuperLU path is used; force it on the test table."""
    dense_results = (linkages(test_table), hypothetical_extraction(test_table, by), value_added_content(test_table))
    monkeypatch.setattr(io_static, "DENSE_MAX", 0)
    monkeypatch.setattr(io_static, "BLOCK_BYTES", 8 * 48 * 5)  # several batches of right-hand sides
    assert io_static._factor(technical_coefficients(test_table)).sparse is not None
    sparse_results = (linkages(test_table), hypothetical_extraction(test_table, by), value_added_content(test_table))
    for ours_dense, ours_sparse in zip(dense_results, sparse_results, strict=True):
        numeric = ours_dense.select_dtypes("number").columns
        assert ours_sparse[numeric].to_numpy() == approx(ours_dense[numeric].to_numpy(), rel=1e-9, abs=1e-9)
    circular = mrio_table(["r"], ["a", "b"], [[0.0, 1.0], [1.0, 0.0]], [[0.0], [0.0]])
    with pytest.raises(ValidationError, match="singular"):
        leontief_multipliers(circular)


# ---- aggregation -----------------------------------------------------------------------


def test_aggregate_all_regions_keeps_totals(test_table):
    world = aggregate(test_table, {"world": list(test_table.regions)})
    assert world.regions == ("world",) and world.sectors == test_table.sectors
    assert world.x.sum() == approx(test_table.x.sum(), rel=1e-12)
    assert world.Z.sum() == approx(test_table.Z.sum(), rel=1e-12)
    assert world.Y.sum() == approx(test_table.Y.sum(), rel=1e-12)
    assert world.x == approx(test_table.x.reshape(len(test_table.regions), -1).sum(axis=0), rel=1e-12)


def test_aggregate_matches_pymrio(test_table):
    blocs = {"north": ["reg1", "reg3"], "south": ["reg2", "reg5"]}
    groups = {"primary": ["food", "mining"], "services": ["trade", "transport", "other"]}
    ours_agg = aggregate(test_table, blocs, groups)
    assert ours_agg.regions == ("north", "south", "reg4", "reg6")
    assert ours_agg.sectors == ("primary", "manufactoring", "electricity", "construction", "services")
    region_of = {r: g for g, members in blocs.items() for r in members}
    sector_of = {s: g for g, members in groups.items() for s in members}
    io = pymrio.load_test()
    theirs = io.aggregate(
        region_agg=[region_of.get(r, r) for r in io.get_regions()],
        sector_agg=[sector_of.get(s, s) for s in io.get_sectors()],
        inplace=False,
    )
    assert ours_agg.Z.toarray() == approx(ours(theirs.Z, ours_agg), rel=1e-12)


def test_aggregate_errors(test_table):
    with pytest.raises(ValidationError, match="atlantis"):
        aggregate(test_table, {"bloc": ["reg1", "atlantis"]})
    with pytest.raises(ValidationError, match="widgets"):
        aggregate(test_table, None, {"g": ["widgets"]})
    with pytest.raises(ValidationError, match="two groups"):
        aggregate(test_table, {"a": ["reg1"], "b": ["reg1", "reg2"]})
    with pytest.raises(ValidationError, match="ungrouped"):
        aggregate(test_table, {"reg1": ["reg2"]})


# ---- table folders ---------------------------------------------------------------------


def same_table(a, b) -> None:
    assert a.regions == b.regions and a.sectors == b.sectors and a.fd_categories == b.fd_categories
    assert (a.Z != b.Z).nnz == 0 and np.array_equal(a.Y, b.Y)
    assert a.unit == b.unit


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_folder_round_trip(test_table, tmp_path, fmt):
    folder = write_table_folder(test_table, tmp_path / "t", fmt=fmt)
    back = read_table_folder(folder)
    same_table(back, test_table)
    assert back.meta == test_table.meta
    assert json.loads((folder / "meta.json").read_text())["files"]["Z"] == f"intermediate.{fmt}"
    with pytest.raises(DataSourceError, match="not empty"):
        write_table_folder(test_table, folder, fmt=fmt)


def test_folder_from_pymrio_save_all(test_table, tmp_path):
    pymrio.load_test().save_all(tmp_path / "pm")
    same_table(read_table_folder(tmp_path / "pm"), test_table)


def test_folder_errors(tmp_path, book):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="neither"):
        read_table_folder(tmp_path / "empty")
    with pytest.raises(DataSourceError, match="not a folder"):
        read_table_folder(tmp_path / "missing")
    folder = write_table_folder(book, tmp_path / "book", fmt="csv")
    triplets = pd.read_csv(folder / "intermediate.csv")
    triplets.loc[0, "seller_sector"] = "unobtainium"
    triplets.to_csv(folder / "intermediate.csv", index=False)
    with pytest.raises(ValidationError, match="unobtainium"):
        read_table_folder(folder)
