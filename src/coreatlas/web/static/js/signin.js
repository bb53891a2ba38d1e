// The sign-in forms post JSON to the API's session route (POST /api/session); on success the
// page asked for is loaded again, now with the session cookie.
(function () {
  "use strict";
  function wire(form) {
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      new FormData(form).forEach(function (value, key) { body[key] = value; });
      var error = document.getElementById("sign-in-error");
      fetch(form.getAttribute("action"), {method: "POST", credentials: "same-origin",
                                          headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
        .then(function (response) {
          if (response.ok) { window.location.reload(); return; }
          error.hidden = false;
        })
        .catch(function () { error.hidden = false; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    wire(document.getElementById("sign-in"));
    wire(document.getElementById("sign-in-token"));
  });
})();
