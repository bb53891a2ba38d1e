"""Runs, results and jobs: static use cases answer at once; long ones are jobs in the queue,
executed by workers (:func:`run_worker`) that hold a lease, report progress and honour cancels."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from coreatlas.errors import CoreAtlasError, LimitError, NotFoundError, RequestError
from coreatlas.services.server.base import ROLE_RANK, Caller, Page, ServerBase, audit_values, paginate
from coreatlas.services.server.cache import Insert
from coreatlas.store import queue
from coreatlas.store.db import check_io
from coreatlas.store.models import TERMINAL_STATES, AuditEntry, Job, ResultRow, Run, Workspace, new_id, utcnow
from coreatlas.store.results import put_result, put_text, result_text

__all__ = ["JOB_KINDS", "STATIC_USE_CASES", "JobStopped", "RunMixin", "run_worker"]

log = logging.getLogger("coreatlas.worker")

#: The use cases answered at once, and the role each needs: every member may ask (a static answer
#: changes nothing), so a viewer opening a shared link sees the scenario an editor set up.
STATIC_USE_CASES = {"exposure": "viewer", "chokepoints": "viewer", "leverage": "viewer", "indicators": "viewer", "openran": "viewer",
                    "policies": "viewer", "scenario": "viewer", "policy": "viewer"}  # fmt: skip
#: The static use cases recorded as runs of the workspace when an editor (with a write token) asks;
#: others' answers are audited as reads.
RECORDED_USE_CASES = frozenset({"scenario", "policy"})
#: The use cases run as jobs.
JOB_KINDS = ("simulate", "montecarlo", "rank", "ttr", "tts", "invest", "mrio-simulate")
#: Request fields the server sets itself: a job of a use case with a ``scheduler`` runs its chunks
#: on the server's Dask cluster (``settings["dask"]``, ``coreatlas worker --dask``).
SERVER_CHOSEN = ("scheduler",)


@dataclass(frozen=True)
class StaticResult:
    """A static answer: ``text`` as ``--json`` prints it, ``stored`` as the database keeps it, ``id`` the latter's SHA-256."""

    text: bytes
    stored: str
    id: str


def _static_result(use_case: str, run: dict, shown: dict) -> StaticResult:
    from coreatlas import services  # noqa: PLC0415 - the services package imports this one

    payload = _show(services.run(use_case, run).to_dict(), shown)
    stored, result_id = result_text(payload)
    return StaticResult(services.to_json(payload).encode(), stored, result_id)


class JobStopped(Exception):
    """Raised inside a job's progress callback when the job was cancelled or its lease lost."""


def _show(payload: dict, shown: dict) -> dict:
    """The result as the caller asked for it: ``provenance.request.data`` names the dataset, not a
    server folder, and the resources the server chose (its Dask cluster) are not shown."""
    request = payload.get("provenance", {}).get("request")
    if not isinstance(request, dict):
        return payload
    fixes = {"data": shown["data"]} if "data" in shown else {}
    fixes.update({k: None for k in SERVER_CHOSEN if k in request and k not in shown})
    if any(request.get(k) != v for k, v in fixes.items()):
        payload = {**payload, "provenance": {**payload["provenance"], "request": {**request, **fixes}}}
    return payload


def _job_dict(job: Job, ws_name: str) -> dict:
    return {"id": job.id, "workspace": ws_name, "kind": job.kind, "state": job.state, "attempts": job.attempts, "max_attempts": job.max_attempts,
            "progress": {"done": job.progress_done, "total": job.progress_total}, "error": job.error, "cancel_requested": job.cancel_requested,
            "result": job.result_id, "request": job.request, "created_at": job.created_at.isoformat(),
            "started_at": job.started_at and job.started_at.isoformat(), "finished_at": job.finished_at and job.finished_at.isoformat()}  # fmt: skip


def _event_dict(event) -> dict:
    return {"seq": event.seq, "at": event.at.isoformat(), "kind": event.kind, "state": event.state, "done": event.done, "total": event.total,
            "attempt": event.attempt, "message": event.message}  # fmt: skip


