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
        return _write_shapefile(gdf, target)
    with atomic_path(target) as tmp:
        kwargs: dict[str, Any] = {"driver": driver, "engine": "pyogrio"}
        if driver == "GPKG":
            kwargs["layer"] = layer or target.stem  # not the temporary file's name
        gdf.to_file(tmp, **kwargs)
    return target


def _write_shapefile(gdf: Any, target: Path) -> Path:
    """A shapefile is several files: write them in a temporary folder, then move each into place."""
    import shutil
    import tempfile

    from eokit.io.atomic import ensure_writable_dir

    parent = ensure_writable_dir(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", dir=parent))
    try:
        gdf.to_file(staging / target.name, driver="ESRI Shapefile", engine="pyogrio")
        for part in sorted(staging.iterdir(), key=lambda p: p.suffix == ".shp"):  # the .shp last
            os.replace(part, parent / part.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
