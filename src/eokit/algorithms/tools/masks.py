"""File tools for masks and distances: distance to mask, mask cover, medoid; geometry loading."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from eokit.algorithms import distance
from eokit.algorithms._common import geometry_inside, row_metrics, to_raster_crs
from eokit.algorithms._kernels import capped_distance
from eokit.algorithms.tools._common import (
    PathLike,
    Progress,
    check_declared,
    mask_of,
    nodata_to_nan,
    profile,
    run_blocks,
)
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError
from eokit.io import open_raster

__all__ = ["distance_to_mask_file", "load_geometry", "mask_cover_file", "medoid_file"]

log = logging.getLogger(__name__)


def _distance_block(
    a: np.ndarray, *, block: Block, how: str, nodata: float | None, y: np.ndarray, dx: np.ndarray,
    radius: float, normalize: bool, geom: Any, transform: Any,
) -> np.ndarray:  # fmt: skip
    m = mask_of(a[0], how, nodata)
    rows = block.read[0]
    inside = None
    if geom is not None:
        inside = geometry_inside(geom, transform, m.shape, row=block.read_row, col=block.read_col)
        m &= inside
    d = capped_distance(m, y[rows], dx[rows], radius)
    if normalize:
        d /= np.float32(radius)
    if inside is not None:
        d[~inside] = np.nan
    return d


def distance_to_mask_file(
    source: PathLike,
    target: PathLike,
    *,
    radius: float,
    band: int = 1,
    mask_from: str = "nonzero",
    normalize: bool = False,
    geometry: Any = None,
    geometry_crs: Any = None,
    units: str = "metres",
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write :func:`~eokit.algorithms.distance.distance_to_mask` of one band of ``source``.

    ``mask_from``: ``nonzero`` (default: non-zero pixels are masked, e.g. a cloud
    mask), ``zero`` or ``nodata`` (the band's nodata/NaN pixels are masked).
    ``units``: ``metres`` (needs a CRS) or ``pixels`` (``radius`` and the result in
    pixel widths; the CRS is ignored). A raster without CRS is refused in metres; a
    ``geometry`` that covers no pixel of the raster is refused. The raster's
    *declared* size is checked against the memory the per-row metrics and halos
    need before anything is allocated.
    """
    from eokit.errors import MissingCRSError

    if units not in {"metres", "meters", "pixels"}:
        raise InvalidInputError(f"units must be metres or pixels, got {units!r}", param="units")
    prof = profile(source)
    src = os.fspath(source)
    if not radius > 0:
        raise InvalidInputError(f"radius must be > 0, got {radius!r}", param="radius")
    pixels = units == "pixels"
    if not pixels and prof["crs"] is None:
        raise MissingCRSError(
            "raster has no CRS, so distances in metres are unknown; use --units pixels to measure in pixels",
            path=src, param="units",
        )  # fmt: skip
    transform, crs = (Affine.identity(), None) if pixels else (prof["transform"], prof["crs"])
    check_declared(prof, src, row_bytes=32)
    y, dx = row_metrics(transform, crs, prof["height"])
    halo = distance.distance_halo(transform, crs, prof["height"], radius)
    check_declared(prof, src, halo=max(halo))
    geom = None
    if geometry is not None:
        if pixels and prof["crs"] is None and geometry_crs is not None:
            raise MissingCRSError("raster has no CRS to place the geometry on", path=src, param="geometry")
        geom = to_raster_crs(geometry, geometry_crs if geometry_crs is not None else prof["crs"], prof["crs"])
        if pixels:
            geom = shapely_affine(geom, ~prof["transform"])
        _require_cover(geom, Affine.identity() if pixels else prof["transform"], prof, src)
    func = functools.partial(
        _distance_block, how=mask_from, nodata=prof["nodata"], y=y, dx=dx, radius=float(radius),
        normalize=normalize, geom=geom, transform=transform,
    )  # fmt: skip
    return run_blocks(
        source, target, func, count=1, dtype="float32", nodata=float("nan"), halo=max(halo), bands=[band],
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def shapely_affine(geom: Any, tr: Affine) -> Any:
    """``geom`` with the affine ``tr`` applied (world -> pixel coordinates)."""
    from shapely import affinity

    return affinity.affine_transform(geom, [tr.a, tr.b, tr.d, tr.e, tr.c, tr.f])


def _require_cover(geom: Any, transform: Affine, prof: dict[str, Any], src: str) -> None:
    from shapely.geometry import box

    h, w = prof["height"], prof["width"]
    x0, y0 = transform @ (0, 0)
    x1, y1 = transform @ (w, h)
    if not geom.intersects(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))):
        raise InvalidInputError("geometry does not overlap the raster (check its CRS)", path=src, param="geometry")


