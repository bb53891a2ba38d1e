"""The job queue, in the database.

A job is ``queued``, then ``running`` under one worker's lease, then ``succeeded``, ``failed``
or ``cancelled``. :func:`claim` takes the oldest queued job: on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED`` (workers never wait for each other nor take the same
row), on SQLite inside ``BEGIN IMMEDIATE`` (one writer at a time). The worker renews its lease by
:func:`heartbeat`; every later write of the worker names its ``(worker_id, attempt)`` and is
refused once the job is no longer its own. :func:`requeue_expired` puts a job whose lease ran
out back in the queue, or fails it with the reason after ``max_attempts`` attempts.
Each state change and progress report is a :class:`~coreatlas.store.models.JobEvent` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from coreatlas.store.db import Database
from coreatlas.store.models import TERMINAL_STATES, Job, JobEvent, utcnow

__all__ = [
    "ACTIVE_STATES",
    "Claim",
    "add_event",
    "active_jobs",
    "claim",
    "complete",
    "complete_in",
    "enqueue",
    "events_after",
    "fail",
    "heartbeat",
    "mark_cancelled",
    "progress",
    "request_cancel",
    "requeue_expired",
]

ACTIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: its writes name ``worker_id`` and ``attempt``."""

    job_id: str
    kind: str
    request: dict
    workspace_id: str
    worker_id: str
    attempt: int
    max_attempts: int


def add_event(session: Session, job_id: str, kind: str, *, state: str | None = None, done: int | None = None,
              total: int | None = None, attempt: int = 0, message: str = "") -> None:  # fmt: skip
    """Append an event (numbered after the job's last). Callers update the job row first in the
    same transaction, which holds its row lock: two writers never pick the same number."""
    seq = session.scalar(sa.select(sa.func.coalesce(sa.func.max(JobEvent.seq), 0)).where(JobEvent.job_id == job_id)) + 1
    session.add(JobEvent(job_id=job_id, seq=seq, kind=kind, state=state, done=done, total=total, attempt=attempt, message=message))
    session.flush()


def enqueue(session: Session, workspace_id: str, kind: str, request: dict, *, created_by: str | None = None, max_attempts: int = 3,
            dataset_id: str | None = None) -> Job:  # fmt: skip
    job = Job(workspace_id=workspace_id, kind=kind, request=request, created_by=created_by, max_attempts=max_attempts, dataset_id=dataset_id,
              state="queued", attempts=0)  # fmt: skip
    session.add(job)
    session.flush()
    add_event(session, job.id, "state", state="queued")
    return job


def active_jobs(session: Session, workspace_id: str) -> int:
    """Jobs of a workspace queued or running."""
    return session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.workspace_id == workspace_id, Job.state.in_(ACTIVE_STATES)))


def claim(db: Database, worker_id: str, lease_seconds: float = 30.0, kinds: tuple[str, ...] | None = None) -> Claim | None:
    """Take the oldest queued job (of ``kinds``, if given) for ``worker_id``; None if there is none."""
    with db.write() as session:
        query = sa.select(Job).where(Job.state == "queued").order_by(Job.created_at, Job.id).limit(1)
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        job = session.scalars(query).first()
        if job is None:
            return None
        now = utcnow()
        job.state, job.worker_id, job.attempts = "running", worker_id, job.attempts + 1
        job.lease_expires_at, job.heartbeat_at, job.started_at = now + timedelta(seconds=lease_seconds), now, job.started_at or now
        job.progress_done = job.progress_total = None
        session.flush()
        add_event(session, job.id, "state", state="running", attempt=job.attempts, message=f"taken by worker {worker_id}")
        return Claim(job.id, job.kind, dict(job.request), job.workspace_id, worker_id, job.attempts, job.max_attempts)


def _own(claim: Claim):
    return sa.and_(Job.id == claim.job_id, Job.state == "running", Job.worker_id == claim.worker_id, Job.attempts == claim.attempt)


def heartbeat(db: Database, claim: Claim, lease_seconds: float = 30.0) -> str:
    """Renew the lease: ``"ok"``, ``"cancel"`` (a cancel was asked for) or ``"lost"`` (not ours any more)."""
    with db.write() as session:
        now = utcnow()
        done = session.execute(
            sa.update(Job).where(_own(claim)).values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
        )
        if done.rowcount == 0:
            return "lost"
        return "cancel" if session.scalar(sa.select(Job.cancel_requested).where(Job.id == claim.job_id)) else "ok"


