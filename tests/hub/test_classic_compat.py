"""Public behaviours of sentinelsat 1.2.1 that its own suite (test_sentinelsat_suite.py) found, checked here
on eokit's local hub: one verified attempt per ``download()``, the retired apihub mapping, the messages
scripts match, and no retry of a search the server rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eokit.cli.main import cli
from eokit.hub import SentinelAPI
from eokit.hub.dhus import dhus_url_of
from eokit.hub.exceptions import InvalidChecksumError, ServerError, UnauthorizedError
from eokit.hub.files import LEDGER_NAME
from eokit.hub.tool import _gnss_url
from eokit.testing.hub_server import Faults, LocalHub

from .conftest import make_products
from .test_retries import Flaky


@pytest.mark.parametrize(
    ("api_url", "dhus_url"),
    [  # the mapping sentinelsat 1.2.1 documents for the version end-point (its test_api2dhus_url)
        ("https://apihub.copernicus.eu/apihub/", "https://scihub.copernicus.eu/dhus/"),
        ("https://colhub.met.no/", "https://colhub.met.no/"),
        ("https://example.org/apihub/", "https://example.org/dhus/"),
    ],
)
def test_dhus_url_of_an_api_hub(api_url: str, dhus_url: str) -> None:
    assert dhus_url_of(api_url) == dhus_url


def test_gnss_end_point_of_the_retired_apihub_is_scihubs() -> None:
    assert _gnss_url("https://apihub.copernicus.eu/apihub/") == "https://scihub.copernicus.eu/gnss/"
    assert _gnss_url("https://example.org/dhus") == "https://example.org/gnss/"


def test_download_is_one_verified_attempt_and_download_all_retries(tmp_path: Path) -> None:
    (p,) = make_products(1)
    with LocalHub([p], faults=Faults(plan=[(p.id, "corrupt")])) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        with pytest.raises(InvalidChecksumError) as err:
            api.download(p.id, tmp_path)
        assert err.value.status_code is None  # a local verdict, not a server answer (wording: sentinelsat's suite)
        assert sorted(f.name for f in tmp_path.iterdir() if f.name != LEDGER_NAME) == []
    with LocalHub([p], faults=Faults(plan=[(p.id, "corrupt")])) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        api.dl_retry_delay = 0.0
        done, _, failed = api.download_all([p.id], tmp_path)
        assert not failed and Path(done[p.id]["path"]).read_bytes() == p.data


def test_download_resumes_a_body_cut_short_within_its_one_attempt(tmp_path: Path) -> None:
    (p,) = make_products(1, size=400_000)
    with LocalHub([p], faults=Faults(plan=[(p.id, "drop")])) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        info = api.download(p.id, tmp_path)
        ranges = [r["range"] for r in hub.stats["requests"] if r.get("range")]
    assert Path(info["path"]).read_bytes() == p.data
    assert len(ranges) == 1 and info["downloaded_bytes"] == p.size  # resumed where it broke off, nothing twice


def test_a_corrupt_full_size_partial_from_an_earlier_run_is_downloaded_again(tmp_path: Path) -> None:
    (p,) = make_products(1)
    (tmp_path / (p.filename + ".incomplete")).write_bytes(b"\0" * p.size)
    with LocalHub([p]) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        info = api.download(p.id, tmp_path)
    assert Path(info["path"]).read_bytes() == p.data
    assert info["downloaded_bytes"] == p.size  # every byte fetched again, once
    assert not (tmp_path / (p.filename + ".incomplete")).exists()


def test_a_dhus_search_rejected_with_500_is_not_retried_but_metadata_is(waits) -> None:
    """A DHuS answers 500 when its Solr back end rejects a query (too long, malformed): asking again fails again."""
    (p,) = make_products(1)
    with LocalHub([p]) as hub, Flaky(hub.url, fails=1, status=500) as front:
        api = SentinelAPI("user", "password", f"{front.url}/dhus/", show_progressbars=False)
        with pytest.raises(ServerError) as err:
            api.count(platformname="Sentinel-2")
        assert err.value.status_code == 500
        assert front.counts[("GET", "/dhus/search")] == 1
        assert api.get_product_odata(p.id)["title"] == p.name  # a 500 elsewhere is still retried
        assert front.counts[("GET", f"/dhus/odata/v1/Products('{p.id}')")] == 2


@pytest.mark.parametrize(
    "geometry",
    [
        "POLYGO((-87.27 41.64,-81.56 37.857,-82.617 44.52,-87.2 41.64))",
        '{"type": "A bad JSON", "features" :[nothing], ([{ ',
    ],
)
def test_bad_geometry_is_one_line_naming_the_option(geometry: str) -> None:
    """One ``eokit: error: --geometry: ...`` line (its wording, sentinelsat's, is checked by sentinelsat's suite)."""
    args = ["hub", "search", "--url", "http://127.0.0.1:9/dhus/", "-u", "u", "-p", "p", "--geometry", geometry]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code != 0
    (line,) = [ln for ln in r.output.splitlines() if ln.startswith("eokit: error:")]
    assert line.startswith("eokit: error: --geometry: ")


def test_download_all_asks_for_each_products_metadata_right_before_downloading_it(tmp_path: Path) -> None:
    # the first bytes arrive after one metadata request, not after one per product
    products = make_products(4, size=50_000)
    with LocalHub(products) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        done, _, failed = api.download_all([p.id for p in products] + ["no-such-product"], tmp_path, n_concurrent_dl=1)
        kinds = [  # the HEAD asks for the file name, as sentinelsat does
            "value" if r["path"].endswith("/$value") else "meta"
            for r in hub.stats["requests"]
            if "/odata/v1/Products(" in r["path"] and r["method"] == "GET"
        ]
    assert sorted(done) == sorted(p.id for p in products) and list(failed) == ["no-such-product"]
    assert kinds[:4] == ["meta", "value", "meta", "value"]
    for p in products:
        assert Path(done[p.id]["path"]).read_bytes() == p.data


def test_download_all_with_refused_credentials_raises_before_any_download(tmp_path: Path) -> None:
    products = make_products(3)
    with LocalHub(products) as hub:
        api = SentinelAPI("user", "wrong", hub.dhus_url, show_progressbars=False)
        with pytest.raises(UnauthorizedError):
            api.download_all([p.id for p in products], tmp_path, n_concurrent_dl=2)
        assert not [r for r in hub.stats["requests"] if r["path"].endswith("/$value")]
    assert [f.name for f in tmp_path.iterdir()] == []
