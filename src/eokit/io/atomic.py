"""Atomic outputs: write to a temporary name beside the target, rename when complete; nothing left behind.

Temporary names say who made them: ``.NAME.eokit-<pid>-<rand>.part[SUFFIX]``
(the format suffix is kept so drivers recognise it). A later run in the same
folder removes the temporaries of processes that no longer exist — files and
folders alike (:func:`sweep_stale`) — so a killed run leaves nothing behind
for long, and a folder swap interrupted half-way (:func:`swap_dirs` without
``renameat2``) is put back at the next run.

>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> temp_name(d / "ndvi.tif").name.startswith(".ndvi.tif.eokit-")
True
>>> temp_name(d / "ndvi.tif").suffix
'.tif'
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eokit.errors import InvalidInputError, OutputError

__all__ = [
    "atomic_dir",
    "atomic_path",
    "ensure_writable_dir",
    "final_name",
    "is_temp_name",
    "safe_join",
    "staging_dir",
    "swap_dirs",
    "sweep_stale",
    "temp_name",
]

log = logging.getLogger(__name__)

#: Temporaries of older eokit versions (no owner pid) are removed once older than this many seconds.
LEGACY_MAX_AGE = 24 * 3600
#: A temporary whose pid was reused by another process is removed once older than this (no run takes a week).
STALE_MAX_AGE = 7 * 24 * 3600

# ``.NAME.eokit-PID-HEX.part`` + the format suffix + any sidecar a driver adds (``.aux.xml``, ``.plain.tif``)
_OURS = re.compile(r"^\.(?P<name>.+?)\.eokit-(?P<pid>\d+)-[0-9a-f]+\.(?P<kind>part|old)(?:\..*)?$")
# older eokit: the catalog swap's ``.NAME.old-PID-hex`` folder, and pid-less mkstemp/mkdtemp names
_LEGACY_OLD = re.compile(r"^\.(?P<name>.+)\.(?P<kind>old)-(?P<pid>\d+)-[0-9a-f]{6}$")
_LEGACY = re.compile(r"^\.(?P<stem>.+)\.(?:[a-z0-9_]{8}\.part(?P<sfx>\.[^.]+)?|staging-[a-z0-9_]{8})$")


def temp_name(target: str | os.PathLike[str], kind: str = "part") -> Path:
    """A fresh temporary name beside ``target``, owned by this process (``kind`` is ``part`` or ``old``)."""
    target = Path(target)
    return target.with_name(f".{target.name}.eokit-{os.getpid()}-{secrets.token_hex(4)}.{kind}{target.suffix}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary name made by eokit (this version or an older one)."""
    return bool(_OURS.match(name) or _LEGACY_OLD.match(name) or _LEGACY.match(name))


def final_name(path: str | os.PathLike[str]) -> str:
    """The output a temporary name stands for, else ``path`` unchanged.

    >>> final_name("/d/.ndvi.tif.eokit-42-0a1b2c3d.part.tif")
    '/d/ndvi.tif'
    >>> final_name("/d/ndvi.tif")
    '/d/ndvi.tif'
    """
    p = Path(path)
    m = _OURS.match(p.name) or _LEGACY_OLD.match(p.name)
    if m:
        return str(p.with_name(m["name"]))
    legacy = _LEGACY.match(p.name)
    if legacy:
        return str(p.with_name(legacy["stem"] + (legacy["sfx"] or "")))
    return os.fspath(path)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


_SWEPT: set[str] = set()


def _sweep_once(folder: Path) -> None:
    """:func:`sweep_stale` the first time this process writes into ``folder`` (a folder of 10,000 downloads
    is listed once, not once per file)."""
    key = os.path.abspath(folder)
    if key not in _SWEPT:
        _SWEPT.add(key)
        sweep_stale(folder)


