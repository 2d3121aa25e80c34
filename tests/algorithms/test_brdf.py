"""BRDF kernels and c-factors against sen2nbar, closed forms, and NBAR on numpy and dask."""

from __future__ import annotations

import numpy as np
import pytest

from eokit.algorithms import (
    c_factor,
    c_factor_legacy,
    li_sparse_r,
    nbar,
    normalization_sun_zenith,
    ross_thick,
)
from eokit.errors import InvalidInputError

xr = pytest.importorskip("xarray")
sen2nbar_kernels = pytest.importorskip("sen2nbar.kernels")
sen2nbar_c = pytest.importorskip("sen2nbar.c_factor")


@pytest.fixture(scope="module")
def angles():
    rng = np.random.default_rng(7)
    n = 2000
    return rng.uniform(0, 75, n), rng.uniform(0, 15, n), rng.uniform(-360, 360, n)


def _x(a):
    return xr.DataArray(a, dims="x")


def test_kernels_match_sen2nbar(angles):
    sz, vz, ra = angles
    np.testing.assert_allclose(ross_thick(sz, vz, ra), sen2nbar_kernels.kvol(_x(sz), _x(vz), _x(ra)).values, atol=1e-6)
    np.testing.assert_allclose(li_sparse_r(sz, vz, ra), sen2nbar_kernels.kgeo(_x(sz), _x(vz), _x(ra)).values, atol=1e-6)


@pytest.mark.parametrize(
    ("s2", "name"),
    [("B02", "blue"), ("B03", "green"), ("B04", "red"), ("B05", "rededge1"), ("B06", "rededge2"),
     ("B07", "rededge3"), ("B08", "nir"), ("B11", "swir1"), ("B12", "swir2")],
)  # fmt: skip
def test_c_factor_matches_sen2nbar(angles, s2, name):
    sz, vz, ra = angles
    ref = sen2nbar_c.c_factor(_x(sz), _x(vz), _x(ra)).sel(band=s2).values
    np.testing.assert_allclose(c_factor(name, sz, vz, ra, sensor="sentinel2"), ref, atol=1e-6)
    np.testing.assert_allclose(c_factor(s2, sz, vz, ra, sensor="sentinel2"), ref, atol=1e-6)
    if name in {"blue", "green", "red", "nir", "swir1", "swir2"}:  # Roy 2016 Landsat = the same coefficients
        np.testing.assert_allclose(c_factor(name, sz, vz, ra), ref, atol=1e-6)


def test_kernel_closed_forms():
    # Sun and view at nadir: phase angle 0 -> Kvol = (pi/2)/2 - pi/4 = 0;
    # D = 0 -> cos t = 0, t = pi/2, overlap O = (1/pi)(pi/2)(2) = 1 -> Kgeo = 1 - 2 + 0.5*2 = 0.
    assert ross_thick(0.0, 0.0, 0.0) == pytest.approx(0.0, abs=1e-12)
    assert li_sparse_r(0.0, 0.0, 0.0) == pytest.approx(0.0, abs=1e-12)
    # Reciprocity: swapping sun and view leaves both kernels unchanged.
    assert ross_thick(30.0, 10.0, 40.0) == pytest.approx(ross_thick(10.0, 30.0, 40.0))
    assert li_sparse_r(30.0, 10.0, 40.0) == pytest.approx(li_sparse_r(10.0, 30.0, 40.0))
    # Hot spot (relative azimuth 0, sun = view = t): D = 0, O = sec(t), Kgeo = sec - 2 sec + sec^2
    t = np.radians(30.0)
    assert li_sparse_r(30.0, 30.0, 0.0) == pytest.approx(1 / np.cos(t) ** 2 - 1 / np.cos(t), rel=1e-9)


def test_c_factor_nadir_is_one_and_observed_sun():
    assert c_factor("red", 40.0, 0.0, 123.0) == pytest.approx(1.0)
    # explicit normalisation zenith equal to the observed one gives the default
    assert c_factor("nir", 40.0, 7.0, 30.0, sun_zenith_out=40.0) == pytest.approx(c_factor("nir", 40.0, 7.0, 30.0))


def test_normalization_polynomial_closed_form():
    lat = np.array([0.0, 10.0, -45.0, 60.0])
    expected = (
        31.0076 - 0.1272 * lat + 0.01187 * lat**2 + 2.40e-05 * lat**3 - 9.48e-07 * lat**4 - 1.95e-09 * lat**5
        + 6.15e-11 * lat**6
    )  # fmt: skip
    np.testing.assert_allclose(normalization_sun_zenith(lat), expected)
    with pytest.raises(InvalidInputError):
        normalization_sun_zenith(100.0)


def test_legacy_reproduces_seed_and_differs():
    # The seed: f = fiso + 3*fvol*Kvol + 3*fgeo*Kvol, sun_zenith_out = poly(longitude in radians)
    fiso, fgeo, fvol = 0.1690, 0.0227, 0.0574
    lon = -55.0
    szo = normalization_sun_zenith(np.radians(lon))
    f = lambda sz, vz, ra: fiso + 3 * fvol * ross_thick(sz, vz, ra) + 3 * fgeo * ross_thick(sz, vz, ra)  # noqa: E731
    expected = f(szo, 0.0, 0.0) / f(35.0, 6.0, 100.0)
    got = c_factor_legacy("red", 35.0, 6.0, 100.0, center_lon_deg=lon)
    assert got == pytest.approx(expected)
    assert abs(got - c_factor("red", 35.0, 6.0, 100.0, sun_zenith_out=normalization_sun_zenith(-26.0))) > 1e-3


def test_nbar_numpy_dask_and_nodata():
    import dask.array as da

    rng = np.random.default_rng(1)
    red = rng.uniform(0.02, 0.3, (20, 30)).astype(np.float32)
    red[3, 4] = np.nan
    sz = rng.uniform(20, 60, (20, 30))
    vz = rng.uniform(0, 7, (20, 30))
    ra = rng.uniform(0, 360, (20, 30))
    out = nbar({"red": red}, sun_zenith=sz, view_zenith=vz, relative_azimuth=ra)["red"]
    np.testing.assert_allclose(out, red * c_factor("red", sz, vz, ra), rtol=1e-6)
    assert np.isnan(out[3, 4])
    dout = nbar(
        {"red": da.from_array(red, chunks=7)},
        sun_zenith=da.from_array(sz, chunks=7),
        view_zenith=da.from_array(vz, chunks=7),
        relative_azimuth=da.from_array(ra, chunks=7),
    )["red"]
    np.testing.assert_allclose(dout.compute(), out, rtol=1e-6, equal_nan=True)


def test_nbar_bad_input():
    ok = np.full((2, 2), 0.1)
    with pytest.raises(InvalidInputError):
        nbar({"red": np.full((2, 2), 40000.0)}, sun_zenith=30.0, view_zenith=0.0, relative_azimuth=0.0)
    with pytest.raises(InvalidInputError):
        nbar({"red": np.full((2, 2), np.nan)}, sun_zenith=30.0, view_zenith=0.0, relative_azimuth=0.0)
    with pytest.raises(InvalidInputError):
        nbar({"purple": ok}, sun_zenith=30.0, view_zenith=0.0, relative_azimuth=0.0)
    with pytest.raises(InvalidInputError):
        nbar({"red": ok}, sun_zenith=30.0, view_zenith=0.0)


def test_c_factor_tiles_and_scalar_angles_match_sen2nbar():
    # more pixels than one compiled tile (65536), with scalar view zenith and azimuth expanded per tile
    rng = np.random.default_rng(11)
    sz = rng.uniform(0, 75, (300, 250))
    ref = sen2nbar_c.c_factor(
        xr.DataArray(sz), xr.DataArray(np.full(sz.shape, 8.5)), xr.DataArray(np.full(sz.shape, 140.0))
    )
    np.testing.assert_allclose(c_factor("nir", sz, 8.5, 140.0), ref.sel(band="B08").values, atol=1e-6)
    got32 = c_factor("red", sz.astype(np.float32), np.float32(8.5), 140.0)
    np.testing.assert_allclose(got32, ref.sel(band="B04").values, atol=1e-6)


def test_c_factor_polynomial_trig_over_all_quadrants():
    # angles far outside 0..90 exercise the quadrant reduction; the reference is the libm-based kernels
    rng = np.random.default_rng(12)
    sz, vz, ra = rng.uniform(0, 89, 5000), rng.uniform(-30, 30, 5000), rng.uniform(-1080, 1080, 5000)
    szo = rng.uniform(0, 80, 5000)
    coef = (0.1690, 0.0227, 0.0574)  # Roy et al. 2016 red: fiso, fgeo, fvol

    def f(a, b, p):
        return coef[0] + coef[2] * ross_thick(a, b, p) + coef[1] * li_sparse_r(a, b, p)

    np.testing.assert_allclose(c_factor("red", sz, vz, ra), f(sz, 0.0, ra) / f(sz, vz, ra), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        c_factor("red", sz, vz, ra, sun_zenith_out=szo), f(szo, 0.0, ra) / f(sz, vz, ra), rtol=1e-10, atol=1e-12
    )


