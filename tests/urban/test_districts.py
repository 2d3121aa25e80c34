"""District summaries: totals, cluster assignment, weighted centroids (axes!)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from eokit.errors import InvalidInputError
from eokit.urban.districts import admin_index, assign_clusters, district_summary, weighted_centroids

TR = Affine(1000.0, 0, 0.0, 0, -1000.0, 8000.0)  # 8 rows x 10 cols, x 0..10000, y 0..8000
CRS = "EPSG:3857"


@pytest.fixture
def grid():
    rng = np.random.default_rng(2)
    pop = rng.integers(0, 100, (8, 10)).astype(float)
    admin = gpd.GeoDataFrame(
        {"code": ["W", "E"], "label": ["West", "East"]},
        geometry=[box(0, 0, 4000, 8000), box(4000, 0, 10000, 8000)],
        crs=CRS,
    )
    idx = admin_index(admin, id_col="code", transform=TR, crs=CRS, shape=pop.shape)
    return pop, admin, idx


def test_summary_totals(grid):
    pop, _, idx = grid
    clusters = np.zeros(pop.shape, np.int32)
    clusters[2:5, 2:7] = 1  # straddles the W/E border at column 4
    centres = np.zeros(pop.shape, np.int32)
    centres[3, 3:6] = 1
    s = district_summary(idx, pop, centres=centres, clusters=clusters)
    assert s.loc["W", "total_pop"] == pop[:, :4].sum() and s.loc["E", "total_pop"] == pop[:, 4:].sum()
    assert s.loc["W", "urban_pop"] == pop[2:5, 2:4].sum()
    assert s.loc["E", "centre_pop"] == pop[3, 4:6].sum()
    assert s["total_pop"].dtype == np.float64 and s["urban_pop"].dtype == np.float64


def test_assign_clusters_first_and_second(grid):
    pop, _, idx = grid
    pop = np.ones_like(pop)
    lab = np.zeros(pop.shape, np.int32)
    lab[0:2, 1:7] = 1  # 3 cells West x 2 rows = 6, 3 East x 2 = 6 -> tie broken by zone order
    lab[0:2, 2:9] = 1  # now 2 West x2 + 5 East x2 (cols 1..8: W cols 1-3, E cols 4-8)
    lab[6, 8] = 2
    t = assign_clusters(idx, pop, lab, 2)
    assert t.loc[1, "admin1_id"] == "E" and t.loc[1, "admin1_pop"] == 10.0
    assert t.loc[1, "admin2_id"] == "W" and t.loc[1, "admin2_pop"] == 6.0
    assert t.loc[2, "admin1_id"] == "E" and t.loc[2, "admin2_pop"] == 0.0


def test_weighted_centroid_axes(grid):
    _, _, idx = grid
    pop = np.zeros((8, 10))
    pop[1, 8] = 3.0  # north-east corner of East: x=8500, y=6500
    pop[7, 5] = 1.0  # south: x=5500, y=500
    c = weighted_centroids(idx, pop, transform=TR, crs=CRS).set_index("admin_id")
    east = c.loc["E", "geometry"]
    assert east.x == pytest.approx((3 * 8500 + 5500) / 4)
    assert east.y == pytest.approx((3 * 6500 + 500) / 4)
    west = c.loc["W", "geometry"]  # no people -> plain centre of its cells
    assert (west.x, west.y) == pytest.approx((2000.0, 4000.0))


def test_admin_errors(grid):
    pop, admin, _ = grid
    with pytest.raises(InvalidInputError):
        admin_index(admin, id_col="nope", transform=TR, crs=CRS, shape=pop.shape)
    dup = admin.assign(code=["A", "A"])
    with pytest.raises(InvalidInputError):
        admin_index(dup, id_col="code", transform=TR, crs=CRS, shape=pop.shape)


def test_district_tables_from_files_equal_the_array_functions(tmp_path):
    from eokit.testing.urban_synthetic import synthetic_country
    from eokit.urban.clusters import read_population
    from eokit.urban.districts import district_tables
    from eokit.urban.outofcore import degurba_files

    c = synthetic_country(tmp_path / "c", n_ntl=0, n_ghsl=0)
    files = degurba_files(c.population, centres=tmp_path / "c.tif", clusters=tmp_path / "u.tif")
    adm = gpd.read_file(c.admin)
    summ, cent, cl, ce = district_tables(
        c.population, adm, id_col=c.admin_id, centres=files.centres, clusters=files.clusters, block_rows=7
    )
    pop, meta = read_population(c.population)
    pop = np.where(np.isfinite(pop) & (pop > 0), pop, 0.0)
    with rasterio.open(files.centres) as a, rasterio.open(files.clusters) as b:
        centres, clusters = a.read(1), b.read(1)
    idx = admin_index(adm, id_col=c.admin_id, transform=meta["transform"], crs=meta["crs"], shape=pop.shape)
    pd.testing.assert_frame_equal(summ, district_summary(idx, pop, centres=centres, clusters=clusters), rtol=1e-9)
    want = weighted_centroids(idx, pop, transform=meta["transform"], crs=meta["crs"])
    np.testing.assert_allclose(cent.geometry.x, want.geometry.x, rtol=1e-12)
    np.testing.assert_allclose(cent.geometry.y, want.geometry.y, rtol=1e-12)
    pd.testing.assert_frame_equal(cl, assign_clusters(idx, pop, clusters, int(clusters.max())), rtol=1e-9)
    pd.testing.assert_frame_equal(ce, assign_clusters(idx, pop, centres, int(centres.max())), rtol=1e-9)
