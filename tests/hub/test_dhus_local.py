"""DHuS mode end to end against the local hub: search, LTA trigger and wait, downloads, auth."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eokit.hub import LTATriggered, SentinelAPI, UnauthorizedError
from eokit.testing.hub_server import LocalHub

from .conftest import make_products

_PRODUCTS = make_products(25, seed=33)


@pytest.fixture(scope="module")
def hub():
    with LocalHub(_PRODUCTS) as h:
        yield h


def _api(hub: LocalHub) -> SentinelAPI:
    api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
    api.dl_retry_delay = 0.01
    return api


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cloud_max=st.one_of(st.none(), st.integers(0, 100)),
    types=st.one_of(st.none(), st.sets(st.sampled_from(["S2MSI1C", "S2MSI2A"]), min_size=1)),
    first=st.integers(0, 30),
    span=st.integers(0, 30),
    order=st.sampled_from([None, "beginposition", "-beginposition", "cloudcoverpercentage"]),
)
def test_random_dhus_queries_match_brute_force(hub, cloud_max, types, first, span, order) -> None:
    start = datetime(2024, 1, 1) + timedelta(days=first)
    end = start + timedelta(days=span)
    kw: dict = {}
    if cloud_max is not None:
        kw["cloudcoverpercentage"] = (0, cloud_max)
    if types is not None:
        kw["producttype"] = types
    found = _api(hub).query(date=(start, end), order_by=order, **kw)
    want = [
        p
        for p in _PRODUCTS
        if start <= p.start <= end
        and (cloud_max is None or p.attributes["cloudCover"] <= cloud_max)
        and (types is None or p.attributes["productType"] in types)
    ]
    assert sorted(found) == sorted(p.id for p in want)
    if order in ("beginposition", "-beginposition"):
        assert list(found) == [p.id for p in sorted(want, key=lambda p: p.start, reverse=order.startswith("-"))]


def test_lta_trigger_then_download(tmp_path: Path) -> None:
    products = make_products(3, seed=4)
    products[0].online = False
    with LocalHub(products, lta_delay=0.3) as hub:
        api = _api(hub)
        api.lta_timeout = 20
        assert not api.is_online(products[0].id)
        with pytest.raises(LTATriggered):
            api.download(products[0].id, tmp_path)
        assert not list(tmp_path.glob("*.zip"))
        dl, triggered, failed = api.download_all([p.id for p in products], tmp_path, lta_retry_delay=0.1)
        assert set(dl) == {p.id for p in products} and not failed and not triggered
        ranges = [r for r in hub.stats["requests"] if r["range"] == "bytes=0-1"]
        assert ranges and ranges[0]["status"] == 202
    for p in products:
        assert hashlib.md5((tmp_path / p.filename).read_bytes()).hexdigest() == p.checksums["md5"]


def test_dhus_quicklooks_odata_full_and_auth(tmp_path: Path, hub) -> None:
    api = _api(hub)
    p = _PRODUCTS[0]
    info = api.get_product_odata(p.id, full=True)
    assert info["md5"].lower() == p.checksums["md5"] and info["size"] == p.size
    assert info["productType"] == p.attributes["productType"]
    dl, failed = api.download_all_quicklooks([q.id for q in _PRODUCTS[:3]], tmp_path)
    assert len(dl) == 3 and not failed
    stream = api.get_stream(p.id)
    assert hashlib.md5(stream.content).hexdigest() == p.checksums["md5"]
    bad = SentinelAPI("user", "nope-secret", hub.dhus_url, show_progressbars=False)
    with pytest.raises(UnauthorizedError) as err:
        bad.query(date=("NOW-1DAY", "NOW"))
    assert "nope-secret" not in str(err.value)
