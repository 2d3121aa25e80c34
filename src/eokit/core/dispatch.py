"""Dispatch of block work to threads, processes or a Dask distributed scheduler.

``scheduler`` values:

- ``"synchronous"``: run in the calling thread (debugging, tiny inputs);
- ``"threads"``: a thread pool (numba/GDAL release the GIL, so this is the default);
- ``"processes"``: a process pool (pure-Python work);
- ``"local"``: a ``dask.distributed.LocalCluster`` started for the run;
- ``"tcp://HOST:PORT"`` (or any ``scheme://``): an existing Dask scheduler.

GDAL configuration (``Settings.gdal_env``) is applied around each task on the
worker that runs it, so workers read rasters with the caller's settings.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import itertools
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

from eokit.config import get_settings
from eokit.errors import InvalidInputError, MissingDependencyError

__all__ = ["Executor", "enter_gdal_env", "gdal_options", "open_executor"]

T = TypeVar("T")
R = TypeVar("R")


def gdal_options(gdal_env: Mapping[str, str]) -> dict[str, Any]:
    """GDAL options as ``rasterio.Env`` takes them (numbers as ints: it rejects ``GDAL_CACHEMAX='256'``)."""
    return {k: int(v) if str(v).isdigit() else v for k, v in gdal_env.items()}


_worker = threading.local()


def enter_gdal_env(gdal_env: Mapping[str, str]) -> None:
    """Apply GDAL options for the rest of this worker thread's life (a pool initializer).

    GDAL options are thread-local, so entering them once per worker instead of once
    per task saves the cost that dominates when tasks are small files.
    """
    import rasterio

    ctx = rasterio.Env(**gdal_options(gdal_env))
    ctx.__enter__()
    _worker.env = ctx


def _with_env(func: Callable[..., R], gdal_env: Mapping[str, str], *args: Any) -> R:
    import rasterio

    # rasterio.Env sets GDAL options thread-locally, so concurrent tasks do not race.
    with rasterio.Env(**gdal_options(gdal_env)):
        return func(*args)


_last_trim = [0.0]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return cast(Callable[[int], int], ctypes.CDLL("libc.so.6").malloc_trim)
    except (OSError, AttributeError):
        return None


def release_freed_memory(min_interval: float = 1.0) -> None:
    """Hand memory that worker threads freed back to the OS, at most once per ``min_interval`` seconds.

    glibc gives each thread its own heap and rarely returns freed pages, so a
    long block-by-block run on threads grows its resident size by fragments of
    blocks long gone (seen: 315 MB flat with one heap, +8 MB/s with one per
    thread); ``malloc_trim`` returns them.
    """
    now = time.monotonic()
    if now - _last_trim[0] < min_interval:
        return
    _last_trim[0] = now
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class Executor:
    """A minimal, uniform ``map``/``submit`` over the supported schedulers."""

    def __init__(self, kind: str, pool: Any, gdal_env: Mapping[str, str], workers: int) -> None:
        self.kind = kind
        self._pool = pool
        self._env = dict(gdal_env)
        self.workers = workers

    def imap_unordered(self, func: Callable[[T], R], items: Iterable[T], *, max_pending: int = 0) -> Iterator[R]:
        """Apply ``func`` to each item; yield results as they complete.

        At most ``max_pending`` tasks (default: twice the workers) are in flight,
        so results never pile up beyond that: memory stays bounded by the block
        size, not by the number of blocks.
        """
        # pools apply the GDAL options once per worker (initializer); elsewhere, around each task
        wrapped = func if self.kind in ("threads", "processes") else functools.partial(_with_env, func, self._env)
        limit = max_pending or 2 * max(self.workers, 1)
        iterator = iter(items)
        if self.kind == "synchronous":
            for item in iterator:
                yield wrapped(item)
            return
        if self.kind == "dask":
            from distributed import as_completed

            first = [self._pool.submit(wrapped, item, pure=False) for item in itertools.islice(iterator, limit)]
            queue = as_completed(first)
            for future in queue:
                yield future.result()
                for item in itertools.islice(iterator, 1):
                    queue.add(self._pool.submit(wrapped, item, pure=False))
            return
        pending = {self._pool.submit(wrapped, item) for item in itertools.islice(iterator, limit)}
        try:
            while pending:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                if self.kind == "threads":
                    release_freed_memory()
                for item in itertools.islice(iterator, len(done)):
                    pending.add(self._pool.submit(wrapped, item))
        finally:
            for future in pending:
                future.cancel()

    def imap(self, func: Callable[[T], R], items: Iterable[T], *, max_pending: int = 0) -> Iterator[R]:
        """Apply ``func`` to each item; yield results in input order, at most ``max_pending`` in flight."""
        import collections

        if self.kind == "synchronous":
            yield from map(func, items)
            return
        wrapped = func if self.kind in ("threads", "processes") else functools.partial(_with_env, func, self._env)
        limit = max_pending or 2 * max(self.workers, 1)
        if self.kind == "dask":

            def submit(x: Any) -> Any:
                return self._pool.submit(wrapped, x, pure=False)
        else:

            def submit(x: Any) -> Any:
                return self._pool.submit(wrapped, x)

        queue: collections.deque[Any] = collections.deque()
        iterator = iter(items)
        queue.extend(submit(x) for x in itertools.islice(iterator, limit))
        try:
            while queue:
                yield queue.popleft().result()
                if self.kind == "threads":
                    release_freed_memory()
                queue.extend(submit(x) for x in itertools.islice(iterator, 1))
        finally:
            for future in queue:
                future.cancel()

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Apply ``func`` to each item; results in input order."""
        indexed = list(enumerate(items))
        results: dict[int, R] = {}
        for i, value in self.imap_unordered(_Indexed(func), indexed):
            results[i] = value
        return [results[i] for i in range(len(indexed))]


class _Indexed:
    """Picklable ``(i, x) -> (i, func(x))``."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def __call__(self, pair: tuple[int, Any]) -> tuple[int, Any]:
        return pair[0], self.func(pair[1])


@contextlib.contextmanager
def open_executor(scheduler: str | None = None, workers: int | None = None) -> Iterator[Executor]:
    """Open the executor named by ``scheduler`` (default: the ``scheduler`` setting)."""
    settings = get_settings()
    scheduler = scheduler or settings.scheduler
    n = workers or settings.n_workers
    env = settings.gdal_env
    if scheduler == "synchronous":
        yield Executor("synchronous", None, env, 1)
    elif scheduler == "threads":
        with cf.ThreadPoolExecutor(n, initializer=enter_gdal_env, initargs=(dict(env),)) as pool:
            yield Executor("threads", pool, env, n)
    elif scheduler == "processes":
        # forkserver: workers fork from a clean server, never from a parent whose numba/OpenMP
        # threads are running (forking those aborts the child)
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        with cf.ProcessPoolExecutor(n, mp_context=context, initializer=enter_gdal_env, initargs=(dict(env),)) as pool:
            yield Executor("processes", pool, env, n)
    elif scheduler == "local" or "://" in scheduler:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise MissingDependencyError("distributed", extra="dask", purpose="a Dask scheduler") from None
        if scheduler == "local":
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                with Client(cluster) as client:
                    yield Executor("dask", client, env, n)
        else:
            with Client(scheduler, timeout=settings.http_timeout) as client:
                yield Executor("dask", client, env, n)
    else:
        raise InvalidInputError(
            f"unknown scheduler {scheduler!r}: use threads, processes, synchronous, local or tcp://HOST:PORT"
        )
