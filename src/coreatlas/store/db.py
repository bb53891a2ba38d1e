"""Engines and sessions: SQLite (WAL, foreign keys on, a busy timeout) or PostgreSQL (psycopg 3).

:class:`Database` holds the engine and two session factories: ``read()`` for queries and
``write()`` for changes. On SQLite a write transaction begins with ``BEGIN IMMEDIATE``, so that
writers queue on the database lock (for ``busy_timeout``) instead of failing when a read
transaction tries to become a write one; SQLite then has one writer at a time.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from coreatlas.errors import DataSourceError

__all__ = ["BUSY_TIMEOUT_MS", "Database", "NotInMemory", "check_io", "default_url", "make_engine", "memory_only", "normalise_url"]

BUSY_TIMEOUT_MS = 30_000
DB_FILE = "coreatlas.db"
_MEMORY_ONLY = contextvars.ContextVar("coreatlas_memory_only", default=False)


class NotInMemory(BaseException):  # noqa: N818 - a signal, not an error: no ``except Exception`` may swallow it
    """Raised by work that needs the database (or long computing) inside :func:`memory_only`."""


@contextlib.contextmanager
def memory_only() -> Iterator[None]:
    """Inside this block a database session (or :func:`check_io`) raises :class:`NotInMemory`:
    an API answers on its event loop what the server can answer from memory, and sends the rest
    to a worker thread."""
    token = _MEMORY_ONLY.set(True)
    try:
        yield
    finally:
        _MEMORY_ONLY.reset(token)


def check_io() -> None:
    """:class:`NotInMemory` inside :func:`memory_only`; nothing otherwise."""
    if _MEMORY_ONLY.get():
        raise NotInMemory


def default_url(data_dir: Path) -> str:
    """The embedded database of a data dir: ``sqlite:///DATA_DIR/coreatlas.db``."""
    return f"sqlite:///{(Path(data_dir) / DB_FILE).resolve()}"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (``postgresql+psycopg://``)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_engine(url: str, pool_size: int = 10) -> sa.Engine:
    url = normalise_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DataSourceError(
            "db: not a database URL (expected sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DB)", field="db"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        _sqlite_events(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise DataSourceError("db: PostgreSQL is reached through psycopg 3: postgresql+psycopg://...", field="db")
        return sa.create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    raise DataSourceError(f"db: unsupported database '{backend}' (SQLite or PostgreSQL)", field="db")


def _sqlite_events(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    """A database: ``url``, ``engine``, ``dialect`` (``sqlite`` or ``postgresql``) and sessions."""

    def __init__(self, url: str, pool_size: int = 10):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size)
        self.dialect = self.engine.dialect.name
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.dialect == "sqlite" else self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries: closed at the end (its transaction rolled back), its objects still readable."""
        check_io()
        with self._read() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        check_io()
        with self._write() as session, session.begin():
            yield session

    def integrity_check(self) -> list[str]:
        """Problems the backend finds in the database file (SQLite ``PRAGMA integrity_check`` and
        ``foreign_key_check``); empty when it is sound. On PostgreSQL: constraints left unvalidated,
        and every table of the schema read whole (a damaged page fails the read)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
                problems = [] if rows == ["ok"] else rows
                problems += [f"foreign key broken: {tuple(r)}" for r in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()]
                return problems
            return _postgres_problems(conn)

    def dispose(self) -> None:
        self.engine.dispose()


def _postgres_problems(conn: sa.Connection) -> list[str]:
    problems = [f"constraint not validated: {name}" for (name,) in conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE NOT convalidated AND connamespace = current_schema()::regnamespace").fetchall()]  # fmt: skip
    tables = [t for (t,) in conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()]
    for table in tables:
        try:
            conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()
        except sa.exc.DBAPIError as exc:
            problems.append(f"table {table} cannot be read: {exc.orig}")
    return problems
