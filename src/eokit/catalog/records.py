"""What reading one file yields: an :class:`AssetRecord`, the unit of crawling and of incremental reuse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AssetRecord", "ReadOptions"]


@dataclass(frozen=True)
class ReadOptions:
    """How files are read into asset records.

    Attributes
    ----------
    footprint : {"bbox", "data"}
        ``"bbox"`` (default): the native bounding box densified and reprojected;
        ``"data"``: the outline of valid data, traced on a decimated read and simplified.
    statistics, histogram : bool
        Add ``raster:bands`` statistics / a 256-bucket histogram from a decimated read (overviews).
    checksum : str or None
        Multihash algorithm for ``file:checksum`` (``"sha2-256"``, ``"blake3"``, ...); None to skip.
    default_crs : str or None
        CRS assumed for files that carry none (e.g. ``"EPSG:32611"``); None makes such files errors.
    max_decimated : int
        Longest side, in pixels, of decimated reads for footprints and statistics.
    """

    footprint: str = "bbox"
    statistics: bool = False
    histogram: bool = False
    checksum: str | None = None
    default_crs: str | None = None
    max_decimated: int = 1024

    def __post_init__(self) -> None:
        from eokit.errors import InvalidInputError

        if self.footprint not in ("bbox", "data"):
            raise InvalidInputError(f"unknown footprint mode {self.footprint!r}: use bbox or data", param="footprint")
        if self.max_decimated < 1:
            raise InvalidInputError(f"must be at least 1, not {self.max_decimated}", param="max_decimated")
        if self.checksum is not None:
            from eokit.catalog._common import _MULTIHASH

            if self.checksum not in _MULTIHASH:
                raise InvalidInputError(
                    f"unknown checksum algorithm {self.checksum!r}; use one of {', '.join(sorted(_MULTIHASH))}",
                    param="checksum",
                )
        if self.default_crs is not None:
            from pyproj import CRS
            from pyproj.exceptions import CRSError

            try:
                CRS.from_user_input(self.default_crs)
            except CRSError:
                raise InvalidInputError(f"not a CRS: {self.default_crs!r}", param="default_crs") from None


@dataclass
class AssetRecord:
    """One file read into STAC pieces: asset fields, footprint and time.

    ``geometry`` is a GeoJSON mapping in EPSG:4326; ``properties`` holds fields
    that belong on the item (``pc:*``); ``extensions`` the schema URLs used.
    """

    path: str
    kind: str
    asset: dict[str, Any]
    geometry: dict[str, Any]
    datetime: dt.datetime | None = None
    datetime_source: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    extensions: list[str] = field(default_factory=list)
    size: int = 0
    mtime_ns: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "asset": self.asset,
            "geometry": self.geometry,
            "datetime": self.datetime.isoformat() if self.datetime else None,
            "datetime_source": self.datetime_source,
            "properties": self.properties,
            "extensions": self.extensions,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssetRecord:
        when = data.get("datetime")
        return cls(
            path=data["path"],
            kind=data["kind"],
            asset=data["asset"],
            geometry=data["geometry"],
            datetime=dt.datetime.fromisoformat(when) if when else None,
            datetime_source=data.get("datetime_source"),
            properties=data.get("properties", {}),
            extensions=data.get("extensions", []),
            size=data.get("size", 0),
            mtime_ns=data.get("mtime_ns", 0),
        )
