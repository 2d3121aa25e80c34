"""Every request retries transient failures through one urllib3 ``Retry`` (backoff, jitter, Retry-After).

A flaky front server answers each path with 503 (or 429) a given number of times,
then forwards to the local hub; the waits are recorded instead of slept.
"""

from __future__ import annotations

import collections
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from eokit.config import override
from eokit.errors import RateLimitError
from eokit.hub import SentinelAPI, ServerError
from eokit.hub import http as hub_http
from eokit.hub.exceptions import HubConnectionError
from eokit.testing.hub_server import LocalHub

from .conftest import make_products
from .servers import Server, reply


class Flaky:
    """Answers ``fails`` of every ``fails + 1`` requests of each (method, path) with ``status``; forwards the rest."""

    def __init__(self, upstream: str, *, fails: int = 2, status: int = 503, retry_after: str = "0") -> None:
        self.upstream, self.fails, self.status, self.retry_after = upstream, fails, status, retry_after
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.server = Server(self.handle)
        self.url = self.server.url

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        key = (h.command, h.path.split("?")[0])
        self.counts[key] += 1
        if self.counts[key] % (self.fails + 1) != 0:
            reply(h, b"busy", self.status, Retry_After=self.retry_after)
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length")}
        r = requests.request(
            h.command, self.upstream + h.path, data=body, headers=headers, allow_redirects=False, timeout=30
        )
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "location", "content-disposition")}
        reply(h, r.content, r.status_code, **keep)

    def __enter__(self) -> Flaky:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__()


def test_dhus_search_count_metadata_quicklook_and_download_are_retried(tmp_path: Path, waits) -> None:
    products = make_products(2)
    with LocalHub(products) as hub, Flaky(hub.url, fails=2) as front:
        # the hub's metadata names its own address for the bodies: trusted, so the credentials go there
        api = SentinelAPI("user", "password", f"{front.url}/dhus/", show_progressbars=False, trusted_hosts=hub.url)
        found = api.query(platformname="Sentinel-2")
        assert set(found) == {p.id for p in products}
        assert api.count(platformname="Sentinel-2") == 2
        info = api.get_product_odata(products[0].id)
        assert info["title"] == products[0].name
        ql = api.download_quicklook(products[0].id, tmp_path)
        assert ql["error"] == ""
        got = api.download(products[1].id, tmp_path)
        assert Path(got["path"]).read_bytes() == products[1].data
    # every request failed twice, then succeeded: search, count, metadata, online, quicklook, download...
    assert len(front.counts) >= 5 and all(n % 3 == 0 for n in front.counts.values()), front.counts
    assert len(waits) == 2 * sum(front.counts.values()) // 3 and all(w == 0 for w in waits)  # Retry-After: 0


def test_retries_are_bounded_by_the_setting_and_the_option(tmp_path: Path, waits) -> None:
    with LocalHub(make_products(1)) as hub, Flaky(hub.url, fails=2) as front:
        with override(http_retries=1):
            api = SentinelAPI("user", "password", f"{front.url}/dhus/", show_progressbars=False)
        with pytest.raises(ServerError) as err:
            api.query(platformname="Sentinel-2")
        assert err.value.status_code == 503
        assert sum(front.counts.values()) == 2
    with LocalHub(make_products(1)) as hub, Flaky(hub.url, fails=1) as front:
        api = SentinelAPI("user", "password", f"{front.url}/dhus/", show_progressbars=False, retries=0)
        with pytest.raises(ServerError):
            api.count(platformname="Sentinel-2")
        assert sum(front.counts.values()) == 1


def test_rate_limits_honour_retry_after_and_end_in_a_rate_limit_error(waits) -> None:
    with LocalHub(make_products(1)) as hub, Flaky(hub.url, fails=10, status=429, retry_after="7") as front:
        api = SentinelAPI("user", "password", f"{front.url}/dhus/", show_progressbars=False, retries=3)
        with pytest.raises(RateLimitError) as err:
            api.query(platformname="Sentinel-2")
    assert err.value.status_code == 429
    assert waits == [7.0, 7.0, 7.0]


