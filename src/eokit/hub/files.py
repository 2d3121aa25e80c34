"""Files in a download folder: safe names, the ledger, and claims on partial files.

Several downloaders (threads of one engine, or separate processes) may write
into the same folder:

* the ledger (``.eokit-downloads.jsonl``) gets one line per verified file,
  appended under an exclusive ``flock`` on ``.eokit-downloads.jsonl.lock``, so
  concurrent updates never lose each other's entries; rewrites (compaction) go
  through a temp file and a rename;
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

LEDGER_NAME = ".eokit-downloads.jsonl"
_OLD_LEDGER_NAME = ".eokit-downloads.json"
_OLD_LEDGER_MAX = 256 << 20
"""An old ledger bigger than this is not read (it cannot be one eokit wrote for a folder)."""
_LEDGER_BLOCK = 1 << 20
_LEDGER_SLACK = 64
"""Superseded lines tolerated beyond the live ones before the ledger is rewritten."""
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


class _LedgerView:
    """What one process has read of a ledger file: its entries, and where reading stopped."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, inode: tuple[int, int] | None = None) -> None:
        self.inode = inode
        self.offset = 0
        self.lines = 0
        self.files: dict[str, dict[str, Any]] = {}


class Ledger:
    """The record of verified downloads in one folder (thread- and process-safe).

    JSON Lines: recording a file appends one line ``{"path": ..., "entry": {...}}``
    (forgetting it, ``{"path": ...}``) under an exclusive ``flock``, so the thousandth
    download costs what the first did; each process keeps the entries it has read and
    reads only the lines added since. A line torn by a crash is skipped. When
    superseded lines outnumber the live ones the file is rewritten (temp file +
    rename). A folder with the single-document ledger of earlier versions
    (``.eokit-downloads.json``, eokit 0.1.0) is converted on first use.
    """

    _locks: dict[str, threading.Lock] = {}
    _views: dict[str, _LedgerView] = {}
    _locks_guard = threading.Lock()

    def __init__(self, directory: Path) -> None:
        self.path = directory / LEDGER_NAME
        self.lock_path = directory / (LEDGER_NAME + ".lock")
        key = os.path.realpath(self.path)
        with Ledger._locks_guard:
            self._lock = Ledger._locks.setdefault(key, threading.Lock())
            self._view = Ledger._views.setdefault(key, _LedgerView())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The thread lock, then the folder's ``flock`` (other processes)."""
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

    def _refresh(self) -> dict[str, dict[str, Any]]:
        """Apply the lines added since the last look (all of them after a rewrite). Needs ``_lock``."""
        view = self._view
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if view.inode is not None:  # removed: start over
                view.reset()
            return view.files
        try:
            st = os.fstat(fd)
            if view.inode != (st.st_dev, st.st_ino) or st.st_size < view.offset:  # new or rewritten
                view.reset((st.st_dev, st.st_ino))
            carry = b""
            while view.offset + len(carry) < st.st_size:
                block = os.pread(fd, _LEDGER_BLOCK, view.offset + len(carry))
                if not block:
                    break
                data = carry + block
                cut = data.rfind(b"\n") + 1
                for line in data[:cut].splitlines():
                    self._apply(line)
                view.offset += cut
                carry = data[cut:]
                if len(carry) > _LEDGER_BLOCK:  # no line is that long: skip the garbage
                    view.offset += len(carry)
                    carry = b""
        finally:
            os.close(fd)
        return view.files

    def _apply(self, line: bytes) -> None:
        try:
            item = json.loads(line)
            path = item["path"]
        except (ValueError, TypeError, KeyError):
            return  # torn by a crash, or not ours
        if not isinstance(path, str):
            return
        self._view.lines += 1
        entry = item.get("entry")
        if isinstance(entry, dict):
            self._view.files[path] = entry
        else:
            self._view.files.pop(path, None)

    def _append_line(self, item: dict[str, Any]) -> None:
        """Append one line (after a newline if a crash left the last line unfinished). Needs ``_locked``."""
        line = json.dumps(item, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            write_all(fd, line)
        finally:
            os.close(fd)

    def _rewrite(self, files: dict[str, dict[str, Any]]) -> None:
        """Replace the file by one line per live entry. Needs ``_locked``."""
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            text = "".join(
                json.dumps({"path": p, "entry": e}, sort_keys=True, separators=(",", ":")) + "\n"
                for p, e in files.items()
            )
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _migrate(self) -> None:
        """Convert the single-document ledger of eokit 0.1.0. Needs ``_locked``."""
        old = self.path.with_name(_OLD_LEDGER_NAME)
        if self.path.exists() or not old.is_file() or old.stat().st_size > _OLD_LEDGER_MAX:
            return
        try:
            data = json.loads(old.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        files = data.get("files") if isinstance(data, dict) else None
        if isinstance(files, dict):
            self._rewrite({p: e for p, e in files.items() if isinstance(p, str) and isinstance(e, dict)})
        old.unlink(missing_ok=True)

    def _maybe_migrate(self) -> None:
        if self._view.inode is None and not self.path.exists() and self.path.with_name(_OLD_LEDGER_NAME).is_file():
            with self._locked():
                self._migrate()

    def files(self) -> dict[str, dict[str, Any]]:
        """Every recorded file: ``{relative path: entry}``."""
        self._maybe_migrate()
        with self._lock:
            return {p: dict(e) for p, e in self._refresh().items()}

    def get(self, relpath: str) -> dict[str, Any] | None:
        """The entry of ``relpath`` (lines are appended whole, so reading needs no ``flock``)."""
        self._maybe_migrate()
        with self._lock:
            found = self._refresh().get(relpath)
        return dict(found) if found is not None else None

    def record(self, relpath: str, entry: dict[str, Any]) -> None:
        self._change(relpath, entry)

    def forget(self, relpath: str) -> None:
        with self._lock:
            if relpath not in self._refresh():
                return
        self._change(relpath, None)

    def _change(self, relpath: str, entry: dict[str, Any] | None) -> None:
        with self._locked():
            self._migrate()
            self._append_line({"path": relpath, "entry": entry} if entry is not None else {"path": relpath})
            files = self._refresh()
            if self._view.lines > 2 * len(files) + _LEDGER_SLACK:
                self._rewrite(files)
                self._refresh()


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