def sweep_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries in ``folder`` whose owner process is gone; restore a half-swapped folder.

    A ``.NAME.eokit-PID-x.old`` folder whose ``NAME`` is missing is the previous
    output of a swap that was killed between its two renames: it is renamed
    back to ``NAME``. Returns the paths removed or restored.
    """
    folder = Path(folder)
    done: list[Path] = []
    try:
        entries = [
            e for e in os.scandir(folder) if (e.name.startswith(".") and ".eokit-" in e.name) or _LEGACY.match(e.name)
        ]
    except OSError:
        return done
    now = time.time()
    for entry in entries:
        path = Path(entry.path)
        ours = _OURS.match(entry.name) or _LEGACY_OLD.match(entry.name)
        if ours:
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if _pid_alive(int(ours["pid"])) and age < STALE_MAX_AGE:
                continue
            target = folder / ours["name"]
            if ours["kind"] == "old" and not target.exists():
                with contextlib.suppress(OSError):
                    os.rename(path, target)
                    log.warning("restored %s from an interrupted swap", target)
                    done.append(target)
                    continue
        else:
            legacy = _LEGACY.match(entry.name)
            try:
                old_enough = legacy is not None and now - entry.stat(follow_symlinks=False).st_mtime > LEGACY_MAX_AGE
            except OSError:
                continue
            if not old_enough:
                continue
        _remove_quietly(path)
        log.info("removed %s, left behind by an interrupted run", path)
        done.append(path)
    return done


def ensure_writable_dir(directory: str | os.PathLike[str], *, create: bool = True) -> Path:
    """Return ``directory`` as a Path, creating it if asked; raise :class:`OutputError` if unusable."""
    path = Path(directory)
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder ({exc.strerror or exc})", path=path) from None
    if not path.is_dir():
        raise OutputError("output folder does not exist", path=path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("output folder is not writable", path=path)
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, create_parent: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it to ``target`` on success.

    The temporary name keeps ``target``'s suffix so format drivers recognise it.
    On an exception the temporary file (and its sidecars) is removed and
    ``target`` is untouched; after a kill, the next run in that folder removes it.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "a.txt").read_text()
    'done'
    >>> [p.name for p in d.iterdir()]
    ['a.txt']
    """
    target = Path(target)
    parent = ensure_writable_dir(target.parent, create=create_parent)
    if target.is_dir():
        raise OutputError("is a folder; a file name is expected", path=target)
    _sweep_once(parent)
    tmp = temp_name(target)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError("nothing was written", path=target)
        os.replace(tmp, target)
    except BaseException:
        _remove_quietly(tmp)
        for sidecar in parent.glob(glob_escape(tmp.name) + "*"):
            _remove_quietly(sidecar)
        raise


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success it replaces ``target`` (see :func:`swap_dirs`).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_dir(d / "out") as tmp:
    ...     _ = (tmp / "x.json").write_text("{}")
    >>> sorted(p.name for p in (d / "out").iterdir()), [p.name for p in d.iterdir()]
    (['x.json'], ['out'])
    """
    staging = staging_dir(target)
    try:
        yield staging
        swap_dirs(staging, target)
    except BaseException:
        _remove_quietly(staging)
        raise


def staging_dir(target: str | os.PathLike[str]) -> Path:
    """Create and return an empty temporary folder beside ``target`` (removed by a later run if this one dies)."""
    target = Path(target)
    parent = ensure_writable_dir(target.parent)
    _sweep_once(parent)
    staging = temp_name(target)
    try:
        staging.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create a temporary folder ({exc.strerror or exc})", path=target) from None
    return staging


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    fn = _renameat2()
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # kernel or file system without exchange
    raise OSError(err, os.strerror(err), os.fspath(b))


_RENAMEAT2: list[Any] = []


def _renameat2() -> Any:
    if not _RENAMEAT2:
        fn = None
        name = ctypes.util.find_library("c")
        if name and os.uname().sysname == "Linux":
            with contextlib.suppress(OSError, AttributeError):
                fn = ctypes.CDLL(name, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                fn.restype = ctypes.c_int
        _RENAMEAT2.append(fn)
    return _RENAMEAT2[0]


def swap_dirs(staging: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Put the complete folder ``staging`` in place of ``target``; at no moment is ``target`` absent.

    On Linux both names are exchanged in one ``renameat2(RENAME_EXCHANGE)``
    call, then the previous folder (now under the temporary name) is removed.
    Elsewhere, ``target`` is first renamed to ``.NAME.eokit-PID-x.old``; if the
    process dies before the second rename, the next :func:`sweep_stale` in that
    folder renames it back.
    """
    staging, target = Path(staging), Path(target)
    try:
        if not target.exists():
            os.rename(staging, target)
            return
        if _renameat2_exchange(staging, target):
            _remove_quietly(staging)  # the previous output, now under the temporary name
            return
        old = temp_name(target, "old")
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except OSError:
            os.rename(old, target)
            raise
        _remove_quietly(old)
    except OSError as exc:
        raise OutputError(f"cannot move the new output into place ({exc.strerror or exc})", path=target) from exc


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def safe_join(root: str | os.PathLike[str], name: str) -> Path:
    """Join an untrusted relative ``name`` under ``root``; refuse anything escaping it.

    Absolute paths, drive letters, ``..`` components and empty names raise
    :class:`~eokit.errors.InvalidInputError`.

    >>> safe_join("/data", "a/b.tif").as_posix()
    '/data/a/b.tif'
    >>> safe_join("/data", "../etc/passwd")
    Traceback (most recent call last):
    ...
    eokit.errors.InvalidInputError: unsafe file name '../etc/passwd': it must be a relative path inside the target folder
    """
    cleaned = name.replace("\\", "/")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if not parts or cleaned.startswith("/") or ":" in parts[0] or any(p == ".." for p in parts):
        raise InvalidInputError(f"unsafe file name {name!r}: it must be a relative path inside the target folder")
    root_path = Path(root).resolve()
    candidate = root_path.joinpath(*parts).resolve()
    if root_path != candidate and root_path not in candidate.parents:
        raise InvalidInputError(f"unsafe file name {name!r}: it escapes {root_path}")
    return candidate
