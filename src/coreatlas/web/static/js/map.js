// The map page: the chain in stage columns, drawn by Cytoscape.js at the positions the server
// computed (the "preset" layout), read from the data island #map-data. Selecting a node puts it
// in the URL (?node=...) and in the side panel.
(function () {
  "use strict";
  var COLOURS = {output: "#d55e00", process: "#0072b2", design: "#cc79a7", material: "#009e73",
                 tool: "#e69f00", component: "#56b4e9", other: "#999999"};

  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value || ""; }

  function show(data, node) {
    if (!node) { text("panel-name", data.texts.none_selected); text("panel-meta", ""); text("panel-description", ""); return; }
    var kind = data.texts.kinds[node.kind] || node.kind;
    text("panel-name", node.name);
    text("panel-meta", kind + " · " + (node.stage_label || ""));
    text("panel-description", node.description);
  }

  function elements(data) {
    var out = [];
    data.stages.forEach(function (s) {
      out.push({group: "nodes", data: {id: "@stage-" + s.column, label: s.label}, position: {x: s.x, y: -data.row_height},
                classes: "stage", selectable: false, grabbable: false});
    });
    data.nodes.forEach(function (n) {
      out.push({group: "nodes", data: {id: n.id, label: n.name, kind: COLOURS[n.kind] ? n.kind : "other"},
                position: {x: n.x, y: n.y}, grabbable: false});
    });
    var at = {};
    data.nodes.forEach(function (n) { at[n.id] = n; });
    data.edges.forEach(function (e) {
      var s = at[e.source], t = at[e.target], edge = {id: e.id, source: e.source, target: e.target, relation: e.relation};
      var classes = "";
      if (s && t && s.column === t.column) {  // within a column: an arc beside it, not a line through the nodes between
        classes = "same-column";
        edge.bow = (t.y > s.y ? 1 : -1) * (18 + 10 * Math.abs(t.row - s.row));
      }
      out.push({group: "edges", data: edge, classes: classes});
    });
    return out;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var island = document.getElementById("map-data");
    var container = document.getElementById("map");
    if (!island || !container || typeof window.cytoscape !== "function") return;
    var data = JSON.parse(island.textContent);
    var byId = {};
    data.nodes.forEach(function (n) { byId[n.id] = n; });
    var style = [
      {selector: "node", style: {"label": "data(label)", "font-size": 11, "text-valign": "center", "text-halign": "right",
                                 "text-margin-x": 6, "width": 16, "height": 16, "border-width": 1, "border-color": "#333",
                                 "text-wrap": "ellipsis", "text-max-width": data.column_width - 40}},
      {selector: "node.stage", style: {"shape": "round-rectangle", "width": 1, "height": 1, "border-width": 0, "background-opacity": 0,
                                       "font-size": 14, "font-weight": "bold", "text-halign": "right", "events": "no"}},
      {selector: "edge", style: {"width": 1, "line-color": "#b0b0b0", "curve-style": "bezier", "target-arrow-shape": "triangle",
                                 "target-arrow-color": "#b0b0b0", "arrow-scale": 0.7}},
      {selector: "edge.same-column", style: {"curve-style": "unbundled-bezier", "control-point-distances": "data(bow)",
                                             "control-point-weights": 0.5}},
      {selector: "edge[relation = 'variant_of']", style: {"line-style": "dashed", "target-arrow-shape": "none"}},
      {selector: "node:selected", style: {"border-width": 4, "border-color": "#000"}}
    ];
    Object.keys(COLOURS).forEach(function (kind) {
      style.push({selector: "node[kind = '" + kind + "']", style: {"background-color": COLOURS[kind]}});
    });
    var cy = window.cytoscape({container: container, elements: elements(data), style: style,
                               layout: {name: "preset", fit: true, padding: 30}, autoungrabify: true,
                               boxSelectionEnabled: false, selectionType: "single"});
    if (data.selected && cy.getElementById(data.selected).length) cy.getElementById(data.selected).select();
    cy.on("select", "node", function (event) {
      var node = byId[event.target.id()];
      if (!node) return;
      show(data, node);
      var url = new URL(window.location.href);
      url.searchParams.set("node", node.id);
      window.history.replaceState(null, "", url);
    });
    cy.on("unselect", "node", function () {
      if (cy.$("node:selected").length) return;
      show(data, null);
      var url = new URL(window.location.href);
      url.searchParams.delete("node");
      window.history.replaceState(null, "", url);
    });
    window.coreatlas = window.coreatlas || {};
    window.coreatlas.map = cy;
  });
})();
