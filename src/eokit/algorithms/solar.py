"""Sun and sensor geometry: solar position (NOAA / Meeus) and Landsat per-pixel view geometry.

:func:`solar_position` follows the NOAA Solar Calculator equations (Meeus,
*Astronomical Algorithms*): geometric sun zenith (no refraction) and azimuth
clockwise from north, vectorised over broadcastable time / lat / lon arrays.
:func:`landsat_geometry` derives, from the ephemeris in a Landsat ``*_ANG.txt``,
when each pixel was imaged and where the sensor was: per-pixel acquisition
times (for the sun angles) and view zenith / azimuth (the "scene geometry").
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import numpy as np

from eokit.algorithms._common import lazy_pair
from eokit.algorithms._xarray import xarray_io
from eokit.errors import InvalidInputError

__all__ = ["landsat_geometry", "landsat_imaging_window", "pixel_lonlat", "solar_position", "to_datetime64"]

log = logging.getLogger(__name__)

_J2000 = np.datetime64("2000-01-01T12:00:00", "ns")
_PARALLAX = 8.794 / 3600.0  # degrees
_DELTA_T = 69.0  # TT - UT in seconds (2000-2030: 64-70 s); its effect on the angles is < 0.001 deg


def to_datetime64(time_utc: Any) -> np.ndarray:
    """UTC times (datetime, ISO string, numpy datetime64 or arrays of them) as ``datetime64[ns]``."""
    if isinstance(time_utc, dt.datetime) and time_utc.tzinfo is not None:
        time_utc = time_utc.astimezone(dt.UTC).replace(tzinfo=None)
    if hasattr(time_utc, "tz_convert") and getattr(time_utc, "tz", None) is not None:  # pandas
        time_utc = time_utc.tz_convert("UTC").tz_localize(None)
    try:
        return np.asarray(time_utc, dtype="datetime64[ns]")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"time_utc {time_utc!r} is not a UTC time ({exc})") from None


@xarray_io
def solar_position(time_utc: Any, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sun zenith and azimuth in degrees.

    Parameters
    ----------
    time_utc : datetime, datetime64, ISO string or array of them
        UTC time(s); timezone-aware datetimes are converted to UTC.
    lat, lon : float or array
        Latitude and longitude in degrees (WGS84). All three broadcast.

    Returns
    -------
    (zenith_deg, azimuth_deg) : arrays
        Geometric zenith (no atmospheric refraction) and azimuth clockwise from north.

    Examples
    --------
    >>> z, a = solar_position("2020-03-20T12:00:00", 0.0, 0.0)
    >>> bool(z < 2.0)
    True
    """
    lazy = lazy_pair(lambda la, lo: solar_position(time_utc, la, lo), lat, lon)
    if lazy is not None:
        return lazy
    t = to_datetime64(time_utc)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if np.any(np.abs(lat[np.isfinite(lat)]) > 90):
        raise InvalidInputError("latitude outside -90..90 degrees")
    days = (t - _J2000).astype("timedelta64[ns]").astype(np.float64) / 86400e9  # UT
    jc = (days + _DELTA_T / 86400.0) / 36525.0  # TT centuries for the sun's coordinates

    l0 = np.mod(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360.0)
    m = 357.52911 + jc * (35999.05029 - 0.0001537 * jc)
    mr = np.radians(m)
    center = (
        np.sin(mr) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + np.sin(2 * mr) * (0.019993 - 0.000101 * jc)
        + np.sin(3 * mr) * 0.000289
    )
    omega = np.radians(125.04 - 1934.136 * jc)
    app_long = l0 + center - 0.00569 - 0.00478 * np.sin(omega)
    mean_obliq = 23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60.0) / 60.0
    obliq = np.radians(mean_obliq + 0.00256 * np.cos(omega))
    decl = np.arcsin(np.sin(obliq) * np.sin(np.radians(app_long)))
    lam = np.radians(app_long)
    alpha = np.degrees(np.arctan2(np.cos(obliq) * np.sin(lam), np.cos(lam)))
    # Greenwich apparent sidereal time (Meeus 12.4 + equation of the equinoxes).
    gmst = 280.46061837 + 360.98564736629 * days + jc * jc * (0.000387933 - jc / 38710000.0)
    gast = gmst - 0.00478 * np.sin(omega) * np.cos(obliq)
    hour_angle = np.radians(np.mod(gast + lon - alpha, 360.0))
    phi = np.radians(lat)
    cos_z = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour_angle)
    zenith = np.degrees(np.arccos(np.clip(cos_z, -1.0, 1.0)))
    # Topocentric correction: solar parallax (8.794 arcsec at 1 au) lowers the sun seen from the surface.
    zenith = zenith + _PARALLAX * np.sin(np.radians(zenith))
    azimuth = np.degrees(np.arctan2(np.sin(hour_angle), np.cos(hour_angle) * np.sin(phi) - np.tan(decl) * np.cos(phi)))
    azimuth = np.mod(azimuth + 180.0, 360.0)
    return zenith, azimuth


