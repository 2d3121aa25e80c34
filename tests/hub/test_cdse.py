"""CDSE: keyword translation, searches end to end against the local hub, real payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import wkt as shapely_wkt

from eokit.hub import HubInputError, InvalidKeyError, LTAError, SentinelAPI
from eokit.hub.cdse_filter import build_filter, resolve_date
from eokit.testing.hub_server import LocalHub

from .conftest import make_products

AOI = "POLYGON((-5 42,5 42,5 48,-5 48,-5 42))"


def _api(hub: LocalHub) -> SentinelAPI:
    api = SentinelAPI("user", "password", show_progressbars=False, **hub.cdse_urls)
    api.dl_retry_delay = 0.02
    return api


def _expected(products, *, cloud=None, types=None, start=None, end=None, area=None):
    out = []
    for p in products:
        if cloud is not None and not (cloud[0] <= p.attributes["cloudCover"] <= cloud[1]):
            continue
        if types is not None and p.attributes["productType"] not in types:
            continue
        if start is not None and p.start < start:
            continue
        if end is not None and p.start > end:
            continue
        if area is not None and not shapely_wkt.loads(p.footprint).intersects(shapely_wkt.loads(area)):
            continue
        out.append(p.id)
    return out


def test_search_matches_independent_filtering() -> None:
    products = make_products(40, seed=7)
    with LocalHub(products) as hub:
        api = _api(hub)
        found = api.query(
            AOI,
            date=("20240105", "20240201"),
            platformname="Sentinel-2",
            cloudcoverpercentage=(0, 60),
            producttype={"S2MSI2A", "S2MSI1C"},
        )
        want = _expected(products, cloud=(0, 60), start=datetime(2024, 1, 5), end=datetime(2024, 2, 1), area=AOI)
        assert sorted(found) == sorted(want) and want
        assert api.count(AOI, date=("20240105", "20240201"), cloudcoverpercentage=(0, 60)) == len(want)
        only_1c = api.query(producttype="S2MSI1C", date=(None, None), platformname="Sentinel-2")
        assert sorted(only_1c) == sorted(_expected(products, types={"S2MSI1C"}))
        props = found[want[0]]
        p = next(x for x in products if x.id == want[0])
        assert props["cloudcoverpercentage"] == p.attributes["cloudCover"]
        assert props["producttype"] == p.attributes["productType"]
        assert props["beginposition"] == p.start and props["md5"] == p.checksums["md5"]
        assert props["contentlength"] == p.size


def test_order_limit_offset_and_client_side_sorting() -> None:
    products = make_products(25, seed=1)
    with LocalHub(products) as hub:
        api = _api(hub)
        by_date = list(api.query(platformname="Sentinel-2", order_by="-beginposition"))
        assert by_date == [p.id for p in sorted(products, key=lambda p: p.start, reverse=True)]
        # cloud cover cannot be ordered by the server: sorted client-side, then limited
        by_cloud = api.query(
            platformname="Sentinel-2", order_by="cloudcoverpercentage,-beginposition", limit=5, offset=2
        )
        ref = sorted(products, key=lambda p: (p.attributes["cloudCover"], -p.start.timestamp()))[2:7]
        assert list(by_cloud) == [p.id for p in ref]
        page = list(api.query(platformname="Sentinel-2", order_by="beginposition", limit=4, offset=3))
        assert page == [p.id for p in sorted(products, key=lambda p: p.start)][3:7]


def test_paging_respects_top_and_skip_limits() -> None:
    products = make_products(23, seed=2)
    with LocalHub(products, max_skip=6, max_top=4) as hub:
        api = _api(hub)
        api.page_size = 4
        api._backend.max_skip = 6
        found = list(api.query(platformname="Sentinel-2"))
        assert found == [p.id for p in sorted(products, key=lambda p: p.start)]
        tops = [r for r in hub.stats["requests"] if r["path"].startswith("/odata/v1/Products?")]
        assert len(tops) >= 6  # several pages, none rejected
        assert all(r["status"] == 200 for r in tops)


def test_area_relations_refined_client_side() -> None:
    products = make_products(30, seed=5)
    small = "POLYGON((0.1 45.1,0.2 45.1,0.2 45.2,0.1 45.2,0.1 45.1))"
    big = "POLYGON((-20 30,20 30,20 60,-20 60,-20 30))"
    with LocalHub(products) as hub:
        api = _api(hub)
        contains = api.query(small, date=(None, "NOW"), area_relation="Contains")
        within = api.query(big, date=(None, "NOW"), area_relation="IsWithin")
    aoi_small, aoi_big = shapely_wkt.loads(small), shapely_wkt.loads(big)
    assert sorted(contains) == sorted(p.id for p in products if shapely_wkt.loads(p.footprint).contains(aoi_small))
    assert sorted(within) == sorted(p.id for p in products if aoi_big.contains(shapely_wkt.loads(p.footprint)))


def test_product_odata_online_offline_and_bad_ids(tmp_path: Path) -> None:
    products = make_products(3)
    products[1].online = False
    with LocalHub(products) as hub:
        api = _api(hub)
        info = api.get_product_odata(products[0].id)
        assert info["size"] == products[0].size and info["blake3"] == products[0].checksums["blake3"]
        full = api.get_product_odata(products[0].id, full=True)
        assert full["productType"] == products[0].attributes["productType"]
        assert api.is_online(products[0].id) and not api.is_online(products[1].id)
        with pytest.raises(InvalidKeyError):
            api.get_product_odata("00000000-0000-0000-0000-000000000000")
        with pytest.raises(InvalidKeyError):
            api.get_product_odata("../etc")
        dl, _triggered, failed = api.download_all([p.id for p in products], tmp_path)
        assert set(dl) == {products[0].id, products[2].id}
        assert isinstance(failed[products[1].id]["exception"], LTAError)
        with pytest.raises(LTAError):
            api.trigger_offline_retrieval(products[1].id)
        assert api.trigger_offline_retrieval(products[0].id) is False
        q = api.download_quicklook(products[0].id, tmp_path)
        assert q["error"] == "" and Path(q["path"]).read_bytes() == products[0].quicklook


def test_endpoints_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    products = make_products(2)
    with LocalHub(products) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        api = SentinelAPI("user", "password", show_progressbars=False)
        assert api.provider == "cdse" and len(api.query(platformname="Sentinel-2")) == 2
        # the retired hub URLs also lead to CDSE
        old = SentinelAPI("user", "password", "https://apihub.copernicus.eu/apihub", show_progressbars=False)
        assert old.provider == "cdse" and old.count(platformname="Sentinel-2") == 2


def test_filter_translation_shapes() -> None:
    now = datetime(2024, 3, 10, 12, 30, tzinfo=UTC)
    f = build_filter(
        "ENVELOPE(0, 1, 1, 0)",
        ("NOW-1DAY/DAY", "NOW"),
        now=now,
        platformname="Sentinel-1",
        orbitdirection="ascending",
        relativeorbitnumber={12, 37},
        polarisationmode="VV VH",
        identifier="S1A_IW*_1SDV_*",
    )
    assert "ContentDate/Start ge 2024-03-09T00:00:00.000000Z" in f
    assert "ContentDate/Start le 2024-03-10T12:30:00.000000Z" in f
    assert "Collection/Name eq 'SENTINEL-1'" in f
    assert "att/OData.CSC.StringAttribute/Value eq 'ASCENDING'" in f
    assert "att/OData.CSC.IntegerAttribute/Value eq 12" in f and " or " in f
    assert "eq 'VV&VH'" in f
    assert "startswith(Name,'S1A_IW')" in f and "contains(Name,'_1SDV_')" in f
    assert "OData.CSC.Intersects(area=geography'SRID=4326;POLYGON ((1 0, 1 1, 0 1, 0 0, 1 0))')" in f
    with pytest.raises(HubInputError) as err:
        build_filter(nosuchkeyword=1)
    assert err.value.param == "query"
    with pytest.raises(HubInputError):
        build_filter(date=("2024-13-45", None))
    with pytest.raises(HubInputError) as err:
        build_filter(date=("NOW-1DAY", "NOW"), beginPosition=("NOW-1DAY", "NOW"))
    assert err.value.param == "query"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("NOW", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("NOW-1DAY", datetime(2024, 3, 9, 12, 30, tzinfo=UTC)),
        ("NOW/DAY", datetime(2024, 3, 10, tzinfo=UTC)),
        ("NOW-2MONTHS/MONTH", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2016-12-01T00:00:00Z+1DAY-1HOUR", datetime(2016, 12, 1, 23, tzinfo=UTC)),
        ("20151219", datetime(2015, 12, 19, tzinfo=UTC)),
        (None, None),
        ("*", None),
    ],
)
def test_resolve_date(expr, expected) -> None:
    assert resolve_date(expr, now=datetime(2024, 3, 10, 12, 30, tzinfo=UTC)) == expected


def test_real_cdse_payloads_served_and_parsed(shared_data: Path) -> None:
    cdse = shared_data / "cdse"
    records = []
    for page in sorted((cdse / "odata-opensearch/tests/query/mock/sentinel_1").glob("odata_page_*.json")):
        records += json.loads(page.read_text())["value"]
    lo, hi = datetime(2014, 4, 6, tzinfo=UTC), datetime(2014, 4, 10, tzinfo=UTC)

    def start(r):
        return datetime.fromisoformat(r["ContentDate"]["Start"].replace("Z", "+00:00"))

    want = {r["Id"] for r in records if lo <= start(r) <= hi}
    with LocalHub(shared_payloads=cdse) as hub:
        api = _api(hub)
        found = api.query(date=("2014-04-06T00:00:00Z", "2014-04-10T00:00:00Z"), platformname="Sentinel-1")
    assert set(found) == want and want
    for pid, props in found.items():
        rec = next(r for r in records if r["Id"] == pid)
        attrs = {a["Name"]: a["Value"] for a in rec["Attributes"]}
        assert props["producttype"] == attrs["productType"]
        assert props["filename"] == rec["Name"] and props["contentlength"] == rec["ContentLength"]
        md5 = [c["Value"] for c in rec["Checksum"] if c["Algorithm"] == "MD5"]
        assert props.get("md5") == (md5[0] if md5 else None)
        if rec.get("GeoFootprint"):
            assert shapely.equals_exact(
                shapely_wkt.loads(props["footprint"]), shapely.geometry.shape(rec["GeoFootprint"]), 1e-9
            )


def test_single_product_fixture_parses(shared_data: Path) -> None:
    from eokit.hub.cdse import cdse_product_to_classic

    rec = json.loads(
        (
            shared_data
            / "cdse/odata-opensearch/opensearch-resto-mock-sentinel_1/odata_single_product_from_page_6_fixture.json"
        ).read_text()
    )
    pid, props = cdse_product_to_classic(rec, download_url="https://dl", catalogue_url="https://cat")
    assert pid == rec["Id"] and props["title"] == rec["Name"][: -len(".SAFE")]
    assert props["beginposition"] == datetime(2024, 1, 1, 5, 51, 4, 507000)
    assert props["md5"] == "5200000ae27ce7fbd24b9f5112ea7544"
    assert props["platformname"] == "Sentinel-1" and props["size"].endswith("GB")
    assert props["beginposition"] - props["endposition"] < timedelta(0)


def test_bad_query_input() -> None:
    with LocalHub(make_products(1)) as hub:
        api = _api(hub)
        with pytest.raises(HubInputError) as err:
            api.query()
        assert err.value.param == "query"
        with pytest.raises(ValueError):
            api.query("POLYGON((0 0,1 1,0 1,0 0))", area_relation="Touches")
        with pytest.raises(HubInputError):
            api.query("not wkt at all", platformname="Sentinel-2")
        with pytest.raises(HubInputError):
            api.query(platformname="Sentinel-2", order_by="cloud cover")
        with pytest.raises(HubInputError) as err:
            api.query("POLYGON((0 0,200 0,200 1,0 0))")
        assert err.value.param == "area"


def test_cdse_partial_download_with_node_filter(tmp_path: Path) -> None:
    from eokit.hub import make_path_filter, make_size_filter
    from eokit.testing.hub_server import HubProduct

    nodes = {
        "measurement/s1a-iw-grd-vv.tiff": b"V" * 5000,
        "measurement/s1a-iw-grd-vh.tiff": b"H" * 4000,
        "preview/quick-look.png": b"P" * 30,
    }
    p = HubProduct("S1A_IW_GRDH_1SDV_20240101T000000_20240101T000025_052000_064000_ABCD", data=b"z" * 100, nodes=nodes)
    with LocalHub([p]) as hub:
        api = _api(hub)
        info = api.download(p.id, tmp_path, nodefilter=make_path_filter("measurement/*vv*"))
        root = tmp_path / f"{p.name}.SAFE"
        assert (root / "measurement" / "s1a-iw-grd-vv.tiff").read_bytes() == b"V" * 5000
        assert not (root / "measurement" / "s1a-iw-grd-vh.tiff").exists()
        assert (root / "manifest.safe").exists() and set(info["nodes"]) == {
            "./manifest.safe",
            "measurement/s1a-iw-grd-vv.tiff",
        }
        small = api.download(p.id, tmp_path / "small", nodefilter=make_size_filter(100))
        assert set(small["nodes"]) == {"./manifest.safe", "preview/quick-look.png"}


def test_over_long_cdse_query_is_refused_client_side() -> None:
    import math

    from eokit.hub import QueryLengthError

    ring = [(10 + math.cos(a / 600 * 2 * math.pi), 45 + math.sin(a / 600 * 2 * math.pi)) for a in range(600)]
    wkt = "POLYGON((" + ",".join(f"{x:.6f} {y:.6f}" for x, y in [*ring, ring[0]]) + "))"
    with LocalHub(make_products(2)) as hub:
        api = _api(hub)
        with pytest.raises(QueryLengthError):
            api.query(wkt, platformname="Sentinel-2")
        simplified = shapely.to_wkt(shapely_wkt.loads(wkt).simplify(0.05), rounding_precision=4)
        api.query(simplified, platformname="Sentinel-2")
        assert all(r["status"] == 200 for r in hub.stats["requests"])


_PRODUCTS = make_products(30, seed=21)


@pytest.fixture(scope="module")
def shared_hub():
    with LocalHub(_PRODUCTS) as hub:
        yield hub


_days = st.integers(0, 35)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cloud=st.one_of(
        st.none(), st.tuples(st.one_of(st.none(), st.integers(0, 100)), st.one_of(st.none(), st.integers(0, 100)))
    ),
    types=st.one_of(st.none(), st.sets(st.sampled_from(["S2MSI1C", "S2MSI2A", "S2MSI2B"]), min_size=1)),
    direction=st.one_of(st.none(), st.sampled_from(["ascending", "DESCENDING"])),
    days=st.tuples(st.one_of(st.none(), _days), st.one_of(st.none(), _days)),
)
def test_random_queries_match_brute_force(shared_hub, cloud, types, direction, days) -> None:
    kw: dict = {"platformname": "Sentinel-2"}
    if cloud is not None:
        kw["cloudcoverpercentage"] = cloud
    if types is not None:
        kw["producttype"] = types
    if direction is not None:
        kw["orbitdirection"] = direction
    base = datetime(2024, 1, 1)
    start = None if days[0] is None else base + timedelta(days=days[0])
    end = None if days[1] is None else base + timedelta(days=days[1])
    found = _api(shared_hub).query(date=(start, end), **kw)

    def keep(p) -> bool:
        c = p.attributes["cloudCover"]
        if cloud is not None and ((cloud[0] is not None and c < cloud[0]) or (cloud[1] is not None and c > cloud[1])):
            return False
        if types is not None and p.attributes["productType"] not in types:
            return False
        if direction is not None and p.attributes["orbitDirection"] != direction.upper():
            return False
        if start is not None and p.start < start:
            return False
        return not (end is not None and p.start > end)

    assert sorted(found) == sorted(p.id for p in _PRODUCTS if keep(p))


def test_hub_download_starts_before_every_products_metadata_is_in(tmp_path: Path) -> None:
    # Hub.download asks for each product's metadata as the downloads go: the first file does not wait
    # for the metadata of all the others (here each takes 0.15 s after the first)
    import hashlib
    import threading
    import time

    from eokit.hub import Hub

    products = make_products(4, size=200_000)
    with LocalHub(products) as local:
        hub = Hub("cdse", user="user", password="password", **local.cdse_urls)
        found = [hub.get(p.id) for p in products]
        real_assets, metadata_done, started = hub.backend.assets, [], []

        def slow_assets(product, keys=None):
            if metadata_done:
                time.sleep(0.15)
            requests_ = real_assets(product, keys)
            metadata_done.append(time.monotonic())
            return requests_

        class Reporter:
            lock = threading.Lock()

            def start(self, key, title, total, initial):
                with self.lock:
                    started.append(time.monotonic())

            def update(self, key, n):
                pass

            def finish(self, key, ok):
                pass

        hub.backend.assets = slow_assets  # type: ignore[method-assign]
        results = hub.download(found, tmp_path, workers=2, progress=Reporter())
    assert [r.ok for r in results] == [True] * 4 and len(metadata_done) == 4
    assert min(started) < max(metadata_done) - 0.2
    for p, r in zip(products, results, strict=True):
        assert hashlib.md5(r.path.read_bytes()).hexdigest() == p.checksums["md5"]
