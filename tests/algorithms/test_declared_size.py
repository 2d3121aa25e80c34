"""Algorithms on rasters whose header declares more than their file holds: bounded, or refused before reading."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner

from eokit.algorithms import tools
from eokit.algorithms.sentinel2 import write_angle_rasters
from eokit.cli.main import cli
from eokit.config import override
from eokit.errors import InvalidInputError
from eokit.testing import write_declared_raster, write_test_raster

from .test_sentinel2 import XML

T10 = Affine(10, 0, 500000, 0, -10, 5000000)
T20 = Affine(20, 0, 500000, 0, -20, 5000000)


def test_s2_angles_refuse_a_like_grid_beyond_the_budget_before_warping(tmp_path):
    mtd = tmp_path / "MTD_TL.xml"
    mtd.write_text(XML)
    # four float64 grids of 2,000 x 2,000: ~190 MB at once, against a 64 MB budget
    like = write_declared_raster(tmp_path / "B04.tif", width=2000, height=2000, transform=T20)
    with override(max_memory="64MB"), pytest.raises(InvalidInputError) as exc:
        write_angle_rasters(mtd, "B04", like, tmp_path / "ang")
    assert exc.value.path == str(like)
    assert not (tmp_path / "ang").exists()


def test_pansharpen_refuses_when_not_one_block_of_its_bands_fits(tmp_path):
    # 100 float32 MS bands: ~2.4 KB per pan pixel in working copies; 1 MB cannot hold a 16 x 16 block with its halo
    ms = write_declared_raster(tmp_path / "ms.tif", width=64, height=64, count=100, transform=T20, block=(16, 16))
    pan = write_declared_raster(tmp_path / "pan.tif", width=128, height=128, transform=T10, block=(16, 16))
    with override(max_memory="1MB"), pytest.raises(InvalidInputError) as exc:
        tools.pansharpen_file(ms, pan, tmp_path / "o.tif", method="brovey")
    assert exc.value.path == str(ms)
    assert not (tmp_path / "o.tif").exists()


def test_pansharpen_with_a_lowered_block_equals_one_block(tmp_path):
    rng = np.random.default_rng(3)
    ms = write_test_raster(tmp_path / "ms.tif", rng.random((4, 40, 40), np.float32) + 0.1, crs="EPSG:32633",
                           transform=T20)  # fmt: skip
    pan = write_test_raster(tmp_path / "pan.tif", rng.random((80, 80), np.float32) + 0.1, crs="EPSG:32633",
                            transform=T10)  # fmt: skip
    tools.pansharpen_file(ms, pan, tmp_path / "one.tif", method="kernel", window_m=30)
    with override(max_memory="1MB"):  # 4 bands x 6 copies x 4 bytes + pan: blocks of 64 on a half budget
        tools.pansharpen_file(ms, pan, tmp_path / "blocks.tif", method="kernel", window_m=30)
    import rasterio

    with rasterio.open(tmp_path / "one.tif") as a, rasterio.open(tmp_path / "blocks.tif") as b:
        np.testing.assert_allclose(b.read(), a.read(), rtol=1e-6)


def test_cli_names_the_file_whose_strip_is_beyond_the_budget(tmp_path):
    # one strip of 4,500 x 4,500 float32: 81 MB decoded to read any pixel
    src = write_declared_raster(tmp_path / "strip.tif", width=4500, height=4500, block=None)
    res = CliRunner().invoke(
        cli, ["algo", "index", "NDVI", str(src), "--red", "1", "--nir", "1", "-o", str(tmp_path / "o.tif")],
        env={"EOKIT_MAX_MEMORY": "64MB"},
    )  # fmt: skip
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 3, res.output
    assert len(lines) == 1 and lines[0].startswith("eokit: error:") and "strip.tif" in lines[0]
    assert not (tmp_path / "o.tif").exists()


def test_pansharpen_reads_under_the_settings_gdal_cache(tmp_path, monkeypatch):
    # GDAL's default block cache is 5% of the machine's memory: a PAN declaring 200,000^2 pixels filled it (~2 GB)
    from rasterio.env import get_gdal_config

    from eokit.algorithms.tools import pansharpen as module

    seen = []
    real = module.run_pansharpen

    def spy(*args, **kwargs):
        seen.append(get_gdal_config("GDAL_CACHEMAX"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "run_pansharpen", spy)
    ms = write_declared_raster(tmp_path / "ms.tif", width=16, height=16, count=3, transform=T20, block=(16, 16))
    pan = write_declared_raster(tmp_path / "pan.tif", width=32, height=32, transform=T10, block=(16, 16))
    with override(gdal_env={"GDAL_CACHEMAX": "48"}):
        tools.pansharpen_file(ms, pan, tmp_path / "o.tif", method="brovey")
    assert seen and set(seen) == {48}


def test_index_reads_only_the_bands_its_formula_uses(tmp_path, monkeypatch):
    import rasterio

    from eokit.algorithms.tools import bands as module

    path = write_declared_raster(tmp_path / "stack.tif", width=32, height=32, count=300, dtype="uint16",
                                 block=(16, 16))  # fmt: skip
    red = np.full((32, 32), 1000, np.uint16)
    nir = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) + 2000
    with rasterio.open(path, "r+") as ds:
        ds.write(red, 3)
        ds.write(nir, 7)
    shapes = []
    real = module._bands_func

    def spy(*arrays, **kwargs):
        shapes.extend(a.shape[0] for a in arrays)
        return real(*arrays, **kwargs)

    monkeypatch.setattr(module, "_bands_func", spy)
    tools.index_file([path], tmp_path / "ndvi.tif", "NDVI", {"red": "3", "nir": "7"})
    assert shapes and set(shapes) == {2}  # all 300 bands were read for every block
    with rasterio.open(tmp_path / "ndvi.tif") as ds:
        got = ds.read(1)
    n, r = nir.astype(np.float64), red.astype(np.float64)
    np.testing.assert_allclose(got, (n - r) / (n + r), rtol=1e-6)
