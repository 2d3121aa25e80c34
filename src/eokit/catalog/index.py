"""An embedded SQLite index of a STAC catalog for the STAC API server.

Items are stored with their footprint (WKB) and one or two R*Tree boxes (two when the
item's bbox crosses the antimeridian), so spatial searches are an R*Tree prefilter
followed by an exact, vectorised shapely test on the candidates.

What is indexed comes only from the catalog folder: documents are read through local or
``file://`` links, or absolute links under the URL the catalog was published at, and
only when they lie inside the folder; each file read is size-limited and JSON depth is
bounded. The index file lives in a private per-user cache folder (or where the caller
says), is built under a temporary name and renamed into place, and is rebuilt when the
catalog's top-level documents change; a rebuild that fails keeps the previous index.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from eokit.catalog.index_docs import BASE, fill, render, template_collection, template_item
from eokit.catalog.index_walk import CatalogWalker
from eokit.core.geometry import bbox_parts, geometry_bbox, split_antimeridian
from eokit.errors import EokitError, InputNotFoundError, OutputError

log = logging.getLogger(__name__)

__all__ = ["BASE", "CatalogIndex", "SearchQuery", "private_cache_dir"]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE collections (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE queryables (collection TEXT, name TEXT, type TEXT, PRIMARY KEY (collection, name));
CREATE TABLE items (
  rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, collection TEXT NOT NULL,
  dt_start REAL, dt_end REAL, geom BLOB, gminx REAL, gminy REAL, gmaxx REAL, gmaxy REAL, props TEXT,
  doc TEXT NOT NULL, UNIQUE (collection, id));
CREATE INDEX items_dt ON items (dt_start, dt_end);
CREATE VIRTUAL TABLE items_rtree USING rtree(id, minx, maxx, miny, maxy);
CREATE TABLE assets (
  collection TEXT, item TEXT, key TEXT, path TEXT, media_type TEXT,
  PRIMARY KEY (collection, item, key));
"""
_INDEX_VERSION = "7"
_MAX_QUERY_BOXES = 16  # a query geometry with more parts is prefiltered by its overall bounds


@dataclass
class SearchQuery:
    """Validated search parameters (see :mod:`eokit.catalog.api_params` for parsing)."""

    geometry: Any = None  # shapely geometry (a bbox becomes one or two boxes)
    boxes: Sequence[tuple[float, float, float, float]] = ()  # R*Tree prefilter boxes of ``geometry``
    rectangular: bool = False  # ``geometry`` is exactly the union of ``boxes`` (a bbox search)
    dt_start: float | None = None
    dt_end: float | None = None
    ids: Sequence[str] | None = None
    collections: Sequence[str] | None = None
    limit: int = 10
    offset: int = 0
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, ascending)
    where: list[str] = field(default_factory=list)  # extra SQL conditions on the items table (filter, q)
    args: list[Any] = field(default_factory=list)
    residual: Callable[[dict[str, Any]], bool] | None = None  # exact test of what SQL could not express


def private_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/eokit`` (or ``~/.cache/eokit``), created 0700 and checked to be ours alone."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "eokit"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError as exc:
        raise OutputError(f"cannot create the private index folder: {exc}", path=folder, param="db_path") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise OutputError("the index folder is not a folder owned by this user", path=folder, param="db_path")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


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


