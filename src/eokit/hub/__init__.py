"""Search and download satellite products from CDSE, DHuS and STAC APIs.

Two APIs:

* :class:`SentinelAPI` — drop-in compatible with the classic ``sentinelsat``
  client; speaks CDSE by default and DHuS when given a DHuS URL.
* :func:`search` / :func:`download` — provider-neutral (``cdse``, ``dhus``,
  ``stac``) with one :class:`Product` model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): `import eokit.hub` stays light
    from eokit.hub.api import SentinelAPI
    from eokit.hub.dhus_query import format_query_date
    from eokit.hub.engine import DownloadEngine, DownloadRequest, DownloadResult, sanitize_filename
    from eokit.hub.exceptions import (
        HubInputError,
        InvalidChecksumError,
        InvalidKeyError,
        LTAError,
        LTATriggered,
        QueryLengthError,
        QuerySyntaxError,
        SentinelAPIError,
        ServerError,
        UnauthorizedError,
    )
    from eokit.hub.geo import geojson_to_wkt, placename_to_wkt, read_geojson
    from eokit.hub.native import Hub, download, search
    from eokit.hub.nodefilters import all_nodes_filter, make_path_filter, make_size_filter
    from eokit.hub.products import Asset, Product, ProductCollection

_WHERE = {
    "SentinelAPI": "api",
    "format_query_date": "dhus_query",
    **dict.fromkeys(["DownloadEngine", "DownloadRequest", "DownloadResult", "sanitize_filename"], "engine"),
    **dict.fromkeys(
        [
            "HubInputError",
            "InvalidChecksumError",
            "InvalidKeyError",
            "LTAError",
            "LTATriggered",
            "QueryLengthError",
            "QuerySyntaxError",
            "SentinelAPIError",
            "ServerError",
            "UnauthorizedError",
        ],
        "exceptions",
    ),
    **dict.fromkeys(["geojson_to_wkt", "placename_to_wkt", "read_geojson"], "geo"),
    **dict.fromkeys(["Hub", "download", "search"], "native"),
    **dict.fromkeys(["all_nodes_filter", "make_path_filter", "make_size_filter"], "nodefilters"),
    **dict.fromkeys(["Asset", "Product", "ProductCollection"], "products"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eokit.hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"eokit.hub.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Asset",
    "DownloadEngine",
    "DownloadRequest",
    "DownloadResult",
    "Hub",
    "HubInputError",
    "InvalidChecksumError",
    "InvalidKeyError",
    "LTAError",
    "LTATriggered",
    "Product",
    "ProductCollection",
    "QueryLengthError",
    "QuerySyntaxError",
    "SentinelAPI",
    "SentinelAPIError",
    "ServerError",
    "UnauthorizedError",
    "all_nodes_filter",
    "download",
    "format_query_date",
    "geojson_to_wkt",
    "make_path_filter",
    "make_size_filter",
    "placename_to_wkt",
    "read_geojson",
    "sanitize_filename",
    "search",
]