def mask_cover_file(
    source: PathLike,
    *,
    band: int = 1,
    mask_from: str = "nodata",
    geometry: Any = None,
    geometry_crs: Any = None,
    all_touched: bool = False,
    block_size: int = 1024,
) -> float:
    """Percentage of masked pixels of ``source`` inside ``geometry``, read block by block."""
    from rasterio.windows import Window

    from eokit.core.blocks import iter_blocks
    from eokit.io.raster import raster_env  # GDAL's cache as set, not its default share of the machine

    masked = total = 0
    with raster_env(), open_raster(source) as ds:  # refuses native blocks beyond the memory budget
        geom = None
        if geometry is not None:
            geom = to_raster_crs(geometry, geometry_crs if geometry_crs is not None else ds.crs, ds.crs)
        for b in iter_blocks((ds.height, ds.width), block_size):
            a = ds.read(band, window=Window.from_slices(*b.core))
            m = mask_of(a, mask_from, ds.nodata)
            if geom is not None:
                inside = geometry_inside(geom, ds.transform, a.shape, row=b.row, col=b.col, all_touched=all_touched)
                total += int(inside.sum())
                masked += int((m & inside).sum())
            else:
                total += m.size
                masked += int(m.sum())
    if total == 0:
        raise InvalidInputError("geometry covers no pixel centre of the raster (check its CRS)", path=os.fspath(source))
    return 100.0 * masked / total


def load_geometry(value: str) -> tuple[Any, Any]:
    """``(geometry, crs)`` from a vector file path (union of its features), GeoJSON text or WKT (crs None)."""
    import json

    import shapely
    from shapely.geometry import shape

    if os.path.exists(value):
        from eokit.io import read_vector

        gdf = read_vector(value)
        if len(gdf) == 0:
            raise InvalidInputError("vector file has no features", path=value)
        return shapely.union_all(gdf.geometry.values), gdf.crs
    text = value.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"not valid GeoJSON: {exc}", param="geometry") from None
        if obj.get("type") == "FeatureCollection":
            return shapely.union_all([shape(f["geometry"]) for f in obj["features"]]), "EPSG:4326"
        return shape(obj.get("geometry", obj)), "EPSG:4326"
    try:
        return shapely.from_wkt(text), None
    except shapely.errors.GEOSException:
        raise InvalidInputError(f"{value[:40]!r} is neither a file, GeoJSON nor WKT", param="geometry") from None


def _medoid_block(
    *arrays: np.ndarray, block: Block, nodatas: list[float | None], bands: list[int] | None
) -> np.ndarray:
    images = [nodata_to_nan(a, nd) for a, nd in zip(arrays, nodatas)]
    return distance.medoid(images, bands=bands).astype(np.float32)


def medoid_file(
    sources: Sequence[PathLike],
    target: PathLike,
    *,
    bands: Sequence[int] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write the per-pixel medoid of aligned multi-band rasters (all bands of the winner; float32, NaN nodata).

    ``bands`` (0-based) selects the bands the distances use; every band is written.
    """
    sources = [os.fspath(s) for s in sources]
    if len(sources) < 2:
        raise InvalidInputError("the medoid needs at least 2 rasters")
    profs = [profile(s) for s in sources]
    counts = {p["count"] for p in profs}
    if len(counts) != 1:
        raise InvalidInputError(f"rasters have different band counts: {sorted(counts)}")
    func = functools.partial(_medoid_block, nodatas=[p["nodata"] for p in profs], bands=list(bands) if bands else None)
    return run_blocks(
        sources, target, func, count=profs[0]["count"], dtype="float32", nodata=float("nan"),
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip
