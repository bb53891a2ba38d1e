"""What every server use case shares: the caller, pages, roles, the workspace check and the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from coreatlas.errors import ForbiddenError, NotFoundError, RequestError
from coreatlas.store import Database
from coreatlas.store.models import AuditEntry, Workspace, WorkspaceShare

__all__ = ["MAX_PAGE", "ROLE_RANK", "SCOPE_RANK", "SYSTEM", "Caller", "Page", "ServerBase", "clean_detail", "paginate"]

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


@dataclass
class ServerBase:
    """The server's state: the database, the data dir and its limits."""

    db: Database
    data_dir: Path
    bootstrap_token: str | None = None
    job_limit: int = 4  # concurrent (queued or running) jobs per workspace
    max_attempts: int = 3
    lease_seconds: float = 30.0
    session_hours: float = 12.0
    settings: dict = field(default_factory=dict)

    # ---- audit -----------------------------------------------------------------------------
    def _audit(self, session: Session, caller: Caller, action: str, target_kind: str = "", target_id: str = "",
               workspace_id: str | None = None, **detail) -> None:  # fmt: skip
        session.add(AuditEntry(user_id=caller.user_id or None, user_name=caller.user_name, token_id=caller.token_id, workspace_id=workspace_id,
                               action=action, target_kind=target_kind, target_id=str(target_id)[:200], detail=clean_detail(detail)))  # fmt: skip

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
        if ROLE_RANK[role] < ROLE_RANK[need]:
            raise ForbiddenError(f"workspace '{workspace.name}': this needs the {need} role; you are {role}", field="workspace")
        if not caller.can(scope):
            raise ForbiddenError(f"this token's scope is {caller.scope}; the action needs {scope}", field="scope")
        return workspace, role
