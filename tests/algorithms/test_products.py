"""Products in: Landsat Collection-2 bundles, Sentinel-2 SAFE and STAC items given to the ``algo`` tools.

Layouts are assembled from real metadata (stactools-packages/landsat MTLs, the shared
Sentinel-2 SAFE metadata, real CDSE STAC items) and small synthetic bands; expected
values come from the metadata text read here with regular expressions and closed forms.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from eokit.algorithms import tools
from eokit.algorithms.products import open_product
from eokit.cli.main import cli
from eokit.errors import InvalidInputError
from eokit.testing import write_test_raster

from .test_silent_wrong import STACTOOLS, _s2_bands, _safe

LC09 = "LC09_L2SP_010065_20220129_20220131_02_T1"
T_L9 = Affine(30, 0, 600000, 0, -30, -800000)  # inside the scene (UTM 17N, southern latitudes)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile


def _landsat_bundle(root: Path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = root / LC09
    folder.mkdir(parents=True)
    (folder / f"{LC09}_MTL.txt").write_bytes((STACTOOLS / f"{LC09}_MTL.txt").read_bytes())
    rng = np.random.default_rng(5)
    dns = {}
    for b in ("SR_B4", "SR_B5"):
        dn = rng.integers(9000, 20000, (20, 24)).astype(np.uint16)
        dn[0, 0] = 0
        write_test_raster(folder / f"{LC09}_{b}.TIF", dn, crs="EPSG:32617", transform=T_L9, nodata=0)
        dns[b] = dn
    qa = np.zeros((20, 24), np.uint16)
    qa[2, 3] = 1 << 3  # cloud
    write_test_raster(folder / f"{LC09}_QA_PIXEL.TIF", qa, crs="EPSG:32617", transform=T_L9, nodata=1)
    return folder, dns


def _mtl_value(key: str, group: str | None = None) -> str:
    text = (STACTOOLS / f"{LC09}_MTL.txt").read_text()
    if group:
        text = text.split(f"GROUP = {group}")[1]
    return re.search(rf"{key} = \"?([^\"\n]+)", text).group(1)


@pytest.mark.parametrize("as_tar", [False, True])
def test_landsat_bundle_index_uses_mtl_factors(tmp_path, as_tar):
    folder, dns = _landsat_bundle(tmp_path)
    source = folder
    if as_tar:
        source = tmp_path / f"{LC09}.tar"
        with tarfile.open(source, "w") as tar:
            for f in folder.iterdir():
                tar.add(f, arcname=f.name)
    out = tmp_path / "ndvi.tif"
    res = CliRunner().invoke(cli, ["algo", "index", "NDVI", str(source), "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    m = float(_mtl_value("REFLECTANCE_MULT_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    a = float(_mtl_value("REFLECTANCE_ADD_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    red, nir = dns["SR_B4"] * m + a, dns["SR_B5"] * m + a
    want = (nir - red) / (nir + red)
    want[0, 0] = np.nan
    np.testing.assert_allclose(_read(out)[0][0], want, rtol=1e-5, atol=1e-6)


def test_landsat_bundle_brdf_time_from_mtl_equals_explicit_time(tmp_path):
    folder, dns = _landsat_bundle(tmp_path)
    out = tmp_path / "nbar.tif"
    res = CliRunner().invoke(cli, ["algo", "brdf", str(folder), "--bands", "red,nir", "--out", str(out)],
                             catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    # the same reflectance as a plain 2-band raster, with the MTL's time given explicitly
    m = float(_mtl_value("REFLECTANCE_MULT_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    a = float(_mtl_value("REFLECTANCE_ADD_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    refl = np.stack([dns["SR_B4"] * m + a, dns["SR_B5"] * m + a]).astype(np.float32)
    refl[:, 0, 0] = np.nan
    plain = write_test_raster(tmp_path / "refl.tif", refl, crs="EPSG:32617", transform=T_L9, nodata=float("nan"))
    when = f"{_mtl_value('DATE_ACQUIRED')}T{_mtl_value('SCENE_CENTER_TIME')}"
    tools.nbar_file(plain, tmp_path / "ref.tif", band_names=["red", "nir"], time=when)
    got, want = _read(out)[0], _read(tmp_path / "ref.tif")[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[:, 0, 0]).all() and np.isfinite(got[:, 1:, 1:]).all()


def test_landsat_bundle_qa_and_scale_by_band_name(tmp_path):
    folder, dns = _landsat_bundle(tmp_path)
    prod = open_product(folder)
    assert prod.mission == "landsat9" and prod.level == "L2SP"
    assert {b.name for b in prod.find("red")} == {"SR_B4"} == {b.name for b in prod.find("B4")}
    assert {b.name for b in prod.find("nir08")} == {"SR_B5"}
    tools.scale_file(folder, tmp_path / "red.tif", band="red")
    m = float(_mtl_value("REFLECTANCE_MULT_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    a = float(_mtl_value("REFLECTANCE_ADD_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    got = _read(tmp_path / "red.tif")[0][0]
    np.testing.assert_allclose(got[1:], (dns["SR_B4"] * m + a)[1:], rtol=1e-6)
    with pytest.raises(InvalidInputError) as exc:
        tools.scale_file(folder, tmp_path / "x.tif", band="red", kind="st")
    assert exc.value.param == "kind"
    with pytest.raises(InvalidInputError) as exc:
        open_product(folder).find("B12")
    assert exc.value.path == str(folder)


def test_s2_safe_brdf_per_band_view_angles_and_offset(shared_data, tmp_path):
    red, nir = _s2_bands()
    mtd = next((shared_data / "realworld" / "sentinel2").glob("S2A_MSIL2A_20230625*/MTD_MSIL2A.xml"))
    safe = _safe(tmp_path, mtd, {"B04": red, "B08": nir})
    out = tmp_path / "nbar.tif"
    res = CliRunner().invoke(cli, ["algo", "brdf", str(safe), "--bands", "B04,B08", "--out", str(out)],
                             catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    got = _read(out)[0]
    refl = np.stack([(red - 1000.0) / 1e4, (nir - 1000.0) / 1e4])
    finite = np.isfinite(got)
    assert finite[:, 2:, 2:].all() and np.isnan(got[0, 0, 0]) and np.isnan(got[1, 1, 1])
    ratio = got[finite] / refl[finite]  # the c-factor: close to 1, never the 0.1 offset error
    assert np.all(np.abs(ratio - 1) < 0.1)
    assert not list(tmp_path.glob(".eokit-work-*"))


def cdse_item_with_assets(shared_data: Path, folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A real CDSE S2 L2A item in ``folder`` whose B04/B08 10 m hrefs point at synthetic GeoTIFFs beside it."""
    item = json.loads(next((shared_data / "cdse" / "stac").glob("S2A_MSIL2A_*.json")).read_text())
    red, nir = _s2_bands()
    t = Affine(10, 0, 500000, 0, -10, 6500000)
    for key, data in (("B04_10m", red), ("B08_10m", nir)):
        write_test_raster(folder / f"{key}.tif", data, crs="EPSG:32613", transform=t)
        item["assets"][key]["href"] = f"./{key}.tif"
    path = folder / "item.json"
    path.write_text(json.dumps(item))
    return path, red, nir


