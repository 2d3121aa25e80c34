"""The documents the STAC API serves, stored with a placeholder for the server's base URL.

Links are rewritten to the API's own routes; local assets point at the server's asset
route (ending with the file's own name). ``BASE`` is filled in per request by :func:`render`.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["BASE", "collection_of_catalog", "fill", "render", "template_collection", "template_item"]

BASE = "@@EOKIT_BASE@@"
_LOCAL_RELS = {"self", "root", "parent", "collection", "item", "items", "child"}


def fill(text: str, base: str) -> str:
    """A stored document's JSON text with ``BASE`` replaced by ``base`` (a URL without quotes or backslashes)."""
    return text.replace(BASE, base.rstrip("/"))


def render(text: str, base: str) -> dict[str, Any]:
    """A stored document with ``BASE`` replaced by ``base``, parsed."""
    doc: dict[str, Any] = json.loads(fill(text, base))
    return doc


def _remote_links(doc: dict[str, Any]) -> list[dict[str, Any]]:
    links = doc.get("links")
    if not isinstance(links, list):
        return []
    return [
        ln
        for ln in links
        if isinstance(ln, dict) and ln.get("rel") not in _LOCAL_RELS and "://" in str(ln.get("href", ""))
    ]


def template_item(item: dict[str, Any], collection: str, servable: set[str]) -> dict[str, Any]:
    """The item as the API serves it, with ``BASE`` standing for the server's URL."""
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
    doc["links"] = [
        {"rel": "self", "href": f"{BASE}/collections/{c}/items/{i}", "type": "application/geo+json"},
        {"rel": "parent", "href": f"{BASE}/collections/{c}", "type": "application/json"},
        {"rel": "collection", "href": f"{BASE}/collections/{c}", "type": "application/json"},
        {"rel": "root", "href": f"{BASE}/", "type": "application/json"},
        *_remote_links(item),
    ]
    return doc


def template_collection(coll: dict[str, Any]) -> dict[str, Any]:
    """The collection as the API serves it, with ``BASE`` standing for the server's URL."""
    c = quote(coll["id"], safe="")
    doc = dict(coll)
    doc["links"] = [
        {"rel": "self", "href": f"{BASE}/collections/{c}", "type": "application/json", "title": "This collection"},
        {"rel": "parent", "href": f"{BASE}/", "type": "application/json", "title": "Landing page"},
        {"rel": "root", "href": f"{BASE}/", "type": "application/json", "title": "Landing page"},
        {"rel": "items", "href": f"{BASE}/collections/{c}/items", "type": "application/geo+json", "title": "Items"},
        *_remote_links(coll),
    ]
    return doc


def collection_of_catalog(catalog: dict[str, Any], cid: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Collection standing for a plain Catalog that links items directly (the API serves items by collection).

    Its extent is the union of the items' bboxes (the whole longitude range when one crosses
    the antimeridian) and the span of their datetimes.
    """
    boxes = [b for b in (it.get("bbox") for it in items) if isinstance(b, list) and len(b) in (4, 6)]
    bboxes: list[list[float]] = [[-180.0, -90.0, 180.0, 90.0]]
    if boxes:
        flat = [(b[0], b[1], b[len(b) // 2], b[len(b) // 2 + 1]) for b in boxes]
        west = min(b[0] for b in flat)
        east = max(b[2] for b in flat)
        if any(b[0] > b[2] for b in flat):
            west, east = -180.0, 180.0
        bboxes = [[west, min(b[1] for b in flat), east, max(b[3] for b in flat)]]
    times = sorted(
        str(t)
        for it in items
        for key in ("datetime", "start_datetime", "end_datetime")
        if isinstance(t := (it.get("properties") or {}).get(key), str)
    )
    interval = [[times[0], times[-1]]] if times else [[None, None]]
    return {
        "type": "Collection",
        "stac_version": catalog.get("stac_version", "1.0.0"),
        "id": cid,
        "title": catalog.get("title") or cid,
        "description": catalog.get("description") or f"Items of the catalog {cid}",
        "license": "other",
        "extent": {"spatial": {"bbox": bboxes}, "temporal": {"interval": interval}},
        "links": catalog.get("links", []),
    }
