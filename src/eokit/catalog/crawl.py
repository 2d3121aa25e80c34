"""Finding files under a root, grouping them into items, and reading them concurrently."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eokit.catalog._common import CRAWL_SUFFIXES, asset_key_of
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.errors import EokitError, InvalidInputError

log = logging.getLogger(__name__)

__all__ = ["FoundFile", "Skipped", "discover", "group_files", "read_files"]


@dataclass(frozen=True)
class FoundFile:
    """A candidate file: absolute path, path relative to the root (POSIX), size and mtime."""

    path: str
    rel: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file (or folder) left out of the catalog, and why."""

    path: str
    reason: str
    error: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "error": self.error}


def discover(
    root: str | os.PathLike[str],
    *,
    suffixes: Sequence[str] = CRAWL_SUFFIXES,
    exclude: Sequence[str | os.PathLike[str]] = (),
) -> tuple[list[FoundFile], list[Skipped]]:
    """Walk ``root`` (following no directory symlink loops) for files with ``suffixes``.

    Hidden entries (``.name``) and the ``exclude`` folders are skipped. Broken links,
    unreadable folders and files that cannot be stat-ed are returned as :class:`Skipped`.
    """
    root_path = Path(root)
    suffixes = tuple(s.lower() for s in suffixes)
    excluded = {os.path.realpath(e) for e in exclude}
    found: list[FoundFile] = []
    skipped: list[Skipped] = []
    seen_dirs: set[str] = set()

    def walk(folder: str) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs or real in excluded:
            return
        seen_dirs.add(real)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(folder, f"folder cannot be listed: {exc.strerror or exc}", type(exc).__name__))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    walk(entry.path)
                    continue
            except OSError:
                pass
            lower = entry.name.lower()
            if not lower.endswith(suffixes) or lower.endswith(".aux.xml"):
                continue
            rel = entry.path[prefix:].replace(os.sep, "/")
            try:
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                skipped.append(Skipped(entry.path, "broken symbolic link", "InputNotFoundError"))
                continue
            except OSError as exc:
                skipped.append(Skipped(entry.path, f"cannot stat: {exc.strerror or exc}", type(exc).__name__))
                continue
            found.append(FoundFile(entry.path, rel, st.st_size, st.st_mtime_ns))

    if not root_path.is_dir():
        from eokit.errors import InputNotFoundError

        raise InputNotFoundError("crawl root is not a folder", path=root_path)
    prefix = len(os.fspath(root_path).rstrip(os.sep)) + 1
    walk(os.fspath(root_path))
    return found, skipped


def group_key(rule: str) -> Callable[[FoundFile], str | None]:
    """Turn a ``--group-by`` rule into ``file -> item id`` (None: the file belongs to no item).

    ``stem``: one item per file name without suffixes (same stems in different folders merge);
    ``parent``: one item per folder (relative path, ``/`` -> ``_``);
    ``regex:PATTERN``: ``re.search`` on the path relative to the root; the named group ``id``
    (or the whole match) is the item id, e.g. ``regex:^(?P<id>[^/]+)/processed[^/]*/full/``.
    """
    if rule == "stem":
        return lambda f: asset_key_of(f.rel)
    if rule == "parent":

        def by_parent(f: FoundFile) -> str | None:
            parent = str(Path(f.rel).parent.as_posix())
            return "root" if parent == "." else parent.replace("/", "_")

        return by_parent
    if rule.startswith("regex:"):
        try:
            pattern = re.compile(rule[len("regex:") :])
        except re.error as exc:
            raise InvalidInputError(f"invalid --group-by regular expression: {exc}") from None

        def by_regex(f: FoundFile) -> str | None:
            m = pattern.search(f.rel)
            if m is None:
                return None
            value = m.group("id") if "id" in pattern.groupindex else m.group(0)
            return value or None

        return by_regex
    raise InvalidInputError(f"unknown --group-by rule {rule!r}: use stem, parent or regex:PATTERN")


def group_files(files: Sequence[FoundFile], rule: str) -> tuple[dict[str, list[FoundFile]], list[FoundFile]]:
    """Group files into ``{item_id: [files]}``; also return the files no item claims."""
    from eokit.catalog.item import safe_id

    key = group_key(rule)
    groups: dict[str, list[FoundFile]] = {}
    ungrouped: list[FoundFile] = []
    for f in files:
        raw = key(f)
        if raw is None:
            ungrouped.append(f)
            continue
        groups.setdefault(safe_id(raw), []).append(f)
    return groups, ungrouped


def _read_task(args: tuple[str, ReadOptions]) -> tuple[str, Any, str, str]:
    """Read one file; never raises (errors come back as values so the crawl goes on)."""
    from eokit.catalog.item import read_asset

    path, options = args
    try:
        return path, read_asset(path, options), "", ""
    except EokitError as exc:
        return path, None, exc.message, type(exc).__name__
    except Exception as exc:  # a bad file must never stop a crawl of thousands
        log.debug("unexpected error reading %s", path, exc_info=True)
        return path, None, f"unexpected error: {exc}", type(exc).__name__


