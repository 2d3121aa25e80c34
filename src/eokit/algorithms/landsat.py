"""Landsat and Sentinel-2 utilities: SLC-off unmasking, rescaling, Collection 2 scaling,
QA_PIXEL / SCL masks and Landsat 7 <-> 8 harmonisation (Roy et al. 2016).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from eokit.algorithms._common import as_array
from eokit.algorithms._kernels import affine_nodata, flat_chunks, qa_bits, valid_range
from eokit.algorithms._xarray import xarray_io
from eokit.core.arrays import is_dask
from eokit.errors import InvalidInputError

__all__ = [
    "C2_SR",
    "C2_ST",
    "HARMONIZATION",
    "HLS_MSI_TO_OLI",
    "QA_BITS",
    "SCL_CLASSES",
    "SENSOR_LIFE",
    "check_acquisition",
    "harmonize",
    "qa_pixel_mask",
    "rescale",
    "scale_collection2",
    "scl_mask",
    "unmask_slc_off",
]

log = logging.getLogger(__name__)

# First and last acquisition dates (None = still acquiring).
SENSOR_LIFE: dict[str, tuple[dt.date, dt.date | None]] = {
    "landsat4": (dt.date(1982, 7, 16), dt.date(1993, 12, 14)),
    "landsat5": (dt.date(1984, 3, 1), dt.date(2013, 6, 5)),
    "landsat7": (dt.date(1999, 4, 15), dt.date(2025, 6, 4)),
    "landsat8": (dt.date(2013, 2, 11), None),
    "landsat9": (dt.date(2021, 9, 27), None),
    "sentinel2a": (dt.date(2015, 6, 23), None),
    "sentinel2b": (dt.date(2017, 3, 7), None),
    "sentinel2c": (dt.date(2024, 9, 5), None),
}
SLC_FAILURE = dt.date(2003, 5, 31)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]").item()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidInputError(f"acquisition date {value!r} is not an ISO date", param="date") from None


def _norm_sensor(sensor: str) -> str:
    key = sensor.lower().replace("-", "").replace("_", "").replace(" ", "")
    key = {"l4": "landsat4", "l5": "landsat5", "l7": "landsat7", "l8": "landsat8", "l9": "landsat9"}.get(key, key)
    key = {"le07": "landsat7", "lc08": "landsat8", "lc09": "landsat9", "lt05": "landsat5"}.get(key, key)
    if key not in SENSOR_LIFE:
        raise InvalidInputError(f"unknown sensor {sensor!r}; expected one of {sorted(SENSOR_LIFE)}")
    return key


def check_acquisition(sensor: str, date: Any) -> dt.date:
    """Return ``date`` as a date; raise :class:`InvalidInputError` if it is outside the sensor's life."""
    key = _norm_sensor(sensor)
    day = _as_date(date)
    first, last = SENSOR_LIFE[key]
    if day < first or (last is not None and day > last):
        span = f"{first}..{last or 'today'}"
        raise InvalidInputError(f"acquisition date {day} is outside {key}'s life ({span})")
    return day


def _stack(bands: Any) -> Any:
    arr = as_array(bands)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InvalidInputError(f"bands must be (bands, rows, cols), got shape {arr.shape}")
    return arr


@xarray_io
def unmask_slc_off(bands: Any, *, date: Any, sensor: str = "landsat7", nodata: float | None = None) -> tuple[Any, Any]:
    """Turn Landsat 7 SLC-off stripe pixels into valid zeros.

    ``bands`` holds the optical bands ``(bands, rows, cols)``; a pixel where *every*
    band is empty (``nodata`` or NaN) becomes 0 in all bands and valid. Pixels with
    only some bands empty stay nodata. Acquisitions before 2003-05-31 are returned
    unchanged. Returns ``(data, valid)`` with ``valid`` ``(rows, cols)`` bool.
    Raises :class:`InvalidInputError` for a sensor other than Landsat 7 or a date
    outside its life.
    """
    key = _norm_sensor(sensor)
    if key != "landsat7":
        raise InvalidInputError(f"unmask_slc_off applies to Landsat 7 only, not {key}")
    day = check_acquisition(key, date)
    arr = _stack(bands)
    empty = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        empty = empty | (arr == nodata)
    valid_all = ~empty.any(axis=0)
    if day < SLC_FAILURE:
        return arr, valid_all
    stripe = empty.all(axis=0)
    xp = _xp(arr)
    zero = xp.zeros((), dtype=arr.dtype)
    data = xp.where(stripe[None], zero, arr)  # type: ignore[index]  # stripe is an array here
    return data, valid_all | stripe


