"""End-to-end urbanisation review on a generated country with known cities."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner

from eokit.cli.main import cli
from eokit.errors import InvalidInputError
from eokit.testing.urban_synthetic import synthetic_country
from eokit.urban.review import review


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    return synthetic_country(tmp_path_factory.mktemp("country"), n_ntl=3, n_ghsl=2)


@pytest.fixture(scope="module")
def reviewed(country, tmp_path_factory):
    out = tmp_path_factory.mktemp("review")
    res = review(
        country.population,
        country.admin,
        out,
        admin_id=country.admin_id,
        admin_name=country.admin_name,
        ntl=country.ntl,
        ghsl=country.ghsl,
        friction=country.friction,
    )
    return out, res


def test_every_output_exists(reviewed):
    out, res = reviewed
    assert res.ran == ["clip", "urban", "districts", "zonal", "traveltime", "report"]
    expected = [
        "urban_centres.gpkg",
        "urban_centres.geojson",
        "urban_clusters.gpkg",
        "urban_clusters.geojson",
        "urban_clusters.csv",
        "degurba_level2.tif",
        "urban_centres.tif",
        "urban_clusters.tif",
        "district_summary.csv",
        "admin_centroids.gpkg",
        "cluster_admin.csv",
        "centre_admin.csv",
        "ntl_clusters.csv",
        "ntl_centres.csv",
        "ntl_districts.csv",
        "ntl_tidy.csv",
        "ghsl_clusters.csv",
        "ghsl_centres.csv",
        "ghsl_districts.csv",
        "ghsl_tidy.csv",
        "od_cities_minutes.csv",
        "od_cities_km.csv",
        "od_cities_districts_minutes.csv",
        "od_cities_districts_km.csv",
        "map.html",
        "clusters_map.png",
        "ntl_by_city.png",
        "report.md",
        "report.html",
        "review_manifest.json",
    ]
    for name in expected:
        assert (out / name).stat().st_size > 0, name
    assert (out / "clusters_map.png").read_bytes()[:4] == b"\x89PNG"
    html = (out / "map.html").read_text()
    assert "leaflet" in html.lower() and "Brussels" in html and "GeoNames" in html
    md = (out / "report.md").read_text()
    assert "Brussels" in md and "CC BY 4.0" in md
    assert "<table>" in (out / "report.html").read_text()


def test_cities_found_and_named(reviewed, country):
    out, _ = reviewed
    centres = gpd.read_file(out / "urban_centres.geojson")
    assert centres.crs.to_epsg() == 4326
    assert sorted(centres.name) == sorted(country.cities.name)
    for city in country.cities.itertuples():
        row = centres[centres.name == city.name].iloc[0]
        assert row.geometry.contains(gpd.points_from_xy([city.lon], [city.lat])[0])
        # a centre holds most, never more, of its city's people (plus the thin background)
        assert 0.5 * city.population < row.population < city.population + country.background * row.n_cells
    clusters = pd.read_csv(out / "urban_clusters.csv")
    assert {"id", "name", "population", "area_km2", "density", "class", "centre_id"} <= set(clusters.columns)


def test_district_summary_totals(reviewed, country):
    out, _ = reviewed
    d = pd.read_csv(out / "district_summary.csv")
    with rasterio.open(country.population) as ds:
        pop = ds.read(1).astype(float)
    total = pop[pop >= 0].sum()  # districts tile the grid; nodata cells excluded
    assert d.total_pop.sum() == pytest.approx(total, rel=1e-9)
    assert (d.urban_pop <= d.total_pop + 1e-6).all() and (d.centre_pop <= d.urban_pop + 1e-6).all()
    assert d.centroid_lon.between(-180, 180).all() and d.centroid_lat.between(40, 60).all()  # lon/lat not swapped
    summary = json.loads((out / "urban_summary.json").read_text())
    assert summary["n_invalid_cells"] == country.n_invalid
    assert summary["n_centres"] == len(country.cities)


def test_night_lights_grow_over_time(reviewed):
    out, _ = reviewed
    ntl = pd.read_csv(out / "ntl_clusters.csv")
    sums = [c for c in ntl.columns if c.endswith("_SUM")]
    assert len(sums) == 3
    assert (np.diff(ntl[sums].to_numpy(), axis=1) > 0).all()


def test_od_matrices(reviewed, country):
    out, _ = reviewed
    tt = pd.read_csv(out / "od_cities_minutes.csv", index_col=0)
    km = pd.read_csv(out / "od_cities_km.csv", index_col=0)
    assert tt.shape == (len(country.cities), len(country.cities))
    np.testing.assert_allclose(np.diag(tt.to_numpy()), 0.0)
    off = ~np.eye(len(tt), dtype=bool)
    assert (tt.to_numpy()[off] > 0).all()
    # a route is never shorter than the straight line between the two cities' centroids (minus 2 cells)
    assert (km.to_numpy()[off] > 10).all()
    dist = pd.read_csv(out / "od_cities_districts_minutes.csv", index_col=0)
    assert dist.shape == (len(country.cities), 6)


def test_rerun_reuses_every_step(reviewed, country):
    out, _ = reviewed
    res = review(
        country.population,
        country.admin,
        out,
        admin_id=country.admin_id,
        admin_name=country.admin_name,
        ntl=country.ntl,
        ghsl=country.ghsl,
        friction=country.friction,
    )
    assert res.ran == [] and len(res.reused) == 6


def test_cli_review_and_bad_admin_column(country, tmp_path):
    runner = CliRunner()
    args = [
        "urban",
        "review",
        "--population",
        str(country.population),
        "--admin",
        str(country.admin),
        "--admin-id",
        country.admin_id,
        "--out",
        str(tmp_path / "r"),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").exists()
    assert not (tmp_path / "r" / "od_cities_minutes.csv").exists()  # no friction given
    bad = runner.invoke(cli, [*args[:6], "--admin-id", "nope", "--out", str(tmp_path / "r2")])
    assert bad.exit_code == 3 and "nope" in bad.output
    with pytest.raises(InvalidInputError):
        review(country.population, country.admin, tmp_path / "r3", admin_id="nope")


def test_population_weighted_centroids_in_lonlat(reviewed, country):
    out, _ = reviewed
    centres = gpd.read_file(out / "urban_centres.gpkg").set_index("name")
    for city in country.cities.itertuples():
        # the Gaussian is centred on the city: its weighted centroid is within a cell of it
        assert centres.loc[city.name, "pop_lon"] == pytest.approx(city.lon, abs=1.0 / 60)
        assert centres.loc[city.name, "pop_lat"] == pytest.approx(city.lat, abs=1.0 / 60)


@pytest.fixture(scope="module")
def hazard_country(tmp_path_factory):
    return synthetic_country(tmp_path_factory.mktemp("hazard_country"), n_ntl=2, n_ghsl=1, hazards=True)


def test_review_with_hazards_then_a_rerun_with_fewer_inputs(hazard_country, tmp_path):
    from eokit.urban.hazards import Hazards

    c, hz = hazard_country, hazard_country.hazards
    kw = dict(admin_id=c.admin_id, admin_name=c.admin_name)
    hazards = Hazards(flood=hz.flood, climate=hz.climate, air=hz.air, baseline=("1991-01-01", "2000-12-31"))
    res = review(c.population, c.admin, tmp_path, ntl=c.ntl, ghsl=c.ghsl, friction=c.friction, hazards=hazards, **kw)
    assert "exposure" in res.ran
    for name in ("flood_exposure.csv", "climate_summary.csv", "air_quality.csv", "flood_map.png", "climate_chart.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    md = (tmp_path / "report.md").read_text()
    for section in ("## Flood risk", "## Climate variation", "## Air quality (PM2.5)", "![night-lights]"):
        assert section in md
    flood = pd.read_csv(tmp_path / "flood_exposure.csv")
    assert set(flood.zones) == {"all", "clusters", "centres", "districts"}
    summ = pd.read_csv(tmp_path / "climate_summary.csv")
    t = summ[(summ.zones == "all") & (summ.variable == "temperature") & (summ.weight == "area")].iloc[0]
    assert 0.1 < t.trend_per_decade < 0.5  # generated with 0.3 °C per decade plus yearly noise
    manifest = json.loads((tmp_path / "review_manifest.json").read_text())
    written = set(manifest["_files"])
    assert {p.name for p in tmp_path.iterdir() if p.is_file()} <= {Path(f).name for f in written}
    # rerun with fewer inputs: no night lights, no friction, no hazards
    res2 = review(c.population, c.admin, tmp_path, ghsl=c.ghsl, **kw)
    left = {p.name for p in tmp_path.iterdir() if p.is_file()} | {p.name for p in (tmp_path / "inputs").iterdir()}
    for stale in ("ntl_clusters.csv", "od_cities_km.csv", "flood_exposure.csv", "flood_map.png", "ntl_by_city.png"):
        assert stale not in left, stale
    assert not any(n.startswith(("ntl_", "flood_", "climate_", "air_", "friction")) for n in left)
    md2 = (tmp_path / "report.md").read_text()
    assert "ntl" not in md2 and "Flood" not in md2 and "od_cities" not in md2
    manifest2 = json.loads((tmp_path / "review_manifest.json").read_text())
    assert set(manifest2) - {"_files"} == set(res2.ran) | set(res2.reused)
    on_disk = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert on_disk == set(manifest2["_files"])