def read_files(
    paths: Sequence[str],
    options: ReadOptions,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[float], None] | None = None,
    file_timeout: float | None = 300.0,
) -> Iterator[tuple[str, AssetRecord | None, Skipped | None]]:
    """Read files concurrently (threads by default; processes or Dask via ``scheduler``).

    A file whose reading takes longer than ``file_timeout`` seconds is reported as skipped and
    abandoned (its daemon reader thread is replaced; in worker processes and Dask workers the read
    runs on such a thread of the worker), so one pathological file cannot stall a crawl of
    thousands; header sanity checks keep known hostile files from getting there.
    """
    from eokit.config import get_settings
    from eokit.core import open_executor

    if not paths:
        return
    env = dict(get_settings().gdal_env)
    tasks = [(p, options) for p in paths]
    scheduler = scheduler or get_settings().scheduler
    if scheduler == "threads":
        n = workers or get_settings().n_workers
        for path, record, reason, kind in _threaded(tasks, n, env, file_timeout):
            yield _outcome(path, record, reason, kind, progress)
        return
    bounded = [(p, options, env, file_timeout) for p in paths]
    with open_executor(scheduler, workers) as ex:
        pending = 4 * max(ex.workers, 1)
        for path, record, reason, kind in ex.imap_unordered(_read_task_bounded, bounded, max_pending=pending):
            if kind == "TimeoutError":
                log.warning("%s: reading took longer than %g s; skipped", path, file_timeout)
            yield _outcome(path, record, reason, kind, progress)


_readers = threading.local()  # the reader thread of each worker (process or Dask thread) calling in


def _read_task_bounded(args: tuple[str, ReadOptions, dict[str, str], float | None]) -> tuple[str, Any, str, str]:
    """``_read_task`` in a worker process or Dask worker, abandoned after ``timeout`` seconds.

    The read runs on one long-lived daemon thread per calling worker (its GDAL options entered
    once); a read still running at the timeout is left to that thread, which the next file
    replaces, as the threads scheduler does.
    """
    import queue

    path, options, env, timeout = args
    reader: tuple[queue.SimpleQueue[Any], queue.SimpleQueue[Any]] | None = getattr(_readers, "reader", None)
    if reader is None:
        tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        results: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def run() -> None:
            from eokit.core.dispatch import enter_gdal_env

            enter_gdal_env(env)
            while True:
                results.put(_read_task(tasks.get()))

        threading.Thread(target=run, name="eokit-catalog-reader", daemon=True).start()
        reader = _readers.reader = (tasks, results)
    reader[0].put((path, options))
    try:
        return reader[1].get(timeout=timeout)
    except queue.Empty:
        _readers.reader = None  # stuck: the next file gets a new reader
        return path, None, f"reading took longer than {timeout:g} s (abandoned)", "TimeoutError"


def _threaded(
    tasks: list[tuple[str, ReadOptions]], n: int, env: dict[str, str], timeout: float | None
) -> Iterator[tuple[str, Any, str, str]]:
    """Run ``_read_task`` on daemon threads (one GDAL environment per thread: small files are the hot
    path); yield results as they come, and a timeout outcome for any file running past ``timeout``."""
    import queue
    import time

    from eokit.core.dispatch import enter_gdal_env

    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(tasks)):
        todo.put(i)
    done: queue.SimpleQueue[tuple[str, Any, str, str]] = queue.SimpleQueue()
    running: dict[int, float] = {}  # task -> start time; whoever pops a task reports it

    def worker() -> None:
        enter_gdal_env(env)
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            running[i] = time.monotonic()
            out = _read_task(tasks[i])
            if running.pop(i, None) is not None:
                done.put(out)

    def start() -> None:
        threading.Thread(target=worker, name="eokit-catalog-reader", daemon=True).start()

    for _ in range(max(1, min(n, len(tasks)))):
        start()
    remaining = len(tasks)
    while remaining:
        try:
            out = done.get(timeout=1.0 if timeout else None)
        except queue.Empty:
            now = time.monotonic()
            for i, t0 in list(running.items()):
                if timeout and now - t0 > timeout and running.pop(i, None) is not None:
                    remaining -= 1
                    log.warning("%s: reading took longer than %g s; skipped", tasks[i][0], timeout)
                    yield tasks[i][0], None, f"reading took longer than {timeout:g} s (abandoned)", "TimeoutError"
                    start()  # the stuck thread keeps its slot busy: replace it
            continue
        remaining -= 1
        yield out


def _outcome(
    path: str, record: Any, reason: str, kind: str, progress: Callable[[float], None] | None
) -> tuple[str, AssetRecord | None, Skipped | None]:
    if progress is not None:
        progress(1)
    if record is None:
        return path, None, Skipped(path, reason, kind)
    return path, record, None
