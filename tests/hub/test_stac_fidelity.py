"""STAC results keep the server's items unchanged; antimeridian areas work with every provider."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from eokit.hub import search
from eokit.hub.cdse_filter import build_filter
from eokit.hub.dhus_query import format_query
from eokit.testing.hub_server import HubProduct, LocalHub

ACROSS = (
    "MULTIPOLYGON(((179.5 -0.5,180 -0.5,180 0.5,179.5 0.5,179.5 -0.5)),"
    "((-180 -0.5,-179.5 -0.5,-179.5 0.5,-180 0.5,-180 -0.5)))"
)


def _real_items(shared_data: Path) -> list[dict]:
    items = [json.loads(f.read_text()) for f in sorted((shared_data / "cdse/stac").glob("*.json"))]
    if not items:
        pytest.skip("../shared/data/cdse/stac has no items")
    return items


def _odd_items(template: dict) -> list[dict]:
    """A date-only datetime, and an interval (datetime null) crossing the antimeridian."""
    date_only = copy.deepcopy(template)
    date_only["id"] = "date-only"
    date_only["properties"]["datetime"] = "2024-06-01"
    date_only["properties"].pop("start_datetime", None)
    date_only["properties"].pop("end_datetime", None)
    interval = copy.deepcopy(template)
    interval["id"] = "interval-across"
    interval["properties"].update(
        {"datetime": None, "start_datetime": "2024-06-01T10:00:00Z", "end_datetime": "2024-06-01T10:00:25.5Z"}
    )
    interval["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[179.5, -0.5], [180, -0.5], [180, 0.5], [179.5, 0.5], [179.5, -0.5]]],
            [[[-180, -0.5], [-179.5, -0.5], [-179.5, 0.5], [-180, 0.5], [-180, -0.5]]],
        ],
    }
    interval["bbox"] = [179.5, -0.5, -179.5, 0.5]
    return [date_only, interval]


def test_stac_results_round_trip_unchanged(shared_data: Path) -> None:
    real = _real_items(shared_data)
    items = real + _odd_items(real[0])
    with LocalHub([]) as hub:
        hub.stac_items.extend(copy.deepcopy(items))
        found = search("stac", url=hub.stac_url, limit=50)
    by_id = {p.id: p for p in found}
    assert set(by_id) == {i["id"] for i in items}
    for original in items:
        product = by_id[original["id"]]
        assert product.to_stac() == original  # collection, stac_extensions, assets (proj/raster/eo), bbox, times
        assert product.to_stac() is not product.to_stac()  # a copy: the product cannot be changed through it
    with_fields = [
        (i["id"], k) for i in real for k, a in i["assets"].items() if any(f.startswith(("proj:", "raster:")) for f in a)
    ]
    assert with_fields  # the real items do carry asset-level projection/raster fields
    item = by_id[real[0]["id"]].to_stac_item()
    assert item.collection_id == real[0]["collection"] and item.stac_extensions == real[0]["stac_extensions"]
    assert item.bbox == real[0]["bbox"]
    assert found.to_stac_dicts() == [by_id[p.id].to_stac() for p in found]
    from datetime import datetime

    assert by_id["date-only"].start == datetime(2024, 6, 1)
    assert by_id["interval-across"].start == datetime(2024, 6, 1, 10, 0)
    assert by_id["interval-across"].end == datetime(2024, 6, 1, 10, 0, 25, 500000)


@pytest.mark.parametrize("area", [(179.0, -1.0, -179.0, 1.0), "POLYGON((179 -1,181 -1,181 1,179 1,179 -1))"])
def test_antimeridian_areas_with_every_provider(area) -> None:
    across = HubProduct(
        "S2A_MSIL2A_20240101T100000_N0510_R001_T01KAB_20240101T100000", data=b"x" * 100, footprint=ACROSS
    )
    far = HubProduct("S2A_MSIL2A_20240102T100000_N0510_R001_T31UFT_20240102T100000", data=b"y" * 100)
    with LocalHub([across, far]) as hub:
        connections = {
            "cdse": {"user": "user", "password": "password", **hub.cdse_urls},
            "dhus": {"url": hub.dhus_url, "user": "user", "password": "password"},
            "stac": {"url": hub.stac_url},
        }
        for provider, conn in connections.items():
            found = search(provider, area=area, **conn)
            assert [p.title for p in found] == [across.name], provider


def test_antimeridian_areas_become_an_or_of_parts_where_servers_cannot_take_them() -> None:
    west_east = "POLYGON((170 0,190 0,190 10,170 10,170 0))"
    odata = build_filter(west_east)
    assert odata.count("OData.CSC.Intersects") == 2 and " or " in odata
    solr = format_query(west_east)
    assert solr.count('footprint:"Intersects(') == 2 and " OR " in solr
    # an area that does not cross is sent exactly as the classic client sent it
    assert format_query("POLYGON((0 0,1 0,1 1,0 1,0 0))") == 'footprint:"Intersects(POLYGON((0 0,1 0,1 1,0 1,0 0)))"'
