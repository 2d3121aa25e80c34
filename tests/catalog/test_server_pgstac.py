"""The pgstac backend (a real PostgreSQL + PostGIS started by the test, pgstac installed by pypgstac)
answers like the embedded backend on the same catalog of real items; both pass the API validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("stac_fastapi.pgstac", reason="the pgstac extra is not installed")

from eokit.catalog.api_pgstac import create_pgstac_app, publish_pgstac
from eokit.catalog.server import running_app, running_server
from eokit.testing.catalog_server import validate_api, write_static_catalog
from eokit.testing.postgres import PostgresUnavailable, local_postgres

from .test_server_real_items import SORTS, expected_order

DATA = Path(__file__).parents[1] / "data" / "serve_items"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    items = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    groups = {"sentinel-2": [i for i in items if i["id"].startswith("S2")]}
    groups["landsat"] = [i for i in items if not i["id"].startswith("S2")]
    return write_static_catalog(tmp_path_factory.mktemp("pg") / "cat", groups)


@pytest.fixture(scope="module")
def dsn() -> Any:
    try:
        with local_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL with PostGIS here ({exc}); `make test` installs Debian's when it can")


@pytest.fixture(scope="module")
def drone_api(dsn: str, tmp_path_factory) -> Any:
    """eokit's own drone catalog in a second database (its items validate against the bundled schemas)."""
    import psycopg

    from eokit.catalog import build_catalog
    from eokit.testing.catalog_tree import make_drone_tree

    from .conftest import SEED_GROUP

    base = tmp_path_factory.mktemp("drone")
    make_drone_tree(base / "m", 8, laz_every=4, rasters=("orthomosaic",))
    build_catalog(base / "m", base / "stac", group_by=SEED_GROUP)
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE DATABASE drone")
    drone_dsn = dsn.rsplit("/", 1)[0] + "/drone"
    publish_pgstac(base / "stac", drone_dsn)
    with running_app(create_pgstac_app(drone_dsn), lifespan="on") as url:
        yield url


@pytest.fixture(scope="module")
def both(catalog: Path, dsn: str, tmp_path_factory) -> Any:
    result = publish_pgstac(catalog, dsn)
    assert (result.collections, result.items) == (2, 26)
    db = tmp_path_factory.mktemp("idx") / "i.sqlite"
    with running_server(catalog, db_path=db) as embedded, running_app(create_pgstac_app(dsn), lifespan="on") as pg:
        yield embedded, pg


QUERIES: list[dict[str, Any]] = [
    {},
    {"collections": ["landsat"]},
    {"bbox": [179.5, -20, -179.5, -10]},  # across the antimeridian
    {"bbox": [-125, 30, -100, 50]},
    {"intersects": {"type": "Polygon", "coordinates": [[[170, -85], [180, -85], [180, -70], [170, -70], [170, -85]]]}},
    {"datetime": "2019-01-01T00:00:00Z/2021-12-31T23:59:59Z"},
    {"ids": ["LC08_L2SP_047027_20201204_02_T1", "nope"]},
    {"filter": "eo:cloud_cover < 20 AND platform LIKE 'sentinel%'", "filter-lang": "cql2-text"},
    {"filter": {"op": "between", "args": [{"property": "eo:cloud_cover"}, 10, 60]}, "filter-lang": "cql2-json"},
    {"query": {"eo:cloud_cover": {"gte": 50}}},
    {"filter": "S_INTERSECTS(geometry, BBOX(179.5, -20, -179.5, -10))", "filter-lang": "cql2-text"},
    {"filter": {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [-125, 30, -100, 50]}]}},
]


@pytest.mark.parametrize("body", QUERIES, ids=[json.dumps(q)[:50] for q in QUERIES])
def test_same_results_on_both_backends(both, body) -> None:
    results = []
    for url in both:
        r = requests.post(f"{url}/search", json={"limit": 100, **body}, timeout=30)
        assert r.status_code == 200, (url, r.text)
        results.append(sorted(f["id"] for f in r.json()["features"]))
        params = {k: (json.dumps(v) if isinstance(v, dict) else ",".join(map(str, v)) if isinstance(v, list) else v)
                  for k, v in {"limit": 100, **body}.items()}  # fmt: skip
        r = requests.get(f"{url}/search", params=params, timeout=30)
        assert r.status_code == 200, (url, r.text)
        results.append(sorted(f["id"] for f in r.json()["features"]))
    assert results[0] == results[1] == results[2] == results[3]


def test_same_collections_and_items(both) -> None:
    ids = [sorted(c["id"] for c in requests.get(f"{u}/collections", timeout=30).json()["collections"]) for u in both]
    assert ids[0] == ids[1] == ["landsat", "sentinel-2"]
    iid = "S2A_T01LAC_20200717T221944_L1C"  # across the antimeridian
    docs = [requests.get(f"{u}/collections/sentinel-2/items/{iid}", timeout=30).json() for u in both]
    assert docs[0]["bbox"] == docs[1]["bbox"] and docs[0]["properties"] == docs[1]["properties"]
    assert docs[0]["bbox"][0] > docs[0]["bbox"][2]


