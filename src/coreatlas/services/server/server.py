"""The server: :func:`open_server` opens (or creates) a data dir and its database, migrates it,
and on an empty database creates organisation ``local``, user ``admin``, workspace ``default``
with the built-in datasets, and a one-time admin token."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from coreatlas.errors import DataSourceError
from coreatlas.services.server.auth import AuthMixin
from coreatlas.services.server.base import SYSTEM, Caller
from coreatlas.services.server.collab import CollabMixin
from coreatlas.services.server.datasets import DatasetMixin
from coreatlas.services.server.runs import RunMixin
from coreatlas.store import Database, backup, default_url, migrate
from coreatlas.store.models import Membership, Organisation, User

__all__ = ["BOOTSTRAP", "Server", "open_server"]

#: What an empty database starts with.
BOOTSTRAP = {"org": "local", "user": "admin", "workspace": "default"}


@dataclass
class Server(AuthMixin, DatasetMixin, RunMixin, CollabMixin):
    """The server's use cases over one database and data dir (see the package's docstring)."""

    def backup(self, file: Path | str) -> dict:
        """Write the whole server (database rows, uploaded datasets, result files) to ``file``."""
        self.flush_pending()
        with self.db.write() as session:  # recorded first, so that the backup holds its own entry
            self._audit(session, SYSTEM, "export", "backup", Path(file).name)
        return backup.backup(self.db, self.data_dir, Path(file))

    def restore(self, file: Path | str) -> dict:
        """Load a backup into this server, whose database must be empty (a fresh data dir)."""
        return backup.restore(self.db, self.data_dir, Path(file))

    def health(self) -> None:
        """Raises if the database does not answer."""
        with self.db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def integrity_check(self) -> list[str]:
        return self.db.integrity_check()

    def close(self) -> None:
        """Write the batched audit entries and runs, then close the database's connections."""
        self.later.close()
        self.db.dispose()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def bootstrap(self) -> str | None:
        """On an empty database: org ``local``, user ``admin`` (its admin), workspace ``default``
        holding the built-in datasets; the one-time admin token. None if the database has an organisation."""
        with self.db.write() as session:
            if session.scalar(sa.select(sa.func.count()).select_from(Organisation)):
                return None
            org = Organisation(name=BOOTSTRAP["org"])
            user = User(name=BOOTSTRAP["user"])
            session.add_all([org, user])
            session.flush()
            session.add(Membership(user_id=user.id, org_id=org.id, role="admin"))
            self._audit(session, SYSTEM, "change", "server", "", change="bootstrap", org=org.name, user=user.name)
            self._new_workspace(session, Caller(user.id, user.name, (org.id,), (org.id,), "admin"), BOOTSTRAP["workspace"], org,
                                "The built-in datasets.")  # fmt: skip
        return self.create_token(BOOTSTRAP["user"], scope="admin", name="bootstrap")[1]


def open_server(db_url: str | None = None, data_dir: Path | str = "coreatlas-data", *, migrate_db: bool = True, bootstrap: bool = True,
                **settings) -> Server:  # fmt: skip
    """Open the server of ``data_dir`` (created if missing) on ``db_url`` (default: the SQLite file
    ``data_dir/coreatlas.db``), apply the migrations and, on an empty database, bootstrap it
    (``server.bootstrap_token`` is then the one-time admin token, else None).
    ``settings``: ``job_limit``, ``max_attempts``, ``lease_seconds``, ``session_hours``."""
    data_dir = Path(data_dir).expanduser()
    try:
        for sub in ("", "datasets", "results", "tmp"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataSourceError(f"data_dir: cannot create {data_dir}: {exc.strerror}", field="data_dir") from None
    db = Database(db_url or default_url(data_dir))
    try:
        if migrate_db:
            migrate.upgrade(db)
        server = Server(db=db, data_dir=data_dir.resolve(), **settings)
        if bootstrap:
            server.bootstrap_token = server.bootstrap()
    except BaseException:
        with contextlib.suppress(Exception):
            db.dispose()
        raise
    return server
