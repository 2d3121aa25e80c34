"""Walking a catalog folder for the server's index: links resolved and confined, files read with limits.

Links are followed when they are relative, ``file://``, or absolute under the URL the root
catalog says it was published at (its ``self`` link), and only to files inside the catalog
folder. Each document must be a regular file of bounded size holding depth-bounded JSON.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from eokit.catalog.api_params import load_json
from eokit.catalog.index_docs import collection_of_catalog
from eokit.errors import EokitError, InputNotFoundError, InvalidInputError

log = logging.getLogger(__name__)

__all__ = ["CatalogWalker", "read_document"]

Items = Iterator[tuple[dict[str, Any], Path]]


def read_document(path: Path, *, max_bytes: int) -> dict[str, Any]:
    """A STAC JSON document from a regular file of at most ``max_bytes``, depth-limited."""
    try:
        # O_NONBLOCK: a FIFO planted in the catalog must not block the server
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputNotFoundError("linked STAC document does not exist", path=path) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read STAC document: {exc.strerror}", path=path) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInputError("linked STAC document is not a regular file", path=path)
        if st.st_size > max_bytes:
            raise InvalidInputError(f"STAC document is larger than {max_bytes} bytes", path=path)
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise InvalidInputError(f"cannot read STAC document: {exc.strerror}", path=path) from None
    if len(data) > max_bytes:
        raise InvalidInputError(f"STAC document is larger than {max_bytes} bytes", path=path)
    try:
        doc = load_json(data)
    except ValueError as exc:
        raise InvalidInputError(f"not a JSON document: {exc}", path=path) from None
    if not isinstance(doc, dict):
        raise InvalidInputError("STAC document is not a JSON object", path=path)
    return doc


class CatalogWalker:
    """The collections (and plain catalogs holding items) of a catalog folder, with their items."""

    def __init__(self, catalog_dir: Path, *, max_bytes: int) -> None:
        self.catalog_dir = catalog_dir
        self.max_bytes = max_bytes
        self.published_at: str | None = None

    def read(self, path: Path) -> dict[str, Any]:
        return read_document(path, max_bytes=self.max_bytes)

    def local_path(self, doc_path: Path, href: Any) -> Path | None:
        """The file a link points to, when it is inside the catalog folder (else None, logged)."""
        if not isinstance(href, str) or not href:
            return None
        if href.startswith("file://"):
            target = Path(unquote(urlsplit(href).path))
        elif "://" in href:
            if not self.published_at or not href.startswith(self.published_at):
                log.debug("not following remote link %s", href)
                return None
            target = self.catalog_dir / unquote(href[len(self.published_at) :].split("?")[0].split("#")[0])
        else:
            target = doc_path.parent / href.split("#")[0]
        try:
            real = target.resolve()
        except (OSError, RuntimeError):
            return None
        if self.catalog_dir != real and self.catalog_dir not in real.parents:
            log.warning("not following link %s of %s: it leaves the catalog folder", href, doc_path)
            return None
        return real

    def collections(self) -> Iterator[tuple[str, Items, Callable[[], dict[str, Any] | None]]]:
        """Yield ``(collection_id, items, collection)`` per collection: ``items`` yields ``(item, item_folder)``, read one at a
        time (memory stays flat whatever the number of items); ``collection()``, called after ``items`` is
        exhausted, gives the collection, or for a plain catalog linking items a stand-in collection whose
        extent covers them (None when none of them could be read)."""
        start = self.catalog_dir / "catalog.json"
        if not start.exists():
            start = self.catalog_dir / "collection.json"
        root = self.read(start)  # errors in the root document are the caller's to report
        self_href = next(
            (ln.get("href") for ln in root.get("links", []) if isinstance(ln, dict) and ln.get("rel") == "self"),
            None,
        )
        if isinstance(self_href, str) and "://" in self_href and not self_href.startswith("file://"):
            self.published_at = self_href.rsplit("/", 1)[0] + "/"
        seen: set[Path] = set()
        ids: set[str] = set()
        stack: list[tuple[Path, dict[str, Any] | None]] = [(start.resolve(), root)]
        while stack:
            path, doc = stack.pop()
            if path in seen:
                continue
            seen.add(path)
            if doc is None:
                try:
                    doc = self.read(path)
                except EokitError as exc:
                    log.warning("skipping %s: %s", path, exc)
                    continue
            links = (
                [ln for ln in doc.get("links", []) if isinstance(ln, dict)]
                if isinstance(doc.get("links"), list)
                else []
            )
            item_paths: list[Path] = []
            for ln in links:
                if ln.get("rel") == "item" and (ip := self.local_path(path, ln.get("href"))) is not None:
                    item_paths.append(ip)
                elif ln.get("rel") == "child" and (cp := self.local_path(path, ln.get("href"))) is not None:
                    stack.append((cp, None))
            if not isinstance(doc.get("id"), str):
                continue
            if doc.get("type") == "Collection":
                ids.add(doc["id"])
                yield doc["id"], self._items(item_paths, None), functools.partial(dict, doc)
            elif item_paths:
                cid = doc["id"]
                while cid in ids:
                    cid += "-items"
                ids.add(cid)
                seen_items: list[dict[str, Any]] = []  # what the stand-in's extent needs of each item

                def stand_in(doc: dict[str, Any] = doc, cid: str = cid, got: list[dict[str, Any]] = seen_items) -> Any:
                    return collection_of_catalog(doc, cid, got) if got else None

                yield cid, self._items(item_paths, seen_items), stand_in

    def _items(self, paths: list[Path], extent: list[dict[str, Any]] | None) -> Items:
        for ip in paths:
            try:
                item = self.read(ip)
            except EokitError as exc:
                log.warning("skipping item %s: %s", ip, exc)
                continue
            if extent is not None:
                props = item.get("properties")
                props = props if isinstance(props, dict) else {}
                times = {k: props[k] for k in ("datetime", "start_datetime", "end_datetime") if k in props}
                extent.append({"bbox": item.get("bbox"), "properties": times})
            yield item, ip.parent