def test_cdse_catalogue_and_token_are_retried(tmp_path: Path, waits) -> None:
    (p,) = make_products(1)
    with LocalHub([p]) as hub, Flaky(hub.url, fails=1) as front:
        urls = {k: v.replace(hub.url, front.url) for k, v in hub.cdse_urls.items() if k != "trusted_hosts"}
        api = SentinelAPI("user", "password", show_progressbars=False, **urls, trusted_hosts=hub.zipper_url)
        assert list(api.query(platformname="Sentinel-2")) == [p.id]
        api.download(p.id, tmp_path)
    token = [k for k in front.counts if k[0] == "POST"]
    assert token and all(front.counts[k] % 2 == 0 for k in token)  # the 503 on the token endpoint was retried
    assert (tmp_path / p.filename).read_bytes() == p.data


def test_a_token_request_that_reached_the_server_is_not_resent(waits) -> None:
    """The server read the grant and hung up: it may have issued (and rotated) a token, so no second POST."""

    def hang_up(h: BaseHTTPRequestHandler) -> None:
        h.rfile.read(int(h.headers.get("Content-Length") or 0))
        h.close_connection = True
        h.connection.shutdown(2)

    with Server(hang_up) as srv:
        session = hub_http.HubSession(retries=5)
        session.mount_token_endpoint(f"{srv.url}/token")
        with pytest.raises(HubConnectionError):
            session.post(f"{srv.url}/token", data={"grant_type": "refresh_token"}, timeout=5)
        assert len(srv.seen) == 1


def test_stac_search_is_retried(waits) -> None:
    from eokit.hub import search

    with LocalHub(make_products(3)) as hub, Flaky(hub.url, fails=2) as front:
        found = search("stac", url=f"{front.url}/stac", limit=10)
    assert len(found) == 3
    assert all(n % 3 == 0 for n in front.counts.values())


@pytest.mark.parametrize("provider", ["cdse", "dhus", "stac"])
@pytest.mark.parametrize("info", [True, False])
def test_unreachable_server_is_one_line(provider: str, info: bool, monkeypatch) -> None:
    from eokit.cli.main import cli

    dead = "http://127.0.0.1:9"
    for var in ("EOKIT_CDSE_CATALOGUE_URL", "EOKIT_CDSE_IDENTITY_URL", "EOKIT_CDSE_DOWNLOAD_URL"):
        monkeypatch.setenv(var, f"{dead}/odata/v1")
    args = ["hub", "search", "--provider", provider, "--retries", "1", "-u", "u", "-p", "p"]
    if provider != "cdse":
        args += ["--url", f"{dead}/dhus/" if provider == "dhus" else f"{dead}/stac"]
    args += ["--info"] if info else ["--sentinel", "2"]
    r = CliRunner().invoke(cli, args)
    lines = r.stderr.strip().splitlines()
    assert r.exit_code != 0 and len(lines) == 1 and lines[0].startswith("eokit: error:"), r.output
    assert "127.0.0.1:9" in lines[0]


def test_a_timeout_stays_a_requests_timeout(waits) -> None:
    """Scripts that catch ``requests.Timeout`` (as sentinelsat's tests do) still catch it."""
    import time as time_

    def silent(h: BaseHTTPRequestHandler) -> None:
        time_.sleep(1.0)

    with Server(silent) as srv:
        api = SentinelAPI("user", "password", f"{srv.url}/dhus/", show_progressbars=False, timeout=0.2, retries=1)
        with pytest.raises(requests.Timeout) as err:
            api.query(platformname="Sentinel-2")
    assert isinstance(err.value, HubConnectionError) and "127.0.0.1" in str(err.value)
    assert len(srv.seen) == 2  # retried once


def test_proxy_variables_are_honoured_as_requests_does_and_read_once_per_origin(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with (
        Server(lambda h: reply(h, b"proxy " + h.path.encode())) as proxy,
        Server(lambda h: reply(h, b"direct " + h.path.encode())) as direct,
    ):
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        urls = ["http://hub.invalid/a", f"{direct.url}/b", "http://hub.invalid/c"]
        expected = [requests.Session().get(u, timeout=10).text for u in urls]  # the peer: requests itself
        assert expected == ["proxy http://hub.invalid/a", "direct /b", "proxy http://hub.invalid/c"]
        calls = []
        real = requests.utils.get_environ_proxies
        monkeypatch.setattr(requests.utils, "get_environ_proxies", lambda *a, **k: calls.append(a) or real(*a, **k))
        session = hub_http.HubSession(retries=0)
        assert [session.get(u, timeout=10).text for u in urls * 2] == expected * 2
        assert len(calls) == 2  # once per origin
