"""A STAC item given as an http(s) URL to ``eokit algo``: fetched, capped, assets read through ``/vsicurl/``.

A real CDSE Sentinel-2 L2A item (../shared/data/cdse/stac) is served on loopback with
its red/NIR asset hrefs rewritten to small synthetic GeoTIFFs next to it (relative hrefs,
resolved against the item URL). Expected NDVI comes from numpy with the item's own
``raster:scale``/``raster:offset``.
"""

from __future__ import annotations

import json
import multiprocessing
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from eokit.algorithms import products
from eokit.cli.main import cli
from eokit.errors import ProviderError, UnreadableInputError

from .test_products import cdse_item_with_assets


class _Files(BaseHTTPRequestHandler):
    """Static files of ``root`` with single ``Range`` requests; ``/stream`` sends 1 MiB without a length."""

    root: Path

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        if name == "stream":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                for _ in range(16):
                    self.wfile.write(b" " * 65536)
            return
        path = self.root / name
        if "/" in name or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m:
            start, end = int(m.group(1)), min(int(m.group(2) or len(data) - 1), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            data = data[start : end + 1]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body:
            self.wfile.write(data)


def _serve_forever(root: Path, ports: multiprocessing.Queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Files,), {"root": root}))
    ports.put(server.server_address[1])
    server.serve_forever()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The server runs in its own process: GDAL may hold the GIL while it waits for /vsicurl/ answers."""
    root = tmp_path / "www"
    root.mkdir()
    ctx = multiprocessing.get_context("fork")
    ports: multiprocessing.Queue = ctx.Queue()
    proc = ctx.Process(target=_serve_forever, args=(root, ports), daemon=True)
    proc.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=20)}", root
    finally:
        proc.terminate()
        proc.join(10)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_ndvi_of_a_stac_item_url_equals_local_and_numpy(served, shared_data, tmp_path):
    url, root = served
    item, red, nir = cdse_item_with_assets(shared_data, root)
    hrefs = {b.href for b in products.open_product(f"{url}/item.json").bands}
    assert {f"/vsicurl/{url}/B04_10m.tif", f"/vsicurl/{url}/B08_10m.tif"} <= hrefs

    got = {}
    for where, src in (("url", f"{url}/item.json"), ("local", str(item))):
        out = tmp_path / f"ndvi_{where}.tif"
        res = CliRunner().invoke(cli, ["algo", "index", "NDVI", src, "--out", str(out)])
        assert res.exit_code == 0, res.output
        got[where] = _read(out)
    r, n = red * 1e-4 - 0.1, nir * 1e-4 - 0.1  # raster:scale / raster:offset of the real item
    want = (n - r) / (n + r)
    want[0, 0] = np.nan  # nodata 0
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got["url"][ok], want[ok], rtol=1e-5)
    assert np.isnan(got["url"][0, 0])
    np.testing.assert_array_equal(got["url"], got["local"])


def test_bad_item_urls_are_one_error_line(served, tmp_path, monkeypatch):
    url, root = served
    (root / "page.json").write_text("<html>not json</html>")
    (root / "collection.json").write_text(json.dumps({"type": "Collection", "id": "c", "links": []}))
    (root / "local.json").write_text(json.dumps({"type": "Feature", "assets": {"a": {"href": "/etc/hosts"}}}))
    monkeypatch.setattr(products, "STAC_ITEM_MAX_BYTES", 256 * 1024)  # /stream sends 1 MiB, no Content-Length
    cases = {
        "missing.json": (ProviderError, 404),
        "page.json": (UnreadableInputError, None),
        "collection.json": (UnreadableInputError, None),
        "local.json": (UnreadableInputError, None),
        "stream": (UnreadableInputError, None),
    }
    for name, (kind, status) in cases.items():
        target = f"{url}/{name}"
        with pytest.raises(kind) as info:
            products.open_product(f"http://user:secret@{target[7:]}?token=abc")
        if status is not None:
            assert info.value.status_code == status and info.value.url == target
        else:
            assert info.value.path == target
        assert "secret" not in str(info.value) and "abc" not in str(info.value)
        res = CliRunner().invoke(cli, ["algo", "index", "NDVI", target, "--out", str(tmp_path / "x.tif")])
        lines = res.output.strip().splitlines()
        assert res.exit_code != 0 and len(lines) == 1 and lines[0].startswith("eokit: error:"), (name, res.output)
    assert not list(tmp_path.glob("*.tif"))
