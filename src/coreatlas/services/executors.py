"""Run independent chunks of work serially, on a local process pool, or on a Dask cluster.

Results come back as a list in chunk order whatever ran them, so a seeded ensemble gives
the same numbers on one worker, on a process pool and on a cluster.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from coreatlas.errors import CoreAtlasError, DataSourceError

__all__ = ["run_chunks"]


def _serial(task: Callable, chunks: int, progress) -> list:
    results = []
    for chunk in range(chunks):
        results.append(task(chunk))
        if progress is not None:
            progress(1)
    return results


def _pool(task: Callable, chunks: int, workers: int, progress) -> list:
    results = [None] * chunks
    # spawn, not fork: the parent may hold numba / HiGHS threads that a fork would copy half-way
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(task, chunk): chunk for chunk in range(chunks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if progress is not None:
                progress(1)
    return results


def _dask(task: Callable, chunks: int, address: str, progress) -> list:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - dask is a declared dependency
        raise DataSourceError("the Dask scheduler needs the 'distributed' package") from exc
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise DataSourceError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    with client:
        futures = client.map(task, list(range(chunks)), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * chunks
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            if progress is not None:
                progress(1)
    return results


def run_chunks(
    task: Callable[[int], object], chunks: int, *, scheduler: str | None = None, workers: int | None = None, progress=None
) -> list:
    """``[task(0), ..., task(chunks - 1)]``. ``scheduler``: None (a local process pool of
    ``workers``, default the CPU count; serial when 1 worker or 1 chunk), ``"serial"``, or a
    Dask scheduler address such as ``tcp://host:8786``."""
    if scheduler not in (None, "serial", "processes") and not str(scheduler).startswith(("tcp://", "tls://", "inproc://")):
        raise CoreAtlasError(f"unknown scheduler '{scheduler}'; use serial, processes or a Dask address such as tcp://host:8786")
    if scheduler and str(scheduler).startswith(("tcp://", "tls://", "inproc://")):
        return _dask(task, chunks, scheduler, progress)
    workers = workers or os.cpu_count() or 1
    if scheduler == "serial" or workers == 1 or chunks == 1:
        return _serial(task, chunks, progress)
    return _pool(task, chunks, min(workers, chunks), progress)
