"""Download + verification against sentinelsat 1.2.1 on the same local DHuS-mode server.

Cases (one JSON line each):

* ``dhus-download-all``: N products of S MiB, 4 concurrent downloads, MD5 verified
  (sentinelsat re-reads each file to checksum it; eokit hashes while streaming);
* ``dhus-resume-after-{sigint,sigterm,sigkill}``: a download run is interrupted once half the
  bytes were sent -- SIGINT (what Ctrl-C sends: both clients stop cleanly), SIGTERM, or SIGKILL
  (no chance to react) -- then rerun; reports the bytes the server had to send beyond
  the product sizes (``total_extra_pct``: lost in flight at the interrupt + fetched
  again although on disk) and their split.

The server is a :class:`~eokit.testing.hub_process.HubProcess`: the local hub in its
own process, serving the product files with ``sendfile`` (zero-copy), identical for
both clients; the byte counters are read from its ``/_hub/stats``.

Scale with environment variables (defaults: the issue's 20 x 64 MiB)::

    EOKIT_BENCH_HUB_N=20 EOKIT_BENCH_HUB_MIB=64 EOKIT_BENCH_REPEAT=1 python benchmarks/hub_download.py

and pick cases with ``EOKIT_BENCH_HUB_CASES=download,cdse,faulty,resume`` (default: all).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sentinelsat

from _harness import compare, measure
from eokit.hub import SentinelAPI
from eokit.testing.hub_process import HubProcess
from eokit.testing.hub_server import Faults, HubProduct

N = int(os.environ.get("EOKIT_BENCH_HUB_N", "20"))
FAULTY_N = int(os.environ.get("EOKIT_BENCH_HUB_FAULTY_N", "12"))
MIB = int(os.environ.get("EOKIT_BENCH_HUB_MIB", "64"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "1"))
WORKERS = 4
CASES = set(os.environ.get("EOKIT_BENCH_HUB_CASES", "download,cdse,faulty,resume").split(","))


def _bench_dir() -> Path:
    """Work on tmpfs when it is big enough, so disk write-back noise does not dominate."""
    if os.environ.get("EOKIT_BENCH_DIR"):
        return Path(tempfile.mkdtemp(prefix="eokit-bench-hub-", dir=os.environ["EOKIT_BENCH_DIR"]))
    shm = Path("/dev/shm")
    need = 3 * N * MIB * 2**20
    if shm.is_dir() and shutil.disk_usage(shm).free > need:
        return Path(tempfile.mkdtemp(prefix="eokit-bench-hub-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="eokit-bench-hub-"))


def _make_products(root: Path, n: int = N) -> list[HubProduct]:
    products = []
    for i in range(n):
        path = root / f"p{i}.bin"
        with open(path, "wb") as f:
            for _ in range(MIB):
                f.write(os.urandom(1 << 20))
        start = datetime(2024, 1, 1) + timedelta(hours=i)
        products.append(
            HubProduct(
                f"S1A_IW_GRDH_1SDV_{start:%Y%m%dT%H%M%S}_{start:%Y%m%dT%H%M%S}_000{i:03d}_000001_AAAA",
                path=path,
                start=start,
            )
        )
    return products


def _eokit(url: str, ids: list[str], target: Path) -> None:
    api = SentinelAPI("user", "password", url, show_progressbars=False)
    dl, _, failed = api.download_all(ids, target, n_concurrent_dl=WORKERS)
    assert len(dl) == len(ids) and not failed


def _eokit_cdse(urls: dict[str, str], ids: list[str], target: Path) -> None:
    api = SentinelAPI("user", "password", show_progressbars=False, **urls)
    dl, _, failed = api.download_all(ids, target, n_concurrent_dl=WORKERS)
    assert len(dl) == len(ids) and not failed


def _sentinelsat(url: str, ids: list[str], target: Path) -> None:
    api = sentinelsat.SentinelAPI("user", "password", url, show_progressbars=False)
    dl, _, failed = api.download_all(ids, str(target), n_concurrent_dl=WORKERS)
    assert len(dl) == len(ids) and not failed


def _fresh(work: Path, name: str):
    def run(fn, url, ids):
        target = Path(tempfile.mkdtemp(prefix=name, dir=work))
        try:
            fn(url, ids, target)
        finally:
            shutil.rmtree(target, ignore_errors=True)

    return run


CLIENT = """
import sys
kind, url, target, *ids = sys.argv[1:]
if kind == "eokit":  # the CLI: it turns SIGTERM into a clean stop (the library installs no handlers)
    from eokit.cli.main import main
    sys.argv = ["eokit", "hub", "search", "--url", url, "-u", "user", "-p", "password",
                "--uuid", ",".join(ids), "-d", "--out", target, "--workers", "4"]
    main()
