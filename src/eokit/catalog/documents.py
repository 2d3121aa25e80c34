"""The documents of a built catalog: collection fields, catalog types and hrefs, catalog/collection JSON,
and the stac-geoparquet table."""

from __future__ import annotations

import datetime as dt
import math
import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eokit.catalog._common import EXT, STAC_VERSION, utc_iso
from eokit.errors import EokitError, InvalidInputError, OutputError

__all__ = ["CATALOG_TYPES", "CollectionInfo", "Hrefs", "catalog_doc", "collection_doc", "items_to_arrow", "rebase",
           "write_parquet"]  # fmt: skip

CATALOG_TYPES = ("self-contained", "relative-published", "absolute-published")


@dataclass(frozen=True)
class CollectionInfo:
    """Collection-level fields (``--collection-id --title --description --license --provider --doi --citation``).

    ``providers`` are STAC provider objects (``{"name", "roles", "url", "description"}``).
    """

    id: str = "collection"
    title: str | None = None
    description: str = "Geospatial assets catalogued by eokit."
    license: str = "other"
    providers: Sequence[Mapping[str, Any]] = ()
    doi: str | None = None
    citation: str | None = None
    keywords: Sequence[str] = ()
    catalog_id: str = "catalog"
    catalog_title: str | None = None
    catalog_description: str = "STAC catalog built by eokit."


class Hrefs:
    """Where documents and assets live, per catalog type."""

    def __init__(self, root: Path, out: Path, catalog_type: str, public_url: str | None, catalog_url: str | None):
        if catalog_type not in CATALOG_TYPES:
            raise InvalidInputError(f"unknown catalog type {catalog_type!r}: use one of {', '.join(CATALOG_TYPES)}")
        self.root, self.out, self.type = root, out, catalog_type
        self._root_posix = root.as_posix().rstrip("/")
        self._root_from_items = Path(os.path.relpath(root, out / "items")).as_posix()
        self.public_url = public_url.rstrip("/") if public_url else None
        if catalog_url is None and catalog_type != "self-contained":
            if self.public_url and (out == root or root in out.parents):
                catalog_url = f"{self.public_url}/{quote(out.relative_to(root).as_posix())}".rstrip("/.")
            else:
                raise InvalidInputError(
                    f"a {catalog_type} catalog needs its public address: pass --catalog-url "
                    "(or --public-url with --out inside the crawl root)"
                )
        self.catalog_url = catalog_url.rstrip("/") if catalog_url else None

    def asset(self, path: str, rel: str) -> str:
        # Asset hrefs are decided here, before any link is made relative: a published URL stays absolute.
        if self.public_url:
            return f"{self.public_url}/{quote(rel)}"
        if self.type == "absolute-published":
            return f"{self._root_posix}/{rel}"
        return f"{self._root_from_items}/{rel}"  # rel is inside root: no per-file relpath needed

    def doc(self, name: str, *, from_items: bool = False) -> str:
        """Href of ``name`` (relative to the output folder) as linked from the root or from items/."""
        if self.type == "absolute-published":
            return f"{self.catalog_url}/{name}"
        return f"../{name}" if from_items else f"./{name}"

    def self_link(self, name: str, *, is_root: bool) -> list[dict[str, str]]:
        if self.type == "absolute-published" or (self.type == "relative-published" and is_root):
            return [{"rel": "self", "href": f"{self.catalog_url}/{name}", "type": "application/json"}]
        return []


def collection_doc(hrefs: Hrefs, info: CollectionInfo, items: list[dict[str, Any]]) -> dict[str, Any]:
    if items:
        bbox = extent_bbox([it["bbox"] for it in items])
        starts = [it["properties"].get("start_datetime") or it["properties"]["datetime"] for it in items]
        ends = [it["properties"].get("end_datetime") or it["properties"]["datetime"] for it in items]
        interval = [min(starts), max(ends)]
    else:
        bbox, interval = [-180.0, -90.0, 180.0, 90.0], [utc_iso(dt.datetime.now(dt.UTC)), None]
    doc: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": info.id,
        "description": info.description,
        "license": info.license,
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}},
        "links": [],
    }
    if info.title:
        doc["title"] = info.title
    if info.keywords:
        doc["keywords"] = list(info.keywords)
    if info.providers:
        doc["providers"] = [dict(p) for p in info.providers]
    if info.doi or info.citation:
        doc["stac_extensions"].append(EXT["sci"])
        if info.doi:
            doc["sci:doi"] = info.doi
            doc["links"].append({"rel": "cite-as", "href": f"https://doi.org/{info.doi}"})
        if info.citation:
            doc["sci:citation"] = info.citation
    gsds = sorted({it["properties"]["gsd"] for it in items if "gsd" in it["properties"]})
    codes = sorted({it["properties"]["proj:code"] for it in items if it["properties"].get("proj:code")})
    summaries: dict[str, Any] = {}
    if gsds:
        summaries["gsd"] = {"minimum": gsds[0], "maximum": gsds[-1]}
    if codes:
        summaries["proj:code"] = codes
    if summaries:
        doc["summaries"] = summaries
    doc["links"] = [
        {"rel": "root", "href": hrefs.doc("catalog.json"), "type": "application/json"},
        {"rel": "parent", "href": hrefs.doc("catalog.json"), "type": "application/json"},
        *hrefs.self_link("collection.json", is_root=False),
        *doc["links"],
        *(
            {"rel": "item", "href": hrefs.doc(f"items/{quote(it['id'])}.json"), "type": "application/geo+json"}
            for it in items
        ),
    ]
    if not doc["stac_extensions"]:
        del doc["stac_extensions"]
    return doc


