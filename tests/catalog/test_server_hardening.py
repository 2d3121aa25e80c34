"""Attacks on the STAC API server, one test each: what a catalog, a local user or a client can try."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eokit.catalog.index import CatalogIndex
from eokit.catalog.server import create_app, running_app
from eokit.errors import OutputError
from eokit.testing.catalog_server import write_static_catalog

GEOM = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def _item(iid: str, **extra: Any) -> dict[str, Any]:
    doc = {"type": "Feature", "stac_version": "1.0.0", "id": iid, "geometry": GEOM, "bbox": [0, 0, 1, 1],
           "properties": {"datetime": "2020-01-01T00:00:00Z"}, "assets": {}}  # fmt: skip
    doc.update(extra)
    return doc


def _client(cat: Path, tmp_path: Path, **options: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(create_app(cat, db_path=tmp_path / "i.sqlite", **options))


def _add_link(doc_path: Path, rel: str, href: str) -> None:
    doc = json.loads(doc_path.read_text())
    doc["links"].append({"rel": rel, "href": href})
    doc_path.write_text(json.dumps(doc))


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    return write_static_catalog(tmp_path / "cat", {"c": [_item("a"), _item("b")]})


def test_state_file_cannot_widen_served_roots(cat: Path, tmp_path: Path) -> None:
    """A catalog's own .eokit-state.sqlite naming '/' as crawl root must not make /etc/passwd servable."""
    with sqlite3.connect(cat / ".eokit-state.sqlite") as con:
        con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        con.execute("INSERT INTO meta VALUES ('root', '/')")
    item = cat / "c" / "a" / "a.json"
    doc = json.loads(item.read_text())
    doc["assets"] = {"pw": {"href": "/etc/passwd"}, "pw2": {"href": "file:///etc/passwd"}}
    item.write_text(json.dumps(doc))
    client = _client(cat, tmp_path)
    for key in ("pw", "pw2"):
        assert client.get(f"/assets/c/a/{key}").status_code == 404
        assert client.get(f"/assets/c/a/{key}/passwd").status_code == 404


