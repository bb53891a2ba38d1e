"""Storage of the CoRe Atlas server: models, engines and sessions, migrations, the job queue,
results by content hash, backup and restore."""

from coreatlas.store.db import Database, default_url, make_engine, normalise_url
from coreatlas.store.migrate import current, downgrade, drift, head, upgrade

__all__ = ["Database", "current", "default_url", "downgrade", "drift", "head", "make_engine", "normalise_url", "upgrade"]