def _affine(arr: np.ndarray, mult: float, add: float, nodata: float, has: bool, fill: float) -> np.ndarray:
    """float32 ``arr * mult + add`` in one compiled pass (threads over pieces); nodata/NaN -> ``fill``."""
    x = np.ascontiguousarray(arr).ravel()
    out = np.empty(x.size, dtype=np.float32)
    flat_chunks(lambda s: affine_nodata(x[s], mult, add, nodata, has, fill, out[s]), x.size)
    return out.reshape(arr.shape)


def _xp(arr: Any) -> Any:
    if is_dask(arr):
        import dask.array as da

        return da
    return np


# Collection 1 conventions: TOA optical 0..1, thermal kelvin; SR optical x10000, thermal x10.
_C1_SCALE = {"optical": 10000.0, "thermal": 10.0}


@xarray_io
def rescale(
    data: Any,
    *,
    source: str,
    target: str,
    kind: str = "optical",
    max_raw: int = 255,
    thermal_range: tuple[float, float] | None = None,
) -> Any:
    """Rescale Landsat Collection 1 data between ``TOA``, ``SR`` and ``RAW`` conventions.

    Optical: TOA reflectance 0..1 <-> SR integers x10000; RAW is TOA mapped linearly
    0..1 -> 0..``max_raw`` (255 for Landsat 4-7, 65535 for Landsat 8/9; clipped, rounded).
    Thermal: TOA kelvin <-> SR x10 (geetools' docstring says x100; the products use
    x10); thermal RAW needs ``thermal_range=(k_min, k_max)`` for the linear map.
    NaN stays NaN.
    """
    src, dst = source.upper(), target.upper()
    allowed = {"TOA", "SR", "RAW"}
    if src not in allowed or dst not in allowed:
        raise InvalidInputError(f"source/target must be one of {sorted(allowed)}, got {source!r} -> {target!r}")
    if kind not in _C1_SCALE:
        raise InvalidInputError(f"kind must be 'optical' or 'thermal', got {kind!r}")
    arr = as_array(data)
    x = arr.astype(np.float64) if arr.dtype.kind != "f" else arr
    if src == dst:
        return x
    factor = _C1_SCALE[kind]
    if kind == "thermal":
        lo, hi = thermal_range if thermal_range is not None else (None, None)
    else:
        lo, hi = 0.0, 1.0

    def raw_range() -> tuple[float, float]:
        if lo is None:
            raise InvalidInputError("thermal RAW conversion needs thermal_range=(k_min, k_max)")
        return float(lo), float(hi if hi is not None else lo)

    # to TOA
    if src == "SR":
        toa = x / factor
    elif src == "RAW":
        a, b = raw_range()
        toa = a + x / max_raw * (b - a)
    else:
        toa = x
    if dst == "TOA":
        return toa
    if dst == "SR":
        return toa * factor
    a, b = raw_range()
    xp = _xp(toa)
    scaled = xp.clip((toa - a) / (b - a), 0.0, 1.0) * max_raw
    return xp.round(scaled)


C2_SR = (2.75e-5, -0.2)
C2_ST = (0.00341802, 149.0)


@xarray_io
def scale_collection2(
    dn: Any, *, kind: str = "sr", nodata: float | None = 0, mult: float | None = None, add: float | None = None
) -> Any:
    """Collection 2 Level-2 digital numbers to physical values (float32; nodata -> NaN).

    ``kind="sr"``: reflectance = DN x 2.75e-5 - 0.2; ``kind="st"``: kelvin =
    DN x 0.00341802 + 149.0. ``mult``/``add`` override (e.g. from
    :func:`eokit.algorithms.metadata.scale_factors`).
    """
    defaults = {"sr": C2_SR, "st": C2_ST}
    if kind.lower() not in defaults:
        raise InvalidInputError(f"kind must be 'sr' or 'st', got {kind!r}")
    m0, a0 = defaults[kind.lower()]
    m = m0 if mult is None else float(mult)
    a = a0 if add is None else float(add)
    arr = as_array(dn)
    if not is_dask(arr):
        has = nodata is not None and not np.isnan(nodata)
        return _affine(arr, m, a, float(nodata) if nodata is not None and has else 0.0, has, np.nan)
    out = arr.astype(np.float32) * np.float32(m) + np.float32(a)
    if nodata is not None:
        out = _xp(arr).where(arr == nodata, np.float32(np.nan), out)
    return out


