"""basic_grid_resampling_chain: streaming equals the in-memory core, and equals gridr's chain."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.errors import NotGeoreferencedWarning

from eokit.errors import InvalidInputError
from eokit.resample import array_grid_resampling, basic_grid_resampling_chain
from eokit.resample.chain import prepare_chain
from eokit.resample.tiles import align_to_blocks, auto_tile_shape, gdal_cache_share, parse_memory, plan_tiles
from eokit.testing.resample_grids import distorted_grid, write_grid

RES = (4, 5)
GSHAPE = (9, 9)
OSHAPE = (33, 41)  # (9-1)*4+1, (9-1)*5+1

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def _write(path, arr, dtype):
    arr = np.asarray(arr)
    arr = arr[None] if arr.ndim == 2 else arr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(
            path, "w", driver="GTiff", height=arr.shape[1], width=arr.shape[2], count=arr.shape[0], dtype=dtype
        ) as ds:
            ds.write(arr.astype(dtype))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    rng = np.random.default_rng(99)
    src = (rng.random((2, 40, 45)) * 1000).astype(np.float32)
    gr, gc = distorted_grid(GSHAPE, RES, origin=(-3.0, -2.0), angle=0.15, scale=1.1, noise=0.5, seed=4)
    smask = (rng.random((40, 45)) > 0.03).astype(np.uint8) * 7  # 7 = valid, 0 = invalid
    gmask = (rng.random(GSHAPE) > 0.1).astype(np.uint8)
    _write(d / "src.tif", src, "float32")
    write_grid(d / "grid.tif", gr, gc)
    _write(d / "row.tif", gr, "float64")
    _write(d / "col.tif", gc, "float64")
    _write(d / "smask.tif", smask, "uint8")
    _write(d / "gmask.tif", gmask, "uint8")
    return {"dir": d, "src": src, "gr": gr, "gc": gc, "smask": smask, "gmask": gmask}


def run_chain(files, fn=basic_grid_resampling_chain, *, shape=OSHAPE, dtype="float64", count=2, masks=False, **kw):
    d = files["dir"]
    out_path, mask_path = d / f"out_{id(kw)}.tif", d / f"mask_{id(kw)}.tif"
    with contextlib.ExitStack() as st:
        g = st.enter_context(rasterio.open(d / "grid.tif"))
        s = st.enter_context(rasterio.open(d / "src.tif"))
        o = st.enter_context(
            rasterio.open(out_path, "w", driver="GTiff", height=shape[0], width=shape[1], count=count, dtype=dtype)
        )
        m = st.enter_context(
            rasterio.open(mask_path, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="uint8")
        )
        if masks:
            kw.update(
                array_src_mask_ds=st.enter_context(rasterio.open(d / "smask.tif")),
                array_src_mask_band=1,
                array_src_mask_validity_pair=(7, 0),
                grid_mask_in_ds=st.enter_context(rasterio.open(d / "gmask.tif")),
                grid_mask_in_band=1,
                grid_mask_in_unmasked_value=1,
            )
        kw.setdefault("array_src_bands", [1, 2])
        fn(
            grid_ds=g, grid_row_coords_band=1, grid_col_coords_band=2, grid_resolution=RES, array_src_ds=s,
            array_out_ds=o, nodata_out=-5.0, mask_out_ds=m, **kw,
        )  # fmt: skip
    with rasterio.open(out_path) as o, rasterio.open(mask_path) as m:
        return o.read(), m.read(1)


def core(files, interp, masks=False, **kw):
    extra = {}
    if masks:
        extra = dict(array_in_mask=(files["smask"] == 7).astype(np.uint8), grid_mask=files["gmask"])
    return array_grid_resampling(
        interp, files["src"], files["gr"], files["gc"], RES, None, array_out_mask=True, nodata_out=-5.0,
        **extra, **kw,
    )  # fmt: skip


TILINGS = [
    dict(io_strip_size=0, tile_shape=None),
    dict(io_strip_size=1, io_strip_size_target="output", tile_shape=None),
    dict(io_strip_size=1, tile_shape=(1, 41)),
    dict(io_strip_size=3, tile_shape=(33, 1)),
    dict(io_strip_size=2, tile_shape=(5, 8)),  # 41 = 5 * 8 + 1
    dict(io_strip_size=8, io_strip_size_target="output", tile_shape=(4, 10)),  # 33 = 8*4+1, 41 = 4*10+1
    dict(io_strip_size=1000, tile_shape=(1000, 1000)),
    dict(io_strip_size=5, tile_shape=(7, 3), ncpu=2),
]


@pytest.mark.parametrize("tiling", range(len(TILINGS)))
@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
def test_chain_equals_core_for_any_strip_and_tile(files, tiling, interp):
    masks = tiling % 2 == 1
    out, mask = run_chain(files, interp=interp, masks=masks, **TILINGS[tiling])
    ref, ref_mask = core(files, interp, masks=masks)
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("mode", ["edge", "reflect", "wrap", "constant"])
def test_chain_boundary_conditions_equal_core(files, mode):
    out, mask = run_chain(
        files, interp="cubic", boundary_condition=mode, trust_padding=True, io_strip_size=2, tile_shape=(6, 9)
    )
    ref, ref_mask = core(files, "cubic", boundary_condition=mode, trust_padding=True)
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)


def test_window_grid_col_ds_and_shift(files):
    d = files["dir"]
    win = np.array([[3, 20], [5, 33]])
    with rasterio.open(d / "row.tif") as r, rasterio.open(d / "col.tif") as c:
        out, mask = run_chain(
            files,
            interp="linear",
            shape=(18, 29),
            win=win,
            grid_shift=(0.25, -0.5),
            tile_shape=(5, 5),
            io_strip_size=1,
            fn=lambda **kw: basic_grid_resampling_chain(
                **{**kw, "grid_ds": r, "grid_col_ds": c, "grid_col_coords_band": 1}
            ),
        )
    ref, ref_mask = array_grid_resampling(
        "linear", files["src"], files["gr"] + 0.25, files["gc"] - 0.5, RES, None, array_out_mask=True,
        nodata_out=-5.0, win=win,
    )  # fmt: skip
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("budget", ["20KB", "1MB", 10**9])
def test_max_memory_automatic_mode_same_result(files, budget):
    out, mask = run_chain(files, interp="cubic", masks=True, max_memory=budget, ncpu=2)
    ref, ref_mask = core(files, "cubic", masks=True)
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)


def test_max_memory_bounds_gdal_block_cache_while_running_and_restores_it(files):
    # GDAL keeps written blocks in its cache until the dataset closes: the chain bounds it
    from rasterio.env import get_gdal_config

    before = get_gdal_config("GDAL_CACHEMAX")
    seen = []
    out, mask = run_chain(
        files, interp="linear", max_memory="8MB", progress=lambda n: seen.append(get_gdal_config("GDAL_CACHEMAX"))
    )
    assert seen and all(v <= max(2 * 10**6, 1 << 20) for v in seen)
    assert get_gdal_config("GDAL_CACHEMAX") == before
    ref, ref_mask = core(files, "linear")
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)


def test_cache_share_and_block_alignment(tmp_path):
    prof = dict(driver="GTiff", height=100, width=120, count=2, dtype="float32", tiled=True, blockxsize=16,
                blockysize=16)  # fmt: skip
    with rasterio.open(tmp_path / "o.tif", "w", **prof) as o:
        # two rows of 16 x 120 blocks of 2 float32 bands, or a quarter of the budget
        assert gdal_cache_share(10**6, o, None) == 1 << 20
        assert gdal_cache_share(10**8, o) == 25 * 10**6
        assert gdal_cache_share(1000, o) == max(2 * 16 * 120 * 2 * 4, 1 << 20)
        assert align_to_blocks(40, 50, 100, 120, o) == (32, 48)
        assert align_to_blocks(10, 120, 100, 120, o) == (10, 120)  # below one block / full width: kept


def test_integer_output_is_rounded_and_clipped(files):
    out8, _ = run_chain(files, interp="linear", dtype="uint8", array_src_bands=1, count=1)
    ref, _ = core(files, "linear")
    np.testing.assert_array_equal(out8[0], np.clip(np.rint(ref[0]), 0, 255).astype(np.uint8))


def test_parse_memory():
    assert parse_memory("512MB") == 512 * 10**6
    assert parse_memory("1.5GiB") == int(1.5 * 2**30)
    assert parse_memory(1000) == 1000
    for bad in ("lots", "-3MB", 0, "12XB"):
        with pytest.raises(InvalidInputError) as exc:
            parse_memory(bad)
        assert exc.value.param == "max_memory"


@pytest.mark.parametrize(
    "kw,shape,count,name",
    [
        ({}, (10, 41), 2, "array_out_ds"),
        ({}, OSHAPE, 1, "array_out_ds"),
        ({"win": np.array([[0, 40], [0, 3]])}, (41, 4), 2, "win"),
        ({"interp": "quintic"}, OSHAPE, 2, "interp"),
        ({"array_src_bands": [3]}, OSHAPE, 1, "array_src_bands"),
        ({"boundary_condition": "edge", "trust_padding": None}, OSHAPE, 2, "trust_padding"),
        ({"array_src_geometry_pair": ("POLYGON", None)}, OSHAPE, 2, "array_src_geometry_pair"),
        ({"array_src_geometry_pair": "x"}, OSHAPE, 2, "array_src_geometry_pair"),
        ({"grid_resolution": (0, 5)}, OSHAPE, 2, "grid_resolution"),
    ],
)
def test_chain_bad_input(files, kw, shape, count, name):
    kw = {"interp": "linear", **kw}
    if "grid_resolution" in kw:
        res = kw.pop("grid_resolution")

        def fn(**k):
            return basic_grid_resampling_chain(**{**k, "grid_resolution": res})

        kw["fn"] = fn
    with pytest.raises(InvalidInputError) as exc:
        run_chain(files, shape=shape, count=count, **kw)
    assert exc.value.param == name


def test_single_band_grid_file_is_rejected(files):
    d = files["dir"]
    with rasterio.open(d / "row.tif") as g, rasterio.open(d / "src.tif") as s:
        with rasterio.open(d / "x.tif", "w", driver="GTiff", height=33, width=41, count=1, dtype="float32") as o:
            with pytest.raises(InvalidInputError) as exc:
                basic_grid_resampling_chain(g, 1, 2, RES, s, 1, o, "linear", 0)
            assert exc.value.param == "grid_ds"


gridr_chain = pytest.importorskip("gridr.chain.grid_resampling_chain")


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize(
    "kw",
    [
        dict(io_strip_size=2, tile_shape=(6, 9)),
        dict(masks=True, io_strip_size=2, tile_shape=(6, 7)),
        dict(boundary_condition="reflect", trust_padding=True, grid_shift=(0.3, -0.7)),
    ],
)
def test_chain_equals_gridr_chain(files, interp, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ref_mask = run_chain(files, fn=gridr_chain.basic_grid_resampling_chain, interp=interp, **dict(kw))
    out, mask = run_chain(files, interp=interp, **dict(kw))
    assert 0 < ref_mask.sum() < ref_mask.size
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("origin", [None, (2.5, -3.0)])
def test_geometry_masks_equal_gridr_chain(files, origin):
    from shapely.geometry import Polygon, box

    valid = [Polygon([(2, 1), (40, 4), (36, 37), (5, 30)])]
    invalid = box(14.0, 12.0, 22.0, 19.0)
    kw = dict(array_src_geometry_pair=(valid, invalid), array_src_geometry_origin=origin, io_strip_size=2,
              tile_shape=(6, 7))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ref_mask = run_chain(files, fn=gridr_chain.basic_grid_resampling_chain, interp="linear", **dict(kw))
    out, mask = run_chain(files, interp="linear", **dict(kw))
    _, plain_mask = run_chain(files, interp="linear")
    assert ref_mask.sum() < plain_mask.sum()  # the geometries do mask something
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


def test_progress_reports_every_output_pixel(files):
    done = []
    run_chain(files, interp="nearest", io_strip_size=2, tile_shape=(7, 11), progress=done.append)
    assert sum(done) == OSHAPE[0] * OSHAPE[1]
    assert len(done) > 1


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    strip=st.one_of(st.none(), st.integers(0, 50)),
    tile=st.one_of(st.none(), st.tuples(st.integers(1, 45), st.integers(1, 45))),
    r0=st.integers(0, 5),
    c0=st.integers(0, 5),
)
def test_tiles_cover_the_window_exactly_once(h, w, strip, tile, r0, c0):
    window = np.array([[r0, r0 + h - 1], [c0, c0 + w - 1]])
    count = np.zeros((h, w), int)
    for t in plan_tiles(window, strip_rows=strip, tile_shape=tile):
        a0, a1, b0, b1 = t.win
        assert (t.out_row, t.out_col) == (a0 - r0, b0 - c0)
        count[a0 - r0 : a1 - r0 + 1, b0 - c0 : b1 - c0 + 1] += 1
    assert (count == 1).all()


def test_auto_tile_shape_follows_the_budget(files):
    d = files["dir"]
    window = np.array([[0, OSHAPE[0] - 1], [0, OSHAPE[1] - 1]])
    with rasterio.open(d / "grid.tif") as g, rasterio.open(d / "src.tif") as s:
        with rasterio.open(d / "plan.tif", "w", driver="GTiff", height=33, width=41, count=2, dtype="float64") as o:
            spec, win = prepare_chain(g, 1, 2, RES, s, [1, 2], o, "cubic", 0)
            big = auto_tile_shape(spec, g, g, win, 10**9, 1)
            small = auto_tile_shape(spec, g, g, win, 30_000, 2)
    assert big == OSHAPE
    assert small[0] * small[1] < OSHAPE[0] * OSHAPE[1]
    np.testing.assert_array_equal(win, window)


@settings(max_examples=12, deadline=None)
@given(
    strip=st.integers(0, 12),
    target=st.sampled_from(["input", "output"]),
    tile=st.tuples(st.integers(1, 40), st.integers(1, 45)),
    interp=st.sampled_from(["nearest", "linear", "cubic", "lanczos3"]),
)
def test_chain_equals_core_for_random_tilings(files, strip, target, tile, interp):
    out, mask = run_chain(files, interp=interp, io_strip_size=strip, io_strip_size_target=target, tile_shape=tile)
    ref, ref_mask = core(files, interp)
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(out, ref)


BSPLINE_CASES = [
    ("bspline3", {"epsilon": 1e-6, "mask_influence_threshold": 0.001}, "reflect", True, True, 5),
    ("bspline3", {"epsilon": 1e-2, "mask_influence_threshold": 0.1}, None, False, False, 2),
    ("bspline5", {"epsilon": 1e-6, "mask_influence_threshold": 0.01}, "symmetric", True, False, 6),
    ("bspline5", {"epsilon": 1e-4, "mask_influence_threshold": 1.0}, "reflect", False, True, 3),
    ("bspline7", {"epsilon": 1e-6, "mask_influence_threshold": 0.001}, "wrap", True, False, 2),
    ("bspline11", {"epsilon": 1e-3, "mask_influence_threshold": 1.0}, "symmetric", True, True, 4),
]


@pytest.mark.parametrize("case", range(len(BSPLINE_CASES)))
def test_chain_bsplines_equal_the_whole_array(files, case):
    """Tiles prefilter their own window (plus twice the prefilter margin): the whole-array result, to
    the 1e-6 (decimal 6) gridr's suite uses, and the same validity."""
    interp, kw, bc, trust, masks, tile = BSPLINE_CASES[case]
    out, mask = run_chain(files, interp=interp, interp_kwargs=kw, boundary_condition=bc, trust_padding=trust,
                          masks=masks, io_strip_size=tile, tile_shape=(tile, 2 * tile + 1))  # fmt: skip
    ref, ref_mask = core(files, interp, masks=masks, interp_kwargs=kw, boundary_condition=bc, trust_padding=trust)
    assert 0 < ref_mask.mean()
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)