def test_cdse_stac_item_with_local_assets(shared_data, tmp_path):
    path, red, nir = cdse_item_with_assets(shared_data, tmp_path)
    out = tmp_path / "ndvi.tif"
    tools.index_file([path], out, "NDVI", {})
    r, n = red * 1e-4 - 0.1, nir * 1e-4 - 0.1  # raster:scale / raster:offset of the real item
    want = (n - r) / (n + r)
    want[0, 0] = np.nan  # nodata 0
    got = _read(out)[0][0]
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-5)
    assert np.isnan(got[0, 0])


def test_qa_mask_of_a_bundle(tmp_path):
    folder, _ = _landsat_bundle(tmp_path)
    out = tmp_path / "qa.tif"
    res = CliRunner().invoke(cli, ["algo", "qa-mask", str(folder), "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    got = _read(out)[0][0]
    assert got[2, 3] == 1 and got.sum() == 1


# HLS User Guide (v1.4 Table 4 / v2.0), Claverie et al. 2018: OLI = slope * MSI + offset
HLS_S2A = {"blue": (0.9778, -0.0040), "red": (0.9765, 0.0009), "nir": (0.9983, -0.0001)}
HLS_S2B = {"blue": (0.9778, -0.0040), "red": (0.9761, 0.0010), "nir": (0.9966, 0.0000)}


def test_hls_bandpass_adjustment_arrays():
    from eokit.algorithms import harmonize

    x = np.linspace(0.01, 0.6, 50, dtype=np.float32).reshape(5, 10)
    for platform, table in (("sentinel2a", HLS_S2A), ("Sentinel-2B", HLS_S2B)):
        got = harmonize({"B04": x, "nir": x, "blue": x}, direction="s2_to_oli", platform=platform)
        for key, role in (("B04", "red"), ("nir", "nir"), ("blue", "blue")):
            slope, offset = table[role]
            np.testing.assert_allclose(got[key], slope * x + offset, rtol=1e-6)
    for bad, param in (({"B08": x}, "bands"), ({"B05": x}, "bands")):
        with pytest.raises(InvalidInputError) as exc:
            harmonize(bad, direction="s2_to_oli", platform="sentinel2a")
        assert exc.value.param == param
    with pytest.raises(InvalidInputError) as exc:
        harmonize({"red": x}, direction="s2_to_oli", platform="sentinel2c")
    assert exc.value.param == "platform"


def test_hls_bandpass_adjustment_of_a_safe_platform_from_metadata(shared_data, tmp_path):
    red, nir = _s2_bands()
    mtd = next((shared_data / "realworld" / "sentinel2").glob("S2A_MSIL2A_20230625*/MTD_MSIL2A.xml"))
    safe = _safe(tmp_path, mtd, {"B04": red, "B02": nir, "B08": nir})
    out = tmp_path / "oli.tif"
    res = CliRunner().invoke(cli, ["algo", "harmonize", str(safe), "--red", "B04", "--blue", "blue", "--out", str(out)],
                             catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    got = _read(out)[0]
    for layer, dn, role in ((0, red, "red"), (1, nir, "blue")):
        slope, offset = HLS_S2A[role]  # the SAFE is Sentinel-2A
        want = slope * ((dn - 1000.0) / 1e4) + offset
        ok = np.isfinite(got[layer])
        np.testing.assert_allclose(got[layer][ok], want[ok], rtol=1e-5, atol=1e-7)
    with pytest.raises(InvalidInputError) as exc:
        tools.harmonize_file([safe], tmp_path / "x.tif", {"nir": "B08"})
    assert exc.value.param == "nir"


def test_pansharpen_landsat_level1_bundle_uses_its_b8(tmp_path):
    """An L1TP layout from the real LC09 MTL (its Level-1 rescaling group): MS 30 m + B8 15 m, TOA reflectance."""
    l1 = LC09.replace("L2SP", "L1TP")
    folder = tmp_path / l1
    folder.mkdir()
    (folder / f"{l1}_MTL.txt").write_bytes((STACTOOLS / f"{LC09}_MTL.txt").read_bytes())
    rng = np.random.default_rng(8)
    elev = float(_mtl_value("SUN_ELEVATION"))
    refl = []
    for b in (4, 3, 2):
        dn = rng.integers(7000, 15000, (10, 12)).astype(np.uint16)
        write_test_raster(folder / f"{l1}_B{b}.TIF", dn, crs="EPSG:32617", transform=T_L9, nodata=0)
        m = float(_mtl_value(f"REFLECTANCE_MULT_BAND_{b}", "LEVEL1_RADIOMETRIC_RESCALING"))
        a = float(_mtl_value(f"REFLECTANCE_ADD_BAND_{b}", "LEVEL1_RADIOMETRIC_RESCALING"))
        refl.append(((dn * m + a) / np.sin(np.radians(elev))).astype(np.float32))
    pan_dn = rng.integers(7000, 15000, (20, 24)).astype(np.uint16)
    t15 = Affine(15, 0, T_L9.c, 0, -15, T_L9.f)
    write_test_raster(folder / f"{l1}_B8.TIF", pan_dn, crs="EPSG:32617", transform=t15, nodata=0)
    m8 = float(_mtl_value("REFLECTANCE_MULT_BAND_8", "LEVEL1_RADIOMETRIC_RESCALING"))
    a8 = float(_mtl_value("REFLECTANCE_ADD_BAND_8", "LEVEL1_RADIOMETRIC_RESCALING"))
    pan = ((pan_dn * m8 + a8) / np.sin(np.radians(elev))).astype(np.float32)
    out = tmp_path / "sharp.tif"
    res = CliRunner().invoke(cli, ["algo", "pansharpen", str(folder), "--bands", "red,green,blue", "--method", "brovey",
                                   "--out", str(out)], catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    ms_p = write_test_raster(tmp_path / "ms.tif", np.stack(refl), crs="EPSG:32617", transform=T_L9)
    pan_p = write_test_raster(tmp_path / "pan.tif", pan, crs="EPSG:32617", transform=t15)
    tools.pansharpen_file(ms_p, pan_p, tmp_path / "ref.tif", method="brovey")
    got, want = _read(out)[0], _read(tmp_path / "ref.tif")[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
    assert np.isfinite(got).mean() > 0.9 and not list(tmp_path.glob(".eokit-work-*"))


def _item(tmp_path, props, assets):
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "x", "properties": props, "assets": assets,
            "geometry": None, "links": []}  # fmt: skip
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    return path


def test_planetary_computer_style_s2_item_offset_from_baseline(tmp_path):
    """PC's sentinel-2-l2a items carry no raster:scale; the baseline (>= 04.00) decides the -1000 offset."""
    red, nir = _s2_bands()
    t = Affine(10, 0, 500000, 0, -10, 6500000)
    assets = {}
    for key, data, common in (("B04", red, "red"), ("B08", nir, "nir")):
        write_test_raster(tmp_path / f"{key}.tif", data, crs="EPSG:32613", transform=t)
        assets[key] = {"href": f"{key}.tif", "type": "image/tiff; application=geotiff", "roles": ["data"],
                       "eo:bands": [{"name": key, "common_name": common}]}  # fmt: skip
    props = {"datetime": "2023-06-25T23:46:21Z", "platform": "Sentinel-2A", "s2:processing_baseline": "05.09"}
    tools.index_file([_item(tmp_path, props, assets)], tmp_path / "ndvi.tif", "NDVI", {})
    r, n = (red - 1000.0) / 1e4, (nir - 1000.0) / 1e4
    got = _read(tmp_path / "ndvi.tif")[0][0]
    ok = (red > 0) & (nir > 0) & (nir < 65535)
    np.testing.assert_allclose(got[ok], ((n - r) / (n + r))[ok], rtol=1e-5)


def test_earth_search_style_landsat_item(tmp_path):
    """Earth Search / PC landsat-c2-l2 items: asset keys by common name, raster:bands scale/offset/nodata."""
    rng = np.random.default_rng(2)
    dns = {}
    assets = {}
    for key, band in (("red", "SR_B4"), ("nir08", "SR_B5")):
        dn = rng.integers(8000, 20000, (6, 7)).astype(np.uint16)
        write_test_raster(tmp_path / f"{band}.TIF", dn, crs="EPSG:32617", transform=T_L9)
        dns[key] = dn
        assets[key] = {"href": f"./{band}.TIF", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                       "roles": ["data", "reflectance"], "eo:bands": [{"name": band, "common_name": key}],
                       "raster:bands": [{"scale": 2.75e-5, "offset": -0.2, "nodata": 0}]}  # fmt: skip
    props = {"datetime": "2022-01-29T15:28:34Z", "platform": "landsat-9"}
    path = _item(tmp_path, props, assets)
    prod = open_product(path)
    assert prod.mission == "landsat9" and {b.name for b in prod.find("nir")} == {"SR_B5"}
    tools.index_file([path], tmp_path / "ndvi.tif", "NDVI", {})
    r, n = dns["red"] * 2.75e-5 - 0.2, dns["nir08"] * 2.75e-5 - 0.2
    np.testing.assert_allclose(_read(tmp_path / "ndvi.tif")[0][0], (n - r) / (n + r), rtol=1e-5)


def test_landsat_bundle_brdf_uses_the_bundles_ang_file(tmp_path):
    folder, dns = _landsat_bundle(tmp_path)
    ang = STACTOOLS / f"{LC09}_ANG.txt"
    (folder / ang.name).write_bytes(ang.read_bytes())
    out = tmp_path / "nbar.tif"
    tools.nbar_file(folder, out, band_names=["red", "nir"])
    m = float(_mtl_value("REFLECTANCE_MULT_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    a = float(_mtl_value("REFLECTANCE_ADD_BAND_4", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"))
    refl = np.stack([dns["SR_B4"] * m + a, dns["SR_B5"] * m + a]).astype(np.float32)
    refl[:, 0, 0] = np.nan
    plain = write_test_raster(tmp_path / "refl.tif", refl, crs="EPSG:32617", transform=T_L9, nodata=float("nan"))
    tools.nbar_file(plain, tmp_path / "ref.tif", band_names=["red", "nir"], ang=ang)
    np.testing.assert_allclose(_read(out)[0], _read(tmp_path / "ref.tif")[0], rtol=1e-6, equal_nan=True)
    # and the ephemeris gives other view angles than the scene-geometry model (so the ANG was used)
    tools.nbar_file(plain, tmp_path / "geo.tif", band_names=["red", "nir"], time=f"{_mtl_value('DATE_ACQUIRED')}T"
                    f"{_mtl_value('SCENE_CENTER_TIME')}")  # fmt: skip
    assert not np.allclose(_read(out)[0][:, 1:, 1:], _read(tmp_path / "geo.tif")[0][:, 1:, 1:], rtol=1e-7, atol=0)


def test_landsat9_ang_ephemeris_times_count_from_the_epoch_seconds():
    """Landsat 8/9 ANG files count EPHEMERIS_TIME from EPHEMERIS_EPOCH_SECONDS (Landsat 7 ones from midnight)."""
    from eokit.algorithms import landsat_geometry, solar_position

    text = (STACTOOLS / f"{LC09}_MTL.txt").read_text()
    corners = {k: float(v) for k, v in re.findall(r"CORNER_(\w\w_L(?:AT|ON))_PRODUCT = ([-\d.]+)", text)}
    lat = np.array([np.mean([corners[f"{c}_LAT"] for c in ("UL", "UR", "LL", "LR")])])
    lon = np.array([np.mean([corners[f"{c}_LON"] for c in ("UL", "UR", "LL", "LR")])])
    geo = landsat_geometry(STACTOOLS / f"{LC09}_ANG.txt", lon, lat)
    centre = np.datetime64(f"{_mtl_value('DATE_ACQUIRED')}T{_mtl_value('SCENE_CENTER_TIME').rstrip('Z')}", "ns")
    assert abs((geo["time"][0] - centre) / np.timedelta64(1, "s")) < 2.0
    zen, _ = solar_position(geo["time"], lat, lon)
    assert float(zen[0]) == pytest.approx(90.0 - float(_mtl_value("SUN_ELEVATION")), abs=0.1)


def test_stac_item_without_scale_factors_is_refused_unless_given(tmp_path):
    """A Landsat Level-1 style item: no raster:scale, so DNs would silently pass for reflectance."""
    dn = np.full((4, 4), 9000, np.uint16)
    assets = {}
    for key, band in (("red", "B4"), ("nir08", "B5")):
        write_test_raster(tmp_path / f"{band}.TIF", dn, crs="EPSG:32617", transform=T_L9)
        assets[key] = {"href": f"{band}.TIF", "type": "image/tiff", "roles": ["data"],
                       "eo:bands": [{"name": band, "common_name": key}]}  # fmt: skip
    path = _item(tmp_path, {"datetime": "2022-01-29T15:28:34Z", "platform": "landsat-9"}, assets)
    with pytest.raises(InvalidInputError) as exc:
        tools.index_file([path], tmp_path / "x.tif", "NDVI", {})
    assert exc.value.param == "scale" and not (tmp_path / "x.tif").exists()
    tools.index_file([path], tmp_path / "y.tif", "NDVI", {}, scale=2e-5, offset=-0.1)
    assert np.allclose(_read(tmp_path / "y.tif")[0], 0.0)


def test_hls_like_chain_brdf_then_bandpass_on_an_l2a_safe(shared_data, tmp_path):
    """brdf on the SAFE's 20 m bands (offsets, MTD_TL angles), then harmonize s2_to_oli: HLS-like OLI reflectance."""
    rng = np.random.default_rng(4)
    names = ("B02", "B04", "B8A", "B11")
    dns = {b: rng.integers(1300, 5000, (12, 10)).astype(np.uint16) for b in names}
    mtd = next((shared_data / "realworld" / "sentinel2").glob("S2A_MSIL2A_20230625*/MTD_MSIL2A.xml"))
    safe = _safe(tmp_path, mtd, dns, res=20)
    nbar = tmp_path / "nbar.tif"
    tools.nbar_file(safe, nbar, band_names=list(names))
    oli = tmp_path / "oli.tif"
    tools.harmonize_file([nbar], oli, {"blue": "1", "red": "2", "nir": "3", "swir1": "4"}, direction="s2_to_oli",
                         platform="sentinel2a")  # fmt: skip
    got_nbar, got_oli = _read(nbar)[0], _read(oli)[0]
    hls = {"blue": (0.9778, -0.0040), "red": (0.9765, 0.0009), "nir": (0.9983, -0.0001), "swir1": (0.9987, -0.0011)}
    for k, (role, (slope, offset)) in enumerate(hls.items()):
        np.testing.assert_allclose(got_oli[k], slope * got_nbar[k] + offset, rtol=1e-5, atol=1e-7)
        refl = (dns[names[k]] - 1000.0) / 1e4
        assert np.all(np.abs(got_nbar[k] / refl - 1) < 0.1), role  # the c-factor, not the 0.1 offset


def test_l1c_bands_of_different_resolutions_are_averaged_onto_the_coarser_grid(shared_data, tmp_path):
    """The real L1C 03.01 metadata with B04 at 10 m and B8A at 20 m (native L1C layout, one IMG_DATA folder):
    B04 is averaged onto the 20 m grid (mean of its valid 10 m pixels), never B8A upsampled."""
    mtd = next((shared_data / "realworld" / "sentinel2").glob("S2A_MSIL1C_*/MTD_MSIL1C.xml"))
    safe = tmp_path / mtd.parent.name
    img = safe / "GRANULE" / "L1C_T46RER_A032448_20210908T043714" / "IMG_DATA"
    img.mkdir(parents=True)
    (safe / mtd.name).write_bytes(mtd.read_bytes())
    rng = np.random.default_rng(6)
    red = rng.integers(500, 3000, (12, 16)).astype(np.uint16)
    red[0, 0] = 0  # nodata: left out of its 20 m mean
    red[5, 9] = 65535  # saturated: likewise
    red[6:8, 0:2] = 0  # a 20 m pixel with no valid 10 m pixel: NaN
    nir = rng.integers(1500, 5000, (6, 8)).astype(np.uint16)
    for name, data, res in (("B04", red, 10), ("B8A", nir, 20)):
        write_test_raster(img / f"T46RER_20210908T042701_{name}.tif", data, crs="EPSG:32646",
                          transform=Affine(res, 0, 600000, 0, -res, 3300000))  # fmt: skip
    out = tmp_path / "ndvi.tif"
    tools.index_file([safe], out, "NDVI", {"red": "B04", "nir": "B8A"})
    got, prof = _read(out)
    assert prof["transform"].a == 20 and got.shape == (1, 6, 8)
    x = red / 1e4  # baseline 03.01: no offset
    x[(red == 0) | (red == 65535)] = np.nan
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):  # the all-NaN 2x2 block
        r = np.nanmean(x.reshape(6, 2, 8, 2).transpose(0, 2, 1, 3).reshape(6, 8, 4), axis=2)
    n = nir / 1e4
    np.testing.assert_allclose(got[0], (n - r) / (n + r), rtol=1e-5, equal_nan=True)
    assert not list(tmp_path.glob(".eokit-work-*"))
