// Every chart of every page: <div class="chart" data-spec="ISLAND_ID"> draws the Vega-Lite spec held in
// <script type="application/json" id="ISLAND_ID">. The chart libraries (vega, vega-lite, vega-embed and
// Vega's CSP-safe expression interpreter) are loaded once, only on pages that have a chart. Charts are
// drawn on canvas (the CSP allows no inline styles) with vega-embed's menu to save PNG or SVG.
// coreatlas.drawChart(element, spec) draws a spec made at run time and returns a promise of the view.
(function () {
  "use strict";
  var ca = window.coreatlas = window.coreatlas || {};
  var loading = null;

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src; s.async = false;
      s.onload = resolve; s.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }

  function libraries() {
    if (!loading) {
      var t = ca.texts(), scripts = t.chart_scripts || [];
      loading = scripts.reduce(function (p, src) { return p.then(function () { return load(src); }); }, Promise.resolve());
    }
    return loading;
  }

  function options(name) {
    var t = ca.texts();
    return {renderer: "canvas", ast: true, expr: window.vegaInterpreter.expressionInterpreter, defaultStyle: false,
            downloadFileName: name || "chart", tooltip: {disableDefaultStyle: true},
            actions: {export: true, source: false, compiled: false, editor: false},
            i18n: {PNG_ACTION: t.save_png || "Save as PNG", SVG_ACTION: t.save_svg || "Save as SVG",
                   CLICK_TO_VIEW_ACTIONS: t.chart_menu || "Save this chart"}};
  }

  ca.drawChart = function (element, spec) {
    return libraries().then(function () {
      return window.vegaEmbed(element, spec, options(element.getAttribute("data-name") || element.id));
    }).then(function (result) {
      element.setAttribute("data-drawn", "1");
      return result.view;
    }).catch(function (error) {
      element.setAttribute("data-drawn", "error");
      element.textContent = (ca.texts().chart_failed || "The chart could not be drawn") + ": " + error.message;
      throw error;
    });
  };

  function drawPending(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(".chart[data-spec]:not([data-drawn])"), function (el) {
      var island = document.getElementById(el.getAttribute("data-spec"));
      if (!island) return;
      el.setAttribute("data-drawn", "pending");
      ca.drawChart(el, JSON.parse(island.textContent)).catch(function () {});
    });
  }
  ca.drawCharts = drawPending;

  document.addEventListener("DOMContentLoaded", function () {
    drawPending(document);
    new MutationObserver(function () { drawPending(document); }).observe(document.body, {childList: true, subtree: true});
  });
})();
