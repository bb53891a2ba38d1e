"""The stage-column layout: positions computed on the server, deterministic."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from coreatlas.services.inputs import load_map
from coreatlas.web import stage_layout
from coreatlas.web.layout import COLUMN_WIDTH, NO_STAGE, OUTPUT_STAGE, ROW_HEIGHT, STAGE_GAP, rows_per_column


def _node(node_id, stage="", kind="process"):
    return {"node_id": node_id, "name": node_id.title(), "kind": kind, "stage": stage or None}


def _centre(column_left: int, sub: int = 0, row: int = 0) -> tuple[int, int]:
    return column_left + sub * COLUMN_WIDTH + COLUMN_WIDTH // 2, row * ROW_HEIGHT + ROW_HEIGHT // 2


def test_columns_run_from_inputs_to_outputs():
    nodes = [_node("chip", kind="output"), _node("fab", "Make"), _node("tool", "Make", "tool"), _node("design", "Design", "design"),
             _node("sand", "Raw", "material"), _node("loose", kind="material")]  # fmt: skip
    relations = [("chip", "uses", "fab"), ("fab", "uses", "tool"), ("fab", "uses", "design"), ("tool", "uses", "sand")]
    layout = stage_layout(nodes, relations)
    assert [s["key"] for s in layout["stages"]] == ["Raw", "Design", "Make", NO_STAGE, OUTPUT_STAGE]
    left = {s["key"]: s["left"] for s in layout["stages"]}
    assert left["Raw"] == 0 and left["Design"] == COLUMN_WIDTH + STAGE_GAP  # one sub-column each, a gap between stages
    at = {n["id"]: (n["x"], n["y"]) for n in layout["nodes"]}
    assert at["sand"] == _centre(0)
    assert at["chip"] == _centre(left[OUTPUT_STAGE])
    assert at["fab"] == _centre(left["Make"]) and at["tool"] == _centre(left["Make"], row=1)  # the nodes table's order
    assert {(e["source"], e["target"]) for e in layout["edges"]} == {("fab", "chip"), ("tool", "fab"), ("design", "fab"), ("sand", "tool")}


def test_a_node_without_a_stage_takes_the_stage_of_the_node_it_feeds_and_sits_under_it():
    nodes = [_node("chip", kind="output"), _node("litho", "Fab"), _node("etch", "Fab"), _node("etcher", kind="tool"),
             _node("scanner", kind="tool"), _node("euv", kind="tool"), _node("lonely", kind="tool")]  # fmt: skip
    relations = [("chip", "uses", "litho"), ("chip", "uses", "etch"), ("litho", "uses", "scanner"), ("euv", "variant_of", "scanner"),
                 ("etch", "uses", "etcher")]  # fmt: skip
    layout = stage_layout(nodes, relations)
    by = {n["id"]: n for n in layout["nodes"]}
    assert {by[i]["stage"] for i in ("etcher", "scanner", "euv")} == {"Fab"} and by["lonely"]["stage"] == NO_STAGE
    assert by["scanner"]["stage_inferred"] and not by["litho"]["stage_inferred"]
    order = sorted((n for n in layout["nodes"] if n["stage"] == "Fab"), key=lambda n: (n["sub"], n["row"]))
    assert [n["id"] for n in order] == ["litho", "scanner", "euv", "etch", "etcher"]  # each process followed by what feeds it


def test_a_long_stage_wraps_into_even_sub_columns():
    nodes = [_node("out", kind="output"), *[_node(f"n{i:02}", "Big") for i in range(30)], _node("d", "Small")]
    relations = [("out", "uses", f"n{i:02}") for i in range(30)] + [("n00", "uses", "d")]
    layout = stage_layout(nodes, relations)
    big = next(s for s in layout["stages"] if s["key"] == "Big")
    assert big["subcolumns"] >= 2 and layout["rows"] < 30
    per_sub = [sum(1 for n in layout["nodes"] if n["stage"] == "Big" and n["sub"] == k) for k in range(big["subcolumns"])]
    assert max(per_sub) - min(per_sub) <= 1 and sum(per_sub) == 30
    assert rows_per_column([1]) == 1 and rows_per_column([3, 40]) < 40


def test_a_variant_sits_with_its_target_and_a_cycle_ends():
    nodes = [_node("out", "Out", "output"), _node("amp", "Chips"), _node("gan", "Chips"), _node("a", "Loop"), _node("b", "Loop")]
    relations = [("out", "uses", "amp"), ("gan", "variant_of", "amp"), ("out", "uses", "a"), ("a", "uses", "b"), ("b", "uses", "a")]
    layout = stage_layout(nodes, relations)
    depth = {n["id"]: n["depth"] for n in layout["nodes"]}
    assert depth["gan"] == depth["amp"] == 1
    assert depth["a"] >= 1 and depth["b"] >= 1


def test_every_builtin_map_gets_one_place_per_node():
    for name in ("chips", "materials", "quantum", "sequencing", "telecom-ran"):
        tm = load_map(name)
        layout = stage_layout(tm.nodes.to_dict("records"), tm.relations[["node_id", "relation", "target_id"]].to_dict("records"))
        places = [(n["x"], n["y"]) for n in layout["nodes"]]
        assert len(places) == len(set(places)) == len(tm.nodes), name
        for stage in layout["stages"]:
            cells = sorted((n["sub"], n["row"]) for n in layout["nodes"] if n["stage"] == stage["key"])
            per = -(-stage["count"] // stage["subcolumns"])
            assert cells == [divmod(k, per) for k in range(stage["count"])], (name, stage)
        assert layout["stages"][-1]["key"] in {OUTPUT_STAGE, "Output", "System", "Sequencing", "Fabrication"}, name


def test_chips_columns_read_like_the_eto_explorer():
    tm = load_map("chips")
    layout = stage_layout(tm.nodes.to_dict("records"), tm.relations.to_dict("records"))
    assert [s["key"] for s in layout["stages"]] == ["Design", "Fabrication", "ATP", OUTPUT_STAGE]


def test_deterministic_and_independent_of_the_order_of_relations():
    tm = load_map("chips")
    nodes = tm.nodes.to_dict("records")
    relations = [tuple(r) for r in tm.relations[["node_id", "relation", "target_id"]].itertuples(index=False)]
    first = stage_layout(nodes, relations)
    assert stage_layout(nodes, relations) == first
    shuffled = relations[:]
    random.Random(7).shuffle(shuffled)
    again = stage_layout(nodes, shuffled)
    assert [(n["id"], n["x"], n["y"]) for n in again["nodes"]] == [(n["id"], n["x"], n["y"]) for n in first["nodes"]]


def test_the_eto_map_reads_in_its_three_stages():
    eto = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "eto-chip-explorer"
    if not eto.is_dir():
        pytest.skip(f"the ETO dataset is not at {eto}")
    tm = load_map(str(eto))
    layout = stage_layout(tm.nodes.to_dict("records"), tm.relations.to_dict("records"))
    counts = {s["key"]: s["count"] for s in layout["stages"]}
    assert NO_STAGE not in counts and counts[OUTPUT_STAGE] == 1  # every tool and material sits with the process it feeds
    assert len(counts) == 4 and max(s["subcolumns"] for s in layout["stages"]) >= 3
