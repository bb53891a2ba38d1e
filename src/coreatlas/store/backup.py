"""Backup and restore: every table (as JSON lines) and the files of the data dir (uploaded
datasets, Parquet results) in one zip archive, with a manifest naming the schema revision.

A backup reads every table in one transaction (a consistent snapshot). A restore goes into an
empty database at the same schema revision (a fresh data dir); rows keep their identifiers.
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from coreatlas.errors import DataSourceError
from coreatlas.store.db import Database
from coreatlas.store.migrate import current
from coreatlas.store.models import Base, UTCDateTime, utcnow

__all__ = ["FILE_FOLDERS", "FORMAT", "backup", "restore"]

FORMAT = "coreatlas-backup/1"
FILE_FOLDERS = ("datasets", "results")


def _encode(table: sa.Table, row) -> dict:
    out = {}
    for column in table.columns:
        value = row._mapping[column.name]
        if isinstance(value, datetime):
            value = value.isoformat()
        out[column.name] = value
    return out


def _decode(table: sa.Table, data: dict) -> dict:
    out = {}
    for column in table.columns:
        value = data.get(column.name)
        if value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        out[column.name] = value
    return out


def backup(db: Database, data_dir: Path, file: Path) -> dict:
    """Write the database and the data dir's files to ``file`` (zip); the manifest."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    temp = file.with_name(f".{file.name}.partial")
    counts = {}
    with db.engine.connect() as conn:
        if not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                rows = conn.execute(sa.select(table).order_by(*order)).all()
                counts[table.name] = len(rows)
                archive.writestr(
                    f"tables/{table.name}.jsonl", "".join(json.dumps(_encode(table, r), ensure_ascii=False) + "\n" for r in rows)
                )
            for folder in FILE_FOLDERS:
                root = Path(data_dir) / folder
                for path in sorted(root.rglob("*")) if root.is_dir() else []:
                    if path.is_file() and not path.name.startswith("."):
                        archive.write(path, f"files/{path.relative_to(data_dir).as_posix()}")
            manifest = {"format": FORMAT, "revision": revision, "created_at": utcnow().isoformat(), "tables": counts}
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    temp.replace(file)
    return manifest


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    return not name.startswith("/") and ".." not in parts and "\\" not in name


def restore(db: Database, data_dir: Path, file: Path) -> dict:
    """Load a backup into an empty database (migrated to the backup's revision) and data dir."""
    file = Path(file)
    if not zipfile.is_zipfile(file):
        raise DataSourceError(f"{file}: not a CoRe Atlas backup (not a zip archive)", field="file")
    with zipfile.ZipFile(file) as archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except KeyError:
            raise DataSourceError(f"{file}: not a CoRe Atlas backup (no manifest.json)", field="file") from None
        if manifest.get("format") != FORMAT:
            raise DataSourceError(f"{file}: unknown backup format {manifest.get('format')!r}", field="file")
        if manifest.get("revision") != current(db):
            raise DataSourceError(
                f"{file}: the backup is at schema revision {manifest.get('revision')}, the database at {current(db)}", field="file"
            )
        with db.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                    raise DataSourceError(
                        f"restore: the database is not empty (table {table.name} has rows); restore into a fresh data dir", field="file"
                    )
            for table in Base.metadata.sorted_tables:
                text = archive.read(f"tables/{table.name}.jsonl").decode()
                rows = [_decode(table, json.loads(line)) for line in text.splitlines() if line]
                if table.name == "comments":  # replies after the comments they answer
                    rows = _parents_first(rows)
                if rows:
                    conn.execute(table.insert(), rows)
            if not db.is_sqlite:
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM audit_log"
                )
        for info in archive.infolist():
            if info.filename.startswith("files/") and not info.is_dir() and _safe_member(info.filename):
                target = Path(data_dir) / info.filename.removeprefix("files/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
    return manifest


def _parents_first(rows: list[dict]) -> list[dict]:
    done, ordered, pending = set(), [], list(rows)
    while pending:
        ready = [r for r in pending if r["parent_id"] is None or r["parent_id"] in done]
        if not ready:
            raise DataSourceError("restore: a comment answers a comment that is not in the backup", field="file")
        ordered += ready
        done |= {r["id"] for r in ready}
        pending = [r for r in pending if r["id"] not in done]
    return ordered
