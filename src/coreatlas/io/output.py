"""Writing results: JSON and CSV, atomically (a temporary file renamed into place)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.errors import DataSourceError

__all__ = ["atomic_write_folder", "atomic_write_text", "to_json", "write_records"]


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def to_json(data) -> str:
    """JSON text of plain data (numpy scalars and NaN become JSON numbers and null)."""
    return json.dumps(_plain(data), indent=2, ensure_ascii=False)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temp, path)
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot write ({exc.strerror})") from exc
    return path


def write_records(path: Path, records: list[dict], frame: pd.DataFrame | None = None) -> Path:
    """Write records as ``.json`` or ``.csv`` (by suffix); CSV uses ``frame`` if given."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return atomic_write_text(path, to_json(records) + "\n")
    if suffix == ".csv":
        table = frame if frame is not None else pd.DataFrame(records)
        return atomic_write_text(path, table.to_csv(index=False))
    raise DataSourceError(f"{path}: unknown output format '{suffix}'; expected .json or .csv")


def atomic_write_folder(folder: Path | str, write_files: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Write a folder all at once: ``write_files(staging)`` fills a sibling folder that then
    replaces ``folder``, so readers see the old folder or the whole new one."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise DataSourceError(f"{folder}: folder exists and is not empty; choose another or allow overwriting")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write_files(staging)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder
