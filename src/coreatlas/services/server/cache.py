"""What the server keeps in memory between requests, and the writes it batches.

- :class:`TTLCache`: who a token or session stands for, a caller's access to a workspace, a
  dataset's current version. Each entry lives ``seconds`` (default 5): a change made by this
  process (a revoked token, a new share, an upload) forgets the entries at once; one made by
  another process (``coreatlas admin revoke-token``, another API process) is seen within
  ``seconds``.
- :class:`ResultCache`: static results are deterministic (a pure function of the dataset's
  content and the request), so each answer's JSON text is kept by ``(use case, request,
  datasets' content hashes)``, least recently used first out, within a byte budget.
- :class:`WriteBehind`: the audit entries of reads and the runs of static scenarios are written
  in batches (one transaction every ``interval`` seconds or ``batch`` rows) by a background
  thread; :meth:`WriteBehind.flush` writes what is pending (the audit log's reader, backups
  and a clean shutdown call it), so none is lost unless the process is killed outright.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from coreatlas.store import Database
from coreatlas.store.db import check_io

__all__ = ["Insert", "ResultCache", "TTLCache", "WriteBehind"]

log = logging.getLogger("coreatlas.server")


class TTLCache:
    """A thread-safe map whose entries expire ``seconds`` after they were put (at most ``size``,
    the oldest dropped first). ``seconds`` 0 keeps nothing."""

    def __init__(self, seconds: float = 5.0, size: int = 10_000):
        self.seconds, self.size = float(seconds), int(size)
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._items[key]
                return None
            return entry[1]

    def put(self, key: Hashable, value: Any) -> Any:
        if self.seconds > 0:
            with self._lock:
                self._items[key] = (time.monotonic() + self.seconds, value)
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class ResultCache:
    """Values by key, each with its size in bytes; the least recently used are dropped first once
    the sizes pass ``max_bytes`` in all."""

    def __init__(self, max_bytes: int = 256 << 20):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> Any:
        if size > self.max_bytes:
            return value
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += size - (old[1] if old is not None else 0)
            self._items[key] = (value, size)
            while self._bytes > self.max_bytes:
                self._bytes -= self._items.popitem(last=False)[1][1]
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Insert:
    """A row of ``model`` to insert: a batch inserts consecutive rows of one table with one
    statement (executemany), far cheaper than one ORM object each. ``values`` name every column
    the rows of that table give (all alike)."""

    model: type
    values: dict

    def __call__(self, session: Session) -> None:
        session.execute(sa.insert(self.model), [self.values])


def _write_all(session: Session, writes: list[Callable[[Session], None]]) -> None:
    """The callables first, in order (results, which runs refer to), then the rows table by table
    (in the order the tables first came), each table's rows in their order, as one statement."""
    tables: dict[type, list[dict]] = {}
    for write in writes:
        if isinstance(write, Insert):
            tables.setdefault(write.model, []).append(write.values)
        else:
            write(session)
    for model, rows in tables.items():
        session.execute(sa.insert(model), rows)


class WriteBehind:
    """Writes ``write(session)`` callables (and :class:`Insert` rows) in batches, in the order they
    came, from a background thread started on first use. A batch that fails is written again one
    by one, so that one bad row (say, of a workspace deleted meanwhile) loses only itself."""

    def __init__(self, db: Database, interval: float = 0.2, batch: int = 500):
        self.db, self.interval, self.batch = db, float(interval), int(batch)
        self._pending: list[Callable[[Session], None]] = []
        self._lock = threading.Lock()  # guards _pending and the thread's start
        self._flushing = threading.Lock()  # one flush at a time keeps the order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """:class:`~coreatlas.store.db.NotInMemory` inside ``memory_only`` when :meth:`add` would write at once."""
        if self.interval <= 0:
            check_io()

    def add(self, write: Callable[[Session], None]) -> None:
        if self.interval <= 0:
            check_io()
            self._write([write])
            return
        with self._lock:
            self._pending.append(write)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="coreatlas-write-behind", daemon=True)
                self._thread.start()
            if len(self._pending) >= self.batch:
                self._wake.set()

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        """Write everything pending now (in this thread)."""
        with self._flushing:
            with self._lock:
                writes, self._pending = self._pending, []
            if writes:
                self._write(writes)

    def close(self) -> None:
        """Stop the thread, then write what is pending."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - closing must not fail; the log says what was not written
            log.error("%d batched audit entries or runs could not be written at shutdown", self.pending(), exc_info=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the database is away: the rows wait for the next pass
                log.warning("writing the batched audit entries failed; trying again", exc_info=True)

    def _write(self, writes: list[Callable[[Session], None]]) -> None:
        try:
            with self.db.write() as session:
                _write_all(session, writes)
            return
        except Exception:
            if not self._database_answers():  # away: everything waits for the next pass, in order
                with self._lock:
                    self._pending[:0] = writes
                raise
        for write in writes:  # the database refused a row: write them one by one, dropping the bad ones
            try:
                with self.db.write() as session:
                    write(session)
            except Exception:  # noqa: BLE001
                log.error("a batched audit entry or run could not be written and was dropped", exc_info=True)

    def _database_answers(self) -> bool:
        try:
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:  # noqa: BLE001
            return False
        return True
