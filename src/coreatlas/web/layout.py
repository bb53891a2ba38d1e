"""Where each node of a map sits on the page: stage columns, computed on the server.

``x`` is the stage's column, ``y`` the node's order within it, so the same map always gives the
same picture (Cytoscape's ``preset`` layout draws these positions as they are). The columns read
like the ETO Chip Explorer, from the most upstream stage on the left to the outputs on the right:

- a node's *depth* is the length of the longest chain of ``uses``/``bundles`` relations from it
  to an output (an output is 0; an input of an output is 1, ...);
- a stage's column is ordered by the mean depth of its nodes, deepest first (ties: the order in
  which the stages first appear in the nodes table); nodes without a stage form a column of
  their own, one for the outputs (always the last column) and one for the rest;
- within a column, nodes keep the order of the nodes table (the dataset author's order).

Pure: plain records in, plain data out (JSON-ready), no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["COLUMN_WIDTH", "NO_STAGE", "OUTPUT_STAGE", "ROW_HEIGHT", "stage_layout"]

COLUMN_WIDTH = 320
ROW_HEIGHT = 64
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


def stage_layout(nodes: Iterable[Mapping], relations: Iterable[Mapping | tuple]) -> dict:
    """``{"nodes": [{id, name, kind, stage, column, row, depth, x, y}], "edges": [{id, source,
    target, relation}], "stages": [{key, label, column, x, count}]}`` for the map's node records
    (``node_id``, ``name``, ``kind``, ``stage``) and relations (``node_id``, ``relation``,
    ``target_id``, as records or triples). Edges point downstream: from an input to its user."""
    records = [dict(n) for n in nodes]
    ids = [_text(n.get("node_id")) for n in records]
    kinds = {i: _text(n.get("kind")) for i, n in zip(ids, records, strict=True)}
    triples = [(_text(r["node_id"]), _text(r["relation"]), _text(r["target_id"])) if isinstance(r, Mapping) else tuple(map(_text, r))
               for r in relations]  # fmt: skip
    depth = _depths(ids, kinds, triples)

    def key_of(record: Mapping, node_id: str) -> str:
        stage = _text(record.get("stage"))
        return stage or (OUTPUT_STAGE if kinds[node_id] == "output" else NO_STAGE)

    members: dict[str, list[str]] = {}
    for record, node_id in zip(records, ids, strict=True):
        members.setdefault(key_of(record, node_id), []).append(node_id)
    first = {key: n for n, key in enumerate(members)}
    order = sorted(members, key=lambda k: (k == OUTPUT_STAGE, -sum(depth[i] for i in members[k]) / len(members[k]), first[k]))
    column = {key: c for c, key in enumerate(order)}

    placed = []
    row_of: dict[str, int] = {}
    for record, node_id in zip(records, ids, strict=True):
        key = key_of(record, node_id)
        row_of[node_id] = members[key].index(node_id)
        placed.append({"id": node_id, "name": _text(record.get("name")) or node_id, "kind": kinds[node_id], "stage": key,
                       "column": column[key], "row": row_of[node_id], "depth": depth[node_id],
                       "x": column[key] * COLUMN_WIDTH, "y": row_of[node_id] * ROW_HEIGHT})  # fmt: skip
    known = set(ids)
    edges = [{"id": f"e{n}", "source": target, "target": node, "relation": relation}
             for n, (node, relation, target) in enumerate(t for t in triples if t[0] in known and t[2] in known and t[0] != t[2])]  # fmt: skip
    stages = [{"key": key, "label": "" if key.startswith("@") else key, "column": column[key], "x": column[key] * COLUMN_WIDTH,
               "count": len(members[key])} for key in order]  # fmt: skip
    return {"nodes": placed, "edges": edges, "stages": stages, "column_width": COLUMN_WIDTH, "row_height": ROW_HEIGHT}