def test_chain_checks_interp_kwargs(files):
    with pytest.raises(InvalidInputError) as exc:
        run_chain(files, interp="linear", interp_kwargs={"epsilon": 1e-6})
    assert exc.value.param == "interp_kwargs"


@pytest.mark.parametrize(
    ("interp", "kw", "tile"), [("cubic", None, 5), ("bspline3", {"epsilon": 1e-4, "mask_influence_threshold": 1.0}, 6)]
)
def test_chain_constant_trusted_padding_with_invalid_pixels_equals_gridr(files, interp, kw, tile):
    """Trusted ``constant`` padding of a source with invalid pixels is invalid, as gridr pads the mask
    (0) with the same mode; tiles whose own mask is all valid follow the whole source's mask."""
    gridr_core = pytest.importorskip("gridr.core.grid.grid_resampling")
    smask = (files["smask"] == 7).astype(np.uint8)
    assert not smask.all()
    out, mask = run_chain(files, interp=interp, interp_kwargs=kw, boundary_condition="constant", trust_padding=True,
                          masks=True, io_strip_size=tile, tile_shape=(tile, 2 * tile + 1))  # fmt: skip
    common = dict(
        grid_row=files["gr"], grid_col=files["gc"], grid_resolution=RES, array_out=None, array_out_mask=True,
        nodata_out=-5.0, array_in_mask=smask, grid_mask=files["gmask"], grid_mask_valid_value=1,
        boundary_condition="constant", trust_padding=True, interp_kwargs=kw,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refs = [
            gridr_core.array_grid_resampling(interp=interp, array_in=files["src"][b].astype(np.float64), **common)
            for b in range(2)
        ]
    ref_mask = refs[0][1]
    # the grid reaches outside the source: without the padding's invalidity more pixels would be valid
    assert 0.2 < ref_mask.mean() < 0.95
    np.testing.assert_array_equal(mask, ref_mask)
    for b in range(2):
        np.testing.assert_allclose(out[b], refs[b][0], rtol=0, atol=1e-6)


def test_prepare_chain_is_an_adapter_over_eokit_options(files):
    """gridr's long signature and eokit's (ChainInputs, ResampleOptions) give the same tile spec."""
    from eokit.resample import ResampleOptions
    from eokit.resample.chain import ChainInputs, prepare

    d = files["dir"]
    with contextlib.ExitStack() as st:
        g, s, sm, gm = (
            st.enter_context(rasterio.open(d / n)) for n in ("grid.tif", "src.tif", "smask.tif", "gmask.tif")
        )
        o = st.enter_context(
            rasterio.open(d / "ad.tif", "w", driver="GTiff", height=29, width=40, count=2, dtype="float32")
        )
        a = prepare_chain(
            g, 1, 2, RES, s, [1, 2], o, "bspline5", -1.0, interp_kwargs={"epsilon": 1e-4}, boundary_condition="constant",
            trust_padding=True, array_src_mask_ds=sm, array_src_mask_validity_pair=(7, 0), grid_mask_in_ds=gm,
            grid_mask_in_unmasked_value=1, win=[[2, 30], [1, 40]],
        )  # fmt: skip
        opts = ResampleOptions.create("bspline5", {"epsilon": 1e-4}, nodata=-1.0, boundary_condition="constant",
                                      trust_padding=True)  # fmt: skip
        inputs = ChainInputs(grid=g, src=s, bands=[1, 2], src_mask=sm, src_mask_validity=(7, 0), grid_mask=gm,
                             grid_mask_valid=1)  # fmt: skip
        b = prepare(inputs, RES, o, opts, window=[[2, 30], [1, 40]])
    assert a[0] == b[0]
    assert a[0].src_has_invalid and a[0].bspline_extent is not None and a[0].order == 5
    np.testing.assert_array_equal(a[1], b[1])
