"""Files in a download folder: safe names, the ledger, and claims on partial files.

Several downloaders (threads of one engine, or separate processes) may write
into the same folder:

* the ledger (``.eokit-downloads.json``) is rewritten atomically (temp file +
  rename) under an exclusive ``flock`` on ``.eokit-downloads.json.lock``, so
  concurrent updates never lose each other's entries or leave a torn file;
* a ``<name>.incomplete`` file is *claimed* with an exclusive ``flock`` while it
  is being written; a second downloader of the same product waits for the claim
  (with a log message) and then finds the product complete, or resumes what the
  first one left.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:  # POSIX; elsewhere the ledger and claims are only guarded within one process
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LEDGER_NAME",
    "Ledger",
    "candidate_names",
    "claim_partial",
    "same_file",
    "sanitize_filename",
    "stat_or_none",
    "truncate",
    "write_all",
]

log = logging.getLogger(__name__)

LEDGER_NAME = ".eokit-downloads.json"
MAX_NAME_BYTES = 240
"""Longest file name (UTF-8 bytes) eokit gives a download: room for ``~NN`` and ``.incomplete`` within 255."""
RESERVED_SUFFIXES = (".incomplete", ".lock", ".tmp")
"""Suffixes of eokit's own working files: a server name ending so gets ``_`` appended."""
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _bounded(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext.encode("utf-8")) <= 16:
        return _truncate_utf8(stem, limit - len(ext.encode("utf-8")) - 1).rstrip() + "." + ext
    return _truncate_utf8(name, limit)


def sanitize_filename(name: str | None, *, fallback: str = "download") -> str:
    """Reduce an untrusted (server-supplied) name to one safe file-name component.

    Directories, drive letters and ``..`` are dropped; control and reserved
    characters become ``_``; leading dots are removed (no hidden/relative names);
    names ending in a suffix eokit uses for its own files (``.incomplete``...) get
    ``_`` appended; the result is NFC and at most 240 UTF-8 bytes (extension kept).

    >>> sanitize_filename("../../etc/passwd")
    'passwd'
    >>> sanitize_filename("C:\\\\temp\\\\S2A.zip")
    'S2A.zip'
    >>> sanitize_filename("other.zip.incomplete")
    'other.zip.incomplete_'
    """
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    base = text.rsplit("/", 1)[-1]
    base = base.split(":")[-1] if re.match(r"^[A-Za-z]:", base) else base
    base = _BAD_CHARS.sub("_", base).strip().lstrip(".").strip()
    if base in ("", ".", ".."):
        base = _BAD_CHARS.sub("_", fallback.replace("/", "_")).lstrip(".") or "download"
    base = _bounded(base)
    if base.lower().endswith(RESERVED_SUFFIXES) or base == LEDGER_NAME.lstrip("."):
        base = _bounded(base, MAX_NAME_BYTES - 1) + "_"
    return base


def candidate_names(name: str) -> Iterator[str]:
    """``name``, then ``<stem>~2<suffix>`` ... ``<stem>~99<suffix>`` (the naming rule for taken names).

    >>> list(candidate_names("a.tif"))[:3]
    ['a.tif', 'a~2.tif', 'a~3.tif']
    """
    yield name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    for i in range(2, 100):
        yield f"{stem}~{i}{'.' + ext if ext else ''}"


class Ledger:
    """The record of verified downloads in one folder (thread- and process-safe, atomic rewrites)."""

    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()

    def __init__(self, directory: Path) -> None:
        self.path = directory / LEDGER_NAME
        self.lock_path = directory / (LEDGER_NAME + ".lock")
        with Ledger._locks_guard:
            self._lock = Ledger._locks.setdefault(str(self.path.resolve()), threading.Lock())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # pragma: no cover
                yield
                return
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else {"files": {}}
        except (OSError, ValueError):
            return {"files": {}}

    def _store(self, data: dict[str, Any]) -> None:
        data["version"] = 1
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get(self, relpath: str) -> dict[str, Any] | None:
        """The entry of ``relpath`` (a rename is atomic, so reading needs no lock)."""
        with self._lock:
            return self._load()["files"].get(relpath)

    def record(self, relpath: str, entry: dict[str, Any]) -> None:
        with self._locked():
            data = self._load()
            data["files"][relpath] = entry
            self._store(data)

    def forget(self, relpath: str) -> None:
        with self._locked():
            data = self._load()
            if data["files"].pop(relpath, None) is not None:
                self._store(data)


@contextlib.contextmanager
def claim_partial(temp: Path, *, stopped: Callable[[], bool], what: str, poll: float = 0.2) -> Iterator[int | None]:
    """Open and exclusively lock ``temp`` (``<name>.incomplete``) for writing; yield its descriptor.

    When another downloader holds the claim, wait for it (logging why) until it is
    released or ``stopped()``. Yields None when the partial file went away meanwhile
    (the other downloader finished and renamed it): the caller re-checks the final file.
    The descriptor stays open, and the claim held, until the block ends.
    """
    temp.parent.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        fd = os.open(temp, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if not waited:
                            log.warning("%s is being downloaded by another process: waiting for it", what)
                            waited = True
                        if stopped():
                            raise InterruptedError(f"stopped while waiting for another download of {what}") from None
                        time.sleep(poll)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(temp))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            try:
                yield fd
            finally:
                os.close(fd)
            return
        os.close(fd)  # the file we waited on was renamed (or removed) by its owner
        if waited:
            yield None
            return


def stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def same_file(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    if a is None or b is None:
        return a is b
    return os.path.samestat(a, b) and a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


def truncate(fd: int) -> int:
    """Empty the claimed partial file (it stays claimed); the new offset, 0."""
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    return 0


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
