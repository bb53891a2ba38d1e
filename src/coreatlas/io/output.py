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

__all__ = [
    "atomic_write",
    "atomic_write_folder",
    "atomic_write_text",
    "frame_to_file",
    "plain",
    "to_json",
    "write_frame",
]


def plain(value):
    """``value`` as JSON-ready data: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def to_json(data) -> str:
    """JSON text of plain data (numpy scalars and NaN become JSON numbers and null)."""
    return json.dumps(plain(data), indent=2, ensure_ascii=False)


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Run ``write(temporary)`` next to ``path``, then rename it into place, so that readers
    see the old file or the whole new one (never half of it)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(handle)
        try:
            write(Path(temp))
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot write ({exc.strerror})") from exc
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return atomic_write(path, lambda temp: temp.write_text(text, encoding="utf-8", newline=""))


def frame_to_file(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write a table as ``parquet`` or ``csv`` (not atomic: for files inside an atomic folder)."""
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="utf-8")


def write_frame(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write CSV or Parquet (by suffix) atomically."""
    fmt = "parquet" if Path(path).suffix.lower() == ".parquet" else "csv"
    return atomic_write(path, lambda temp: frame_to_file(frame, temp, fmt))






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
