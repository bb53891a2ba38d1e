"""Alembic environment of CoRe Atlas: run by :mod:`coreatlas.store.migrate` with a connection
passed in ``config.attributes["connection"]`` (no alembic.ini; the URL is never in a file)."""

from __future__ import annotations

from alembic import context

from coreatlas.store.migrate import compare_type
from coreatlas.store.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("coreatlas migrations run through coreatlas.store.migrate, with a connection")
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=compare_type,
                      render_as_batch=connection.dialect.name == "sqlite")  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("coreatlas migrations run online only")
run_migrations_online()