def test_index_lives_in_a_private_folder(cat: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    os.makedirs(tmp_path / "cache" / "eokit", mode=0o777)
    os.chmod(tmp_path / "cache" / "eokit", 0o777)
    index = CatalogIndex(cat)
    assert index.db_path.parent == tmp_path / "cache" / "eokit"
    assert os.stat(index.db_path.parent).st_mode & 0o777 == 0o700  # tightened
    assert not str(index.db_path).startswith("/tmp/eokit-stac-index")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to plant other users' files")
def test_an_index_planted_by_another_user_is_not_trusted(cat: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    index = CatalogIndex(cat)
    with sqlite3.connect(index.db_path) as con:  # a spoofed item in an index with the right fingerprint
        con.execute("UPDATE items SET doc = replace(doc, '\"a\"', '\"spoofed\"')")
    os.chown(index.db_path, 65534, 65534)
    again = CatalogIndex(cat)
    assert again.item("c", "a", "http://x") is not None and again.item("c", "spoofed", "http://x") is None
    os.chown(index.db_path.parent, 65534, 65534)
    with pytest.raises(OutputError) as err:
        CatalogIndex(cat)
    assert err.value.param == "db_path"


def test_links_out_of_the_catalog_are_not_followed(cat: Path, tmp_path: Path) -> None:
    outside = write_static_catalog(tmp_path / "outside", {"o": [_item("secret")]})
    _add_link(cat / "c" / "collection.json", "item", "../../outside/o/secret/secret.json")
    _add_link(cat / "catalog.json", "child", "../outside/o/collection.json")
    _add_link(cat / "catalog.json", "child", str(outside / "o" / "collection.json"))
    os.symlink(outside / "o" / "secret" / "secret.json", cat / "c" / "link.json")
    _add_link(cat / "c" / "collection.json", "item", "./link.json")
    r = _client(cat, tmp_path).get("/search", params={"limit": 100}).json()
    assert sorted(f["id"] for f in r["features"]) == ["a", "b"]


def test_special_and_huge_files_are_not_read(cat: Path, tmp_path: Path) -> None:
    os.mkfifo(cat / "c" / "fifo.json")  # would block a plain open()
    _add_link(cat / "c" / "collection.json", "item", "./fifo.json")
    os.symlink("/dev/zero", cat / "c" / "zero.json")  # leaves the folder and is not a regular file
    _add_link(cat / "c" / "collection.json", "item", "./zero.json")
    big = _item("big", properties={"datetime": "2020-01-01T00:00:00Z", "pad": "x" * 50_000})
    (cat / "c" / "big.json").write_text(json.dumps(big))
    _add_link(cat / "c" / "collection.json", "item", "./big.json")
    index = CatalogIndex(cat, db_path=tmp_path / "i.sqlite", max_document_bytes=20_000)
    from eokit.catalog.index import SearchQuery

    assert sorted(json.loads(t)["id"] for t in index.search(SearchQuery(limit=100), "http://x")[0]) == ["a", "b"]


def test_deeply_nested_item_is_skipped(cat: Path, tmp_path: Path) -> None:
    (cat / "c" / "deep.json").write_text('{"id": "deep", "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
    _add_link(cat / "c" / "collection.json", "item", "./deep.json")
    (cat / "c" / "deep2.json").write_text(json.dumps(_item("deep2", extra=json.loads("[" * 80 + "]" * 80))))
    _add_link(cat / "c" / "collection.json", "item", "./deep2.json")
    r = _client(cat, tmp_path).get("/search", params={"limit": 100}).json()
    assert sorted(f["id"] for f in r["features"]) == ["a", "b"]


def test_request_bodies_are_capped(cat: Path, tmp_path: Path) -> None:
    client = _client(cat, tmp_path, max_body=15_000)
    big = json.dumps({"ids": ["x" * 100] * 200})
    r = client.post("/search", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 1000

    r = client.post("/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    deep = '{"intersects": ' + "[" * 5000 + "]" * 5000 + "}"
    r = client.post("/search", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "BadRequest"


def test_unknown_keys_are_not_echoed_into_next_links(cat: Path, tmp_path: Path) -> None:
    client = _client(cat, tmp_path)
    page = client.post("/search", json={"limit": 1, "junk": "y" * 1000}).json()
    nxt = next(ln for ln in page["links"] if ln["rel"] == "next")
    assert "junk" not in nxt["body"] and nxt["body"]["limit"] == 1
    page = client.get("/search", params={"limit": 1, "junk": "y" * 1000}).json()
    assert all("junk" not in ln["href"] for ln in page["links"])


def test_refresh_over_a_half_written_catalog_keeps_serving(cat: Path, tmp_path: Path) -> None:
    client = _client(cat, tmp_path, refresh_interval=0)
    assert client.get("/search").json()["numberMatched"] == 2
    text = (cat / "catalog.json").read_text()
    (cat / "catalog.json").write_text(text[: len(text) // 2])  # a writer caught mid-way
    for path in ("/search", "/collections", "/"):
        assert client.get(path).status_code == 200
    assert client.get("/search").json()["numberMatched"] == 2
    (cat / "catalog.json").write_text(text)
    assert client.get("/search").json()["numberMatched"] == 2


def test_keep_alive_survives_errors(cat: Path, tmp_path: Path) -> None:
    app = create_app(cat, db_path=tmp_path / "i.sqlite")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    app.state.index.item = broken
    with running_app(app) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        for path, status in [("/search?limit=0", 400), ("/nothing", 404), ("/collections/c/items/a", 500),
                             ("/search?token=%C2%B2", 400), ("/", 200)]:  # fmt: skip
            conn.request("GET", path)
            sock = conn.sock
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == status and isinstance(body, dict)
            assert not resp.will_close and conn.sock is sock  # same connection throughout
        conn.close()


def test_links_never_reflect_the_host_header(cat: Path, tmp_path: Path) -> None:
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    plain = _client(cat, tmp_path).get("/", headers=evil).json()
    assert all("evil" not in ln["href"] for ln in plain["links"])
    configured = _client(cat, tmp_path, base_url="https://stac.example.org/api/").get("/search", headers=evil)
    hrefs = [ln["href"] for f in configured.json()["features"] for ln in f["links"]]
    assert hrefs and all(h.startswith("https://stac.example.org/api/") for h in hrefs)
    proxied = _client(cat, tmp_path, proxy_headers=True)
    links = proxied.get("/", headers={**evil, "X-Forwarded-Prefix": "/stac"}).json()["links"]
    assert all(ln["href"].startswith("https://evil.example/stac/") for ln in links)
    bad = proxied.get("/", headers={"X-Forwarded-Host": 'x"><script>'}).json()["links"]
    assert all("script" not in ln["href"] for ln in bad)


def test_bad_base_url_is_refused(cat: Path, tmp_path: Path) -> None:
    from eokit.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as err:
        create_app(cat, db_path=tmp_path / "i.sqlite", base_url='http://x"/')
    assert err.value.param == "base_url"


def test_worker_processes_build_their_app_from_the_environment(cat: Path, tmp_path: Path, monkeypatch) -> None:
    """`eokit serve --workers N`: each worker process rebuilds the same hardened app from EOKIT_SERVE_OPTIONS."""
    from fastapi.testclient import TestClient

    from eokit.catalog.server import app_from_environment

    options = {"backend": "embedded", "catalog_dir": str(cat), "db_path": str(tmp_path / "i.sqlite"),
               "asset_roots": [], "base_url": "https://stac.example.org", "proxy_headers": False}  # fmt: skip
    monkeypatch.setenv("EOKIT_SERVE_OPTIONS", json.dumps(options))
    client = TestClient(app_from_environment())
    page = client.get("/search", headers={"Host": "evil.example"}).json()
    assert page["numberMatched"] == 2
    assert all(ln["href"].startswith("https://stac.example.org/") for ln in page["links"])


def test_serve_refuses_bad_backend_options(cat: Path) -> None:
    from eokit.catalog.server import serve
    from eokit.errors import InvalidInputError

    for kwargs, param in [({"backend": "pgstac"}, "dsn"), ({"backend": "mongo"}, "backend"), ({}, "catalog_dir"),
                          ({"workers": 0, "catalog_dir": cat}, "workers")]:  # fmt: skip
        with pytest.raises(InvalidInputError) as err:
            serve(**kwargs)
        assert err.value.param == param
