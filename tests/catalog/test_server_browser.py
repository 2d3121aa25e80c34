"""The map page and the API docs work with no network: headless Chromium, every host but loopback blocked."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eokit.catalog.server import running_server
from eokit.testing.catalog_server import write_static_catalog

DATA = Path(__file__).parents[1] / "data" / "serve_items"
XSS = '<img src=x onerror="document.body.dataset.pwned=1">'


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        pytest.skip("no Chromium on this machine (`make test` installs Debian's chromium when it can)")
    return found


def _dom(browser: str, url: str, profile: Path) -> str:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
        # the network is blocked: every host name fails to resolve except the loopback server's address
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=15000",
    ]  # fmt: skip
    run = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    items = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    evil = dict(items[0], id=XSS)
    evil["properties"] = dict(items[0]["properties"], datetime="2020-01-01T00:00:00Z")
    cat = write_static_catalog(base / "cat", {"real": items[1:], "evil": [evil]})
    with running_server(cat, db_path=base / "i.sqlite") as url:
        yield url, len(items)


def test_map_draws_every_item_offline(api, tmp_path: Path) -> None:
    url, n = api
    dom = _dom(_browser(), f"{url}/map.html", tmp_path / "profile")
    drawn = re.search(r'data-drawn="(\d+)"', dom)
    assert drawn is not None, dom[-2000:]
    assert int(drawn.group(1)) >= n  # one path per item (items split at ±180° draw two)
    assert "data-pwned" not in dom and '<img src="x"' not in dom  # the hostile id is shown as text, not run
    assert "&lt;img src=x" in dom


def test_api_docs_render_offline(api, tmp_path: Path) -> None:
    url, _ = api
    dom = _dom(_browser(), f"{url}/api.html", tmp_path / "profile")
    assert "opblock" in dom and "/search" in dom, dom[-2000:]  # swagger-ui drew the operations
