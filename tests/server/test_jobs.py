"""The job queue and its workers on SQLite and PostgreSQL: claim, lease, heartbeat, re-queue,
failure after the last attempt, cancel, the per-workspace limit, results written once, and two
workers sharing 50 jobs (none run twice, none lost)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pandas as pd
import pytest
import sqlalchemy as sa

from coreatlas.errors import LimitError, NotFoundError, RequestError
from coreatlas.services.server import JobStopped, run_one, run_worker
from coreatlas.store import queue
from coreatlas.store.models import Job, JobEvent, ResultRow
from coreatlas.store.results import LARGE_ROWS, canonical_json, put_result, result_dir

TTR = {"data": "chips"}


def wait_for(predicate, timeout: float = 60.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def fake(payload_of=lambda claim: {"job": claim.job_id, "provenance": {}}, steps: int = 3, pause: float = 0.0):
    """An ``execute`` that reports ``steps`` progress calls and returns a small payload."""

    def execute(claim, progress):
        for i in range(steps):
            time.sleep(pause)
            progress(i + 1, steps)
        return payload_of(claim), {}

    return execute


def test_submit_validates_and_limits(server, admin, make_server, db_url):
    with pytest.raises(RequestError) as caught:
        server.submit_job(admin, "default", "nonsense", {})
    assert caught.value.field == "kind"
    with pytest.raises(RequestError) as caught:
        server.submit_job(admin, "default", "ttr", {"data": "chips", "no_such_field": 1})
    assert "no_such_field" in str(caught.value)
    with pytest.raises(NotFoundError):
        server.submit_job(admin, "default", "ttr", {"data": "not-a-dataset"})
    limited = make_server(db_url, name="data", job_limit=2)
    first = limited.submit_job(admin, "default", "ttr", TTR)
    limited.submit_job(admin, "default", "ttr", TTR)
    with pytest.raises(LimitError):
        limited.submit_job(admin, "default", "ttr", TTR)
    limited.cancel_job(admin, first)  # a queued job is cancelled at once and frees its place
    assert limited.get_job(admin, first)["state"] == "cancelled"
    limited.submit_job(admin, "default", "ttr", TTR)


def test_lease_expiry_requeues_then_fails_with_the_reason(server, admin):
    job_id = server.submit_job(admin, "default", "ttr", TTR)
    claims = []
    for attempt in (1, 2, 3):
        claim = queue.claim(server.db, "doomed", lease_seconds=0.2)
        assert (claim.job_id, claim.attempt) == (job_id, attempt)
        assert queue.claim(server.db, "other", lease_seconds=0.2) is None  # running: nobody else takes it
        claims.append(claim)
        time.sleep(0.3)  # the worker died: no heartbeat
        state = dict(queue.requeue_expired(server.db))[job_id]
        assert state == ("queued" if attempt < 3 else "failed")
    job = server.get_job(admin, job_id)
    assert job["state"] == "failed" and job["attempts"] == 3
    assert job["error"]["code"] == "lease_expired" and "3 attempts" in job["error"]["message"]
    # the dead worker's late writes are refused
    assert queue.heartbeat(server.db, claims[-1]) == "lost"
    assert not queue.complete(server.db, claims[-1], "x" * 64)
    assert not queue.progress(server.db, claims[0], 1, 2)
    states = [e["state"] for e in server.job_events(admin, job_id) if e["kind"] == "state"]
    assert states == ["queued", "running", "queued", "running", "queued", "running", "failed"]


def test_heartbeat_keeps_the_lease(server, admin):
    job_id = server.submit_job(admin, "default", "ttr", TTR)
    claim = queue.claim(server.db, "alive", lease_seconds=0.4)

    def slow(claim, progress):
        for i in range(8):  # 1.2 s, three times the lease
            time.sleep(0.15)
            assert queue.requeue_expired(server.db) == []
            progress(i + 1, 8)
        return {"ok": True, "provenance": {}}, {}

    assert run_one(server, claim, lease_seconds=0.4, execute=slow, progress_every=0) == "succeeded"
    job = server.get_job(admin, job_id)
    assert job["state"] == "succeeded" and job["attempts"] == 1 and job["progress"] == {"done": 8, "total": 8}
    assert server.job_result(admin, job_id) == {"ok": True, "provenance": {}}


def test_cancel_a_running_job(server, admin):
    job_id = server.submit_job(admin, "default", "ttr", TTR)
    claim = queue.claim(server.db, "w", lease_seconds=0.3)
    started = threading.Event()

    def endless(claim, progress):
        started.set()
        for i in range(10_000):
            time.sleep(0.02)
            progress(i, None)
        raise AssertionError("not cancelled")

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(state=run_one(server, claim, lease_seconds=0.3, execute=endless)))
    thread.start()
    started.wait(10)
    assert server.cancel_job(admin, job_id)["cancel_requested"]
    thread.join(30)
    assert outcome["state"] == "cancelled"
    job = server.get_job(admin, job_id)
    assert job["state"] == "cancelled" and job["result"] is None
    with pytest.raises(NotFoundError, match="cancelled"):
        server.job_result(admin, job_id)


def test_a_failing_job_reports_its_error(server, admin):
    job_id = server.submit_job(admin, "default", "ttr", TTR)

    def broken(claim, progress):
        raise RequestError("capacity.TWN: must be between 0 and 1", field="capacity.TWN")

    stop = threading.Event()
    assert run_worker(server, "w", stop, lease_seconds=5, execute=broken, max_jobs=1) == 1
    job = server.get_job(admin, job_id)
    assert job["state"] == "failed" and job["error"]["field"] == "capacity.TWN" and job["error"]["code"] == "invalid_request"


def test_a_real_job_with_progress_and_its_result(server, admin):
    from coreatlas import services

    job_id = server.submit_job(admin, "default", "ttr", TTR)
    assert server.get_job(admin, job_id)["state"] == "queued"
    stop = threading.Event()
    assert run_worker(server, "real", stop, lease_seconds=10, max_jobs=1) == 1
    job = server.get_job(admin, job_id)
    assert job["state"] == "succeeded", job["error"]
    result = server.job_result(admin, job_id)
    local = json.loads(canonical_json(services.run("ttr", TTR).to_dict()))  # the JSON the CLI prints
    result["provenance"].pop("created_at"), local["provenance"].pop("created_at")
    assert result == local
    events = server.job_events(admin, job_id)
    progress = [(e["done"], e["total"]) for e in events if e["kind"] == "progress"]
    assert progress and progress[-1][0] == progress[-1][1]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert list(server.follow_job(admin, job_id, after=events[-2]["seq"])) == events[-1:]
    runs = server.list_runs(admin, "default")["items"]
    assert runs[0]["job"] == job_id and runs[0]["result"] == job["result"]


def test_results_are_written_once_by_content(server):
    big = pd.DataFrame({"x": range(LARGE_ROWS + 1)})
    with server.db.write() as session:
        first = put_result(session, server.data_dir, {"a": 1, "provenance": {}}, {"big": big, "small": big.head(3)})
        second = put_result(session, server.data_dir, {"a": 1, "provenance": {}}, {"big": big})
        other = put_result(session, server.data_dir, {"a": 2, "provenance": {}})
    assert first == second != other and len(first) == 64
    with server.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ResultRow)) == 2
        assert session.get(ResultRow, first).tables == ["big"]
    assert pd.read_parquet(result_dir(server.data_dir, first) / "big.parquet").equals(big)


def test_a_dead_worker_s_job_is_run_again_by_another(server, admin):
    job_id = server.submit_job(admin, "default", "ttr", TTR)
    assert queue.claim(server.db, "killed", lease_seconds=0.3).attempt == 1  # then the worker is gone
    stop = threading.Event()
    assert run_worker(server, "survivor", stop, lease_seconds=0.3, poll_seconds=0.05, execute=fake(), max_jobs=1) == 1
    job = server.get_job(admin, job_id)
    assert job["state"] == "succeeded" and job["attempts"] == 2


def _two_workers_take_50_jobs(url, make_server, admin_token):
    a = make_server(url)
    b = make_server(url, name="data-b")
    caller = a.authenticate_token(admin_token)
    with a.db.read() as session:
        workspace_id = a._workspace(session, caller, "default")[0].id
    with a.db.write() as session:
        ids = [queue.enqueue(session, workspace_id, "ttr", {"data": "chips", "n": i}).id for i in range(50)]
    runs, lock = [], threading.Lock()

    def execute(claim, progress):
        with lock:
            runs.append(claim.job_id)
        time.sleep(0.01)
        progress(1, 1)
        return {"job": claim.job_id, "provenance": {}}, {}

    stop = threading.Event()
    workers = [threading.Thread(target=run_worker, args=(s, f"worker-{i}", stop), kwargs={"lease_seconds": 10, "poll_seconds": 0.05, "execute": execute})
               for i, s in enumerate((a, b))]  # fmt: skip
    for w in workers:
        w.start()

    def all_done() -> bool:
        with a.db.read() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.state == "succeeded")) == 50

    try:
        wait_for(all_done, 120)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    assert Counter(runs) == Counter(ids)  # each job ran exactly once
    with a.db.read() as session:
        jobs = session.scalars(sa.select(Job)).all()
        assert {j.state for j in jobs} == {"succeeded"} and {j.attempts for j in jobs} == {1}
        running = session.execute(
            sa.select(JobEvent.job_id, sa.func.count()).where(JobEvent.state == "running").group_by(JobEvent.job_id)
        ).all()
        assert {n for _, n in running} == {1}
        by_worker = Counter(j.worker_id for j in jobs)
    return by_worker


def test_two_workers_against_postgresql_take_50_jobs(pg_url, make_server):
    token = make_server(pg_url, name="boot").bootstrap_token
    by_worker = _two_workers_take_50_jobs(pg_url, make_server, token)
    assert sum(by_worker.values()) == 50


def test_two_workers_against_sqlite_take_50_jobs(tmp_path, make_server):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    token = make_server(url, name="boot").bootstrap_token
    assert sum(_two_workers_take_50_jobs(url, make_server, token).values()) == 50


def test_job_stopped_is_an_exception():
    assert issubclass(JobStopped, Exception)


#: Small real jobs: three use cases on four maps, the simulations on different scenarios.
REAL_JOBS = [("tts", {"data": "materials"}), ("tts", {"data": "quantum"}), ("ttr", {"data": "sequencing"})] * 13 + [
    ("simulate", {"data": "chips", "scenarios": [{"remove_countries": [code]}]}) for code in ("NLD", "JPN", "USA", "TWN", "KOR", "DEU")
] + [("ttr", {"data": "quantum", "ttr_days": days}) for days in (10, 20, 30, 40, 50)]  # fmt: skip


def _two_workers_run_real_jobs(url, make_server, admin_token):
    """Two servers' workers (threads) take 50 real jobs submitted through the API's service."""
    a, b = make_server(url, job_limit=100), make_server(url, name="data-b", job_limit=100)
    caller = a.authenticate_token(admin_token)
    ids = {a.submit_job(caller, "default", kind, request): (kind, request) for kind, request in REAL_JOBS}
    claims, lock = [], threading.Lock()

    def execute_as(server):
        def execute(claim, progress):
            with lock:
                claims.append(claim.job_id)
            return server.execute(claim, progress)

        return execute

    stop = threading.Event()
    workers = [threading.Thread(target=run_worker, args=(s, f"real-{i}", stop), kwargs={"lease_seconds": 30, "poll_seconds": 0.05,
                                                                                        "execute": execute_as(s)})
               for i, s in enumerate((a, b))]  # fmt: skip
    for w in workers:
        w.start()
    try:
        wait_for(lambda: all(a.get_job(caller, j)["state"] in ("succeeded", "failed") for j in ids), 600, every=0.5)
    finally:
        stop.set()
        for w in workers:
            w.join(120)
    return a, caller, ids, claims


def test_two_workers_against_postgresql_run_50_real_jobs(pg_url, make_server):
    from coreatlas import services

    token = make_server(pg_url, name="boot").bootstrap_token
    server, caller, ids, claims = _two_workers_run_real_jobs(pg_url, make_server, token)
    assert len(ids) == 50 and Counter(claims) == Counter(list(ids))  # each job ran exactly once
    jobs = {j: server.get_job(caller, j) for j in ids}
    assert {j["state"] for j in jobs.values()} == {"succeeded"}, [j["error"] for j in jobs.values() if j["error"]]
    assert {j["attempts"] for j in jobs.values()} == {1}
    assert len({j["result"] for j in jobs.values()}) >= 1
    with server.db.read() as session:
        assert len({w for (w,) in session.execute(sa.select(Job.worker_id))}) == 2  # both workers took jobs
    local = {}
    for job_id, (kind, request) in ids.items():  # each result is the local run's (the JSON the CLI prints)
        key = json.dumps([kind, request], sort_keys=True)
        if key not in local:
            local[key] = json.loads(canonical_json(services.run(kind, request).to_dict()))
            local[key]["provenance"].pop("created_at")
        result = server.job_result(caller, job_id)
        result["provenance"].pop("created_at")
        assert result == local[key], (kind, request)
