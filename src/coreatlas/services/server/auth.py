"""Who is calling: bearer tokens, passwords, browser sessions; and the administration of
organisations, users, tokens and shares.

A token is shown once (``coreatlas_`` + 40 random characters); the database keeps its SHA-256
digest and its first 8 random characters as a lookup prefix. Passwords are hashed with argon2id.
A session keeps the digests of its cookie value and of its CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

import argon2
import sqlalchemy as sa
from sqlalchemy.orm import Session

from coreatlas.errors import AuthError, ForbiddenError, NotFoundError, RequestError
from coreatlas.services.server.base import ROLE_RANK, SCOPE_RANK, SYSTEM, Caller, ServerBase, forgets
from coreatlas.store.models import ApiToken, Membership, Organisation, User, Workspace, WorkspaceShare, utcnow
from coreatlas.store.models import Session as BrowserSession

__all__ = ["NAME", "TOKEN_MARK", "AuthMixin", "digest"]

TOKEN_MARK = "coreatlas_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HASHER = argon2.PasswordHasher()  # argon2id
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(8))
LAST_USED_EVERY = timedelta(minutes=1)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_name(name: str, what: str, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise RequestError(
            f"{field}: a {what} name has 1 to 64 letters, digits, '.', '_' or '-', beginning with a letter or digit", field=field
        )
    return name


class AuthMixin(ServerBase):
    # ---- callers ------------------------------------------------------------------------------
    def _caller(self, session: Session, user: User, scope: str, token_id: str | None = None, browser: bool = False) -> Caller:
        rows = session.execute(sa.select(Membership.org_id, Membership.role).where(Membership.user_id == user.id)).all()
        return Caller(user.id, user.name, tuple(sorted(r[0] for r in rows)), tuple(sorted(r[0] for r in rows if r[1] == "admin")), scope, token_id,
                      browser)  # fmt: skip

    def authenticate_token(self, raw: str | None) -> Caller:
        """The caller a bearer token stands for; :class:`AuthError` if it is unknown, expired or revoked.
        A valid token's caller is kept for ``cache_seconds`` (by the token's digest)."""
        if not raw or not raw.startswith(TOKEN_MARK) or len(raw) < len(TOKEN_MARK) + 8 or len(raw) > 200:
            raise AuthError("a valid API token is needed")
        wanted = digest(raw)
        hit = self.callers.get(("token", wanted))
        if hit is not None:
            caller, expires_at = hit
            if expires_at is None or expires_at > utcnow():
                return caller
        caller, expires_at = self._token_caller(raw[len(TOKEN_MARK) : len(TOKEN_MARK) + 8], wanted)
        return self.callers.put(("token", wanted), (caller, expires_at))[0]

    def _token_caller(self, prefix: str, wanted: str):
        now = utcnow()
        with self.db.read() as session:
            token = next((t for t in session.scalars(sa.select(ApiToken).where(ApiToken.prefix == prefix))
                          if hmac.compare_digest(t.digest, wanted)), None)  # fmt: skip
            if token is None:
                raise AuthError("a valid API token is needed")
            if token.revoked_at is not None:
                raise AuthError("this token was revoked")
            if token.expires_at is not None and token.expires_at <= now:
                raise AuthError("this token has expired")
            user = session.get(User, token.user_id)
            if user is None or user.disabled:
                raise AuthError("a valid API token is needed")
            caller = self._caller(session, user, token.scope, token.id)
            stale = token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY
            expires_at = token.expires_at
        if stale:
            with self.db.write() as session:
                session.execute(sa.update(ApiToken).where(ApiToken.id == caller.token_id).values(last_used_at=now))
        return caller, expires_at

    def login_password(self, user: str, password: str) -> Caller:
        """Sign in with a password (argon2id); the same :class:`AuthError` for an unknown user or a wrong password."""
        with self.db.read() as session:
            row = session.scalars(sa.select(User).where(User.name == user)).first()
            stored = row.password_hash if row is not None and row.password_hash and not row.disabled else None
            try:
                _HASHER.verify(stored or _DUMMY_HASH, password or "")
                ok = stored is not None
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                ok = False
            if not ok:
                raise AuthError("wrong user name or password")
            caller = self._caller(session, row, "write")
        with self.db.write() as session:
            self._audit(session, caller, "login", "user", caller.user_id, method="password")
        return caller

    def create_session(self, caller: Caller) -> tuple[str, str]:
        """A browser session for ``caller``: ``(session_id, csrf_token)``, both shown once."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.db.write() as session:
            session.add(BrowserSession(id=digest(session_id), user_id=caller.user_id, csrf_digest=digest(csrf), scope=caller.scope,
                                       expires_at=utcnow() + timedelta(hours=self.session_hours)))  # fmt: skip
        return session_id, csrf

    def _browser_session(self, session: Session, session_id: str | None) -> BrowserSession:
        row = session.get(BrowserSession, digest(session_id)) if session_id and len(session_id) < 200 else None
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            raise AuthError("the session is unknown or has ended; sign in again")
        return row

    def _session_caller(self, session_id: str | None) -> tuple[Caller, str]:
        """The session's caller and its CSRF digest, kept for ``cache_seconds`` (by the session's digest)."""
        key = ("session", digest(session_id or ""))
        hit = self.callers.get(key)
        if hit is not None and hit[2] > utcnow():
            return hit[0], hit[1]
        with self.db.read() as session:
            row = self._browser_session(session, session_id)
            user = session.get(User, row.user_id)
            if user is None or user.disabled:
                raise AuthError("the session is unknown or has ended; sign in again")
            caller = self._caller(session, user, row.scope, browser=True)
            self.callers.put(key, (caller, row.csrf_digest, row.expires_at))
            return caller, row.csrf_digest

    def caller_from_session(self, session_id: str | None) -> Caller:
        return self._session_caller(session_id)[0]

    def check_csrf(self, session_id: str | None, csrf_token: str | None) -> None:
        """:class:`ForbiddenError` unless ``csrf_token`` is the session's."""
        wanted = self._session_caller(session_id)[1]
        if not csrf_token or not hmac.compare_digest(wanted, digest(csrf_token)):
            raise ForbiddenError("missing or wrong CSRF token", field="csrf")

    @forgets
    def end_session(self, session_id: str | None) -> None:
        with self.db.write() as session:
            row = session.get(BrowserSession, digest(session_id)) if session_id else None
            if row is not None:
                row.revoked_at = utcnow()

    # ---- administration -------------------------------------------------------------------------
    def _org(self, session: Session, name: str) -> Organisation:
        org = session.scalars(sa.select(Organisation).where(sa.or_(Organisation.name == name, Organisation.id == name))).first()
        if org is None:
            raise NotFoundError(f"organisation '{name}' not found", field="org")
        return org

    def _user(self, session: Session, name: str) -> User:
        user = session.scalars(sa.select(User).where(sa.or_(User.name == name, User.id == name))).first()
        if user is None:
            raise NotFoundError(f"user '{name}' not found", field="user")
        return user

    def _need_org_admin(self, caller: Caller, org_ids) -> None:
        if caller is SYSTEM:
            return
        if not caller.can("admin") or not set(org_ids) & set(caller.admin_org_ids):
            raise ForbiddenError("this needs an admin-scoped token of an administrator of the organisation", field="org")

    def create_org(self, name: str, caller: Caller = SYSTEM) -> dict:
        if caller is not SYSTEM:
            raise ForbiddenError("organisations are created with the admin command", field="org")
        check_name(name, "organisation")
        with self.db.write() as session:
            if session.scalars(sa.select(Organisation).where(Organisation.name == name)).first():
                raise RequestError(f"name: organisation '{name}' exists already", field="name")
            org = Organisation(name=name)
            session.add(org)
            session.flush()
            self._audit(session, caller, "change", "organisation", org.id, name=name, change="create")
            return {"id": org.id, "name": org.name}

    @forgets
    def create_user(self, name: str, org: str, role: str = "member", password: str | None = None, caller: Caller = SYSTEM) -> dict:
        check_name(name, "user")
        if role not in ("member", "admin"):
            raise RequestError("role: member or admin", field="role")
        with self.db.write() as session:
            organisation = self._org(session, org)
            self._need_org_admin(caller, [organisation.id])
            user = session.scalars(sa.select(User).where(User.name == name)).first()
            if user is None:
                user = User(name=name, password_hash=_HASHER.hash(password) if password else None)
                session.add(user)
                session.flush()
            elif session.scalars(sa.select(Membership).where(Membership.user_id == user.id, Membership.org_id == organisation.id)).first():
                raise RequestError(f"name: user '{name}' is already a member of '{organisation.name}'", field="name")
            session.add(Membership(user_id=user.id, org_id=organisation.id, role=role))
            self._audit(session, caller, "change", "user", user.id, name=name, org=organisation.name, role=role, change="create")
            return {"id": user.id, "name": user.name, "org": organisation.name, "role": role}

    @forgets
    def set_password(self, user: str, password: str, caller: Caller = SYSTEM) -> None:
        if len(password or "") < 8:
            raise RequestError("password: at least 8 characters", field="password")
        with self.db.write() as session:
            row = self._user(session, user)
            if caller is not SYSTEM and caller.user_id != row.id:
                raise ForbiddenError("a user changes only their own password", field="user")
            row.password_hash = _HASHER.hash(password)
            self._audit(session, caller, "change", "user", row.id, change="password")

    def create_token(self, user: str, scope: str = "write", expires_days: float | None = None, name: str = "",
                     caller: Caller = SYSTEM) -> tuple[str, str]:  # fmt: skip
        """A new token for ``user``: ``(token_id, raw token)``; the raw token is never stored nor shown again."""
        if scope not in SCOPE_RANK:
            raise RequestError("scope: read, write or admin", field="scope")
        if expires_days is not None and not 0 < expires_days <= 3650:
            raise RequestError("expires_days: more than 0 and at most 3650", field="expires_days")
        raw = TOKEN_MARK + secrets.token_urlsafe(30)
        with self.db.write() as session:
            row = self._user(session, user)
            if caller is not SYSTEM and caller.user_id != row.id:
                orgs = session.scalars(sa.select(Membership.org_id).where(Membership.user_id == row.id)).all()
                self._need_org_admin(caller, orgs)
            if caller is not SYSTEM and SCOPE_RANK[scope] > SCOPE_RANK[caller.scope]:
                raise ForbiddenError(f"scope: a {caller.scope} token cannot create a {scope} token", field="scope")
            expires = utcnow() + timedelta(days=expires_days) if expires_days is not None else None
            token = ApiToken(user_id=row.id, prefix=raw[len(TOKEN_MARK) : len(TOKEN_MARK) + 8], digest=digest(raw), scope=scope, name=name[:100],
                             expires_at=expires)  # fmt: skip
            session.add(token)
            session.flush()
            self._audit(
                session, caller, "change", "token", token.id, user=row.name, scope=scope, expires_days=expires_days, change="create"
            )
            return token.id, raw

    def list_tokens(self, user: str, caller: Caller = SYSTEM) -> list[dict]:
        with self.db.read() as session:
            row = self._user(session, user)
            if caller is not SYSTEM and caller.user_id != row.id:
                self._need_org_admin(caller, session.scalars(sa.select(Membership.org_id).where(Membership.user_id == row.id)).all())
            tokens = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == row.id).order_by(ApiToken.created_at)).all()
            return [{"id": t.id, "name": t.name, "scope": t.scope, "created_at": t.created_at.isoformat(),
                     "expires_at": t.expires_at and t.expires_at.isoformat(), "revoked": t.revoked_at is not None} for t in tokens]  # fmt: skip

    @forgets
    def revoke_token(self, token_id: str, caller: Caller = SYSTEM) -> None:
        with self.db.write() as session:
            token = session.get(ApiToken, token_id) if isinstance(token_id, str) else None
            if token is not None and caller is not SYSTEM and caller.user_id != token.user_id:
                orgs = session.scalars(sa.select(Membership.org_id).where(Membership.user_id == token.user_id)).all()
                if not set(orgs) & set(caller.admin_org_ids) or not caller.can("admin"):
                    token = None  # another's token: as if it did not exist
            if token is None:
                raise NotFoundError(f"token '{token_id}' not found", field="token")
            token.revoked_at = token.revoked_at or utcnow()
            self._audit(session, caller, "change", "token", token.id, change="revoke")

    @forgets
    def share(self, workspace: str, org: str, role: str, caller: Caller = SYSTEM) -> dict:
        """Give organisation ``org`` the ``role`` (viewer, editor, owner) in ``workspace``."""
        if role not in ROLE_RANK:
            raise RequestError("role: viewer, editor or owner", field="role")
        with self.db.write() as session:
            ws, _ = self._workspace(session, caller, workspace, need="owner", scope="write")
            organisation = self._org(session, org)
            if organisation.id == ws.owner_org_id and role != "owner":
                raise RequestError("role: the organisation that owns a workspace stays its owner", field="role")
            share = session.scalars(
                sa.select(WorkspaceShare).where(WorkspaceShare.workspace_id == ws.id, WorkspaceShare.org_id == organisation.id)
            ).first()
            if share is None:
                session.add(WorkspaceShare(workspace_id=ws.id, org_id=organisation.id, role=role))
            else:
                share.role = role
            self._audit(session, caller, "share", "workspace", ws.id, ws.id, org=organisation.name, role=role)
            return {"workspace": ws.name, "org": organisation.name, "role": role}

    @forgets
    def unshare(self, workspace: str, org: str, caller: Caller = SYSTEM) -> None:
        with self.db.write() as session:
            ws, _ = self._workspace(session, caller, workspace, need="owner", scope="write")
            organisation = self._org(session, org)
            if organisation.id == ws.owner_org_id:
                raise RequestError("org: the organisation that owns a workspace keeps it", field="org")
            session.execute(sa.delete(WorkspaceShare).where(WorkspaceShare.workspace_id == ws.id, WorkspaceShare.org_id == organisation.id))
            self._audit(session, caller, "share", "workspace", ws.id, ws.id, org=organisation.name, role=None)

    def shares(self, caller: Caller, workspace: str) -> list[dict]:
        with self.db.read() as session:
            ws, _ = self._workspace(session, caller, workspace, need="owner")
            rows = session.execute(sa.select(Organisation.name, WorkspaceShare.role).join(WorkspaceShare, WorkspaceShare.org_id == Organisation.id)
                                   .where(WorkspaceShare.workspace_id == ws.id).order_by(Organisation.name)).all()  # fmt: skip
            return [{"org": r[0], "role": r[1]} for r in rows]

    def _new_workspace(self, session: Session, caller: Caller, name: str, org: Organisation, description: str = "") -> Workspace:
        check_name(name, "workspace")
        if session.scalars(sa.select(Workspace).where(Workspace.name == name)).first():
            raise RequestError(f"name: a workspace '{name}' exists already", field="name")
        ws = Workspace(name=name, owner_org_id=org.id, description=description[:2000], created_by=caller.user_id or None)
        session.add(ws)
        session.flush()
        session.add(WorkspaceShare(workspace_id=ws.id, org_id=org.id, role="owner"))
        self._add_builtins(session, ws)  # datasets mixin
        self._audit(session, caller, "change", "workspace", ws.id, ws.id, name=name, org=org.name, change="create")
        return ws

    @forgets
    def create_workspace(self, name: str, org: str | None = None, description: str = "", caller: Caller = SYSTEM) -> dict:
        """A workspace owned by ``org`` (by default the caller's only organisation), holding the built-in datasets."""
        with self.db.write() as session:
            if org is None:
                if len(caller.org_ids) != 1:
                    raise RequestError("org: name the organisation that will own the workspace", field="org")
                org = caller.org_ids[0]
            organisation = self._org(session, org)
            if caller is not SYSTEM:
                if organisation.id not in caller.org_ids:
                    raise NotFoundError(f"organisation '{org}' not found", field="org")
                if not caller.can("write"):
                    raise ForbiddenError(f"this token's scope is {caller.scope}; the action needs write", field="scope")
            ws = self._new_workspace(session, caller, name, organisation, description)
            return {"id": ws.id, "name": ws.name, "owner_org": organisation.name, "role": "owner", "description": ws.description}
