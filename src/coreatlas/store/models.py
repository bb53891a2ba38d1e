"""The server's entities as SQLAlchemy 2 models (one table each).

Identifiers are random hex strings (``new_id()``), so that backups restore as they are on any
backend and an identifier says nothing about how many rows exist. Times are timezone-aware UTC
(:class:`UTCDateTime`). The audit log is append-only: the ORM refuses to update or delete an
:class:`AuditEntry`, and the migration adds a trigger on each backend that does the same.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

__all__ = [
    "DATASET_KINDS",
    "JOB_STATES",
    "ORG_ROLES",
    "SCOPES",
    "TERMINAL_STATES",
    "WORKSPACE_ROLES",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Comment",
    "Dataset",
    "DatasetVersion",
    "Job",
    "JobEvent",
    "Membership",
    "Organisation",
    "ResultRow",
    "Run",
    "SavedScenario",
    "SavedView",
    "Session",
    "User",
    "UTCDateTime",
    "Workspace",
    "WorkspaceShare",
    "new_id",
    "utcnow",
]

ORG_ROLES = ("member", "admin")
WORKSPACE_ROLES = ("viewer", "editor", "owner")
SCOPES = ("read", "write", "admin")
DATASET_KINDS = ("builtin", "upload")
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL_STATES = ("succeeded", "failed", "cancelled")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A random identifier: 24 hex digits."""
    return secrets.token_hex(12)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone: we add it back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(**kw) -> Mapped[str]:
    return mapped_column(sa.String(32), primary_key=True, default=new_id, **kw)


def _fk(target: str, nullable: bool = False, ondelete: str | None = "CASCADE", index: bool = True, length: int = 32, **kw) -> Mapped:
    return mapped_column(sa.String(length), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index, **kw)


def _created(**kw) -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow, **kw)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created()


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    disabled: Mapped[bool] = mapped_column(sa.Boolean(), nullable=False, default=False)
    created_at: Mapped[datetime] = _created()


class Membership(Base):
    """A user belongs to an organisation as a member or its admin."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "org_id"), sa.CheckConstraint("role in ('member', 'admin')", name="role"))
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _fk("users.id")
    org_id: Mapped[str] = _fk("organisations.id")
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="member")
    created_at: Mapped[datetime] = _created()


class ApiToken(Base):
    """A bearer token: only its SHA-256 digest is kept, found by its first 8 characters (``prefix``)."""

    __tablename__ = "api_tokens"
    __table_args__ = (sa.CheckConstraint("scope in ('read', 'write', 'admin')", name="scope"),)
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _fk("users.id")
    prefix: Mapped[str] = mapped_column(sa.String(8), nullable=False, index=True)
    digest: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    scope: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="write")
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Session(Base):
    """A browser session: the digests of its cookie value and of its CSRF token."""

    __tablename__ = "sessions"
    __table_args__ = (sa.CheckConstraint("scope in ('read', 'write', 'admin')", name="scope"),)
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # SHA-256 of the cookie value
    user_id: Mapped[str] = _fk("users.id")
    csrf_digest: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    scope: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="write")
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    owner_org_id: Mapped[str] = _fk("organisations.id", ondelete="RESTRICT")
    description: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    created_by: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: Mapped[datetime] = _created()


class WorkspaceShare(Base):
    """An organisation's role in a workspace (the owning organisation has an ``owner`` share)."""

    __tablename__ = "workspace_shares"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "org_id"),
        sa.CheckConstraint("role in ('viewer', 'editor', 'owner')", name="role"),
    )
    id: Mapped[str] = _id()
    workspace_id: Mapped[str] = _fk("workspaces.id")
    org_id: Mapped[str] = _fk("organisations.id")
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    created_at: Mapped[datetime] = _created()


class Dataset(Base):
    """A named dataset of a workspace: a built-in one, or uploads (each an immutable version)."""

    __tablename__ = "datasets"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"), sa.CheckConstraint("kind in ('builtin', 'upload')", name="kind"))
    id: Mapped[str] = _id()
    workspace_id: Mapped[str] = _fk("workspaces.id")
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    created_by: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: Mapped[datetime] = _created()


class DatasetVersion(Base):
    """One immutable version of a dataset, identified by the SHA-256 of its content.
    ``path`` is the folder under the data dir (``datasets/<hash>``), None for a built-in."""

    __tablename__ = "dataset_versions"
    __table_args__ = (sa.UniqueConstraint("dataset_id", "content_hash"), sa.UniqueConstraint("dataset_id", "number"))
    id: Mapped[str] = _id()
    dataset_id: Mapped[str] = _fk("datasets.id")
    number: Mapped[int] = mapped_column(sa.Integer(), nullable=False)
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    format: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    path: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    size: Mapped[int] = mapped_column(sa.BigInteger(), nullable=False, default=0)
    summary: Mapped[dict] = mapped_column(sa.JSON(), nullable=False, default=dict)
    created_by: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: Mapped[datetime] = _created()


