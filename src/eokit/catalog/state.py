"""The crawl state kept beside a built catalog (``.eokit-state.sqlite``): what ``--incremental`` reuses.

It records, per file, its size, mtime and asset record (as JSON text), and per item a digest of
everything the item was made from plus the few fields the collection needs. A re-crawl reads only
new or changed files and rewrites only items whose inputs changed; the rest are linked unchanged.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["STATE_FILE", "CrawlState", "write_state"]

STATE_FILE = ".eokit-state.sqlite"
_VERSION = "2"


class CrawlState:
    """Read-only view of a previous build's state (empty when absent, stale or from other options)."""

    def __init__(self, path: Path, options_digest: str) -> None:
        self.files: dict[str, tuple[int, int]] = {}
        self.items: dict[str, tuple[str, str]] = {}
        self.meta: dict[str, str] = {}
        self._con: sqlite3.Connection | None = None
        if not path.exists():
            return
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("version") != _VERSION or meta.get("options") != options_digest:
                con.close()
                return
            self.meta = meta
            self.files = {r[0]: (r[1], r[2]) for r in con.execute("SELECT rel, size, mtime_ns FROM files")}
            self.items = {r[0]: (r[1], r[2]) for r in con.execute("SELECT id, digest, summary FROM items")}
            self._con = con
        except sqlite3.Error:
            self.files, self.items, self.meta = {}, {}, {}

    def unchanged(self, rel: str, size: int, mtime_ns: int) -> bool:
        return self.files.get(rel) == (size, mtime_ns)

    def record_texts(self, rels: Iterable[str]) -> dict[str, str]:
        """Asset-record JSON texts of ``rels`` (no parsing)."""
        if self._con is None:
            return {}
        wanted = list(rels)
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            q = f"SELECT rel, record FROM files WHERE rel IN ({','.join('?' * len(chunk))})"
            out.update(dict(self._con.execute(q, chunk).fetchall()))
        return out

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(sqlite3.Error):
                self._con.close()
            self._con = None


def write_state(
    path: Path,
    *,
    options_digest: str,
    root: str,
    items_digest: str,
    files: Iterable[tuple[str, int, int, str]],
    items: Iterable[tuple[str, str, str]],
) -> None:
    """Write a fresh state database at ``path`` (inside the staging folder)."""
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
            "CREATE TABLE files (rel TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, record TEXT);"
            "CREATE TABLE items (id TEXT PRIMARY KEY, digest TEXT, summary TEXT);"
        )
        con.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("version", _VERSION), ("options", options_digest), ("root", root), ("items_digest", items_digest)],
        )
        con.executemany("INSERT INTO files VALUES (?,?,?,?)", files)
        con.executemany("INSERT INTO items VALUES (?,?,?)", items)
        con.commit()


def read_root(catalog_dir: Path) -> str | None:
    """The crawl root recorded by the build of ``catalog_dir`` (None if unknown)."""
    path = catalog_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
            return row[0] if row else None
    except sqlite3.Error:
        return None


def summary_of(item: dict[str, Any]) -> dict[str, Any]:
    """The fields of an item the collection document needs."""
    p = item["properties"]
    keep = {k: p[k] for k in ("datetime", "start_datetime", "end_datetime", "gsd", "proj:code") if k in p}
    return {"id": item["id"], "bbox": item["bbox"], "properties": keep}
