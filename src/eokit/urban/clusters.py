"""Urban centres and clusters as polygons and label rasters, from population files."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from eokit.core.crs import require_crs
from eokit.errors import InvalidInputError
from eokit.urban.degurba import LEVEL2_NAMES, DegurbaParams, DegurbaResult, degree_of_urbanisation

__all__ = ["classify_raster", "cluster_polygons", "clusters_from_raster", "labels_to_polygons", "read_population"]

log = logging.getLogger(__name__)

KINDS = {"centre": "centres", "cluster": "clusters"}


def labels_to_polygons(labels: np.ndarray, *, transform: Any, crs: Any) -> Any:
    """One (multi)polygon per non-zero label: a GeoDataFrame with ``id`` and ``geometry``."""
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape
    from shapely.ops import unary_union

    lab = np.ascontiguousarray(labels, dtype=np.int32)
    parts: dict[int, list[Any]] = {}
    for geom, value in features.shapes(lab, mask=lab > 0, transform=transform, connectivity=4):
        parts.setdefault(int(value), []).append(shape(geom))
    ids = sorted(parts)
    geoms = [parts[i][0] if len(parts[i]) == 1 else unary_union(parts[i]) for i in ids]
    return gpd.GeoDataFrame({"id": np.asarray(ids, dtype=np.int32)}, geometry=geoms, crs=crs)


def cluster_polygons(result: DegurbaResult, *, kind: str, transform: Any, crs: Any) -> Any:
    """Polygons of ``kind`` ("centre" or "cluster") with id, population, area_km2, density,
    class and the population-weighted centroid (``pop_x``/``pop_y`` in the grid CRS)."""
    if kind not in KINDS:
        raise InvalidInputError(f"kind must be 'centre' or 'cluster', got {kind!r}")
    labels = result.centres if kind == "centre" else result.clusters
    table = result.centre_table if kind == "centre" else result.cluster_table
    gdf = labels_to_polygons(labels, transform=transform, crs=crs)
    out = gdf.merge(table, on="id", how="left")
    x, y = transform @ (out["pop_col"].to_numpy(), out["pop_row"].to_numpy())
    out["pop_x"] = np.asarray(x, dtype=np.float64)
    out["pop_y"] = np.asarray(y, dtype=np.float64)
    out["class"] = 30 if kind == "centre" else _cluster_class(result, labels, len(out))
    out = out.drop(columns=["pop_row", "pop_col"])
    cols = ["id", "kind", "class", "population", "area_km2", "density", "n_cells", "pop_x", "pop_y", "geometry"]
    return out[cols]


def _cluster_class(result: DegurbaResult, labels: np.ndarray, n: int) -> np.ndarray:
    """Each cluster's class: 30 if it holds an urban-centre cell, else its most frequent level-2 class."""
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    lab = flat[idx].astype(np.int64)
    cls = result.level2.ravel()[idx].astype(np.int64)
    counts = np.bincount(lab * 32 + cls, minlength=(n + 1) * 32).reshape(n + 1, 32)[1:]
    out = np.argmax(counts, axis=1).astype(np.int16)
    out[counts[:, 30] > 0] = 30
    return out


def read_population(path: str | os.PathLike[str], *, window: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Read band 1 of a population raster (optionally a window) as float64 with NaN for nodata.

    Raises :class:`~eokit.errors.MissingCRSError` when the raster has no CRS.
    """
    from eokit.io.raster import open_raster

    with open_raster(path) as ds:
        require_crs(
            ds.crs.to_wkt() if ds.crs else None, path=os.fspath(path), purpose="population density (people per km²)"
        )
        data = ds.read(1, window=window).astype(np.float64)
        if ds.nodata is not None:
            data[data == ds.nodata] = np.nan
        transform = ds.window_transform(window) if window is not None else ds.transform
        return data, {"transform": transform, "crs": ds.crs, "nodata": ds.nodata}


def clusters_from_raster(
    population: str | os.PathLike[str],
    *,
    kind: str = "cluster",
    out: str | os.PathLike[str] | None = None,
    label_raster: str | os.PathLike[str] | None = None,
    method: str = "ghsl",
    params: DegurbaParams = DegurbaParams(),
    name: bool = True,
) -> Any:
    """Urban centres or clusters of a population raster as polygons (written to ``out`` if given).

    Columns: ``id``, ``kind``, ``class``, ``population``, ``area_km2``,
    ``density``, ``n_cells``, ``pop_x``/``pop_y`` and, with ``name=True``,
    ``name``/``admin1``/``country`` from the bundled GeoNames gazetteer.
    """
    pop, meta = read_population(population)
    res = degree_of_urbanisation(pop, transform=meta["transform"], crs=meta["crs"], method=method, params=params)
    gdf = cluster_polygons(res, kind=kind, transform=meta["transform"], crs=meta["crs"])
    if name:
        from eokit.urban.naming import name_clusters

        gdf = name_clusters(gdf)
    if label_raster is not None:
        from eokit.io.raster import write_raster

        labels = res.centres if kind == "centre" else res.clusters
        write_raster(label_raster, labels, transform=meta["transform"], crs=meta["crs"], nodata=0)
    if out is not None:
        from eokit.io.vector import write_vector

        write_vector(gdf, Path(out), layer=_layer(out))
    return gdf


def _layer(path: Any) -> str | None:
    """Layer name from the final file name (the atomic temporary name would be rejected)."""
    p = Path(path)
    return p.stem if p.suffix.lower() == ".gpkg" else None


def classify_raster(
    population: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    level1: str | os.PathLike[str] | None = None,
    built_up: str | os.PathLike[str] | None = None,
    land: str | os.PathLike[str] | None = None,
    method: str = "ghsl",
    params: DegurbaParams = DegurbaParams(),
) -> DegurbaResult:
    """Write the level-2 (and optionally level-1) degree-of-urbanisation raster of a population file.

    ``built_up`` and ``land`` share rasters must be on the population grid.
    """
    from eokit.io.raster import open_raster, require_same_grid, write_raster

    pop, meta = read_population(population)
    extras = {}
    for key, path in (("built_up", built_up), ("land", land)):
        if path is not None:
            with open_raster(population) as a, open_raster(path) as b:
                require_same_grid(a, b, names=[os.fspath(population), os.fspath(path)])
                extras[key] = b.read(1).astype(np.float64)
    res = degree_of_urbanisation(
        pop, transform=meta["transform"], crs=meta["crs"], method=method, params=params, **extras
    )
    tags = {"classes": ", ".join(f"{k}={v}" for k, v in sorted(LEVEL2_NAMES.items()))}
    write_raster(out, res.level2, transform=meta["transform"], crs=meta["crs"], nodata=0, tags=tags)
    if level1 is not None:
        write_raster(level1, res.level1, transform=meta["transform"], crs=meta["crs"], nodata=0)
    return res
