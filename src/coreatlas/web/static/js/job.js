// The job page: state and progress from the job's server-sent events (/api/jobs/{id}/events,
// EventSource), polling GET /api/jobs/{id} when the stream fails; the cancel button (DELETE
// /api/jobs/{id} with the CSRF header). When the job ends the page is loaded again, so the
// server renders its result.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var TERMINAL = {succeeded: true, failed: true, cancelled: true};
  var PAGE_STATE = {succeeded: "done"};
  var data, source = null, ended = false;

  function $(id) { return document.getElementById(id); }
  function showState(state) {
    var el = $("job-state");
    el.dataset.state = PAGE_STATE[state] || state;
    el.className = "job-state state-" + el.dataset.state;
    el.textContent = data.states[state] || state;
  }
  function showProgress(done, total) {
    var bar = $("job-progress");
    if (total) { bar.max = total; bar.value = Math.min(done || 0, total); } else { bar.removeAttribute("value"); }
    $("job-progress-text").textContent = (done || 0) + " / " + (total || "?");
  }
  function finish(state) {
    if (ended) return;
    ended = true;
    if (source) source.close();
    var cancel = $("cancel-job");
    if (cancel) cancel.remove();
    if (state !== data.state) window.location.reload();
  }
  function apply(job) {
    if (!job) return;
    if (job.state) showState(job.state);
    var progress = job.progress || {done: job.done, total: job.total};
    if (progress && (progress.done !== undefined && progress.done !== null)) showProgress(progress.done, progress.total);
    if (TERMINAL[job.state]) finish(job.state);
  }

  function poll() {
    if (ended) return;
    fetch(data.urls.job, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) { apply(job); if (!ended) setTimeout(poll, POLL_MS); })
      .catch(function () { setTimeout(poll, POLL_MS * 3); });
  }
  function listen() {
    if (typeof window.EventSource !== "function") { poll(); return; }
    source = new EventSource(data.urls.events, {withCredentials: true});
    var handle = function (event) { try { apply(JSON.parse(event.data)); } catch (e) { /* a keep-alive without data */ } };
    source.addEventListener("state", handle);
    source.addEventListener("progress", handle);
    source.addEventListener("end", function () { source.close(); if (!ended) poll(); });
    source.onerror = function () { source.close(); if (!ended) poll(); };
  }

  function cancel() {
    var button = $("cancel-job");
    button.disabled = true;
    fetch(data.urls.job, {method: "DELETE", credentials: "same-origin", headers: {"X-CSRF-Token": window.coreatlas.csrf()}})
      .then(function (r) { return r.json().catch(function () { return null; }).then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (answer) {
        if (answer.ok) { apply(answer.body); return; }
        button.disabled = false;
        var error = $("job-error");
        error.hidden = false;
        error.textContent = data.texts.cancel_failed + " " + (answer.body && answer.body.error ? answer.body.error.message : "");
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var island = $("job-data");
    if (!island) return;
    data = JSON.parse(island.textContent);
    if ($("cancel-job")) $("cancel-job").addEventListener("click", cancel);
    if (!TERMINAL[data.state]) listen();
  });
})();
