"""STAC catalogs: create items from files, build and validate catalogs, serve them as a STAC API."""

from __future__ import annotations

from eokit.catalog.build import BuildResult, CollectionInfo, build_catalog
from eokit.catalog.item import assemble_item, create_item, read_asset
from eokit.catalog.records import AssetRecord, ReadOptions

__all__ = [
    "AssetRecord",
    "BuildResult",
    "CollectionInfo",
    "ReadOptions",
    "assemble_item",
    "build_catalog",
    "create_item",
    "read_asset",
]
