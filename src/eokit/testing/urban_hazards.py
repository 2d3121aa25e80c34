"""Plausible synthetic hazard layers over a population grid: flood depth, climate series, PM2.5.

Used by the demo world and the review tests. Each layer sits on its *own* grid, as
real products do, so the exposure analyses' alignment rules are exercised:

- ``flood_RP10.tif`` / ``flood_RP100.tif``: water depth in metres on a grid twice as
  fine as the population grid (same CRS), along a meandering river crossing the region,
  deepest at the channel and fading over a floodplain that widens with the return period;
  dry land is nodata (as in Fathom / JRC flood maps).
- ``climate/precipitation_YYYY.tif`` and ``climate/temperature_YYYY.tif``: yearly totals
  (mm) and means (°C) on a 0.05° lon/lat grid (like CHIRPS / ERA5-Land), with a
  north-south gradient, year-to-year noise, a warming trend of ``warming_per_decade`` °C
  and a slight drying trend.
- ``pm25.tif``: annual PM2.5 (µg/m³) on a 0.1° lon/lat grid: a regional background plus
  plumes around the dense cells (like the van Donkelaar / ACAG surfaces).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

__all__ = ["Hazards", "write_hazards"]


@dataclasses.dataclass(frozen=True)
class Hazards:
    """Paths of the generated hazard layers."""

    flood: dict[str, Path]
    climate: dict[str, list[Path]]
    air: dict[str, Path]


def _write(path: Path, data: np.ndarray, transform: Affine, crs: Any, nodata: float | None) -> Path:
    from eokit.testing.urban_synthetic import _write as write

    path.parent.mkdir(parents=True, exist_ok=True)
    return write(path, data.astype(np.float32), transform, crs, nodata)


def _lonlat_grid(transform: Affine, shape: tuple[int, int], crs: Any, res: float) -> tuple[Affine, tuple[int, int]]:
    from rasterio.warp import transform_bounds

    h, w = shape
    west, north = transform * (0, 0)
    east, south = transform * (w, h)
    lo_w, lo_s, lo_e, lo_n = transform_bounds(crs, "EPSG:4326", west, south, east, north)
    lo_w, lo_s = np.floor(lo_w / res) * res - res, np.floor(lo_s / res) * res - res
    lo_e, lo_n = np.ceil(lo_e / res) * res + res, np.ceil(lo_n / res) * res + res
    cols, rows = int(np.rint((lo_e - lo_w) / res)), int(np.rint((lo_n - lo_s) / res))
    return Affine(res, 0, lo_w, 0, -res, lo_n), (rows, cols)


def write_hazards(
    folder: str | Path,
    population: np.ndarray,
    *,
    transform: Affine,
    crs: Any,
    seed: int = 11,
    years: range = range(1991, 2021),
    warming_per_decade: float = 0.3,
) -> Hazards:
    """Write the three kinds of hazard layers for ``population`` on (``transform``, ``crs``)."""
    from scipy import ndimage

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    h, w = population.shape
    # flood: a meandering river from west to east, on a grid twice as fine
    fine = Affine(transform.a / 2, 0, transform.c, 0, transform.e / 2, transform.f)
    fr, fc = np.mgrid[0 : 2 * h, 0 : 2 * w]
    centre = h * (1.0 + 0.25 * np.sin(2 * np.pi * fc / (2 * w) * 1.5 + rng.uniform(0, np.pi)))
    dist = np.abs(fr - centre) / 2.0  # population cells from the channel
    flood = {}
    for name, reach, depth in (("RP10", 4.0, 1.2), ("RP100", 9.0, 2.5)):
        d = depth * (1.0 - dist / reach) + rng.normal(0, 0.05, dist.shape)
        d = np.where((dist < reach) & (d > 0.02), d, -9999.0)
        flood[name] = _write(folder / f"flood_{name}.tif", d, fine, crs, -9999.0)
    # climate: yearly rasters on a 0.05° lon/lat grid
    ctr, cshape = _lonlat_grid(transform, (h, w), crs, 0.05)
    rows = np.arange(cshape[0])[:, None] / max(cshape[0] - 1, 1)
    climate: dict[str, list[Path]] = {"precipitation": [], "temperature": []}
    field = ndimage.gaussian_filter(rng.standard_normal(cshape), 3)
    for k, year in enumerate(years):
        noise = rng.normal(0, 1)
        temp = 14.0 - 6.0 * rows + 0.8 * field + warming_per_decade * k / 10.0 + 0.4 * noise
        rain = np.maximum(450.0 + 300.0 * rows + 60.0 * field - 2.0 * k + 70.0 * rng.normal(0, 1), 20.0)
        rain = rain * np.ones(cshape)
        climate["temperature"].append(
            _write(folder / "climate" / f"temperature_{year}.tif", temp, ctr, "EPSG:4326", None)
        )
        climate["precipitation"].append(
            _write(folder / "climate" / f"precipitation_{year}.tif", rain, ctr, "EPSG:4326", None)
        )
    # PM2.5 on a 0.1° lon/lat grid: background + plumes of the dense cells, smoothed
    ptr, pshape = _lonlat_grid(transform, (h, w), crs, 0.1)
    dense = ndimage.gaussian_filter(np.clip(population / 1000.0, 0, 20), 6)
    plume = np.zeros(pshape)
    from rasterio.warp import Resampling, reproject

    reproject(dense, plume, src_transform=transform, src_crs=crs, dst_transform=ptr, dst_crs="EPSG:4326",
              resampling=Resampling.average)  # fmt: skip
    prow = np.arange(pshape[0])[:, None] / max(pshape[0] - 1, 1)
    pm = 7.0 + 4.0 * prow * np.ones(pshape) + 30.0 * plume / max(plume.max(), 1e-9)
    pm = pm + rng.normal(0, 0.5, pshape)
    air = {"pm25": _write(folder / "pm25.tif", np.clip(pm, 1.0, None), ptr, "EPSG:4326", None)}
    return Hazards(flood=flood, climate=climate, air=air)
