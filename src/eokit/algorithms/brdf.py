"""BRDF normalisation to nadir (NBAR) with the c-factor method of Roy et al. (2016).

Kernels: RossThick (volumetric) and LiSparse-Reciprocal (geometric, b/r = 1,
h/b = 2), Lucht et al. (2000) equations 38-44. The BRDF model is
``f = fiso + fvol*Kvol + fgeo*Kgeo`` with Roy et al.'s global per-band
coefficients; ``c = f(sun_zenith_out, view 0) / f(observed geometry)`` and
``NBAR = c * reflectance``.

Angle conventions (degrees): relative azimuth = sun azimuth - view azimuth, with
the view azimuth measured from the pixel towards the sensor, so 0 means the sun
is behind the sensor (backscatter, the hot spot) — as in sen2nbar.

geetools' ``brdfCorrect`` used Kvol in place of Kgeo, multiplied it by 3, and fed
the normalisation-zenith polynomial the scene longitude in radians; ``legacy=True``
in :func:`c_factor_legacy` reproduces those numbers for comparison only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from eokit.algorithms._kernels import in_row_chunks, valid_range
from eokit.algorithms._trig import c_factor_simd
from eokit.algorithms._trig32 import c_factor_f32
from eokit.algorithms._xarray import xarray_io
from eokit.errors import InvalidInputError

__all__ = [
    "BRDF_COEFFICIENTS",
    "brdf_model",
    "c_factor",
    "c_factor_legacy",
    "li_sparse_r",
    "nbar",
    "normalization_sun_zenith",
    "ross_thick",
]

log = logging.getLogger(__name__)

_TILE = 1 << 16  # pixels per compiled call (scalar angles are expanded to one tile only)

# Roy et al. 2016 (Landsat) and Roy et al. 2017 (Sentinel-2 red edge): (fiso, fgeo, fvol).
_LANDSAT = {
    "blue": (0.0774, 0.0079, 0.0372),
    "green": (0.1306, 0.0178, 0.0580),
    "red": (0.1690, 0.0227, 0.0574),
    "nir": (0.3093, 0.0330, 0.1535),
    "swir1": (0.3430, 0.0453, 0.1154),
    "swir2": (0.2658, 0.0387, 0.0639),
}
_S2_EXTRA = {
    "rededge1": (0.2085, 0.0256, 0.0845),
    "rededge2": (0.2316, 0.0273, 0.1003),
    "rededge3": (0.2599, 0.0294, 0.1197),
}
_S2_NAMES = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir",  # HLS corrects the narrow NIR band with the NIR coefficients
    "B11": "swir1",
    "B12": "swir2",
}
BRDF_COEFFICIENTS: dict[str, dict[str, tuple[float, float, float]]] = {
    "landsat": dict(_LANDSAT),
    "sentinel2": {**_LANDSAT, **_S2_EXTRA},
}


def _coefficients(band: str, sensor: str) -> tuple[float, float, float]:
    table = BRDF_COEFFICIENTS.get(sensor.lower())
    if table is None:
        raise InvalidInputError(f"unknown sensor {sensor!r}; expected one of {sorted(BRDF_COEFFICIENTS)}")
    key = band.lower()
    if sensor.lower() == "sentinel2":
        upper = band.upper()
        if len(upper) == 2 and upper[0] == "B" and upper[1].isdigit():
            upper = f"B0{upper[1]}"
        key = _S2_NAMES.get(upper, key)
    if key not in table:
        raise InvalidInputError(f"no BRDF coefficients for band {band!r} ({sensor}); expected one of {sorted(table)}")
    return table[key]


@xarray_io
def ross_thick(sun_zenith: Any, view_zenith: Any, relative_azimuth: Any) -> Any:
    """RossThick volumetric kernel (Lucht et al. 2000, eq. 38); angles in degrees.

    >>> round(float(ross_thick(0.0, 0.0, 0.0)), 6)  # (pi/2 * 1 + 0) / 2 - pi/4
    0.0
    """
    ti, tv, phi = np.radians(sun_zenith), np.radians(view_zenith), np.radians(relative_azimuth)
    cos_xi = np.clip(np.cos(ti) * np.cos(tv) + np.sin(ti) * np.sin(tv) * np.cos(phi), -1.0, 1.0)
    xi = np.arccos(cos_xi)
    return ((np.pi / 2 - xi) * cos_xi + np.sin(xi)) / (np.cos(ti) + np.cos(tv)) - np.pi / 4


@xarray_io
def li_sparse_r(sun_zenith: Any, view_zenith: Any, relative_azimuth: Any, *, br: float = 1.0, hb: float = 2.0) -> Any:
    """LiSparse-Reciprocal geometric kernel (Lucht et al. 2000, eqs. 39-44); angles in degrees."""
    ti, tv, phi = np.radians(sun_zenith), np.radians(view_zenith), np.radians(relative_azimuth)
    tan_i = br * np.tan(ti)
    tan_v = br * np.tan(tv)
    ti_p, tv_p = np.arctan(tan_i), np.arctan(tan_v)
    cos_xi_p = np.cos(ti_p) * np.cos(tv_p) + np.sin(ti_p) * np.sin(tv_p) * np.cos(phi)
    d = np.sqrt(np.maximum(tan_i**2 + tan_v**2 - 2 * tan_i * tan_v * np.cos(phi), 0.0))
    sec_sum = 1 / np.cos(ti_p) + 1 / np.cos(tv_p)
    cos_t = np.clip(hb * np.sqrt(d**2 + (tan_i * tan_v * np.sin(phi)) ** 2) / sec_sum, -1.0, 1.0)
    t = np.arccos(cos_t)
    overlap = (1 / np.pi) * (t - np.sin(t) * cos_t) * sec_sum
    return overlap - sec_sum + 0.5 * (1 + cos_xi_p) / (np.cos(ti_p) * np.cos(tv_p))


@xarray_io
def brdf_model(band: str, sun_zenith: Any, view_zenith: Any, relative_azimuth: Any, *, sensor: str = "landsat") -> Any:
    """``fiso + fvol*Kvol + fgeo*Kgeo`` for one band."""
    fiso, fgeo, fvol = _coefficients(band, sensor)
    return (
        fiso
        + fvol * ross_thick(sun_zenith, view_zenith, relative_azimuth)
        + fgeo * li_sparse_r(sun_zenith, view_zenith, relative_azimuth)
    )


@xarray_io
def normalization_sun_zenith(lat_deg: Any) -> Any:
    """Normalisation sun zenith in degrees for a latitude in degrees (Zhang et al. 2016 polynomial).

    >>> round(float(normalization_sun_zenith(0.0)), 4)
    31.0076
    """
    lat = lat_deg if hasattr(lat_deg, "dask") else np.asarray(lat_deg, dtype=np.float64)
    if not hasattr(lat, "dask") and np.any(np.abs(lat[np.isfinite(lat)]) > 90):
        raise InvalidInputError("latitude outside -90..90 degrees")
    return (
        31.0076
        - 0.1272 * lat
        + 0.01187 * lat**2
        + 2.40e-05 * lat**3
        - 9.48e-07 * lat**4
        - 1.95e-09 * lat**5
        + 6.15e-11 * lat**6
    )


@xarray_io
def c_factor(
    band: str,
    sun_zenith: Any,
    view_zenith: Any,
    relative_azimuth: Any,
    *,
    sun_zenith_out: Any = None,
    sensor: str = "landsat",
) -> Any:
    """c-factor ``f(sun_zenith_out, nadir view) / f(sun_zenith, view_zenith, relative_azimuth)``.

    ``band`` is one of ``blue green red nir swir1 swir2`` (Sentinel-2 also
    ``rededge1..3`` or ``B02``..``B12``); ``sun_zenith_out=None`` keeps the observed
    sun zenith (as sen2nbar does); pass :func:`normalization_sun_zenith` of the
    latitude for Roy et al.'s fixed normalisation.
    """
    szo = sun_zenith if sun_zenith_out is None else sun_zenith_out
    args = (sun_zenith, view_zenith, relative_azimuth, szo)
    coef = _coefficients(band, sensor)
    same = sun_zenith_out is None
    if not any(hasattr(a, "dask") or hasattr(a, "dims") for a in args):
        return _c_factor_numpy(coef, args, same=same)
    if any(hasattr(a, "dask") for a in args):  # dask: the compiled kernel block by block
        import dask.array as da

        blocks = da.broadcast_arrays(*(da.asarray(a) for a in args))
        f32 = all(b.dtype == np.float32 for b, a in zip(blocks, args, strict=True) if type(a) not in (int, float))
        dt = np.float32 if f32 else np.float64
        return da.map_blocks(
            lambda *b: _c_factor_numpy(coef, tuple(x.astype(dt, copy=False) for x in b), same=same), *blocks, dtype=dt
        )
    raise InvalidInputError("c_factor takes numpy, dask or xarray arrays")  # pragma: no cover - xarray_io unwraps


def _c_factor_numpy(coef: tuple[float, float, float], args: tuple[Any, ...], *, same: bool) -> Any:
    """One compiled, SIMD-vectorised pass (threads over contiguous pieces) instead of ~40 temporary arrays.

    float32 angle arrays (Python scalars aside) give a float32 result from the float32
    kernel; anything else is computed and returned in float64.
    """
    fiso, fgeo, fvol = coef
    arrs = [np.asarray(a) for a in args]
    f32 = all(a.dtype == np.float32 for a, src in zip(arrs, args, strict=True) if type(src) not in (int, float))
    dtype = np.float32 if f32 else np.float64
    kernel: Any = c_factor_f32 if f32 else c_factor_simd
    shape = np.broadcast_shapes(*(a.shape for a in arrs))
    n = int(np.prod(shape)) if shape else 1
    scalar = [a.size == 1 and n > 1 for a in arrs]
    tile = min(n, _TILE)
    flat = [
        np.full(tile, a.reshape(-1)[0], dtype=dtype)  # a scalar: one tile of it, reused
        if sc
        else np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1)
        for a, sc in zip(arrs, scalar, strict=True)
    ]
    res = np.empty(n, dtype=dtype)

    def run(r0: int, r1: int) -> None:
        if not any(scalar):  # whole piece in one call
            kernel(*(f[r0:r1] for f in flat), fiso, fvol, fgeo, same, res[r0:r1])
            return
        for t0 in range(r0, r1, _TILE):
            t1 = min(t0 + _TILE, r1)
            parts = [f[: t1 - t0] if sc else f[t0:t1] for f, sc in zip(flat, scalar, strict=True)]
            kernel(*parts, fiso, fvol, fgeo, same, res[t0:t1])

    in_row_chunks(run, n, n * 8)
    return res.reshape(shape) if shape else float(res[0])


@xarray_io
def c_factor_legacy(
    band: str, sun_zenith: Any, view_zenith: Any, relative_azimuth: Any, *, center_lon_deg: float
) -> Any:
    """geetools' ``brdfCorrect`` c-factor, bugs included — for comparison only.

    It uses ``fiso + 3*fvol*Kvol + 3*fgeo*Kvol`` (Kvol twice, times 3) and a
    normalisation zenith from the latitude polynomial evaluated at the scene
    centre *longitude in radians*.
    """
    fiso, fgeo, fvol = _coefficients(band, "landsat")
    szo = normalization_sun_zenith(np.radians(center_lon_deg))

    def f(sz: Any, vz: Any, ra: Any) -> Any:
        k = 3 * ross_thick(sz, vz, ra)
        return fiso + fvol * k + fgeo * k

    return f(szo, 0.0, 0.0) / f(sun_zenith, view_zenith, relative_azimuth)


def _check_reflectance(name: str, data: Any) -> None:
    if hasattr(data, "dask") or not hasattr(data, "dtype"):
        return
    lo, hi, any_valid = valid_range(np.asarray(data))
    if not any_valid:
        raise InvalidInputError(f"band {name!r} is all nodata")
    if lo < -2000 or hi > 20000:
        raise InvalidInputError(
            f"band {name!r} holds values {lo:g}..{hi:g}: not reflectance (expected 0..1 or 0..10000)"
        )


@xarray_io
def nbar(
    bands: Mapping[str, Any],
    *,
    sun_zenith: Any,
    view_zenith: Any,
    relative_azimuth: Any = None,
    sun_azimuth: Any = None,
    view_azimuth: Any = None,
    sun_zenith_out: Any = None,
    sensor: str = "landsat",
) -> dict[str, Any]:
    """Nadir BRDF-adjusted reflectance for each band: ``c_factor * band``.

    ``bands`` maps band names (see :func:`c_factor`) to reflectance arrays (0..1
    or 0..10000; NaN = nodata, kept). Angles in degrees, scalars or arrays that
    broadcast with the bands; give ``relative_azimuth`` or both azimuths
    (relative = sun - view). Raises :class:`InvalidInputError` for unknown bands,
    non-reflectance values or all-nodata bands.
    """
    if relative_azimuth is None:
        if sun_azimuth is None or view_azimuth is None:
            raise InvalidInputError("give relative_azimuth, or both sun_azimuth and view_azimuth")
        relative_azimuth = sun_azimuth - view_azimuth
    if not bands:
        raise InvalidInputError("no bands given")
    out = {}
    for name, data in bands.items():
        _coefficients(name, sensor)
        _check_reflectance(name, data)
        c = c_factor(name, sun_zenith, view_zenith, relative_azimuth, sun_zenith_out=sun_zenith_out, sensor=sensor)
        arr = data.astype(np.float32) if getattr(data, "dtype", np.dtype("f4")).kind != "f" else data
        out[name] = (arr * c).astype(np.float32)
    return out
