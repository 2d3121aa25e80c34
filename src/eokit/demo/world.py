"""A small, plausible synthetic world around real places, for the demo.

The world is a square region centred on a country's largest city, on a
1 km Lambert azimuthal equal-area grid (so cell areas are exact). It holds:

- ``population.tif``: people per cell — one Gaussian city per real gazetteer
  place (total = the place's population), villages, a rural background;
- ``districts.gpkg``: Voronoi cells around the largest towns, clipped;
- ``cities.gpkg``: the gazetteer places inside the region (points);
- ``ntl/ntl_YYYY_MM.tif``: monthly night lights correlated with population;
- ``built_up.tif``: built-up share (0..1) rising with density;
- ``friction.tif``: minutes per metre, fast along roads joining the cities;
- ``hazards/``: flood depth for two return periods (500 m grid), yearly
  temperature and precipitation 1991-2020 (0.05° lon/lat) and annual PM2.5
  (0.1° lon/lat), from :func:`eokit.testing.urban_hazards.write_hazards`;
- ``scenes/``: Landsat-8-like and Sentinel-2-like multispectral scenes over the
  largest city (UTM, with per-pixel sun/view angle bands and metadata),
  zipped as the products a hub serves.

Everything is derived from a seeded random generator: the same call gives
the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from eokit.io import write_raster, write_vector
from eokit.io.atomic import atomic_path

__all__ = ["World", "build_world"]

CELL_M = 1000.0


@dataclasses.dataclass(frozen=True)
class World:
    """Paths and facts of a generated world."""

    root: Path
    country: str
    crs: str
    transform: Affine
    shape: tuple[int, int]
    population: Path
    districts: Path
    cities: Path
    ntl: tuple[Path, ...]
    built_up: Path
    friction: Path
    scenes: tuple[Any, ...]
    center_lonlat: tuple[float, float]
    city_table: Any = dataclasses.field(repr=False, default=None)
    hazards: Any = None  # eokit.testing.urban_hazards.Hazards


def _places(country: str) -> Any:
    from eokit.urban.gazetteer import cities

    table = cities(country=country)
    return table.sort_values("population", ascending=False).reset_index(drop=True)


def _place_sigma_km(pop: np.ndarray) -> np.ndarray:
    return 1.2 + np.sqrt(pop) / 350.0


def build_world(
    out: Path, *, country: str = "KAZ", quick: bool = False, seed: int = 7, products_dir: Path | None = None
) -> World:
    """Generate the demo world under ``out`` (scenes under ``products_dir``, default ``out/products``)."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    out = Path(out)
    rng = np.random.default_rng(seed)
    places = _places(country)
    if places.empty:
        from eokit.errors import InvalidInputError

        raise InvalidInputError(f"the gazetteer has no places for country {country!r}")
    lon0, lat0 = float(places.loc[0, "lon"]), float(places.loc[0, "lat"])
    crs = f"+proj=laea +lat_0={lat0:.5f} +lon_0={lon0:.5f} +datum=WGS84 +units=m +no_defs"
    half_km = 60 if quick else 180
    n = 2 * half_km
    transform = Affine(CELL_M, 0, -half_km * CELL_M, 0, -CELL_M, half_km * CELL_M)
    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_grid.transform(places["lon"].to_numpy(), places["lat"].to_numpy())
    inside = (np.abs(x) < half_km * CELL_M * 0.95) & (np.abs(y) < half_km * CELL_M * 0.95)
    local = places[inside].copy()
    local["x"], local["y"] = np.asarray(x)[inside], np.asarray(y)[inside]
    local = local.head(40).reset_index(drop=True)

    cols = (local["x"].to_numpy() - transform.c) / CELL_M
    rows = (transform.f - local["y"].to_numpy()) / CELL_M
    pop = _population(n, rows, cols, local["population"].to_numpy(float), rng)
    world_dir = out / "world"
    population = write_raster(
        world_dir / "population.tif", pop.astype(np.float32), transform=transform, crs=crs, nodata=-1.0
    )

    city_pts = gpd.GeoDataFrame(
        local[["name", "population"]].assign(city_id=[f"C{i:02d}" for i in range(len(local))]),
        geometry=gpd.points_from_xy(local["x"], local["y"]),
        crs=crs,
    )
    cities = write_vector(city_pts, world_dir / "cities.gpkg")

    box = shapely.box(*_bounds(transform, n))
    seeds = city_pts.head(4 if quick else 8)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds.geometry.to_numpy()), extend_to=box)
    polys = []
    for geom in shapely.get_parts(cells):
        owner = int(np.argmin([geom.distance(p) for p in seeds.geometry]))  # the seed inside the cell
        polys.append((owner, shapely.intersection(geom, box)))
    polys.sort()
    districts_gdf = gpd.GeoDataFrame(
        {
            "district_id": [f"D{o + 1:02d}" for o, _ in polys],
            "district_name": [f"{seeds.iloc[o]['name']} District" for o, _ in polys],
        },
        geometry=[g for _, g in polys],
        crs=crs,
    )
    districts = write_vector(districts_gdf, world_dir / "districts.gpkg")

    density = pop / (CELL_M * CELL_M / 1e6)
    built = np.clip(density / 4000.0 + rng.normal(0, 0.02, pop.shape), 0, 1).astype(np.float32)
    built_up = write_raster(world_dir / "built_up.tif", built, transform=transform, crs=crs, nodata=-1.0)

    months = 3 if quick else 12
    ntl = []
    for m in range(months):
        trend = 1.0 + 0.015 * m
        season = 1.0 + 0.1 * np.cos(2 * np.pi * m / 12)
        lights = trend * season * np.power(density, 0.7) * 0.05 + rng.gamma(1.0, 0.05, pop.shape)
        ntl.append(
            write_raster(
                world_dir / "ntl" / f"ntl_2024_{m + 1:02d}.tif",
                lights.astype(np.float32),
                transform=transform,
                crs=crs,
                nodata=-1.0,
            )
        )

    fric = _friction(n, rows, cols, density)
    friction = write_raster(world_dir / "friction.tif", fric, transform=transform, crs=crs, nodata=-1.0)

    from eokit.testing.urban_hazards import write_hazards

    years = range(2001, 2021) if quick else range(1991, 2021)
    hazards = write_hazards(world_dir / "hazards", pop, transform=transform, crs=crs, seed=seed, years=years)

    from eokit.demo.scenes import write_scenes

    scenes = write_scenes(Path(products_dir or out / "products"), lon0, lat0, quick=quick, seed=seed)
    meta = {"country": country, "crs": crs, "cells": [n, n], "cell_m": CELL_M, "places": len(local)}
    with atomic_path(world_dir / "world.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return World(
        root=world_dir,
        country=country,
        crs=crs,
        transform=transform,
        shape=(n, n),
        population=population,
        districts=districts,
        cities=cities,
        ntl=tuple(ntl),
        built_up=built_up,
        friction=friction,
        scenes=tuple(scenes),
        center_lonlat=(lon0, lat0),
        city_table=local,
        hazards=hazards,
    )