# QA_PIXEL (Collection 2) bit positions.
QA_BITS = {
    "fill": 0,
    "dilated_cloud": 1,
    "cirrus": 2,
    "cloud": 3,
    "shadow": 4,
    "snow": 5,
    "clear": 6,
    "water": 7,
}


@xarray_io
def qa_pixel_mask(
    qa: Any,
    *,
    fill: bool = True,
    dilated_cloud: bool = True,
    cirrus: bool = True,
    cloud: bool = True,
    shadow: bool = True,
    snow: bool = False,
    water: bool = False,
    cloud_confidence: str | None = None,
) -> Any:
    """Boolean mask (``True`` = masked) from a Collection 2 ``QA_PIXEL`` band.

    Each flag selects one bit (fill 0, dilated cloud 1, cirrus 2, cloud 3, shadow 4,
    snow 5, water 7). ``cloud_confidence="medium"|"high"`` also masks pixels whose
    cloud-confidence bits 8-9 reach that level.
    """
    arr = as_array(qa)
    if arr.dtype.kind not in "iu":
        raise InvalidInputError(f"QA_PIXEL must be an integer band, got {arr.dtype}")
    chosen = {"fill": fill, "dilated_cloud": dilated_cloud, "cirrus": cirrus, "cloud": cloud, "shadow": shadow}
    chosen.update(snow=snow, water=water)
    bits = 0
    for name, on in chosen.items():
        if on:
            bits |= 1 << QA_BITS[name]
    level = 0
    if cloud_confidence is not None:
        level = {"low": 1, "medium": 2, "high": 3}.get(cloud_confidence, -1)
        if level < 0:
            raise InvalidInputError(f"cloud_confidence must be low|medium|high, got {cloud_confidence!r}")
    if not is_dask(arr):
        x = np.ascontiguousarray(arr).ravel()
        res = np.empty(x.size, dtype=bool)
        flat_chunks(lambda s: qa_bits(x[s], bits, level, res[s]), x.size)
        return res.reshape(arr.shape)
    arr = arr.astype(np.uint16)
    mask = (arr & np.uint16(bits)) != 0
    if level:
        mask = mask | (((arr >> 8) & 3) >= level)
    return mask


SCL_CLASSES = {
    "no_data": 0,
    "saturated": 1,
    "dark_area": 2,
    "cloud_shadow": 3,
    "vegetation": 4,
    "not_vegetated": 5,
    "water": 6,
    "unclassified": 7,
    "cloud_medium": 8,
    "cloud_high": 9,
    "cirrus": 10,
    "snow": 11,
}
SCL_DEFAULT = ("no_data", "saturated", "cloud_shadow", "cloud_medium", "cloud_high", "cirrus")


@xarray_io
def scl_mask(scl: Any, *, classes: Iterable[str | int] = SCL_DEFAULT) -> Any:
    """Boolean mask (``True`` = masked) of Sentinel-2 L2A scene-classification pixels in ``classes``."""
    codes = []
    for c in classes:
        if isinstance(c, (int, np.integer)):
            if not 0 <= int(c) <= 11:
                raise InvalidInputError(f"SCL class {c} outside 0..11", param="classes")
            codes.append(int(c))
        elif c in SCL_CLASSES:
            codes.append(SCL_CLASSES[c])
        else:
            raise InvalidInputError(f"unknown SCL class {c!r}; expected one of {sorted(SCL_CLASSES)}", param="classes")
    arr = as_array(scl)
    mask = arr == codes[0] if codes else arr != arr
    for code in codes[1:]:
        mask = mask | (arr == code)
    return mask


