"""Writing results atomically: a file through a temporary file renamed into place, a folder
through a staging folder swapped in whole.

Readers see the old file or folder or the whole new one, never a mix: a folder is swapped with
Linux's ``renameat2(RENAME_EXCHANGE)``; where the system lacks it, the old folder is renamed
aside, the new one renamed in and the old one removed (a reader may then find no folder for an
instant, but never a partial one). Temporary files and folders carry the writer's process id
(``.<name>.coreatlas-<pid>-...``); those of a process that no longer runs (killed with SIGKILL)
are removed by the next write beside them. Files and folders get the user's umask.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.errors import DataSourceError, WriteError

__all__ = [
    "atomic_write",
    "atomic_write_folder",
    "atomic_write_text",
    "exchange",
    "frame_to_file",
    "plain",
    "to_json",
    "umask",
    "unwritable",
    "write_frame",
]

TEMP_TAG = "coreatlas"
STALE_SECONDS = 600  # a temporary of a process that no longer runs is removed once this old
RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


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


def umask() -> int:
    """The process's file-mode creation mask (read without changing it where Linux tells it)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_prefix(name: str) -> str:
    return f".{name}.{TEMP_TAG}-{os.getpid()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _sweep(parent: Path, name: str) -> None:
    """Remove the temporaries for ``name`` left in ``parent`` by processes that no longer run
    (and untouched for :data:`STALE_SECONDS`, in case the writer runs on another host)."""
    pattern = re.compile(rf"\.{re.escape(name)}\.{TEMP_TAG}-(\d+)-")
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            match = pattern.match(entry.name)
            stale = match and time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if stale and not _running(int(match.group(1))):
                with contextlib.suppress(OSError):
                    shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)


def unwritable(path: Path | str) -> str | None:
    """Why ``path`` cannot be created or replaced, or None. Its nearest existing ancestor
    must be a folder that takes a new file (tried, and removed at once: permissions, a
    read-only or full file system all show)."""
    parent = Path(path).absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    probe = parent / f"{_temp_prefix(Path(path).name)}{secrets.token_hex(8)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        return f"cannot create a file in {parent} ({exc.strerror or exc})"
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return None


def _temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``; created inside the caller's ``try``, so that an
    interrupt at any moment leaves nothing behind."""
    return path.parent / f"{_temp_prefix(path.name)}{secrets.token_hex(8)}"


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Run ``write(temporary)`` next to ``path``, then rename it into place, so that readers
    see the old file or the whole new one (never half of it). The file gets the user's umask."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep(path.parent, path.name)
        temp = _temp_path(path)
        try:
            write(temp)
            os.chmod(temp, 0o666 & ~umask())
            os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write ({exc.strerror})") from exc
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


def _renameat2():
    """libc's ``renameat2`` (glibc 2.28 and later), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one step (Linux ``RENAME_EXCHANGE``); False where
    the system or the file system cannot, and nothing was changed."""
    function = _renameat2()
    if function is None:
        return False
    if function(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``; the old folder, if any, ends up at ``staging`` (removed by the caller)."""
    if not folder.exists():
        os.rename(staging, folder)
    elif not exchange(staging, folder):
        aside = Path(tempfile.mkdtemp(prefix=_temp_prefix(folder.name), dir=folder.parent))
        os.rename(folder, aside / "old")
        try:
            os.rename(staging, folder)
        except OSError:
            os.rename(aside / "old", folder)
            os.rmdir(aside)
            raise
        os.rename(aside, staging)  # the caller removes it: the old folder inside it


def atomic_write_folder(
    folder: Path | str, write_files: Callable[[Path], None], overwrite: bool = False, ours: Callable[[Path], bool] | None = None
) -> Path:
    """Write a folder all at once: ``write_files(staging)`` fills a sibling folder that is then
    swapped in for ``folder``, so readers see the old folder or the whole new one.

    A non-empty ``folder`` is replaced only with ``overwrite`` or when ``ours(folder)`` says it
    is an earlier folder of the same kind; otherwise it is refused before anything is written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataSourceError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (overwrite or (ours is not None and ours(folder))):
        raise DataSourceError(f"{folder}: the folder is not empty and holds no earlier result of this kind; choose another, or force overwriting it", field="out")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        _sweep(folder.parent, folder.name)
        staging = _temp_path(folder)
        try:
            os.mkdir(staging)  # with the umask
            write_files(staging)
            _swap_in(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise WriteError(f"{folder}: cannot write ({exc.strerror or exc})") from exc
    return folder
