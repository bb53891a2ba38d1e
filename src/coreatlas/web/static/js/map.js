// The map page: the chain in stage columns, drawn by Cytoscape.js at the positions the server
// computed (the "preset" layout), read from the data island #map-data, coloured by the measure the
// server computed for the URL's state. Changing the measure or the bloc fetches the new colouring
// (GET .../map/values) and repaints without a reload; the scenario builder's "coreatlas:scenario"
// event paints availability and the binding path. Selecting a node loads its panel
// (GET .../node/{id}) into #panel-body. Every state goes into the URL (history.replaceState).
// Keyboard: focus the map, arrows move between nodes, Enter opens the panel, Escape clears.
(function () {
  "use strict";
  var SHAPES = {output: "round-rectangle", process: "round-rectangle", design: "rhomboid", material: "barrel",
                tool: "cut-rectangle", component: "tag", other: "rectangle"};
  var FONT = "13px system-ui, 'Noto Sans', 'Noto Sans CJK JP', sans-serif";
  var READABLE_ZOOM = 0.8;
  var STATE_PARAMS = ["measure", "bloc", "countries", "lang", "remove", "remove_firm", "remove_bloc", "cut", "variants", "control", "policy",
                      "scenario"];

  function $(id) { return document.getElementById(id); }

  // ---- labels: the name on at most two lines (ellipsis), the value on a third ---------------------
  var measurer = null;
  function width(text) {
    if (!measurer) { measurer = document.createElement("canvas").getContext("2d"); measurer.font = FONT; }
    return measurer.measureText(text).width;
  }
  function pieces(name) {  // words, or single characters for text without spaces (Japanese)
    var words = name.split(/(\s+)/).filter(function (w) { return w.trim(); });
    var out = [];
    words.forEach(function (w) {
      if (width(w) <= 0) return;
      if (/[\u3000-\u9fff\uff00-\uffef]/.test(w)) Array.prototype.push.apply(out, w.split("").map(function (c) { return {t: c, glue: ""}; }));
      else out.push({t: w, glue: " "});
    });
    return out;
  }
  function wrapName(name, maxWidth) {
    var lines = [""], parts = pieces(name);
    for (var i = 0; i < parts.length; i++) {
      var line = lines[lines.length - 1], next = line ? line + parts[i].glue + parts[i].t : parts[i].t;
      if (width(next) <= maxWidth || !line) { lines[lines.length - 1] = next; continue; }
      if (lines.length === 2) { lines[1] = ellipsis(line + parts[i].glue + parts.slice(i).map(function (p) { return p.t; }).join(" "), maxWidth); return lines; }
      lines.push(parts[i].t);
    }
    if (width(lines[lines.length - 1]) > maxWidth) lines[lines.length - 1] = ellipsis(lines[lines.length - 1], maxWidth);
    return lines;
  }
  function ellipsis(text, maxWidth) {
    if (width(text) <= maxWidth) return text;
    while (text.length > 1 && width(text + "…") > maxWidth) text = text.slice(0, -1);
    return text.replace(/\s+$/, "") + "…";
  }

  // ---- elements --------------------------------------------------------------------------------
  function elements(data) {
    var out = [], at = {};
    data.stages.forEach(function (s) {
      out.push({group: "nodes", data: {id: "@stage-" + s.column, label: s.label}, classes: "stage", selectable: false, grabbable: false});
    });
    data.nodes.forEach(function (n) {
      at[n.id] = n;
      out.push({group: "nodes", data: {id: n.id, name: n.name, parent: "@stage-" + n.column, kind: SHAPES[n.kind] ? n.kind : "other",
                                       lines: wrapName(n.name, data.node_width - 18).join("\n")},
                position: {x: n.x, y: n.y}, grabbable: false, classes: n.kind === "output" ? "output" : ""});
    });
    data.edges.forEach(function (e) {
      var s = at[e.source], t = at[e.target], edge = {id: e.id, source: e.source, target: e.target, relation: e.relation}, classes = "";
      if (s && t && s.x === t.x) {  // within a sub-column: an arc beside it, not a line through the nodes between
        classes = "same-column";
        edge.bow = (t.y > s.y ? 1 : -1) * (data.node_width / 2 + 10 + 6 * Math.abs(t.row - s.row));
      }
      out.push({group: "edges", data: edge, classes: classes});
    });
    return out;
  }

  function styles(data) {
    var style = [
      {selector: "node", style: {"shape": "round-rectangle", "width": data.node_width, "height": data.node_height, "label": "data(label)",
                                 "font-size": 13, "font-family": "system-ui, 'Noto Sans', 'Noto Sans CJK JP', sans-serif",
                                 "text-valign": "center", "text-halign": "center", "text-wrap": "wrap", "text-max-width": data.node_width,
                                 "line-height": 1.25, "background-color": "data(fill)", "color": "data(ink)", "border-width": 1.5,
                                 "border-color": "#4a4a4a", "min-zoomed-font-size": 7}},
      {selector: "node.output", style: {"border-width": 5, "border-style": "double", "border-color": "#1a1a1a"}},
      {selector: "node.stage", style: {"shape": "round-rectangle", "background-color": "#f4f6f8", "background-opacity": 1, "border-width": 1,
                                       "border-color": "#d5dbe1", "label": "data(label)", "text-valign": "top", "text-halign": "center",
                                       "font-size": 16, "font-weight": "bold", "color": "#1a1a1a", "text-margin-y": -8, "padding": 16,
                                       "events": "no", "min-zoomed-font-size": 5}},
      {selector: "edge", style: {"width": 1.2, "line-color": "#9aa3ab", "curve-style": "bezier", "target-arrow-shape": "triangle",
                                 "target-arrow-color": "#9aa3ab", "arrow-scale": 0.8, "opacity": 0.85}},
      {selector: "edge.same-column", style: {"curve-style": "unbundled-bezier", "control-point-distances": "data(bow)", "control-point-weights": 0.5}},
      {selector: "edge[relation = 'variant_of']", style: {"line-style": "dashed", "target-arrow-shape": "none"}},
      {selector: "edge.near", style: {"line-color": "#1a1a1a", "target-arrow-color": "#1a1a1a", "width": 2, "opacity": 1, "z-index": 5}},
      {selector: "node.binding", style: {"border-width": 6, "border-color": "#d55e00", "border-style": "solid"}},
      {selector: "edge.binding", style: {"width": 5, "line-color": "#d55e00", "target-arrow-color": "#d55e00", "opacity": 1, "z-index": 9}},
      {selector: "node:selected", style: {"border-width": 5, "border-color": "#000", "border-style": "solid", "overlay-color": "#000",
                                          "overlay-opacity": 0.08, "overlay-padding": 5}},
      {selector: "node.focused", style: {"overlay-color": "#0060a0", "overlay-opacity": 0.25, "overlay-padding": 7}}
    ];
    Object.keys(SHAPES).forEach(function (kind) { style.push({selector: "node[kind = '" + kind + "']", style: {"shape": SHAPES[kind]}}); });
    return style;
  }

  // ---- colouring -------------------------------------------------------------------------------
  function legendOf(colouring) {
    var fills = {};
    colouring.legend.forEach(function (c) { fills[c.key] = c; });
    return fills;
  }

  function paint(map, colouring) {
    var fills = legendOf(colouring), none = fills.none;
    map.cy.batch(function () {
      map.cy.nodes().not(".stage").forEach(function (node) {
        var v = colouring.values[node.id()], c = (v && fills[v["class"]]) || none;
        node.data({value: v ? v.value : null, label_value: v ? v.label_value : "", detail: v ? v.detail : "", fill: c.fill, ink: c.text,
                   label: node.data("lines") + (v && v.label_value ? "\n" + v.label_value : "")});
      });
    });
    map.colouring = colouring;
    legend(map, colouring);
    binding(map, colouring.measure === "availability" ? (colouring.binding || (map.scenario && map.scenario.binding) || []) : []);
    listValues(colouring, fills);
  }

  function listValues(colouring, fills) {  // the node list below the map (the no-JS view) shows the same values
    Array.prototype.forEach.call(document.querySelectorAll(".node-list a[data-node-id]"), function (link) {
      var v = colouring.values[link.getAttribute("data-node-id")], li = link.parentNode;
      var swatch = li.querySelector(".swatch"), value = li.querySelector(".node-value");
      if (!swatch) { swatch = document.createElement("span"); swatch.setAttribute("aria-hidden", "true"); li.appendChild(document.createTextNode(" ")); li.appendChild(swatch); }
      if (!value) { value = document.createElement("span"); value.className = "node-value"; li.appendChild(value); }
      swatch.className = "swatch fill-" + ((v && fills[v["class"]]) ? v["class"] : "none");
      value.textContent = v ? v.label_value : "";
    });
  }

  function legend(map, colouring) {
    var t = map.data.texts, title = $("map-legend-title"), scale = $("map-legend-scale");
    if (title) title.textContent = t.measures[colouring.measure] + (colouring.measure === "bloc_share" && colouring.bloc_codes && colouring.bloc_codes.length
                                                                    ? " (" + colouring.bloc_codes.join(", ") + ")" : "");
    if (scale) {
      scale.textContent = "";
      colouring.legend.forEach(function (c) {
        var li = document.createElement("li"), sw = document.createElement("span");
        sw.className = "swatch fill-" + c.key; sw.setAttribute("aria-hidden", "true");
        li.appendChild(sw); li.appendChild(document.createTextNode(c.label)); scale.appendChild(li);
      });
    }
    message(colouring.error || colouring.note || "", !!colouring.error);
  }

  function message(text, isError) {
    var el = $("map-message");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", !!isError);
  }

  function classOf(value, edges) {
    if (value === null || value === undefined) return "none";
    var k = 0;
    edges.forEach(function (e) { if (value >= e - 1e-12) k += 1; });
    return String(k);
  }

  function scenarioColouring(map, detail) {
    var fmt = new Intl.NumberFormat(document.documentElement.lang || "en", {style: "percent", maximumFractionDigits: 0});
    var values = {};
    map.data.nodes.forEach(function (n) {
      var a = detail.availability && Object.prototype.hasOwnProperty.call(detail.availability, n.id) ? detail.availability[n.id] : 1;
      values[n.id] = {value: a, label_value: a === null ? "" : fmt.format(a), "class": classOf(a, map.data.scale.share_edges), detail: ""};
    });
    return {measure: "availability", bloc: map.state.bloc, legend: map.data.scale.availability_legend, values: values,
            note: detail.summary || map.data.texts.scenario_note, error: "", binding: detail.binding || []};
  }

  function binding(map, ids) {
    var on = {};
    (ids || []).forEach(function (id) { on[id] = true; });
    map.cy.batch(function () {
      map.cy.elements().removeClass("binding");
      map.cy.nodes().forEach(function (n) { if (on[n.id()]) n.addClass("binding"); });
      map.cy.edges().forEach(function (e) { if (on[e.data("source")] && on[e.data("target")]) e.addClass("binding"); });
    });
  }

  // ---- URL state -------------------------------------------------------------------------------
  function setUrl(changes) {
    var url = new URL(window.location.href);
    Object.keys(changes).forEach(function (k) {
      var v = changes[k];
      if (v === null || v === "") url.searchParams.delete(k);
      else url.searchParams.set(k, v);
    });
    window.history.replaceState(null, "", url);
  }

  function query(keys) {
    var here = new URL(window.location.href), out = new URLSearchParams();
    keys.forEach(function (k) { if (here.searchParams.get(k)) out.set(k, here.searchParams.get(k)); });
    return out.toString();
  }

  // ---- measure and bloc controls ------------------------------------------------------------------
  function readControls() {
    var measure = $("measure"), bloc = $("bloc"), countries = $("countries");
    return {measure: measure ? measure.value : "bloc_share", bloc: bloc ? bloc.value : "core",
            countries: countries ? countries.value.toUpperCase().replace(/\s+/g, "") : ""};
  }

  function recolour(map) {
    var s = readControls();
    map.state = s;
    var field = $("countries-field");
    if (field) field.classList.toggle("off", s.bloc !== "custom");
    setUrl({measure: s.measure, bloc: s.bloc, countries: s.bloc === "custom" ? s.countries : null});
    if (s.measure === "availability" && map.scenario) { paint(map, scenarioColouring(map, map.scenario)); return Promise.resolve(); }
    if (s.bloc === "custom" && !s.countries) { message(map.data.texts.measures[s.measure], false); }
    var ticket = (map.ticket = (map.ticket || 0) + 1);
    var params = query(STATE_PARAMS);
    return window.coreatlas.api("GET", map.data.urls.values + "?" + params).then(function (colouring) {
      if (ticket === map.ticket) paint(map, colouring);
      if (map.selectedId) loadPanel(map, map.selectedId);
    }).catch(function (failure) {
      if (ticket === map.ticket) message((failure && failure.error && failure.error.message) || map.data.texts.failed, true);
    });
  }

  // ---- the panel -------------------------------------------------------------------------------
  function loadPanel(map, id) {
    var body = $("panel-body"), page = $("map-page");
    if (!body) return Promise.resolve();
    body.setAttribute("aria-busy", "true");
    var ticket = (map.panelTicket = (map.panelTicket || 0) + 1);
    var params = query(STATE_PARAMS);
    return fetch(map.data.urls.node + encodeURIComponent(id) + (params ? "?" + params : ""), {credentials: "same-origin"})
      .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.text(); })
      .then(function (html) {
        if (ticket !== map.panelTicket) return;
        body.innerHTML = html;  // the server's own escaped HTML fragment
        body.setAttribute("data-node-id", id);
        body.removeAttribute("aria-busy");
        if (page && !page.classList.contains("has-node")) { page.classList.add("has-node"); map.cy.resize(); centre(map, map.cy.getElementById(id)); }
        document.dispatchEvent(new CustomEvent("coreatlas:panel", {detail: {node: id}}));
      })
      .catch(function () {
        if (ticket !== map.panelTicket) return;
        body.removeAttribute("aria-busy");
        body.textContent = map.data.texts.failed;
      });
  }

  function clearPanel(map) {
    var body = $("panel-body"), page = $("map-page");
    map.panelTicket = (map.panelTicket || 0) + 1;
    if (body) {
      body.removeAttribute("data-node-id");
      body.textContent = "";
      var h = document.createElement("h2");
      h.id = "panel-name"; h.textContent = map.data.texts.none_selected;
      body.appendChild(h);
    }
    if (page && page.classList.contains("has-node")) { page.classList.remove("has-node"); map.cy.resize(); }
  }

  function select(map, id) {
    var node = map.cy.getElementById(id);
    if (!node.length || node.hasClass("stage")) return false;
    map.cy.$("node:selected").not(node).unselect();
    if (!node.selected()) node.select(); else onSelect(map, node);
    centre(map, node);
    return true;
  }

  function onSelect(map, node) {
    map.selectedId = node.id();
    setFocus(map, node, false);
    map.cy.edges().removeClass("near");
    node.connectedEdges().addClass("near");
    setUrl({node: node.id()});
    loadPanel(map, node.id());
  }

  // ---- view ------------------------------------------------------------------------------------
  function centre(map, node) {
    if (!node || !node.length) return;
    var cy = map.cy, zoom = Math.max(cy.zoom(), READABLE_ZOOM);
    var bb = node.renderedBoundingBox(), w = cy.width(), h = cy.height();
    if (cy.zoom() >= READABLE_ZOOM && bb.x1 > 0 && bb.y1 > 0 && bb.x2 < w && bb.y2 < h) return;
    cy.stop();
    cy.animate({zoom: zoom, center: {eles: node}}, {duration: 200});
  }

  function firstView(map) {
    var cy = map.cy;
    cy.fit(cy.elements(), 24);
    var selected = map.data.selected && cy.getElementById(map.data.selected);
    if (selected && selected.length) { cy.zoom(Math.max(cy.zoom(), READABLE_ZOOM)); cy.center(selected); return; }
    if (cy.zoom() < 0.5) {  // a big map (the ETO map): start readable at the upstream end, "Whole map" shows it all
      cy.zoom(0.5);
      var bb = cy.elements().boundingBox();
      cy.pan({x: 24 - bb.x1 * 0.5, y: 24 - bb.y1 * 0.5});
    }
  }

  // ---- tooltip ---------------------------------------------------------------------------------
  function showTip(map, node) {
    var tip = $("map-tooltip");
    if (!tip || !node || !node.length) return;
    var measure = map.data.texts.measures[map.colouring.measure] || "";
    tip.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = node.data("name");
    tip.appendChild(strong);
    var line = document.createElement("span");
    line.textContent = measure + ": " + (node.data("label_value") || "—") + (node.data("detail") ? " · " + node.data("detail") : "")
                       + (node.hasClass("binding") ? " · " + map.data.texts.binding : "");
    tip.appendChild(line);
    var p = node.renderedPosition(), h = node.renderedHeight();
    tip.hidden = false;
    tip.style.left = Math.max(0, Math.min(p.x - tip.offsetWidth / 2, map.cy.width() - tip.offsetWidth)) + "px";
    tip.style.top = Math.max(0, p.y - h / 2 - tip.offsetHeight - 6) + "px";
  }
  function hideTip() { var tip = $("map-tooltip"); if (tip) tip.hidden = true; }

  // ---- keyboard --------------------------------------------------------------------------------
  function lanes(map) {  // sub-columns left to right, each top to bottom; and each stage column's nodes in reading order
    if (map.lanes) return map.lanes;
    var byX = {}, byColumn = {};
    map.data.nodes.forEach(function (n) { (byX[n.x] = byX[n.x] || []).push(n); (byColumn[n.column] = byColumn[n.column] || []).push(n); });
    var xs = Object.keys(byX).map(Number).sort(function (a, b) { return a - b; });
    Object.keys(byColumn).forEach(function (c) { byColumn[c].sort(function (a, b) { return a.x - b.x || a.y - b.y; }); });
    map.lanes = {xs: xs, byX: byX, byColumn: byColumn, at: {}};
    map.data.nodes.forEach(function (n) { map.lanes.at[n.id] = n; });
    return map.lanes;
  }

  function neighbour(map, id, key) {
    var L = lanes(map), n = L.at[id];
    if (key === "ArrowUp" || key === "ArrowDown") {
      var list = L.byColumn[n.column], i = list.indexOf(n) + (key === "ArrowDown" ? 1 : -1);
      return list[Math.max(0, Math.min(list.length - 1, i))].id;
    }
    var lane = L.xs.indexOf(n.x) + (key === "ArrowRight" ? 1 : -1);
    if (lane < 0 || lane >= L.xs.length) return id;
    var best = null;
    L.byX[L.xs[lane]].forEach(function (m) { if (!best || Math.abs(m.y - n.y) < Math.abs(best.y - n.y)) best = m; });
    return best.id;
  }

  function setFocus(map, node, announce) {
    map.cy.nodes(".focused").removeClass("focused");
    if (!node || !node.length) { map.focusId = null; hideTip(); return; }
    node.addClass("focused");
    map.focusId = node.id();
    if (announce) {
      centre(map, node);
      showTip(map, node);
      var live = $("map-live");
      if (live) live.textContent = node.data("name") + ", " + (node.data("label_value") || "");
    }
  }

  function onKey(map, event) {
    var cy = map.cy, key = event.key;
    if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(key) >= 0) {
      event.preventDefault();
      var start = map.focusId || map.selectedId || (lanes(map).byColumn[0] || map.data.nodes)[0].id;
      var next = map.focusId || map.selectedId ? neighbour(map, start, key) : start;
      setFocus(map, cy.getElementById(next), true);
    } else if (key === "Enter" && map.focusId) {
      event.preventDefault();
      select(map, map.focusId);
    } else if (key === "Escape") {
      event.preventDefault();
      cy.$("node:selected").unselect();
      setFocus(map, null, false);
    }
  }

  // ---- search ----------------------------------------------------------------------------------
  function find(map, text) {
    var wanted = text.trim().toLowerCase();
    if (!wanted) return null;
    var exact = null, part = null;
    map.data.nodes.forEach(function (n) {
      var name = n.name.toLowerCase();
      if (name === wanted && !exact) exact = n;
      else if (name.indexOf(wanted) >= 0 && !part) part = n;
    });
    return exact || part;
  }

  function wire(map) {
    var cy = map.cy, container = $("map");
    cy.on("select", "node", function (event) { if (!event.target.hasClass("stage")) onSelect(map, event.target); });
    cy.on("unselect", "node", function () {
      if (cy.$("node:selected").length) return;
      map.selectedId = null;
      cy.edges().removeClass("near");
      setUrl({node: null});
      clearPanel(map);
    });
    cy.on("mouseover", "node", function (event) { if (!event.target.hasClass("stage")) showTip(map, event.target); });
    cy.on("mouseout", "node", hideTip);
    cy.on("viewport", hideTip);
    container.addEventListener("keydown", function (event) { onKey(map, event); });
    container.addEventListener("blur", function () { hideTip(); });
    ["measure", "bloc"].forEach(function (id) { var el = $(id); if (el) el.addEventListener("change", function () { recolour(map); }); });
    var countries = $("countries");
    if (countries) countries.addEventListener("change", function () { recolour(map); });
    var form = $("map-controls");
    if (form) form.addEventListener("submit", function (event) { event.preventDefault(); recolour(map); });
    var search = $("node-search");
    if (search) search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var hit = find(map, search.value);
      if (!hit) { message(map.data.texts.no_match, true); return; }
      message("", false);
      select(map, hit.id);
      container.focus({preventScroll: true});
    });
    var zoomIn = $("map-zoom-in"), zoomOut = $("map-zoom-out"), fit = $("map-fit");
    function zoomBy(f) { cy.zoom({level: cy.zoom() * f, renderedPosition: {x: cy.width() / 2, y: cy.height() / 2}}); }
    if (zoomIn) zoomIn.addEventListener("click", function () { zoomBy(1.25); });
    if (zoomOut) zoomOut.addEventListener("click", function () { zoomBy(0.8); });
    if (fit) fit.addEventListener("click", function () { cy.animate({fit: {eles: cy.elements(), padding: 24}}, {duration: 200}); });
    var scenariosPainted = 0;
    document.addEventListener("coreatlas:scenario", function (event) {
      map.scenario = event.detail || {};
      var measure = $("measure");
      if (measure) measure.value = "availability";
      map.state.measure = "availability";
      setUrl({measure: "availability"});
      // the benchmark's hook (benchmarks/bench_web.py): a counter set once Cytoscape has drawn the new colours
      cy.one("render", function () { document.body.dataset.scenarioPainted = String(++scenariosPainted); });
      paint(map, scenarioColouring(map, map.scenario));
    });
    document.addEventListener("click", function (event) {  // links to nodes (the node list, the panel): select on the map
      var link = event.target.closest && event.target.closest("a[data-node-id]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      if (select(map, link.getAttribute("data-node-id"))) { event.preventDefault(); container.scrollIntoView({block: "nearest"}); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var island = $("map-data"), container = $("map");
    if (!island || !container || typeof window.cytoscape !== "function") return;
    var data = JSON.parse(island.textContent);
    var cy = window.cytoscape({container: container, elements: elements(data), style: styles(data),
                               layout: {name: "preset", fit: false}, autoungrabify: true, boxSelectionEnabled: false,
                               selectionType: "single", minZoom: 0.15, maxZoom: 2.5, wheelSensitivity: 0.4});
    var map = {cy: cy, data: data, state: readControls(), selectedId: null, focusId: null, colouring: data.colouring};
    paint(map, data.colouring);
    firstView(map);
    if (data.selected && cy.getElementById(data.selected).length) {
      map.selectedId = data.selected;
      cy.getElementById(data.selected).select();  // before wire(): the server already rendered its panel
      cy.getElementById(data.selected).connectedEdges().addClass("near");
    }
    wire(map);
    window.coreatlas = window.coreatlas || {};
    window.coreatlas.map = cy;
    window.coreatlas.selectNode = function (id) { return select(map, id); };
    window.coreatlas.clearNode = function () { cy.$("node:selected").unselect(); };
    window.coreatlas.reloadPanel = function () { return map.selectedId ? loadPanel(map, map.selectedId) : Promise.resolve(); };
    document.body.dataset.mapReady = "1";
  });
})();
