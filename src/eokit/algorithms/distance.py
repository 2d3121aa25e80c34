"""Masks and distances: distance to the mask, mask cover, spectral distances and the medoid.

Local, exact equivalents of geetools' ``distanceToMask``, ``maskCover``,
``euclideanDistance`` and ``sumDistance``. Every function takes numpy or dask
arrays (xarray objects are unwrapped); neighbourhood operations run on dask with a
halo derived from the radius, so chunked results equal whole-array results.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from affine import Affine

from eokit.algorithms._common import as_array, inside_like, map_overlap_multi, row_metrics, to_raster_crs
from eokit.algorithms._kernels import capped_distance
from eokit.algorithms._xarray import xarray_io
from eokit.core.arrays import is_dask
from eokit.errors import InvalidInputError

__all__ = ["distance_halo", "distance_to_mask", "euclidean_distance", "mask_cover", "medoid", "sum_distance"]

log = logging.getLogger(__name__)


def distance_halo(transform: Affine, crs: Any, height: int, radius: float) -> tuple[int, int]:
    """Rows and columns of halo a block needs so its capped distances are exact."""
    y, dx = row_metrics(transform, crs, height)
    dy_min = float(np.min(np.diff(y))) if height > 1 else float(radius) + 1.0
    return math.ceil(radius / dy_min) + 1, math.ceil(radius / float(dx.min())) + 1


def _distance_kernel(mask: np.ndarray, y: np.ndarray, dx: np.ndarray, *, radius: float) -> np.ndarray:
    # y and dx arrive as 2-D (broadcast per row) blocks; use their first column.
    return capped_distance(mask, y[:, 0], dx[:, 0], radius)


@xarray_io(georef=True)
def distance_to_mask(
    mask: Any,
    *,
    transform: Affine,
    radius: float,
    normalize: bool = False,
    crs: Any = None,
    geometry: Any = None,
    geometry_crs: Any = None,
) -> Any:
    """Euclidean distance in metres from each pixel to the nearest masked pixel, capped at ``radius``.

    Parameters
    ----------
    mask : 2-D bool array (numpy, dask or xarray)
        ``True`` where the pixel is masked (cloud, nodata...).
    transform : Affine
        The grid's geotransform.
    radius : float
        Cap in metres; pixels farther than ``radius`` from any masked pixel get ``radius``.
    normalize : bool
        Scale the result to 0..1 (distance / radius).
    crs : CRS-like, optional
        The grid's CRS. Geographic CRSs get per-row pixel widths in metres on the
        ellipsoid; ``None`` means the transform is already in metres.
    geometry : shapely geometry, GeoJSON mapping or WKT, optional
        Compute only inside it: masked pixels outside do not count and the output
        outside is NaN (so a clip edge is not mistaken for a mask edge).
    geometry_crs : CRS-like, optional
        CRS of ``geometry`` (default: ``crs``); it is reprojected to the raster CRS.

    Returns
    -------
    float32 array of the same kind and shape as ``mask``.

    Examples
    --------
    >>> m = np.zeros((1, 5), bool); m[0, 0] = True
    >>> distance_to_mask(m, transform=Affine(30, 0, 0, 0, -30, 0), radius=100).tolist()
    [[0.0, 30.0, 60.0, 90.0, 100.0]]
    """
    arr = as_array(mask)
    if arr.ndim != 2:
        raise InvalidInputError(f"mask must be 2-D, got shape {arr.shape}")
    if not radius > 0:
        raise InvalidInputError(f"radius must be > 0 metres, got {radius!r}")
    arr = arr.astype(bool)
    height, _width = arr.shape
    inside = None
    if geometry is not None:
        geom = to_raster_crs(geometry, geometry_crs if geometry_crs is not None else crs, crs)
        inside = inside_like(arr, geom, transform)
        arr = arr & inside
    y, dx = row_metrics(transform, crs, height)
    hr, hc = distance_halo(transform, crs, height, radius)
    if is_dask(arr):
        import dask.array as da

        yy = da.broadcast_to(da.from_array(y[:, None], chunks=(arr.chunks[0], 1)), arr.shape, chunks=arr.chunks)
        xx = da.broadcast_to(da.from_array(dx[:, None], chunks=(arr.chunks[0], 1)), arr.shape, chunks=arr.chunks)
    else:
        yy = np.broadcast_to(y[:, None], arr.shape)
        xx = np.broadcast_to(dx[:, None], arr.shape)
    out = map_overlap_multi(_distance_kernel, [arr, yy, xx], depth=(hr, hc), dtype=np.float32, radius=float(radius))
    if normalize:
        out = out / np.float32(radius)
    if inside is not None:
        out = _where(inside, out, np.float32(np.nan))
    return out


def _where(cond: Any, a: Any, b: Any) -> Any:
    if is_dask(cond) or is_dask(a):
        import dask.array as da

        return da.where(cond, a, b)
    return np.where(cond, a, b)


@xarray_io(georef=True)
def mask_cover(
    mask: Any,
    *,
    transform: Affine,
    geometry: Any = None,
    crs: Any = None,
    geometry_crs: Any = None,
    all_touched: bool = False,
) -> float:
    """Percentage (0..100) of masked pixels among the pixels whose centre lies in ``geometry``.

    ``geometry=None`` uses the whole grid. ``geometry`` is reprojected from
    ``geometry_crs`` (default: ``crs``) to the raster CRS. With ``all_touched``,
    every pixel the geometry touches counts. Raises :class:`InvalidInputError`
    when no pixel falls in the geometry.

    >>> mask_cover(np.array([[True, False], [False, False]]), transform=Affine.identity())
    25.0
    """
    arr = as_array(mask)
    if arr.ndim != 2:
        raise InvalidInputError(f"mask must be 2-D, got shape {arr.shape}")
    arr = arr.astype(bool)
    if geometry is None:
        total = arr.size
        masked = arr.sum()
    else:
        geom = to_raster_crs(geometry, geometry_crs if geometry_crs is not None else crs, crs)
        inside = inside_like(arr, geom, transform, all_touched=all_touched)
        total = inside.sum()
        masked = (arr & inside).sum()
    if is_dask(arr):
        import dask

        total, masked = dask.compute(total, masked)
    total, masked = int(total), int(masked)
    if total == 0:
        raise InvalidInputError("geometry covers no pixel centre of the raster (check its CRS)")
    return 100.0 * masked / total


def _select(image: Any, bands: Sequence[int] | None) -> Any:
    arr = as_array(image)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InvalidInputError(f"image must be (bands, rows, cols), got shape {arr.shape}")
    if bands is not None:
        bad = [b for b in bands if not -arr.shape[0] <= b < arr.shape[0]]
        if bad:
            raise InvalidInputError(f"bands {bad} out of range for an image with {arr.shape[0]} bands", param="bands")
        arr = arr[list(bands)]
    return arr.astype(np.float64) if arr.dtype.kind != "f" else arr


@xarray_io
def euclidean_distance(a: Any, b: Any, *, bands: Sequence[int] | None = None, discard_zeros: bool = False) -> Any:
    """Per-pixel Euclidean distance between two images across their bands.

    ``a`` and ``b`` are ``(bands, rows, cols)`` arrays on the same grid; ``bands``
    selects band indices (0-based). With ``discard_zeros``, a zero in one image
    takes the other image's value, so that band adds nothing. NaN (nodata) in any
    used band gives NaN.

    >>> euclidean_distance(np.array([[[3.0]], [[0.0]]]), np.array([[[0.0]], [[4.0]]])).tolist()
    [[5.0]]
    """
    x, y = _select(a, bands), _select(b, bands)
    if x.shape != y.shape:
        raise InvalidInputError(f"image shapes differ: {x.shape} vs {y.shape}")
    if discard_zeros:
        x0, y0 = x == 0, y == 0
        x, y = _where(x0, y, x), _where(y0, x, y)
    diff = x - y
    return np.sqrt((diff * diff).sum(axis=0))


def _items(collection: Any) -> list[Any]:
    """The images of a sequence, or of a stacked array along its first axis."""
    if hasattr(collection, "ndim"):
        return [collection[i] for i in range(collection.shape[0])]
    return list(collection)


@xarray_io
def sum_distance(
    image: Any, collection: Sequence[Any] | Any, *, bands: Sequence[int] | None = None, discard_zeros: bool = False
) -> Any:
    """Sum of :func:`euclidean_distance` between ``image`` and every image of ``collection``."""
    items = _items(collection)
    if not items:
        raise InvalidInputError("collection is empty")
    total = None
    for other in items:
        d = euclidean_distance(image, other, bands=bands, discard_zeros=discard_zeros)
        total = d if total is None else total + d
    return total


@xarray_io
def medoid(collection: Sequence[Any] | Any, *, bands: Sequence[int] | None = None, discard_zeros: bool = False) -> Any:
    """Per-pixel medoid: the image whose summed distance to all others is smallest.

    ``collection`` is a sequence of ``(bands, rows, cols)`` images or a 4-D array.
    Returns a ``(bands, rows, cols)`` composite holding, at each pixel, all bands of
    the winning image (ties go to the first). Images with NaN at a pixel never win
    there; pixels where every image is NaN stay NaN.
    """
    items = _items(collection)
    if not items:
        raise InvalidInputError("collection is empty")
    images = [_select(im, None) for im in items]
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise InvalidInputError(f"collection images differ in shape: {sorted(shapes)}")
    scores = []
    for im in images:
        s = None
        for other in images:
            d = euclidean_distance(im, other, bands=bands, discard_zeros=discard_zeros)
            d = _where(np.isnan(d), 0.0, d)  # a partner with nodata here does not vote
            s = d if s is None else s + d
        own_nodata = np.isnan(_select(im, bands)).any(axis=0)
        scores.append(_where(own_nodata, np.inf, s))
    best_score = scores[0]
    out = images[0]
    for im, s in zip(images[1:], scores[1:]):
        better = s < best_score
        out = _where(better[None], im, out)
        best_score = _where(better, s, best_score)
    return out