def _epoch(value: Any, *, end: bool = False) -> float | None:
    """Seconds since the epoch of an RFC 3339 datetime; a date alone covers its whole day."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
            return (day + dt.timedelta(days=1, microseconds=-1) if end else day).timestamp()
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _item_footprint(item: dict[str, Any]) -> tuple[Any, list[tuple[float, float, float, float]]]:
    """The item's geometry (split at ±180° where needed) and its R*Tree boxes (empty: no geometry)."""
    import math

    import shapely.geometry

    raw = item.get("geometry")
    if raw is None:
        return None, []
    geom = shapely.geometry.shape(raw)
    if geom.is_empty or not all(math.isfinite(v) for v in geom.bounds):
        raise ValueError("empty geometry or non-finite coordinates")
    bbox: Any = item.get("bbox")
    ok = isinstance(bbox, list) and len(bbox) in (4, 6) and all(isinstance(v, int | float) for v in bbox)
    west, east = geom.bounds[0], geom.bounds[2]
    crosses = ok and bbox[0] > bbox[len(bbox) // 2]
    if crosses or east - west > 180:
        geom = split_antimeridian(geom)
    if not ok or not all(math.isfinite(v) for v in bbox):
        bbox = list(geometry_bbox(geom))
    boxes = [p.bounds for p in bbox_parts(bbox)]
    return geom, _covering(boxes, geom)


def _covering(boxes: list[tuple[float, float, float, float]], geom: Any) -> list[tuple[float, float, float, float]]:
    """The item's bbox boxes grown to cover its geometry: a declared bbox may be smaller than the geometry
    (real Landsat items from stactools are, by up to 0.06° near the pole), and the R*Tree only prefilters."""
    polys = list(getattr(geom, "geoms", [geom]))
    out = []
    for x0, y0, x1, y1 in boxes:
        for p in polys:
            px0, py0, px1, py1 = p.bounds
            if len(boxes) == 1 or ((px0 + px1) / 2 >= 0) == ((x0 + x1) / 2 >= 0):  # the same side of ±180°
                x0, y0, x1, y1 = min(x0, px0), min(y0, py0), max(x1, px1), max(y1, py1)
        out.append((x0, y0, x1, y1))
    return out


class CatalogIndex:
    """SQLite index of the items, collections and local assets of a catalog folder.

    Parameters
    ----------
    catalog_dir : path
        Folder holding ``catalog.json`` (or a lone ``collection.json``).
    db_path : path, optional
        Where the index is kept (default: a private per-user cache folder, see
        :func:`private_cache_dir`).
    asset_roots : sequence of paths, optional
        Folders whose files may be served as assets, besides the catalog folder. Nothing
        inside the catalog can add to them.
    max_document_bytes : int
        Largest STAC document read; bigger files (and anything not a regular file) are skipped.
    """

    def __init__(
        self,
        catalog_dir: str | os.PathLike[str],
        *,
        db_path: str | os.PathLike[str] | None = None,
        asset_roots: Sequence[str | os.PathLike[str]] = (),
        max_document_bytes: int = 64 << 20,
    ) -> None:
        self.catalog_dir = Path(catalog_dir).resolve()
        if not self.catalog_dir.is_dir():
            raise InputNotFoundError("catalog folder does not exist", path=catalog_dir)
        if not any((self.catalog_dir / n).exists() for n in ("catalog.json", "collection.json")):
            raise InputNotFoundError("folder holds no catalog.json or collection.json", path=catalog_dir)
        key = hashlib.sha256(str(self.catalog_dir).encode()).hexdigest()[:16]
        self.db_path = Path(db_path) if db_path else private_cache_dir() / f"stac-index-{key}.sqlite"
        self.roots = [self.catalog_dir, *(Path(r).resolve() for r in asset_roots)]
        self.max_document_bytes = max_document_bytes
        self._lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0
        self._checked = 0.0
        self._fingerprint = ""
        self.refresh(force=False)

    # ------------------------------------------------------------ building
    def refresh(self, *, force: bool = False, min_interval: float = 0.0) -> bool:
        """Rebuild the index if the catalog changed (or ``force``); return whether it was rebuilt.

        A rebuild that fails (a catalog being rewritten) keeps the previous index and is
        retried at the next check; only the first build raises.
        """
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
            try:
                self._build(fp)
            except (EokitError, OSError, ValueError) as exc:
                if not self._fingerprint:
                    raise
                log.warning("catalog %s changed but could not be indexed (%s); serving the previous index",
                            self.catalog_dir, exc)  # fmt: skip
                return False
            self._fingerprint = fp
            return True

    def _stored_fingerprint(self) -> str | None:
        try:
            st = os.lstat(self.db_path)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
                return None  # never trust an index somebody else could have written
            with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as con:
                row = con.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
                return row[0] if row else None
        except (OSError, sqlite3.Error):
            return None

    def allowed_roots(self) -> list[Path]:
        """The folders assets may be served from: the catalog folder and the caller's ``asset_roots``."""
        return list(self.roots)

    def _build(self, fingerprint: str) -> None:
        t0 = time.perf_counter()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".eokit-index-", suffix=".sqlite", dir=self.db_path.parent)
        os.close(fd)
        walker = CatalogWalker(self.catalog_dir, max_bytes=self.max_document_bytes)
        try:
            with contextlib.closing(sqlite3.connect(tmp)) as con:
                con.executescript(_SCHEMA)
                n = 0
                for cid, items, collection in walker.collections():
                    kinds: dict[str, str] = {}
                    for item, base in items:  # read and inserted one at a time: memory stays flat
                        n += self._insert_item(con, item, cid, base)
                        for name, value in (item.get("properties") or {}).items():
                            kinds.setdefault(str(name), json_type(value))
                    coll = collection()
                    if coll is None:
                        continue
                    con.execute(
                        "INSERT OR REPLACE INTO collections VALUES (?, ?)", (cid, json.dumps(template_collection(coll)))
                    )
                    con.executemany(
                        "INSERT OR REPLACE INTO queryables VALUES (?,?,?)", [(cid, k, v) for k, v in kinds.items() if v]
                    )
                con.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
                # the longest item interval bounds a datetime search to a narrow range of the dt index
                con.execute("INSERT INTO meta SELECT 'max_duration', max(dt_end - dt_start) FROM items")
                con.commit()
            os.replace(tmp, self.db_path)
            self._generation += 1
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        log.info("indexed %d items of %s in %.2f s", n, self.catalog_dir, time.perf_counter() - t0)

    def _insert_item(self, con: sqlite3.Connection, item: dict[str, Any], collection: str, base: Path) -> int:
        import shapely

        if not isinstance(item.get("id"), str):
            return 0
        try:
            props = item.get("properties") or {}
            start = _epoch(props.get("start_datetime") or props.get("datetime"))
            end = _epoch(props.get("end_datetime") or props.get("datetime"), end=True)
            geom, boxes = _item_footprint(item)
            assets = self._asset_rows(item, collection, base)
            doc = template_item(item, collection, {a[2] for a in assets})
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, shapely.errors.ShapelyError) as exc:
            log.warning("skipping malformed item %r: %s", item.get("id"), exc)
            return 0
        wkb = shapely.to_wkb(geom) if geom is not None else None
        old = con.execute(
            "SELECT rowid FROM items WHERE collection = ? AND id = ?", (collection, item["id"])
        ).fetchone()
        if old:  # the same item linked twice: the last one wins
            con.execute("DELETE FROM items_rtree WHERE id >> 1 = ?", (old[0],))
            con.execute("DELETE FROM items WHERE rowid = ?", (old[0],))
        cur = con.execute(
            "INSERT INTO items (id, collection, dt_start, dt_end, geom, gminx, gminy, gmaxx, gmaxy, props, doc)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                item["id"],
                collection,
                start,
                end,
                wkb,
                *(geom.bounds if geom is not None else (None,) * 4),
                json.dumps(props),
                json.dumps(doc, separators=(",", ":")),  # served as stored: pages are spliced, not re-encoded
            ),
        )
        rowid = int(cur.lastrowid or 0)
        con.executemany(
            "INSERT INTO items_rtree VALUES (?,?,?,?,?)",
            [(rowid * 2 + k, b[0], b[2], b[1], b[3]) for k, b in enumerate(boxes)],
        )
        con.executemany("INSERT OR REPLACE INTO assets VALUES (?,?,?,?,?)", assets)
        return 1

    def _asset_rows(self, item: dict[str, Any], collection: str, base: Path) -> list[tuple[Any, ...]]:
        rows = []
        for key, asset in (item.get("assets") or {}).items():
            href = str(asset.get("href", ""))
            if href.startswith("file://"):
                local = Path(unquote(urlsplit(href).path))
            elif "://" in href:
                continue
            else:
                local = Path(href)
            path = (local if local.is_absolute() else base / local).resolve()
            if any(r == path or r in path.parents for r in self.roots) and path.is_file():
                rows.append((collection, item["id"], key, str(path), asset.get("type")))
        return rows

    # ------------------------------------------------------------ queries
    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of this thread, reopened after each rebuild (a small page cache each)."""
        local = self._local
        con = getattr(local, "con", None)
        if con is None or getattr(local, "generation", -1) != self._generation:
            if con is not None:
                con.close()
            con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False)
            con.execute("PRAGMA cache_size = -1024")
            row = con.execute("SELECT value FROM meta WHERE key = 'max_duration'").fetchone()
            local.max_duration = float(row[0]) if row and row[0] is not None else 0.0
            local.con, local.generation = con, self._generation
        yield con

    def collections(self, base: str) -> list[dict[str, Any]]:
        with self.connect() as con:
            return [render(r[0], base) for r in con.execute("SELECT doc FROM collections ORDER BY id")]

    def collection(self, cid: str, base: str) -> dict[str, Any] | None:
        with self.connect() as con:
            row = con.execute("SELECT doc FROM collections WHERE id = ?", (cid,)).fetchone()
        return render(row[0], base) if row else None

    def item(self, cid: str, iid: str, base: str) -> dict[str, Any] | None:
        with self.connect() as con:
            row = con.execute("SELECT doc FROM items WHERE collection = ? AND id = ?", (cid, iid)).fetchone()
        return render(row[0], base) if row else None

    def asset(self, cid: str, iid: str, key: str) -> tuple[str, str | None] | None:
        with self.connect() as con:
            row = con.execute(
                "SELECT path, media_type FROM assets WHERE collection = ? AND item = ? AND key = ?", (cid, iid, key)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def search(self, q: SearchQuery, base: str) -> tuple[list[str], int]:
        """Items matching ``q`` (one page, as JSON texts with links under ``base``) and the number matched."""
        where: list[str] = []
        args: list[Any] = []
        if q.geometry is not None:
            boxes = list(q.boxes) or [q.geometry.bounds]
            ors = " OR ".join(["(minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)"] * len(boxes))
            where.append(f"rowid IN (SELECT id >> 1 FROM items_rtree WHERE {ors})")
            for b in boxes:
                args += [b[2], b[0], b[3], b[1]]
        with self.connect():
            max_duration = self._local.max_duration
        if q.dt_start is not None:  # dt_start >= ...: implied by dt_end >= start, and uses the index
            where.append("dt_end >= ? AND dt_start >= ?")
            args += [q.dt_start, q.dt_start - max_duration - 1.0]
        if q.dt_end is not None:
            where.append("dt_start <= ?")
            args.append(q.dt_end)
        if q.ids:
            where.append(f"id IN ({','.join('?' * len(q.ids))})")
            args += list(q.ids)
        if q.collections:
            where.append(f"collection IN ({','.join('?' * len(q.collections))})")
            args += list(q.collections)
        where += q.where
        args += q.args
        order, oargs = _order_by(q.sortby)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.connect() as con:
            if q.residual is not None:
                return self._search_residual(con, q, clause, args, order, oargs, base)
            if q.geometry is None:
                matched = con.execute(f"SELECT COUNT(*) FROM items{clause}", args).fetchone()[0]
                rows = con.execute(
                    f"SELECT doc FROM items{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                    [*args, *oargs, q.limit, q.offset],
                ).fetchall()
                return [fill(r[0], base) for r in rows], int(matched)
            inside, iargs = "0", []
            if q.rectangular:  # footprints inside a query box intersect it: no exact test needed
                inside = " OR ".join(["(gminx >= ? AND gmaxx <= ? AND gminy >= ? AND gmaxy <= ?)"] * len(q.boxes))
                iargs = [v for b in q.boxes for v in (b[0], b[2], b[1], b[3])]
            sql = f"SELECT rowid, CASE WHEN {inside} THEN NULL ELSE geom END, {inside} FROM items{clause} ORDER BY {order}"
            candidates = con.execute(sql, [*iargs, *iargs, *args, *oargs])
            rowids = _exact_matches(q.geometry, candidates.fetchall())
            page = rowids[q.offset : q.offset + q.limit]
            docs = dict(con.execute(f"SELECT rowid, doc FROM items WHERE rowid IN ({','.join('?' * len(page))})", page))
            return [fill(docs[r], base) for r in page], len(rowids)

    def _search_residual(
        self,
        con: sqlite3.Connection,
        q: SearchQuery,
        clause: str,
        args: list[Any],
        order: str,
        oargs: list[Any],
        base: str,
    ) -> tuple[list[str], int]:
        """Search with a predicate SQL cannot express: tested on each candidate's document."""
        assert q.residual is not None
        rows = con.execute(f"SELECT rowid, geom, doc FROM items{clause} ORDER BY {order}", [*args, *oargs]).fetchall()
        if q.geometry is not None:
            keep = set(_exact_matches(q.geometry, [(r[0], r[1], 0) for r in rows]))
            rows = [r for r in rows if r[0] in keep]
        page, matched = [], 0
        for _, _, text in rows:
            doc = json.loads(text)
            try:
                ok = q.residual(doc)
            except (ValueError, TypeError, KeyError):
                ok = False
            if ok:
                if q.offset <= matched < q.offset + q.limit:
                    page.append(fill(text, base))
                matched += 1
        return page, matched

    def queryables(self, collection: str | None = None) -> dict[str, str]:
        """Item property names and their JSON types (of one collection, or of all)."""
        with self.connect() as con:
            if collection is None:
                rows = con.execute("SELECT name, type FROM queryables ORDER BY name").fetchall()
            else:
                rows = con.execute(
                    "SELECT name, type FROM queryables WHERE collection = ? ORDER BY name", (collection,)
                ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def asset_digest(self, path: str) -> str:
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


def json_type(value: Any) -> str:
    """The JSON Schema type of a property value ("" for null)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return ""


def _order_by(sortby: list[tuple[str, bool]]) -> tuple[str, list[str]]:
    """ORDER BY of a search, the order pgstac gives (the two backends page alike):

    - the ``sortby`` keys as given, by default ``datetime`` descending;
    - a property an item lacks (or holds null) sorts after every value ascending and before every value
      descending (PostgreSQL's default: NULL as the largest value);
    - ties broken by collection, then id, in the direction of the first key (those not already keys).
    """
    order, oargs, keys = [], [], set()
    sortby = sortby or [("datetime", False)]
    for fld, asc in sortby:
        name = fld.removeprefix("properties.")
        if name == "datetime":
            order.append(f"dt_start {'ASC' if asc else 'DESC'}")  # every item pgstac can hold has a datetime
        elif fld in ("id", "collection"):
            order.append(f"{fld} {'ASC' if asc else 'DESC'}")
        else:
            order.append(f"json_extract(props, ?) {'ASC NULLS LAST' if asc else 'DESC NULLS FIRST'}")
            oargs.append("$." + ".".join(f'"{p}"' for p in name.split(".")))
        keys.add(fld)
    first = "ASC" if sortby[0][1] else "DESC"
    order += [f"{key} {first}" for key in ("collection", "id") if key not in keys]
    return ", ".join(order), oargs


def _exact_matches(query: Any, rows: list[tuple[int, bytes | None, int]]) -> list[int]:
    """Row ids (in order) whose footprint intersects ``query``: rows flagged as inside pass, the others
    get one vectorised shapely test."""
    import numpy as np
    import shapely

    test = [r for r in rows if not r[2] and r[1] is not None]
    hits: set[int] = set()
    if test:
        geoms = shapely.from_wkb(np.array([r[1] for r in test], dtype=object))
        shapely.prepare(query)
        hits = {r[0] for r, ok in zip(test, shapely.intersects(query, geoms), strict=True) if ok}
    return [r[0] for r in rows if r[2] or r[0] in hits]


def query_boxes(geom: Any) -> list[tuple[float, float, float, float]]:
    """R*Tree prefilter boxes for a query geometry: one per part (a split bbox gives two)."""
    import shapely

    parts = shapely.get_parts(geom)
    if 1 < len(parts) <= _MAX_QUERY_BOXES:
        return [tuple(p.bounds) for p in parts]
    return [tuple(geom.bounds)]
