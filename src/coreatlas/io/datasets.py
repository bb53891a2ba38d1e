"""Resolve a map reference (``data``): a built-in dataset name or a folder in the native or ETO format."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from coreatlas.errors import DataSourceError
from coreatlas.io.eto import is_eto, read_eto
from coreatlas.io.native import METADATA_FILE, is_native, read_native
from coreatlas.model.combine import combine
from coreatlas.model.techmap import TechMap
from coreatlas.model.validate import check

__all__ = ["DEFAULT_DATASET", "builtin_names", "builtin_path", "detect_format", "load"]

DEFAULT_DATASET = "chips"


def _datasets_root() -> Path:
    return Path(str(resources.files("coreatlas") / "datasets"))


def builtin_names() -> list[str]:
    root = _datasets_root()
    return sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file())


def builtin_path(name: str) -> Path:
    return _datasets_root() / name


def detect_format(folder: Path) -> str:
    """``"native"`` or ``"eto"``; raise :class:`DataSourceError` if neither."""
    if is_native(folder):
        return "native"
    if is_eto(folder):
        return "eto"
    msg = (
        f"{folder}: cannot tell the data format; expected {METADATA_FILE} (native format) "
        "or inputs.csv, provision.csv and sequence.csv (ETO format)"
    )
    raise DataSourceError(msg)


def load(spec: str | Path = DEFAULT_DATASET) -> TechMap:
    """Load a built-in dataset by name, or a folder (format detected from its files).

    ``a+b+c`` loads each part and combines them into one map (see
    :func:`coreatlas.model.combine.combine`), validated as a whole.
    """
    parts = [part.strip() for part in str(spec).split("+")] if "+" in str(spec) and not Path(str(spec)).exists() else [str(spec)]
    if len(parts) == 1:
        return _load_one(parts[0])
    if len(set(parts)) < len(parts) or not all(parts):
        raise DataSourceError(f"data '{spec}': name each dataset once, joined by '+', e.g. telecom-ran+materials+chips", field="data")
    combined = combine([_load_one(part) for part in parts])
    check(combined)
    return combined


@functools.lru_cache(maxsize=16)
def _builtin(name: str) -> TechMap:
    """Built-in datasets are read-only package data and maps are immutable: read each once."""
    return read_native(builtin_path(name))


def _load_one(text: str) -> TechMap:
    if text in builtin_names():
        return _builtin(text)
    folder = Path(text).expanduser()
    if not folder.exists():
        msg = f"data '{text}': no built-in dataset of that name (available: {', '.join(builtin_names())}) and no such folder"
        raise DataSourceError(msg, field="data")
    if not folder.is_dir():
        raise DataSourceError(f"data '{text}': expected a folder or a built-in dataset name, not a file", field="data")
    return _folder(folder.resolve(), _stamp(folder))


def _stamp(folder: Path) -> tuple:
    """What identifies a folder's content cheaply: each file's name, size and modification time."""
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()))


@functools.lru_cache(maxsize=16)
def _folder(folder: Path, stamp: tuple) -> TechMap:
    """A folder's map, read again only when one of its files changed (maps are immutable, and a
    server reads the same uploaded dataset for every request)."""
    return read_eto(folder) if detect_format(folder) == "eto" else read_native(folder)
