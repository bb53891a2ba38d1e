// The scenario builder of the map page (templates/scenario_builder.html). On each change it
// runs the static scenario through the JSON API (POST .../datasets/{ds}/scenario, with the CSRF
// header), fills the outputs table #scenario-outputs and dispatches "coreatlas:scenario" with
// {availability, binding, outputs, request, summary, warnings} for the map (map.js colours the
// nodes and outlines the binding path). The state lives in the URL (remove, remove_firm,
// remove_bloc, cut, variants, control, policy; scenario = a saved scenario), kept with
// history.replaceState. The latest detail is also window.coreatlas.scenario, for a map drawn later.
(function () {
  "use strict";
  var SLIDER_DELAY_MS = 100;
  var DEFAULT_VARIANTS = "all";  // scenario_pages.DEFAULT_VARIANTS
  var PARAMS = ["remove", "remove_firm", "remove_bloc", "cut", "variants", "control", "policy"];
  var data, form, percent, whole, sequence = 0, timer = null, applied = 0;

  function $(id) { return document.getElementById(id); }
  function checked(name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name='" + name + "']:checked"), function (i) { return i.value; });
  }
  function cuts() {
    var out = [];
    form.querySelectorAll("input[type=range][name='cut']").forEach(function (s) {
      var v = Number(s.value);
      if (v > 0) out.push([s.dataset.country, v]);
    });
    return out;
  }
  function control() {
    var by = $("control-by"), target = $("control-target");
    return by && by.value && target && target.value ? [by.value, target.value] : null;
  }

  // The same request as BuilderState.request() of scenario_pages.py.
  function spec(name) {
    var s = {}, capacity = {}, c = control(), list;
    if (name) s.name = name;
    if ((list = checked("remove_country")).length) s.remove_countries = list;
    if ((list = checked("remove_firm")).length) s.remove_firms = list;
    if ((list = checked("remove_bloc")).length) s.remove_blocs = list;
    cuts().forEach(function (cut) { capacity[cut[0]] = Math.round((1 - cut[1] / 100) * 1e6) / 1e6; });
    if (Object.keys(capacity).length) s.capacity = capacity;
    if (c) s.export_control = {denied_by: c[0], target: c[1]};
    if ((list = checked("policy")).length) s.policies = list;
    return s;
  }
  function variants() { return $("variants") ? $("variants").value : DEFAULT_VARIANTS; }
  function request() { return {scenarios: [spec()], variants: variants()}; }
  function isEmpty(s) { return Object.keys(s).filter(function (k) { return k !== "name"; }).length === 0; }

  function keepUrl(savedId) {
    var url = new URL(window.location.href), c = control();
    var values = {remove: checked("remove_country").join(","), remove_firm: checked("remove_firm").join(","),
                  remove_bloc: checked("remove_bloc").join(","), cut: cuts().map(function (x) { return x[0] + ":" + x[1]; }).join(","),
                  variants: variants() === DEFAULT_VARIANTS ? "" : variants(), control: c ? c.join(":") : "", policy: checked("policy").join(",")};
    PARAMS.forEach(function (p) { if (values[p]) url.searchParams.set(p, values[p]); else url.searchParams.delete(p); });
    if (savedId) url.searchParams.set("scenario", savedId); else url.searchParams.delete("scenario");
    window.history.replaceState(null, "", url);
  }

  // ---- a result as the page shows it (scenario_pages.scenario_view makes the same) ----------------
  function name(id, fallback) { return data.names[id] || fallback || id; }
  function view(payload, req) {
    var rows = payload.rows || [], availability = {}, outputs = [], worst = null;
    rows.forEach(function (r) {
      availability[r.node_id] = r.available;
      if (!r.output) return;
      var o = {node_id: r.node_id, name: name(r.node_id, r.node_name), available: r.available, low: r.available_low, high: r.available_high,
               estimated: !!r.estimated, binding: (r.binding || []).map(function (s) {
                 return {node_id: s.node_id, name: name(s.node_id, s.node_name), available: s.available,
                         lost: (s.lost_providers || []).map(function (p) { return p.provider_name || p.provider; })};
               })};
      outputs.push(o);
      if (!worst || o.available < worst.available || (o.available === worst.available && o.node_id < worst.node_id)) worst = o;
    });
    var first = (payload.scenarios || [{}])[0];
    return {availability: availability, outputs: outputs, summary: describe(req.scenarios[0]), warnings: first.warnings || [],
            binding: worst && worst.available < 1 ? worst.binding.map(function (s) { return s.node_id; }) : []};
  }
  // What the scenario does, in the page's language (scenario_pages.scenario_text fills the same patterns).
  function describe(s) {
    var t = data.texts.describe, parts = [];
    function fill(pattern, values) { return pattern.replace(/%\((\w+)\)s/g, function (all, key) { return values[key]; }); }
    [s.remove_countries, s.remove_firms].forEach(function (list) { if (list) parts.push(fill(t.remove, {what: list.join(", ")})); });
    if (s.remove_blocs) parts.push(fill(t.remove_bloc, {what: s.remove_blocs.join(", ")}));
    Object.keys(s.capacity || {}).forEach(function (code) { parts.push(fill(t.capacity, {code: code, share: whole.format(s.capacity[code])})); });
    if (s.export_control) parts.push(fill(t.control, {by: s.export_control.denied_by, target: s.export_control.target}));
    (s.policies || []).forEach(function (name) { parts.push(fill(t.policy, {name: name})); });
    return parts.join(t.separator) || t.none;
  }
  function unchanged() {
    var availability = {};
    Object.keys(data.names).forEach(function (id) { availability[id] = 1; });
    return {availability: availability, binding: [], summary: "", warnings: [],
            outputs: data.outputs.map(function (id) { return {node_id: id, name: name(id), available: 1, low: 1, high: 1, estimated: false, binding: []}; })};
  }

  function cell(row, className, value, text) {
    var td = document.createElement("td");
    td.className = className;
    if (value !== null && value !== undefined) td.dataset.value = String(value);
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function bindingText(o) {
    if (!o.binding.length) return data.texts.none;
    return o.binding.map(function (s) { return s.name + (s.lost.length ? " (" + data.texts.lost + " " + s.lost.join(", ") + ")" : ""); }).join(" ← ");
  }
  function fillTable(v) {
    var body = $("scenario-outputs").tBodies[0];
    body.textContent = "";
    v.outputs.forEach(function (o) {
      var row = document.createElement("tr"), th = document.createElement("th");
      row.dataset.nodeId = o.node_id;
      th.scope = "row";
      th.textContent = o.name;
      row.appendChild(th);
      var td = cell(row, "availability", o.available, percent.format(o.available));
      if (o.estimated) {
        var mark = document.createElement("span");
        mark.className = "assumed";
        mark.textContent = data.texts.assumed;
        td.appendChild(document.createTextNode(" "));
        td.appendChild(mark);
      }
      cell(row, "range", o.low, o.low !== o.high ? percent.format(o.low) + "–" + percent.format(o.high) : "—");
      cell(row, "binding", null, bindingText(o));
      body.appendChild(row);
    });
  }
  function problems(messages) {
    var list = $("scenario-problems");
    list.textContent = "";
    messages.forEach(function (m) { var li = document.createElement("li"); li.textContent = m; list.appendChild(li); });
  }
  function show(v, req) {
    fillTable(v);
    $("scenario-summary").textContent = v.summary || (isEmpty(req.scenarios[0]) ? data.texts.unchanged : "");
    problems(v.warnings || []);
    var detail = {availability: v.availability, binding: v.binding, outputs: v.outputs, request: req, summary: v.summary, warnings: v.warnings};
    window.coreatlas.scenario = detail;
    document.dispatchEvent(new CustomEvent("coreatlas:scenario", {detail: detail}));
    document.body.dataset.scenarioApplied = String(++applied);
  }

  function errorText(body, fallback) {
    return body && body.error && body.error.message ? body.error.message : fallback;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                       headers: {"Content-Type": "application/json", "X-CSRF-Token": window.coreatlas.csrf()}})
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) { return {ok: response.ok, status: response.status, body: json}; });
      });
  }

  function run() {
    var req = request(), mine = ++sequence;
    keepUrl(null);
    var saved = $("scenario-saved");
    if (saved) saved.hidden = true;
    if (isEmpty(req.scenarios[0])) { show(unchanged(), req); return; }
    $("scenario-summary").textContent = data.texts.running;
    post(data.urls.scenario, req).then(function (answer) {
      if (mine !== sequence) return;  // a newer change is on its way
      if (!answer.ok) { problems([data.texts.scenario_failed + " " + errorText(answer.body, String(answer.status))]); return; }
      show(view(answer.body, req), req);
    }).catch(function (error) { if (mine === sequence) problems([data.texts.scenario_failed + " " + error]); });
  }
  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () { timer = null; run(); }, SLIDER_DELAY_MS);
  }

  function langQuery() {
    var lang = new URL(window.location.href).searchParams.get("lang");
    return lang ? "?lang=" + encodeURIComponent(lang) : "";
  }
  function save(event) {
    event.preventDefault();
    var input = $("scenario-name"), note = $("scenario-saved"), title = input.value.trim();
    if (!title) { note.hidden = false; note.textContent = data.texts.need_name; input.focus(); return; }
    post(data.urls.saved, {name: title, kind: "scenario", request: request(), description: ""}).then(function (answer) {
      note.hidden = false;
      note.textContent = "";
      if (!answer.ok) { note.textContent = data.texts.save_failed + " " + errorText(answer.body, String(answer.status)); return; }
      var link = document.createElement("a");
      link.href = "/w/" + encodeURIComponent(data.workspace) + "/scenarios" + langQuery();
      link.textContent = answer.body.name;
      note.appendChild(document.createTextNode(data.texts.saved + " "));
      note.appendChild(link);
      data.saved = {id: answer.body.id, name: answer.body.name};
      keepUrl(answer.body.id);
    });
  }
  function simulate(event) {
    event.preventDefault();
    var days = Number($("sim-days").value), error = $("simulation-error");
    var title = data.saved ? data.saved.name : ($("scenario-summary").textContent || "scenario");
    var body = {kind: "simulate", request: {data: data.dataset, scenarios: [spec(title.slice(0, 200))], days: days}};
    $("run-simulation").disabled = true;
    post(data.urls.jobs, body).then(function (answer) {
      if (answer.ok && answer.body && answer.body.id) {
        window.location.assign(data.urls.job_page + encodeURIComponent(answer.body.id) + langQuery());
        return;
      }
      $("run-simulation").disabled = false;
      error.hidden = false;
      error.textContent = data.texts.run_failed + " " + errorText(answer.body, String(answer.status));
    });
  }

  function filterFirms() {
    var words = $("firm-filter").value.trim().toLowerCase();
    $("firm-list").querySelectorAll("li").forEach(function (li) { li.hidden = words !== "" && li.dataset.name.indexOf(words) < 0; });
  }
  function reset() {
    form.querySelectorAll("input[type=checkbox]").forEach(function (i) { i.checked = false; });
    form.querySelectorAll("input[type=range]").forEach(function (i) { i.value = 0; showCut(i); });
    if ($("control-by")) $("control-by").value = "";
    if ($("variants")) $("variants").value = DEFAULT_VARIANTS;
    run();
  }
  function showCut(slider) {
    var out = $(slider.id + "-value");
    if (out) out.textContent = whole.format(Number(slider.value) / 100);
  }

  function wire() {
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.addEventListener("change", function (event) {
      if (event.target.id === "firm-filter") return;
      if (event.target.type === "range") { showCut(event.target); later(); return; }
      run();
    });
    form.addEventListener("input", function (event) {
      if (event.target.type === "range") { showCut(event.target); later(); }
      if (event.target.id === "firm-filter") filterFirms();
    });
    if ($("scenario-reset")) $("scenario-reset").addEventListener("click", reset);
    if ($("save-form")) $("save-form").addEventListener("submit", save);
    if ($("simulate-form")) $("simulate-form").addEventListener("submit", simulate);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var island = $("scenario-data");
    form = $("scenario-form");
    if (!island || !form) return;
    data = JSON.parse(island.textContent);
    percent = new Intl.NumberFormat(data.lang, {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1});
    whole = new Intl.NumberFormat(data.lang, {style: "percent", maximumFractionDigits: 0});
    window.coreatlas = window.coreatlas || {};
    wire();  // every member may try scenarios; saving and running are there for editors only
    // A scenario in the URL: its result goes to the map at once. "initial" tells the map that this is the
    // URL's scenario, not a change made by the user (the map may keep the URL's measure and only outline the binding path).
    if (!data.view || isEmpty(data.request.scenarios[0])) return;
    var initial = {availability: data.view.availability, binding: data.view.binding, outputs: data.view.outputs, request: data.request,
                   summary: data.view.summary, warnings: data.view.warnings, initial: true};
    window.coreatlas.scenario = initial;
    // after every DOMContentLoaded handler (the map's listener included) has run
    setTimeout(function () { document.dispatchEvent(new CustomEvent("coreatlas:scenario", {detail: initial})); }, 0);
  });
})();
