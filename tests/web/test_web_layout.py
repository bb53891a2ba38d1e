"""The stage-column layout: positions computed on the server, deterministic."""

from __future__ import annotations

import random

from coreatlas.services.inputs import load_map
from coreatlas.web import stage_layout
from coreatlas.web.layout import COLUMN_WIDTH, NO_STAGE, OUTPUT_STAGE, ROW_HEIGHT


def _node(node_id, stage="", kind="process"):
    return {"node_id": node_id, "name": node_id.title(), "kind": kind, "stage": stage or None}


def test_columns_run_from_inputs_to_outputs():
    nodes = [_node("chip", kind="output"), _node("fab", "Make"), _node("tool", "Make", "tool"), _node("design", "Design", "design"),
             _node("sand", "Raw", "material"), _node("loose", kind="material")]  # fmt: skip
    relations = [("chip", "uses", "fab"), ("fab", "uses", "tool"), ("fab", "uses", "design"), ("tool", "uses", "sand")]
    layout = stage_layout(nodes, relations)
    assert [s["key"] for s in layout["stages"]] == ["Raw", "Design", "Make", NO_STAGE, OUTPUT_STAGE]
    at = {n["id"]: (n["x"], n["y"]) for n in layout["nodes"]}
    assert at["sand"] == (0, 0)
    assert at["chip"] == (4 * COLUMN_WIDTH, 0)
    assert at["fab"] == (2 * COLUMN_WIDTH, 0) and at["tool"] == (2 * COLUMN_WIDTH, ROW_HEIGHT)  # the nodes table's order
    assert {(e["source"], e["target"]) for e in layout["edges"]} == {("fab", "chip"), ("tool", "fab"), ("design", "fab"), ("sand", "tool")}


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
            rows = sorted(n["row"] for n in layout["nodes"] if n["stage"] == stage["key"])
            assert rows == list(range(stage["count"])), (name, stage)
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
