"""Searches never page without end: a cap on results without a limit, circular or lying servers stopped."""

from __future__ import annotations

import json
import time

import pytest

from eokit.config import override
from eokit.hub import HubInputError, SentinelAPI, ServerError, search
from eokit.testing.hub_server import LocalHub

from .conftest import make_products
from .servers import Server, reply

DATE = ("20230101", "NOW")


@pytest.mark.parametrize("provider", ["dhus", "cdse"])
def test_a_search_without_limit_matching_more_than_the_cap_is_refused(provider) -> None:
    with LocalHub(make_products(12)) as hub:
        urls = {"api_url": hub.dhus_url} if provider == "dhus" else hub.cdse_urls
        api = SentinelAPI("user", "password", show_progressbars=False, **urls)
        with override(hub_max_results=5):
            with pytest.raises(HubInputError) as err:
                api.query(date=DATE)
            assert err.value.param == "limit"
            assert len(api.query(date=DATE, limit=8)) == 8  # a limit is the way
        with override(hub_max_results=0):  # 0: no cap
            assert len(api.query(date=DATE)) == 12
        assert len(api.query(date=DATE)) == 12  # the default cap is far above


def test_a_stac_search_without_limit_matching_more_than_the_cap_is_refused() -> None:
    with LocalHub(make_products(12)) as hub:
        with override(hub_max_results=5):
            with pytest.raises(HubInputError) as err:
                search("stac", url=hub.stac_url, collection="sentinel-2")
            assert err.value.param == "limit"
            assert len(search("stac", url=hub.stac_url, collection="sentinel-2", limit=8)) == 8
        assert len(search("stac", url=hub.stac_url, collection="sentinel-2")) == 12


def _feature(i: int) -> dict:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": f"item-{i}",
        "geometry": {"type": "Point", "coordinates": [0, 0]},
        "bbox": [0, 0, 0, 0],
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {},
    }


def test_a_stac_api_whose_next_link_goes_round_in_a_circle_is_stopped() -> None:
    calls = []

    def handle(h) -> None:
        calls.append(h.path)
        base = f"http://127.0.0.1:{h.server.server_address[1]}"
        if h.path.split("?")[0] in ("/", ""):
            body = {
                "type": "Catalog", "id": "c", "description": "c", "stac_version": "1.0.0", "links": [
                    {"rel": "search", "href": f"{base}/search", "type": "application/geo+json", "method": "GET"},
                    {"rel": "search", "href": f"{base}/search", "type": "application/geo+json", "method": "POST"},
                    {"rel": "self", "href": f"{base}/"}],
                "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
            }  # fmt: skip
        else:  # every page is the first one again, with a "next" link to itself
            body = {"type": "FeatureCollection", "features": [_feature(0), _feature(1)],
                    "links": [{"rel": "next", "href": f"{base}/search?page=2", "method": "GET"}]}  # fmt: skip
        reply(h, json.dumps(body).encode(), content_type="application/json")

    with Server(handle) as srv:
        t0 = time.monotonic()
        with pytest.raises(ServerError):
            search("stac", url=srv.url + "/", collection="x")
        assert time.monotonic() - t0 < 10 and len([c for c in calls if c.startswith("/search")]) <= 3


def test_a_dhus_declaring_a_huge_total_is_refused_at_once_and_empty_pages_end_the_paging() -> None:
    calls = []
    declared = {"total": 10**9}

    def handle(h) -> None:
        calls.append(h.path)
        start = int(h.path.split("start=")[1].split("&")[0]) if "start=" in h.path else 0
        entries = [] if start else [_dhus_entry(0)]
        feed = {"opensearch:totalResults": str(declared["total"]), "entry": entries}
        reply(h, json.dumps({"feed": feed}).encode(), content_type="application/json")

    with Server(handle) as srv:
        api = SentinelAPI("user", "password", srv.url + "/", show_progressbars=False)
        with pytest.raises(HubInputError):
            api.query(date=DATE)
        assert len(calls) == 1  # refused on the first page's declared total
        declared["total"] = 450  # under the cap, but the server has only one product
        calls.clear()
        assert len(api.query(date=DATE)) == 1
        assert len(calls) == 2  # the first empty page ended the paging (not 5 pages)


def _dhus_entry(i: int) -> dict:
    return {
        "title": f"S2A_MSIL2A_20240101T000000_N0510_R000_T31UFT_2024010{i}T000000",
        "id": f"00000000-0000-0000-0000-00000000000{i}",
        "link": [{"href": f"https://hub.invalid/odata/v1/Products('00000000-0000-0000-0000-00000000000{i}')/$value"}],
        "summary": "Date: 2024-01-01T00:00:00Z, Size: 1 MB",
        "date": [{"name": "beginposition", "content": "2024-01-01T00:00:00Z"}],
        "str": [{"name": "footprint", "content": "POLYGON((0 0,1 0,1 1,0 1,0 0))"}],
    }
