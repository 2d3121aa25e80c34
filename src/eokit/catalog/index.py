"""An embedded SQLite index of a STAC catalog (R*Tree on bboxes) for the STAC API server.

The index lives outside the catalog folder (the server never writes into it), is built
into a temporary file and renamed into place, and is rebuilt when the catalog's
top-level documents change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from eokit.catalog._common import parse_datetime
from eokit.errors import InputNotFoundError, InvalidInputError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["CatalogIndex", "SearchQuery"]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE collections (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE items (
  rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, collection TEXT NOT NULL,
  dt_start REAL, dt_end REAL, minx REAL, miny REAL, maxx REAL, maxy REAL,
  doc TEXT NOT NULL, UNIQUE (collection, id));
CREATE INDEX items_dt ON items (dt_start);
CREATE VIRTUAL TABLE items_rtree USING rtree(rowid, minx, maxx, miny, maxy);
CREATE TABLE assets (
  collection TEXT, item TEXT, key TEXT, path TEXT, media_type TEXT, sha256 TEXT, size INTEGER, mtime_ns INTEGER,
  PRIMARY KEY (collection, item, key));
"""


@dataclass
class SearchQuery:
    """Validated search parameters (see :mod:`eokit.catalog.server` for parsing)."""

    bbox: Sequence[float] | None = None
    intersects: Any = None  # shapely geometry
    dt_start: float | None = None
    dt_end: float | None = None
    ids: Sequence[str] | None = None
    collections: Sequence[str] | None = None
    limit: int = 10
    offset: int = 0
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, ascending)


def _epoch(value: Any) -> float | None:
    when = parse_datetime(value)
    return when.timestamp() if when else None


_INDEX_VERSION = "3"


