"""Where each node of a map sits on the page: stage columns, computed on the server.

The same map always gives the same picture (Cytoscape's ``preset`` layout draws these positions
as they are). The columns read like the ETO Chip Explorer, from the most upstream stage on the
left to the outputs on the right:

- a node without a stage of its own (a tool, a material, a variant) *inherits* the stage of the
  node it feeds (``uses``/``bundles``) or is a variant of, the first such node in the nodes
  table's order, repeatedly; it is marked ``stage_inferred``. Nodes that feed no staged node form
  a column of their own ("Other"); outputs without a stage form the last column ("Output");
- a node's *depth* is the length of the longest chain of ``uses``/``bundles`` relations from it
  to an output (an output is 0; an input of an output is 1, ...);
- stages are ordered by the mean depth of their nodes, deepest first (ties: the order in which
  the stages first appear in the nodes table);
- within a stage, nodes with a stage of their own keep the nodes table's order and each is
  followed by the nodes that inherited their stage from it (depth first), so a process's tools
  sit under it;
- a stage with more than ``rows`` nodes wraps into as few sub-columns as hold them, as evenly
  filled as can be (top to bottom, then left to right); ``rows`` is the one number, for the whole map, that brings the
  map's width to height closest to :data:`TARGET_ASPECT` (a wide screen), so a stage of 26 nodes
  does not make the map 26 rows tall.

``x`` is the centre of the node's sub-column, ``y`` the centre of its row (pixels at zoom 1).

Pure: plain records in, plain data out (JSON-ready), no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

__all__ = ["COLUMN_WIDTH", "NODE_HEIGHT", "NODE_WIDTH", "NO_STAGE", "OUTPUT_STAGE", "ROW_HEIGHT", "STAGE_GAP", "TARGET_ASPECT", "rows_per_column",
           "stage_layout"]  # fmt: skip

COLUMN_WIDTH = 240  # one sub-column: a node box and the room its edges need
NODE_WIDTH = 200
NODE_HEIGHT = 50
ROW_HEIGHT = 60
STAGE_GAP = 60  # extra room between two stages, so their bands stand apart
TARGET_ASPECT = 2.0  # width / height of the drawn map the wrapping aims at (a wide screen)
MIN_ROWS = 6
#: The keys of the columns of nodes that have no stage (their labels come from the page's texts).
OUTPUT_STAGE = "@output"
NO_STAGE = "@none"
UPSTREAM = frozenset({"uses", "bundles"})  # "node uses target": target is upstream of node


def _text(value) -> str:
    """A cell as text: None, NaN and pandas' NA are blank."""
    if value is None:
        return ""
    try:
        if value != value:  # NaN
            return ""
    except TypeError:  # pandas' NA has no truth value
        return ""
    return str(value).strip()


def _depths(ids: list[str], kinds: Mapping[str, str], relations: list[tuple[str, str, str]]) -> dict[str, int]:
    """The longest chain of upstream relations from each node to an output (0 for outputs; a
    variant sits with the node it is a variant of; nodes that reach no output count as 0).
    Bounded by the number of nodes, so a cycle in a map that was not validated cannot loop for ever."""
    known = set(ids)
    inputs: dict[str, list[str]] = {i: [] for i in ids}
    needed: set[str] = set()
    for node, relation, target in relations:
        if node not in known or target not in known or node == target:
            continue
        if relation in UPSTREAM:
            inputs[node].append(target)
            needed.add(target)
        elif relation == "variant_of":  # the variant stands in for its target: same depth
            inputs.setdefault(target, []).append(node)
            needed.add(node)
    variants = {r for r in relations if r[1] == "variant_of"}
    outputs = [i for i in ids if kinds.get(i) == "output"] or [i for i in ids if i not in needed]
    depth = dict.fromkeys(outputs, 0)
    frontier = list(outputs)
    for _ in range(len(ids)):
        nxt = []
        for node in frontier:
            for target in inputs[node]:
                step = 0 if (target, "variant_of", node) in variants else 1
                if depth.get(target, -1) < depth[node] + step:
                    depth[target] = depth[node] + step
                    nxt.append(target)
        if not nxt:
            break
        frontier = list(dict.fromkeys(nxt))
    return {i: depth.get(i, 0) for i in ids}


def _feeds(ids: list[str], relations: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """Per node, the nodes it feeds or is a variant of (whose stage it may inherit), in table order."""
    known, order = set(ids), {i: n for n, i in enumerate(ids)}
    feeds: dict[str, set[str]] = {i: set() for i in ids}
    for node, relation, target in relations:
        if node in known and target in known and node != target:
            if relation in UPSTREAM:
                feeds[target].add(node)
            elif relation == "variant_of":
                feeds[node].add(target)
    return {i: sorted(users, key=order.__getitem__) for i, users in feeds.items()}


def _stages(ids: list[str], own: Mapping[str, str], kinds: Mapping[str, str], feeds: Mapping[str, list[str]]) -> tuple[dict, dict]:
    """``(stage key per node, anchor per inheriting node)``: the first fed node with a stage gives
    its stage, round after round (bounded by the number of nodes; independent of relation order)."""
    stage = {i: own[i] for i in ids if own[i]}
    anchor: dict[str, str] = {}
    for _ in range(len(ids)):
        found = {i: next(u for u in feeds[i] if u in stage) for i in ids if i not in stage and kinds[i] != "output"
                 and any(u in stage for u in feeds[i])}  # fmt: skip
        if not found:
            break
        for node, user in found.items():
            stage[node], anchor[node] = stage[user], user
    for i in ids:
        stage.setdefault(i, OUTPUT_STAGE if kinds[i] == "output" else NO_STAGE)
    return stage, anchor


def _ordered(ids: list[str], members: list[str], anchor: Mapping[str, str]) -> list[str]:
    """A stage's nodes: each node that does not inherit, in table order, followed (depth first) by those inheriting from it."""
    inside = set(members)
    children: dict[str, list[str]] = {}
    for i in ids:
        if i in inside and i in anchor and anchor[i] in inside:
            children.setdefault(anchor[i], []).append(i)
    out: list[str] = []
    stack = [i for i in reversed(members) if i not in anchor or anchor[i] not in inside]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children.get(node, [])))
    return out


