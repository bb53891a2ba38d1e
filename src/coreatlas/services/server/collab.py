"""Working together in a workspace: comments (on a node, a saved scenario or a run, with replies
and an open/resolved status), saved scenarios (requests of a use case), saved views, and the audit log."""

from __future__ import annotations

import json

import sqlalchemy as sa

from coreatlas.errors import ForbiddenError, LimitError, NotFoundError, RequestError
from coreatlas.services.server.base import Caller, Page, ServerBase, paginate
from coreatlas.store.models import AuditEntry, Comment, Membership, Organisation, Run, SavedScenario, SavedView, User, utcnow

__all__ = ["CollabMixin", "MAX_BODY", "MAX_STATE_BYTES"]

MAX_BODY = 20_000
MAX_STATE_BYTES = 64 * 1024
TARGETS = ("node", "scenario", "run")


def authors_of(session, user_ids) -> dict[str, dict]:
    """``user id -> {"name", "org"}`` in one query: who wrote a comment or saved a scenario is shown
    to everyone of the workspace (the organisations that share it work together by name)."""
    ids = sorted({u for u in user_ids if u})
    if not ids:
        return {}
    rows = session.execute(sa.select(User.id, User.name, Organisation.name).outerjoin(Membership, Membership.user_id == User.id)
                           .outerjoin(Organisation, Organisation.id == Membership.org_id).where(User.id.in_(ids)))  # fmt: skip
    return {uid: {"name": name, "org": org} for uid, name, org in rows}


