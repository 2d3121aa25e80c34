"""Degree of urbanisation: every rule on hand-built grids with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from eokit.errors import InvalidInputError, MissingCRSError
from eokit.urban.degurba import (
    DegurbaParams,
    degree_of_urbanisation,
    fill_holes,
    majority_fill,
    population_density,
)

KM = Affine(1000.0, 0, 0, 0, -1000.0, 0)  # 1 km² cells
EQUAL_AREA = "ESRI:54009"  # Mollweide, equal-area


def run(pop, **kw):
    return degree_of_urbanisation(np.asarray(pop, float), transform=KM, crs=EQUAL_AREA, **kw)


def test_threshold_is_greater_or_equal():
    pop = np.zeros((12, 12))
    pop[2:7, 2:7] = 2000.0  # 25 cells, 50,000 people exactly at the minimum
    res = run(pop)
    assert res.centre_table.shape[0] == 1
    assert res.centre_table.population[0] == pytest.approx(50_000.0)
    pop[2, 2] = 1999.0  # total now 49,999: no centre
    assert run(pop).centre_table.shape[0] == 0
    # density exactly at 1500 counts
    pop = np.zeros((12, 12))
    pop[1:11, 1:11] = 1500.0
    res = run(pop)
    assert (res.level2[1:11, 1:11] == 30).all()
    pop[1:11, 1:11] = 1499.999
    assert not (run(pop).level2 == 30).any()


def test_density_uses_cell_area_not_cell_value():
    # 2 km cells: 4 km² each; 4000 people per cell = 1000 / km² -> not a centre, but a cluster
    pop = np.zeros((10, 10))
    pop[2:8, 2:8] = 4000.0
    res = degree_of_urbanisation(pop, transform=Affine(2000, 0, 0, 0, -2000, 0), crs=EQUAL_AREA)
    assert res.centre_table.shape[0] == 0
    assert res.cluster_table.shape[0] == 1
    np.testing.assert_allclose(res.density[2, 2], 1000.0)
    assert res.cluster_table.area_km2[0] == pytest.approx(36 * 4.0)


def test_density_on_geographic_grid_matches_spherical_closed_form():
    crs = "+proj=longlat +R=6371000 +no_defs"
    tr = Affine(0.5, 0, 10.0, 0, -0.5, 60.0)
    pop = np.full((8, 3), 1000.0)
    dens = population_density(pop, transform=tr, crs=crs)
    r = 6371.0
    top = 60.0 - 0.5 * np.arange(8)
    bottom = top - 0.5
    area = r * r * np.radians(0.5) * (np.sin(np.radians(top)) - np.sin(np.radians(bottom)))
    np.testing.assert_allclose(dens[:, 0], 1000.0 / area, rtol=1e-12)


def test_four_versus_eight_connectivity():
    pop = np.zeros((20, 20))
    pop[2:7, 2:7] = 2500.0  # block A: 62,500
    pop[7:12, 7:12] = 2500.0  # block B touches A only at a corner
    res = run(pop)
    # centres are 4-connected: two separate centres (each >= 50,000)
    assert res.centre_table.shape[0] == 2
    # clusters are 8-connected: one cluster
    assert res.cluster_table.shape[0] == 1
    assert res.cluster_table.population[0] == pytest.approx(125_000.0)


def test_majority_rule_fills_cells_with_five_neighbours():
    lab = np.zeros((5, 5), np.int32)
    lab[1, 1:4] = 1
    lab[2, 1] = 1
    lab[3, 1:4] = 1  # (2,2) has 7 labelled neighbours; (2,3) has 4 -> joins only after (2,2)
    out = majority_fill(lab, votes=5)
    assert out[2, 2] == 1
    assert out[2, 3] == 1  # second iteration: now 5 neighbours
    lab2 = np.zeros((5, 5), np.int32)
    lab2[1, 1:4] = 1
    lab2[2, 1] = 1  # (2,2) sees 4 -> stays out
    assert majority_fill(lab2, votes=5)[2, 2] == 0


def test_majority_needs_votes_for_the_same_centre():
    lab = np.zeros((3, 3), np.int32)
    lab[0, :] = 1
    lab[2, :] = 2
    lab[1, 0] = 1  # centre cell: 4 votes for 1, 3 for 2 -> stays empty
    assert majority_fill(lab, votes=5)[1, 1] == 0


@pytest.mark.parametrize(("hole_cells", "filled"), [(14, True), (15, False)])
def test_holes_under_15_km2_are_filled(hole_cells, filled):
    lab = np.zeros((12, 20), np.int32)
    lab[1:11, 1:19] = 1
    lab[4, 3 : 3 + hole_cells] = 0  # a 1-cell-high hole of hole_cells km²
    out = fill_holes(lab, np.ones((12, 1)), max_area_km2=15.0)
    assert (out[4, 3 : 3 + hole_cells] == 1).all() == filled


def test_hole_touching_edge_is_not_filled():
    lab = np.ones((6, 6), np.int32)
    lab[0, 2] = 0
    assert fill_holes(lab, np.ones((6, 1)), max_area_km2=15)[0, 2] == 0


def test_centre_pipeline_fills_hole_and_recounts_population():
    pop = np.zeros((16, 16))
    pop[2:14, 2:14] = 2000.0
    pop[6:9, 6:9] = 10.0  # 9 km² low-density hole inside
    res = run(pop)
    assert (res.level2[6:9, 6:9] == 30).all()
    assert res.centre_table.population[0] == pytest.approx(pop[2:14, 2:14].sum())


def test_level2_classes():
    pop = np.zeros((40, 40))
    pop[2:10, 2:10] = 2000.0  # 128,000: urban centre (30)
    pop[2:10, 10:13] = 400.0  # suburban ring joined to the centre's cluster (21)
    pop[20:23, 2:5] = 1600.0  # 9 cells x 1600 = 14,400: dense urban cluster (23)
    pop[30:35, 30:35] = 400.0  # 10,000 people, far away: semi-dense urban cluster (22)
    pop[30:32, 2:4] = 350.0  # 1,400 people: rural cluster (13)
    pop[15, 30] = 60.0  # low density rural (12)
    res = run(pop)
    assert res.level2[5, 5] == 30
    assert res.level2[5, 11] == 21
    assert res.level2[21, 3] == 23
    assert res.level2[32, 32] == 22
    assert res.level2[30, 2] == 13
    assert res.level2[15, 30] == 12
    assert res.level2[0, 39] == 11
    np.testing.assert_array_equal(res.level1, res.level2 // 10)


def test_semi_dense_needs_distance_from_centres():
    pop = np.zeros((30, 30))
    pop[2:10, 2:10] = 2000.0
    pop[2:6, 12:17] = 400.0  # 8,000 people, 3 km from the centre -> suburban (21), not 22
    res = run(pop)
    assert res.level2[3, 14] == 21


def test_water_class_with_land_share():
    pop = np.zeros((5, 5))
    land = np.ones((5, 5))
    land[0, 0] = 0.0
    res = run(pop, land=land)
    assert res.level2[0, 0] == 10
    assert res.level2[1, 1] == 11


def test_built_up_share_adds_centre_cells():
    pop = np.zeros((12, 12))
    pop[2:8, 2:8] = 1400.0  # 50,400 people but below 1500/km²
    assert run(pop).centre_table.shape[0] == 0
    built = np.zeros_like(pop)
    built[2:8, 2:8] = 0.5
    assert run(pop, built_up=built).centre_table.shape[0] == 1


def test_invalid_population_reported_and_zeroed(caplog):
    pop = np.zeros((6, 6))
    pop[0, 0] = -5
    pop[0, 1] = np.nan
    pop[0, 2] = -99999
    res = run(pop, nodata=-99999)
    assert res.n_invalid == 3
    assert res.population[0, :3].sum() == 0
    assert "treated as 0" in caplog.text


def test_gost_mode_compares_raw_values_strictly():
    pop = np.zeros((12, 12))
    pop[2:9, 2:9] = 1500.0  # raw value == threshold: not urban under GOST's '>'
    res = degree_of_urbanisation(pop, transform=KM, crs=EQUAL_AREA, method="gost", params=DegurbaParams(smooth=False))
    assert res.centre_table.shape[0] == 0
    pop[2:9, 2:9] = 1500.5
    res = degree_of_urbanisation(pop, transform=KM, crs=EQUAL_AREA, method="gost", params=DegurbaParams(smooth=False))
    assert res.centre_table.shape[0] == 1


def test_missing_crs_and_bad_method():
    with pytest.raises(MissingCRSError):
        degree_of_urbanisation(np.zeros((3, 3)), transform=KM, crs=None)
    with pytest.raises(InvalidInputError):
        run(np.zeros((3, 3)), method="nope")
    with pytest.raises(InvalidInputError):
        run(np.zeros((3, 3)), land=np.ones((2, 2)))


def test_numpy_dask_and_block_sizes_agree():
    pytest.importorskip("dask.array")
    from eokit.testing import assert_numpy_dask_equal, gaussian_cities

    pop = gaussian_cities((60, 70), [(15, 15), (40, 50), (45, 20)], [400_000, 90_000, 20_000], sigmas=[4, 3, 2])
    pop += 5.0

    def level2(a, **kw):
        return degree_of_urbanisation(a, transform=KM, crs=EQUAL_AREA, **kw).level2

    whole = assert_numpy_dask_equal(level2, pop, chunks=(9, 11))
    np.testing.assert_array_equal(level2(pop, block_shape=7), whole)
    assert set(np.unique(whole).tolist()) == {11, 12, 21, 22, 23, 30}
