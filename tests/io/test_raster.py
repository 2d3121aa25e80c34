import os
import stat

import numpy as np
import pytest
import rasterio
from affine import Affine

from eokit.errors import GridMismatchError, InputNotFoundError, OutputError, UnreadableInputError
from eokit.io import RasterWriter, open_raster, process_raster_blocks, read_raster, write_raster
from eokit.io.atomic import atomic_path, safe_join
from eokit.testing import coordinate_image, write_test_raster
from eokit.testing.blockfuncs import box_sum3, double

T = Affine(30.0, 0, 500000.0, 0, -30.0, 4000000.0)


def test_write_raster_roundtrip_and_tiling(tmp_path):
    data = coordinate_image((300, 200), np.float32)
    path = write_raster(tmp_path / "a.tif", data, transform=T, crs="EPSG:32618", nodata=-1)
    with rasterio.open(path) as ds:
        np.testing.assert_array_equal(ds.read(1), data)
        assert ds.profile["tiled"] and ds.nodata == -1 and ds.crs.to_epsg() == 32618
    assert [p.name for p in tmp_path.iterdir()] == ["a.tif"]  # no temp files left


def test_cog_output_is_a_cog(tmp_path):
    data = coordinate_image((600, 600), np.uint16)
    path = write_raster(tmp_path / "c.tif", data, transform=T, crs="EPSG:32618", cog=True)
    with rasterio.open(path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.overviews(1)
        np.testing.assert_array_equal(ds.read(1), data)


def test_atomic_writer_keeps_previous_file_on_error(tmp_path):
    target = tmp_path / "out.tif"
    write_raster(target, np.ones((20, 20), np.uint8), transform=T, crs="EPSG:32618")
    before = target.read_bytes()
    profile = dict(width=20, height=20, count=1, dtype="uint8", crs="EPSG:32618", transform=T)

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom):
        with RasterWriter(target, profile) as w:
            w.write(np.zeros((10, 20), np.uint8), window=((0, 10), (0, 20)))
            raise Boom()
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "x.json") as tmp:
            tmp.write_text("half")
            raise ValueError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(OutputError):
        write_raster(ro / "a.tif", np.ones((4, 4), np.uint8), transform=T, crs="EPSG:32618")


def test_output_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as info:
        write_raster(blocker / "a.tif", np.ones((4, 4), np.uint8), transform=T, crs="EPSG:32618")
    assert "file" in str(info.value)


def test_missing_and_unreadable_inputs(tmp_path):
    with pytest.raises(InputNotFoundError) as info:
        open_raster(tmp_path / "nope.tif")
    assert info.value.path.endswith("nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(UnreadableInputError):
        read_raster(bad)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
@pytest.mark.parametrize("block", [7, 16, 1000])
def test_process_blocks_with_halo_equals_whole(tmp_path, scheduler, block):
    data = np.random.default_rng(1).random((2, 45, 38)).astype(np.float32)
    src = write_test_raster(tmp_path / "src.tif", data, crs="EPSG:32618", transform=T)
    seen = []
    out = process_raster_blocks(
        src,
        tmp_path / "out.tif",
        box_sum3,
        halo=1,
        block_size=block,
        dtype="float64",
        scheduler=scheduler,
        workers=2,
        progress=seen.append,
    )
    with rasterio.open(out) as ds:
        got = ds.read()
        assert ds.crs.to_epsg() == 32618 and ds.transform == T
    np.testing.assert_allclose(got, box_sum3(data), rtol=1e-12)
    assert sum(seen) == 45 * 38


def test_two_sources_must_share_a_grid(tmp_path):
    a = write_test_raster(tmp_path / "a.tif", np.ones((10, 10), np.uint8), crs="EPSG:32618")
    b = write_test_raster(tmp_path / "b.tif", np.ones((10, 11), np.uint8), crs="EPSG:32618")
    with pytest.raises(GridMismatchError) as info:
        process_raster_blocks([a, b], tmp_path / "o.tif", lambda x, y, block: x + y)
    assert "b.tif" in str(info.value)
    assert not (tmp_path / "o.tif").exists()


def test_process_blocks_error_midway_leaves_no_output(tmp_path):
    src = write_test_raster(tmp_path / "src.tif", np.ones((64, 64), np.uint8), crs="EPSG:32618")

    def explode(a, block):
        if block.row > 0:
            raise RuntimeError("disk on fire")
        return a

    with pytest.raises(RuntimeError):
        process_raster_blocks(src, tmp_path / "o.tif", explode, block_size=16, scheduler="synchronous")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.tif"]


@pytest.mark.slow
def test_dask_local_cluster_equals_threads(tmp_path):
    data = np.random.default_rng(2).random((70, 50)).astype(np.float32)
    src = write_test_raster(tmp_path / "s.tif", data, crs="EPSG:32618")
    a = process_raster_blocks(
        src, tmp_path / "t.tif", box_sum3, halo=1, block_size=16, dtype="float64", scheduler="threads"
    )
    b = process_raster_blocks(
        src, tmp_path / "d.tif", box_sum3, halo=1, block_size=16, dtype="float64", scheduler="local", workers=2
    )
    with rasterio.open(a) as da_, rasterio.open(b) as db_:
        np.testing.assert_array_equal(da_.read(), db_.read())


def test_per_pixel_function(tmp_path):
    data = coordinate_image((33, 21), np.int16)
    src = write_test_raster(tmp_path / "s.tif", data, crs="EPSG:32618")
    out = process_raster_blocks(src, tmp_path / "o.tif", double, dtype="float32", block_size=10)
    got, _ = read_raster(out, bands=1)
    np.testing.assert_array_equal(got, data * 2.0)


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../b", "", "C:/x", "..\\..\\w"])
def test_safe_join_refuses_escapes(tmp_path, name):
    from eokit.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        safe_join(tmp_path, name)


def test_safe_join_accepts_nested(tmp_path):
    assert safe_join(tmp_path, "a/b/c.zip") == (tmp_path / "a/b/c.zip").resolve()


def test_process_blocks_tells_a_progress_bar_its_total(tmp_path):
    """The CLI's bars start without a total; the block loop fills it in (rows x cols), so they show an ETA."""
    from eokit.cli._options import UNKNOWN_TOTAL, progress_bar

    data = np.ones((1, 30, 20), np.float32)
    src = write_test_raster(tmp_path / "src.tif", data, crs="EPSG:32618", transform=T)
    with progress_bar(UNKNOWN_TOTAL, "test") as bar:
        process_raster_blocks(src, tmp_path / "out.tif", double, block_size=8, progress=bar)
        assert bar.total == 30 * 20