def pixel_lonlat(
    transform: Any, crs: Any, shape: tuple[int, int], *, row: int = 0, col: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees, WGS84) of pixel centres of a window of a grid."""
    from pyproj import CRS, Transformer

    from eokit.core.crs import require_crs

    rows, cols = shape
    rr, cc = np.meshgrid(np.arange(row, row + rows) + 0.5, np.arange(col, col + cols) + 0.5, indexing="ij")
    a, b, c, d, e, f = tuple(transform)[:6]
    x = a * cc + b * rr + c
    y = d * cc + e * rr + f
    src = require_crs(crs, purpose="sun and view angles")
    if src.is_geographic and src.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return x, y
    tr = Transformer.from_crs(src, CRS.from_epsg(4326), always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    lam, phi = np.radians(lon), np.radians(lat)
    n = a / np.sqrt(1 - e2 * np.sin(phi) ** 2)
    return np.stack([n * np.cos(phi) * np.cos(lam), n * np.cos(phi) * np.sin(lam), n * (1 - e2) * np.sin(phi)])


@xarray_io
def landsat_geometry(ang: str | os.PathLike[str] | dict[str, Any], lon: Any, lat: Any) -> dict[str, np.ndarray]:
    """Per-pixel acquisition time and view angles from a Landsat ``*_ANG.txt`` ephemeris.

    A ground point is imaged when the satellite's along-track position passes it,
    i.e. when ``(P - S(t)) · V(t) = 0`` for the ECEF ground point ``P`` and the
    satellite position ``S`` and velocity ``V``. The ephemeris (1 s samples) is
    interpolated linearly to that instant; the line of sight then gives the view
    zenith and the view azimuth (clockwise from north, from the pixel to the sensor).

    Returns ``{"time": datetime64[ns], "view_zenith": deg, "view_azimuth": deg}``
    shaped like ``lon``/``lat``.
    """
    from eokit.algorithms.metadata import read_ang

    tree = read_ang(ang) if not isinstance(ang, dict) else ang
    eph = tree["EPHEMERIS"]
    t = np.asarray(eph["EPHEMERIS_TIME"], dtype=np.float64)
    # Landsat 7 ANG files give EPHEMERIS_TIME in seconds of the epoch day; Landsat 8/9 files count from
    # EPHEMERIS_EPOCH_SECONDS (0, 1, 2...). Both become seconds of the epoch day.
    epoch_s = float(eph.get("EPHEMERIS_EPOCH_SECONDS", 0.0))
    if len(t) and t[0] + 0.5 < epoch_s:
        t = t + epoch_s
    s = np.stack([np.asarray(eph[f"EPHEMERIS_ECEF_{k}"], dtype=np.float64) for k in "XYZ"], axis=1)  # (n, 3)
    if len(t) < 2 or s.shape[0] != len(t):
        raise InvalidInputError("ANG ephemeris has fewer than 2 samples or inconsistent lengths")
    v = np.gradient(s, t, axis=0)
    epoch = np.datetime64(f"{int(eph['EPHEMERIS_EPOCH_YEAR']):04d}-01-01", "ns") + np.timedelta64(
        int(eph["EPHEMERIS_EPOCH_DAY"]) - 1, "D"
    )
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    p = _ecef(lon.ravel(), lat.ravel())  # (3, N)
    # g[k, i] = (P_i - S_k) . V_k, decreasing in time as the satellite passes.
    g = np.einsum("kj,ji->ki", v, p) - np.einsum("kj,kj->k", v, s)[:, None]
    k = np.clip(np.sum(g > 0, axis=0) - 1, 0, len(t) - 2)
    g0 = g[k, np.arange(g.shape[1])]
    g1 = g[k + 1, np.arange(g.shape[1])]
    frac = g0 / (g0 - g1)
    when = t[k] + frac * (t[k + 1] - t[k])
    sat = s[k] + frac[:, None] * (s[k + 1] - s[k])  # (N, 3)
    los = sat.T - p
    los /= np.linalg.norm(los, axis=0)
    lam, phi = np.radians(lon.ravel()), np.radians(lat.ravel())
    east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)])
    north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)])
    up = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    vz = np.degrees(np.arccos(np.clip((los * up).sum(0), -1, 1)))
    vaz = np.mod(np.degrees(np.arctan2((los * east).sum(0), (los * north).sum(0))), 360.0)
    times = epoch + (when * 1e9).astype("timedelta64[ns]")
    return {
        "time": times.reshape(lon.shape),
        "view_zenith": vz.reshape(lon.shape),
        "view_azimuth": vaz.reshape(lon.shape),
    }


def landsat_imaging_window(ang: str | os.PathLike[str] | dict[str, Any], band: str = "01") -> tuple[Any, Any]:
    """First and last imaging instants (``datetime64[ns]``) of a band from a Landsat ``*_ANG.txt``.

    From ``BANDnn_START_TIME`` plus (L1R lines / lines per scan) x ``BANDnn_LINE_TIME``.
    """
    from eokit.algorithms.metadata import read_ang

    tree = read_ang(ang) if not isinstance(ang, dict) else ang
    rpc = tree.get(f"RPC_BAND{band}")
    eph = tree["EPHEMERIS"]
    if not rpc or not rpc.get(f"BAND{band}_LINE_TIME"):
        raise InvalidInputError(f"ANG file has no timing for band {band}")
    start = float(rpc[f"BAND{band}_START_TIME"])
    scans = float(rpc[f"BAND{band}_NUM_L1R_LINES"]) / float(rpc.get(f"BAND{band}_LINES_PER_SCAN", 1))
    end = start + scans * float(rpc[f"BAND{band}_LINE_TIME"])
    day = np.datetime64(f"{int(eph['EPHEMERIS_EPOCH_YEAR']):04d}-01-01", "ns") + np.timedelta64(
        int(eph["EPHEMERIS_EPOCH_DAY"]) - 1, "D"
    )
    return day + np.timedelta64(int(start * 1e9), "ns"), day + np.timedelta64(int(end * 1e9), "ns")
