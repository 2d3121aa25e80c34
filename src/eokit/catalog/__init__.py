"""STAC catalogs: create items from files, build and validate catalogs, serve them as a STAC API.

- :func:`create_item` — one STAC item (``pystac.Item``) for a raster, point cloud or vector file (or a group).
- :func:`build_catalog` — crawl a folder into ``catalog.json``/``collection.json``/items, ``index.geojson``,
  ``items.parquet`` and ``errors.json``; incremental and atomic.
- :func:`validate_catalog` — offline validation against a local mirror of the official schemas.
- :func:`create_app` / :func:`running_server` / :func:`serve` — the STAC API (FastAPI + SQLite index).
"""

from __future__ import annotations

from eokit.catalog.build import BuildResult, CollectionInfo, build_catalog
from eokit.catalog.item import assemble_item, create_item, read_asset
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.catalog.server import create_app, running_server, serve
from eokit.catalog.validate import ValidationReport, validate_catalog, validate_document

__all__ = [
    "AssetRecord",
    "BuildResult",
    "CollectionInfo",
    "ReadOptions",
    "ValidationReport",
    "assemble_item",
    "build_catalog",
    "create_app",
    "create_item",
    "read_asset",
    "running_server",
    "serve",
    "validate_catalog",
    "validate_document",
]
