"""Urban centres and clusters as polygons and label rasters, from population files."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from eokit.errors import InvalidInputError
from eokit.urban.degurba import DegurbaParams, DegurbaResult
from eokit.urban.inmemory import cluster_class, read_population
from eokit.urban.outofcore import DegurbaFiles, degurba_files

__all__ = [
    "classify_raster",
    "cluster_polygons",
    "clusters_from_raster",
    "labels_to_polygons",
    "polygons_from_files",
    "read_population",
]

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
    out["class"] = 30 if kind == "centre" else cluster_class(result, labels, len(out))
    out = out.drop(columns=["pop_row", "pop_col"])
    cols = ["id", "kind", "class", "population", "area_km2", "density", "n_cells", "pop_x", "pop_y", "geometry"]
    return out[cols]


def clusters_from_raster(
    population: str | os.PathLike[str],
    *,
    kind: str = "cluster",
    out: str | os.PathLike[str] | None = None,
    label_raster: str | os.PathLike[str] | None = None,
    method: str = "ghsl",
    params: DegurbaParams = DegurbaParams(),
    name: bool = True,
    max_memory: int | str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> Any:
    """Urban centres or clusters of a population raster as polygons (written to ``out`` if given).

    Columns: ``id``, ``kind``, ``class``, ``population``, ``area_km2``,
    ``density``, ``n_cells``, ``pop_x``/``pop_y`` and, with ``name=True``,
    ``name``/``admin1``/``country`` from the bundled GeoNames gazetteer.
    Works block by block in ``max_memory`` (see :func:`eokit.urban.outofcore.degurba_files`),
    so the raster may be larger than memory; polygons are traced per object.
    """
    if kind not in KINDS:
        raise InvalidInputError(f"must be 'centre' or 'cluster', got {kind!r}", param="kind")
    with _workdir(out or label_raster or ".") as tmp:
        files = degurba_files(
            population,
            centres=label_raster if (label_raster and kind == "centre") else tmp / "centres.tif",
            clusters=label_raster if (label_raster and kind == "cluster") else tmp / "clusters.tif",
            method=method,
            params=params,
            max_memory=max_memory,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
        gdf = polygons_from_files(files, kind=kind, scheduler=scheduler, workers=workers)
        if name:
            from eokit.urban.naming import name_clusters

            gdf = name_clusters(gdf, labels=files.centres if kind == "centre" else files.clusters)
    if out is not None:
        from eokit.io.vector import write_vector

        write_vector(gdf, Path(out), layer=_layer(out))
    return gdf


@contextlib.contextmanager
def _workdir(near: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder beside ``near`` (intermediate rasters can be large: not in /tmp)."""
    from eokit.io.atomic import ensure_writable_dir

    parent = ensure_writable_dir(Path(near).parent if Path(near).suffix else Path(near))
    with tempfile.TemporaryDirectory(prefix=".eokit-urban-", dir=parent) as tmp:
        yield Path(tmp)


@dataclasses.dataclass(frozen=True)
class _PolygonJob:
    """Picklable: the (multi)polygons of a group of nearby labelled objects, each traced in its
    bounding box, from one read of the window covering the group."""

    path: str

    def __call__(self, task: list[tuple[int, tuple[int, int, int, int]]]) -> list[Any]:
        import rasterio
        from rasterio import features
        from rasterio.windows import Window
        from shapely.geometry import shape
        from shapely.ops import unary_union

        boxes = np.array([b for _i, b in task])
        R0, C0 = int(boxes[:, 0].min()), int(boxes[:, 2].min())
        with rasterio.open(self.path) as src:
            big = Window.from_slices((R0, int(boxes[:, 1].max())), (C0, int(boxes[:, 3].max())))
            lab = src.read(1, window=big)
            tr = src.window_transform(big)
        out = []
        for lab_id, (r0, r1, c0, c1) in task:
            mask = lab[r0 - R0 : r1 - R0, c0 - C0 : c1 - C0] == lab_id
            t = tr @ Affine.translation(c0 - C0, r0 - R0)
            parts = [
                shape(g) for g, _v in features.shapes(mask.astype(np.uint8), mask=mask, transform=t, connectivity=4)
            ]
            out.append(parts[0] if len(parts) == 1 else unary_union(parts))
        return out


def _groups(tasks: list[tuple[int, tuple[int, int, int, int]]], tile: int = 512) -> list[list[Any]]:
    """Objects grouped by the tile holding their box's first corner (one read per group)."""
    groups: dict[tuple[int, int], list[Any]] = {}
    for t in tasks:
        groups.setdefault((t[1][0] // tile, t[1][2] // tile), []).append(t)
    return list(groups.values())


def polygons_from_files(
    files: DegurbaFiles, *, kind: str, scheduler: str | None = None, workers: int | None = None
) -> Any:
    """Polygons of ``kind`` ("centre" or "cluster") with id, class, population, area_km2, density,
    n_cells and the population-weighted centroid (``pop_x``/``pop_y`` in the grid CRS), plus
    ``centre_id`` for clusters; each traced in its object's bounding box."""
    import geopandas as gpd

    from eokit.core import open_executor

    if kind not in KINDS:
        raise InvalidInputError(f"must be 'centre' or 'cluster', got {kind!r}", param="kind")
    table = files.centre_table if kind == "centre" else files.cluster_table
    path = files.centres if kind == "centre" else files.clusters
    tasks = [(int(r.id), (int(r.row0), int(r.row1), int(r.col0), int(r.col1))) for r in table.itertuples()]
    groups = _groups(tasks)
    with open_executor("threads" if scheduler in (None, "threads") else scheduler, workers) as ex:
        traced = dict(
            zip(
                (i for g in groups for i, _b in g),
                (geom for part in ex.imap(_PolygonJob(os.fspath(path)), groups) for geom in part),
            )
        )
    geoms = [traced[i] for i, _b in tasks]
    tr = files.transform
    x, y = tr @ (table["pop_col"].to_numpy(), table["pop_row"].to_numpy())
    out = gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geoms, crs=files.crs)
    out["pop_x"] = np.asarray(x, dtype=np.float64)
    out["pop_y"] = np.asarray(y, dtype=np.float64)
    cols = ["id", "kind", "class", "population", "area_km2", "density", "n_cells", "pop_x", "pop_y"]
    cols += ["centre_id"] if kind == "cluster" else []
    return out[[*cols, "geometry"]]


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
    max_memory: int | str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> DegurbaFiles:
    """Write the level-2 (and optionally level-1) degree-of-urbanisation raster of a population file.

    ``built_up`` and ``land`` share rasters must be on the population grid. Works block by
    block within ``max_memory`` (see :func:`classify_files`).
    """
    with _workdir(out) as tmp:
        return degurba_files(
            population,
            centres=tmp / "centres.tif",
            clusters=tmp / "clusters.tif",
            level2=out,
            level1=level1,
            built_up=built_up,
            land=land,
            method=method,
            params=params,
            max_memory=max_memory,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
