"""Run independent chunks of work serially, on a local process pool, or on a Dask cluster.

Results come back as a list in chunk order whatever ran them, so a seeded ensemble gives
the same numbers on one worker, on a process pool and on a cluster.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from coreatlas.errors import DataSourceError, RequestError

__all__ = ["DASK_PREFIXES", "SCHEDULERS", "check_scheduler", "run_chunks", "scheduler_problem"]

#: Local schedulers; any other is the address of a Dask scheduler starting with one of DASK_PREFIXES.
SCHEDULERS = ("serial", "processes")
DASK_PREFIXES = ("tcp://", "tls://", "inproc://")


def scheduler_problem(scheduler: str | None) -> str | None:
    """What is wrong with ``scheduler`` (None: it is None, a local scheduler or a Dask address)."""
    if scheduler in (None, *SCHEDULERS) or str(scheduler).startswith(DASK_PREFIXES):
        return None
    return f"unknown scheduler '{scheduler}'; use {', '.join(SCHEDULERS)} or a Dask address such as tcp://host:8786"


def check_scheduler(scheduler: str | None) -> str | None:
    """``scheduler`` if it is None, a local scheduler or a Dask address; else a RequestError."""
    problem = scheduler_problem(scheduler)
    if problem:
        raise RequestError(f"scheduler: {problem}", field="scheduler")
    return scheduler


def _serial(task: Callable, chunks: int, progress) -> list:
    results = []
    for chunk in range(chunks):
        results.append(task(chunk))
        if progress is not None:
            progress(chunk + 1, chunks)
    return results


def _pool(task: Callable, chunks: int, workers: int, progress) -> list:
    results = [None] * chunks
    # spawn, not fork: the parent may hold numba / HiGHS threads that a fork would copy half-way
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(task, chunk): chunk for chunk in range(chunks)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress is not None:
                progress(done, chunks)
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
        raise DataSourceError(f"scheduler: cannot reach the Dask scheduler at {address} ({exc})", field="scheduler") from None
    with client:
        futures = client.map(task, list(range(chunks)), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * chunks
        for done, future in enumerate(dask_completed(futures), start=1):
            results[index[future.key]] = future.result()
            if progress is not None:
                progress(done, chunks)
    return results


def run_chunks(
    task: Callable[[int], object], chunks: int, *, scheduler: str | None = None, workers: int | None = None, progress=None
) -> list:
    """``[task(0), ..., task(chunks - 1)]``. ``scheduler``: None (a local process pool of
    ``workers``, default the CPU count; serial when 1 worker or 1 chunk), ``"serial"``, or a
    Dask scheduler address such as ``tcp://host:8786``. ``progress(done, chunks)`` after each chunk."""
    check_scheduler(scheduler)
    if scheduler and str(scheduler).startswith(DASK_PREFIXES):
        return _dask(task, chunks, scheduler, progress)
    workers = workers or os.cpu_count() or 1
    if scheduler == "serial" or workers == 1 or chunks == 1:
        return _serial(task, chunks, progress)
    return _pool(task, chunks, min(workers, chunks), progress)