# Roy et al. 2016, Table 2. Bands: blue green red nir swir1 swir2.
_BANDS6 = ("blue", "green", "red", "nir", "swir1", "swir2")
HARMONIZATION = {
    # RMA: OLI = a + b * ETM+ (one line, used both ways).
    "rma": {
        "a": (-0.0095, -0.0016, -0.0022, -0.0021, -0.0030, 0.0029),
        "b": (0.9785, 0.9542, 0.9825, 1.0073, 1.0171, 0.9949),
    },
    # OLS, ETM+ -> OLI: OLI = a + b * ETM+.
    "ols_l7_to_l8": {
        "a": (0.0003, 0.0088, 0.0061, 0.0412, 0.0254, 0.0172),
        "b": (0.8474, 0.8483, 0.9047, 0.8462, 0.8937, 0.9071),
    },
    # OLS, OLI -> ETM+: ETM+ = a + b * OLI.
    "ols_l8_to_l7": {
        "a": (0.0183, 0.0123, 0.0123, 0.0448, 0.0306, 0.0116),
        "b": (0.8850, 0.9317, 0.9372, 0.8339, 0.8639, 0.9165),
    },
}
# HLS bandpass adjustment, Sentinel-2 MSI -> Landsat 8/9 OLI: OLI = slope * MSI + offset, per platform
# (Claverie et al. 2018, Remote Sens. Environ. 219; HLS User Guide v1.4 Table 4, carried into v2.0).
# "nir" is MSI B8A (narrow NIR, OLI B5); the broad B08 and the red-edge bands have no OLI equivalent.
_BANDS7 = ("aerosol", *_BANDS6)
HLS_MSI_TO_OLI: dict[str, dict[str, tuple[float, float]]] = {
    "sentinel2a": {
        "aerosol": (0.9959, -0.0002), "blue": (0.9778, -0.0040), "green": (1.0053, -0.0009),
        "red": (0.9765, 0.0009), "nir": (0.9983, -0.0001), "swir1": (0.9987, -0.0011), "swir2": (1.0030, -0.0012),
    },
    "sentinel2b": {
        "aerosol": (0.9959, -0.0002), "blue": (0.9778, -0.0040), "green": (1.0075, -0.0008),
        "red": (0.9761, 0.0010), "nir": (0.9966, 0.0000), "swir1": (1.0000, -0.0003), "swir2": (0.9867, 0.0004),
    },
}  # fmt: skip
_S2_HLS_NAMES = {"B01": "aerosol", "B02": "blue", "B03": "green", "B04": "red", "B8A": "nir", "B11": "swir1",
                 "B12": "swir2"}  # fmt: skip
_L7_NAMES = {"B1": "blue", "B2": "green", "B3": "red", "B4": "nir", "B5": "swir1", "B7": "swir2"}
_L8_NAMES = {"B2": "blue", "B3": "green", "B4": "red", "B5": "nir", "B6": "swir1", "B7": "swir2"}


def _band_key(name: str, direction: str) -> str:
    low = name.lower()
    if direction == "s2_to_oli":
        up = name.upper()
        up = f"B0{up[1]}" if len(up) == 2 and up[0] == "B" and up[1].isdigit() else up
        key = "aerosol" if low in {"coastal", "aerosol"} else _S2_HLS_NAMES.get(up, low)
        if key not in _BANDS7:
            raise InvalidInputError(
                f"band {name!r} has no HLS bandpass adjustment to OLI; expected one of {list(_BANDS7)} or "
                f"{sorted(_S2_HLS_NAMES)} (B08 and the red-edge bands keep the MSI bandpass)", param="bands",
            )  # fmt: skip
        return key
    if low in _BANDS6:
        return low
    up = name.upper().replace("SR_", "")
    table = _L7_NAMES if direction == "l7_to_l8" else _L8_NAMES
    if up in table:
        return table[up]
    raise InvalidInputError(
        f"band {name!r} is not one of {list(_BANDS6)} nor a {'Landsat 7' if direction == 'l7_to_l8' else 'Landsat 8'} "
        f"band name ({sorted(table)})"
    )