class _Saved:
    """What a saved scenario and a saved view share: a workspace's item under a unique name.
    The ``sort_order`` keeps the columns where the migration has them: these first, then the
    item's own, then who made it and when."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (sa.UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = _id(sort_order=-1)
    workspace_id: Mapped[str] = _fk("workspaces.id", sort_order=-1)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, sort_order=-1)
    created_by: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False, sort_order=1)
    created_at: Mapped[datetime] = _created(sort_order=1)
    updated_at: Mapped[datetime] = _created(sort_order=1)


class SavedScenario(_Saved, Base):
    """A saved request of a use case (``kind``), as plain data."""

    __tablename__ = "saved_scenarios"
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    request: Mapped[dict] = mapped_column(sa.JSON(), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")


class ResultRow(Base):
    """A result, written once: its id is the SHA-256 of its JSON (``payload``, canonical text).
    ``tables`` names the large tables kept as Parquet under ``results/<id>/``."""

    __tablename__ = "results"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    payload: Mapped[str] = mapped_column(sa.Text(), nullable=False)
    tables: Mapped[list] = mapped_column(sa.JSON(), nullable=False, default=list)
    size: Mapped[int] = mapped_column(sa.BigInteger(), nullable=False, default=0)
    created_at: Mapped[datetime] = _created()


class Run(Base):
    """One run of a use case in a workspace (static at once, or through a job)."""

    __tablename__ = "runs"
    id: Mapped[str] = _id()
    workspace_id: Mapped[str] = _fk("workspaces.id")
    dataset_id: Mapped[str | None] = _fk("datasets.id", nullable=True, ondelete="SET NULL")
    use_case: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    request: Mapped[dict] = mapped_column(sa.JSON(), nullable=False)
    result_id: Mapped[str | None] = _fk("results.id", nullable=True, ondelete="RESTRICT", length=64)
    job_id: Mapped[str | None] = _fk("jobs.id", nullable=True, ondelete="SET NULL")
    created_by: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: Mapped[datetime] = _created()


class Job(Base):
    """Long work in the queue. A worker holds a lease (``lease_expires_at``) it renews by heartbeat;
    an expired lease puts the job back in the queue until ``attempts`` reaches ``max_attempts``."""

    __tablename__ = "jobs"
    __table_args__ = (sa.CheckConstraint("state in ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="state"),
                      sa.Index("ix_jobs_state_created", "state", "created_at"))  # fmt: skip
    id: Mapped[str] = _id()
    workspace_id: Mapped[str] = _fk("workspaces.id")
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    request: Mapped[dict] = mapped_column(sa.JSON(), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer(), nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(sa.Integer(), nullable=False, default=3)
    worker_id: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean(), nullable=False, default=False)
    progress_done: Mapped[int | None] = mapped_column(sa.BigInteger(), nullable=True)
    progress_total: Mapped[int | None] = mapped_column(sa.BigInteger(), nullable=True)
    error: Mapped[dict | None] = mapped_column(sa.JSON(), nullable=True)
    result_id: Mapped[str | None] = _fk("results.id", nullable=True, ondelete="RESTRICT", length=64)
    dataset_id: Mapped[str | None] = _fk("datasets.id", nullable=True, ondelete="SET NULL")
    created_by: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class JobEvent(Base):
    """A job's history, numbered from 1: state changes and progress (``done``, ``total``)."""

    __tablename__ = "job_events"
    job_id: Mapped[str] = mapped_column(sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=False)
    at: Mapped[datetime] = _created()
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # state | progress
    state: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    done: Mapped[int | None] = mapped_column(sa.BigInteger(), nullable=True)
    total: Mapped[int | None] = mapped_column(sa.BigInteger(), nullable=True)
    attempt: Mapped[int] = mapped_column(sa.Integer(), nullable=False, default=0)
    message: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")


class Comment(Base):
    """A comment on a node, a saved scenario or a run; ``parent_id`` makes it a reply."""

    __tablename__ = "comments"
    __table_args__ = (sa.CheckConstraint("status in ('open', 'resolved')", name="status"),
                      sa.CheckConstraint("target_kind in ('node', 'scenario', 'run')", name="target_kind"),
                      sa.Index("ix_comments_target", "workspace_id", "target_kind", "target_id"))  # fmt: skip
    id: Mapped[str] = _id()
    workspace_id: Mapped[str] = _fk("workspaces.id", index=False)
    target_kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    target_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    parent_id: Mapped[str | None] = _fk("comments.id", nullable=True)
    author_id: Mapped[str | None] = _fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    body: Mapped[str] = mapped_column(sa.Text(), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class SavedView(_Saved, Base):
    """A saved view of the web page: its URL state."""

    __tablename__ = "saved_views"
    state: Mapped[dict] = mapped_column(sa.JSON(), nullable=False)


class AuditEntry(Base):
    """Who read, ran, changed, shared or exported what, and when. Append-only; never holds a secret.
    No foreign keys: an entry outlives what it names."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_workspace_id_id", "workspace_id", "id"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _created()
    user_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    user_name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    token_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    workspace_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    action: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    target_kind: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    target_id: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    detail: Mapped[dict] = mapped_column(sa.JSON(), nullable=False, default=dict)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(mapper, connection, target) -> None:
    raise PermissionError("the audit log is append-only")
