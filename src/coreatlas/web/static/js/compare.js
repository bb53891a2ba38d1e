// The scenarios page: the Compare button opens /w/{ws}/compare?items=scenario:ID,run:ID with the
// ticked items (two to four). Without JavaScript the form sends them as repeated "compare"
// parameters, which the compare page reads as well.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("compare-form"), island = document.getElementById("scenarios-data");
    if (!form || !island) return;
    var data = JSON.parse(island.textContent), hint = document.getElementById("compare-hint");
    function ticked() {
      return Array.prototype.map.call(form.querySelectorAll("input[name='compare']:checked"), function (i) { return i.value; });
    }
    function update() {
      var n = ticked().length;
      hint.textContent = n >= data.min && n <= data.max ? "" : hint.dataset.hint;
    }
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var items = ticked();
      if (items.length < data.min || items.length > data.max) { hint.textContent = hint.dataset.hint; return; }
      var url = new URL(form.action, window.location.href), lang = new URL(window.location.href).searchParams.get("lang");
      url.searchParams.set("items", items.join(","));
      if (lang) url.searchParams.set("lang", lang);
      window.location.assign(url.toString());
    });
  });
})();
