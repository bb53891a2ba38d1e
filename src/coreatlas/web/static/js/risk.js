// The risk page (and the risk results on the job page): sortable tables, and the forms that submit
// the rank, montecarlo and invest jobs through the JSON API (coreatlas.api, with the CSRF header).
// Words come from the page's #risk-data island; the page's state (sort order, job shown, years,
// budget) lives in its URL.
(function () {
  "use strict";
  var ca = window.coreatlas = window.coreatlas || {};
  var POLL_MS = 1000;

  function island() {
    var el = document.getElementById("risk-data");
    return el ? JSON.parse(el.textContent) : {texts: {}};
  }

  // ---- sortable tables: every table.sortable with th[data-key] > button ------------------------
  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return null;
    var raw = cell.getAttribute("data-value");
    if (raw === null) raw = cell.textContent.trim();
    if (raw === "" || raw === "None") return null;
    if (!numeric) return raw.toLocaleLowerCase();
    var n = Number(raw);
    return isNaN(n) ? null : n;
  }

  function sortTable(table, th, order) {
    var index = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var button = th.querySelector("button");
    var numeric = !button || button.getAttribute("data-type") !== "text";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = order === "asc" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = cellKey(a, index, numeric), y = cellKey(b, index, numeric);
      if (x === null || y === null) return (x === null) - (y === null);  // no value: last in either order
      if (x < y) return -sign;
      if (x > y) return sign;
      return 0;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { if (c !== th) c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order === "asc" ? "ascending" : "descending");
    if (table.getAttribute("data-url-sort")) {
      var url = new URL(window.location.href);
      url.searchParams.set("sort", th.getAttribute("data-key"));
      url.searchParams.set("order", order);
      window.history.replaceState(null, "", url);
    }
  }

  function sortable(table) {
    if (table.getAttribute("data-sortable")) return;
    table.setAttribute("data-sortable", "1");
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-key] > button"), function (button) {
      button.addEventListener("click", function () {
        var th = button.parentNode;
        var now = th.getAttribute("aria-sort");
        var text = button.getAttribute("data-type") === "text";
        var order = now === "descending" ? "asc" : now === "ascending" ? "desc" : (text ? "asc" : "desc");
        sortTable(table, th, order);
      });
    });
  }
  ca.sortableTables = function (root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("table.sortable"), sortable);
  };

  // ---- jobs ------------------------------------------------------------------------------------------
  function say(id, text, isError) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = text || "";
    el.classList.toggle("error", !!isError);
  }

  function errorText(failure) {
    var e = failure && failure.error;
    if (!e) return String(failure);
    return e.field ? e.message + " (" + e.field + ")" : e.message;
  }

  function jobUrl(data, id) {
    var url = "/w/" + encodeURIComponent(data.ws) + "/jobs/" + encodeURIComponent(id);
    var lang = new URL(window.location.href).searchParams.get("lang");
    return lang ? url + "?lang=" + encodeURIComponent(lang) : url;
  }

  function submit(data, kind, request) {
    return ca.api("POST", "/api/workspaces/" + encodeURIComponent(data.ws) + "/jobs", {kind: kind, request: request})
      .then(function (answer) { return answer.id; });
  }

  // Follow a job until it ends; on success reload this page showing it (?PARAM=ID).
  function follow(data, id, status, param, extra) {
    var t = data.texts;
    function poll() {
      ca.api("GET", "/api/jobs/" + encodeURIComponent(id)).then(function (job) {
        var p = job.progress || {};
        if (job.state === "succeeded") {
          say(status, t.done);
          var url = new URL(window.location.href);
          url.searchParams.set(param, id);
          Object.keys(extra || {}).forEach(function (k) { url.searchParams.set(k, extra[k]); });
          url.hash = status.replace("-status", "-section");
          window.location.assign(url.toString());
          return;
        }
        if (job.state === "failed") { say(status, t.failed + ": " + ((job.error && job.error.message) || ""), true); return; }
        if (job.state === "cancelled") { say(status, t.cancelled, true); return; }
        var label = job.state === "running" ? t.running : t.queued;
        say(status, label + (p.total ? " " + Math.round(100 * p.done / p.total) + "%" : ""));
        window.setTimeout(poll, POLL_MS);
      }).catch(function (failure) { say(status, errorText(failure), true); });
    }
    poll();
  }

  function number(input) {
    var v = Number(input.value);
    if (input.value === "" || isNaN(v)) return null;
    if (input.min !== "" && v < Number(input.min)) return null;
    if (input.max !== "" && v > Number(input.max)) return null;
    return v;
  }

  function field(row, name) { return row.querySelector("[name='" + name + "']"); }

  // The hazards of the Monte Carlo form, as the montecarlo and invest requests take them; null if a number is out of range.
  function hazards() {
    var out = [], bad = false;
    Array.prototype.forEach.call(document.querySelectorAll("#hazards tr.hazard"), function (row) {
      if (!field(row, "hazard_use").checked) return;
      var v = {};
      ["probability", "duration_low", "duration_high", "depth_low", "depth_high"].forEach(function (k) {
        v[k] = number(field(row, "hazard_" + k));
        if (v[k] === null) bad = true;
      });
      var targets = field(row, "hazard_targets").value.split(/[\s,;]+/).filter(Boolean).map(function (c) { return c.toUpperCase(); });
      if (!targets.length) bad = true;
      out.push({name: field(row, "hazard_name").value.trim() || undefined, targets: targets, annual_probability: v.probability,
                duration_days: {uniform: [Math.min(v.duration_low, v.duration_high), Math.max(v.duration_low, v.duration_high)]},
                depth: {uniform: [Math.min(v.depth_low, v.depth_high), Math.max(v.depth_low, v.depth_high)]}});
    });
    return bad ? null : out;
  }

  function measures() {
    var out = [], bad = false;
    Array.prototype.forEach.call(document.querySelectorAll("#measures tr.measure"), function (row) {
      if (!field(row, "measure_use").checked) return;
      var m = JSON.parse(row.getAttribute("data-measure"));
      var size = field(row, "measure_size"), cost = number(field(row, "measure_cost")), value = number(size);
      if (cost === null || value === null) { bad = true; return; }
      m[size.getAttribute("data-field")] = value;
      m.cost_usd = cost * 1e9;
      out.push(m);
    });
    return bad ? null : out;
  }

  function wire(data) {
    var t = data.texts;
    var rank = document.getElementById("run-rank");
    if (rank) rank.addEventListener("click", function () {
      rank.disabled = true;
      say("rank-status", t.submitting);
      submit(data, "rank", {data: data.ds}).then(function (id) { follow(data, id, "rank-status", "rank_job"); })
        .catch(function (f) { say("rank-status", errorText(f), true); }).finally(function () { rank.disabled = false; });
    });
    var mc = document.getElementById("run-montecarlo");
    if (mc) mc.addEventListener("click", function () {
      var years = number(document.getElementById("mc-years")), list = hazards();
      if (years === null) { say("montecarlo-status", t.bad_number, true); return; }
      if (list === null) { say("montecarlo-status", t.bad_number, true); return; }
      if (!list.length) { say("montecarlo-status", t.no_hazards, true); return; }
      mc.disabled = true;
      say("montecarlo-status", t.submitting);
      submit(data, "montecarlo", {data: data.ds, hazards: list, years: Math.round(years), seed: 1})
        .then(function (id) { window.location.assign(jobUrl(data, id)); })
        .catch(function (f) { mc.disabled = false; say("montecarlo-status", errorText(f), true); });
    });
    var invest = document.getElementById("run-invest");
    if (invest) invest.addEventListener("click", function () {
      var budget = number(document.getElementById("budget")), list = hazards(), chosen = measures();
      if (budget === null || list === null || chosen === null) { say("invest-status", t.bad_number, true); return; }
      if (!list.length) { say("invest-status", t.no_hazards, true); return; }
      if (!chosen.length) { say("invest-status", t.no_measures, true); return; }
      invest.disabled = true;
      say("invest-status", t.submitting);
      submit(data, "invest", {data: data.ds, hazards: list, measures: chosen, budget: budget * 1e9, years: 2000, seed: 1})
        .then(function (id) { follow(data, id, "invest-status", "invest_job", {budget: String(budget)}); })
        .catch(function (f) { say("invest-status", errorText(f), true); }).finally(function () { invest.disabled = false; });
    });
    var years = document.getElementById("mc-years");
    if (years) years.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("years", years.value);
      window.history.replaceState(null, "", url);
    });
    var budgetInput = document.getElementById("budget");
    if (budgetInput) budgetInput.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("budget", budgetInput.value);
      window.history.replaceState(null, "", url);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    ca.sortableTables(document);
    var data = island();
    if (data.ws && data.can_edit) wire(data);
  });
})();