else:
    import sentinelsat
    api = sentinelsat.SentinelAPI("user", "password", url, show_progressbars=False)
    api.download_all(ids, target, n_concurrent_dl=4)
"""


def _quiet_stats(hub: HubProcess) -> dict:
    """The hub's counters once no download is running or waiting to be counted."""
    while (s := hub.stats())["active_downloads"] or s["unsettled_downloads"]:
        time.sleep(0.01)
    return s


def _resume_overhead(kind: str, hub: HubProcess, ids: list[str], total: int, work: Path, sig: int) -> dict:
    """Interrupt a run with ``sig`` once half the bytes were sent, rerun, and account for every byte.

    ``sent`` counts what the server handed to its kernel; ``delivered`` what the client's
    TCP stack acknowledged (bytes still queued on the server side never crossed the network).
    """
    target = Path(tempfile.mkdtemp(prefix=f"resume-{kind}", dir=work))
    s0 = _quiet_stats(hub)  # earlier clients' bodies all counted
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", CLIENT, kind, hub.dhus_url, str(target), *ids]
    with tempfile.TemporaryFile() as err:  # the interrupted client's expected KeyboardInterrupt traceback
        proc = subprocess.Popen(cmd, env=env, stderr=err)
        while proc.poll() is None and hub.stats()["bytes_sent"] - s0["bytes_sent"] < total // 2:
            time.sleep(0.01)
        proc.send_signal(sig)
        proc.wait()
        err.seek(0)
        text = err.read().decode(errors="replace")
    if text and "KeyboardInterrupt" not in text:
        print(text, file=sys.stderr)  # anything but the interrupt itself is worth seeing
    s1 = _quiet_stats(hub)  # the server saw the hang-ups
    files = [f for f in target.iterdir() if f.is_file() and not f.name.startswith(".")]
    on_disk = sum(f.stat().st_size for f in files)
    partial = sum(1 for f in files if f.name.endswith(".incomplete"))
    subprocess.run([sys.executable, "-c", CLIENT, kind, hub.dhus_url, str(target), *ids], env=env, check=True)
    s2 = _quiet_stats(hub)
    shutil.rmtree(target, ignore_errors=True)
    sent1, sent2 = s1["bytes_sent"] - s0["bytes_sent"], s2["bytes_sent"] - s1["bytes_sent"]
    got1, got2 = s1["bytes_delivered"] - s0["bytes_delivered"], s2["bytes_delivered"] - s1["bytes_delivered"]
    pct = lambda n: round(100 * n / total, 3)  # noqa: E731
    return {
        "kind": kind,
        "partial_files_at_interrupt": partial,
        "bytes_on_disk_at_interrupt": on_disk,
        "first_run_sent": sent1,
        "first_run_delivered": got1,
        "rerun_delivered": got2,
        "refetched_pct": pct(got2 - (total - on_disk)),  # delivered again although already on disk
        "lost_in_client_pct": pct(got1 - on_disk),  # delivered to the client, not written by it
        "lost_in_server_queue_pct": pct(sent1 - got1),  # sent by the server, never delivered
        "total_extra_pct": pct(got1 + got2 - total),  # delivered beyond the product sizes
        "total_extra_sent_pct": pct(sent1 + sent2 - total),  # handed to the server's kernel beyond them
    }


