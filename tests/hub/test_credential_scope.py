"""The provider's credentials go to the provider's origins (and trusted hosts), never where its data points."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eokit.hub import Hub, SentinelAPI
from eokit.hub.products import stac_to_product

from .servers import Server, reply

BODY = b"product bytes" * 1000


def _body_server() -> Server:
    return Server(lambda h: reply(h, BODY, content_type="application/octet-stream",
                                  content_disposition='attachment; filename="S2A_X.zip"'))  # fmt: skip


def _dhus(media_src: str) -> Server:
    """A DHuS whose product metadata names ``media_src`` (another host) for the product's bytes."""

    def handle(h) -> None:
        d = {
            "Id": "p1", "Name": "S2A_X", "ContentLength": str(len(BODY)),
            "Checksum": {"Algorithm": "MD5", "Value": hashlib.md5(BODY).hexdigest()},
            "ContentDate": {"Start": "/Date(1704067200000)/"}, "ContentGeometry": None,
            "__metadata": {"media_src": media_src}, "Online": True,
            "CreationDate": "/Date(1704067200000)/", "IngestionDate": "/Date(1704067200000)/",
        }  # fmt: skip
        reply(h, json.dumps({"d": d}).encode(), content_type="application/json")

    return Server(handle)


def test_a_dhus_naming_another_host_for_the_bytes_does_not_get_the_credentials_sent_there(tmp_path: Path) -> None:
    with _body_server() as other, _dhus(f"{other.url}/steal/$value") as hub:
        api = SentinelAPI("user", "secret", hub.url + "/", show_progressbars=False)
        info = api.download("p1", tmp_path)
        assert Path(info["path"]).read_bytes() == BODY  # a public body still downloads
        assert other.seen and all(s["authorization"] is None for s in other.seen)
        assert hub.seen and all(s["authorization"] for s in hub.seen)  # the hub itself gets them
        # a host the user lists gets them
        api = SentinelAPI("user", "secret", hub.url + "/", show_progressbars=False, trusted_hosts=other.url)
        api.download("p1", tmp_path / "again")
        assert other.seen[-1]["authorization"] and other.seen[-1]["authorization"].startswith("Basic ")


def test_stac_asset_hosts_get_the_credentials_only_when_trusted(tmp_path: Path) -> None:
    with _body_server() as assets:
        stac_item = {
            "type": "Feature", "stac_version": "1.0.0", "id": "item1", "bbox": [0, 0, 1, 1],
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
            "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [],
            "assets": {"data": {"href": f"{assets.url}/item1/data.bin", "roles": ["data"]}},
        }  # fmt: skip
        item = stac_to_product(stac_item)
        hub = Hub("stac", url="http://127.0.0.1:9/stac", user="user", password="secret")
        (result,) = hub.download(item, tmp_path)
        assert result.ok and result.path.read_bytes() == BODY
        assert assets.seen[-1]["authorization"] is None
        hub = Hub("stac", url="http://127.0.0.1:9/stac", user="user", password="secret", trusted_hosts=assets.url)
        (result,) = hub.download(item, tmp_path / "again")
        assert result.ok and assets.seen[-1]["authorization"].startswith("Basic ")


def test_the_scoped_auth_shows_no_secret() -> None:
    hub = Hub("stac", url="http://127.0.0.1:9/stac", user="user", password="s3cr3t")
    assert "s3cr3t" not in repr(hub.backend.auth) and "s3cr3t" not in repr(hub)
