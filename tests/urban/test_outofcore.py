"""Out-of-core degree of urbanisation: identical to the in-memory rules, within the memory budget."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eokit.errors import InvalidInputError
from eokit.testing.urban_synthetic import _write as write_test_raster
from eokit.urban.clusters import clusters_from_raster, labels_to_polygons, polygons_from_files
from eokit.urban.degurba import DegurbaParams, degree_of_urbanisation
from eokit.urban.memory import parse_size
from eokit.urban.outofcore import degurba_files

KM = Affine(1000.0, 0, 0, 0, -1000.0, 0)
CRS = "ESRI:54009"
SMALL = DegurbaParams(
    centre_min_pop=8_000, cluster_min_pop=1_500, dense_min_pop=1_500, rural_cluster_min_pop=400, max_hole_km2=6
)


def _write(path, data, dtype="float32"):
    return write_test_raster(path, data.astype(dtype), KM, CRS, None)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1)


def _towns(seed, shape, n):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    pop = rng.gamma(0.4, 30.0, shape)
    for _ in range(n):
        r, c, s = rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(1.0, 4.0)
        pop += rng.uniform(2e3, 6e4) * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * s * s)) / (2 * np.pi * s * s)
    pop[rng.random(shape) < 0.01] = -1.0  # invalid cells count as 0 people
    return pop.astype(np.float32)


def _assert_same(ref, files, tmp_path):
    np.testing.assert_array_equal(_read(files.centres), ref.centres)
    np.testing.assert_array_equal(_read(files.clusters), ref.clusters)
    np.testing.assert_array_equal(_read(files.level2), ref.level2)
    for a, b in ((ref.centre_table, files.centre_table), (ref.cluster_table, files.cluster_table)):
        assert len(a) == len(b)
        if len(a):
            pd.testing.assert_frame_equal(a, b[a.columns], rtol=1e-9)
    assert files.n_invalid == ref.n_invalid
    for k, v in files.level2_population.items():
        assert v == pytest.approx(float(ref.population[ref.level2 == k].sum()), rel=1e-9)


def _run(tmp_path, pop_path, block, **kw):
    return degurba_files(
        pop_path,
        centres=tmp_path / "c.tif",
        clusters=tmp_path / "u.tif",
        level2=tmp_path / "l2.tif",
        level1=tmp_path / "l1.tif",
        block_size=block,
        scheduler="synchronous",
        **kw,
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(20, 70),
    cols=st.integers(20, 70),
    block=st.integers(5, 40),
    n=st.integers(2, 10),
)
def test_equals_in_memory_with_blocks_that_cut_objects(tmp_path, seed, rows, cols, block, n):
    pop = _towns(seed, (rows, cols), n)
    path = _write(tmp_path / "pop.tif", pop)
    ref = degree_of_urbanisation(pop, transform=KM, crs=CRS, params=SMALL)
    files = _run(tmp_path, path, block, params=SMALL)
    _assert_same(ref, files, tmp_path)
    np.testing.assert_array_equal(_read(tmp_path / "l1.tif"), ref.level1)


def test_majority_filling_and_holes_across_block_borders(tmp_path):
    # a 12 x 12 centre straddling the block corner (16, 16), with notches on both block borders
    # that only majority filling closes, and a 2 x 2 hole cut by the border; blocks of 16
    pop = np.full((40, 40), 10.0)
    pop[10:22, 10:22] = 2000.0
    notches = [(10, 16), (21, 15), (15, 10), (16, 21)]
    for r, c in notches:
        pop[r, c] = 100.0
    pop[15:17, 15:17] = 0.0  # hole, 4 km² < 15 km²
    path = _write(tmp_path / "pop.tif", pop)
    ref = degree_of_urbanisation(pop, transform=KM, crs=CRS)
    # independent check of the in-memory reference: every notch and the hole joined the centre
    assert all(ref.centres[r, c] == 1 for r, c in notches)
    assert (ref.centres[15:17, 15:17] == 1).all()
    files = _run(tmp_path, path, 16)
    _assert_same(ref, files, tmp_path)


def test_built_up_and_land_shares(tmp_path):
    pop = _towns(7, (50, 60), 8)
    rng = np.random.default_rng(3)
    built = (rng.random(pop.shape) * (pop > 500)).astype(np.float32)
    land = np.clip(rng.random(pop.shape) * 1.6, 0, 1).astype(np.float32)
    land[:5, :] = 0.0
    pop[:3, :] = 0.0
    paths = [_write(tmp_path / f"{k}.tif", a) for k, a in (("pop", pop), ("built", built), ("land", land))]
    ref = degree_of_urbanisation(pop, transform=KM, crs=CRS, built_up=built, land=land, params=SMALL)
    files = _run(tmp_path, paths[0], 13, built_up=paths[1], land=paths[2], params=SMALL)
    _assert_same(ref, files, tmp_path)
    assert (ref.level2 == 10).any()


def test_processes_scheduler_and_polygons_per_object(tmp_path):
    pop = _towns(11, (60, 60), 9)
    path = _write(tmp_path / "pop.tif", pop)
    ref = degree_of_urbanisation(pop, transform=KM, crs=CRS, params=SMALL)
    files = degurba_files(
        path,
        centres=tmp_path / "c.tif",
        clusters=tmp_path / "u.tif",
        level2=tmp_path / "l2.tif",
        block_size=17,
        scheduler="processes",
        workers=2,
        params=SMALL,
    )
    _assert_same(ref, files, tmp_path)
    whole = labels_to_polygons(ref.clusters, transform=KM, crs=CRS)
    per_object = polygons_from_files(files, kind="cluster")
    assert len(per_object) == len(whole) > 0
    for a, b in zip(whole.geometry, per_object.geometry):
        assert a.symmetric_difference(b).area == pytest.approx(0.0, abs=1e-6)


def test_clusters_from_raster_names_and_writes(tmp_path):
    pop = _towns(5, (40, 40), 6)
    path = _write(tmp_path / "pop.tif", pop)
    gdf = clusters_from_raster(
        path, kind="cluster", out=tmp_path / "u.gpkg", label_raster=tmp_path / "u.tif", name=False, params=SMALL
    )
    ref = degree_of_urbanisation(pop, transform=KM, crs=CRS, params=SMALL)
    assert len(gdf) == ref.cluster_table.shape[0]
    np.testing.assert_array_equal(_read(tmp_path / "u.tif"), ref.clusters)
    assert not list(tmp_path.glob(".eokit-*"))  # the temporary folder is gone


def _sparse(path, size):
    """A tiny GeoTIFF declaring ``size`` x ``size`` cells (no tile written)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=KM,
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
        SPARSE_OK=True,
    ):
        pass
    return path