@xarray_io
def harmonize(
    bands: Mapping[str, Any],
    *,
    direction: str = "l8_to_l7",
    method: str = "rma",
    scale: float = 1.0,
    nodata: float | None = None,
    platform: str | None = None,
) -> dict[str, Any]:
    """Harmonise surface reflectance across sensors.

    ``l8_to_l7`` / ``l7_to_l8``: Landsat 8 OLI <-> Landsat 7 ETM+ (Roy et al. 2016, Table 2).
    ``s2_to_oli``: Sentinel-2 MSI -> Landsat 8/9 OLI bandpass adjustment of HLS
    (Claverie et al. 2018; :data:`HLS_MSI_TO_OLI`), ``platform`` ``sentinel2a`` or
    ``sentinel2b`` (the coefficients differ); bands ``aerosol blue green red nir swir1
    swir2`` or MSI ids ``B01 B02 B03 B04 B8A B11 B12`` (``nir`` is the narrow B8A).

    Parameters
    ----------
    bands : mapping
        Reflectance arrays by band name: ``blue green red nir swir1 swir2`` or the
        source sensor's band names (``B1..B7`` of Landsat 7 for ``l7_to_l8``,
        ``B2..B7`` of Landsat 8 for ``l8_to_l7``; ``SR_`` prefix allowed).
    direction : ``"l8_to_l7"`` or ``"l7_to_l8"``
    method : ``"rma"`` or ``"ols"``
        RMA (``OLI = a + b*ETM+``; L8->L7 is ``(x - a*scale)/b``) or the OLS row for
        the direction.
    scale : float
        1 for 0..1 data, 10000 for 0..10000 data (intercepts are multiplied by it).
    nodata : float, optional
        Nodata value kept as is (NaN is always kept).

    Returns
    -------
    dict with the same keys, float32 arrays.
    """
    direction = direction.lower()
    method = method.lower()
    if direction not in {"l8_to_l7", "l7_to_l8", "s2_to_oli"}:
        raise InvalidInputError(
            f"direction must be 'l8_to_l7', 'l7_to_l8' or 's2_to_oli', got {direction!r}", param="direction"
        )
    hls = None
    if direction == "s2_to_oli":
        key = (platform or "").lower().replace("-", "").replace("_", "").replace(" ", "")
        if key not in HLS_MSI_TO_OLI:
            raise InvalidInputError(
                f"platform {platform!r}: HLS publishes MSI->OLI coefficients for {sorted(HLS_MSI_TO_OLI)} only",
                param="platform",
            )
        hls = HLS_MSI_TO_OLI[key]
    if method not in {"rma", "ols"}:
        raise InvalidInputError(f"method must be 'rma' or 'ols', got {method!r}")
    if not scale > 0:
        raise InvalidInputError(f"scale must be > 0, got {scale!r}")
    if not bands:
        raise InvalidInputError("no bands given")
    keys = {name: _band_key(name, direction) for name in bands}
    shapes = {name: tuple(as_array(v).shape) for name, v in bands.items()}
    if len(set(shapes.values())) > 1:
        raise InvalidInputError(f"band shapes differ: {shapes}")
    dupes = {k for k in keys.values() if list(keys.values()).count(k) > 1}
    if dupes:
        raise InvalidInputError(f"bands map to the same band more than once: {sorted(dupes)}")
    out = {}
    for name, data in bands.items():
        arr = as_array(data)
        _check_range(name, arr, scale, nodata)
        if hls is not None:
            mult, add = hls[keys[name]][0], hls[keys[name]][1] * scale
        elif method == "rma":
            i = _BANDS6.index(keys[name])
            a, b = HARMONIZATION["rma"]["a"][i] * scale, HARMONIZATION["rma"]["b"][i]
            # l7_to_l8: y = a + b x; l8_to_l7: y = (x - a) / b = x / b - a / b
            mult, add = (b, a) if direction == "l7_to_l8" else (1.0 / b, -a / b)
        else:
            i = _BANDS6.index(keys[name])
            coef = HARMONIZATION[f"ols_{direction}"]
            mult, add = coef["b"][i], coef["a"][i] * scale
        has = nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata))
        if not is_dask(arr):
            nd = float(nodata) if nodata is not None and has else 0.0
            out[name] = _affine(arr, mult, add, nd, has, nd if has else np.nan)
            continue
        y = (arr.astype(np.float32) * np.float32(mult) + np.float32(add)).astype(np.float32)
        if has:
            y = _xp(arr).where(arr == nodata, np.float32(nodata), y)
        out[name] = y
    return out


def _check_range(name: str, arr: Any, scale: float, nodata: float | None) -> None:
    if is_dask(arr):
        return
    lo, hi, any_valid = valid_range(np.asarray(arr), nodata)
    if not any_valid:
        raise InvalidInputError(f"band {name!r} is all nodata")
    if hi > 2.0 * scale or lo < -0.5 * scale:
        raise InvalidInputError(
            f"band {name!r} holds {lo:g}..{hi:g}: not reflectance for scale={scale:g} (expected 0..{scale:g})"
        )