def _faulty_case(work: Path, products: list[HubProduct]) -> None:
    """Both clients with their default retry settings against a server that drops
    connections and answers 503 (Retry-After: 1) on every 4th download request."""
    faults = Faults(every=4, kinds=("drop", "503"), retry_after="1", burst=1)
    with HubProcess(products, faults=faults) as hub:
        ids = [p.id for p in products]
        run = _fresh(work, "faulty")
        compare(
            f"dhus-faulty-server-{len(ids)}x{MIB}MiB-4conc",
            eokit=lambda: run(_eokit, hub.dhus_url, ids),
            peer=f"sentinelsat {sentinelsat.__version__}",
            peer_fn=lambda: run(_sentinelsat, hub.dhus_url, ids),
            repeat=1,
            warmup=False,
            extra={"faults": "every 4th download request: dropped mid-body or 503"},
        )


def _download_cases(hub: HubProcess, ids: list[str], total: int, work: Path) -> None:
    run = _fresh(work, "dl")
    record = compare(
        f"dhus-download-all-{N}x{MIB}MiB-{WORKERS}conc",
        eokit=lambda: run(_eokit, hub.dhus_url, ids),
        peer=f"sentinelsat {sentinelsat.__version__}",
        peer_fn=lambda: run(_sentinelsat, hub.dhus_url, ids),
        repeat=REPEAT,
        warmup=True,  # one untimed run each: the server's first transfers are slower for whoever goes first
        extra={"total_mib": round(total / 2**20, 1)},
    )
    if "cdse" not in CASES:
        return
    # the same products over CDSE, where eokit verifies with BLAKE3 (the classic client cannot speak CDSE)
    cdse_s, cdse_mib = measure(lambda: run(_eokit_cdse, hub.cdse_urls, ids), repeat=REPEAT)
    print(
        json.dumps(
            {
                "case": f"cdse-blake3-download-all-{N}x{MIB}MiB-{WORKERS}conc",
                "eokit_s": round(cdse_s, 4),
                "peer": f"sentinelsat {sentinelsat.__version__} (DHuS, MD5)",
                "peer_s": record["peer_s"],
                "ratio": round(record["peer_s"] / cdse_s, 3),
                "eokit_peak_mib": round(cdse_mib, 1),
                "peer_peak_mib": record["peer_peak_mib"],
            }
        ),
        flush=True,
    )


def _resume_cases(hub: HubProcess, ids: list[str], total: int, work: Path) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        mine = _resume_overhead("eokit", hub, ids, total, work, sig)
        peer = _resume_overhead("sentinelsat", hub, ids, total, work, sig)
        print(
            json.dumps(
                {
                    "case": f"dhus-resume-after-{signal.Signals(sig).name.lower()}-{N}x{MIB}MiB",
                    "eokit_total_extra_pct": mine["total_extra_pct"],
                    "peer": f"sentinelsat {sentinelsat.__version__}",
                    "peer_total_extra_pct": peer["total_extra_pct"],
                    "eokit_total_extra_sent_pct": mine["total_extra_sent_pct"],
                    "peer_total_extra_sent_pct": peer["total_extra_sent_pct"],
                    "eokit": mine,
                    "sentinelsat": peer,
                }
            ),
            flush=True,
        )


def _import_time() -> None:
    """Wall time of ``import eokit.hub`` (and of ``import sentinelsat``) in a fresh interpreter, median of 5."""
    import statistics

    def once(module: str) -> float:
        code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return float(out.stdout)

    eokit_s = statistics.median(once("eokit.hub") for _ in range(5))
    peer_s = statistics.median(once("sentinelsat") for _ in range(5))
    print(json.dumps({"case": "import-time", "eokit.hub_s": round(eokit_s, 3), "sentinelsat_s": round(peer_s, 3)}))


def main() -> None:
    import logging

    logging.getLogger("sentinelsat").setLevel(logging.CRITICAL)  # its retries log full tracebacks
    _import_time()
    work = _bench_dir()
    try:
        products = _make_products(work)
        total = sum(p.size for p in products)
        ids = [p.id for p in products]
        with HubProcess(products) as hub:
            if CASES & {"download", "cdse"}:
                _download_cases(hub, ids, total, work)
            if "resume" in CASES:
                _resume_cases(hub, ids, total, work)
        if "faulty" in CASES:
            _faulty_case(work, products[:FAULTY_N])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
