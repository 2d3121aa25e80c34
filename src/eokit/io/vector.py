"""Vector I/O via pyogrio/geopandas, with eokit errors and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eokit.errors import InputNotFoundError, UnreadableInputError
from eokit.io.atomic import atomic_path

__all__ = ["read_vector", "write_vector"]

_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile", ".fgb": "FlatGeobuf"}


def read_vector(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Read a vector file as a GeoDataFrame; clear errors for missing or unreadable files."""
    import geopandas as gpd
    import pyogrio

    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputNotFoundError("no such file", path=p)
    try:
        return gpd.read_file(p, engine="pyogrio", **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise UnreadableInputError(f"not a readable vector file ({exc})", path=p) from None


def write_vector(gdf: Any, path: str | os.PathLike[str], *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame atomically; the driver follows the file extension."""
    target = Path(path)
    driver = _DRIVERS.get(target.suffix.lower())
    if driver is None:
        from eokit.errors import InvalidInputError

        raise InvalidInputError(
            f"unknown vector format {target.suffix!r}; use one of {', '.join(_DRIVERS)}", path=target
        )
    if driver == "ESRI Shapefile":
        gdf.to_file(target, driver=driver, engine="pyogrio")  # several sidecar files: written in place
        return target
    with atomic_path(target) as tmp:
        kwargs: dict[str, Any] = {"driver": driver, "engine": "pyogrio"}
        if layer:
            kwargs["layer"] = layer
        gdf.to_file(tmp, **kwargs)
    return target
