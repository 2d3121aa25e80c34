"""The STAC API: conformance (offline stac-api-validator), filters vs brute force, paging, errors, assets."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import box, shape

from eokit.catalog import ReadOptions, build_catalog
from eokit.catalog.server import create_app, running_server
from eokit.testing.catalog_server import validate_api
from eokit.testing.catalog_tree import make_drone_tree

from .conftest import SEED_GROUP

N_MISSIONS = 25


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("api")
    root = base / "missions"
    make_drone_tree(root, N_MISSIONS, laz_every=5, rasters=("orthomosaic", "dsm"))
    out = base / "stac"
    build_catalog(root, out, group_by=SEED_GROUP, read_options=ReadOptions(checksum="sha2-256"))
    return root, out


@pytest.fixture(scope="module")
def api(built, tmp_path_factory) -> str:
    root, out = built
    with running_server(out, db_path=tmp_path_factory.mktemp("db") / "index.sqlite", asset_roots=[root]) as url:
        yield url


@pytest.fixture(scope="module")
def features(built) -> list[dict[str, Any]]:
    """The items as written to index.geojson: the independent ground truth for filters."""
    return json.loads((built[1] / "index.geojson").read_text())["features"]


def _all_pages(url: str, params: dict[str, Any] | None = None) -> tuple[list[str], int]:
    ids, matched = [], None
    r = requests.get(url, params=params, timeout=10)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        matched = page["numberMatched"] if matched is None else matched
        ids += [f["id"] for f in page["features"]]
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            return ids, matched
        r = requests.get(nxt[0]["href"], timeout=10)


def test_landing_and_conformance(api: str) -> None:
    landing = requests.get(api + "/", timeout=10).json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "root", "conformance", "data", "search", "service-desc", "child"} <= rels
    conf = requests.get(api + "/conformance", timeout=10).json()["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/item-search" in conf
    assert requests.get(api + "/api", timeout=10).json()["paths"]
    assert "leaflet" in requests.get(api + "/map.html", timeout=10).text


def test_offline_api_validator(api: str, shared_dir: Path, tmp_path: Path) -> None:
    out = validate_api(api, shared_dir, cwd=tmp_path)
    assert "Errors: none" in out, out[-3000:]


def test_paging_returns_every_item_once(api: str, features) -> None:
    ids, matched = _all_pages(api + "/search", {"limit": 4})
    assert matched == len(features) == N_MISSIONS
    assert sorted(ids) == sorted(f["id"] for f in features)
    ids, matched = _all_pages(api + "/collections/collection/items", {"limit": 7})
    assert sorted(ids) == sorted(f["id"] for f in features)


def test_post_paging(api: str, features) -> None:
    body: dict[str, Any] = {"limit": 6, "collections": ["collection"]}
    ids = []
    while True:
        r = requests.post(api + "/search", json=body, timeout=10)
        assert r.status_code == 200, r.text
        page = r.json()
        ids += [f["id"] for f in page["features"]]
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert nxt[0]["method"] == "POST"
        body = nxt[0]["body"]
    assert sorted(ids) == sorted(f["id"] for f in features)


lon = st.floats(-123.01, -122.97)
lat = st.floats(39.73, 39.76)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(x=st.tuples(lon, lon), y=st.tuples(lat, lat))
@example(x=(-122.984375, -122.99523107231607), y=(39.75, 39.734375))  # once failed in CI
def test_bbox_filter_matches_brute_force(api: str, features, x, y) -> None:
    b = [min(x), min(y), max(x), max(y)]
    ids, _ = _all_pages(api + "/search", {"bbox": ",".join(map(str, b)), "limit": 100})
    q = box(*b)
    expected = sorted(f["id"] for f in features if shape(f["geometry"]).intersects(q))
    assert sorted(ids) == expected


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(cx=lon, cy=lat, r=st.floats(1e-5, 3e-3))
def test_intersects_matches_shapely(api: str, features, cx, cy, r) -> None:
    from shapely.geometry import Point, mapping

    geom = Point(cx, cy).buffer(r, quad_segs=4)
    res = requests.post(api + "/search", json={"intersects": mapping(geom), "limit": 100}, timeout=10)
    assert res.status_code == 200
    got = sorted(f["id"] for f in res.json()["features"])
    assert got == sorted(f["id"] for f in features if shape(f["geometry"]).intersects(geom))


def test_datetime_filter(api: str, features) -> None:
    from eokit.catalog._common import parse_datetime

    lo, hi = "2023-05-03T00:00:00Z", "2023-05-10T00:00:00Z"
    ids, _ = _all_pages(api + "/search", {"datetime": f"{lo}/{hi}", "limit": 100})

    def overlaps(f) -> bool:
        p = f["properties"]
        s = parse_datetime(p.get("start_datetime") or p["datetime"])
        e = parse_datetime(p.get("end_datetime") or p["datetime"])
        return s <= parse_datetime(hi) and e >= parse_datetime(lo)

    assert sorted(ids) == sorted(f["id"] for f in features if overlaps(f))
    open_end, _ = _all_pages(api + "/search", {"datetime": f"{hi}/..", "limit": 100})
    assert set(open_end).isdisjoint(set(ids) - set(open_end)) and open_end


def test_sort_and_fields(api: str, features) -> None:
    r = requests.get(api + "/search", params={"sortby": "-id", "limit": 100}, timeout=10).json()
    assert [f["id"] for f in r["features"]] == sorted((f["id"] for f in features), reverse=True)
    r = requests.post(api + "/search", json={"sortby": [{"field": "id", "direction": "asc"}], "limit": 3}).json()
    assert [f["id"] for f in r["features"]] == sorted(f["id"] for f in features)[:3]
    # fields: include -> only those (+ type, stac_version, id, links); exclude only -> everything else;
    # empty include -> the default set
    r = requests.get(api + "/search", params={"fields": "properties.gsd", "limit": 2}, timeout=10).json()
    f0 = r["features"][0]
    assert set(f0) == {"type", "stac_version", "id", "links", "properties"} and set(f0["properties"]) == {"gsd"}
    r = requests.post(api + "/search", json={"fields": {"exclude": ["assets", "geometry"]}, "limit": 2}).json()
    f0 = r["features"][0]
    assert "assets" not in f0 and "geometry" not in f0 and "gsd" in f0["properties"] and "bbox" in f0
    r = requests.post(api + "/search", json={"fields": {"include": [], "exclude": ["geometry"]}, "limit": 1}).json()
    f0 = r["features"][0]
    assert set(f0) == {"type", "stac_version", "id", "bbox", "links", "assets", "properties"}
    assert set(f0["properties"]) == {"datetime"}
    body = {"fields": {"exclude": ["properties"], "include": ["properties.gsd"]}, "limit": 1}
    r = requests.post(api + "/search", json=body, timeout=10).json()
    assert set(r["features"][0]["properties"]) == {"gsd"}
    assert requests.post(api + "/search", json={"fields": None}, timeout=10).status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "10,80,20,70"},
        {"bbox": "0,0,1,1", "intersects": '{"type":"Point","coordinates":[0,0]}'},
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "many"},
        {"datetime": "yesterday"},
        {"datetime": "2020-13-45T00:00:00Z"},
        {"datetime": "2021-01-01T00:00:00Z/2020-01-01T00:00:00Z"},
        {"datetime": "../.."},
        {"collections": "nope"},
        {"intersects": "{not json"},
        {"intersects": '{"type":"Polygon","coordinates":[[1,2]]}'},
        {"token": "abc"},
        {"sortby": "properties.x;drop"},
        {"token": "\u00b2"},  # a digit to str.isdigit, not to int()
        {"intersects": "[" * 5000 + "]" * 5000},  # RecursionError in json.loads
        {"intersects": '{"type":"Point","coordinates":' + "[" * 70 + "0" + "]" * 70 + "}"},
    ],
)
def test_bad_parameters_are_400(api: str, params) -> None:
    r = requests.get(api + "/search", params=params, timeout=10)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "BadRequest" and body["description"]


@pytest.mark.parametrize(
    "body",
    ["{broken", "[1,2]", '{"bbox": "x"}', '{"limit": 0}', '{"datetime": 5}', '{"intersects": {"type": "Nope"}}'],
)
def test_bad_post_bodies_are_400(api: str, body: str) -> None:
    r = requests.post(api + "/search", data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "BadRequest"


def test_not_found(api: str) -> None:
    assert requests.get(api + "/collections/nope", timeout=10).status_code == 404
    assert requests.get(api + "/collections/collection/items/nope", timeout=10).status_code == 404
    assert requests.get(api + "/collections/nope/items", timeout=10).status_code == 404
    for bad in ["/assets/collection/000001/..%2F..%2F..%2Fetc%2Fpasswd", "/assets/../../etc/passwd", "/nothing"]:
        r = requests.get(api + bad, timeout=10)
        assert r.status_code == 404 and "code" in r.json()


def test_asset_range_download_with_checksum(api: str, built) -> None:
    import pystac_client

    root, _ = built
    client = pystac_client.Client.open(api + "/")
    item = next(client.search(ids=["000003"], max_items=1).items())
    asset = item.assets["orthomosaic"]
    local = root / "000003" / "processed_2" / "full" / "orthomosaic.tif"
    data = local.read_bytes()
    part = requests.get(asset.href, headers={"Range": "bytes=10-49"}, timeout=10)
    assert part.status_code == 206
    assert part.content == data[10:50]
    assert part.headers["Content-Range"] == f"bytes 10-49/{len(data)}"
    full = requests.get(asset.href, timeout=10)
    assert full.status_code == 200 and full.content == data
    sha = hashlib.sha256(full.content).hexdigest()
    assert full.headers["X-Checksum-Sha256"] == sha
    assert full.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(sha)).decode()}:"
    assert asset.extra_fields["file:checksum"] == "1220" + sha
    head = requests.head(asset.href, timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)
    bad = requests.get(asset.href, headers={"Range": f"bytes={len(data) + 5}-"}, timeout=10)
    assert bad.status_code == 416


def test_nothing_outside_catalog_is_served(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    cat = tmp_path / "cat"
    (cat / "items").mkdir(parents=True)
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": "x", "bbox": [0, 0, 1, 1],
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
        "properties": {"datetime": "2020-01-01T00:00:00Z"}, "links": [],
        "assets": {"leak": {"href": "../../secret.txt"}, "abs": {"href": str(secret)}},
    }  # fmt: skip
    (cat / "items" / "x.json").write_text(json.dumps(item))
    coll = {
        "type": "Collection", "stac_version": "1.1.0", "id": "c", "description": "d", "license": "other",
        "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}},
        "links": [{"rel": "item", "href": "./items/x.json"}],
    }  # fmt: skip
    root_doc = {"type": "Catalog", "stac_version": "1.1.0", "id": "r", "description": "d"}
    root_doc["links"] = [{"rel": "child", "href": "./collection.json"}]
    (cat / "catalog.json").write_text(json.dumps(root_doc))
    (cat / "collection.json").write_text(json.dumps(coll))
    client = TestClient(create_app(cat, db_path=tmp_path / "i.sqlite"))
    served = client.get("/collections/c/items/x").json()
    assert served["assets"]["leak"]["href"] == "../../secret.txt"  # not rewritten to a server URL
    for key in ("leak", "abs"):
        assert client.get(f"/assets/c/x/{key}").status_code == 404


def test_index_follows_catalog_changes(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    root = tmp_path / "m"
    make_drone_tree(root, 3, laz_every=0, rasters=("ortho",))
    out = tmp_path / "stac"
    build_catalog(root, out, group_by=SEED_GROUP)
    client = TestClient(create_app(out, db_path=tmp_path / "i.sqlite", refresh_interval=0))
    assert client.get("/search").json()["numberMatched"] == 3
    make_drone_tree(root, 5, laz_every=0, rasters=("ortho",))
    build_catalog(root, out, group_by=SEED_GROUP, incremental=True)
    assert client.get("/search").json()["numberMatched"] == 5


def test_local_stac_api_helper_round_trip(tmp_path: Path) -> None:
    """What a hub client does: search, download each asset, verify file:checksum and the digest header."""
    import pystac_client

    from eokit.testing.catalog_server import local_stac_api

    with local_stac_api(tmp_path, n_missions=2) as api:
        items = list(pystac_client.Client.open(api.url).search(collections=[api.collection]).items())
        assert sorted(i.id for i in items) == ["000001", "000002"]
        for item in items:
            for asset in item.assets.values():
                r = requests.get(asset.href, timeout=10)
                digest = hashlib.sha256(r.content).hexdigest()
                assert asset.extra_fields["file:checksum"] == "1220" + digest
                assert r.headers["X-Checksum-Sha256"] == digest
