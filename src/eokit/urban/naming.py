"""Naming clusters offline from the bundled GeoNames gazetteer (CC BY 4.0).

Each cluster takes the name of the most populous place inside it; a cluster
with no place inside takes the place nearest to its population-weighted
centroid (``pop_x``/``pop_y`` columns when present, else the polygon's
representative point). Every cluster is named: a miss never stops the loop.
An optional online reverse geocoder (Nominatim) is available with a real user
agent and at most one request per ``min_interval_s``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from eokit.errors import InvalidInputError, ProviderError
from eokit.urban.gazetteer import ATTRIBUTION, cities, nearest

__all__ = ["ATTRIBUTION", "name_clusters", "reverse_geocode_online"]

log = logging.getLogger(__name__)


def _centroids_lonlat(gdf: Any) -> tuple[np.ndarray, np.ndarray]:
    import geopandas as gpd

    if {"pop_x", "pop_y"} <= set(gdf.columns) and gdf[["pop_x", "pop_y"]].notna().all().all():
        pts = gpd.GeoSeries(gpd.points_from_xy(gdf["pop_x"], gdf["pop_y"]), crs=gdf.crs)
    else:
        pts = gdf.geometry.representative_point()
    pts = pts.to_crs(4326)
    return pts.y.to_numpy(), pts.x.to_numpy()


def name_clusters(
    clusters: Any,
    *,
    places: pd.DataFrame | None = None,
    min_population: int = 1000,
    prefix: str = "",
    labels: Any = None,
) -> Any:
    """Add ``name``, ``admin1``, ``country``, ``iso3``, ``name_source`` and ``name_distance_km``.

    Parameters
    ----------
    clusters : GeoDataFrame of polygons (any CRS).
    places : a gazetteer table like :func:`eokit.urban.gazetteer.cities` returns (default: all places
        of at least ``min_population`` within the clusters' bounding box plus 2°).
    prefix : prefix of the new column names.
    labels : optional label raster (path) whose cell values are the clusters' ``id``: places are
        then matched to clusters by the cell they fall in (the polygons are unions of those cells),
        which needs memory for the places only, not for the polygons' outlines.
    """
    import geopandas as gpd

    if clusters.crs is None:
        raise InvalidInputError("clusters have no CRS; cannot place them on the gazetteer")
    out = clusters.copy()
    n = len(out)
    cols = {k: prefix + k for k in ("name", "admin1", "country", "iso3", "name_source", "name_distance_km")}
    if n == 0:
        for c in cols.values():
            out[c] = pd.Series(dtype="float64" if c.endswith("_km") else "object")
        return out
    lat, lon = _centroids_lonlat(out)
    if places is None:
        if labels is None:
            w, s, e, nn = out.to_crs(4326).total_bounds
            w, s, e, nn = min(w, lon.min()), min(s, lat.min()), max(e, lon.max()), max(nn, lat.max())
        else:
            w, s, e, nn = _raster_bounds_lonlat(labels)
        places = cities(min_population=min_population, bbox=(w - 2, s - 2, e + 2, nn + 2))
        if len(places) == 0:
            places = cities(min_population=min_population)
    places = places.reset_index(drop=True)
    pts = gpd.GeoDataFrame(
        {"_pidx": np.arange(len(places)), "_pop": places["population"].to_numpy()},
        geometry=gpd.points_from_xy(places["lon"], places["lat"]),
        crs=4326,
    ).to_crs(out.crs)
    if labels is None:
        poly = gpd.GeoDataFrame({"_cidx": np.arange(n)}, geometry=out.geometry.to_numpy(), crs=out.crs)
        joined = gpd.sjoin(pts, poly, predicate="within", how="inner")
    else:
        joined = _places_in_labels(pts, labels, out["id"].to_numpy())
    chosen = np.full(n, -1, dtype=np.int64)
    if len(joined):
        best = joined.sort_values(["_pop", "_pidx"], ascending=[False, True]).drop_duplicates("_cidx")
        chosen[best["_cidx"].to_numpy()] = best["_pidx"].to_numpy()
    near_idx, _ = nearest(lat, lon, places)
    inside = chosen >= 0
    pidx = np.where(inside, chosen, near_idx)
    sel = places.iloc[pidx]
    sel_lat, sel_lon = sel["lat"].to_numpy(), sel["lon"].to_numpy()
    dist = _haversine_km(lat, lon, sel_lat, sel_lon)
    out[cols["name"]] = sel["name"].to_numpy()
    out[cols["admin1"]] = sel["admin1"].to_numpy()
    out[cols["country"]] = sel["country"].to_numpy()
    out[cols["iso3"]] = sel["iso3"].to_numpy()
    out[cols["name_source"]] = np.where(inside, "inside", "nearest")
    out[cols["name_distance_km"]] = dist
    log.info("named %d clusters (%d from a place inside, %d nearest)", n, int(inside.sum()), int((~inside).sum()))
    return out


def _raster_bounds_lonlat(path: Any) -> tuple[float, float, float, float]:
    from rasterio.warp import transform_bounds

    from eokit.io.raster import open_raster

    with open_raster(path) as ds:
        w, s, e, n = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
    return max(w, -180.0), max(s, -90.0), min(e, 180.0), min(n, 90.0)


def _values_at(ds: Any, rows: np.ndarray, cols: np.ndarray, tile: int = 512) -> np.ndarray:
    """Band-1 values at cells ``(rows, cols)``, reading each ``tile``-sized window holding points once."""
    from rasterio.windows import Window

    out = np.zeros(rows.size, dtype=np.int64)
    keys = (rows // tile) * ((ds.width + tile - 1) // tile) + cols // tile
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    for group in np.split(order, bounds):
        if group.size == 0:
            continue
        r0, c0 = int(rows[group[0]] // tile * tile), int(cols[group[0]] // tile * tile)
        win = Window(c0, r0, min(tile, ds.width - c0), min(tile, ds.height - r0))
        block = ds.read(1, window=win)
        out[group] = block[rows[group] - r0, cols[group] - c0]
    return out


def _places_in_labels(pts: Any, path: Any, ids: np.ndarray) -> pd.DataFrame:
    """``_pidx``, ``_pop``, ``_cidx`` of the places (in the raster's CRS) on a cell labelled with a cluster id."""
    from eokit.io.raster import open_raster

    with open_raster(path) as ds:
        cols, rows = ~ds.transform * (pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
        rows, cols = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
        ok = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width)
        values = _values_at(ds, rows[ok], cols[ok])
    position = {int(v): i for i, v in enumerate(ids)}
    found = pts.iloc[np.flatnonzero(ok)]
    cidx = np.array([position.get(int(v), -1) for v in values], dtype=np.int64)
    keep = cidx >= 0
    return pd.DataFrame(
        {"_pidx": found["_pidx"].to_numpy()[keep], "_pop": found["_pop"].to_numpy()[keep], "_cidx": cidx[keep]}
    )


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


_last_call = [0.0]


def reverse_geocode_online(
    lat: float,
    lon: float,
    *,
    user_agent: str,
    url: str = "https://nominatim.openstreetmap.org/reverse",
    min_interval_s: float = 1.0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Reverse-geocode one point with a Nominatim server (opt-in; needs network).

    ``user_agent`` must identify your application (Nominatim's usage policy);
    calls are spaced at least ``min_interval_s`` apart.
    """
    import requests

    if not user_agent or "python-requests" in user_agent:
        raise InvalidInputError("give a real user agent naming your application and a contact")
    wait = _last_call[0] + min_interval_s - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _last_call[0] = time.monotonic()
    query: dict[str, Any] = {"lat": lat, "lon": lon, "format": "jsonv2", "zoom": 10}
    resp = requests.get(
        url,
        params=query,
        headers={"User-Agent": user_agent},
        timeout=timeout,
    )
    if resp.status_code != 200:
        raise ProviderError(f"reverse geocoding failed: HTTP {resp.status_code}", status_code=resp.status_code, url=url)
    return resp.json()
