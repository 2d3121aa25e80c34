"""Download + verification against sentinelsat 1.2.1 on the same local DHuS-mode server.

Cases (one JSON line each):

* ``dhus-download-all``: N products of S MiB, 4 concurrent downloads, MD5 verified
  (sentinelsat re-reads each file to checksum it; eokit hashes while streaming);
* ``dhus-resume-after-kill``: a download run is killed (SIGKILL) once half the bytes
  were sent, then rerun; reports the bytes re-transferred beyond the product sizes.

Scale with environment variables (defaults: the issue's 20 x 64 MiB)::

    EOKIT_BENCH_HUB_N=20 EOKIT_BENCH_HUB_MIB=64 EOKIT_BENCH_REPEAT=1 python benchmarks/hub_download.py
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
from eokit.testing.hub_server import Faults, HubProduct, LocalHub

N = int(os.environ.get("EOKIT_BENCH_HUB_N", "20"))
FAULTY_N = int(os.environ.get("EOKIT_BENCH_HUB_FAULTY_N", "12"))
MIB = int(os.environ.get("EOKIT_BENCH_HUB_MIB", "64"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "1"))
WORKERS = 4


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
from pathlib import Path
kind, url, target, *ids = sys.argv[1:]
if kind == "eokit":
    from eokit.hub import SentinelAPI
    api = SentinelAPI("user", "password", url, show_progressbars=False)
    api.download_all(ids, target, n_concurrent_dl=4)
else:
    import sentinelsat
    api = sentinelsat.SentinelAPI("user", "password", url, show_progressbars=False)
    api.download_all(ids, target, n_concurrent_dl=4)
"""


def _resume_overhead(kind: str, hub: LocalHub, ids: list[str], total: int, work: Path) -> dict:
    target = Path(tempfile.mkdtemp(prefix=f"resume-{kind}", dir=work))
    start_bytes = hub.stats["bytes_sent"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", CLIENT, kind, hub.dhus_url, str(target), *ids], env=env)
    while proc.poll() is None and hub.stats["bytes_sent"] - start_bytes < total // 2:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    while hub._active_downloads:  # let the server notice the hang-up
        time.sleep(0.01)
    first_run = hub.stats["bytes_sent"] - start_bytes
    on_disk = sum(f.stat().st_size for f in target.iterdir() if f.is_file() and not f.name.startswith("."))
    subprocess.run([sys.executable, "-c", CLIENT, kind, hub.dhus_url, str(target), *ids], env=env, check=True)
    rerun = hub.stats["bytes_sent"] - start_bytes - first_run
    shutil.rmtree(target, ignore_errors=True)
    refetched = rerun - (total - on_disk)  # bytes fetched again although already on disk
    return {
        "kind": kind,
        "bytes_on_disk_at_kill": on_disk,
        "first_run_bytes": first_run,
        "rerun_bytes": rerun,
        "refetched_bytes": refetched,
        "extra_pct": round(100 * refetched / total, 3),
        "lost_in_flight_pct": round(100 * (first_run - on_disk) / total, 3),
        "total_extra_pct": round(100 * (first_run + rerun - total) / total, 3),
    }


def _faulty_case(work: Path, products: list[HubProduct]) -> None:
    """Both clients with their default retry settings against a server that drops
    connections and answers 503 (Retry-After: 1) on every 4th download request."""
    faults = Faults(every=4, kinds=("drop", "503"), retry_after="1", burst=1)
    with LocalHub(products, faults=faults) as hub:
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


def main() -> None:
    import logging

    logging.getLogger("sentinelsat").setLevel(logging.CRITICAL)  # its retries log full tracebacks
    work = _bench_dir()
    try:
        products = _make_products(work)
        total = sum(p.size for p in products)
        with LocalHub(products) as hub:
            ids = [p.id for p in products]
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
            _faulty_case(work, products[:FAULTY_N])
            mine = _resume_overhead("eokit", hub, ids, total, work)
            peer = _resume_overhead("sentinelsat", hub, ids, total, work)
            print(
                json.dumps(
                    {
                        "case": f"dhus-resume-after-kill-{N}x{MIB}MiB",
                        "eokit_extra_pct": mine["extra_pct"],
                        "peer": f"sentinelsat {sentinelsat.__version__}",
                        "peer_extra_pct": peer["extra_pct"],
                        "eokit": mine,
                        "sentinelsat": peer,
                    }
                ),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
