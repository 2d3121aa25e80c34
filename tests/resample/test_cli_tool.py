"""resample_file and the ``eokit resample`` CLI, on synthetic data and the real RGB.byte.tif."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from eokit.cli.main import cli
from eokit.errors import InvalidInputError
from eokit.resample import array_grid_resampling, output_shape, resample_file
from eokit.testing.resample_grids import distorted_grid, rotation_grid, write_grid

from ._reference import full_res_coords, sample

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture
def rgb(samples):
    path = samples / "rasterio" / "RGB.byte.tif"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    d = tmp_path_factory.mktemp("tool")
    rng = np.random.default_rng(5)
    src = (rng.random((2, 30, 34)) * 255).astype(np.uint8)
    with rasterio.open(d / "src.tif", "w", driver="GTiff", height=30, width=34, count=2, dtype="uint8") as ds:
        ds.write(src)
    gr, gc = distorted_grid((6, 7), (5, 4), origin=(-2.0, -1.0), angle=0.1, noise=0.4, seed=2)
    write_grid(d / "grid.tif", gr, gc)
    return d, src, gr, gc


def test_rgb_byte_through_a_rotation_grid(rgb, tmp_path):
    with rasterio.open(rgb) as ds:
        src = ds.read()
        dmask = (ds.dataset_mask() != 0).astype(np.uint8)
        h, w = ds.shape
    res = (8, 8)
    gr, gc = rotation_grid((h, w), (70, 80), res, np.deg2rad(25.0))
    write_grid(tmp_path / "grid.tif", gr, gc)
    out = resample_file(
        rgb, tmp_path / "grid.tif", tmp_path / "rot.tif", resolution=res, interp="cubic",
        mask_out=tmp_path / "mask.tif", max_memory="256KB", workers=2,
    )  # fmt: skip
    with rasterio.open(out) as o, rasterio.open(tmp_path / "mask.tif") as m:
        got, mask = o.read(), m.read(1).astype(bool)
        assert o.dtypes[0] == "float32" and o.profile["tiled"]
    assert got.shape == (3, *output_shape(tmp_path / "grid.tif", res)) == (3, 553, 633)
    y, x, _ = full_res_coords(gr, gc, res)
    for b in range(3):
        ref, ok = sample(src[b], y, x, "cubic", dmask)  # the source's nodata (0) is invalid by default
        np.testing.assert_array_equal(mask, ok)
        np.testing.assert_allclose(got[b][ok], ref[ok].astype(np.float32), rtol=1e-6, atol=1e-3)
    assert 0.5 < mask.mean() < 1.0  # rotated corners fall outside the source


@pytest.mark.parametrize("scheduler", [None, "synchronous", "processes"])
def test_schedulers_give_identical_files(synthetic, tmp_path, scheduler):
    d, src, gr, gc = synthetic
    out = resample_file(
        d / "src.tif", d / "grid.tif", tmp_path / "o.tif", resolution=(5, 4), interp="linear",
        scheduler=scheduler, workers=2, max_memory="16KB", nodata=-1,
    )  # fmt: skip
    ref, _ = array_grid_resampling("linear", src, gr, gc, (5, 4), None, nodata_out=-1, dtype=np.float32)
    with rasterio.open(out) as o:
        np.testing.assert_array_equal(o.read(), ref)
        assert o.nodata == -1


@pytest.mark.slow
def test_dask_local_cluster(synthetic, tmp_path):
    pytest.importorskip("distributed")
    d, src, gr, gc = synthetic
    out = resample_file(
        d / "src.tif", d / "grid.tif", tmp_path / "o.tif", resolution=(5, 4), interp="cubic",
        scheduler="local", workers=2, max_memory="16KB",
    )  # fmt: skip
    ref, _ = array_grid_resampling("cubic", src, gr, gc, (5, 4), None, dtype=np.float32)
    with rasterio.open(out) as o:
        np.testing.assert_array_equal(o.read(), ref)


def test_cli_resample_and_shape(synthetic, tmp_path):
    d, src, gr, gc = synthetic
    runner = CliRunner()
    res = runner.invoke(cli, ["resample", "shape", "--grid", str(d / "grid.tif"), "--resolution", "5", "4"])
    assert res.exit_code == 0, res.output
    assert res.output.split() == ["26", "25"]
    sm = np.ones((30, 34), np.uint8) * 2
    sm[10:14, 10:14] = 9
    with rasterio.open(tmp_path / "sm.tif", "w", driver="GTiff", height=30, width=34, count=1, dtype="uint8") as ds:
        ds.write(sm, 1)
    res = runner.invoke(
        cli,
        [
            "resample", str(d / "src.tif"), str(d / "grid.tif"), str(tmp_path / "o.tif"), "--resolution", "5", "4",
            "--interp", "cubic", "--nodata", "-3", "--mask-out", str(tmp_path / "m.tif"), "--bands", "2",
            "--src-mask", str(tmp_path / "sm.tif"), "--src-mask-validity", "2", "9", "--window", "2", "20", "3", "17",
            "--max-memory", "64KB", "--workers", "2",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    ref, ref_mask = array_grid_resampling(
        "cubic", src[1], gr, gc, (5, 4), None, nodata_out=-3, array_out_mask=True, win=[[2, 20], [3, 17]],
        array_in_mask=(sm == 2).astype(np.uint8), dtype=np.float32,
    )  # fmt: skip
    with rasterio.open(tmp_path / "o.tif") as o, rasterio.open(tmp_path / "m.tif") as m:
        np.testing.assert_array_equal(o.read(1), ref)
        np.testing.assert_array_equal(m.read(1), ref_mask)
    assert 0 < ref_mask.mean() < 1


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--resolution", "0", "4"], "resolution"),
        (["--resolution", "5", "4", "--window", "0", "99", "0", "3"], "window"),
        (["--resolution", "5", "4", "--bands", "7"], "bands"),
    ],
)
def test_cli_bad_input_is_one_line_error(synthetic, tmp_path, args, needle):
    d, *_ = synthetic
    res = CliRunner().invoke(cli, ["resample", str(d / "src.tif"), str(d / "grid.tif"), str(tmp_path / "o.tif"), *args])
    assert res.exit_code == 3
    # the parameter the user set, never the gridr-level name behind it
    assert "eokit: error:" in res.output and needle in res.output
    assert not any(w in res.output for w in ("grid_resolution", "win:", "array_src_bands"))
    assert not (tmp_path / "o.tif").exists()


def test_cli_single_band_grid_needs_grid_col(synthetic, tmp_path):
    d, src, gr, gc = synthetic
    for name, arr in (("row.tif", gr), ("col.tif", gc)):
        with rasterio.open(tmp_path / name, "w", driver="GTiff", height=6, width=7, count=1, dtype="float64") as ds:
            ds.write(arr, 1)
    base = [
        "resample",
        str(d / "src.tif"),
        str(tmp_path / "row.tif"),
        str(tmp_path / "o.tif"),
        "--resolution",
        "5",
        "4",
    ]
    res = CliRunner().invoke(cli, base)
    assert res.exit_code == 3 and "2 bands" in res.output
    res = CliRunner().invoke(cli, [*base, "--grid-col", str(tmp_path / "col.tif")])
    assert res.exit_code == 0, res.output
    ref, _ = array_grid_resampling("linear", src, gr, gc, (5, 4), None, dtype=np.float32)
    with rasterio.open(tmp_path / "o.tif") as o:
        np.testing.assert_array_equal(o.read(), ref)


@pytest.mark.parametrize("flag", [None, "--mask-src-nodata", "--src-nodata-valid"])
def test_cli_src_nodata_is_invalid_by_default_on_rgb(rgb, tmp_path, flag):
    """RGB.byte.tif has nodata 0 around the image: no tap may touch it, unless --src-nodata-valid.

    ``--mask-src-nodata`` (the old opt-in) is a deprecated no-op alias of the default.
    """
    with rasterio.open(rgb) as ds:
        src = ds.read()
        dmask = ds.dataset_mask()
        h, w = ds.shape
    res = (6, 6)
    gr, gc = rotation_grid((h, w), (40, 45), res, np.deg2rad(-10.0), scale=2.5)
    write_grid(tmp_path / "grid.tif", gr, gc)
    args = ["resample", str(rgb), str(tmp_path / "grid.tif"), str(tmp_path / "o.tif"), "--resolution", "6", "6"]
    extra = [flag] if flag else []
    res_cli = CliRunner().invoke(
        cli, [*args, "--interp", "linear", *extra, "--mask-out", str(tmp_path / "m.tif"), "--bands", "1"]
    )
    assert res_cli.exit_code == 0, res_cli.output
    y, x, _ = full_res_coords(gr, gc, res)
    valid_data = flag == "--src-nodata-valid"
    ref, ok = sample(src[0], y, x, "linear", None if valid_data else (dmask != 0).astype(np.uint8))
    with rasterio.open(tmp_path / "o.tif") as o, rasterio.open(tmp_path / "m.tif") as m:
        np.testing.assert_array_equal(m.read(1).astype(bool), ok)
        np.testing.assert_allclose(o.read(1)[ok], ref[ok], rtol=1e-6)
    _, inside = sample(src[0], y, x, "linear")
    assert (inside & ~ok).any() != valid_data  # the nodata border was excluded, or kept as data


@pytest.mark.parametrize("interp,eps", [("bspline3", "1e-6"), ("bspline5", "1e-4")])
def test_cli_bsplines_equal_the_array_function(synthetic, tmp_path, interp, eps):
    d, src, gr, gc = synthetic
    out, mask = tmp_path / "b.tif", tmp_path / "bm.tif"
    res = CliRunner().invoke(
        cli,
        ["resample", str(d / "src.tif"), str(d / "grid.tif"), str(out), "--resolution", "5", "4", "--interp", interp,
         "--epsilon", eps, "--boundary", "symmetric", "--mask-out", str(mask)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    ref, ref_mask = array_grid_resampling(
        interp, src, gr, gc, (5, 4), None, array_out_mask=True, boundary_condition="symmetric", trust_padding=True,
        interp_kwargs={"epsilon": float(eps)},
    )  # fmt: skip
    with rasterio.open(out) as o, rasterio.open(mask) as m:
        np.testing.assert_array_equal(m.read(1), ref_mask)
        valid = ref_mask == 1
        assert valid.mean() > 0.5
        np.testing.assert_allclose(o.read()[:, valid], ref[:, valid].astype(np.float32), rtol=1e-6, atol=1e-4)


def test_cli_errors_name_the_option_typed(synthetic, tmp_path):
    d, _, _, _ = synthetic
    base = ["resample", str(d / "src.tif"), str(d / "grid.tif"), str(tmp_path / "e.tif")]
    for extra, param, wrong in (
        (["--resolution", "0", "4"], "resolution", "grid_resolution"),
        (["--resolution", "5", "4", "--interp", "bspline3", "--epsilon", "2"], "epsilon", "interp_kwargs"),
    ):
        res = CliRunner().invoke(cli, [*base, *extra])
        assert res.exit_code != 0
        # the library names the parameter the user set (the CLI shows it as the option typed)
        assert param in res.output and wrong not in res.output, res.output
        assert "Traceback" not in res.output
        with pytest.raises(InvalidInputError) as exc:
            kw = {"interp_kwargs": {"epsilon": 2.0}, "interp": "bspline3"} if param == "epsilon" else {}
            resample_file(
                d / "src.tif", d / "grid.tif", tmp_path / "e.tif", resolution=(0, 4) if not kw else (5, 4), **kw
            )
        assert exc.value.param == param


def test_cli_says_when_it_compiles_kernels(synthetic, tmp_path, monkeypatch):
    """The first run after an install (nothing in numba's cache) says so, with the kernels' progress."""
    import eokit.resample.warmup as warmup

    d, *_ = synthetic
    args = ["resample", str(d / "src.tif"), str(d / "grid.tif"), str(tmp_path / "o.tif"), "--resolution", "5", "4"]
    monkeypatch.setattr(warmup, "kernels_cached", lambda interp: False)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "compiling kernels (first run only)" in res.output  # a tqdm bar over the run's kernels
    monkeypatch.setattr(warmup, "kernels_cached", lambda interp: True)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0 and "compiling" not in res.output


def test_resample_file_takes_frozen_options_or_their_fields(synthetic, tmp_path):
    from eokit.resample import ResampleOptions

    d, src, gr, gc = synthetic
    opts = ResampleOptions.create("cubic", nodata=-3.0, max_memory="64KB")
    a = resample_file(d / "src.tif", d / "grid.tif", tmp_path / "a.tif", resolution=(5, 4), options=opts)
    b = resample_file(d / "src.tif", d / "grid.tif", tmp_path / "b.tif", resolution=(5, 4), interp="cubic",
                      nodata=-3.0, max_memory="64KB")  # fmt: skip
    ref, _ = array_grid_resampling("cubic", src, gr, gc, (5, 4), None, nodata_out=-3.0, dtype=np.float32)
    with rasterio.open(a) as oa, rasterio.open(b) as ob:
        np.testing.assert_array_equal(oa.read(), ref)
        np.testing.assert_array_equal(ob.read(), ref)
        assert oa.nodata == -3.0
    with pytest.raises(InvalidInputError) as exc:
        resample_file(d / "src.tif", d / "grid.tif", tmp_path / "c.tif", resolution=(5, 4), options=opts, nodata=1.0)
    assert exc.value.param == "options"
    with pytest.raises(InvalidInputError) as exc:
        ResampleOptions.create("linear", boundary_condition="mirror")
    assert exc.value.param == "boundary_condition"
    with pytest.raises(AttributeError):
        opts.nodata = 1.0  # type: ignore[misc]


def test_cli_bands_by_name(synthetic, tmp_path) -> None:
    """--bands takes band names (descriptions) as well as numbers, and both give the same output."""
    import rasterio

    d, *_ = synthetic
    named = tmp_path / "named.tif"
    with rasterio.open(d / "src.tif") as ds:
        profile, data = ds.profile, ds.read()
    with rasterio.open(named, "w", **profile) as ds:
        ds.write(data)
        for i in range(1, ds.count + 1):
            ds.set_band_description(i, f"layer{i}")
    last = str(profile["count"])
    outs = []
    for ref in (last, f"layer{last}"):
        out = tmp_path / f"o{len(outs)}.tif"
        res = CliRunner().invoke(
            cli, ["resample", str(named), str(d / "grid.tif"), str(out), "--resolution", "5", "4", "--bands", ref]
        )
        assert res.exit_code == 0, res.output
        with rasterio.open(out) as ds:
            outs.append(ds.read())
    np.testing.assert_array_equal(outs[0], outs[1])
    res = CliRunner().invoke(
        cli,
        [
            "resample",
            str(named),
            str(d / "grid.tif"),
            str(tmp_path / "x.tif"),
            "--resolution",
            "5",
            "4",
            "--bands",
            "nope",
        ],
    )
    assert res.exit_code == 3 and "--bands" in res.output


@pytest.mark.slow
def test_kernels_load_from_numba_cache_in_a_new_process(tmp_path):
    """A second process loads the kernel numba cached on disk instead of compiling it again (a kernel
    taking a function as a run-time argument would be compiled in every process)."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from eokit.resample import array_grid_resampling\n"
        "from eokit.resample import _kernels as K\n"
        "rows, cols = np.meshgrid([1.0, 5.5], [1.0, 5.5], indexing='ij')\n"
        "array_grid_resampling('linear', np.ones((8, 8)), rows, cols, (2, 2), None)\n"
        "stats = K.compiled_function(K.KIND_LINEAR).stats\n"
        "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True) for _ in "12"
    ]
    assert runs[0].stdout.split() == ["0", "1"], runs[0].stdout + runs[0].stderr  # compiled
    assert runs[1].stdout.split() == ["1", "0"], runs[1].stdout + runs[1].stderr  # loaded
