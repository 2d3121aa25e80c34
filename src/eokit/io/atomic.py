"""Atomic outputs: write to a temporary name beside the target, rename when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from eokit.errors import OutputError

__all__ = ["atomic_path", "ensure_writable_dir", "safe_join"]


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
    On an exception the temporary file is removed and ``target`` is untouched.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "a.txt").read_text()
    'done'
    """
    target = Path(target)
    parent = ensure_writable_dir(target.parent, create=create_parent)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # let writers create it fresh (GDAL refuses some existing files)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError("nothing was written", path=target)
        os.replace(tmp, target)
    except BaseException:
        _remove_quietly(tmp)
        for sidecar in parent.glob(tmp.name + ".*"):
            _remove_quietly(sidecar)
        raise


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()


def safe_join(root: str | os.PathLike[str], name: str) -> Path:
    """Join an untrusted relative ``name`` under ``root``; refuse anything escaping it.

    Absolute paths, drive letters, ``..`` components and empty names raise
    :class:`OutputError`.
    """
    from eokit.errors import InvalidInputError

    cleaned = name.replace("\\", "/")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if not parts or cleaned.startswith("/") or ":" in parts[0] or any(p == ".." for p in parts):
        raise InvalidInputError(f"unsafe file name {name!r}: it must be a relative path inside the target folder")
    root_path = Path(root).resolve()
    candidate = root_path.joinpath(*parts).resolve()
    if root_path != candidate and root_path not in candidate.parents:
        raise InvalidInputError(f"unsafe file name {name!r}: it escapes {root_path}")
    return candidate
