"""Sentinel-2 MTD_TL.xml angle grids: parsing, detector merge, resampling onto a band grid, NBAR chain."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from eokit.algorithms import c_factor
from eokit.algorithms.sentinel2 import read_angles, write_angle_rasters
from eokit.cli.main import cli
from eokit.errors import InvalidInputError, UnreadableInputError
from eokit.testing import write_test_raster

# The layout of a real tile metadata file (n1 namespace, 5 km steps), shrunk to 3 x 3 nodes.
XML = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-1C_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Tile_Metadata.xsd">
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>WGS84 / UTM zone 33N</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:32633</HORIZONTAL_CS_CODE>
      <Geoposition resolution="10"><ULX>300000</ULX><ULY>5000000</ULY><XDIM>10</XDIM><YDIM>-10</YDIM></Geoposition>
      <Geoposition resolution="20"><ULX>300000</ULX><ULY>5000000</ULY><XDIM>20</XDIM><YDIM>-20</YDIM></Geoposition>
    </Tile_Geocoding>
    <Tile_Angles>
      <Sun_Angles_Grid>
        <Zenith><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List><VALUES>30 31 32</VALUES><VALUES>33 34 35</VALUES><VALUES>36 37 38</VALUES></Values_List>
        </Zenith>
        <Azimuth><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List><VALUES>150 150 150</VALUES><VALUES>150 150 150</VALUES><VALUES>150 150 150</VALUES></Values_List>
        </Azimuth>
      </Sun_Angles_Grid>
      <Viewing_Incidence_Angles_Grids bandId="3" detectorId="1">
        <Zenith><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List><VALUES>2 3 NaN</VALUES><VALUES>2 3 NaN</VALUES><VALUES>2 3 NaN</VALUES></Values_List>
        </Zenith>
        <Azimuth><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List><VALUES>358 359 NaN</VALUES><VALUES>358 359 NaN</VALUES><VALUES>358 359 NaN</VALUES></Values_List>
        </Azimuth>
      </Viewing_Incidence_Angles_Grids>
      <Viewing_Incidence_Angles_Grids bandId="3" detectorId="2">
        <Zenith><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List><VALUES>NaN 5 6</VALUES><VALUES>NaN 5 6</VALUES><VALUES>NaN 5 6</VALUES></Values_List>
        </Zenith>
        <Azimuth><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List><VALUES>NaN 1 2</VALUES><VALUES>NaN 1 2</VALUES><VALUES>NaN 1 2</VALUES></Values_List>
        </Azimuth>
      </Viewing_Incidence_Angles_Grids>
      <Viewing_Incidence_Angles_Grids bandId="7" detectorId="1">
        <Zenith><Values_List><VALUES>9 9 9</VALUES><VALUES>9 9 9</VALUES><VALUES>9 9 9</VALUES></Values_List></Zenith>
        <Azimuth><Values_List><VALUES>90 90 90</VALUES><VALUES>90 90 90</VALUES><VALUES>90 90 90</VALUES></Values_List></Azimuth>
      </Viewing_Incidence_Angles_Grids>
    </Tile_Angles>
  </n1:Geometric_Info>
</n1:Level-1C_Tile_ID>
"""


@pytest.fixture
def mtd(tmp_path):
    p = tmp_path / "MTD_TL.xml"
    p.write_text(XML)
    return p


def test_read_angles_merges_detectors(mtd):
    ang = read_angles(mtd, "B04")
    assert ang["crs"] == "EPSG:32633"
    assert ang["transform"] == Affine(5000, 0, 297500, 0, -5000, 5002500)
    np.testing.assert_allclose(ang["sun_zenith"][1], [33, 34, 35])
    np.testing.assert_allclose(ang["view_zenith"][0], [2, 4, 6])  # middle node: mean of 3 and 5
    # circular mean of 359 and 1 is 0, not 180
    az = ang["view_azimuth"][0]
    assert az[0] == pytest.approx(358) and min(az[1], 360 - az[1]) < 1e-9 and az[2] == pytest.approx(2)
    assert read_angles(mtd, "B8")["view_zenith"][0, 0] == 9  # B8 -> B08 -> bandId 7


