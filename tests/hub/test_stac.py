"""STAC provider and the native API: search, conversions, checksummed asset downloads."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest

from eokit.hub import Product, ProductCollection, download, search
from eokit.hub.checksums import parse_multihash, to_multihash
from eokit.hub.native import Hub
from eokit.hub.products import stac_to_product
from eokit.testing.hub_server import Faults, LocalHub

from .conftest import make_products


def test_stac_search_and_download_verified(tmp_path: Path) -> None:
    products = make_products(6, seed=9)
    with LocalHub(products, faults=Faults(plan=[(products[0].id, "corrupt")])) as hub:
        found = search(
            "stac",
            url=hub.stac_url,
            collection="sentinel-2",
            area=(-20, 30, 20, 60),
            date=("20240101", "20240104"),
            limit=10,
        )
        want = [p for p in products if p.start <= datetime(2024, 1, 4)]
        assert sorted(p.id for p in found) == sorted(p.name for p in want)
        results = download(found, tmp_path, workers=2)
        assert all(r.ok and r.verified for r in results)
        for p in want:
            f = tmp_path / p.name / p.filename
            assert hashlib.sha256(f.read_bytes()).hexdigest() == p.checksums["sha256"]
        assert ("corrupt" in {k for _, k in hub.stats["faults"]}) == (products[0] in want)


def test_conversions(tmp_path: Path) -> None:
    products = make_products(3)
    with LocalHub(products) as hub:
        found = search("stac", url=hub.stac_url, collection="sentinel-2")
        cdse = search("cdse", collection="Sentinel-2", user="user", password="password", **hub.cdse_urls)
        dhus = search("dhus", url=hub.dhus_url, collection="Sentinel-2", user="user", password="password")
        got = download(cdse[:1], tmp_path, user="user", password="password", **hub.cdse_urls)
        assert got[0].verified
    for coll in (found, cdse, dhus):
        assert isinstance(coll, ProductCollection) and len(coll) == 3
        gj = coll.to_geojson()
        assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 3
        json.dumps(gj)
        assert coll.to_dataframe().shape[0] == 3
        gdf = coll.to_geodataframe()
        assert gdf.crs.to_epsg() == 4326 and gdf.geometry.notna().all()
        ic = coll.to_stac()
        assert len(ic.items) == 3
        for item in ic.items:
            assert item.datetime is not None
    assert {p.assets["product"].checksums.get("md5") for p in cdse} == {p.checksums["md5"] for p in products}


def test_stac_items_validate_against_schemas(tmp_path: Path, shared_dir: Path) -> None:
    import subprocess
    import sys

    products = make_products(2)
    with LocalHub(products) as hub:
        coll = search("stac", url=hub.stac_url, collection="sentinel-2")
    for item in coll.to_stac().items:
        path = tmp_path / f"{item.id}.json"
        path.write_text(json.dumps(item.to_dict(transform_hrefs=False)))
        proc = subprocess.run(
            [sys.executable, str(shared_dir / "tools/validate_offline.py"), str(path), "--quiet"],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_real_stac_items_parse(shared_data: Path) -> None:
    for f in sorted((shared_data / "cdse/stac").glob("*.json")):
        raw = json.loads(f.read_text())
        p = stac_to_product(raw)
        assert isinstance(p, Product) and p.id == raw["id"] and p.start is not None
        with_checksum = [k for k, a in raw["assets"].items() if "file:checksum" in a]
        for key in with_checksum:
            algo, digest = parse_multihash(raw["assets"][key]["file:checksum"])
            assert p.assets[key].checksums[algo] == digest
            assert to_multihash(algo, digest) == raw["assets"][key]["file:checksum"]


def test_local_stac_serves_real_items(shared_data: Path) -> None:
    with LocalHub(shared_payloads=shared_data / "cdse") as hub:
        found = search("stac", url=hub.stac_url, area=(-180, -90, 180, 90))
    ids = {json.loads(f.read_text())["id"] for f in (shared_data / "cdse/stac").glob("*.json")}
    assert {p.id for p in found} == ids


def test_multihash_and_bad_input() -> None:
    assert parse_multihash("d50110" + "00" * 16) == ("md5", "00" * 16)
    with pytest.raises(ValueError):
        parse_multihash("zz")
    with pytest.raises(ValueError):
        parse_multihash("ff01" + "00")
    with pytest.raises(ValueError) as err:
        Hub("ftp")
    assert err.value.param == "provider"
    with pytest.raises(ValueError) as err:
        Hub("stac")
    assert err.value.param == "url"
    with pytest.raises(ValueError) as err:  # south > north (west > east is an antimeridian crossing)
        search("stac", url="http://127.0.0.1:9", area=(5, 1, 10, 0))
    assert err.value.param == "area"


def test_local_stac_api_passes_the_conformance_suite(shared_dir: Path) -> None:
    import subprocess
    import sys

    pytest.importorskip("stac_api_validator")
    geometry = '{"type":"Polygon","coordinates":[[[-20,30],[20,30],[20,60],[-20,60],[-20,30]]]}'
    with LocalHub(make_products(5)) as hub:
        args = [sys.executable, str(shared_dir / "tools/offline_api_validator.py"), "--root-url", hub.stac_url]
        for c in ("core", "item-search", "features"):
            args += ["--conformance", c]
        args += ["--collection", "sentinel-2", "--geometry", geometry]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Errors: none" in proc.stdout, proc.stdout[-2000:]