def rows_per_column(counts: list[int]) -> int:
    """The sub-column height (in nodes) whose map is closest to :data:`TARGET_ASPECT` wide per unit
    of height (fewer sub-columns on a tie)."""
    tallest = max(counts, default=1)

    def misfit(rows: int) -> float:
        width = sum(math.ceil(c / rows) for c in counts) * COLUMN_WIDTH + (len(counts) - 1) * STAGE_GAP
        return abs(math.log(width / (rows * ROW_HEIGHT) / TARGET_ASPECT))

    return min(range(min(MIN_ROWS, tallest), tallest + 1), key=lambda rows: (misfit(rows), -rows))


def stage_layout(nodes: Iterable[Mapping], relations: Iterable[Mapping | tuple]) -> dict:
    """``{"nodes": [{id, name, kind, stage, stage_inferred, column, sub, row, depth, x, y}], "edges":
    [{id, source, target, relation}], "stages": [{key, label, column, x, width, subcolumns, count}],
    "rows", "column_width", "row_height", "node_width", "node_height"}`` for the map's node records
    (``node_id``, ``name``, ``kind``, ``stage``) and relations (``node_id``, ``relation``,
    ``target_id``, as records or triples). Edges point downstream: from an input to its user."""
    records = [dict(n) for n in nodes]
    ids = [_text(n.get("node_id")) for n in records]
    kinds = {i: _text(n.get("kind")) for i, n in zip(ids, records, strict=True)}
    triples = [(_text(r["node_id"]), _text(r["relation"]), _text(r["target_id"])) if isinstance(r, Mapping) else tuple(map(_text, r))
               for r in relations]  # fmt: skip
    depth = _depths(ids, kinds, triples)
    own = {i: _text(n.get("stage")) for i, n in zip(ids, records, strict=True)}
    stage, anchor = _stages(ids, own, kinds, _feeds(ids, triples))
    members: dict[str, list[str]] = {}
    for node_id in ids:
        members.setdefault(stage[node_id], []).append(node_id)
    first = {key: n for n, key in enumerate(members)}
    order = sorted(members, key=lambda k: (k == OUTPUT_STAGE, -sum(depth[i] for i in members[k]) / len(members[k]), first[k]))
    rows = rows_per_column([len(members[k]) for k in order])
    place, stages, left = {}, [], 0
    for column, key in enumerate(order):
        ordered = _ordered(ids, members[key], anchor)
        subs = math.ceil(len(ordered) / rows)
        per = math.ceil(len(ordered) / subs)  # balanced: 26 nodes in 3 columns are 9, 9 and 8, not 12, 12 and 2
        for n, node_id in enumerate(ordered):
            sub, row = divmod(n, per)
            place[node_id] = (column, sub, row, left + sub * COLUMN_WIDTH + COLUMN_WIDTH // 2, row * ROW_HEIGHT + ROW_HEIGHT // 2)
        stages.append({"key": key, "label": "" if key.startswith("@") else key, "column": column, "x": left + COLUMN_WIDTH // 2,
                       "left": left, "width": subs * COLUMN_WIDTH, "subcolumns": subs, "count": len(ordered)})  # fmt: skip
        left += subs * COLUMN_WIDTH + STAGE_GAP
    placed = [_placed(record, node_id, kinds[node_id], stage[node_id], node_id in anchor, depth[node_id], place[node_id])
              for record, node_id in zip(records, ids, strict=True)]  # fmt: skip
    known = set(ids)
    edges = [{"id": f"e{n}", "source": target, "target": node, "relation": relation}
             for n, (node, relation, target) in enumerate(t for t in triples if t[0] in known and t[2] in known and t[0] != t[2])]  # fmt: skip
    return {"nodes": placed, "edges": edges, "stages": stages, "rows": rows, "column_width": COLUMN_WIDTH, "row_height": ROW_HEIGHT,
            "node_width": NODE_WIDTH, "node_height": NODE_HEIGHT}  # fmt: skip


def _placed(record: Mapping, node_id: str, kind: str, stage: str, inferred: bool, depth: int, place: tuple) -> dict:
    column, sub, row, x, y = place
    return {"id": node_id, "name": _text(record.get("name")) or node_id, "kind": kind, "stage": stage, "stage_inferred": inferred,
            "column": column, "sub": sub, "row": row, "depth": depth, "x": x, "y": y}  # fmt: skip
