"""CRS helpers: pixel sizes in metres and cell areas in km², per row.

On projected CRSs pixel sizes come from the affine transform and the CRS's
linear unit. On geographic CRSs they vary with latitude: eokit computes them
per row on the CRS's own ellipsoid, the east-west size from the radius of the
parallel and the north-south size from the meridional radius at the row's
centre, and cell areas exactly, as the ellipsoidal area of the cell's
latitude band (a closed form, no sampling).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from affine import Affine

from eokit.errors import InvalidInputError, MissingCRSError

__all__ = ["cell_areas_km2", "ellipsoid_of", "pixel_sizes_m", "require_crs", "to_pyproj"]


def to_pyproj(crs: Any):
    """Any CRS-like value (rasterio CRS, pyproj CRS, EPSG int, WKT/PROJ string) as ``pyproj.CRS``."""
    import pyproj

    if crs is None:
        raise MissingCRSError("no CRS given")
    if hasattr(crs, "to_wkt") and not isinstance(crs, pyproj.CRS):
        crs = crs.to_wkt()
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InvalidInputError(f"not a valid CRS: {crs!r} ({exc})") from None


def require_crs(crs: Any, *, path: str | None = None, purpose: str = "this operation") -> Any:
    """Return ``crs`` as ``pyproj.CRS``, or raise :class:`MissingCRSError` naming ``path``."""
    if crs is None or str(crs) == "" or (hasattr(crs, "to_wkt") and not crs.to_wkt()):
        raise MissingCRSError(f"has no coordinate reference system, which {purpose} needs", path=path)
    return to_pyproj(crs)


def ellipsoid_of(crs: Any) -> tuple[float, float]:
    """``(semi_major_m, eccentricity_squared)`` of a geographic CRS's ellipsoid."""
    ell = to_pyproj(crs).ellipsoid
    if ell is None:
        raise InvalidInputError(f"CRS {crs!r} has no ellipsoid")
    a = float(ell.semi_major_metre)
    b = float(ell.semi_minor_metre)
    return a, 1.0 - (b * b) / (a * a)


def _row_center_lats(transform: Affine, height: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(height, dtype=np.float64)
    top = transform.f + transform.e * rows
    bottom = top + transform.e
    return top, bottom


def pixel_sizes_m(transform: Affine, crs: Any, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel width and height in metres for each of ``height`` rows.

    Returns two float64 arrays of length ``height``: east-west size and
    north-south size. For a projected CRS they are constant.
    """
    pcrs = require_crs(crs, purpose="pixel sizes in metres")
    if (transform.b != 0 or transform.d != 0) and pcrs.is_geographic:
        raise InvalidInputError("rotated geographic grids are not supported for metric pixel sizes")
    if not pcrs.is_geographic:
        factor = _linear_factor(pcrs)
        dx = np.hypot(transform.a, transform.d) * factor
        dy = np.hypot(transform.b, transform.e) * factor
        return np.full(height, dx), np.full(height, dy)
    a, e2 = ellipsoid_of(pcrs)
    top, bottom = _row_center_lats(transform, height)
    phi = np.radians((top + bottom) / 2.0)
    s2 = np.sin(phi) ** 2
    n = a / np.sqrt(1.0 - e2 * s2)
    m = a * (1.0 - e2) / (1.0 - e2 * s2) ** 1.5
    dx = n * np.cos(phi) * np.radians(abs(transform.a))
    dy = m * np.radians(abs(transform.e))
    return dx, dy


def _linear_factor(pcrs: Any) -> float:
    axis = pcrs.axis_info[0] if pcrs.axis_info else None
    factor = getattr(axis, "unit_conversion_factor", None)
    return float(factor) if factor else 1.0


def _authalic_term(phi: np.ndarray, e2: float) -> np.ndarray:
    s = np.sin(phi)
    if e2 == 0:
        return 2.0 * s
    e = np.sqrt(e2)
    return s / (1.0 - e2 * s * s) + np.log((1.0 + e * s) / (1.0 - e * s)) / (2.0 * e)


def cell_areas_km2(transform: Affine, crs: Any, height: int) -> np.ndarray:
    """Cell area in km² for each of ``height`` rows (float64, length ``height``).

    Exact for equal-area projected CRSs (the nominal ``|det(transform)|``) and
    for geographic CRSs (ellipsoidal area of the cell's latitude band, the
    closed form ``b²·Δλ/2·[f(φ₂) − f(φ₁)]``). On other projected CRSs it is the
    nominal map-unit area, as GIS software reports it.
    """
    pcrs = require_crs(crs, purpose="cell areas")
    if not pcrs.is_geographic:
        factor = _linear_factor(pcrs)
        area = abs(transform.a * transform.e - transform.b * transform.d) * factor * factor
        return np.full(height, area / 1e6)
    if transform.b != 0 or transform.d != 0:
        raise InvalidInputError("rotated geographic grids are not supported for cell areas")
    a, e2 = ellipsoid_of(pcrs)
    b2 = a * a * (1.0 - e2)
    top, bottom = _row_center_lats(transform, height)
    if np.any(np.abs(top) > 90.0001) or np.any(np.abs(bottom) > 90.0001):
        raise InvalidInputError("grid rows extend beyond ±90° latitude")
    phi1 = np.radians(np.clip(np.minimum(top, bottom), -90, 90))
    phi2 = np.radians(np.clip(np.maximum(top, bottom), -90, 90))
    dlon = np.radians(abs(transform.a))
    area = b2 * dlon / 2.0 * (_authalic_term(phi2, e2) - _authalic_term(phi1, e2))
    return area / 1e6