def _fingerprint(catalog_dir: Path) -> str:
    parts = [f"v{_INDEX_VERSION}"]
    for name in ("catalog.json", "collection.json", ".eokit-state.sqlite", "index.geojson"):
        with contextlib.suppress(OSError):
            st = (catalog_dir / name).stat()
            parts.append(f"{name}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
    with contextlib.suppress(OSError):
        st = catalog_dir.stat()
        parts.append(f".:{st.st_ino}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class CatalogIndex:
    """SQLite index of the items, collections and local assets of a catalog folder.

    Parameters
    ----------
    catalog_dir : path
        Folder holding ``catalog.json`` (or a lone ``collection.json``).
    db_path : path, optional
        Where the index is kept (default: a file in the temp folder named after the catalog).
    asset_roots : sequence of paths, optional
        Folders whose files may be served as assets, besides the catalog folder and the
        crawl root eokit recorded when it built the catalog.
    """

    def __init__(
        self,
        catalog_dir: str | os.PathLike[str],
        *,
        db_path: str | os.PathLike[str] | None = None,
        asset_roots: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        self.catalog_dir = Path(catalog_dir).resolve()
        if not self.catalog_dir.is_dir():
            raise InputNotFoundError("catalog folder does not exist", path=catalog_dir)
        if not any((self.catalog_dir / n).exists() for n in ("catalog.json", "collection.json")):
            raise InputNotFoundError("folder holds no catalog.json or collection.json", path=catalog_dir)
        key = hashlib.sha256(str(self.catalog_dir).encode()).hexdigest()[:16]
        self.db_path = Path(db_path) if db_path else Path(tempfile.gettempdir()) / f"eokit-stac-index-{key}.sqlite"
        self.extra_roots = [Path(r).resolve() for r in asset_roots]
        self._lock = threading.Lock()
        self._checked = 0.0
        self._fingerprint = ""
        self.refresh(force=False)

    # ------------------------------------------------------------ building
    def refresh(self, *, force: bool = False, min_interval: float = 0.0) -> bool:
        """Rebuild the index if the catalog changed (or ``force``); return whether it was rebuilt."""
        now = time.monotonic()
        if not force and now - self._checked < min_interval:
            return False
        with self._lock:
            self._checked = now
            fp = _fingerprint(self.catalog_dir)
            if not force and fp == self._fingerprint:
                return False
            if not force and self._stored_fingerprint() == fp:
                self._fingerprint = fp
                return False
            self._build(fp)
            self._fingerprint = fp
            return True

    def _stored_fingerprint(self) -> str | None:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as con:
                row = con.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
                return row[0] if row else None
        except sqlite3.Error:
            return None

    def allowed_roots(self) -> list[Path]:
        roots = [self.catalog_dir, *self.extra_roots]
        from eokit.catalog.state import read_root

        recorded = read_root(self.catalog_dir)
        if recorded:
            roots.append(Path(recorded).resolve())
        return roots

    def _build(self, fingerprint: str) -> None:
        t0 = time.perf_counter()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".eokit-index-", suffix=".sqlite", dir=self.db_path.parent)
        os.close(fd)
        roots = self.allowed_roots()
        try:
            with contextlib.closing(sqlite3.connect(tmp)) as con:
                con.executescript(_SCHEMA)
                n = 0
                for coll, items in self._walk():
                    con.execute(
                        "INSERT OR REPLACE INTO collections VALUES (?, ?)",
                        (coll["id"], json.dumps(_template_collection(coll))),
                    )
                    rows, assets = [], []
                    for item, base in items:
                        if not isinstance(item.get("id"), str):
                            continue
                        item_assets = self._asset_rows(item, coll["id"], base, roots)
                        row = self._item_row(item, coll["id"], {a[2] for a in item_assets})
                        if row is None:
                            continue
                        rows.append(row)
                        assets += item_assets
                    con.executemany(
                        "INSERT OR REPLACE INTO items (id, collection, dt_start, dt_end, minx, miny, maxx, maxy, doc)"
                        " VALUES (?,?,?,?,?,?,?,?,?)",
                        rows,
                    )
                    con.executemany("INSERT OR REPLACE INTO assets VALUES (?,?,?,?,?,NULL,NULL,NULL)", assets)
                    n += len(rows)
                con.execute("INSERT INTO items_rtree SELECT rowid, minx, maxx, miny, maxy FROM items")
                con.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
                con.commit()
            os.replace(tmp, self.db_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        log.info("indexed %d items of %s in %.2f s", n, self.catalog_dir, time.perf_counter() - t0)

    def _walk(self) -> Iterator[tuple[dict[str, Any], list[tuple[dict[str, Any], Path]]]]:
        """Yield (collection, [(item, item_folder)]) from the catalog's local links."""
        start = self.catalog_dir / "catalog.json"
        if not start.exists():
            start = self.catalog_dir / "collection.json"
        seen: set[Path] = set()
        stack = [start]
        while stack:
            path = stack.pop().resolve()
            if path in seen or self.catalog_dir not in (path, *path.parents):
                continue
            seen.add(path)
            doc = _read_json(path)
            links = [ln for ln in doc.get("links", []) if isinstance(ln, dict) and "://" not in ln.get("href", "")]
            if doc.get("type") == "Collection":
                items = []
                for ln in links:
                    if ln.get("rel") == "item":
                        ip = (path.parent / ln["href"]).resolve()
                        try:
                            items.append((_read_json(ip), ip.parent))
                        except (InputNotFoundError, UnreadableInputError, InvalidInputError) as exc:
                            log.warning("skipping item %s: %s", ip, exc)
                yield doc, items
            for ln in links:
                if ln.get("rel") == "child":
                    stack.append(path.parent / ln["href"])

    @staticmethod
    def _item_row(item: dict[str, Any], collection: str, servable: set[str]) -> tuple[Any, ...] | None:
        try:
            props = item.get("properties") or {}
            start = _epoch(props.get("start_datetime") or props.get("datetime"))
            end = _epoch(props.get("end_datetime") or props.get("datetime"))
            bbox = item.get("bbox")
            if not bbox:
                import shapely.geometry

                bbox = shapely.geometry.shape(item["geometry"]).bounds
            minx, miny = bbox[0], bbox[1]
            maxx, maxy = (bbox[3], bbox[4]) if len(bbox) == 6 else (bbox[2], bbox[3])
            doc = _template_item(item, collection, servable)
            return (item["id"], collection, start, end, minx, miny, maxx, maxy, json.dumps(doc))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            log.warning("skipping malformed item %r: %s", item.get("id"), exc)
            return None

    @staticmethod
    def _asset_rows(item: dict[str, Any], collection: str, base: Path, roots: list[Path]) -> list[tuple[Any, ...]]:
        rows = []
        for key, asset in (item.get("assets") or {}).items():
            href = str(asset.get("href", ""))
            if "://" in href and not href.startswith("file://"):
                continue
            local = Path(href.removeprefix("file://"))
            path = (local if local.is_absolute() else base / local).resolve()
            if any(r == path or r in path.parents for r in roots):
                rows.append((collection, item["id"], key, str(path), asset.get("type")))
        return rows

    # ------------------------------------------------------------ queries
    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False)
        try:
            yield con
        finally:
            con.close()

    def collections(self, base: str) -> list[dict[str, Any]]:
        with self.connect() as con:
            return [_render(r[0], base) for r in con.execute("SELECT doc FROM collections ORDER BY id")]

    def collection(self, cid: str, base: str) -> dict[str, Any] | None:
        with self.connect() as con:
            row = con.execute("SELECT doc FROM collections WHERE id = ?", (cid,)).fetchone()
        return _render(row[0], base) if row else None

    def item(self, cid: str, iid: str, base: str) -> dict[str, Any] | None:
        with self.connect() as con:
            row = con.execute("SELECT doc FROM items WHERE collection = ? AND id = ?", (cid, iid)).fetchone()
        return _render(row[0], base) if row else None

    def asset(self, cid: str, iid: str, key: str) -> tuple[str, str | None] | None:
        with self.connect() as con:
            row = con.execute(
                "SELECT path, media_type FROM assets WHERE collection = ? AND item = ? AND key = ?", (cid, iid, key)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def servable_assets(self, cid: str, iid: str) -> set[str]:
        with self.connect() as con:
            return {r[0] for r in con.execute("SELECT key FROM assets WHERE collection = ? AND item = ?", (cid, iid))}

    def search(self, q: SearchQuery, base: str) -> tuple[list[dict[str, Any]], int]:
        """Items matching ``q`` (one page) and the number matched."""
        where, args = [], []
        box = None
        if q.bbox is not None:
            b = q.bbox
            box = (b[0], b[1], b[3], b[4]) if len(b) == 6 else tuple(b)
        if q.intersects is not None:
            gb = q.intersects.bounds
            box = (
                gb if box is None else (max(box[0], gb[0]), max(box[1], gb[1]), min(box[2], gb[2]), min(box[3], gb[3]))
            )
        if box is not None and box[0] > box[2]:  # crosses the antimeridian: two boxes
            where.append(
                "rowid IN (SELECT rowid FROM items_rtree WHERE (maxx >= ? OR minx <= ?) AND miny <= ? AND maxy >= ?)"
            )
            args += [box[0], box[2], box[3], box[1]]
            # the R*Tree stores float32 boxes rounded outwards: re-check on the exact float64 columns
            where.append("(maxx >= ? OR minx <= ?) AND miny <= ? AND maxy >= ?")
            args += [box[0], box[2], box[3], box[1]]
        elif box is not None:
            where.append(
                "rowid IN (SELECT rowid FROM items_rtree WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)"
            )
            args += [box[2], box[0], box[3], box[1]]
            # the R*Tree stores float32 boxes rounded outwards: re-check on the exact float64 columns
            where.append("minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?")
            args += [box[2], box[0], box[3], box[1]]
        if q.dt_start is not None:
            where.append("dt_end >= ?")
            args.append(q.dt_start)
        if q.dt_end is not None:
            where.append("dt_start <= ?")
            args.append(q.dt_end)
        if q.ids:
            where.append(f"id IN ({','.join('?' * len(q.ids))})")
            args += list(q.ids)
        if q.collections:
            where.append(f"collection IN ({','.join('?' * len(q.collections))})")
            args += list(q.collections)
        order, oargs = [], []
        for fld, asc in q.sortby:
            direction = "ASC" if asc else "DESC"
            if fld in ("properties.datetime", "datetime"):
                order.append(f"dt_start {direction}")
            elif fld in ("id", "collection"):
                order.append(f"{fld} {direction}")
            else:
                path = fld.removeprefix("properties.")
                order.append(f"json_extract(doc, ?) {direction}")
                oargs.append("$.properties." + ".".join(f'"{p}"' for p in path.split(".")))
        order += ["dt_start DESC", "collection", "id"]
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        sql = f"SELECT doc FROM items{clause} ORDER BY {', '.join(order)}"
        with self.connect() as con:
            if q.intersects is None:
                matched = con.execute(f"SELECT COUNT(*) FROM items{clause}", args).fetchone()[0]
                rows = con.execute(f"{sql} LIMIT ? OFFSET ?", [*args, *oargs, q.limit, q.offset]).fetchall()
                return [_render(r[0], base) for r in rows], int(matched)
            import shapely
            import shapely.geometry

            prepared = q.intersects
            shapely.prepare(prepared)
            page, matched = [], 0
            for (text,) in con.execute(sql, [*args, *oargs]):
                doc = json.loads(text)
                try:
                    geom = shapely.geometry.shape(doc["geometry"])
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue
                if prepared.intersects(geom):
                    if q.offset <= matched < q.offset + q.limit:
                        page.append(_render(text, base))
                    matched += 1
            return page, matched

    def asset_digest(self, cid: str, iid: str, key: str, path: str) -> str:
        """SHA-256 hex of an asset file, cached in a side table keyed by size and mtime."""
        st = os.stat(path)
        cache = self.db_path.with_suffix(".digests.sqlite")
        with contextlib.closing(sqlite3.connect(cache, timeout=30)) as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS d (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha TEXT)"
            )
            row = con.execute("SELECT size, mtime_ns, sha FROM d WHERE path = ?", (path,)).fetchone()
            if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
                return str(row[2])
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
            sha = h.hexdigest()
            con.execute("INSERT OR REPLACE INTO d VALUES (?,?,?,?)", (path, st.st_size, st.st_mtime_ns, sha))
            con.commit()
            return sha


BASE = "@@EOKIT_BASE@@"
_LOCAL_RELS = {"self", "root", "parent", "collection", "item", "items", "child"}


def _render(text: str, base: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text.replace(BASE, base.rstrip("/")))
    return doc


def _template_item(item: dict[str, Any], collection: str, servable: set[str]) -> dict[str, Any]:
    """The item as the API serves it, with ``BASE`` standing for the server's URL (filled per request)."""
    c, i = quote(collection, safe=""), quote(item["id"], safe="")
    doc = dict(item, collection=collection)
    assets = {}
    for key, asset in (item.get("assets") or {}).items():
        asset = dict(asset)
        if key in servable:
            # the URL ends with the file's own name, so clients that name downloads after URLs keep it
            name = PurePosixPath(urlsplit(str(asset.get("href", ""))).path).name or key
            asset["href"] = f"{BASE}/assets/{c}/{i}/{quote(key, safe='')}/{quote(name, safe='')}"
        assets[key] = asset
    doc["assets"] = assets
    kept = [ln for ln in item.get("links", []) if isinstance(ln, dict) and ln.get("rel") not in _LOCAL_RELS]
    kept = [ln for ln in kept if "://" in str(ln.get("href", ""))]
    doc["links"] = [
        {"rel": "self", "href": f"{BASE}/collections/{c}/items/{i}", "type": "application/geo+json"},
        {"rel": "parent", "href": f"{BASE}/collections/{c}", "type": "application/json"},
        {"rel": "collection", "href": f"{BASE}/collections/{c}", "type": "application/json"},
        {"rel": "root", "href": f"{BASE}/", "type": "application/json"},
        *kept,
    ]
    return doc


def _template_collection(coll: dict[str, Any]) -> dict[str, Any]:
    c = quote(coll["id"], safe="")
    doc = dict(coll)
    kept = [ln for ln in coll.get("links", []) if isinstance(ln, dict) and ln.get("rel") not in _LOCAL_RELS]
    kept = [ln for ln in kept if "://" in str(ln.get("href", ""))]
    doc["links"] = [
        {"rel": "self", "href": f"{BASE}/collections/{c}", "type": "application/json", "title": "This collection"},
        {"rel": "parent", "href": f"{BASE}/", "type": "application/json", "title": "Landing page"},
        {"rel": "root", "href": f"{BASE}/", "type": "application/json", "title": "Landing page"},
        {"rel": "items", "href": f"{BASE}/collections/{c}/items", "type": "application/geo+json", "title": "Items"},
        *kept,
    ]
    return doc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputNotFoundError("linked STAC document does not exist", path=path) from None
    except (OSError, ValueError) as exc:
        raise UnreadableInputError(f"not a JSON document: {exc}", path=path) from None
    if not isinstance(doc, dict):
        raise InvalidInputError("STAC document is not a JSON object", path=path)
    return doc