class RunMixin(ServerBase):
    # ---- static use cases -----------------------------------------------------------------------
    def run_static(self, caller: Caller, ws: str, ds: str | None, use_case: str, request: dict | None = None) -> dict:
        """Run a static use case on dataset ``ds`` of ``ws`` at once; ``result.to_dict()``."""
        return json.loads(self.run_static_json(caller, ws, ds, use_case, request))

    def run_static_json(self, caller: Caller, ws: str, ds: str | None, use_case: str, request: dict | None = None) -> bytes:
        """:meth:`run_static` as the JSON text ``coreatlas ... --json`` prints (UTF-8). Static
        results are deterministic, so the same request on the same dataset content is answered
        from the result cache (with the provenance of its first run); every answer is audited,
        and a scenario asked by an editor is recorded as a run of the workspace."""
        if use_case not in STATIC_USE_CASES:
            raise NotFoundError(f"unknown static use case '{use_case}'; known: {', '.join(sorted(STATIC_USE_CASES))}", field="use_case")
        w, role = self._access(caller, ws, need=STATIC_USE_CASES[use_case], scope="read")
        recorded = use_case in RECORDED_USE_CASES and ROLE_RANK[role] >= ROLE_RANK["editor"] and caller.can("write")
        run, shown, dataset = self._resolve_request(None, w, dict(request or {}), ds)
        key = (use_case, json.dumps(run, sort_keys=True, default=str), shown.get("data"))
        cached = self.results.get(key)
        if cached is None:
            check_io()  # computing: not on an event loop
            cached = _static_result(use_case, run, shown)
            self.results.put(key, cached, len(cached.text) + len(cached.stored))
        if recorded:
            self._record_run_later(caller, w.id, dataset.id if dataset else None, use_case, shown, cached)
        else:
            self._audit_later(caller, "read", use_case, shown.get("data", ""), w.id)
        return cached.text

    def _record_run_later(self, caller: Caller, workspace_id: str, dataset_id: str | None, use_case: str, shown: dict,
                          result: StaticResult) -> None:  # fmt: skip
        """The run, its result (once, by content hash) and its audit entry, written with the next batch."""
        self.later.check()  # before any change: on an event loop with nothing batched, go to a thread
        if result.id not in self.stored_results:  # this process stores each result once
            if len(self.stored_results) > 100_000:
                self.stored_results.clear()
            self.stored_results.add(result.id)
            self.later.add(lambda session: put_text(session, result.id, result.stored))
        run_id = new_id()
        self.later.add(Insert(Run, {"id": run_id, "workspace_id": workspace_id, "dataset_id": dataset_id, "use_case": use_case,
                                    "request": shown, "result_id": result.id, "job_id": None, "created_by": caller.user_id or None,
                                    "created_at": utcnow()}))  # fmt: skip
        detail = {"use_case": use_case, "dataset": shown.get("data")}
        self.later.add(Insert(AuditEntry, audit_values(caller, "run", "run", run_id, workspace_id, detail)))

    def list_runs(self, caller: Caller, ws: str, page: Page | None = None) -> dict:
        self.flush_pending()  # the static runs of this process, batched, are listed too
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            query = sa.select(Run).where(Run.workspace_id == w.id).order_by(Run.created_at.desc(), Run.id)
            return paginate(session, query, page, lambda r: {"id": r.id, "use_case": r.use_case, "request": r.request, "result": r.result_id,
                                                             "job": r.job_id, "created_at": r.created_at.isoformat()})  # fmt: skip

    def get_run(self, caller: Caller, ws: str, run_id: str) -> dict:
        """A run and its result."""
        self.flush_pending()
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            run = session.get(Run, run_id)
            if run is None or run.workspace_id != w.id:
                raise NotFoundError(f"run '{run_id}' not found", field="run")
            result = session.get(ResultRow, run.result_id) if run.result_id else None
            out = {"id": run.id, "use_case": run.use_case, "request": run.request, "job": run.job_id, "created_at": run.created_at.isoformat(),
                   "result": json.loads(result.payload) if result else None}  # fmt: skip
        self._audit_later(caller, "read", "run", run_id, w.id)
        return out

    # ---- jobs -------------------------------------------------------------------------------------
    def submit_job(self, caller: Caller, ws: str, kind: str, request: dict | None = None) -> str:
        """Queue use case ``kind`` on ``request``; the job's id. The request is validated now
        (field paths in the errors); at most :attr:`job_limit` jobs of a workspace are queued or running."""
        from coreatlas import services  # noqa: PLC0415

        if kind not in JOB_KINDS:
            raise RequestError(f"kind: one of {', '.join(JOB_KINDS)}", field="kind")
        w, _ = self._access(caller, ws, need="editor", scope="write")
        run, shown, _ = self._resolve_request(None, w, dict(request or {}))
        case = services.use_case_of(kind)
        services.parse_request(case.request, run)  # raises RequestError with the fields at fault
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write", lock=True)
            active = queue.active_jobs(session, w.id)
            if active >= self.job_limit:
                raise LimitError(
                    f"workspace '{w.name}' has {active} jobs queued or running; at most {self.job_limit} at a time", field="kind"
                )
            dataset = self._resolve_request(session, w, shown)[2]
            job = queue.enqueue(session, w.id, kind, shown, created_by=caller.user_id or None, max_attempts=self.max_attempts,
                                dataset_id=dataset.id if dataset else None)  # fmt: skip
            self._audit(session, caller, "run", "job", job.id, w.id, kind=kind, dataset=shown.get("data"))
            return job.id

    def _job(self, session, caller: Caller, job_id: str, need: str = "viewer", scope: str = "read") -> tuple[Job, Workspace]:
        job = session.get(Job, job_id) if isinstance(job_id, str) else None
        if job is None:
            raise NotFoundError(f"job '{job_id}' not found", field="job")
        try:
            w, _ = self._workspace(session, caller, job.workspace_id, need=need, scope=scope)
        except NotFoundError:
            raise NotFoundError(f"job '{job_id}' not found", field="job") from None
        return job, w

    def get_job(self, caller: Caller, job_id: str) -> dict:
        """State, attempts, progress and error of a job."""
        with self.db.read() as session:
            job, w = self._job(session, caller, job_id)
            return _job_dict(job, w.name)

    def list_jobs(self, caller: Caller, ws: str, page: Page | None = None, state: str | None = None) -> dict:
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            query = sa.select(Job).where(Job.workspace_id == w.id).order_by(Job.created_at.desc(), Job.id)
            if state:
                query = query.where(Job.state == state)
            return paginate(session, query, page, lambda j: _job_dict(j, w.name))

    def job_events(self, caller: Caller, job_id: str, after: int = 0) -> list[dict]:
        """The job's events numbered after ``after`` (state changes and progress), oldest first."""
        with self.db.read() as session:
            self._job(session, caller, job_id)
            return [_event_dict(e) for e in queue.events_after(session, job_id, after)]

    def follow_job(self, caller: Caller, job_id: str, after: int = 0, poll_seconds: float = 0.25,
                   timeout: float | None = None) -> Iterator[dict]:  # fmt: skip
        """Each event as it comes (polling), until the job ends (or ``timeout`` seconds pass): for server-sent events."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            events = self.job_events(caller, job_id, after)
            for event in events:
                after = event["seq"]
                yield event
            if not events and self.get_job(caller, job_id)["state"] in TERMINAL_STATES:
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            if not events:
                time.sleep(poll_seconds)

    def job_result(self, caller: Caller, job_id: str) -> dict:
        """The result of a job that succeeded (its ``to_dict()``)."""
        with self.db.read() as session:
            job, w = self._job(session, caller, job_id)
            if job.state != "succeeded" or job.result_id is None:
                raise NotFoundError(f"job '{job_id}' has no result: it is {job.state}", field="job")
            payload = json.loads(session.get(ResultRow, job.result_id).payload)
        self._audit_later(caller, "export", "job", job_id, w.id, result=job.result_id)
        return payload

    def cancel_job(self, caller: Caller, job_id: str) -> dict:
        """Cancel a job: at once if queued, at its next progress report if running."""
        with self.db.write() as session:
            job, w = self._job(session, caller, job_id, need="editor", scope="write")
            if not self.db.is_sqlite:
                session.refresh(job, with_for_update=True)
            queue.request_cancel(session, job)
            self._audit(session, caller, "change", "job", job.id, w.id, change="cancel")
            return _job_dict(job, w.name)

    # ---- execution (the worker's side) ------------------------------------------------------------------
    def execute(self, claim: queue.Claim, progress: Callable[[int, int | None], None]) -> tuple[dict, dict]:
        """Run a claimed job: ``(result.to_dict(), result.tables())``."""
        from coreatlas import services  # noqa: PLC0415

        with self.db.read() as session:
            w = session.get(Workspace, claim.workspace_id)
            run, shown, _ = self._resolve_request(session, w, dict(claim.request))
        dask = self.settings.get("dask")
        if dask and "scheduler" in services.use_case_of(claim.kind).request.model_fields:
            run["scheduler"] = dask  # the same seed gives the same result on the cluster as on one machine
        result = services.run(claim.kind, run, progress=progress)
        tables = {}
        with contextlib.suppress(NotImplementedError):
            tables = result.tables()
        return _show(result.to_dict(), shown), tables


def _error_of(exc: BaseException) -> dict:
    if isinstance(exc, CoreAtlasError):
        return exc.to_dict()
    return {"code": "internal", "message": f"{type(exc).__name__}: {exc}"[:2000], "field": None, "problems": []}


def run_one(server: RunMixin, claim: queue.Claim, lease_seconds: float = 30.0, progress_every: float = 0.25,
            execute: Callable | None = None) -> str:  # fmt: skip
    """Execute a claimed job under a heartbeat: its final state (``succeeded``, ``failed``,
    ``cancelled``, or ``lost`` when the lease went to another worker)."""
    execute = execute or server.execute
    flag = {"stop": None}  # None, "cancel" or "lost"
    done_event = threading.Event()

    def beat() -> None:
        while not done_event.wait(max(lease_seconds / 3, 0.05)):
            try:
                status = queue.heartbeat(server.db, claim, lease_seconds)
            except Exception:  # noqa: BLE001 - a database hiccup: try again at the next beat
                log.warning("heartbeat of job %s failed", claim.job_id, exc_info=True)
                continue
            if status != "ok":
                flag["stop"] = status
                if status == "lost":
                    return

    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        if flag["stop"]:
            raise JobStopped(flag["stop"])
        now = time.monotonic()
        if now - last[0] >= progress_every or (total is not None and done >= total):
            last[0] = now
            if not queue.progress(server.db, claim, int(done), None if total is None else int(total)):
                flag["stop"] = "lost"
                raise JobStopped("lost")

    thread = threading.Thread(target=beat, name=f"heartbeat-{claim.job_id}", daemon=True)
    thread.start()
    try:
        try:
            payload, tables = execute(claim, progress)
            error = None
        except JobStopped:
            payload = tables = error = None
        except Exception as exc:  # noqa: BLE001 - every failure is the job's, reported with its reason
            payload = tables = None
            error = _error_of(exc)
    finally:
        done_event.set()
        thread.join()
    if flag["stop"] == "lost":
        return "lost"
    if flag["stop"] == "cancel" or (payload is None and error is None):
        return "cancelled" if queue.mark_cancelled(server.db, claim) else "lost"
    if error is not None:
        return "failed" if queue.fail(server.db, claim, error) else "lost"
    with server.db.write() as session:
        result_id = put_result(session, server.data_dir, payload, tables)
        if not queue.complete_in(session, claim, result_id):
            session.rollback()
            return "lost"
        job = session.get(Job, claim.job_id)
        session.add(Run(workspace_id=claim.workspace_id, dataset_id=job.dataset_id, use_case=claim.kind, request=job.request, result_id=result_id,
                        job_id=claim.job_id, created_by=job.created_by))  # fmt: skip
    return "succeeded"


def run_worker(server: RunMixin, worker_id: str, stop_event: threading.Event, lease_seconds: float | None = None, max_attempts: int | None = None,
               poll_seconds: float = 0.5, execute: Callable | None = None, max_jobs: int | None = None) -> int:  # fmt: skip
    """Take and run jobs until ``stop_event`` is set (or ``max_jobs`` were run); the number run.

    Each pass first re-queues jobs whose lease expired (failing those past their attempts), then
    claims the oldest queued job. ``max_attempts`` (default: each job's own, set at submission)
    caps the attempts of the jobs this worker re-queues. ``execute(claim, progress)`` replaces
    the use cases (tests)."""
    lease = lease_seconds or server.lease_seconds
    ran, last_sweep = 0, 0.0
    while not stop_event.is_set() and (max_jobs is None or ran < max_jobs):
        now = time.monotonic()
        if now - last_sweep >= min(lease / 2, 5.0):
            last_sweep = now
            try:
                for job_id, state in queue.requeue_expired(server.db, max_attempts=max_attempts):
                    log.info("job %s: lease expired, now %s", job_id, state)
            except Exception:  # noqa: BLE001
                log.warning("re-queueing expired jobs failed", exc_info=True)
        try:
            claim = queue.claim(server.db, worker_id, lease)
        except Exception:  # noqa: BLE001 - the database is busy or away: wait and try again
            log.warning("claiming a job failed", exc_info=True)
            claim = None
        if claim is None:
            stop_event.wait(poll_seconds)
            continue
        state = run_one(server, claim, lease, execute=execute)
        log.info("job %s (%s, attempt %d): %s", claim.job_id, claim.kind, claim.attempt, state)
        ran += 1
    return ran
