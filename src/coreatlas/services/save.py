"""Saving any result: one file (``.json``, ``.csv``, ``.parquet``) or a whole result folder.

A result folder holds ``summary.json`` (``result.to_dict()``, with the provenance), one table
per entry of ``result.tables()`` (CSV, or Parquet where the name ends ``.parquet``) and, per
entry of ``result.charts()``, ``<name>.png`` and its Vega-Lite spec ``<name>.vl.json``. The
folder is staged beside its destination and swapped in whole, so a reader sees the old
folder or the new one, never a mix.
"""

from __future__ import annotations

from pathlib import Path

from coreatlas.errors import DataSourceError
from coreatlas.io.output import atomic_write_folder, atomic_write_text, frame_to_file, to_json, write_frame
from coreatlas.render import to_png, to_vega_lite

__all__ = ["FILE_SUFFIXES", "RESULT_MARKER", "save_result", "to_json", "write_result_folder"]

FILE_SUFFIXES = (".json", ".csv", ".parquet")
RESULT_MARKER = "summary.json"


def _save_file(result, path: Path) -> Path:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return atomic_write_text(path, to_json(result.to_dict()) + "\n")
    return write_frame(result.to_frame(), path)


def _fill_folder(result, staging: Path) -> None:
    for name, frame in result.tables().items():
        fmt = "parquet" if name.endswith(".parquet") else "csv"
        frame_to_file(frame, staging / (name if fmt == "parquet" else f"{name}.csv"), fmt)
    (staging / RESULT_MARKER).write_text(to_json(result.to_dict()) + "\n", encoding="utf-8")
    for name, chart in result.charts().items():
        to_png(chart, staging / f"{name}.png")
        (staging / f"{name}.vl.json").write_text(to_json(to_vega_lite(chart)) + "\n", encoding="utf-8")


def _check_folder(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise DataSourceError(f"{folder}: exists and is not a folder; a result folder is written here", field="out")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / RESULT_MARKER).is_file() and not force:
        raise DataSourceError(f"{folder}: the folder is not empty and holds no earlier CoRe Atlas result; choose another", field="out")


def write_result_folder(result, folder: Path | str, force: bool = False) -> Path:
    """Write ``result`` as a folder (see the module doc), replacing an earlier result there."""
    folder = Path(folder)
    _check_folder(folder, force)
    return atomic_write_folder(folder, lambda staging: _fill_folder(result, staging), overwrite=True)


def save_result(result, path: Path | str, force: bool = False) -> Path:
    """A file when ``path`` ends in one of :data:`FILE_SUFFIXES`, else a result folder."""
    path = Path(path)
    if path.suffix.lower() in FILE_SUFFIXES:
        return _save_file(result, path)
    if path.suffix and not path.exists():
        raise DataSourceError(
            f"{path}: unknown output format '{path.suffix}'; expected .json, .csv or .parquet, or a folder name without a suffix",
            field="out",
        )
    return write_result_folder(result, path, force)
