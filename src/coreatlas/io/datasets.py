"""Resolve ``--data``: a built-in dataset name or a folder in the native or ETO format."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from coreatlas.errors import DataSourceError
from coreatlas.io.eto import is_eto, read_eto
from coreatlas.io.native import METADATA_FILE, is_native, read_native
from coreatlas.model.techmap import TechMap

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
    """Load a built-in dataset by name, or a folder (format detected from its files)."""
    text = str(spec)
    if text in builtin_names():
        return read_native(builtin_path(text))
    folder = Path(text).expanduser()
    if not folder.exists():
        msg = f"--data '{text}': no built-in dataset of that name (available: {', '.join(builtin_names())}) and no such folder"
        raise DataSourceError(msg)
    if not folder.is_dir():
        raise DataSourceError(f"--data '{text}': expected a folder or a built-in dataset name, not a file")
    return read_eto(folder) if detect_format(folder) == "eto" else read_native(folder)
