"""Attacks on the download engine, each against a small server on 127.0.0.1 or the local hub.

Credentials leaving their origin, name collisions, hostile server file names,
compression bombs, trickling servers, a full disk, secrets in reprs.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests

from eokit.errors import AuthenticationError, OutputError, ProviderError
from eokit.hub import DownloadEngine, DownloadRequest, Hub, SentinelAPI
from eokit.hub.engine import LEDGER_NAME
from eokit.hub.files import Ledger
from eokit.hub.products import Asset, Product
from eokit.hub.transfer import Stalled
from eokit.testing.hub_server import LocalHub

from .conftest import make_products
from .servers import Server, reply


class _Bearer(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer s3cret-token"
        return r


# -- credentials ---------------------------------------------------------------------------------------------------


def test_token_does_not_follow_a_redirect_to_another_port(tmp_path: Path) -> None:
    with Server(lambda h: reply(h, b"payload")) as other:
        with Server(lambda h: reply(h, b"", 302, Location=f"{other.url}/file.bin")) as first:
            engine = DownloadEngine(auth=_Bearer())
            engine.download(DownloadRequest(url=f"{first.url}/x", key="k", filename="f.bin", size=7), tmp_path)
            assert first.seen[0]["authorization"] == "Bearer s3cret-token"
        assert other.seen[0]["authorization"] is None
        assert (tmp_path / "f.bin").read_bytes() == b"payload"
        # listed by the user: the token may follow
        with Server(lambda h: reply(h, b"", 302, Location=f"{other.url}/file.bin")) as first:
            from eokit.hub.http import HubSession

            engine = DownloadEngine(auth=_Bearer(), session=HubSession(trusted_hosts=[other.url]))
            engine.download(DownloadRequest(url=f"{first.url}/x", key="k2", filename="g.bin", size=7), tmp_path)
        assert other.seen[-1]["authorization"] == "Bearer s3cret-token"


def test_no_password_in_reprs_or_messages(tmp_path: Path) -> None:
    api = SentinelAPI(None, None, "http://alice:pa55word@127.0.0.1:9/dhus/", show_progressbars=False, retries=0)
    assert "pa55word" not in repr(api) and "pa55word" not in repr(api.session)
    with pytest.raises(ProviderError) as err:
        api.query(platformname="Sentinel-2")
    assert "pa55word" not in str(err.value) and "pa55word" not in repr(err.value)
    assert err.value.url is None or "pa55word" not in err.value.url
    api = SentinelAPI("bob", "hunter2", "http://127.0.0.1:9/dhus/", show_progressbars=False)
    assert "hunter2" not in repr(api) and "hunter2" not in repr(api.session)


# -- names -----------------------------------------------------------------------------------------------------------


def test_stac_assets_with_one_file_name_keep_both(tmp_path: Path) -> None:
    bodies = {"/a/data.tif": b"A" * 100, "/b/data.tif": b"B" * 200, "/c/other.tif": b"C"}
    with Server(lambda h: reply(h, bodies[h.path])) as srv:
        assets = {
            k: Asset(href=f"{srv.url}/{k}/{n}", roles=("data",)) for k, n in (("a", "data.tif"), ("b", "data.tif"))
        }
        assets["c"] = Asset(href=f"{srv.url}/c/other.tif", roles=("data",))
        item = Product(id="item-1", title="item-1", provider="stac", geometry=None, start=None, end=None, assets=assets)
        hub = Hub("stac", url=srv.url)
        results = hub.download(item, tmp_path)
        assert all(r.ok for r in results)
        folder = tmp_path / "item-1"
        assert {f.name: f.read_bytes() for f in folder.iterdir()} == {
            "a-data.tif": bodies["/a/data.tif"],
            "b-data.tif": bodies["/b/data.tif"],
            "other.tif": b"C",
        }
        # a rerun fetches nothing: every file is its own asset's, by the ledger
        n = len(srv.seen)
        assert all(r.status == "skipped" for r in hub.download(item, tmp_path)) and len(srv.seen) == n


def test_same_name_without_size_or_checksum_is_never_skipped_nor_overwritten(tmp_path: Path) -> None:
    with Server(lambda h: reply(h, h.path.encode() * 10)) as srv:
        engine = DownloadEngine(workers=2)
        reqs = [DownloadRequest(url=f"{srv.url}/{k}", key=k, filename="S2A.zip") for k in ("one", "two")]
        results = engine.download_all(reqs, tmp_path)
        assert sorted(r.status for r in results) == ["downloaded", "downloaded"]
        assert {r.path.read_bytes() for r in results} == {b"/one" * 10, b"/two" * 10}
        assert sorted(f.name for f in tmp_path.iterdir() if not f.name.startswith(".")) == ["S2A.zip", "S2A~2.zip"]
        # a rerun (new engine, like a new process) maps each key to its own file and fetches nothing
        n = len(srv.seen)
        again = DownloadEngine().download_all(reqs, tmp_path)
        assert [r.path for r in again] == [r.path for r in results] and len(srv.seen) == n
        # a user's file in the way is kept; the download takes the next name
        (tmp_path / "mine.zip").write_bytes(b"my own file")
        third = DownloadEngine().download(
            DownloadRequest(url=f"{srv.url}/three", key="3", filename="mine.zip"), tmp_path
        )
        assert (tmp_path / "mine.zip").read_bytes() == b"my own file" and third.path.name == "mine~2.zip"


def test_a_rerun_keeps_its_file_while_another_product_tries_that_name(tmp_path: Path) -> None:
    # the race of a rerun with two products of one name: "two" holds this run's reservation of S2A.zip
    # (it is about to find it is one's) when "one" looks: "one" must still find its verified file
    with Server(lambda h: reply(h, h.path.encode() * 10)) as srv:
        reqs = [DownloadRequest(url=f"{srv.url}/{k}", key=k, filename="S2A.zip") for k in ("one", "two")]
        first = DownloadEngine(workers=1).download_all(reqs, tmp_path)
        assert [r.path.name for r in first] == ["S2A.zip", "S2A~2.zip"]
        n = len(srv.seen)
        engine = DownloadEngine()
        engine._names[(tmp_path / "S2A.zip").resolve()] = "two"  # forces the interleaving
        again = engine.download(reqs[0], tmp_path)
        assert again.status == "skipped" and again.path.name == "S2A.zip" and len(srv.seen) == n


def test_server_names_are_sanitised_bounded_and_decoded(tmp_path: Path) -> None:
    long_name = "é" * 240 + ".zip"  # 484 bytes in UTF-8
    names = {
        "/incomplete": 'attachment; filename="victim.zip.incomplete"',
        "/victim": 'attachment; filename="victim.zip"',
        "/long": f"attachment; filename*=UTF-8''{requests.utils.quote(long_name)}",
        "/utf8-raw": 'attachment; filename="Zürich_été.zip"',
        "/rfc5987": "attachment; filename=\"fallback.zip\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.zip",
    }

    def handle(h: BaseHTTPRequestHandler) -> None:
        cd = names[h.path]
        h.send_response(200)
        h.send_header("Content-Length", "4")
        h.wfile.write(b"")  # headers go out as raw bytes: UTF-8 in a quoted filename stays UTF-8
        h._headers_buffer.append(f"Content-Disposition: {cd}\r\n".encode())  # type: ignore[attr-defined]
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(h.path[1:5].encode())

    with Server(handle) as srv:
        engine = DownloadEngine()
        got = {p: engine.download(DownloadRequest(url=srv.url + p, key=p), tmp_path).path for p in names}
    assert got["/victim"].name == "victim.zip" and got["/victim"].read_bytes() == b"vict"
    assert got["/incomplete"].name == "victim.zip.incomplete_" and got["/incomplete"].read_bytes() == b"inco"
    assert got["/utf8-raw"].name == "Zürich_été.zip"
    assert got["/rfc5987"].name == "東京.zip"
    name = got["/long"].name
    assert name.endswith(".zip") and name.startswith("éé") and len((name + ".incomplete").encode()) <= 255
    assert got["/long"].read_bytes() == b"long"


# -- bodies ----------------------------------------------------------------------------------------------------------


def test_compressed_bodies_are_refused_or_capped(tmp_path: Path) -> None:
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)  # 64 MiB of zeros in ~64 KiB

    def handle(h: BaseHTTPRequestHandler) -> None:
        reply(h, bomb, **{"Content-Encoding": "gzip"})

    with Server(handle) as srv:
        engine = DownloadEngine(max_attempts=1)
        with pytest.raises(ProviderError):  # no declared size: the decoded size cannot be bounded
            engine.download(DownloadRequest(url=f"{srv.url}/a", key="a", filename="a.bin"), tmp_path)
        with pytest.raises(ProviderError):  # a declared size: decoding stops there
            engine.download(DownloadRequest(url=f"{srv.url}/b", key="b", filename="b.bin", size=1000), tmp_path)
        assert {s["accept-encoding"] for s in srv.seen} == {"identity"}
    on_disk = sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
    assert on_disk < 1 << 20


def test_a_trickling_server_is_cut_by_the_low_speed_limit_and_the_deadline(tmp_path: Path) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        try:
            for _ in range(1000):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    with Server(handle) as srv:
        engine = DownloadEngine(low_speed_limit=100, low_speed_time=0.3, deadline=1.5, backoff=0.0)
        t0 = time.monotonic()
        with pytest.raises(Stalled):
            engine.download(DownloadRequest(url=f"{srv.url}/slow", key="s", filename="s.bin", size=1000), tmp_path)
        assert time.monotonic() - t0 < 5
        assert len(srv.seen) >= 2  # cut by the low-speed limit, resumed, then stopped by the deadline
    partial = tmp_path / "s.bin.incomplete"
    assert not (tmp_path / "s.bin").exists() and partial.exists() and 0 < partial.stat().st_size < 1000


# -- disk full -------------------------------------------------------------------------------------------------------


def test_disk_full_fails_one_product_and_the_failed_list_is_written(tmp_path: Path, monkeypatch) -> None:
    import os

    from click.testing import CliRunner

    import eokit.hub.engine as engine_mod
    from eokit.cli.main import cli

    products = make_products(3, seed=4)
    victim = products[1]
    real_write = engine_mod.write_all

    def write_all(fd: int, data: bytes) -> None:
        if victim.filename in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(fd, data)

    monkeypatch.setattr(engine_mod, "write_all", write_all)
    with LocalHub(products) as hub:
        args = ["hub", "search", "--url", hub.dhus_url, "-u", "user", "-p", "password", "--sentinel", "2"]
        r = CliRunner().invoke(cli, [*args, "-d", "--out", str(tmp_path)])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    assert (tmp_path / "corrupt_scenes.txt").read_text() == f"{victim.id} : {victim.name}\n"
    assert sorted(f.name for f in tmp_path.glob("*.zip")) == sorted(p.filename for p in products if p is not victim)


def test_failed_list_is_written_in_place_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    from eokit.hub.tool import FailedList

    titles = {f"id{i}": f"S2A_{i}" for i in range(50)}
    with FailedList(tmp_path / "corrupt_scenes.txt", titles) as failed:
        # the disk is full now: no new file can be created
        def refuse(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr("tempfile.mkstemp", refuse)
        failed.done(["id7", "id9"])
    assert (tmp_path / "corrupt_scenes.txt").read_text() == "id7 : S2A_7\nid9 : S2A_9\n"


def test_a_full_disk_at_the_ledger_write_keeps_the_verified_product(tmp_path: Path, monkeypatch) -> None:
    (p,) = make_products(1)

    def full(self: Ledger, item: dict) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Ledger, "_append_line", full)
    with LocalHub([p]) as hub:
        request = DownloadRequest(
            url=f"{hub.url}/files/{p.id}/{p.filename}", key=p.id, filename=p.filename, checksums=p.checksums
        )
        result = DownloadEngine().download(request, tmp_path)
    assert result.status == "downloaded" and result.verified and result.error is None
    assert hashlib.md5((tmp_path / p.filename).read_bytes()).hexdigest() == p.checksums["md5"]
    assert not (tmp_path / LEDGER_NAME).exists()


def test_an_unwritable_product_is_an_output_error(tmp_path: Path, monkeypatch) -> None:
    import eokit.hub.engine as engine_mod

    def refuse(fd: int, data: bytes) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(engine_mod, "write_all", refuse)
    with Server(lambda h: reply(h, b"1234")) as srv:
        with pytest.raises(OutputError):
            DownloadEngine().download(DownloadRequest(url=f"{srv.url}/x", key="x", filename="x.bin"), tmp_path)


def test_missing_cdse_credentials_are_an_authentication_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    (p,) = make_products(1)
    with LocalHub([p]) as hub:
        api = SentinelAPI(None, None, show_progressbars=False, **hub.cdse_urls)
        with pytest.raises(AuthenticationError) as err:
            api.download(p.id, tmp_path)
    assert err.value.param == "user"