def test_c_factor_float32_kernel_matches_float64_and_keeps_nodata():
    """float32 angles run the single-precision kernel: float32 out, a few 1e-7 from the float64 kernel."""
    import dask.array as da

    rng = np.random.default_rng(13)
    n = 20000
    sz = rng.uniform(0, 75, n).astype(np.float32)
    vz = rng.uniform(-15, 15, n).astype(np.float32)
    ra = rng.uniform(-720, 720, n).astype(np.float32)
    sz[:500] = vz[:500] = rng.uniform(1, 60, 500)  # hot spot: sun behind the sensor, equal zeniths
    ra[:500] = rng.uniform(-1e-3, 1e-3, 500)
    szo = rng.uniform(0, 70, n).astype(np.float32)
    for out in (None, szo, 35.0):
        got = c_factor("swir1", sz, vz, ra, sun_zenith_out=out)
        ref = c_factor(
            "swir1", sz.astype(float), vz.astype(float), ra.astype(float),
            sun_zenith_out=None if out is None else np.asarray(out, float),
        )  # fmt: skip
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-6)
    bad = sz.copy()
    bad[7] = np.nan
    assert np.isnan(c_factor("red", bad, vz, ra)[7])
    dgot = c_factor("red", da.from_array(bad, chunks=999), da.from_array(vz, chunks=999), 140.0)
    assert dgot.dtype == np.float32
    np.testing.assert_array_equal(dgot.compute(), c_factor("red", bad, vz, 140.0))


def test_c_factor_float32_mirrored_hot_spot():
    """A negative view zenith at azimuth 180 is the hot spot too: float32 stays within 1e-6 of float64."""
    rng = np.random.default_rng(14)
    n = 20000
    sz = rng.uniform(1, 70, n).astype(np.float32)
    vz = -(sz + rng.uniform(-0.05, 0.05, n)).astype(np.float32)
    ra = (180 + 360 * rng.integers(-2, 2, n) + rng.uniform(-0.5, 0.5, n)).astype(np.float32)
    for band in ("red", "nir"):
        got = c_factor(band, sz, vz, ra)
        ref = c_factor(band, sz.astype(float), vz.astype(float), ra.astype(float))
        np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_c_factor_dataarray_takes_the_float32_kernel_numpy_and_dask():
    import xarray as xr

    from eokit.algorithms import c_factor

    rng = np.random.default_rng(9)
    sz, vz, ra = (rng.uniform(lo, hi, (64, 48)).astype(np.float32) for lo, hi in ((20, 60), (0, 8), (0, 360)))
    want = c_factor("red", sz, vz, ra)
    coords = {"y": np.arange(64.0), "x": np.arange(48.0)}
    das = [xr.DataArray(a, dims=("y", "x"), coords=coords, attrs={"units": "deg"}) for a in (sz, vz, ra)]
    got = c_factor("red", *das)
    assert isinstance(got, xr.DataArray) and got.dtype == np.float32 == want.dtype
    np.testing.assert_array_equal(got.values, want)
    assert list(got.coords) == ["y", "x"]
    lazy = c_factor("red", *(d.chunk({"y": 16, "x": 16}) for d in das))
    assert lazy.chunks is not None and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute().values, want)


def test_nbar_tool_reaches_the_float32_kernel(tmp_path, monkeypatch):
    """The file tool keeps angles in float32 end to end, so the float32 c-factor kernel does the work."""
    import rasterio
    from affine import Affine

    from eokit.algorithms import brdf, tools
    from eokit.testing import write_test_raster

    calls = []
    real = brdf.c_factor_f32
    monkeypatch.setattr(brdf, "c_factor_f32", lambda *a: calls.append(a[0].dtype) or real(*a))
    refl = np.full((2, 16, 16), 0.2, np.float32)
    t = Affine(30, 0, 300000, 0, -30, 7300000)
    src = write_test_raster(tmp_path / "r.tif", refl, crs="EPSG:32721", transform=t)
    out = tmp_path / "n.tif"
    tools.nbar_file(src, out, band_names=["red", "nir"], time="2011-03-06T13:36:10Z")
    assert calls and all(d == np.float32 for d in calls)
    with rasterio.open(out) as ds:
        got = ds.read()
    assert np.all(np.isfinite(got)) and np.all(np.abs(got - 0.2) < 0.05)
