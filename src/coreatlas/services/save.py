"""Saving any result: one file (``.json``, ``.csv``, ``.parquet``) or a whole result folder.

A result folder holds ``summary.json`` (``result.to_dict()``, with the provenance), one table
per entry of ``result.tables()`` (CSV, or Parquet where the name ends ``.parquet``) and, per
entry of ``result.charts()``, ``<name>.png`` and its Vega-Lite spec ``<name>.vl.json``. The
folder is staged beside its destination and swapped in whole (atomically on Linux), so a
reader sees the old folder or the new one, never a mix. A non-empty folder is replaced only
when it holds an earlier CoRe Atlas result (a ``summary.json`` with CoRe Atlas provenance),
or with ``force``.

:func:`check_out` is the check to make **before any work**: every use case or front end that
reads input paths and will save to ``out`` calls ``check_out(out, [its input paths], force)``
first, so that an ``out`` that is one of the inputs (or a folder holding one), that cannot be
written, or that is a foreign folder is refused before a long run, not after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from coreatlas.errors import DataSourceError
from coreatlas.io.output import atomic_write_folder, atomic_write_text, frame_to_file, to_json, unwritable, write_frame
from coreatlas.render import to_png, to_vega_lite

__all__ = ["FILE_SUFFIXES", "RESULT_MARKER", "check_out", "is_result_folder", "save_result", "to_json", "write_result_folder"]

FILE_SUFFIXES = (".json", ".csv", ".parquet")
RESULT_MARKER = "summary.json"
SOFTWARE = "coreatlas"  # provenance["software"] of every result starts with this


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


def is_result_folder(folder: Path | str) -> bool:
    """Whether ``folder`` holds an earlier CoRe Atlas result: a ``summary.json`` whose provenance
    names CoRe Atlas as its software."""
    try:
        doc = json.loads((Path(folder) / RESULT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    provenance = doc.get("provenance") if isinstance(doc, dict) else None
    return isinstance(provenance, dict) and str(provenance.get("software", "")).startswith(SOFTWARE)


def _check_folder(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise DataSourceError(f"{folder}: exists and is not a folder; a result folder is written here", field="out")
    if folder.is_dir() and any(folder.iterdir()) and not force and not is_result_folder(folder):
        raise DataSourceError(
            f"{folder}: the folder is not empty and holds no earlier CoRe Atlas result; choose another, or force overwriting it",
            field="out",
        )


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() in FILE_SUFFIXES:
        if path.is_dir():
            raise DataSourceError(f"{path}: is a folder; a {path.suffix} file is written here", field="out")
    elif path.suffix and not path.exists():
        raise DataSourceError(
            f"{path}: unknown output format '{path.suffix}'; expected .json, .csv or .parquet, or a folder name without a suffix",
            field="out",
        )


def _check_not_input(path: Path, inputs: Iterable) -> None:
    """``path`` may be neither an input nor a folder holding one (replacing it would remove the input)."""
    target = path.resolve()
    for given in inputs:
        if given is None or str(given) == "":
            continue
        source = Path(given).resolve()
        if source == target:
            raise DataSourceError(f"{path}: is also an input of this run; write the result elsewhere", field="out")
        if source.is_relative_to(target):
            raise DataSourceError(f"{path}: holds the input {given}, which writing the result would remove; write it elsewhere", field="out")


def check_out(path: Path | str | None, inputs: Iterable = (), force: bool = False) -> None:
    """Refuse, before any work, a result path that :func:`save_result` would refuse or fail on.

    ``inputs`` are the paths the run reads (files or folders; None entries are skipped). Raises
    :class:`DataSourceError` with ``field="out"`` when ``path`` is one of them or a folder
    holding one, has an unknown suffix, cannot be written (its nearest existing folder takes no
    new file), or is a non-empty folder without an earlier CoRe Atlas result (unless ``force``).
    Nothing is written. ``path`` None: nothing to check.
    """
    if path is None:
        return
    path = Path(path)
    _check_suffix(path)
    _check_not_input(path, inputs)
    reason = unwritable(path)
    if reason:
        raise DataSourceError(f"{path}: cannot be written: {reason}", field="out")
    if path.suffix.lower() not in FILE_SUFFIXES:
        _check_folder(path, force)


def write_result_folder(result, folder: Path | str, force: bool = False) -> Path:
    """Write ``result`` as a folder (see the module doc), replacing an earlier result there."""
    folder = Path(folder)
    _check_folder(folder, force)
    return atomic_write_folder(folder, lambda staging: _fill_folder(result, staging), overwrite=True)


def save_result(result, path: Path | str, force: bool = False) -> Path:
    """A file when ``path`` ends in one of :data:`FILE_SUFFIXES`, else a result folder
    (replacing a non-empty folder only if it holds an earlier result, or with ``force``)."""
    path = Path(path)
    _check_suffix(path)
    if path.suffix.lower() in FILE_SUFFIXES:
        return _save_file(result, path)
    return write_result_folder(result, path, force)
