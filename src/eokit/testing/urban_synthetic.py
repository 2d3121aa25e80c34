"""A synthetic country for urbanisation reviews, with known answers.

Real cities (from the bundled GeoNames gazetteer) become Gaussian population
blobs at their real positions, each summing to a known population; a rural
background stays far below every density threshold. Districts tile the grid
as rectangles; night-lights and built-up rasters follow population; the
friction surface has fast roads between the cities and an impassable lake.
All files are written with rasterio/pyogrio directly (not through eokit).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine

__all__ = ["SyntheticCountry", "synthetic_country"]


@dataclasses.dataclass
class SyntheticCountry:
    """Paths of the generated files and the truth they were made from."""

    population: Path
    admin: Path
    ntl: list[Path]
    ghsl: list[Path]
    friction: Path
    cities: pd.DataFrame  # name, lat, lon, population, row, col, sigma_px
    transform: Affine
    crs: str
    shape: tuple[int, int]
    admin_id: str = "district_c"
    admin_name: str = "district"
    background: float = 0.0
    n_invalid: int = 0
    hazards: Any = None  # eokit.testing.urban_hazards.Hazards, with hazards=True


def _write(path: Path, data: np.ndarray, transform: Affine, crs: str, nodata: float | None) -> Path:
    import rasterio

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)
    return path


def synthetic_country(
    out_dir: str | os.PathLike[str],
    *,
    cities: pd.DataFrame | None = None,
    country: str = "BEL",
    n_cities: int = 4,
    resolution_deg: float = 1.0 / 60.0,
    margin_deg: float = 0.3,
    districts: tuple[int, int] = (2, 3),
    n_ntl: int = 3,
    n_ghsl: int = 2,
    background: float = 2.0,
    n_invalid: int = 3,
    hazards: bool = False,
    seed: int = 0,
) -> SyntheticCountry:
    """Write a synthetic country into ``out_dir`` (EPSG:4326 grid) and return its description.

    ``cities`` (name, lat, lon, population) defaults to the ``n_cities`` most
    populous places of ``country`` from :func:`eokit.urban.gazetteer.cities`
    that are at least 25 km apart. Each city's sigma grows with its population.
    ``n_invalid`` population cells far from any city are set to nodata (-99999).
    """
    import geopandas as gpd
    from shapely.geometry import LineString, box

    from eokit.urban.gazetteer import cities as gazetteer_cities

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if cities is None:
        cand = gazetteer_cities(country, min_population=50_000)
        chosen: list[int] = []
        for i, row in cand.iterrows():
            if all(
                np.hypot(row.lat - cand.lat[j], (row.lon - cand.lon[j]) * np.cos(np.radians(row.lat))) > 0.25
                for j in chosen
            ):
                chosen.append(i)
            if len(chosen) == n_cities:
                break
        cities = cand.loc[chosen, ["name", "lat", "lon", "population"]].reset_index(drop=True)
    cities = cities.reset_index(drop=True).copy()
    west, east = cities.lon.min() - margin_deg, cities.lon.max() + margin_deg
    south, north = cities.lat.min() - margin_deg, cities.lat.max() + margin_deg
    res = resolution_deg
    cols = int(np.ceil((east - west) / res))
    rows = int(np.ceil((north - south) / res))
    transform = Affine(res, 0.0, west, 0.0, -res, north)
    inv = ~transform
    c, r = inv @ (cities.lon.to_numpy(), cities.lat.to_numpy())
    cities["row"], cities["col"] = r, c
    cities["sigma_px"] = 1.2 + 2.0 * np.sqrt(cities.population.to_numpy() / 1e6)
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float64) + 0.5
    pop = np.full((rows, cols), float(background))
    for city in cities.itertuples():
        w = np.exp(-((rr - city.row) ** 2 + (cc - city.col) ** 2) / (2.0 * city.sigma_px**2))
        pop += city.population * w / w.sum()
    # invalid cells, far from cities
    far = np.ones_like(pop, dtype=bool)
    for city in cities.itertuples():
        far &= np.hypot(rr - city.row, cc - city.col) > 6 * city.sigma_px
    cand_cells = np.flatnonzero(far)
    bad = rng.choice(cand_cells, size=min(n_invalid, cand_cells.size), replace=False)
    popf = pop.astype(np.float32)
    popf.ravel()[bad] = -99999.0
    crs = "EPSG:4326"
    pop_path = _write(out / "population.tif", popf, transform, crs, -99999.0)

    # districts: rectangles tiling the grid
    ny, nx = districts
    xs = np.linspace(west, west + cols * res, nx + 1)
    ys = np.linspace(north, north - rows * res, ny + 1)
    polys, ids, names = [], [], []
    for j in range(ny):
        for i in range(nx):
            polys.append(box(xs[i], ys[j + 1], xs[i + 1], ys[j]))
            ids.append(f"D{j * nx + i + 1:02d}")
            names.append(f"District {j * nx + i + 1}")
    admin = gpd.GeoDataFrame({"district_c": ids, "district": names}, geometry=polys, crs=crs)
    admin_path = out / "districts.gpkg"
    admin.to_file(admin_path, driver="GPKG", engine="pyogrio")

    ntl_paths = []
    for m in range(n_ntl):
        ntl = (np.sqrt(np.maximum(pop, 0)) * (1.0 + 0.1 * m) + rng.random(pop.shape) * 0.05).astype(np.float32)
        ntl_paths.append(_write(out / f"ntl_2020{m + 1:02d}.tif", ntl, transform, crs, None))
    ghsl_paths = []
    for k in range(n_ghsl):
        share = np.clip(pop / 4000.0 * (1.0 + 0.2 * k), 0.0, 1.0).astype(np.float32)
        ghsl_paths.append(_write(out / f"built_{2000 + 10 * k}.tif", share, transform, crs, None))

    friction = np.full((rows, cols), 60.0 / 20_000.0)  # 20 km/h off road, minutes per metre
    from rasterio import features

    roads = [
        LineString([(a.lon, a.lat), (b.lon, b.lat)])
        for i, a in cities.iterrows()
        for j, b in cities.iterrows()
        if i < j
    ]
    if roads:
        on_road = features.rasterize(roads, out_shape=(rows, cols), transform=transform, all_touched=True)
        friction[on_road > 0] = 60.0 / 80_000.0  # 80 km/h
    lake = far & (rr > rows * 0.8) & (cc < cols * 0.15)
    friction[lake] = np.nan
    fr_path = _write(out / "friction.tif", friction, transform, crs, None)
    hz = None
    if hazards:
        from eokit.testing.urban_hazards import write_hazards

        hz = write_hazards(
            out / "hazards", np.where(np.isfinite(popf) & (popf > 0), popf, 0.0), transform=transform, crs=crs
        )
    return SyntheticCountry(
        hazards=hz,
        population=pop_path,
        admin=admin_path,
        ntl=ntl_paths,
        ghsl=ghsl_paths,
        friction=fr_path,
        cities=cities,
        transform=transform,
        crs=crs,
        shape=(rows, cols),
        background=float(background),
        n_invalid=int(bad.size),
    )
