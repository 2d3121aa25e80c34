"""Answers read whole (search pages, metadata, tokens...) stop at a size; streamed downloads do not."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from eokit.hub import SentinelAPI, ServerError
from eokit.hub.engine import DownloadEngine, DownloadRequest
from eokit.hub.http import BoundedAdapter, HubSession
from eokit.testing.hub_server import LocalHub

from .conftest import make_products
from .servers import Server, reply


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(BoundedAdapter, "max_answer_bytes", 1 << 20)


def test_a_declared_size_over_the_cap_is_refused_before_reading(small_cap) -> None:
    sent = []

    def handle(h) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(100 << 20))
        h.end_headers()
        try:
            for _ in range(4):
                h.wfile.write(b"x" * (1 << 20))
                sent.append(1)
        except OSError:
            pass

    with Server(handle) as srv, pytest.raises(ServerError) as err:
        HubSession(retries=0).get(srv.url + "/odata/v1/Products", timeout=10)
    assert "more than 1 MiB" in str(err.value.msg)


def test_an_endless_chunked_answer_stops_at_the_cap(small_cap) -> None:
    def handle(h) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            block = b"x" * 65536
            for _ in range(200):  # 12.5 MiB, "never" ending as far as the client is concerned
                h.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    with Server(handle) as srv, pytest.raises(ServerError):
        HubSession(retries=0).get(srv.url + "/search", timeout=10)


def test_a_compressed_answer_is_counted_once_inflated(small_cap) -> None:
    bomb = gzip.compress(b"\0" * (20 << 20))  # ~20 kB on the wire, 20 MiB inflated

    def handle(h) -> None:
        reply(h, bomb, content_type="application/json", content_encoding="gzip")

    with Server(handle) as srv, pytest.raises(ServerError):
        HubSession(retries=0).get(srv.url + "/search", timeout=10).json()
    assert len(bomb) < (1 << 20)


def test_streamed_downloads_and_small_answers_are_not_bounded(small_cap, tmp_path: Path) -> None:
    (p,) = make_products(1, size=3_000_000)  # three times the cap
    with LocalHub([p]) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        info = api.download(p.id, tmp_path)  # metadata (small, read whole) + body (streamed)
        assert hashlib.md5(Path(info["path"]).read_bytes()).hexdigest() == p.checksums["md5"]
        request = DownloadRequest(url=f"{hub.url}/files/{p.id}/{p.filename}", key="k", filename="again.zip")
        assert DownloadEngine().download(request, tmp_path).ok
