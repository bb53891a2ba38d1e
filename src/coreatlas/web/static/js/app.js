// Every page: the sign-out button, the JSON API helper (coreatlas.api, with the CSRF header of the
// readable cookie on state-changing calls), and CSV/JSON downloads for every table.data[data-download],
// including tables added later (a MutationObserver enhances them as they appear).
(function () {
  "use strict";
  var ca = window.coreatlas = window.coreatlas || {};

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }
  ca.csrf = function () { return cookie("coreatlas_csrf"); };

  // The page's own texts (the #ui-texts island of base.html), for scripts that show words.
  ca.texts = function () {
    if (!ca._texts) {
      var island = document.getElementById("ui-texts");
      ca._texts = island ? JSON.parse(island.textContent) : {};
    }
    return ca._texts;
  };

  // fetch JSON; resolves with the parsed answer, rejects with {status, error} (the API's error envelope).
  ca.api = function (method, url, body) {
    var headers = {"Accept": "application/json"};
    if (method !== "GET") headers["X-CSRF-Token"] = ca.csrf();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {method: method, credentials: "same-origin", headers: headers,
                       body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = {error: {message: text}}; }
          if (!response.ok) throw {status: response.status, error: (data && data.error) || {message: response.statusText}};
          return data;
        });
      });
  };

  function cellValue(cell) {
    var raw = cell.getAttribute("data-value");
    if (raw === null) return cell.textContent.trim();
    var n = Number(raw);
    return raw !== "" && !isNaN(n) ? n : raw;
  }

  function tableRows(table) {
    var head = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    var names = head ? Array.prototype.map.call(head.cells, function (c) { return c.getAttribute("data-key") || c.textContent.trim(); }) : [];
    var rows = [];
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var record = {};
        Array.prototype.forEach.call(row.cells, function (cell, i) { record[names[i] || ("column_" + (i + 1))] = cellValue(cell); });
        rows.push(record);
      });
    });
    return {names: names, rows: rows};
  }

  function csvField(value) {
    var text = value === null || value === undefined ? "" : String(value);
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  ca.toCsv = function (table) {
    var data = tableRows(table);
    var lines = [data.names.map(csvField).join(",")];
    data.rows.forEach(function (r) { lines.push(data.names.map(function (n) { return csvField(r[n]); }).join(",")); });
    return lines.join("\r\n") + "\r\n";
  };

  ca.save = function (name, type, content) {
    var url = URL.createObjectURL(new Blob([content], {type: type}));
    var a = document.createElement("a");
    a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  };

  function button(label, title, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "download"; b.textContent = label; b.title = title;
    b.addEventListener("click", onClick);
    return b;
  }

  function enhance(table) {
    if (table.getAttribute("data-enhanced")) return;
    table.setAttribute("data-enhanced", "1");
    var name = table.getAttribute("data-download") || "table", t = ca.texts();
    var bar = document.createElement("div");
    bar.className = "downloads";
    bar.setAttribute("data-for", name);
    bar.appendChild(button("CSV", (t.download_csv || "Download as CSV") + ": " + name, function () { ca.save(name + ".csv", "text/csv;charset=utf-8", "\ufeff" + ca.toCsv(table)); }));
    bar.appendChild(button("JSON", (t.download_json || "Download as JSON") + ": " + name, function () { ca.save(name + ".json", "application/json", JSON.stringify(tableRows(table).rows, null, 2)); }));
    table.parentNode.insertBefore(bar, table.nextSibling);
  }
  ca.enhanceTables = function (root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("table.data[data-download]"), enhance);
  };

  document.addEventListener("DOMContentLoaded", function () {
    ca.enhanceTables(document);
    new MutationObserver(function () { ca.enhanceTables(document); }).observe(document.body, {childList: true, subtree: true});
    var out = document.getElementById("sign-out");
    if (!out) return;
    out.addEventListener("click", function () {
      fetch("/api/session", {method: "DELETE", credentials: "same-origin", headers: {"X-CSRF-Token": ca.csrf()}})
        .finally(function () { window.location.assign("/"); });
    });
  });
})();
