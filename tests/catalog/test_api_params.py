"""API parameter parsing: invariants (hypothesis) against Python's own datetime/float handling."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eokit.catalog._common import multihash
from eokit.catalog.api_params import (
    StacApiError,
    apply_fields,
    parse_bbox,
    parse_datetime_interval,
    parse_fields,
    parse_limit,
)

instants = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC))


def _rfc3339(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond:06d}" if t.microsecond else "") + "Z"


@given(a=instants, b=instants)
def test_datetime_interval_matches_python(a: dt.datetime, b: dt.datetime) -> None:
    lo, hi = sorted((a, b))
    start, end = parse_datetime_interval(f"{_rfc3339(lo)}/{_rfc3339(hi)}")
    assert start == pytest.approx(lo.timestamp(), abs=1e-6) and end == pytest.approx(hi.timestamp(), abs=1e-6)
    if lo != hi:
        with pytest.raises(StacApiError):
            parse_datetime_interval(f"{_rfc3339(hi)}/{_rfc3339(lo)}")
    assert parse_datetime_interval(f"../{_rfc3339(hi)}")[0] is None
    assert parse_datetime_interval(f"{_rfc3339(lo)}/")[1] is None


@given(t=instants, hours=st.integers(-12, 14))
def test_offsets_are_normalised_to_utc(t: dt.datetime, hours: int) -> None:
    local = t.astimezone(dt.timezone(dt.timedelta(hours=hours)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"
    start, _ = parse_datetime_interval(text)
    assert start == pytest.approx(t.replace(microsecond=0).timestamp())


@given(
    x=st.tuples(st.floats(-180, 180), st.floats(-180, 180)),
    y=st.tuples(st.floats(-90, 90), st.floats(-90, 90)),
)
def test_bbox_parsing(x, y) -> None:
    south, north = sorted(y)
    text = f"{x[0]!r},{south!r},{x[1]!r},{north!r}"
    assert parse_bbox(text) == [x[0], south, x[1], north]
    if south < north:
        with pytest.raises(StacApiError):
            parse_bbox(f"{x[0]!r},{north!r},{x[1]!r},{south!r}")


@given(n=st.integers(-(10**6), 10**6))
def test_limit(n: int) -> None:
    if n < 1:
        with pytest.raises(StacApiError):
            parse_limit(n)
    else:
        assert parse_limit(str(n)) == min(n, 10000)


def test_fields_semantics() -> None:
    item = {"type": "Feature", "stac_version": "1.1.0", "id": "a", "links": [], "bbox": [0, 0, 1, 1],
            "geometry": {"type": "Point", "coordinates": [0, 0]}, "assets": {"d": {"href": "x"}},
            "properties": {"datetime": "2020-01-01T00:00:00Z", "gsd": 1.0}}  # fmt: skip
    assert apply_fields(item, None) is item
    assert set(apply_fields(item, parse_fields("bbox"))) == {"type", "stac_version", "id", "links", "bbox"}
    only_excluded = apply_fields(item, parse_fields("-geometry"))
    assert "geometry" not in only_excluded and only_excluded["properties"] == item["properties"]
    default = apply_fields(item, parse_fields({"include": None, "exclude": ["bbox"]}))
    assert "bbox" not in default and default["properties"] == {"datetime": "2020-01-01T00:00:00Z"}
    nested = apply_fields(item, parse_fields("-properties,+properties.gsd"))
    assert nested["properties"] == {"gsd": 1.0} and "geometry" not in nested
    assert "geometry" in apply_fields(item, parse_fields("+geometry,-geometry"))


@given(data=st.binary(max_size=3000))
def test_multihash_sha256_matches_hashlib(tmp_path_factory, data: bytes) -> None:
    import hashlib

    path = tmp_path_factory.mktemp("mh") / "f.bin"
    path.write_bytes(data)
    assert multihash(path) == "1220" + hashlib.sha256(data).hexdigest()
    assert multihash(path, "sha2-512") == "1340" + hashlib.sha512(data).hexdigest()
