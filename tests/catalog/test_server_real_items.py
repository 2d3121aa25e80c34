"""Searches over real Sentinel-2 and Landsat items (several across the antimeridian) equal a brute-force
shapely filter over the item geometries; absolute-published and collection-less catalogs are served."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import box, mapping, shape

from eokit.catalog.server import create_app
from eokit.testing.catalog_server import write_static_catalog

DATA = Path(__file__).parents[1] / "data" / "serve_items"


def _real_items() -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {"sentinel-2": [], "landsat": []}
    for path in sorted(DATA.glob("*.json")):
        item = json.loads(path.read_text())
        groups["sentinel-2" if path.name.startswith("s2-") else "landsat"].append(item)
    return groups


ITEMS = _real_items()
ALL = [it for group in ITEMS.values() for it in group]


def _footprint(item: dict[str, Any]) -> Any:
    """Independent ground truth: the GeoJSON geometry as written (split at ±180° by the producer)."""
    return shape(item["geometry"])


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Any:
    from fastapi.testclient import TestClient

    base = tmp_path_factory.mktemp("real")
    cat = write_static_catalog(base / "cat", ITEMS)
    return TestClient(create_app(cat, db_path=base / "i.sqlite"))


def _ids(client: Any, **body: Any) -> list[str]:
    r = client.post("/search", json={"limit": 1000, **body})
    assert r.status_code == 200, r.text
    return sorted(f["id"] for f in r.json()["features"])


def test_antimeridian_items_are_served(client) -> None:
    crossing = [it for it in ALL if it["bbox"][0] > it["bbox"][2]]
    assert len(crossing) >= 4  # the fixtures really exercise it
    assert client.get("/search", params={"limit": 1000}).json()["numberMatched"] == len(ALL)
    for it in crossing:
        r = client.get(f"/collections/sentinel-2/items/{it['id']}")
        assert r.status_code == 200 and r.json()["bbox"] == it["bbox"]


def test_boxes_missing_each_footprint_miss_it(client) -> None:
    """A small box inside each item's bbox but off its geometry must not return the item."""
    tried = 0
    for it in ALL:
        geom = _footprint(it)
        w, s, e, n = it["bbox"]
        if w > e:
            continue
        for fx, fy in [(0.01, 0.01), (0.99, 0.01), (0.01, 0.99), (0.99, 0.99)]:
            x, y = w + fx * (e - w), s + fy * (n - s)
            q = box(x - 1e-4, y - 1e-4, x + 1e-4, y + 1e-4)
            if not q.intersects(geom):
                assert it["id"] not in _ids(client, bbox=list(q.bounds))
                tried += 1
                break
    assert tried >= 5


lon = st.floats(-180, 180)
lat = st.floats(-85, 85)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(w=lon, e=lon, s=lat, dy=st.floats(0.01, 20))
@example(w=179.5, e=-179.9, s=-16.0, dy=0.2)  # T01LAC across the antimeridian
@example(w=179.9, e=179.95, s=65.9, dy=0.1)  # T01WCP, east half
@example(w=-179.99, e=-179.5, s=-80.0, dy=0.5)  # T60CWS, west half
@example(w=170.0, e=-170.0, s=-90.0, dy=180.0)
def test_bbox_search_equals_brute_force(client, w, e, s, dy) -> None:
    n = min(90.0, s + dy)
    parts = [box(w, s, 180, n), box(-180, s, e, n)] if w > e else [box(w, s, e, n)]
    expected = sorted(it["id"] for it in ALL if any(p.intersects(_footprint(it)) for p in parts))
    assert _ids(client, bbox=[w, s, e, n]) == expected
    got = client.get("/search", params={"bbox": f"{w},{s},{e},{n}", "limit": 1000}).json()
    assert sorted(f["id"] for f in got["features"]) == expected


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(x=lon, y=lat, r=st.floats(0.05, 30))
@example(x=179.8, y=-15.8, r=0.3)
def test_intersects_equals_brute_force(client, x, y, r) -> None:
    from shapely.geometry import Point

    q = Point(x, y).buffer(r, quad_segs=4).intersection(box(-180, -90, 180, 90))
    expected = sorted(it["id"] for it in ALL if q.intersects(_footprint(it)))
    assert _ids(client, intersects=mapping(q)) == expected


