"""What every server use case shares: the caller, pages, roles, the workspace check and the audit log."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from coreatlas.errors import ForbiddenError, NotFoundError, RequestError
from coreatlas.services.server.cache import Insert, ResultCache, TTLCache, WriteBehind
from coreatlas.store import Database
from coreatlas.store.db import NotInMemory, memory_only
from coreatlas.store.models import AuditEntry, Workspace, WorkspaceShare, utcnow

__all__ = ["MAX_PAGE", "ROLE_RANK", "SCOPE_RANK", "SYSTEM", "Caller", "Page", "ServerBase", "WorkspaceRef", "audit_values", "clean_detail", "forgets",
           "paginate"]  # fmt: skip

ROLE_RANK = {"viewer": 1, "editor": 2, "owner": 3}
SCOPE_RANK = {"read": 1, "write": 2, "admin": 3}
MAX_PAGE = 500
#: Words that mark a secret: such keys never reach the audit log.
SECRET_WORDS = ("password", "token", "secret", "csrf", "session", "digest", "cookie", "authorization")


@dataclass(frozen=True)
class Caller:
    """Who asks: a user, the organisations they belong to (and administer), the token's scope."""

    user_id: str
    user_name: str
    org_ids: tuple[str, ...] = ()
    admin_org_ids: tuple[str, ...] = ()
    scope: str = "read"
    token_id: str | None = None
    session: bool = False

    def can(self, scope: str) -> bool:
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[scope]


#: The command line's administration: no user, every right.
SYSTEM = Caller(user_id="", user_name="(admin command)", scope="admin")


@dataclass(frozen=True)
class Page:
    """A page of a list: ``offset`` items skipped, at most ``limit`` (1 to :data:`MAX_PAGE`) given."""

    offset: int = 0
    limit: int = 50

    def __post_init__(self):
        if not isinstance(self.offset, int) or self.offset < 0:
            raise RequestError("offset: must be a whole number, 0 or more", field="offset")
        if not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_PAGE:
            raise RequestError(f"limit: must be a whole number from 1 to {MAX_PAGE}", field="limit")


def paginate(session: Session, query: sa.Select, page: Page | None, render=lambda row: row) -> dict:
    """``{"items", "total", "offset", "limit"}`` of ``query`` (ordered by the caller)."""
    page = page or Page()
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(page.offset).limit(page.limit)).all()
    return {"items": [render(r) for r in rows], "total": total, "offset": page.offset, "limit": page.limit}


def clean_detail(value, depth: int = 0):
    """``value`` with every secret-looking key masked, strings and lists cut short."""
    if depth > 6:
        return "..."
    if isinstance(value, dict):
        return {
            str(k): ("***" if any(w in str(k).lower() for w in SECRET_WORDS) else clean_detail(v, depth + 1))
            for k, v in list(value.items())[:50]
        }
    if isinstance(value, list | tuple):
        return [clean_detail(v, depth + 1) for v in value[:50]]
    if isinstance(value, str):
        return value[:500]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:500]