def test_bad_metadata(tmp_path, mtd):
    with pytest.raises(InvalidInputError):
        read_angles(mtd, "B99")
    with pytest.raises(InvalidInputError):
        read_angles(mtd, "B11")
    bad = tmp_path / "bad.xml"
    bad.write_text("<root><x/></root>")
    with pytest.raises(UnreadableInputError):
        read_angles(bad, "B04")


def test_angle_rasters_on_band_grid_and_nbar_chain(tmp_path, mtd):
    # a 20 m band grid whose pixel centres hit the 5 km nodes at (0,0), (0,250), (250,0)...
    t = Affine(20, 0, 300000 - 10, 0, -20, 5000000 + 10)
    refl = np.full((1, 501, 501), 0.25, np.float32)
    like = write_test_raster(tmp_path / "B04.tif", refl, crs="EPSG:32633", transform=t)
    paths = write_angle_rasters(mtd, "B04", like, tmp_path / "ang")
    arrays = []
    for p in paths:
        with rasterio.open(p) as ds:
            arrays.append(ds.read(1))
    sza, saa, vza, vaa = arrays
    assert sza[0, 0] == pytest.approx(30, abs=1e-4) and sza[250, 250] == pytest.approx(34, abs=1e-4)
    assert sza[500, 500] == pytest.approx(38, abs=1e-4)
    assert sza[0, 125] == pytest.approx(30.5, abs=1e-3)  # bilinear between nodes
    assert vza[0, 250] == pytest.approx(4, abs=1e-4)
    assert min(vaa[0, 250], 360 - vaa[0, 250]) < 1e-3  # azimuth interpolated on the circle
    assert np.all(saa == pytest.approx(150, abs=1e-3))
    res = CliRunner().invoke(
        cli,
        ["algo", "brdf", str(like), "--out", str(tmp_path / "nbar.tif"), "--bands", "red", "--sensor", "sentinel2",
         "--angles", *map(str, paths), "--angle-scale", "1"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "nbar.tif") as ds:
        nb = ds.read(1)
    expected = 0.25 * c_factor(
        "red", sza.astype(float), vza.astype(float), (saa - vaa).astype(float), sensor="sentinel2"
    )
    np.testing.assert_allclose(nb, expected, rtol=1e-5)


def test_s2_angles_cli(tmp_path, mtd):
    like = write_test_raster(tmp_path / "b.tif", np.zeros((10, 10), np.float32), crs="EPSG:32633",
                             transform=Affine(1000, 0, 300000, 0, -1000, 5000000))  # fmt: skip
    res = CliRunner().invoke(cli, ["algo", "s2-angles", str(mtd), "--band", "B04", "--like", str(like),
                                   "--out", str(tmp_path / "a")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(res.output.split()) == 4


@pytest.mark.parametrize("pattern", ["S2A_MSIL2A_20230625*/**/MTD_TL.xml", "S2A_MSIL2A_20150826*/MTD_TL.xml",
                                     "S2A_MSIL1C_20210908*/**/MTD_TL.xml"])  # fmt: skip
@pytest.mark.parametrize("band", ["B02", "B04", "B8A", "B11"])
def test_real_mtd_tl_mean_angles_match_the_xml_own_means(shared_data, pattern, band):
    """Detector mosaic (NaN gaps) averaged over the tile vs the Mean_*_Angle the file itself states."""
    import re

    path = next((shared_data / "realworld" / "sentinel2").glob(pattern))
    text = path.read_text(encoding="utf-8")
    band_id = {"B02": 1, "B04": 3, "B8A": 8, "B11": 11}[band]
    sun = re.search(r"<Mean_Sun_Angle>\s*<ZENITH_ANGLE[^>]*>([\d.]+)<", text)
    view = re.search(rf'<Mean_Viewing_Incidence_Angle bandId="{band_id}">\s*<ZENITH_ANGLE[^>]*>([\d.]+)<', text)
    ang = read_angles(path, band)
    assert np.isnan(ang["view_zenith"]).any() or np.isfinite(ang["view_zenith"]).all()
    assert float(np.nanmean(ang["sun_zenith"])) == pytest.approx(float(sun.group(1)), abs=0.05)
    assert float(np.nanmean(ang["view_zenith"])) == pytest.approx(float(view.group(1)), abs=0.3)
