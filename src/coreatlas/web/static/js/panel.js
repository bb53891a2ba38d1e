// The node panel (#panel): its close button, links to other nodes (handled by map.js), and the
// comment thread: post a comment or a reply, resolve or reopen one, through the JSON API
// (POST/PATCH /api/workspaces/{ws}/comments, with the CSRF header of coreatlas.api), then reload
// the panel so the thread shows what the server holds. Viewers get no form and no buttons.
(function () {
  "use strict";

  function reload() {
    var ca = window.coreatlas || {};
    if (ca.reloadPanel && ca.map) return ca.reloadPanel();
    window.location.reload();
    return Promise.resolve();
  }

  function thread(el) { return el.closest("#comments"); }

  function failed(section, failure) {
    var status = document.getElementById("comment-status");
    var text = (failure && failure.error && failure.error.message) || String(failure);
    if (status) { status.textContent = text; status.classList.add("error"); }
    else if (section) section.setAttribute("data-error", text);
  }

  function post(section, body, parentId, button) {
    var ws = section.getAttribute("data-ws"), target = section.getAttribute("data-target-id");
    var payload = {target_kind: "node", target_id: target, body: body};
    if (parentId) payload.parent_id = parentId;
    if (button) button.disabled = true;
    return window.coreatlas.api("POST", "/api/workspaces/" + encodeURIComponent(ws) + "/comments", payload)
      .then(reload)
      .catch(function (failure) { if (button) button.disabled = false; failed(section, failure); });
  }

  function setStatus(section, commentId, status, button) {
    var ws = section.getAttribute("data-ws");
    button.disabled = true;
    return window.coreatlas.api("PATCH", "/api/workspaces/" + encodeURIComponent(ws) + "/comments/" + encodeURIComponent(commentId), {status: status})
      .then(reload)
      .catch(function (failure) { button.disabled = false; failed(section, failure); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("panel");
    if (!panel) return;
    panel.addEventListener("click", function (event) {
      var target = event.target;
      if (target.id === "panel-close") {
        if (window.coreatlas && window.coreatlas.clearNode && window.coreatlas.map) window.coreatlas.clearNode();
        else { var url = new URL(window.location.href); url.searchParams.delete("node"); window.location.assign(url); }
        return;
      }
      if (target.classList.contains("comment-reply-open")) {
        var form = target.closest("li.comment").querySelector("form.comment-reply-form");
        if (form) { form.hidden = !form.hidden; if (!form.hidden) form.querySelector("textarea").focus(); }
        return;
      }
      if (target.classList.contains("comment-status-set")) {
        setStatus(thread(target), target.getAttribute("data-comment-id"), target.getAttribute("data-status"), target);
      }
    });
    panel.addEventListener("submit", function (event) {
      var form = event.target, section = thread(form);
      if (!section) return;
      event.preventDefault();
      var text = form.querySelector("textarea"), button = form.querySelector("button[type=submit]");
      if (!text || !text.value.trim()) return;
      post(section, text.value, form.getAttribute("data-parent-id"), button);
    });
  });
})();
