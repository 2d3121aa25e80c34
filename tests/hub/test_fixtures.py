"""Parsers against the real CDSE fixtures: manifests, Resto pages, OIDC configuration, shapefile areas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import shapely
from shapely import wkt as shapely_wkt

from eokit.hub import HubInputError, ServerError
from eokit.hub.api_downloads import _manifest_nodes
from eokit.hub.auth import TokenManager
from eokit.hub.cdse import parse_resto_page
from eokit.hub.dhus import DhusBackend

MOCK = "cdse/odata-opensearch/tests/download/mock"


def _info(root: str) -> dict:
    return {"id": "x", "title": root, "product_root_dir": root + ".SAFE", "md5": "m"}


@pytest.mark.parametrize("rel", ["sentinel_1/manifest.safe", "sentinel_2/manifest.safe", "sentinel_3/xfdumanifest.xml"])
def test_manifest_nodes_match_the_xml(shared_data: Path, rel: str) -> None:
    path = shared_data / MOCK / rel
    text = path.read_text(encoding="utf-8")
    sizes = [int(s) for s in re.findall(r'<byteStream[^>]*size="(\d+)"', text)]
    backend = DhusBackend("http://hub/", None, None)  # only node_url is used
    nodes = _manifest_nodes(path, _info("P"), backend)
    assert len(nodes) == len(sizes) and sorted(n["size"] for n in nodes.values()) == sorted(sizes)
    for href, node in nodes.items():
        assert not href.startswith("./")
        assert node["url"].startswith("http://hub/odata/v1/Products('x')/Nodes('P.SAFE')/Nodes(")
        assert node["url"].endswith("/$value")
        assert "md5" in node or "sha3-256" in node
    checksums = re.findall(r'checksumName="([^"]+)">([0-9A-Fa-f]+)<', text)
    assert {v.lower() for _, v in checksums} >= {(n.get("md5") or n.get("sha3-256")).lower() for n in nodes.values()}


def test_broken_manifest_has_no_usable_nodes(shared_data: Path) -> None:
    nodes = _manifest_nodes(
        shared_data / MOCK / "sentinel_2/broken_manifest.safe", _info("P"), DhusBackend("http://hub/", None, None)
    )
    assert nodes == {}  # the only data object has no href


def test_invalid_manifest_xml(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.safe"
    bad.write_text("<xfdu><unclosed>")
    with pytest.raises(ServerError) as err:
        _manifest_nodes(bad, _info("P"), DhusBackend("http://hub/", None, None))
    assert err.value.path == str(bad) and err.value.status_code is None


def test_resto_pages_parse(shared_data: Path) -> None:
    folder = shared_data / "cdse/odata-opensearch/opensearch-resto-mock-sentinel_1"
    seen = {}
    for page_path in sorted(folder.glob("page_*.json")):
        page = json.loads(page_path.read_text())
        products, total = parse_resto_page(page)
        assert total == page["properties"]["totalResults"]
        assert list(products) == [f["id"] for f in page["features"]]
        for f in page["features"]:
            props = products[f["id"]]
            assert props["title"] == f["properties"]["title"]
            assert props["contentlength"] == f["properties"]["services"]["download"]["size"]
            assert props["platformname"] == "Sentinel-1"
            if f["geometry"]:
                assert shapely.equals_exact(
                    shapely_wkt.loads(props["footprint"]), shapely.geometry.shape(f["geometry"]), 1e-9
                )
        seen.update(products)
    assert len(seen) == 48 or len(seen) == sum(
        len(json.loads(p.read_text())["features"]) for p in folder.glob("page_*.json")
    )


def test_openid_configuration(shared_data: Path) -> None:
    config = json.loads(
        (shared_data / "cdse/odata-opensearch/tests/credentials/mock/openid-configuration.json").read_text()
    )
    tm = TokenManager.from_openid_configuration(config, "u", "p")
    assert tm.token_url == "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
    assert tm.client_id == "cdse-public"
    with pytest.raises(HubInputError):
        TokenManager.from_openid_configuration({}, "u", "p")


def test_shapefile_area_for_cli(shared_data: Path) -> None:
    from eokit.hub.tool import _vector_file_wkt

    shp = shared_data / "cdse/odata-opensearch/tests/shape/POLYGON.shp"
    wkt = _vector_file_wkt(str(shp))
    import pyogrio

    df = pyogrio.read_dataframe(shp)
    assert shapely_wkt.loads(wkt).equals_exact(shapely.union_all(df.geometry.values), 1e-6)
