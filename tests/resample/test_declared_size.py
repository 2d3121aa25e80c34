"""Resampling inputs and outputs that declare more than they hold: memory independent of the declared size."""

import tracemalloc

import numpy as np
import pytest
import rasterio

from eokit.errors import InvalidInputError
from eokit.resample.tiles import plan_tiles
from eokit.resample.tool import resample_file
from eokit.testing import write_declared_raster


def _grid(path, n=8, step=10.0):
    r, c = np.mgrid[0:n, 0:n].astype("float64") * step
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=2, dtype="float64") as ds:
        ds.write(np.stack([r, c]))
    return path


def test_tile_plan_memory_does_not_grow_with_the_declared_output():
    window = np.array([[0, 20_000 - 1], [0, 20_000 - 1]])
    tracemalloc.start()
    try:
        plan = plan_tiles(window, strip_rows=64, tile_shape=(64, 64))
        n = len(plan)
        first = next(iter(plan))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 313 * 313  # ceil(20000 / 64) squared
    assert first.win == (0, 63, 0, 63)
    assert peak < 100_000  # a list of the 98,000 tiles takes ~15 MB


def test_tile_plan_iterates_every_pixel_once():
    window = np.array([[3, 52], [5, 41]])
    plan = plan_tiles(window, strip_rows=7, tile_shape=(3, 10))
    cover = np.zeros((60, 50), int)
    for t in plan:
        r0, r1, c0, c1 = t.win
        cover[r0 : r1 + 1, c0 : c1 + 1] += 1
    assert len(plan) == len(list(plan))
    assert cover[3:53, 5:42].min() == 1 and cover.sum() == 50 * 37


def test_source_in_one_strip_beyond_the_budget_refused_before_reading(tmp_path):
    # 4,500 x 4,500 float32 in one strip: 81 MB decoded for any source window, against a 64 MB budget
    src = write_declared_raster(tmp_path / "src.tif", width=4500, height=4500, block=None)
    with pytest.raises(InvalidInputError) as exc:
        resample_file(src, _grid(tmp_path / "g.tif"), tmp_path / "o.tif", resolution=(1, 1), max_memory="64MB")
    assert exc.value.path == str(src)
    assert not (tmp_path / "o.tif").exists()