def progress(db: Database, claim: Claim, done: int, total: int | None) -> bool:
    """Record ``progress(done, total)``; False when the job is no longer the worker's."""
    with db.write() as session:
        updated = session.execute(sa.update(Job).where(_own(claim)).values(progress_done=done, progress_total=total))
        if updated.rowcount == 0:
            return False
        add_event(session, claim.job_id, "progress", done=done, total=total, attempt=claim.attempt)
        return True


def _finish_in(session: Session, claim: Claim, state: str, message: str = "", **values) -> bool:
    updated = session.execute(sa.update(Job).where(_own(claim)).values(state=state, finished_at=utcnow(), lease_expires_at=None, **values))
    if updated.rowcount == 0:
        return False
    add_event(session, claim.job_id, "state", state=state, attempt=claim.attempt, message=message)
    return True


def _finish(db: Database, claim: Claim, state: str, message: str = "", **values) -> bool:
    with db.write() as session:
        return _finish_in(session, claim, state, message, **values)


def complete(db: Database, claim: Claim, result_id: str) -> bool:
    """The job succeeded with result ``result_id``; False (and nothing changed) if it is not ours any more."""
    return _finish(db, claim, "succeeded", result_id=result_id)


def complete_in(session: Session, claim: Claim, result_id: str) -> bool:
    """:func:`complete` inside the caller's transaction (which wrote the result)."""
    return _finish_in(session, claim, "succeeded", result_id=result_id)


def fail(db: Database, claim: Claim, error: dict) -> bool:
    """The job failed with ``error`` (the error envelope's body: code, message, field, problems)."""
    return _finish(db, claim, "failed", error.get("message", ""), error=error)


def mark_cancelled(db: Database, claim: Claim) -> bool:
    return _finish(db, claim, "cancelled", "cancelled while running")


def request_cancel(session: Session, job: Job) -> None:
    """A queued job is cancelled at once; a running one when its worker next hears of it."""
    if job.state in TERMINAL_STATES:
        return
    if job.state == "queued":
        job.state, job.finished_at = "cancelled", utcnow()
        session.flush()
        add_event(session, job.id, "state", state="cancelled", attempt=job.attempts, message="cancelled before it ran")
    else:
        job.cancel_requested = True
        session.flush()
        add_event(session, job.id, "state", state="running", attempt=job.attempts, message="cancel requested")


def requeue_expired(db: Database, now: datetime | None = None, max_attempts: int | None = None) -> list[tuple[str, str]]:
    """Running jobs whose lease expired: queued again, or failed after their last attempt
    (the job's ``max_attempts``, capped by ``max_attempts`` if given). Returns ``(job_id, new state)`` for each."""
    now = now or utcnow()
    changed = []
    with db.write() as session:
        query = sa.select(Job).where(Job.state == "running", Job.lease_expires_at < now).order_by(Job.id)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        for job in session.scalars(query).all():
            allowed = min(job.max_attempts, max_attempts or job.max_attempts)
            why = f"the lease of worker {job.worker_id} expired (attempt {job.attempts} of {allowed}): the worker stopped or was lost"
            if job.cancel_requested:
                job.state, job.finished_at, message = "cancelled", now, "cancelled; its worker was lost"
            elif job.attempts >= allowed:
                job.state, job.finished_at, message = "failed", now, why
                job.error = {
                    "code": "lease_expired",
                    "message": f"failed after {job.attempts} attempts: {why}",
                    "field": None,
                    "problems": [],
                }
            else:
                job.state, message = "queued", why + "; queued again"
            job.lease_expires_at, job.worker_id = None, None
            session.flush()
            add_event(session, job.id, "state", state=job.state, attempt=job.attempts, message=message)
            changed.append((job.id, job.state))
    return changed


def events_after(session: Session, job_id: str, after: int = 0, limit: int = 1000) -> list[JobEvent]:
    query = sa.select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after).order_by(JobEvent.seq).limit(limit)
    return list(session.scalars(query))
