"""The download engine against the local hub: faults, resume, ledger, tokens, names."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from eokit.hub import DownloadEngine, DownloadRequest, SentinelAPI, sanitize_filename
from eokit.hub import http as hub_http
from eokit.hub.auth import TokenManager
from eokit.hub.engine import LEDGER_NAME
from eokit.hub.exceptions import InvalidChecksumError, InvalidKeyError, UnauthorizedError
from eokit.hub.http import HubSession, parse_retry_after
from eokit.io.atomic import safe_join
from eokit.testing.hub_server import Faults, HubProduct, LocalHub

from .conftest import make_products


def _cdse(hub: LocalHub, **kw) -> SentinelAPI:
    api = SentinelAPI("user", "password", show_progressbars=False, **hub.cdse_urls, **kw)
    api.dl_retry_delay = 0.02
    return api


def _download_requests(hub: LocalHub) -> list[dict]:
    return [
        r
        for r in hub.stats["requests"]
        if r["role"] == "zipper" or "/files/" in r["path"] or r["path"].endswith("$value")
    ]


def test_fifty_products_with_faults_all_end_verified(tmp_path: Path) -> None:
    products = make_products(50, size=30_000, seed=3)
    # every 3rd request faulted, cycling through the kinds; a 500/503 burst can take the turn of the
    # kind after it, so the plan makes sure each kind occurs at least once whatever the timing
    plan = [(None, k) for k in ("500", "expire")]
    faults = Faults(every=3, retry_after="0", slow_delay=0.001, plan=plan)
    with LocalHub(products, faults=faults) as hub:
        api = _cdse(hub)
        dl, triggered, failed = api.download_all([p.id for p in products], tmp_path, n_concurrent_dl=4)
        assert not failed and not triggered and len(dl) == 50
        kinds = {k for _, k in hub.stats["faults"]}
        assert {"drop", "corrupt", "429", "503", "500", "expire"} <= kinds
        assert len(hub.stats["faults"]) >= 50 // 3
        # the token expired mid-transfer and was refreshed, never re-logged in
        assert hub.stats["password_grants"] == 1 and hub.stats["refresh_grants"] >= 1
        for p in products:
            path = tmp_path / p.filename
            assert hashlib.md5(path.read_bytes()).hexdigest() == p.checksums["md5"]
        assert not list(tmp_path.glob("*.incomplete"))
        # a rerun re-downloads nothing
        before = len(_download_requests(hub))
        sent = hub.stats["bytes_sent"]
        dl2, _, failed2 = api.download_all([p.id for p in products], tmp_path)
        assert len(dl2) == 50 and not failed2
        assert hub.stats["bytes_sent"] == sent
        assert len(_download_requests(hub)) == before
        assert hub.stats["max_concurrent_downloads"] <= 4


def _file_request(hub: LocalHub, p: HubProduct, **kw) -> DownloadRequest:
    return DownloadRequest(
        url=f"{hub.url}/files/{p.id}/{p.filename}",
        key=p.id,
        checksums={"sha256": p.checksums["sha256"]},
        size=p.size,
        **kw,
    )


def test_retry_after_is_honoured(tmp_path: Path, monkeypatch) -> None:
    (p,) = make_products(1)
    waits: list[float] = []
    monkeypatch.setattr(hub_http, "_sleep", waits.append)
    with LocalHub([p], faults=Faults(plan=[(p.id, "429"), (p.id, "503")], retry_after="7", burst=1)) as hub:
        result = DownloadEngine().download(_file_request(hub, p, filename=p.filename), tmp_path)
        statuses = [r["status"] for r in hub.stats["requests"]]
    assert waits == [7.0, 7.0] and statuses == [429, 503, 200]
    assert result.verified


def test_backoff_grows_with_jitter() -> None:
    retry = hub_http.make_retry(10, backoff=1.0)
    for n, base in [(2, 2.0), (3, 4.0), (4, 8.0)]:
        r = retry
        for _ in range(n):
            r = r.increment(method="GET", url="/", error=urllib3.exceptions.ConnectTimeoutError())
        for _ in range(20):
            assert 0.5 * base <= r.get_backoff_time() <= 1.5 * base
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=0) > 1e9
    assert parse_retry_after("soon") is None


def test_resume_from_incomplete_transfers_only_the_rest(tmp_path: Path) -> None:
    (p,) = make_products(1, size=200_000)
    data = b"".join(p.iter_bytes(0, None))
    (tmp_path / (p.filename + ".incomplete")).write_bytes(data[:123_456])
    with LocalHub([p]) as hub:
        result = DownloadEngine().download(_file_request(hub, p, filename=p.filename), tmp_path)
        assert hub.stats["requests"][-1]["range"] == "bytes=123456-"
    assert result.resumed_from == 123_456 and result.transferred == len(data) - 123_456
    assert (tmp_path / p.filename).read_bytes() == data


def test_persistent_corruption_raises_and_leaves_no_final_file(tmp_path: Path) -> None:
    (p,) = make_products(1)
    with LocalHub([p], faults=Faults(plan=[(p.id, "corrupt")] * 3)) as hub:
        engine = DownloadEngine(max_attempts=3, backoff=0.0)
        with pytest.raises(InvalidChecksumError):
            engine.download(_file_request(hub, p, filename=p.filename), tmp_path)
    assert not (tmp_path / p.filename).exists()


def test_ledger_skips_verified_files_without_reading(tmp_path: Path) -> None:
    (p,) = make_products(1)
    with LocalHub([p]) as hub:
        engine = DownloadEngine()
        engine.download(_file_request(hub, p, filename=p.filename), tmp_path)
        assert (tmp_path / LEDGER_NAME).exists()
        n = len(hub.stats["requests"])
        again = engine.download(_file_request(hub, p, filename=p.filename), tmp_path)
        assert again.status == "skipped" and again.verified and len(hub.stats["requests"]) == n
        # a file of the right name but other content (not in the ledger) is kept; the product gets the next name
        os.remove(tmp_path / LEDGER_NAME)
        (tmp_path / p.filename).write_bytes(b"x" * p.size)
        fixed = DownloadEngine().download(_file_request(hub, p, filename=p.filename), tmp_path)
        assert fixed.status == "downloaded" and fixed.path.name == p.filename.replace(".zip", "~2.zip")
        assert hashlib.sha256(fixed.path.read_bytes()).hexdigest() == p.checksums["sha256"]
        assert (tmp_path / p.filename).read_bytes() == b"x" * p.size


def test_server_supplied_names_are_sanitised(tmp_path: Path) -> None:
    p = HubProduct("S2A_EVIL", data=b"payload" * 100, filename="../../../etc/evil.zip")
    target = tmp_path / "dl"
    with LocalHub([p]) as hub:
        result = DownloadEngine().download(DownloadRequest(url=f"{hub.url}/files/{p.id}/x", key=p.id), target)
    assert result.path == (target / "evil.zip").resolve() or result.path == target / "evil.zip"
    assert (target / "evil.zip").read_bytes() == b"payload" * 100
    assert not (tmp_path / "etc").exists()


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=60))
def test_sanitize_filename_never_escapes(name: str) -> None:
    clean = sanitize_filename(name, fallback="k")
    assert clean and "/" not in clean and "\\" not in clean and not clean.startswith(".")
    assert "\x00" not in clean
    root = Path("/tmp/eokit-root")
    assert safe_join(root, clean).parent == root.resolve()


@pytest.mark.parametrize(
    ("src", "dst", "kept"),
    [
        ("https://download.example.eu/x", "https://download.example.eu/y", True),  # same origin
        ("https://download.example.eu/x", "https://zipper.example.eu/y", True),  # listed host
        ("https://download.example.eu/x", "https://a.storage.example.org/y", True),  # listed *.domain
        ("https://download.example.eu/x", "https://evil.example.com/y", False),
        ("https://download.example.eu/x", "https://download.example.eu:8443/y", False),  # port change
        ("https://download.example.eu/x", "http://download.example.eu/y", False),  # downgrade
        ("https://download.example.eu/x", "http://zipper.example.eu/y", False),  # listed host, but http
        ("http://127.0.0.1:18090/x", "http://127.0.0.1:18091/y", False),  # same host, other port
        ("http://127.0.0.1:18090/x", "http://127.0.0.1:18092/y", True),  # listed origin with port
    ],
)
def test_credentials_follow_redirects_only_within_their_scope(src: str, dst: str, kept: bool) -> None:
    import requests

    session = HubSession(trusted_hosts=["zipper.example.eu", "*.storage.example.org", "http://127.0.0.1:18092"])
    for header in ("Bearer tok", "Basic dXNlcjpwdw=="):
        prep = requests.Request("GET", dst, headers={"Authorization": header}).prepare()
        resp = requests.Response()
        resp.request = requests.Request("GET", src).prepare()
        session.rebuild_auth(prep, resp)
        assert (prep.headers.get("Authorization") == header) is kept


def test_cdse_download_keeps_token_across_redirect_and_refreshes(tmp_path: Path) -> None:
    (p,) = make_products(1)
    with LocalHub([p], faults=Faults(plan=[(p.id, "expire")])) as hub:
        api = _cdse(hub)
        info = api.download(p.id, tmp_path)
        zipper = [r for r in hub.stats["requests"] if r["role"] == "zipper"]
        assert zipper and all(r["auth"] == "bearer" for r in zipper)
        assert any(r["status"] == 401 for r in hub.stats["requests"])  # the expired token was refused once
        assert hub.stats["password_grants"] == 1 and hub.stats["refresh_grants"] == 1
    assert hashlib.md5(Path(info["path"]).read_bytes()).hexdigest() == p.checksums["md5"]


def test_token_manager_uses_refresh_token_until_it_expires() -> None:
    now = [0.0]
    with LocalHub([], access_ttl=100, refresh_ttl=1000) as hub:
        tm = TokenManager(hub.cdse_urls["identity_url"], "user", "password", clock=lambda: now[0])
        first = tm.token()
        assert tm.token() == first and tm.password_grants == 1
        now[0] = 80.0  # within the 30 s margin: refresh
        second = tm.token()
        assert second != first and tm.refresh_grants == 1 and tm.password_grants == 1
        now[0] = 5000.0  # refresh token expired too: log in again
        tm.token()
        assert tm.password_grants == 2
        assert "password" not in repr(tm).replace("password_grants", "")


def test_wrong_cdse_credentials(tmp_path: Path) -> None:
    (p,) = make_products(1)
    with LocalHub([p]) as hub:
        api = SentinelAPI("user", "s3cret-wrong", show_progressbars=False, **hub.cdse_urls)
        with pytest.raises(UnauthorizedError) as err:
            api.download(p.id, tmp_path)
    assert "s3cret-wrong" not in str(err.value) and "s3cret-wrong" not in repr(api)


RESUME_SCRIPT = textwrap.dedent(
    """
    import sys
    from eokit.hub import SentinelAPI
    api = SentinelAPI("user", "password", show_progressbars=False)
    api.download_all(sys.argv[2:], sys.argv[1], n_concurrent_dl=3)
    """
)


@pytest.mark.slow
def test_killed_downloader_resumes_with_little_retransfer(tmp_path: Path) -> None:
    products = make_products(3, size=3_000_000)
    faults = Faults(plan=[(None, "slow")] * 3, slow_delay=0.15)
    with LocalHub(products, faults=faults) as hub:
        env = {**os.environ, **hub.env(), "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen(
            [sys.executable, "-c", RESUME_SCRIPT, str(tmp_path), *[p.id for p in products]], env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = list(tmp_path.glob("*.incomplete"))
            if len(parts) == 3 and all(f.stat().st_size > 300_000 for f in parts):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        while hub._active_downloads:  # the server noticed the dead connections: nothing more is sent on them
            time.sleep(0.01)
        partial = sum(f.stat().st_size for f in tmp_path.glob("*.incomplete"))
        assert partial > 0
        sent_before = hub.stats["bytes_sent"]
        api = _cdse(hub)
        dl, _, failed = api.download_all([p.id for p in products], tmp_path)
        assert len(dl) == 3 and not failed
        total = sum(p.size for p in products)
        retransferred = hub.stats["bytes_sent"] - sent_before - (total - partial)
        assert retransferred <= 0.01 * total
        for p in products:
            assert hashlib.md5((tmp_path / p.filename).read_bytes()).hexdigest() == p.checksums["md5"]


def test_dropped_connection_resumes_where_it_broke(tmp_path: Path) -> None:
    """A body cut mid-way continues with Range from the last written byte: every byte crosses once."""
    products = make_products(2, size=3_000_000, seed=9)
    path = tmp_path / "big.bin"
    path.write_bytes(products[1].data)  # also a file-backed product (served with sendfile)
    products[1] = HubProduct(products[1].name, path=path, id=products[1].id)
    plan = [(p.id, "drop") for p in products] * 2  # each product dropped twice, at half of what is asked
    with LocalHub(products, faults=Faults(plan=plan)) as hub:
        api = SentinelAPI("user", "password", hub.dhus_url, show_progressbars=False)
        api.dl_retry_delay = 0.01
        dl, _, failed = api.download_all([p.id for p in products], tmp_path / "out", n_concurrent_dl=2)
        assert len(dl) == 2 and not failed
        assert {p.id: hub.stats["bytes_by_product"][p.id] for p in products} == {p.id: p.size for p in products}
        ranges = [r["range"] for r in hub.stats["requests"] if r["path"].endswith("$value") and r["status"] == 206]
        assert len(ranges) == 4  # two resumes each, none restarted from 0
    for p in products:
        assert hashlib.md5((tmp_path / "out" / p.filename).read_bytes()).hexdigest() == p.checksums["md5"]


def test_failed_download_leaves_no_empty_partial_file(tmp_path: Path) -> None:
    with LocalHub(make_products(1)) as hub:
        engine = DownloadEngine(max_attempts=1)
        request = DownloadRequest(url=f"{hub.url}/files/no-such-id/x.zip", key="no-such-id", filename="x.zip")
        with pytest.raises(InvalidKeyError) as err:  # the server answered 404
            engine.download(request, tmp_path)
        assert err.value.status_code == 404
    assert [f.name for f in tmp_path.iterdir() if not f.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("EOKIT_HUB_LOW_SPEED_TIME", "0"), ("EOKIT_HUB_FILE_DEADLINE", "-1"), ("EOKIT_HTTP_RETRIES", "x")],
)
def test_bad_hub_setting_is_a_config_error(monkeypatch, name, value):
    from eokit.config import get_settings
    from eokit.errors import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        get_settings()


class _StopAfterFirstChunk:
    """A progress reporter that stops its engine after the first chunk, once the server has filled the
    socket buffer (what Ctrl-C does, at a known moment): until ``sent()`` reports ``ahead`` bytes beyond
    the chunk when the server counts what it sends (at most 10 s, a loaded machine), else after 0.3 s."""

    def __init__(self, sent: Callable[[], int] | None = None, ahead: int = 256 * 1024) -> None:
        self.engine: DownloadEngine | None = None
        self.first = 0
        self.sent, self.ahead = sent, ahead

    def start(self, key: str, title: str, total: int | None, initial: int) -> None:
        pass

    def update(self, key: str, n: int) -> None:
        if not self.first and self.engine is not None:
            self.first = n
            if self.sent is None:
                time.sleep(0.3)
            else:
                deadline = time.monotonic() + 10
                while self.sent() < n + self.ahead and time.monotonic() < deadline:
                    time.sleep(0.01)
            self.engine.stop()

    def finish(self, key: str, ok: bool) -> None:
        pass


def test_a_clean_stop_writes_the_bytes_already_received(tmp_path: Path) -> None:
    """Stopped (Ctrl-C, SIGTERM in the CLI), a download first writes what the kernel already holds for
    its connection, so the rerun does not fetch those bytes again; the rerun completes the file."""
    (p,) = make_products(1, size=3_000_000)
    data = b"".join(p.iter_bytes(0, None))
    chunk = 16 * 1024
    # the server sends 256 KiB, then pauses 3 s: the stop comes during the pause, so what the client's
    # TCP acknowledged is known (a server still sending could land bytes after any last look)
    with LocalHub([p], faults=Faults(plan=[(p.id, "slow")], slow_delay=3.0)) as hub:
        reporter = _StopAfterFirstChunk(sent=lambda: int(hub.stats["bytes_sent"]), ahead=128 * 1024)
        engine = reporter.engine = DownloadEngine(chunk_size=chunk, progress=reporter)
        t0 = time.monotonic()
        result = engine.download_all([_file_request(hub, p, filename=p.filename)], tmp_path)[0]
        assert time.monotonic() - t0 < 2.5  # the stop did not wait for the server's next bytes
        partial = tmp_path / (p.filename + ".incomplete")
        assert result.status == "failed" and partial.exists()
        kept = partial.stat().st_size
        # beyond the chunk it was reading, the bytes already received were kept
        assert reporter.first + chunk < kept < len(data)
        assert partial.read_bytes() == data[:kept]
        deadline = time.monotonic() + 10
        while (hub._active_downloads or hub._unsettled) and time.monotonic() < deadline:
            time.sleep(0.01)  # the server counts what the client's TCP acknowledged once it sees the close
        # every byte the client's TCP acknowledged was written: none was dropped at the close
        assert hub.stats["bytes_delivered"] == kept
        again = DownloadEngine().download(_file_request(hub, p, filename=p.filename), tmp_path)
        assert hub.stats["requests"][-1]["range"] == f"bytes={kept}-"
    assert again.transferred == len(data) - kept
    assert (tmp_path / p.filename).read_bytes() == data


def test_a_clean_stop_over_https_keeps_what_arrived_and_never_waits(tmp_path: Path, monkeypatch) -> None:
    """Over TLS the kernel counts encrypted bytes, possibly ending in a partial record: the drain must
    only read what is already there (no wait for the rest of a record), and the rerun completes the file."""
    import shutil
    import ssl

    from eokit.hub.http import HubSession

    from .servers import Server

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests would prefer them to session.verify
        monkeypatch.delenv(name, raising=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    data = hashlib.sha256(b"tls").digest() * (3_000_000 // 32)

    def serve(h) -> None:
        start = int((h.headers.get("Range") or "bytes=0-")[6:].rstrip("-"))
        h.send_response(206 if start else 200)
        h.send_header("Content-Length", str(len(data) - start))
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.end_headers()
        try:
            if start == 0:  # 100 kB, then a pause: a drain that reads past what arrived would wait here
                h.wfile.write(data[:100_000])
                h.wfile.flush()
                time.sleep(10)
                start = 100_000
            h.wfile.write(data[start:])
        except OSError:
            pass  # the client stopped

    with Server(serve, tls=context) as srv:
        request = DownloadRequest(url=f"{srv.url}/x.bin", key="x", filename="x.bin", size=len(data),
                                  checksums={"sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
        session = HubSession()
        session.verify = str(cert)
        reporter = _StopAfterFirstChunk()
        engine = reporter.engine = DownloadEngine(session=session, chunk_size=16 * 1024, progress=reporter, timeout=30)
        t0 = time.monotonic()
        (result,) = engine.download_all([request], tmp_path)
        assert time.monotonic() - t0 < 6  # the drain did not wait for the server's next bytes
        kept = (tmp_path / "x.bin.incomplete").stat().st_size
        assert result.status == "failed" and reporter.first < kept < len(data)
        assert (tmp_path / "x.bin.incomplete").read_bytes() == data[:kept]
        again = DownloadEngine(session=session).download(request, tmp_path)
    assert again.transferred == len(data) - kept
    assert (tmp_path / "x.bin").read_bytes() == data


def test_a_clean_stop_of_a_chunked_body_does_not_wait(tmp_path: Path) -> None:
    """In a chunked body the kernel's byte count includes the chunk framing: the stop must not try to
    read that many body bytes (it would wait for the server), and the rerun completes the file."""
    from .servers import Server

    data = hashlib.sha256(b"chunked").digest() * (300_000 // 32)

    def serve(h) -> None:
        start = int((h.headers.get("Range") or "bytes=0-")[6:].rstrip("-"))
        h.send_response(206 if start else 200)
        h.send_header("Transfer-Encoding", "chunked")
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.end_headers()
        try:
            for pos in range(start, len(data), 4096):
                piece = data[pos : pos + 4096]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if start == 0 and pos == 40 * 4096:  # a pause: a drain counting framing as body would wait here
                    h.wfile.flush()
                    time.sleep(10)
            h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped

    with Server(serve) as srv:
        request = DownloadRequest(url=f"{srv.url}/c.bin", key="c", filename="c.bin", size=len(data),
                                  checksums={"sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
        reporter = _StopAfterFirstChunk()
        engine = reporter.engine = DownloadEngine(chunk_size=16 * 1024, progress=reporter, timeout=30)
        t0 = time.monotonic()
        (result,) = engine.download_all([request], tmp_path)
        assert time.monotonic() - t0 < 6 and result.status == "failed"
        kept = (tmp_path / "c.bin.incomplete").stat().st_size
        assert (tmp_path / "c.bin.incomplete").read_bytes() == data[:kept]
        DownloadEngine().download(request, tmp_path)
    assert (tmp_path / "c.bin").read_bytes() == data
