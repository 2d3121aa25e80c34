"""``eokit hub search``: every option, against the local hub (CDSE, DHuS, STAC)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from eokit.cli.main import cli
from eokit.testing.hub_server import Faults, HubProduct, LocalHub

from .conftest import make_products


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch):
    products = make_products(6, seed=11)
    with LocalHub(products) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        for k in ("DHUS_USER", "DHUS_PASSWORD", "DHUS_URL", "EOKIT_HUB_USER", "EOKIT_HUB_PASSWORD", "EOKIT_HUB_URL"):
            monkeypatch.delenv(k, raising=False)
        yield hub, products


def _run(args, **kw):
    return CliRunner().invoke(cli, ["hub", "search", *args], catch_exceptions=False, **kw)


def test_search_cdse_json_and_filters(hub_env) -> None:
    _hub, products = hub_env
    r = _run(["--sentinel", "2", "-c", "50", "--producttype", "S2MSI2A", "-s", "20240101", "-e", "20240110", "--json"])
    assert r.exit_code == 0, r.output
    ids = {f["properties"]["uuid"] for f in json.loads(r.output)["features"]}
    want = {p.id for p in products if p.attributes["cloudCover"] <= 50 and p.attributes["productType"] == "S2MSI2A"}
    assert ids == want


def test_search_text_output_order_limit(hub_env) -> None:
    _hub, products = hub_env
    r = _run(["--sentinel", "2", "--order-by", "-beginposition", "-l", "2"])
    assert r.exit_code == 0
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Product ")]
    newest = sorted(products, key=lambda p: p.start, reverse=True)[:2]
    assert [ln.split()[1] for ln in lines] == [p.id for p in newest]
    assert "2 scenes found" in r.output


def test_uuid_name_query_geometry_location(hub_env, tmp_path: Path) -> None:
    _hub, products = hub_env
    r = _run(["--uuid", f"{products[0].id},{products[1].id}", "--json"])
    assert {f["properties"]["uuid"] for f in json.loads(r.output)["features"]} == {products[0].id, products[1].id}
    r = _run(["--name", products[2].name, "--json"])
    assert [f["properties"]["uuid"] for f in json.loads(r.output)["features"]] == [products[2].id]
    r = _run(["--query", "producttype=S2MSI1C", "--query", "producttype=S2MSI2A", "--sentinel", "2", "--json"])
    assert len(json.loads(r.output)["features"]) == len(products)
    gj = tmp_path / "aoi.geojson"
    gj.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": json.loads(json.dumps(products[3].geojson))})
    )
    for geometry in (str(gj), gj.read_text(), products[3].footprint):
        r = _run(["-g", geometry, "--json"])
        assert products[3].id in {f["properties"]["uuid"] for f in json.loads(r.output)["features"]}
    r = _run(["--location", "Strasbourg", "--sentinel", "2", "--json"])
    assert r.exit_code == 0


def test_footprints_and_download_with_workers(hub_env, tmp_path: Path) -> None:
    hub, products = hub_env
    fp = tmp_path / "fp.geojson"
    dl = tmp_path / "dl"
    r = _run(
        [
            "-u",
            "user",
            "-p",
            "password",
            "--sentinel",
            "2",
            "--footprints",
            str(fp),
            "-d",
            "--out",
            str(dl),
            "--workers",
            "3",
            "--quicklook",
            "--timeout",
            "30",
        ]
    )
    assert r.exit_code == 0, r.output
    assert len(json.loads(fp.read_text())["features"]) == len(products)
    assert sorted(p.name for p in dl.glob("*.zip")) == sorted(p.filename for p in products)
    assert len(list(dl.glob("*.jpeg"))) == len(products)
    assert hub.stats["max_concurrent_downloads"] <= 3


def test_failed_downloads_exit_1_and_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    products = make_products(3)
    products[0].online = False
    with LocalHub(products) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("EOKIT_HUB_USER", "user")
        monkeypatch.setenv("EOKIT_HUB_PASSWORD", "password")
        r = _run(["--sentinel", "2", "-d", "--out", str(tmp_path)])
    assert r.exit_code == 1
    assert products[0].id in (tmp_path / "corrupt_scenes.txt").read_text()
    assert len(list(tmp_path.glob("*.zip"))) == 2


def test_fail_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # big enough (4 slow chunks) that the others cannot finish before the offline one fails
    products = make_products(3, size=1_000_000)
    products[1].online = False
    with LocalHub(products, faults=Faults(plan=[(None, "slow")] * 3, slow_delay=0.2)) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        r = CliRunner().invoke(
            cli,
            [
                "hub",
                "search",
                "-u",
                "user",
                "-p",
                "password",
                "--sentinel",
                "2",
                "-d",
                "--fail-fast",
                "--out",
                str(tmp_path),
            ],
        )
    assert r.exit_code == 4 and "offline" in r.output
    assert len(list(tmp_path.glob("*.zip"))) < 2


def test_dhus_provider_with_env_credentials_and_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = HubProduct(
        "S1A_IW_GRDH_1SDV_20240101T000000_20240101T000025_000001_000001_AAAA",
        data=b"zip" * 100,
        nodes={"measurement/a.tiff": b"A" * 50, "preview/map-overlay.kml": b"<kml/>"},
    )
    with LocalHub([p]) as hub:
        monkeypatch.setenv("DHUS_USER", "user")
        monkeypatch.setenv("DHUS_PASSWORD", "password")
        monkeypatch.setenv("DHUS_URL", hub.dhus_url)
        r = _run(["--sentinel", "1", "-d", "--out", str(tmp_path), "--include-pattern", "*.kml"])
        assert r.exit_code == 0, r.output
        root = tmp_path / f"{p.name}.SAFE"
        assert (root / "preview" / "map-overlay.kml").read_bytes() == b"<kml/>"
        assert not (root / "measurement" / "a.tiff").exists()
        r = _run(["--sentinel", "1", "-d", "--out", str(tmp_path / "x"), "--exclude-pattern", "*.kml"])
        assert (tmp_path / "x" / f"{p.name}.SAFE" / "measurement" / "a.tiff").read_bytes() == b"A" * 50
        bad = CliRunner().invoke(
            cli, ["hub", "search", "--sentinel", "1", "--include-pattern", "a", "--exclude-pattern", "b"]
        )
        assert bad.exit_code == 3 and "cannot be used together" in bad.output
        monkeypatch.setenv("DHUS_PASSWORD", "wrong-secret")
        denied = CliRunner().invoke(cli, ["hub", "search", "--sentinel", "1"])
        assert denied.exit_code == 4 and "wrong-secret" not in denied.output


def test_netrc_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    products = make_products(1)
    with LocalHub(products) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        netrc = tmp_path / ".netrc"
        netrc.write_text("machine 127.0.0.1\nlogin user\npassword password\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setenv("HOME", str(tmp_path))
        r = _run(["--sentinel", "2", "-d", "--out", str(tmp_path / "dl")])
        assert r.exit_code == 0, r.output
        assert len(list((tmp_path / "dl").glob("*.zip"))) == 1


def test_stac_provider(tmp_path: Path) -> None:
    products = make_products(3)
    with LocalHub(products) as hub:
        r = _run(
            [
                "--provider",
                "stac",
                "--url",
                hub.stac_url,
                "--collection",
                "sentinel-2",
                "-g",
                "POLYGON((-20 30,20 30,20 60,-20 60,-20 30))",
                "-l",
                "2",
                "--json",
                "-d",
                "--out",
                str(tmp_path),
            ]
        )
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output.splitlines()[0])["features"]) == 2
    assert len(list(tmp_path.rglob("*.zip"))) == 2


def test_bad_options(hub_env) -> None:
    r = CliRunner().invoke(cli, ["hub", "search", "-c", "30", "--sentinel", "1"])
    assert r.exit_code == 3 and "--max-cloud" in r.output
    r = CliRunner().invoke(cli, ["hub", "search", "-g", "{not json"])
    assert r.exit_code == 3 and "GeoJSON" in r.output
    r = CliRunner().invoke(cli, ["hub", "search", "-s", "yesterday"])
    assert r.exit_code == 3 and "date" in r.output.lower()
    r = CliRunner().invoke(cli, ["hub", "search", "--query", "novalue"])
    assert r.exit_code == 3
    r = CliRunner().invoke(cli, ["hub", "search", "--provider", "stac"])
    assert r.exit_code == 3 and "--url" in r.output
    r = CliRunner().invoke(cli, ["hub", "search", "--help"])
    assert r.exit_code == 0 and "--include-pattern" in r.output


def test_instrument_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    products = make_products(4)
    products[0].attributes["instrumentShortName"] = "MSI"
    products[1].attributes["instrumentShortName"] = "OLCI"
    with LocalHub(products) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        r = _run(["--instrument", "MSI", "--json"])
        assert r.exit_code == 0, r.output
        assert [f["properties"]["uuid"] for f in json.loads(r.output)["features"]] == [products[0].id]
        r = _run(["--instrument", "OLCI", "--sentinel", "2", "-s", "NOW-100YEARS", "--json"])
        assert [f["properties"]["uuid"] for f in json.loads(r.output)["features"]] == [products[1].id]


def test_deprecated_spellings_still_work(hub_env, tmp_path: Path, caplog) -> None:
    """``-q`` (query), ``-o`` (order-by) and ``--path`` (now ``--out``) stay as hidden aliases for one release."""
    _hub, products = hub_env
    common = ["-u", "user", "-p", "password", "--sentinel", "2", "-d"]
    old = _run([*common, "-q", "producttype=S2MSI1C", "-o", "-beginposition", "--path", str(tmp_path)])
    new = _run([*common, "--query", "producttype=S2MSI1C", "--order-by", "-beginposition", "--out", str(tmp_path)])
    assert old.exit_code == new.exit_code == 0
    assert old.stdout == new.stdout
    assert {r.getMessage() for r in caplog.records if r.name == "eokit.cli.hub"} >= {
        "-q is deprecated; use --query",
        "-o is deprecated; use --order-by",
        "--path is deprecated; use --out",
    }
    wanted = [p for p in products if p.attributes["productType"] == "S2MSI1C"]
    assert sorted(f.name for f in tmp_path.glob("*.zip")) == sorted(p.filename for p in wanted)
    help_text = _run(["--help"]).output
    assert "--path" not in help_text and "  -q" not in help_text and "  -o" not in help_text


def test_fmt_help_examples_work_for_every_provider(hub_env) -> None:
    """The --fmt examples in the help text format real results of CDSE, DHuS and STAC."""
    import re

    hub, _ = hub_env
    help_text = " ".join(_run(["--help"]).output.split())
    examples = re.findall(r"'(\{[^']+\})'", help_text)
    assert len(examples) >= 3
    by_provider = {
        "cdse": ["-u", "user", "-p", "password", "--sentinel", "2"],
        "dhus": ["--url", hub.dhus_url, "-u", "user", "-p", "password", "--sentinel", "2"],
        "stac": ["--provider", "stac", "--url", hub.stac_url, "--collection", "sentinel-2"],
    }
    for provider, args in by_provider.items():
        near = {e: help_text.split(e, 1)[1][:40] for e in examples}
        usable = [e for e, after in near.items() if provider in after.lower() or "every provider" in after]
        assert usable, provider
        ids = {f["properties"].get("uuid", f["id"]) for f in json.loads(_run([*args, "--json"]).stdout)["features"]}
        for fmt in usable:
            r = _run([*args, "--fmt", fmt])
            assert r.exit_code == 0, (provider, fmt, r.output)
            lines = [ln for ln in r.stdout.splitlines() if "scenes found" not in ln]
            assert {ln.split()[0] for ln in lines} == ids and all(len(ln.split()) >= 2 for ln in lines)


def test_max_cloud_workers_and_geometry_crs(hub_env, monkeypatch) -> None:
    """--max-cloud (old --cloud hidden), --workers 0 = one per core, a projected WKT area reaches the server in lon/lat."""
    from eokit.hub import tool

    seen: list[tool.SearchOptions] = []

    def fake_run(opts: tool.SearchOptions) -> None:
        seen.append(opts)
        raise SystemExit(0)

    monkeypatch.setattr(tool, "run_search", fake_run)
    wkt = "POLYGON((500000 5000000, 510000 5000000, 510000 5010000, 500000 5010000, 500000 5000000))"
    r = CliRunner().invoke(
        cli,
        [
            "hub",
            "search",
            "--sentinel",
            "2",
            "--cloud",
            "40",
            "--workers",
            "0",
            "-g",
            wkt,
            "--geometry-crs",
            "EPSG:32633",
        ],
    )
    assert r.exit_code == 0, r.output
    opts = seen[0]
    assert opts.cloud == 40 and opts.workers == (os.cpu_count() or 1)
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    import shapely

    vertices = shapely.get_coordinates(shapely.from_wkt(tool._area(opts)))
    for x, y in [(500000, 5000000), (510000, 5000000), (510000, 5010000), (500000, 5010000)]:
        lon, lat = to_lonlat.transform(x, y)
        assert min(abs(vertices[:, 0] - lon) + abs(vertices[:, 1] - lat)) < 2e-6  # each corner, to the WKT's 6 decimals
