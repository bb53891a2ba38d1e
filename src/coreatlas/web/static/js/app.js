// Every page: the sign-out button (DELETE /api/session with the CSRF token of the readable cookie).
(function () {
  "use strict";
  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }
  window.coreatlas = window.coreatlas || {};
  window.coreatlas.csrf = function () { return cookie("coreatlas_csrf"); };
  document.addEventListener("DOMContentLoaded", function () {
    var out = document.getElementById("sign-out");
    if (!out) return;
    out.addEventListener("click", function () {
      fetch("/api/session", {method: "DELETE", credentials: "same-origin", headers: {"X-CSRF-Token": cookie("coreatlas_csrf")}})
        .finally(function () { window.location.assign("/"); });
    });
  });
})();