def _comment_dict(c: Comment, replies: list | None = None, authors: dict | None = None) -> dict:
    author = (authors or {}).get(c.author_id) or {}
    out = {"id": c.id, "target_kind": c.target_kind, "target_id": c.target_id, "parent_id": c.parent_id, "author": c.author_id,
           "author_name": author.get("name"), "author_org": author.get("org"), "body": c.body,
           "status": c.status, "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}  # fmt: skip
    if replies is not None:
        out["replies"] = replies
    return out


def _scenario_dict(s: SavedScenario, authors: dict | None = None) -> dict:
    author = (authors or {}).get(s.created_by) or {}
    return {"id": s.id, "name": s.name, "kind": s.kind, "request": s.request, "description": s.description, "created_by": s.created_by,
            "created_by_name": author.get("name"), "created_at": s.created_at.isoformat(), "updated_at": s.updated_at.isoformat()}  # fmt: skip


def _view_dict(v: SavedView) -> dict:
    return {"id": v.id, "name": v.name, "state": v.state, "created_by": v.created_by, "created_at": v.created_at.isoformat(),
            "updated_at": v.updated_at.isoformat()}  # fmt: skip


def _text(value, field: str, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise RequestError(f"{field}: must be {'' if empty else 'non-empty '}text", field=field)
    if len(value) > limit:
        raise LimitError(f"{field}: at most {limit} characters", field=field)
    return value


class CollabMixin(ServerBase):
    # ---- comments --------------------------------------------------------------------------
    def add_comment(self, caller: Caller, ws: str, target_kind: str, target_id: str, body: str, parent_id: str | None = None) -> dict:
        _text(body, "body", MAX_BODY)
        if target_kind == "run":
            self.flush_pending()  # a static run of this process may still be batched
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            if parent_id is not None:
                parent = session.get(Comment, parent_id) if isinstance(parent_id, str) else None
                if parent is None or parent.workspace_id != w.id:
                    raise NotFoundError(f"comment '{parent_id}' not found", field="parent_id")
                target_kind, target_id = parent.target_kind, parent.target_id
            if target_kind not in TARGETS:
                raise RequestError(f"target_kind: one of {', '.join(TARGETS)}", field="target_kind")
            _text(target_id, "target_id", 200)
            if target_kind in ("scenario", "run"):
                row = session.get(SavedScenario if target_kind == "scenario" else Run, target_id)
                if row is None or row.workspace_id != w.id:
                    raise NotFoundError(f"{target_kind} '{target_id}' not found", field="target_id")
            comment = Comment(workspace_id=w.id, target_kind=target_kind, target_id=target_id, parent_id=parent_id, author_id=caller.user_id or None,
                              body=body)  # fmt: skip
            session.add(comment)
            session.flush()
            self._audit(session, caller, "change", "comment", comment.id, w.id, on=f"{target_kind}:{target_id}", change="create")
            return _comment_dict(comment, authors=authors_of(session, [comment.author_id]))

    def list_comments(self, caller: Caller, ws: str, page: Page | None = None, target_kind: str | None = None, target_id: str | None = None,
                      status: str | None = None) -> dict:  # fmt: skip
        """Top-level comments (newest first), each with its replies (oldest first)."""
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            query = sa.select(Comment).where(Comment.workspace_id == w.id, Comment.parent_id.is_(None))
            if target_kind:
                query = query.where(Comment.target_kind == target_kind)
            if target_id:
                query = query.where(Comment.target_id == target_id)
            if status:
                query = query.where(Comment.status == status)
            out = paginate(session, query.order_by(Comment.created_at.desc(), Comment.id), page)
            ids = [c.id for c in out["items"]]
            children = list(session.scalars(sa.select(Comment).where(Comment.parent_id.in_(ids)).order_by(Comment.created_at, Comment.id))) if ids else []
            authors = authors_of(session, [c.author_id for c in (*out["items"], *children)])
            replies: dict[str, list] = {}
            for r in children:
                replies.setdefault(r.parent_id, []).append(_comment_dict(r, authors=authors))
            out["items"] = [_comment_dict(c, replies.get(c.id, []), authors) for c in out["items"]]
            return out

    def update_comment(self, caller: Caller, ws: str, comment_id: str, body: str | None = None, status: str | None = None) -> dict:
        """Change a comment's body (its author only) or status (``open``, ``resolved``)."""
        with self.db.write() as session:
            w, role = self._workspace(session, caller, ws, need="editor", scope="write")
            comment = session.get(Comment, comment_id) if isinstance(comment_id, str) else None
            if comment is None or comment.workspace_id != w.id:
                raise NotFoundError(f"comment '{comment_id}' not found", field="comment")
            if body is not None:
                if comment.author_id != caller.user_id and role != "owner":
                    raise ForbiddenError("body: only its author (or an owner) edits a comment", field="body")
                comment.body = _text(body, "body", MAX_BODY)
            if status is not None:
                if status not in ("open", "resolved"):
                    raise RequestError("status: open or resolved", field="status")
                comment.status = status
            comment.updated_at = utcnow()
            self._audit(session, caller, "change", "comment", comment.id, w.id, status=status, edited=body is not None, change="update")
            return _comment_dict(comment, authors=authors_of(session, [comment.author_id]))

    # ---- saved scenarios -----------------------------------------------------------------------
    def _check_saved_request(self, session, w, kind: str, request: dict) -> None:
        from coreatlas import services  # noqa: PLC0415

        case = services.use_case_of(kind)
        run, _, _ = self._resolve_request(session, w, request)
        services.parse_request(case.request, run)

    def save_scenario(self, caller: Caller, ws: str, name: str, kind: str, request: dict, description: str = "") -> dict:
        """Save a request of use case ``kind`` (validated now) under ``name``."""
        _text(name, "name", 200)
        _text(description, "description", MAX_BODY, empty=True)
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            self._check_saved_request(session, w, kind, request)
            if session.scalars(sa.select(SavedScenario).where(SavedScenario.workspace_id == w.id, SavedScenario.name == name)).first():
                raise RequestError(f"name: a saved scenario '{name}' exists already", field="name")
            row = SavedScenario(
                workspace_id=w.id, name=name, kind=kind, request=request, description=description, created_by=caller.user_id or None
            )
            session.add(row)
            session.flush()
            self._audit(session, caller, "change", "scenario", row.id, w.id, name=name, kind=kind, change="create")
            return _scenario_dict(row)

    def list_scenarios(self, caller: Caller, ws: str, page: Page | None = None) -> dict:
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            out = paginate(session, sa.select(SavedScenario).where(SavedScenario.workspace_id == w.id).order_by(SavedScenario.name), page)
            authors = authors_of(session, [row.created_by for row in out["items"]])
            out["items"] = [_scenario_dict(row, authors) for row in out["items"]]
            return out

    def _saved(self, session, model, w, item_id: str, what: str):
        row = session.scalars(
            sa.select(model).where(model.workspace_id == w.id, sa.or_(model.id == item_id, model.name == item_id))
        ).first()
        if row is None:
            raise NotFoundError(f"{what} '{item_id}' not found", field=what.replace(" ", "_"))
        return row

    def get_scenario(self, caller: Caller, ws: str, scenario_id: str) -> dict:
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            row = self._saved(session, SavedScenario, w, scenario_id, "scenario")
            return _scenario_dict(row, authors_of(session, [row.created_by]))

    def update_scenario(self, caller: Caller, ws: str, scenario_id: str, name: str | None = None, request: dict | None = None,
                        description: str | None = None) -> dict:  # fmt: skip
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            row = self._saved(session, SavedScenario, w, scenario_id, "scenario")
            if request is not None:
                self._check_saved_request(session, w, row.kind, request)
                row.request = request
            if name is not None:
                row.name = _text(name, "name", 200)
            if description is not None:
                row.description = _text(description, "description", MAX_BODY, empty=True)
            row.updated_at = utcnow()
            self._audit(session, caller, "change", "scenario", row.id, w.id, change="update")
            return _scenario_dict(row)

    def delete_scenario(self, caller: Caller, ws: str, scenario_id: str) -> None:
        self._delete_saved(caller, ws, SavedScenario, scenario_id, "scenario")

    def _delete_saved(self, caller: Caller, ws: str, model: type, row_id: str, kind: str) -> None:
        """Delete a saved scenario or view (``model``, ``kind``) of the workspace (editors), recorded in the audit log."""
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            row = self._saved(session, model, w, row_id, kind)
            self._audit(session, caller, "change", kind, row.id, w.id, name=row.name, change="delete")
            session.delete(row)

    # ---- saved views -------------------------------------------------------------------------------
    def _state(self, state) -> dict:
        if not isinstance(state, dict):
            raise RequestError("state: must be an object", field="state")
        if len(json.dumps(state)) > MAX_STATE_BYTES:
            raise LimitError(f"state: at most {MAX_STATE_BYTES} bytes of JSON", field="state")
        return state

    def save_view(self, caller: Caller, ws: str, name: str, state: dict) -> dict:
        _text(name, "name", 200)
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            if session.scalars(sa.select(SavedView).where(SavedView.workspace_id == w.id, SavedView.name == name)).first():
                raise RequestError(f"name: a view '{name}' exists already", field="name")
            row = SavedView(workspace_id=w.id, name=name, state=self._state(state), created_by=caller.user_id or None)
            session.add(row)
            session.flush()
            self._audit(session, caller, "change", "view", row.id, w.id, name=name, change="create")
            return _view_dict(row)

    def list_views(self, caller: Caller, ws: str, page: Page | None = None) -> dict:
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            return paginate(session, sa.select(SavedView).where(SavedView.workspace_id == w.id).order_by(SavedView.name), page, _view_dict)

    def get_view(self, caller: Caller, ws: str, view_id: str) -> dict:
        with self.db.read() as session:
            w, _ = self._workspace(session, caller, ws)
            return _view_dict(self._saved(session, SavedView, w, view_id, "view"))

    def update_view(self, caller: Caller, ws: str, view_id: str, name: str | None = None, state: dict | None = None) -> dict:
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="editor", scope="write")
            row = self._saved(session, SavedView, w, view_id, "view")
            if state is not None:
                row.state = self._state(state)
            if name is not None:
                row.name = _text(name, "name", 200)
            row.updated_at = utcnow()
            self._audit(session, caller, "change", "view", row.id, w.id, change="update")
            return _view_dict(row)

    def delete_view(self, caller: Caller, ws: str, view_id: str) -> None:
        self._delete_saved(caller, ws, SavedView, view_id, "view")

    # ---- the audit log -----------------------------------------------------------------------------
    def audit(self, caller: Caller, ws: str, page: Page | None = None) -> dict:
        """The workspace's audit log, newest first (owners only). Reading it is itself recorded.
        The batched entries of this process are written first."""
        self.flush_pending()
        with self.db.write() as session:
            w, _ = self._workspace(session, caller, ws, need="owner")
            self._audit(session, caller, "read", "audit", w.id, w.id)
        with self.db.read() as session:
            query = sa.select(AuditEntry).where(AuditEntry.workspace_id == w.id).order_by(AuditEntry.id.desc())
            return paginate(session, query, page, lambda a: {"id": a.id, "at": a.at.isoformat(), "user": a.user_name, "user_id": a.user_id,
                                                             "token_id": a.token_id, "action": a.action, "target_kind": a.target_kind,
                                                             "target_id": a.target_id, "detail": a.detail})  # fmt: skip
