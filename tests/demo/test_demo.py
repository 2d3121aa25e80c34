"""`eokit demo --quick` end to end: every output exists, opens, validates; the report links only real files."""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import rasterio
from click.testing import CliRunner

from eokit.cli.main import cli

pytestmark = pytest.mark.slow


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src") and value and not value.startswith(("#", "http", "data:")):
                self.refs.append(value)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    result = CliRunner().invoke(cli, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output + str(result.exception)
    assert "6/6 steps ok" in result.output
    return out


def test_report_links_only_existing_files(demo_out):
    page = (demo_out / "index.html").read_text()
    parser = _Links()
    parser.feed(page)
    assert len(parser.refs) > 40
    for ref in parser.refs:
        assert (demo_out / unquote(ref)).exists(), ref
    assert "failed" not in re.findall(r"class='(\w+)'>(?:ok|failed|skipped)<", page)
    assert "127.0.0.1" not in page and "localhost" not in page  # no link to a server that stopped with the demo


def test_every_output_opens(demo_out):
    import geopandas as gpd
    import pandas as pd

    page = (demo_out / "index.html").read_text()
    parser = _Links()
    parser.feed(page)
    files = {demo_out / unquote(r) for r in parser.refs}
    kinds = {p.suffix.lower() for p in files}
    assert {".tif", ".gpkg", ".csv", ".png", ".html", ".geojson", ".zip", ".json"} <= kinds
    for path in files:
        suffix = path.suffix.lower()
        if suffix in (".tif", ".tiff"):
            with rasterio.open(path) as ds:
                assert ds.crs is not None, path
                ds.read(1, window=((0, 1), (0, 1)))
        elif suffix in (".gpkg", ".geojson"):
            assert len(gpd.read_file(path)) >= 0
        elif suffix == ".csv":
            pd.read_csv(path)
        elif suffix == ".json":
            json.loads(path.read_text())
        elif suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stac_outputs_validate_with_the_official_tool(demo_out, shared_dir):
    pytest.importorskip("jsonschema")
    tool = shared_dir / "tools" / "validate_offline.py"
    proc = subprocess.run(
        [sys.executable, str(tool), str(demo_out / "catalog" / "catalog.json"), "--recursive"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_demo_downloads_match_served_products(demo_out):
    served = {p.name: p.read_bytes() for p in (demo_out / "hub" / "served").glob("*.zip")}
    got = {p.name: p.read_bytes() for p in (demo_out / "hub" / "downloads").glob("*.zip")}
    assert served and served == got
    assert not list((demo_out / "hub" / "downloads").glob("*.incomplete"))


def test_failing_step_is_reported_and_others_run(tmp_path, monkeypatch):
    from eokit.demo import steps

    def broken(ctx, r):
        raise RuntimeError("hub unavailable")

    monkeypatch.setattr(steps, "step_hub", broken)
    monkeypatch.setattr(steps, "step_urban", lambda ctx, r: None)
    monkeypatch.setattr(steps, "step_world", lambda ctx, r: ctx.update(world=None))
    result = CliRunner().invoke(cli, ["demo", "--quick", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "hub: failed: RuntimeError: hub unavailable" in result.output
    page = (tmp_path / "o" / "index.html").read_text()
    assert "depends on hub" in page
    assert "skipped: skipped" not in result.output
    assert Path(tmp_path / "o" / "index.html").exists()


def test_every_page_loads_scripts_and_styles_from_files_beside_it(demo_out):
    from eokit.io.webpage import remote_assets

    pages = sorted(demo_out.rglob("*.html"))
    assert any(p.name == "map.html" for p in pages)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert remote_assets(text) == [], page
        parser = _Links()
        parser.feed(text)
        for ref in parser.refs:
            assert (page.parent / unquote(ref)).exists(), (page, ref)


def _chromium_flags(tmp_path):
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium on this machine (`make test` installs Debian's chromium when it can)")
    return browser, [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # the network is blocked: every host name fails to resolve and every proxy connection is refused
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]


def test_review_map_works_offline_in_headless_chromium(demo_out, tmp_path):
    browser, flags = _chromium_flags(tmp_path)
    url = (demo_out / "urban" / "map.html").resolve().as_uri()
    dom = subprocess.run(
        [browser, *flags, "--virtual-time-budget=10000", "--dump-dom", url], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    classes = " ".join(re.findall(r'class="([^"]*)"', dom.stdout))  # elements Leaflet created, not the page's CSS
    assert "leaflet-container" in classes  # Leaflet ran, from the local copy
    assert "leaflet-interactive" in classes  # and drew the districts and clusters
    assert "leaflet-control-layers" in classes
    assert ".part" not in dom.stdout  # layer names are the outputs' names


def test_report_renders_in_headless_chromium(demo_out, tmp_path):
    browser, flags = _chromium_flags(tmp_path)
    url = (demo_out / "index.html").resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "eokit demo" in dom.stdout and dom.stdout.count("<section") == 6
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [browser, *flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] == 1600 and pixels.shape[1] == 1200
    assert pixels[..., :3].std() > 0.05  # text, tables and maps, not a blank page
