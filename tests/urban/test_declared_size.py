"""Urban work on rasters whose header declares more than their file holds: bounded, or refused before reading."""

import numpy as np
import pytest
from affine import Affine

from eokit.errors import InvalidInputError
from eokit.testing import write_declared_raster
from eokit.urban.labels import label_raster, threshold_predicate
from eokit.urban.outofcore import degurba_files
from eokit.urban.zonal import zonal_stats

KM = Affine(1000.0, 0, 500000.0, 0, -1000.0, 5000000.0)


def test_classify_refuses_a_population_stored_in_one_strip_beyond_the_budget(tmp_path):
    # 4,500 x 4,500 float32 in one strip: 81 MB decoded to read any cell, against a 70 MB budget
    pop = write_declared_raster(tmp_path / "pop.tif", width=4500, height=4500, block=None, transform=KM)
    with pytest.raises(InvalidInputError) as exc:
        degurba_files(pop, centres=tmp_path / "c.tif", clusters=tmp_path / "u.tif", max_memory="70MB")
    assert exc.value.path == str(pop)
    assert not (tmp_path / "c.tif").exists()


def test_label_raster_of_a_declared_grid_keeps_its_provisional_labels_small(tmp_path):
    # the provisional int64 labels were uncompressed: 8 bytes per declared cell on disk whatever the data
    src = write_declared_raster(tmp_path / "big.tif", width=4096, height=4096, dtype="uint8", transform=KM)
    sizes = []

    class Watch(threshold_predicate):
        def __call__(self, block):
            sizes.extend(p.stat().st_size for p in tmp_path.glob("*.provisional.tif"))
            return super().__call__(block)

    n = label_raster(src, tmp_path / "labels.tif", Watch(1), block_shape=1024, scheduler="synchronous")
    assert n == 0
    assert sizes and max(sizes) < 1 << 20  # 128 MB uncompressed for 4096² int64
    assert not list(tmp_path.glob("*.provisional.tif"))


def test_zonal_refuses_a_label_zone_raster_beyond_the_budget_before_reading(tmp_path):
    zones = write_declared_raster(tmp_path / "zones.tif", width=2000, height=2000, dtype="int32", transform=KM)
    values = write_declared_raster(tmp_path / "v.tif", width=2000, height=2000, transform=KM)
    with pytest.raises(InvalidInputError) as exc:
        zonal_stats(zones, values, stats=["sum"], max_memory=10**6)  # 2000² int32 + indices: 80 MB
    assert exc.value.path == str(zones)
    small = write_declared_raster(tmp_path / "z2.tif", width=100, height=100, dtype="int32", transform=KM)
    v2 = write_declared_raster(tmp_path / "v2.tif", width=100, height=100, transform=KM)
    table = zonal_stats(small, v2, stats=["sum"], max_memory=10**6)  # 100² fits: computed (no zone: label 0)
    assert len(table) == 0 or np.isfinite(table["value"]).all()


def test_zonal_median_reads_the_zones_columns_not_the_declared_width(tmp_path):
    import tracemalloc

    import geopandas as gpd
    from shapely.geometry import box

    # 2,048 x 20,000 float32 declared; one zone of 10 x 10 cells at the left edge
    raster = write_declared_raster(tmp_path / "wide.tif", width=20_000, height=2048, transform=KM, block=(256, 256))
    zones = gpd.GeoDataFrame({"id": [1]}, geometry=[box(500000, 4990000, 510000, 5000000)], crs="EPSG:32633")
    tracemalloc.start()
    try:
        table = zonal_stats(zones, raster, stats=["median"], max_memory=10**6, workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table["value"].tolist() == [0.0]  # an unwritten GeoTIFF reads as zeros
    assert peak < 48 * 2**20  # ~17 MB whatever the width; full-width strips of 1,024 rows: 95 MB
