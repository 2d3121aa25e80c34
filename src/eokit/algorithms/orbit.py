"""View angles from the scene geometry: a sun-synchronous orbit over a spherical Earth.

When a product has neither per-pixel view-angle bands nor an ephemeris, the view
geometry follows from where the pixel lies relative to the satellite's nadir
ground track:

* the track heading at the scene latitude ``phi`` comes from the orbit inclination
  ``i``: in inertial space a descending pass heads at azimuth ``alpha`` with
  ``sin(alpha) = cos(i) / cos(phi)`` (south-south-west for ``i > 90``); over the
  ground the Earth's rotation (``omega_E R cos(phi)`` eastward) is subtracted from
  the satellite's ground velocity ``n R`` (``n`` the mean motion from Kepler's
  third law for the orbit altitude);
* the track is the great circle with that heading through the scene centre (or a
  given nadir point); a pixel's signed cross-track distance ``x`` is the spherical
  cross-track distance to it;
* the view zenith at central angle ``g = |x| / R`` from the track is
  ``g + atan(R sin g / (R + h - R cos g))`` for orbit altitude ``h``, and the view
  azimuth (from the pixel towards the sensor) is perpendicular to the track,
  towards it.

Landsat 4-9 fly at 705 km (inclination 98.2 degrees), Sentinel-2 at 786 km
(98.62 degrees); both image on the descending (daytime) pass.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from eokit.algorithms._common import lazy_pair
from eokit.algorithms._xarray import xarray_io
from eokit.errors import InvalidInputError

__all__ = ["ORBITS", "Orbit", "scene_center_lonlat", "scene_view_angles", "track_heading"]

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG)
_GM = 3.986004418e14  # m^3 s^-2
_OMEGA_EARTH = 7.2921150e-5  # rad/s


@dataclass(frozen=True)
class Orbit:
    """A near-polar sun-synchronous orbit: altitude (m) and inclination (degrees)."""

    altitude_m: float
    inclination_deg: float

    @property
    def mean_motion(self) -> float:
        """Angular speed in rad/s (Kepler's third law for a circular orbit of radius R_e + h)."""
        a = 6378137.0 + self.altitude_m
        return math.sqrt(_GM / a**3)


ORBITS: dict[str, Orbit] = {
    "landsat": Orbit(705_000.0, 98.2),
    "sentinel2": Orbit(786_000.0, 98.62),
}


def _orbit(sensor: str | Orbit) -> Orbit:
    if isinstance(sensor, Orbit):
        return sensor
    orbit = ORBITS.get(str(sensor).lower())
    if orbit is None:
        raise InvalidInputError(f"unknown sensor {sensor!r} for the scene geometry; expected one of {sorted(ORBITS)}")
    return orbit


def track_heading(lat_deg: float, *, sensor: str | Orbit = "landsat", descending: bool = True) -> float:
    """Azimuth (degrees clockwise from north) of the nadir ground track's motion at ``lat_deg``.

    >>> round(track_heading(0.0), 2)  # Landsat, equator, descending: ~12 degrees west of south
    192.06
    """
    orbit = _orbit(sensor)
    phi = math.radians(lat_deg)
    s = math.cos(math.radians(orbit.inclination_deg)) / math.cos(phi)
    if abs(s) > 1:
        raise InvalidInputError(f"latitude {lat_deg:g} is beyond the orbit's reach ({180 - orbit.inclination_deg:g})")
    alpha = math.asin(s)  # ascending-pass heading in inertial space (negative: west of north)
    if descending:
        alpha = math.pi - alpha
    n = orbit.mean_motion
    east = n * math.sin(alpha) - _OMEGA_EARTH * math.cos(phi)
    north = n * math.cos(alpha)
    return math.degrees(math.atan2(east, north)) % 360.0


def scene_center_lonlat(transform: Any, crs: Any, shape: tuple[int, int]) -> tuple[float, float]:
    """Longitude and latitude of the centre of a grid of ``shape`` (rows, cols)."""
    from eokit.algorithms.solar import pixel_lonlat

    rows, cols = shape
    lon, lat = pixel_lonlat(transform, crs, (1, 1), row=rows / 2 - 0.5, col=cols / 2 - 0.5)  # type: ignore[arg-type]
    return float(np.asarray(lon).ravel()[0]), float(np.asarray(lat).ravel()[0])


@xarray_io
def scene_view_angles(
    lon: Any,
    lat: Any,
    *,
    nadir_lonlat: tuple[float, float],
    sensor: str | Orbit = "landsat",
    descending: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """View zenith and azimuth (degrees) of pixels at ``lon``/``lat`` from the scene geometry.

    Parameters
    ----------
    lon, lat : array-like
        Pixel centres in degrees (WGS84, treated as spherical).
    nadir_lonlat : (lon, lat)
        A point on the nadir ground track, usually the scene centre (Landsat scenes are
        framed on the track; for a Sentinel-2 tile give the track point, if known).
    sensor : "landsat", "sentinel2" or an :class:`Orbit`
        Orbit altitude and inclination.
    descending : bool
        Daytime descending pass (both Landsat and Sentinel-2).

    Returns
    -------
    (view_zenith, view_azimuth) : arrays shaped like ``lon``/``lat``
        Azimuth clockwise from north, from the pixel towards the sensor (0 on the track).
    """
    orbit = _orbit(sensor)
    lon0, lat0 = (float(v) for v in nadir_lonlat)
    if not -90 <= lat0 <= 90:
        raise InvalidInputError(f"nadir latitude {lat0!r} outside -90..90")
    lazy = lazy_pair(
        lambda lo, la: scene_view_angles(lo, la, nadir_lonlat=nadir_lonlat, sensor=sensor, descending=descending),
        lon, lat,
    )  # fmt: skip
    if lazy is not None:
        return lazy
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    heading = math.radians(track_heading(lat0, sensor=orbit, descending=descending))
    phi0, lam0 = math.radians(lat0), math.radians(lon0)
    phi, dlam = np.radians(lat), np.radians(lon) - lam0
    # angular distance and initial bearing from the nadir point to each pixel (spherical)
    cos_d = np.clip(math.sin(phi0) * np.sin(phi) + math.cos(phi0) * np.cos(phi) * np.cos(dlam), -1.0, 1.0)
    delta = np.arccos(cos_d)
    bearing = np.arctan2(
        np.sin(dlam) * np.cos(phi), math.cos(phi0) * np.sin(phi) - math.sin(phi0) * np.cos(phi) * np.cos(dlam)
    )
    # signed cross-track angle, positive to the right of the motion
    xt = np.arcsin(np.clip(np.sin(delta) * np.sin(bearing - heading), -1.0, 1.0))
    g = np.abs(xt)
    r, h = EARTH_RADIUS_M, orbit.altitude_m
    zenith = np.degrees(g + np.arctan2(r * np.sin(g), r + h - r * np.cos(g)))
    # the sensor is to the left of a pixel right of the track (heading - 90) and vice versa
    azimuth = np.where(xt > 0, math.degrees(heading) - 90.0, math.degrees(heading) + 90.0) % 360.0
    return zenith, azimuth
