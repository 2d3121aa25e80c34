"""Travel time: equal to scikit-image MCP_Geometric; route lengths equal the traced paths."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine

from eokit.errors import InvalidInputError
from eokit.testing import write_test_raster
from eokit.urban._search_kernels import trace_length
from eokit.urban.traveltime import (
    accumulated_cost,
    isochrones,
    od_matrix,
    prepare_friction,
    travel_time_matrix,
)

graph = pytest.importorskip("skimage.graph")

TR = Affine(100.0, 0, 600000.0, 0, -70.0, 5000000.0)  # 100 m x 70 m cells
CRS = "EPSG:32633"


@pytest.fixture(scope="module")
def friction():
    rng = np.random.default_rng(7)
    f = rng.random((60, 50)) * 0.01 + 0.0005
    f[rng.random(f.shape) < 0.08] = np.inf
    f[30, 20] = f[5, 5] = f[55, 45] = 0.0005
    return f


@pytest.mark.parametrize("queue", ["auto", "buckets", "heap"])
def test_costs_equal_mcp_geometric(friction, queue):
    cost, _, _ = accumulated_cost(friction, [(30, 20)], transform=TR, crs=CRS, queue=queue)
    mcp = graph.MCP_Geometric(friction, sampling=(70.0, 100.0))
    want, _ = mcp.find_costs([(30, 20)])
    reach = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(cost), reach)
    np.testing.assert_allclose(cost[reach], want[reach], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("queue", ["buckets", "heap"])
def test_route_lengths_equal_traced_paths(friction, queue):
    cost, length, pred = accumulated_cost(friction, [(30, 20)], transform=TR, crs=CRS, queue=queue)
    dx, dy = np.full(60, 100.0), np.full(60, 70.0)
    for flat in np.flatnonzero(np.isfinite(cost))[::37]:
        assert length.ravel()[flat] == pytest.approx(trace_length(pred, dx, dy, flat), rel=1e-12)
    # and independently: walk the predecessor chain in Python
    flat = int(np.flatnonzero(np.isfinite(cost))[-1])
    total, u = 0.0, flat
    while pred.ravel()[u] >= 0:
        v = pred.ravel()[u]
        (r1, c1), (r2, c2) = divmod(u, 50), divmod(v, 50)
        total += float(np.hypot((r1 - r2) * 70.0, (c1 - c2) * 100.0))
        u = v
    assert length.ravel()[flat] == pytest.approx(total, rel=1e-12)


def test_od_matrix_matches_single_runs_and_early_stop(friction):
    origins = [(30, 20), (5, 5), (55, 45)]
    dests = [(10, 40), (50, 3)]
    minutes, km = od_matrix(friction, origins, dests, transform=TR, crs=CRS, workers=2)
    for i, o in enumerate(origins):
        full, length, _ = accumulated_cost(friction, [o], transform=TR, crs=CRS)
        for j, d in enumerate(dests):
            want = full[d] if np.isfinite(full[d]) else np.nan  # unreached -> NaN
            np.testing.assert_allclose(minutes[i, j], want, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(
                km[i, j], length[d] / 1000.0 if np.isfinite(want) else np.nan, rtol=1e-12, equal_nan=True
            )
    seq, _ = od_matrix(friction, origins, dests, transform=TR, crs=CRS, scheduler="synchronous")
    np.testing.assert_array_equal(seq, minutes)


def test_max_cost_leaves_far_cells_unreached(friction):
    cost, _, _ = accumulated_cost(friction, [(30, 20)], transform=TR, crs=CRS)
    limit = float(np.nanmedian(cost[np.isfinite(cost)]))
    m, _ = od_matrix(
        friction,
        [(30, 20)],
        [(30, 20), tuple(np.argwhere(cost > limit * 1.5)[0])],
        transform=TR,
        crs=CRS,
        max_cost=limit,
    )
    assert m[0, 0] == 0.0 and np.isnan(m[0, 1])


def test_geographic_steps_use_row_cell_sizes():
    from eokit.core.crs import pixel_sizes_m

    tr = Affine(0.01, 0, 10.0, 0, -0.01, 60.0)
    f = np.full((3, 5), 1.0)
    cost, _length, _ = accumulated_cost(f, [(1, 0)], transform=tr, crs="EPSG:4326")
    dx, dy = pixel_sizes_m(tr, "EPSG:4326", 3)
    assert cost[1, 4] == pytest.approx(4 * dx[1], rel=1e-12)
    assert cost[0, 0] == pytest.approx((dy[0] + dy[1]) / 2, rel=1e-12)


def test_friction_rules():
    f = np.array([[1.0, 0.0], [np.nan, -3.0]])
    with pytest.raises(InvalidInputError):
        prepare_friction(f)
    p = prepare_friction(f, nonpositive="impassable", unit="min_per_km")
    assert p[0, 0] == pytest.approx(1e-3)
    assert np.isinf(p[0, 1]) and np.isinf(p[1, 0]) and np.isinf(p[1, 1])
    assert np.isinf(prepare_friction(np.array([[5.0, 2.0]]), nodata=5.0)[0, 0])
    with pytest.raises(InvalidInputError):
        prepare_friction(f, unit="furlongs")


def test_isochrones_nested(friction):
    cost, _, _ = accumulated_cost(friction, [(30, 20)], transform=TR, crs=CRS)
    iso = isochrones(cost, [5.0, 20.0], transform=TR, crs=CRS)
    assert iso.geometry.iloc[1].contains(iso.geometry.iloc[0].buffer(-1))
    assert iso.geometry.iloc[0].area == pytest.approx(((cost <= 5.0).sum()) * 7000.0)


def test_travel_time_matrix_files(friction, tmp_path):
    fp = write_test_raster(tmp_path / "f.tif", np.where(np.isinf(friction), np.nan, friction), crs=CRS, transform=TR)
    xs, ys = TR @ (np.array([20.5, 5.5, 45.5]), np.array([30.5, 5.5, 55.5]))
    pts = gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=gpd.points_from_xy(xs, ys), crs=CRS).to_crs(4326)
    _tt, _km = travel_time_matrix(fp, pts, id_col="name", out=tmp_path / "tt.csv", distance_out=tmp_path / "km.csv")
    df = pd.read_csv(tmp_path / "tt.csv", index_col=0)
    assert list(df.index) == ["a", "b", "c"] and list(df.columns) == ["a", "b", "c"]
    want, _ = od_matrix(friction, [(30, 20), (5, 5), (55, 45)], transform=TR, crs=CRS)
    np.testing.assert_allclose(df.to_numpy(), want, rtol=1e-6)
    assert (np.diag(pd.read_csv(tmp_path / "km.csv", index_col=0).to_numpy()) == 0).all()
    outside = gpd.GeoDataFrame({"name": ["far"]}, geometry=gpd.points_from_xy([0.0], [0.0]), crs=CRS)
    with pytest.raises(InvalidInputError) as exc:
        travel_time_matrix(fp, outside, id_col="name")
    assert exc.value.param == "origins"
    with pytest.raises(InvalidInputError) as exc:
        travel_time_matrix(fp, pts, id_col="name", destinations=outside)
    assert exc.value.param == "destinations"
    with pytest.raises(InvalidInputError) as exc:
        travel_time_matrix(fp, pts, id_col="nope")
    assert exc.value.param == "id_col"


@pytest.mark.slow
def test_od_matrix_in_processes_equals_threads(friction):
    origins = [(30, 20), (5, 5), (55, 45)]
    a, ka = od_matrix(friction, origins, transform=TR, crs=CRS, scheduler="processes", workers=2)
    b, kb = od_matrix(friction, origins, transform=TR, crs=CRS, scheduler="threads", workers=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ka, kb)


def test_symmetric_od_equals_single_runs(friction):
    origins = [(30, 20), (5, 5), (55, 45), (12, 40)]
    minutes, km = od_matrix(friction, origins, transform=TR, crs=CRS, workers=2)
    for i, o in enumerate(origins):
        full, _length, _ = accumulated_cost(friction, [o], transform=TR, crs=CRS)
        want = np.array([full[d] for d in origins])
        want[~np.isfinite(want)] = np.nan
        np.testing.assert_allclose(minutes[i], want, rtol=1e-9, equal_nan=True)
        assert np.isnan(km[i]).tolist() == np.isnan(want).tolist()


def test_wide_friction_range_falls_back_to_heap_and_matches_mcp():
    rng = np.random.default_rng(9)
    f = 10.0 ** rng.uniform(-6, 3, (40, 40))  # nine orders of magnitude: too many buckets
    cost, _, _ = accumulated_cost(f, [(20, 20)], transform=TR, crs=CRS)
    want, _ = graph.MCP_Geometric(f, sampling=(70.0, 100.0)).find_costs([(20, 20)])
    np.testing.assert_allclose(cost, want, rtol=1e-9)
    with pytest.raises(InvalidInputError):
        accumulated_cost(f, [(20, 20)], transform=TR, crs=CRS, queue="buckets")
    with pytest.raises(InvalidInputError):
        accumulated_cost(f, [(20, 20)], transform=TR, crs=CRS, queue="fifo")


def test_od_matrix_float32_friction_geographic_and_duplicates_equal_single_runs():
    """The OD kernel (padded grid, reused workspace, float32 storage when exact) equals full
    single-origin runs on a geographic grid (steps vary by row), with repeated destinations,
    an origin on an impassable cell and MCP_Geometric on the float32 grid."""
    rng = np.random.default_rng(3)
    f = (rng.random((40, 30)) * 0.01 + 0.001).astype(np.float32).astype(np.float64)
    f[rng.random(f.shape) < 0.1] = np.inf
    origins = [(3, 4), (20, 20), (39, 0), (10, 29)]
    for r, c in origins:
        f[r, c] = 0.002
    f[7, 7] = np.inf
    dests = [(0, 0), (20, 20), (0, 0), (7, 7), (35, 12)]
    tr = Affine(0.05, 0, 20.0, 0, -0.05, 62.0)
    minutes, km = od_matrix(f, [*origins, (7, 7)], dests, transform=tr, crs="EPSG:4326", workers=2)
    for i, o in enumerate(origins):
        full, length, _ = accumulated_cost(f, [o], transform=tr, crs="EPSG:4326", queue="heap")
        for j, d in enumerate(dests):
            want = full[d] if np.isfinite(full[d]) else np.nan
            np.testing.assert_allclose(minutes[i, j], want, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(km[i, j] * 1000.0, length[d] if np.isfinite(want) else np.nan, rtol=1e-9)
    assert np.isnan(minutes[-1]).all()  # origin on an impassable cell
    tp = Affine(100.0, 0, 600000.0, 0, -70.0, 5000000.0)
    m, _ = od_matrix(f, origins, transform=tp, crs=CRS)
    for i, o in enumerate(origins):
        want, _ = graph.MCP_Geometric(np.where(np.isfinite(f), f, -1.0), sampling=(70.0, 100.0)).find_costs([o])
        got = np.array([want[d] for d in origins])
        got[~np.isfinite(got)] = np.nan
        np.testing.assert_allclose(m[i], got, rtol=1e-9, equal_nan=True)


def _pts(cells, tr=TR):
    xs, ys = tr @ (np.array([c for _, c in cells]) + 0.5, np.array([r for r, _ in cells]) + 0.5)
    return gpd.GeoDataFrame({"id": [f"p{i}" for i in range(len(cells))]}, geometry=gpd.points_from_xy(xs, ys), crs=CRS)


@pytest.mark.parametrize("max_time", [3.0, 25.0, np.inf])
def test_friction_window_equals_whole_grid(tmp_path, max_time):
    """Only a window around the points is read, and the matrices equal the whole-grid ones."""
    rng = np.random.default_rng(3)
    f = rng.random((400, 300)) * 0.01 + 0.001
    f[rng.random(f.shape) < 0.05] = np.nan
    f[100:300, 150] = np.nan  # a wall to go round
    path = write_test_raster(tmp_path / "f.tif", f.astype("float32"), crs=CRS, transform=TR)
    cells = [(150, 140), (160, 160), (170, 130), (190, 155)]
    tt, km = travel_time_matrix(path, _pts(cells), id_col="id", nonpositive="impassable", max_time=max_time)
    whole, whole_km = od_matrix(prepare_friction(f.astype("float32")), cells, transform=TR, crs=CRS, max_cost=max_time)
    np.testing.assert_allclose(tt.to_numpy(), whole, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(km.to_numpy(), whole_km, rtol=1e-12, equal_nan=True)
    r0, r1, c0, c1 = tt.attrs["friction_window"]
    if np.isfinite(max_time) and max_time < 10:
        assert (r1 - r0) * (c1 - c0) < f.size / 4


def test_friction_window_beyond_the_memory_budget_is_refused(tmp_path):
    f = np.full((1400, 1400), 0.001, dtype="float32")
    path = write_test_raster(tmp_path / "f.tif", f, crs=CRS, transform=TR)
    with pytest.raises(InvalidInputError) as exc:
        travel_time_matrix(path, _pts([(0, 0), (1399, 1399)]), id_col="id", workers=2, max_memory="64MB")
    assert exc.value.param == "max_memory"


@pytest.mark.parametrize("bad", [0.0, -5.0])
def test_max_time_must_be_positive(tmp_path, friction, bad):
    path = write_test_raster(tmp_path / "f.tif", friction, crs=CRS, transform=TR)
    with pytest.raises(InvalidInputError) as exc:
        travel_time_matrix(path, _pts([(5, 5), (30, 20)]), id_col="id", max_time=bad, nonpositive="impassable")
    assert exc.value.param == "max_time"