def test_absolute_published_catalog_is_served(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    url = "https://data.example.org/stac"
    cat = write_static_catalog(tmp_path / "cat", ITEMS, published_at=url)
    assert "https://" in (cat / "landsat" / "collection.json").read_text()
    client = TestClient(create_app(cat, db_path=tmp_path / "i.sqlite"))
    assert sorted(c["id"] for c in client.get("/collections").json()["collections"]) == ["landsat", "sentinel-2"]
    r = client.get("/search", params={"collections": "landsat", "limit": 100}).json()
    assert r["numberMatched"] == len(ITEMS["landsat"])


def test_collection_less_catalog_is_served(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    cat = write_static_catalog(tmp_path / "cat", ITEMS, plain=True)
    client = TestClient(create_app(cat, db_path=tmp_path / "i.sqlite"))
    colls = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    assert set(colls) == {"landsat", "sentinel-2"}
    # the stand-in collection's extent covers its items (one crosses ±180°: the whole longitude range)
    assert colls["sentinel-2"]["extent"]["spatial"]["bbox"][0][0] == -180
    south = min(it["bbox"][1] for it in ITEMS["landsat"])
    assert colls["landsat"]["extent"]["spatial"]["bbox"][0][1] == pytest.approx(south)
    items = client.get("/collections/landsat/items", params={"limit": 100}).json()["features"]
    assert sorted(f["id"] for f in items) == sorted(it["id"] for it in ITEMS["landsat"])


def test_date_only_and_interval_datetimes(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    geom = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    base = {"type": "Feature", "stac_version": "1.0.0", "geometry": geom, "bbox": [0, 0, 1, 1], "assets": {}}
    items = [
        dict(base, id="day", properties={"datetime": "2020-03-01"}),
        dict(
            base,
            id="span",
            properties={
                "datetime": None,
                "start_datetime": "2020-01-01T00:00:00Z",
                "end_datetime": "2020-12-31T23:59:59Z",
            },
        ),
    ]
    cat = write_static_catalog(tmp_path / "cat", {"c": items})
    client = TestClient(create_app(cat, db_path=tmp_path / "i.sqlite"))

    def ids(when: str) -> list[str]:
        return _ids(client, datetime=when)

    assert ids("2020-03-01T18:00:00Z") == ["day", "span"]  # a date covers its whole day
    assert ids("2020-03-02T00:00:01Z/2020-06-01T00:00:00Z") == ["span"]
    assert ids("2021-01-01T00:00:00Z/..") == []


def _cc(it: dict[str, Any]) -> float:
    return float(it["properties"]["eo:cloud_cover"])


def _t(it: dict[str, Any]) -> str:
    return str(it["properties"]["datetime"])


FILTERS = [
    # (CQL2 text, the same in plain Python over the item dicts)
    ("eo:cloud_cover < 20", lambda it: _cc(it) < 20),
    ("eo:cloud_cover BETWEEN 20 AND 60 AND platform LIKE 'landsat%'",
     lambda it: 20 <= _cc(it) <= 60 and it["properties"]["platform"].startswith("landsat")),
    ("platform IN ('sentinel-2b', 'landsat-4') OR eo:cloud_cover >= 99",
     lambda it: it["properties"]["platform"] in ("sentinel-2b", "landsat-4") or _cc(it) >= 99),
    ("NOT (platform = 'sentinel-2a') AND datetime < TIMESTAMP('2000-01-01T00:00:00Z')",
     lambda it: it["properties"]["platform"] != "sentinel-2a" and _t(it) < "2000-01-01"),
    ("T_INTERSECTS(datetime, INTERVAL('2020-01-01T00:00:00Z', '2023-12-31T00:00:00Z'))",
     lambda it: "2020-01-01" <= _t(it) <= "2023-12-31"),
    ("S_INTERSECTS(geometry, BBOX(179.5, -20, -179.5, -10)) AND eo:cloud_cover < 90",
     lambda it: any(p.intersects(_footprint(it)) for p in (box(179.5, -20, 180, -10), box(-180, -20, -179.5, -10)))
     and _cc(it) < 90),
    # not expressible in SQL: evaluated by cql2 on each candidate
    ("S_WITHIN(geometry, POLYGON((-130 30, -100 30, -100 50, -130 50, -130 30)))",
     lambda it: _footprint(it).within(box(-130, 30, -100, 50))),
    ("eo:cloud_cover < view:sun_elevation",
     lambda it: _cc(it) < it["properties"]["view:sun_elevation"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), FILTERS, ids=[f[0][:40] for f in FILTERS])
def test_filter_equals_python(client, text, expected) -> None:
    import cql2

    want = sorted(it["id"] for it in ALL if expected(it))
    got_text = client.get("/search", params={"filter": text, "filter-lang": "cql2-text", "limit": 1000})
    assert got_text.status_code == 200, got_text.text
    assert sorted(f["id"] for f in got_text.json()["features"]) == want
    as_json = cql2.parse_text(text).to_json()
    assert _ids(client, filter=as_json, **{"filter-lang": "cql2-json"}) == want


def test_query_sort_fields_and_free_text(client) -> None:
    body = {"query": {"eo:cloud_cover": {"lt": 30}, "platform": {"startsWith": "sentinel"}}}
    want = sorted(it["id"] for it in ALL if _cc(it) < 30 and it["properties"]["platform"].startswith("sentinel"))
    assert _ids(client, **body) == want
    r = client.post("/search", json={"limit": 5, "sortby": [{"field": "properties.eo:cloud_cover", "direction": "desc"}],
                                     "fields": {"include": ["properties.eo:cloud_cover"], "exclude": ["assets"]}})  # fmt: skip
    feats = r.json()["features"]
    assert [f["properties"]["eo:cloud_cover"] for f in feats] == sorted((_cc(it) for it in ALL), reverse=True)[:5]
    assert all("assets" not in f and set(f["properties"]) == {"eo:cloud_cover"} for f in feats)
    assert client.get("/search", params={"q": "no-such-word-anywhere"}).json()["numberMatched"] == 0
    colls = client.get("/collections", params={"q": "landsat"}).json()["collections"]
    assert [c["id"] for c in colls] == ["landsat"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "eo:cloud_cover <"},
        {"filter": "x = 1", "filter-lang": "sql"},
        {"filter": "x = 1", "filter-crs": "EPSG:3857"},
        {"filter": "{not json", "filter-lang": "cql2-json"},
        {"query": '{"eo:cloud_cover": {"near": 3}}'},
    ],
)
def test_bad_filters_are_400(client, params) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 400 and set(r.json()) == {"code", "description"}


def test_conformance_declares_what_works(client) -> None:
    conf = set(client.get("/conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conf
    assert "https://api.stacspec.org/v1.0.0/item-search#query" in conf
    assert not any("transaction" in c or "aggregat" in c for c in conf)


def test_bbox_and_spatial_filter_both_apply(client) -> None:
    """Two disjoint areas: an item must touch each (not their empty intersection)."""
    a, b = box(179.3, -16.3, 179.6, -16.0), box(-179.95, -16.3, -179.8, -16.0)  # both halves of T01LAC
    want = sorted(it["id"] for it in ALL if _footprint(it).intersects(a) and _footprint(it).intersects(b))
    assert want  # the tile crossing 180 touches both
    text = f"S_INTERSECTS(geometry, POLYGON(({b.bounds[0]} -16.3, {b.bounds[2]} -16.3, {b.bounds[2]} -16, "
    text += f"{b.bounds[0]} -16, {b.bounds[0]} -16.3)))"
    assert _ids(client, bbox=list(a.bounds), filter=text) == want


def test_item_whose_geometry_overhangs_its_bbox_is_found(client) -> None:
    """stactools' LM05_L1GS_001001 declares bbox north 81.8697 but its geometry reaches 81.928: a box in between
    finds it (the index prefilter must cover the geometry, not only the declared bbox)."""
    item = next(it for it in ALL if it["id"] == "LM05_L1GS_001001_19850524_02_T2")
    assert item["bbox"][3] < 81.9 < _footprint(item).bounds[3]
    q = [5.9, 81.9, 6.3, 81.92]
    expected = sorted(it["id"] for it in ALL if box(*q).intersects(_footprint(it)))
    assert "LM05_L1GS_001001_19850524_02_T2" in expected
    assert _ids(client, bbox=q) == expected


def _when(item: dict[str, Any]) -> dt.datetime:
    props = item["properties"]
    return dt.datetime.fromisoformat((props.get("datetime") or props["start_datetime"]).replace("Z", "+00:00"))


def expected_order(groups: dict[str, list[dict[str, Any]]], sortby: list[tuple[str, str]]) -> list[str]:
    """The documented sort order, computed independently with Python's stable sort: the keys as given
    (default datetime descending), a missing property after every value ascending and before every value
    descending, ties by collection then id in the direction of the first key."""
    keys = sortby or [("datetime", "desc")]
    rows = [(cid, it) for cid, items in groups.items() for it in items]
    names = [k for k, _ in keys]
    keys = keys + [(k, keys[0][1]) for k in ("collection", "id") if k not in names]
    for name, direction in reversed(keys):
        desc = direction == "desc"
        if name == "datetime":
            rows.sort(key=lambda r: _when(r[1]), reverse=desc)
        elif name in ("id", "collection"):
            rows.sort(key=lambda r: r[1]["id"] if name == "id" else r[0], reverse=desc)
        else:
            rows.sort(key=lambda r: (name not in r[1]["properties"], r[1]["properties"].get(name, 0)), reverse=desc)
    return [it["id"] for _, it in rows]


# properties with ties and items lacking them, of numbers and of strings; datetime has ties too
SORTS: list[list[tuple[str, str]]] = [
    [],
    [("datetime", "asc")],
    *([(name, d)] for name in ("platform", "gsd", "eo:snow_cover", "mgrs:utm_zone", "landsat:wrs_path")
      for d in ("asc", "desc")),
    [("platform", "asc"), ("eo:cloud_cover", "desc")],
    [("gsd", "desc"), ("id", "asc")],
]  # fmt: skip


@pytest.mark.parametrize("sortby", SORTS, ids=[",".join(f"{d[0]}{n}" for n, d in s) or "default" for s in SORTS])
def test_sort_order_is_the_documented_one(client, sortby) -> None:
    fields = [(n if n == "id" else f"properties.{n}", d) for n, d in sortby]
    body = {"limit": 100, "sortby": [{"field": f, "direction": d} for f, d in fields]}
    got = [f["id"] for f in client.post("/search", json=body).json()["features"]]
    assert got == expected_order(ITEMS, sortby)


def test_pages_keep_every_json_value(tmp_path: Path) -> None:
    """Pages are spliced from the stored JSON, or re-encoded when fields are asked for (orjson, with the
    standard library for integers over 64 bits): the values come back as written either way."""
    from fastapi.testclient import TestClient

    geom = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    props = {"datetime": "2020-03-01T00:00:00Z", "big": 2**70, "tiny": 5e-324, "text": 'é\u2028"\\', "nested": [{}]}
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "x", "geometry": geom, "bbox": [0, 0, 1, 1],
            "properties": props, "assets": {}}  # fmt: skip
    cat = write_static_catalog(tmp_path / "cat", {"c": [item]})
    client = TestClient(create_app(cat, db_path=tmp_path / "i.sqlite"))
    whole = client.get("/search").json()["features"][0]["properties"]
    fields = client.get("/search", params={"fields": "properties.big,properties.tiny,properties.text"}).json()
    assert whole == props
    assert fields["features"][0]["properties"] == {k: props[k] for k in ("big", "tiny", "text")}
