"""Search and download satellite products from CDSE, DHuS and STAC APIs.

Two APIs:

* :class:`SentinelAPI` — drop-in compatible with the classic ``sentinelsat``
  client; speaks CDSE by default and DHuS when given a DHuS URL.
* :func:`search` / :func:`download` — provider-neutral (``cdse``, ``dhus``,
  ``stac``) with one :class:`Product` model.
"""

from __future__ import annotations

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