def _bounds(transform: Affine, n: int) -> tuple[float, float, float, float]:
    return transform.c, transform.f - n * CELL_M, transform.c + n * CELL_M, transform.f


def _population(n: int, rows: np.ndarray, cols: np.ndarray, pops: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rr, cc = np.mgrid[0:n, 0:n].astype(np.float64)
    grid = rng.gamma(2.0, 4.0, (n, n))  # rural background, ~8 people per km²
    sig = _place_sigma_km(pops)
    for r0, c0, p, s in zip(rows, cols, pops, sig, strict=True):
        r_lo, r_hi = int(max(0, r0 - 5 * s)), int(min(n, r0 + 5 * s + 1))
        c_lo, c_hi = int(max(0, c0 - 5 * s)), int(min(n, c0 + 5 * s + 1))
        sub_r, sub_c = rr[r_lo:r_hi, c_lo:c_hi], cc[r_lo:r_hi, c_lo:c_hi]
        w = np.exp(-((sub_r - r0) ** 2 + (sub_c - c0) ** 2) / (2 * s * s))
        grid[r_lo:r_hi, c_lo:c_hi] += p * w / w.sum()
    for _ in range(n // 4):  # villages of 300-4000 people
        r0, c0 = rng.uniform(0, n, 2)
        grid[int(r0), int(c0)] += rng.uniform(300, 4000)
    return grid


def _friction(n: int, rows: np.ndarray, cols: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Minutes per metre: 5 km/h off road, 20 km/h in built-up areas, 80 km/h on roads."""
    from skimage.draw import line

    fric = np.full((n, n), 60.0 / 5000.0, dtype=np.float32)
    fric[density > 300] = 60.0 / 20000.0
    pts = [(int(np.clip(r, 0, n - 1)), int(np.clip(c, 0, n - 1))) for r, c in zip(rows, cols, strict=True)]
    joined = [0]
    for i in range(1, len(pts)):  # a greedy spanning tree: each city joins its nearest joined city
        j = min(joined, key=lambda k: (pts[k][0] - pts[i][0]) ** 2 + (pts[k][1] - pts[i][1]) ** 2)
        rr, cc = line(*pts[i], *pts[j])
        fric[rr, cc] = 60.0 / 80000.0
        joined.append(i)
    return fric


def utc(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    """A UTC datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def zip_product(folder: Path, target: Path) -> Path:
    """Zip ``folder`` (as a product a hub serves) atomically to ``target``."""
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return target