def test_gost_refuses_a_grid_beyond_the_budget(tmp_path):
    path = _sparse(tmp_path / "big.tif", 100_000)
    assert path.stat().st_size < 10_000_000
    with pytest.raises(InvalidInputError) as exc:
        degurba_files(path, centres=tmp_path / "c.tif", clusters=tmp_path / "u.tif", method="gost", max_memory="1GB")
    assert exc.value.param == "max_memory"


def test_max_memory_parsing():
    assert parse_size("3GB") == 3_000_000_000
    assert parse_size("2GiB") == 2 * 2**30
    for bad in ("lots", "-1GB", "0"):
        with pytest.raises(InvalidInputError) as exc:
            parse_size(bad)
        assert exc.value.param == "max_memory"


@pytest.mark.slow
def _classify_peak_rss(psutil, path, out, seconds):
    """Peak RSS of ``eokit urban classify PATH --max-memory 400MB`` over its first ``seconds`` (or its whole run)."""
    cmd = [
        sys.executable,
        "-c",
        "from eokit.cli.main import main; main()",
        "urban",
        "classify",
        str(path),
        "-o",
        str(out),
    ]
    cmd += ["--max-memory", "400MB", "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    peak = 0
    try:
        ps = psutil.Process(proc.pid)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds and proc.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                peak = max(peak, ps.memory_info().rss)
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    return peak


def test_declared_huge_grid_stays_in_budget(tmp_path):
    """``eokit urban classify`` on a file declaring 100,000² cells: what it holds beyond the same command on a
    1,000² grid (interpreter, libraries, compiled kernels) stays within --max-memory while it runs."""
    psutil = pytest.importorskip("psutil")
    runtime = _classify_peak_rss(psutil, _sparse(tmp_path / "small.tif", 1_000), tmp_path / "s.tif", 60)
    peak = _classify_peak_rss(psutil, _sparse(tmp_path / "big.tif", 100_000), tmp_path / "l2.tif", 12)
    assert runtime > 0 and peak > 0
    assert peak - runtime < 400e6
