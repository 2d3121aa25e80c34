"""``eokit hub search --info / --gnss / --fmt``: the classic client's remaining options."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from eokit.cli.main import cli
from eokit.testing.hub_cassettes import CassetteServer
from eokit.testing.hub_server import HubProduct, LocalHub

from .conftest import make_products

_VARS = ("DHUS_USER", "DHUS_PASSWORD", "DHUS_URL", "EOKIT_HUB_USER", "EOKIT_HUB_PASSWORD", "EOKIT_HUB_URL")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k in _VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc


def _run(*args: str):
    return CliRunner().invoke(cli, ["hub", "search", *args])


def test_fmt_formats_each_result(monkeypatch: pytest.MonkeyPatch) -> None:
    products = make_products(4, seed=2)
    with LocalHub(products) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        r = _run("--sentinel", "2", "--order-by", "beginposition", "--fmt", "{uuid}|{title}|{cloudcoverpercentage:.1f}")
        assert r.exit_code == 0, r.output
        lines = [ln for ln in r.output.splitlines() if "|" in ln]
        want = [f"{p.id}|{p.name}|{p.attributes['cloudCover']:.1f}" for p in sorted(products, key=lambda p: p.start)]
        assert lines == want
        default = _run("--sentinel", "2", "--order-by", "beginposition")
        lines = [ln for ln in default.output.splitlines() if ln.startswith("Product ")]
        want = [f"Product {p.id} - Date: {p.start:%Y-%m-%dT%H:%M:%S}" for p in sorted(products, key=lambda p: p.start)]
        assert [ln[: len(w)] for ln, w in zip(lines, want, strict=True)] == want  # the classic summary
        bad = _run("--sentinel", "2", "--fmt", "{nosuchkey}")
        assert bad.exit_code == 3 and "--fmt uses {nosuchkey}" in bad.output and "uuid" in bad.output


def test_fmt_on_dhus_results_uses_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    products = make_products(2, seed=4)
    with LocalHub(products) as hub:
        r = _run(
            "--url", hub.dhus_url, "-u", "user", "-p", "password", "--sentinel", "2", "--order-by", "beginposition"
        )
        assert r.exit_code == 0, r.output
        lines = [ln for ln in r.output.splitlines() if ln.startswith("Product ")]
        assert [ln.split(" - ", 1)[0] for ln in lines] == [
            f"Product {p.id}" for p in sorted(products, key=lambda p: p.start)
        ]
        assert all(
            f"Size: {p.size}" in ln for p, ln in zip(sorted(products, key=lambda p: p.start), lines, strict=True)
        )


def test_info_dhus_from_the_recorded_exchange(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_info_cli.yaml"]) as server:
        r = _run("--info", "--url", server.url)  # /apihub/ answers 404, the client falls back to /dhus/
        assert r.exit_code == 0, r.output
        assert r.output.strip() == "DHuS version: 2.4.1"
        assert server.misses == []


def test_info_on_the_local_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalHub(make_products(1)) as hub:
        r = _run("--info", "--url", hub.dhus_url)
        assert r.exit_code == 0 and r.output.strip() == "DHuS version: 3.0.0-eokit"
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        r = _run("--info")
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert lines[0].startswith(f"CDSE catalogue (OData): {hub.cdse_urls['catalogue_url']} (HTTP 200")
        assert lines[1] == f"CDSE identity (OIDC token): {hub.cdse_urls['identity_url']}"
        assert lines[2] == f"CDSE download: {hub.cdse_urls['download_url']}"
        r = _run("--info", "--provider", "stac", "--url", hub.stac_url)
        assert r.exit_code == 0, r.output
        assert "id: eokit-local-hub" in r.output and "conformance classes: 5" in r.output
        assert hub.stats["password_grants"] == 0  # --info never logs in


def test_gnss_dhus_replays_the_classic_request(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_cli_gnss.yaml"]) as server:
        dhus = server.base + "/dhus/"  # --gnss switches to the GNSS end-point beside it, with the guest account
        r = _run(
            "--gnss", "--url", dhus, "-s", "20210201", "-e", "20210202", "--producttype", "AUX_POEORB",
            "--query", "platformserialidentifier=1B", "--json",
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        assert server.misses == []
        features = json.loads(r.output)["features"]
        assert len(features) == 1 and features[0]["properties"]["producttype"] == "AUX_POEORB"


def test_gnss_on_cdse_searches_the_orbit_products(monkeypatch: pytest.MonkeyPatch) -> None:
    orbit = [
        HubProduct(
            f"S1B_OPER_AUX_{kind}_OPOD_20210222T121500_V20210201T225942_20210203T005942",
            data=b"<Earth_Explorer_File/>",
            start=datetime(2021, 2, 1, 22, 59, 42),
            attributes={"productType": f"AUX_{kind}", "platformSerialIdentifier": "B"},
            extension=".EOF",
        )
        for kind in ("POEORB", "RESORB")
    ]
    grd = HubProduct(
        "S1B_IW_GRDH_1SDV_20210201T000000_20210201T000025_025000_02F000_ABCD",
        data=b"x" * 100,
        start=datetime(2021, 2, 1),
        attributes={"productType": "GRD", "platformSerialIdentifier": "B"},
    )
    with LocalHub([*orbit, grd]) as hub:
        for k, v in hub.env().items():
            monkeypatch.setenv(k, v)
        r = _run("--gnss", "-s", "20210201", "-e", "20210203", "--json")
        assert r.exit_code == 0, r.output
        assert {f["properties"]["uuid"] for f in json.loads(r.output)["features"]} == {p.id for p in orbit}
        r = _run("--gnss", "--producttype", "AUX_POEORB", "-s", "20210201", "-e", "20210203", "--json")
        assert [f["properties"]["uuid"] for f in json.loads(r.output)["features"]] == [orbit[0].id]
        r = _run("--gnss", "--provider", "stac", "--url", hub.stac_url)
        assert r.exit_code == 3 and "--gnss" in r.output
