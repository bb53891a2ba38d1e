"""Results, written once by content hash.

A result's JSON (its ``to_dict()``) is kept in the database, its id the SHA-256 of that text;
tables of more than :data:`LARGE_ROWS` rows are also written as Parquet files under
``DATA_DIR/results/<id>/<name>.parquet``. Writing the same result twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coreatlas.io.output import atomic_write, plain
from coreatlas.store.models import ResultRow

__all__ = ["LARGE_ROWS", "canonical_json", "get_result", "put_result", "put_text", "result_dir", "result_text"]

LARGE_ROWS = 5_000


def canonical_json(data: dict) -> str:
    """The stored text of a result: compact JSON (keys in the result's own order)."""
    return json.dumps(plain(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def result_dir(data_dir: Path, result_id: str) -> Path:
    return Path(data_dir) / "results" / result_id


def result_text(payload: dict) -> tuple[str, str]:
    """``(stored text, id)`` of a result: its canonical JSON and that text's SHA-256."""
    text = canonical_json(payload)
    return text, hashlib.sha256(text.encode()).hexdigest()


def put_text(session: Session, result_id: str, text: str, tables: list[str] | None = None) -> None:
    """Store a result's text once under its id (a second write of the same content changes nothing)."""
    if session.get(ResultRow, result_id) is not None:
        return
    try:
        with session.begin_nested():
            session.add(ResultRow(id=result_id, payload=text, tables=list(tables or []), size=len(text)))
    except IntegrityError:  # written meanwhile by another worker: the same content
        pass


def put_result(session: Session, data_dir: Path, payload: dict, tables: dict[str, pd.DataFrame] | None = None) -> str:
    """Store a result once; its id (SHA-256 of its JSON). Large tables go to Parquet files first."""
    text, digest = result_text(payload)
    if session.get(ResultRow, digest) is not None:
        return digest
    names = []
    for name, frame in (tables or {}).items():
        if len(frame) > LARGE_ROWS and name.isidentifier():
            target = result_dir(data_dir, digest) / f"{name}.parquet"
            if not target.exists():
                atomic_write(target, lambda temp, frame=frame: frame.to_parquet(temp, index=False))
            names.append(name)
    put_text(session, digest, text, names)
    return digest


def get_result(session: Session, result_id: str) -> dict | None:
    row = session.get(ResultRow, result_id)
    return None if row is None else json.loads(row.payload)
