"""Database fixtures of the server tests: every test taking ``db_url`` runs on SQLite (a file in
a temporary folder) and on PostgreSQL (``COREATLAS_TEST_PG_URL``, e.g.
``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``; ``.ci/run`` starts a throwaway one).

On PostgreSQL one fresh database is created for the test session (and dropped after it), and
each test gets a fresh schema of its own in it (``search_path``), dropped after the test.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ENV = "COREATLAS_TEST_PG_URL"
NO_PG = f"PostgreSQL cases need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres); .ci/run starts a throwaway server"


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def pg_database() -> str | None:
    """A fresh PostgreSQL database for this test session (its URL), dropped afterwards; None without PostgreSQL."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    name = f"coreatlas_test_{secrets.token_hex(4)}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _pg_schema_url(database_url: str) -> tuple[str, str]:
    schema = f"t_{secrets.token_hex(5)}"
    engine = _admin_engine(database_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = sa.make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_schema(database_url: str, schema: str) -> None:
    engine = _admin_engine(database_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path, pg_database) -> str:
    """An empty database: a SQLite file, or a fresh schema of the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from _fresh_schema(pg_database)


@pytest.fixture
def pg_url(pg_database) -> str:
    """An empty PostgreSQL database (a fresh schema); skips without PostgreSQL."""
    yield from _fresh_schema(pg_database)


def _fresh_schema(pg_database):
    """Yield the URL of a fresh schema of the session's PostgreSQL database, dropped afterwards."""
    if pg_database is None:
        pytest.skip(NO_PG)
    url, schema = _pg_schema_url(pg_database)
    try:
        yield url
    finally:
        _drop_schema(pg_database, schema)


@pytest.fixture
def make_server(tmp_path: Path):
    """``make_server(db_url, name="data", **settings)``: an opened server in a data dir of ``tmp_path``; closed after the test."""
    from coreatlas.services.server import open_server

    opened = []

    def make(db_url: str | None, name: str = "data", **settings):
        server = open_server(db_url, tmp_path / name, **settings)
        opened.append(server)
        return server

    yield make
    for server in opened:
        server.close()


@pytest.fixture
def server(db_url, make_server):
    """A bootstrapped server on ``db_url`` (both backends)."""
    return make_server(db_url)


@pytest.fixture
def admin(server):
    """The bootstrap admin's caller (admin-scoped token)."""
    return server.authenticate_token(server.bootstrap_token)
