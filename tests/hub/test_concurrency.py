"""Several downloaders at once: processes sharing a folder, the ledger under contention, clean interrupts."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from eokit.hub.files import LEDGER_NAME, Ledger
from eokit.hub.transfer import chunks
from eokit.testing.hub_server import Faults, HubProduct, LocalHub

from .conftest import make_products

DOWNLOAD_SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from eokit.hub import SentinelAPI
    logging.basicConfig(level=logging.WARNING)
    url, target, *ids = sys.argv[1:]
    api = SentinelAPI("user", "password", url, show_progressbars=False)
    api.dl_retry_delay = 0.05
    dl, _, failed = api.download_all(ids, target, n_concurrent_dl=2)
    sys.exit(1 if failed else 0)
    """
)


def _ledger_files(folder: Path) -> dict[str, dict]:
    """The ledger read independently of :class:`Ledger`: JSON Lines, the last line of a path wins."""
    files: dict[str, dict] = {}
    for line in (folder / LEDGER_NAME).read_text().splitlines():
        item = json.loads(line)
        if "entry" in item:
            files[item["path"]] = item["entry"]
        else:
            files.pop(item["path"], None)
    return files


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def test_two_processes_downloading_into_one_folder(tmp_path: Path) -> None:
    products = make_products(6, size=1_200_000, seed=11)
    # slow bodies (~0.75 s a product), so the second downloader meets the first one's claims
    faults = Faults(every=1, kinds=("slow",), slow_delay=0.15)
    with LocalHub(products, faults=faults) as hub:
        ids = [p.id for p in products]
        procs = []
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", DOWNLOAD_SCRIPT, hub.dhus_url, str(tmp_path), *ids],
                    env=_env(),
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            deadline = time.monotonic() + 30
            while hub.stats["bytes_sent"] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # the first one is downloading when the second one starts
        outputs = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        # every product crossed the network once: the second downloader waited for the first one's claim
        assert {pid: hub.stats["bytes_by_product"][pid] for pid in ids} == {p.id: p.size for p in products}
    assert "being downloaded by another process" in "".join(outputs)
    ledger = _ledger_files(tmp_path)
    assert sorted(ledger) == sorted(p.filename for p in products)
    for p in products:
        assert hashlib.md5((tmp_path / p.filename).read_bytes()).hexdigest() == p.checksums["md5"]
        assert ledger[p.filename]["checksums"]["md5"] == p.checksums["md5"]
    assert not list(tmp_path.glob("*.incomplete")) and not list(tmp_path.glob("*.tmp"))


LEDGER_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from eokit.hub.files import Ledger
    folder, tag = Path(sys.argv[1]), sys.argv[2]
    ledger = Ledger(folder)
    for i in range(40):
        ledger.record(f"{tag}-{i}.zip", {"key": tag, "size": i})
    """
)


def test_ledger_updates_from_concurrent_processes_are_all_kept(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", LEDGER_SCRIPT, str(tmp_path), f"p{k}"], env=_env()) for k in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    files = _ledger_files(tmp_path)
    assert len(files) == 120 and files["p2-39.zip"] == {"key": "p2", "size": 39}
    assert Ledger(tmp_path).get("p0-0.zip") == {"key": "p0", "size": 0}
    assert not list(tmp_path.glob("*.tmp"))


CLI_SCRIPT = "import sys; from eokit.cli.main import main; sys.argv[0] = 'eokit'; main()"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_cli_stops_cleanly_on_a_signal_and_the_rerun_fetches_only_the_rest(tmp_path: Path, signum, code) -> None:
    products = make_products(2, size=6_000_000, seed=5)
    total = sum(p.size for p in products)
    faults = Faults(every=1, kinds=("slow",), slow_delay=0.02)
    with LocalHub(products, faults=faults) as hub:
        ids = ",".join(p.id for p in products)
        args = [
            sys.executable,
            "-c",
            CLI_SCRIPT,
            "hub",
            "search",
            "--url",
            hub.dhus_url,
            "-u",
            "user",
            "-p",
            "password",
        ]
        args += ["--uuid", ids, "-d", "--out", str(tmp_path)]
        proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while hub.stats["bytes_sent"] < total // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err  # handled by the CLI: a clean stop with the conventional code
        assert "Traceback" not in err
        parts = list(tmp_path.glob("*.incomplete"))
        assert parts and all(f.stat().st_size > 0 for f in parts)
        on_disk = {f.name: f.stat().st_size for f in tmp_path.iterdir() if not f.name.startswith(".")}
        on_disk.pop("corrupt_scenes.txt")  # the full list stays after an interruption
        sent = hub.stats["bytes_sent"]
        rerun = subprocess.run(args, env=_env(), timeout=120, capture_output=True)
        assert rerun.returncode == 0, rerun.stderr
        # every byte the stopped run read was written and is not fetched again
        assert hub.stats["bytes_sent"] - sent == total - sum(on_disk.values())
        assert not (tmp_path / "corrupt_scenes.txt").exists()
    for p in products:
        assert hashlib.md5((tmp_path / p.filename).read_bytes()).hexdigest() == p.checksums["md5"]


def test_chunks_end_after_what_arrived_when_stopped(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(24 << 20)
    path.write_bytes(data)
    product = HubProduct("S1A_IW_GRDH_1SDV_20240101T000000_20240101T000025_052000_064000_ABCD", path=path)
    with LocalHub([product]) as hub:
        url = f"{hub.url}/files/{product.id}/{product.filename}"
        got = bytearray()
        with requests.get(url, stream=True, timeout=30) as response:
            for chunk in chunks(response, 1 << 20, stop=lambda: len(got) > 0):
                got.extend(chunk)
        assert 0 < len(got) < len(data)
        assert got == data[: len(got)]  # a prefix, nothing skipped
