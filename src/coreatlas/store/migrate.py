"""Migrations, applied from code: the Alembic scripts live in ``coreatlas/store/migrations``
and the configuration is built here (no alembic.ini).

- :func:`upgrade` (``head`` by default) and :func:`downgrade`;
- :func:`current` gives the revision of a database (None when empty);
- :func:`drift` lists the differences between the models and the database (what
  ``alembic check`` reports): empty after ``upgrade head``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from coreatlas.store.db import Database
from coreatlas.store.models import Base

__all__ = ["MIGRATIONS", "alembic_config", "compare_type", "current", "downgrade", "drift", "head", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    config.attributes["connection"] = connection
    return config


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Compare a TypeDecorator (UTCDateTime) by what it stores; others the default way."""
    impl = getattr(metadata_type, "impl", None)
    if impl is not None:
        return context.impl.compare_type(inspected_column, sa.Column(metadata_column.name, impl))
    return None


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run(db: Database, action, *args) -> None:
    with db.engine.connect() as connection:
        action(alembic_config(connection), *args)
        connection.commit()


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database to ``revision`` (from empty, or from any earlier revision)."""
    _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str = "base") -> None:
    _run(db, command.downgrade, revision)


def current(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def drift(db: Database) -> list:
    """The differences autogenerate finds between the models and the database; [] means none."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": compare_type, "target_metadata": Base.metadata})
        return compare_metadata(context, Base.metadata)