def extent_bbox(bboxes: Sequence[Sequence[float]]) -> list[float]:
    """The bbox covering item bboxes; west > east when items cross the antimeridian (RFC 7946 §3.1.9)."""
    if not any(b[0] > b[2] for b in bboxes):
        return [min(b[0] for b in bboxes), min(b[1] for b in bboxes), max(b[2] for b in bboxes),
                max(b[3] for b in bboxes)]  # fmt: skip
    import shapely

    from eokit.core.geometry import bbox_geometry, geometry_bbox

    return list(geometry_bbox(shapely.union_all([bbox_geometry(b) for b in bboxes])))


def catalog_doc(hrefs: Hrefs, info: CollectionInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": info.catalog_id,
        "description": info.catalog_description,
        "links": [
            {"rel": "root", "href": hrefs.doc("catalog.json"), "type": "application/json"},
            *hrefs.self_link("catalog.json", is_root=True),
            {"rel": "child", "href": hrefs.doc("collection.json"), "type": "application/json"},
        ],
    }
    if info.catalog_title:
        doc["title"] = info.catalog_title
    return doc


def rebase(item: dict[str, Any]) -> dict[str, Any]:
    """The item as seen from the output folder (index.geojson, items.parquet): relative hrefs re-based."""

    def fix(href: str) -> str:
        if "://" in href or href.startswith("/"):
            return href
        return posixpath.normpath(posixpath.join("items", href))

    out = dict(item)
    out["assets"] = {k: {**a, "href": fix(a["href"])} for k, a in item["assets"].items()}
    out["links"] = [{**link, "href": fix(link["href"])} for link in item["links"]]
    return out


def write_parquet(items: list[dict[str, Any]], target: Path) -> None:
    try:
        import stac_geoparquet.arrow as sga
    except ImportError:
        from eokit.errors import MissingDependencyError

        raise MissingDependencyError("stac-geoparquet", purpose="items.parquet") from None
    try:
        sga.to_parquet(items_to_arrow(items), target)
    except Exception as exc:  # arrow schema inference errors have no common base
        if isinstance(exc, EokitError):
            raise
        raise OutputError(f"cannot write items.parquet: {exc}", path=target) from None


_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _numeric_nodata(item: dict[str, Any]) -> dict[str, Any]:
    """The item with every ``raster:bands`` nodata as a float (JSON's ``"nan"`` -> IEEE NaN).

    Item JSON cannot hold NaN, so the raster extension writes it as the string ``"nan"``; in Arrow
    one column cannot hold both strings and numbers (a folder with NaN and -9999 nodata), so
    items.parquet stores nodata as float64 with real NaN/inf, the same values read back.
    """
    assets = item.get("assets") or {}
    if not any("raster:bands" in a for a in assets.values()):
        return item
    fixed = {}
    for key, asset in assets.items():
        bands = asset.get("raster:bands")
        if bands:
            asset = {**asset, "raster:bands": [
                {**b, "nodata": _SPECIAL.get(b["nodata"], b["nodata"]) if isinstance(b["nodata"], str)
                 else float(b["nodata"])} if "nodata" in b else b for b in bands]}  # fmt: skip
        fixed[key] = asset
    return {**item, "assets": fixed}


def items_to_arrow(items: list[dict[str, Any]]) -> Any:
    """stac-geoparquet's Arrow table of ``items``.

    stac-geoparquet deep-copies every item before replacing its geometry by WKB, which dominates
    for 10,000s of items; eokit's items carry no ``proj:geometry``, so a shallow copy with the
    WKB geometry feeds the same batch class. Falls back to the public API if its internals move.
    """
    import stac_geoparquet.arrow as sga

    items = [_numeric_nodata(it) for it in items]
    try:
        import pyarrow as pa
        import shapely
        from shapely.geometry import shape
        from stac_geoparquet.arrow._batch import StacJsonBatch

        if any("proj:geometry" in it["properties"] or any("proj:geometry" in a for a in it["assets"].values())
               for it in items):  # fmt: skip
            raise ImportError
        geoms = shapely.to_wkb([shape(it["geometry"]) for it in items], flavor="iso")
        wkb_items = [{**it, "geometry": g} for it, g in zip(items, geoms, strict=True)]
        batch = StacJsonBatch(pa.RecordBatch.from_struct_array(pa.array(wkb_items))).to_arrow_batch(True).inner
        return pa.Table.from_batches([batch])
    except (ImportError, AttributeError, TypeError):
        return sga.parse_stac_items_to_arrow(items)
