"""Memory bounds from what a raster declares: refusals before any read, block sizes within the budget."""

import numpy as np
import pytest
import rasterio

from eokit.config import override
from eokit.errors import ConfigError, InvalidInputError
from eokit.io import open_raster, process_raster_blocks
from eokit.io.limits import memory_budget, parse_size
from eokit.testing import write_declared_raster, write_test_raster


def test_open_raster_refuses_a_strip_larger_than_the_budget(tmp_path):
    # 6000 x 6000 float32 in one strip: 144 MB decoded to read any pixel, a few hundred bytes on disk
    path = write_declared_raster(tmp_path / "strip.tif", width=6000, height=6000, block=None)
    with override(max_memory="64MB"), pytest.raises(InvalidInputError) as exc:
        open_raster(path)
    assert exc.value.path == str(path)
    with override(max_memory="64MB"), open_raster(path, max_memory="1GB") as ds:  # an explicit budget wins
        assert ds.block_shapes[0] == (6000, 6000)
    with override(max_memory="64MB"), open_raster(path, "r+") as ds:  # only reads are checked
        assert ds.width == 6000


def test_budget_setting_parsed_and_checked(monkeypatch):
    monkeypatch.setenv("EOKIT_MAX_MEMORY", "3GB")
    assert memory_budget() == 3 * 10**9
    assert memory_budget("1GiB") == 2**30
    with pytest.raises(ConfigError):
        with override(max_memory="lots"):
            pass
    for bad in ("lots", "-1GB", "0", "nanMB", "infGB"):
        with pytest.raises(InvalidInputError) as exc:
            parse_size(bad)
        assert exc.value.param == "max_memory"


def test_block_work_refuses_native_blocks_beyond_the_budget_for_all_workers(tmp_path):
    # 4000 x 4000 float32 strip: 64 MB per reader; 2 workers need 128 MB
    path = write_declared_raster(tmp_path / "strip.tif", width=4000, height=4000, block=None)
    with override(max_memory="100MB"), pytest.raises(InvalidInputError) as exc:
        process_raster_blocks(path, tmp_path / "o.tif", _record([]), workers=2)
    assert exc.value.path == str(path)
    assert not (tmp_path / "o.tif").exists()


def _record(seen):
    def func(a, *, block):
        seen.append((a.nbytes, a.shape))
        return a[:1].astype(np.uint8)

    return func


def test_many_bands_lower_the_block_size_to_fit_the_budget(tmp_path):
    # 300 uint8 bands of 512 x 512: 79 MB in one block of the default size
    path = write_declared_raster(
        tmp_path / "bands.tif", width=512, height=512, count=300, dtype="uint8", block=(128, 128)
    )
    seen = []
    budget = "32MB"
    with override(max_memory=budget, block_size=1024):
        process_raster_blocks(path, tmp_path / "o.tif", _record(seen), count=1, dtype="uint8", scheduler="synchronous")
    in_flight = 3  # one worker: two pending blocks and the one being written
    assert seen and max(n for n, _ in seen) * in_flight <= parse_size(budget)
    assert sum(np.prod(s[1:]) for _, s in seen) == 512 * 512  # every pixel once
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.shape == (512, 512)


def test_refused_when_not_even_a_small_block_fits(tmp_path):
    path = write_declared_raster(tmp_path / "bands.tif", width=64, height=64, count=300, dtype="uint8")
    with override(max_memory="1MB"), pytest.raises(InvalidInputError) as exc:
        process_raster_blocks(path, tmp_path / "o.tif", _record([]), count=1, dtype="uint8")
    assert exc.value.path == str(path)


def test_wide_strips_are_worked_whole(tmp_path):
    # 1-row strips 40,000 pixels wide: square blocks would decode each strip 40 times
    path = write_declared_raster(tmp_path / "wide.tif", width=40_000, height=6, block=(1, 40_000), dtype="uint8")
    seen = []
    with override(block_size=64):
        process_raster_blocks(path, tmp_path / "o.tif", _record(seen), count=1, dtype="uint8", scheduler="synchronous")
    assert {s[2] for _, s in seen} == {40_000}
    assert sum(s[1] for _, s in seen) == 6


def test_small_strip_files_keep_square_blocks(tmp_path):
    data = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    src = write_test_raster(tmp_path / "s.tif", data, crs="EPSG:32618")
    seen = []
    process_raster_blocks(src, tmp_path / "o.tif", _record(seen), block_size=16, scheduler="synchronous")
    assert {s[1:] for _, s in seen} == {(16, 16)}


def test_raster_env_applies_the_settings_gdal_options():
    from rasterio.env import get_gdal_config

    from eokit.io.raster import raster_env

    with override(gdal_env={"GDAL_CACHEMAX": "48"}), raster_env():
        assert get_gdal_config("GDAL_CACHEMAX") == 48


def test_vrt_over_a_strip_beyond_the_budget_is_refused(tmp_path):
    # the VRT's own blocks are 128 x 128; reading any of them decodes the source's one 144 MB strip
    write_declared_raster(tmp_path / "strip.tif", width=6000, height=6000, block=None)
    vrt = tmp_path / "over.vrt"
    vrt.write_text(
        '<VRTDataset rasterXSize="6000" rasterYSize="6000"><VRTRasterBand dataType="Float32" band="1">'
        '<SimpleSource><SourceFilename relativeToVRT="1">strip.tif</SourceFilename><SourceBand>1</SourceBand>'
        "</SimpleSource></VRTRasterBand></VRTDataset>"
    )
    with override(max_memory="64MB"), pytest.raises(InvalidInputError) as exc:
        open_raster(vrt)
    assert exc.value.path == str(vrt)
    with override(max_memory="1GB"), open_raster(vrt) as ds:
        assert ds.block_shapes[0] == (128, 128)