@pytest.mark.parametrize("sortby", SORTS, ids=[",".join(f"{d[0]}{n}" for n, d in s) or "default" for s in SORTS])
def test_same_sort_order_on_both_backends(both, sortby) -> None:
    """Both backends give the documented order (ties by id descending, missing properties as the largest
    value), computed independently from the item files; GET sortby and paging through next links alike."""
    items = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    groups = {"sentinel-2": [i for i in items if i["id"].startswith("S2")]}
    groups["landsat"] = [i for i in items if not i["id"].startswith("S2")]
    expected = expected_order(groups, sortby)
    fields = [(n if n == "id" else f"properties.{n}", d) for n, d in sortby]
    for url, name in zip(both, ("embedded", "pgstac"), strict=True):
        body = {"limit": 100, "sortby": [{"field": f, "direction": d} for f, d in fields]}
        r = requests.post(f"{url}/search", json=body, timeout=30)
        assert [f["id"] for f in r.json()["features"]] == expected, name
        params = {
            "limit": 9,
            **({"sortby": ",".join(("+" if d == "asc" else "-") + f for f, d in fields)} if fields else {}),
        }
        got, page = [], requests.get(f"{url}/search", params=params, timeout=30).json()
        while True:
            got += [f["id"] for f in page["features"]]
            nxt = [ln["href"] for ln in page["links"] if ln["rel"] == "next"]
            if not nxt or len(got) > len(expected):
                break
            page = requests.get(nxt[0], timeout=30).json()
        assert got == expected, name


def test_pgstac_links_use_the_trusted_base_url(dsn: str, both) -> None:
    app = create_pgstac_app(dsn, base_url="https://stac.example.org/v1")
    with running_app(app, lifespan="on") as url:
        r = requests.get(f"{url}/search", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        hrefs = [ln["href"] for ln in r.json()["links"]]
        assert hrefs and all(h.startswith("https://stac.example.org/v1") for h in hrefs)
        assert requests.post(f"{url}/search", data=b"{" * 2_000_000, timeout=30).status_code == 413


def test_pgstac_passes_the_api_validator(drone_api, shared_dir: Path, tmp_path: Path) -> None:
    out = validate_api(drone_api, shared_dir, cwd=tmp_path)
    assert "Errors: none" in out, out[-3000:]


def test_publish_command(catalog: Path, dsn: str) -> None:
    import psycopg
    from click.testing import CliRunner

    from eokit.cli.main import cli

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE DATABASE cli")
    target = dsn.rsplit("/", 1)[0] + "/cli"
    result = CliRunner().invoke(cli, ["catalog", "publish", str(catalog), "--json"], env={"EOKIT_PGSTAC_DSN": target})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"collections": 2, "items": 26}
    with psycopg.connect(target) as con:
        assert con.execute("SELECT count(*) FROM pgstac.items").fetchone()[0] == 26
    bad = CliRunner().invoke(
        cli, ["catalog", "publish", str(catalog), "--pgstac", "postgresql://x:secret@127.0.0.1:1/x"]
    )
    assert bad.exit_code != 0 and "secret" not in bad.output


def test_plain_catalog_publishes_the_embedded_stand_in(dsn: str, tmp_path: Path) -> None:
    """Items linked from a Catalog with no Collection: pgstac gets the stand-in collection the embedded index
    serves, extent computed from the items (loaded before its items are read, completed after)."""
    items = [json.loads(p.read_text()) for p in sorted(DATA.glob("ls-*.json"))][:4]
    cat = write_static_catalog(tmp_path / "plain", {"plain-landsat": items}, plain=True)
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE DATABASE plain")
    target = dsn.rsplit("/", 1)[0] + "/plain"
    assert publish_pgstac(cat, target).items == len(items) >= 2
    with (
        running_server(cat, db_path=tmp_path / "i.sqlite") as emb,
        running_app(create_pgstac_app(target), lifespan="on") as pg,
    ):
        docs = [requests.get(f"{u}/collections/plain-landsat", timeout=30).json() for u in (emb, pg)]
        assert docs[0]["extent"] == docs[1]["extent"]
        west = min(it["bbox"][0] for it in items)
        assert docs[1]["extent"]["spatial"]["bbox"][0][0] == pytest.approx(west)
        n = [requests.get(f"{u}/search", timeout=30).json()["numberReturned"] for u in (emb, pg)]
        assert n == [len(items), len(items)]


PG_BAD = [
    # what schemathesis found answered with a 500 by stac-fastapi-pgstac (or with a non-STAC error body)
    ("/search", {"query": "not json"}),
    ("/search", {"intersects": "garbage"}),
    ("/collections", {"q": "a(b"}),
    ("/collections", {"filter": "true"}),
    ("/collections", {"offset": "-3646"}),
    ("/collections/collection/items", {"query": "{"}),
    ("/search", {"filter": "not a filter ((", "filter-lang": "cql2-text"}),
]


@pytest.mark.parametrize(("path", "params"), PG_BAD, ids=[f"{p}?{json.dumps(q)}" for p, q in PG_BAD])
def test_pgstac_bad_parameters_are_400s(drone_api: str, path: str, params: dict[str, str]) -> None:
    r = requests.get(f"{drone_api}{path}", params=params, timeout=30)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"code", "description"}


def test_pgstac_fuzzed_requests_get_no_server_error(drone_api: str) -> None:
    """schemathesis over stac-fastapi-pgstac's own OpenAPI document: no 5xx, 400s with the STAC error body."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{drone_api}/api")
    operations = [(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()]
    assert ("POST", "/search") in operations and ("GET", "/collections/{collection_id}/items") in operations
    typed = ("/search", "/collections", "/collections/{collection_id}/items")
    for method, path in operations:
        for mode in ("positive", "negative") if path in typed else ("positive",):
            strategy = schema[path][method].as_strategy(generation_mode=GenerationMode(mode))

            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(base_url=drone_api)
                assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body)
                if response.status_code == 400:
                    assert set(response.json()) == {"code", "description"}, response.text

            run()
