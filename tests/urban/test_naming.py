"""Offline naming from the bundled GeoNames gazetteer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from eokit.errors import InvalidInputError
from eokit.urban.gazetteer import ATTRIBUTION, cities, countries
from eokit.urban.naming import name_clusters


def test_cities_of_kazakhstan():
    df = cities(country="KAZ")
    assert list(df.columns) == ["name", "lat", "lon", "population", "admin1", "country", "iso2", "iso3"]
    assert (df.iso3 == "KAZ").all() and (df.iso2 == "KZ").all()
    assert df.population.is_monotonic_decreasing
    almaty = df[df.name == "Almaty"].iloc[0]
    assert almaty.lat == pytest.approx(43.25, abs=0.1) and almaty.lon == pytest.approx(76.9, abs=0.1)
    assert almaty.population > 1_000_000
    assert len(cities("KZ", min_population=500_000)) < len(df)
    assert "GeoNames" in ATTRIBUTION and "CC BY 4.0" in ATTRIBUTION


def test_bbox_and_bad_country():
    df = cities(bbox=(4.2, 50.7, 4.5, 51.0), min_population=100_000)
    assert "Brussels" in set(df.name)
    with pytest.raises(InvalidInputError):
        cities(country="XXX")
    assert "KAZ" in set(countries().iso3)


def test_name_inside_nearest_and_no_stop_on_miss():
    places = cities(bbox=(3.0, 50.0, 6.0, 52.0))
    polys = [
        Point(4.35, 50.85).buffer(0.08),  # Brussels region: many places, Brussels the most populous
        box(3.0005, 50.0005, 3.0010, 50.0010),  # a tiny box with no place inside -> nearest
        Point(4.40, 51.22).buffer(0.05),  # Antwerp, after the miss
    ]
    gdf = gpd.GeoDataFrame({"id": [1, 2, 3]}, geometry=polys, crs=4326).to_crs(3035)
    named = name_clusters(gdf, places=places)
    assert named.name.iloc[0] == "Brussels"
    assert named.name_source.tolist() == ["inside", "nearest", "inside"]
    assert named.name.iloc[2] == "Antwerpen"
    assert named.country.tolist() == ["Belgium"] * 3 or named.country.iloc[1] in {"Belgium", "France"}
    # the fallback is the place nearest to the centroid, checked by brute force (haversine)
    lat, lon = 50.00075, 3.00075
    d = np.hypot(places.lat - lat, (places.lon - lon) * np.cos(np.radians(lat)))
    assert named.name.iloc[1] == places.name.iloc[int(np.argmin(d))]
    assert named.name_distance_km.iloc[1] > 0


def test_population_weighted_centroid_used_for_fallback():
    gdf = gpd.GeoDataFrame(
        {"id": [1], "pop_x": [4.35], "pop_y": [50.85]}, geometry=[box(10.0, 10.0, 10.001, 10.001)], crs=4326
    )
    assert name_clusters(gdf).name.iloc[0] == "Brussels"


def test_empty_and_no_crs():
    empty = gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
    assert "name" in name_clusters(empty).columns
    with pytest.raises(InvalidInputError):
        name_clusters(gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 1, 1)]))


def test_naming_by_label_raster_equals_naming_by_polygons(tmp_path):
    """Matching places to clusters through the label raster gives the polygon (sjoin) answer."""
    from eokit.testing.urban_synthetic import synthetic_country
    from eokit.urban.clusters import polygons_from_files
    from eokit.urban.naming import name_clusters
    from eokit.urban.outofcore import degurba_files

    c = synthetic_country(tmp_path / "c", n_cities=5, n_ntl=0, n_ghsl=0)
    files = degurba_files(c.population, centres=tmp_path / "c.tif", clusters=tmp_path / "u.tif")
    gdf = polygons_from_files(files, kind="cluster")
    a = name_clusters(gdf)
    b = name_clusters(gdf, labels=files.clusters)
    assert len(a) > 0
    assert list(a["name"]) == list(b["name"]) and list(a["name_source"]) == list(b["name_source"])