def forgets(method):
    """A server method that changes who may do what (or a dataset's current version): the caches
    of this process forget it once the change is committed (or failed)."""

    @functools.wraps(method)
    def changing(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            self.forget()

    return changing


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace as the hot paths need it (kept between requests, unlike a database row)."""

    id: str
    name: str


@dataclass
class ServerBase:
    """The server's state: the database, the data dir, its limits and its caches
    (:mod:`coreatlas.services.server.cache`: ``cache_seconds`` for callers, access and datasets,
    ``result_cache_bytes`` for static results, ``write_interval`` for the batched audit entries;
    0 turns each off)."""

    db: Database
    data_dir: Path
    bootstrap_token: str | None = None
    job_limit: int = 4  # concurrent (queued or running) jobs per workspace
    max_attempts: int = 3
    lease_seconds: float = 30.0
    session_hours: float = 12.0
    cache_seconds: float = 5.0
    result_cache_bytes: int = 256 << 20
    write_interval: float = 0.2
    settings: dict = field(default_factory=dict)
    callers: TTLCache = field(init=False, repr=False)
    access: TTLCache = field(init=False, repr=False)
    current_datasets: TTLCache = field(init=False, repr=False)
    results: ResultCache = field(init=False, repr=False)
    later: WriteBehind = field(init=False, repr=False)
    stored_results: set = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.callers, self.access, self.current_datasets = (TTLCache(self.cache_seconds) for _ in range(3))
        self.results = ResultCache(self.result_cache_bytes)
        self.later = WriteBehind(self.db, self.write_interval)
        self.stored_results = set()

    def forget(self) -> None:
        """Drop who-may-do-what and which-version-is-current from the caches (after a change to them)."""
        for cache in (self.callers, self.access, self.current_datasets):
            cache.clear()

    def from_memory(self, work):
        """``(True, work())`` when ``work`` needs neither the database nor computing (everything it
        needs is in the caches); ``(False, None)`` when it does, having changed nothing. Errors of
        ``work`` are raised as they are."""
        with memory_only():
            try:
                return True, work()
            except NotInMemory:
                return False, None

    def flush_pending(self) -> None:
        """Write the batched audit entries and runs now."""
        self.later.flush()

    # ---- audit -----------------------------------------------------------------------------
    def _audit(self, session: Session, caller: Caller, action: str, target_kind: str = "", target_id: str = "",
               workspace_id: str | None = None, **detail) -> None:  # fmt: skip
        session.add(AuditEntry(**audit_values(caller, action, target_kind, target_id, workspace_id, detail)))

    def _audit_later(self, caller: Caller, action: str, target_kind: str = "", target_id: str = "", workspace_id: str | None = None,
                     **detail) -> None:  # fmt: skip
        """An audit entry written with the next batch (its time is now)."""
        self.later.add(Insert(AuditEntry, audit_values(caller, action, target_kind, target_id, workspace_id, detail)))

    def _access(self, caller: Caller, ref: str, need: str = "viewer", scope: str = "read") -> tuple[WorkspaceRef, str]:
        """:meth:`_workspace` without a session, its answer kept for ``cache_seconds``."""
        key = (caller.user_id, caller.org_ids, ref)
        hit = None if caller is SYSTEM else self.access.get(key)
        if hit is None:
            with self.db.read() as session:
                w, role = self._workspace(session, caller, ref)
                hit = self.access.put(key, (WorkspaceRef(w.id, w.name), role))
        workspace, role = hit
        _check_role(workspace.name, role, need, caller, scope)
        return workspace, role

    # ---- workspaces and roles -----------------------------------------------------------------
    def _role_in(self, session: Session, caller: Caller, workspace_id: str) -> str | None:
        if caller is SYSTEM:
            return "owner"
        if not caller.org_ids:
            return None
        roles = session.scalars(sa.select(WorkspaceShare.role).where(WorkspaceShare.workspace_id == workspace_id,
                                                                     WorkspaceShare.org_id.in_(caller.org_ids))).all()  # fmt: skip
        return max(roles, key=ROLE_RANK.__getitem__) if roles else None

    def _workspace(self, session: Session, caller: Caller, ref: str, need: str = "viewer", scope: str = "read",
                   lock: bool = False) -> tuple[Workspace, str]:  # fmt: skip
        """The workspace ``ref`` (id or name) and the caller's role in it. A workspace the caller
        cannot see is not found (its existence never leaks); too low a role or scope is forbidden."""
        query = sa.select(Workspace).where(sa.or_(Workspace.id == ref, Workspace.name == ref))
        if lock and not self.db.is_sqlite:
            query = query.with_for_update()
        workspace = session.scalars(query).first()
        role = self._role_in(session, caller, workspace.id) if workspace else None
        if workspace is None or role is None:
            raise NotFoundError(f"workspace '{ref}' not found", field="workspace")
        _check_role(workspace.name, role, need, caller, scope)
        return workspace, role


def _check_role(name: str, role: str, need: str, caller: Caller, scope: str) -> None:
    if ROLE_RANK[role] < ROLE_RANK[need]:
        raise ForbiddenError(f"workspace '{name}': this needs the {need} role; you are {role}", field="workspace")
    if not caller.can(scope):
        raise ForbiddenError(f"this token's scope is {caller.scope}; the action needs {scope}", field="scope")


def audit_values(caller: Caller, action: str, target_kind: str, target_id: Any, workspace_id: str | None, detail: dict) -> dict:
    """An audit entry's columns (its time: now)."""
    return {"at": utcnow(), "user_id": caller.user_id or None, "user_name": caller.user_name, "token_id": caller.token_id,
            "workspace_id": workspace_id, "action": action, "target_kind": target_kind, "target_id": str(target_id)[:200],
            "detail": clean_detail(detail)}  # fmt: skip
