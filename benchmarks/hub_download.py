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

and pick cases with ``EOKIT_BENCH_HUB_CASES=import,download,cdse,faulty,resume`` (default: all).
The last line (``summary``) lists every figure next to its target, with the load average.
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
CASES = set(os.environ.get("EOKIT_BENCH_HUB_CASES", "import,download,cdse,faulty,resume").split(","))
TARGETS = {  # issue 16: ratios (sentinelsat time / eokit time) to reach, and resume overheads not to exceed
    "dhus": 1.2,
    "cdse": 2.5,
    "faulty": 10.0,
    "resume-sigint": 0.0,
    "resume-sigterm": 0.0,
    "resume-sigkill": 1.0,
}


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
    """``run(fn, url, ids)`` downloads into a new folder; ``cleanup()`` removes them all.

    The harness calls ``cleanup`` after each timed run, outside the timing: deleting
    1.3 GB of output (~0.2 s) is not part of either client's download.
    """
    runs = work / f"runs-{name}"

    def run(fn, url, ids):
        runs.mkdir(exist_ok=True)
        fn(url, ids, Path(tempfile.mkdtemp(prefix=name, dir=runs)))

    def cleanup():
        shutil.rmtree(runs, ignore_errors=True)

    return run, cleanup


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
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        while proc.poll() is None and hub.stats()["bytes_sent"] - s0["bytes_sent"] < total // 2:
            time.sleep(0.01)
        proc.send_signal(sig)
        proc.wait()
        err.seek(0)
        text = err.read().decode(errors="replace")
    if "Traceback" in text and "KeyboardInterrupt" not in text:
        print(text, file=sys.stderr)  # anything but the interrupt itself is worth seeing
    s1 = _quiet_stats(hub)  # the server saw the hang-ups
    files = [f for f in target.iterdir() if f.is_file() and not f.name.startswith(".")]
    on_disk = sum(f.stat().st_size for f in files)
    partial = sum(1 for f in files if f.name.endswith(".incomplete"))
    rerun = [sys.executable, "-c", CLIENT, kind, hub.dhus_url, str(target), *ids]
    subprocess.run(rerun, env=env, check=True, stdout=subprocess.DEVNULL)
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


def _faulty_case(work: Path, products: list[HubProduct]) -> dict:
    """Both clients with their default retry settings against a server that drops
    connections and answers 503 (Retry-After: 1) on every 4th download request."""
    faults = Faults(every=4, kinds=("drop", "503"), retry_after="1", burst=1)
    with HubProcess(products, faults=faults) as hub:
        ids = [p.id for p in products]
        run, cleanup = _fresh(work, "faulty")
        return compare(
            f"dhus-faulty-server-{len(ids)}x{MIB}MiB-4conc",
            eokit=lambda: run(_eokit, hub.dhus_url, ids),
            peer=f"sentinelsat {sentinelsat.__version__}",
            peer_fn=lambda: run(_sentinelsat, hub.dhus_url, ids),
            repeat=1,
            warmup=False,
            extra={"faults": "every 4th download request: dropped mid-body or 503", "target": TARGETS["faulty"]},
            after=cleanup,
        )


def _download_cases(hub: HubProcess, ids: list[str], total: int, work: Path) -> list[dict]:
    run, cleanup = _fresh(work, "dl")
    record = compare(
        f"dhus-download-all-{N}x{MIB}MiB-{WORKERS}conc",
        eokit=lambda: run(_eokit, hub.dhus_url, ids),
        peer=f"sentinelsat {sentinelsat.__version__}",
        peer_fn=lambda: run(_sentinelsat, hub.dhus_url, ids),
        repeat=REPEAT,
        warmup=True,  # one untimed run each: the server's first transfers are slower for whoever goes first
        extra={"total_mib": round(total / 2**20, 1), "target": TARGETS["dhus"]},
        after=cleanup,
    )
    if "cdse" not in CASES:
        return [record]
    # the same products over CDSE, where eokit verifies with BLAKE3 (the classic client cannot speak CDSE)
    cdse_s, cdse_mib = measure(lambda: run(_eokit_cdse, hub.cdse_urls, ids), repeat=REPEAT, after=cleanup)
    cdse = {
        "case": f"cdse-blake3-download-all-{N}x{MIB}MiB-{WORKERS}conc",
        "eokit_s": round(cdse_s, 4),
        "peer": f"sentinelsat {sentinelsat.__version__} (DHuS, MD5)",
        "peer_s": record["peer_s"],
        "ratio": round(record["peer_s"] / cdse_s, 3),
        "eokit_peak_mib": round(cdse_mib, 1),
        "peer_peak_mib": record["peer_peak_mib"],
        "target": TARGETS["cdse"],
    }
    print(json.dumps(cdse), flush=True)
    return [record, cdse]


def _resume_cases(hub: HubProcess, ids: list[str], total: int, work: Path) -> list[dict]:
    records = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        mine = _resume_overhead("eokit", hub, ids, total, work, sig)
        peer = _resume_overhead("sentinelsat", hub, ids, total, work, sig)
        name = signal.Signals(sig).name.lower()
        records.append(
            {
                "case": f"dhus-resume-after-{name}-{N}x{MIB}MiB",
                "eokit_total_extra_pct": mine["total_extra_pct"],
                "peer": f"sentinelsat {sentinelsat.__version__}",
                "peer_total_extra_pct": peer["total_extra_pct"],
                "eokit_total_extra_sent_pct": mine["total_extra_sent_pct"],
                "peer_total_extra_sent_pct": peer["total_extra_sent_pct"],
                "target_max_extra_pct": TARGETS[f"resume-{name}"],
                "eokit": mine,
                "sentinelsat": peer,
            }
        )
        print(json.dumps(records[-1]), flush=True)
    return records


def _import_time() -> dict:
    """Wall time of importing the classic client in a fresh interpreter, eokit vs sentinelsat.

    Two forms, each the median of ``EOKIT_BENCH_IMPORT_REPEAT`` (default 11) fresh processes,
    run alternately so load drifts hit both: ``import eokit.hub`` / ``import sentinelsat``
    (the package) and ``from eokit.hub import SentinelAPI`` / ``from sentinelsat import
    SentinelAPI`` (what a script needs before its first query).
    """
    import statistics

    def once(statement: str) -> float:
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return float(out.stdout)

    repeat = int(os.environ.get("EOKIT_BENCH_IMPORT_REPEAT", "11"))
    forms = {
        "package": ("import eokit.hub", "import sentinelsat"),
        "SentinelAPI": ("from eokit.hub import SentinelAPI", "from sentinelsat import SentinelAPI"),
    }
    record: dict = {"case": "import-time"}
    for form, (mine, peer) in forms.items():
        times: dict[str, list[float]] = {mine: [], peer: []}
        for _ in range(repeat):
            for statement in (mine, peer):
                times[statement].append(once(statement))
        eokit_s, peer_s = statistics.median(times[mine]), statistics.median(times[peer])
        record[form] = {"eokit_s": round(eokit_s, 4), "peer_s": round(peer_s, 4), "ratio": round(peer_s / eokit_s, 3)}
    record["target"] = "ratio >= 1 (eokit.hub no slower to import than sentinelsat)"
    print(json.dumps(record), flush=True)
    return record


def _summary(records: list[dict], load_before: tuple[float, float, float]) -> None:
    """One last line: every figure next to its target, and the load average around the run."""
    rows = []
    for r in records:
        if "ratio" in r and "target" in r:
            rows.append(
                {"case": r["case"], "ratio": r["ratio"], "target": r["target"], "met": r["ratio"] >= r["target"]}
            )
        elif "target_max_extra_pct" in r:
            # refetched: bytes on disk at the interrupt that the rerun fetched again ("fetched twice");
            # total extra: every byte delivered beyond the product sizes, incl. what was in flight
            refetched, extra = r["eokit"]["refetched_pct"], r["eokit_total_extra_pct"]
            rows.append(
                {
                    "case": r["case"],
                    "eokit_refetched_pct": refetched,
                    "eokit_total_extra_pct": extra,
                    "target_max": r["target_max_extra_pct"],
                    "met_refetched": refetched <= r["target_max_extra_pct"],
                    "met_total_extra": extra <= r["target_max_extra_pct"],
                }
            )
        elif r.get("case") == "import-time":
            for form in ("package", "SentinelAPI"):
                rows.append(
                    {
                        "case": f"import-time-{form}",
                        "ratio": r[form]["ratio"],
                        "target": 1.0,
                        "met": r[form]["ratio"] >= 1.0,
                    }
                )
    print(
        json.dumps(
            {
                "case": "summary",
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
                "results": rows,
            }
        ),
        flush=True,
    )


def main() -> None:
    import logging

    logging.getLogger("sentinelsat").setLevel(logging.CRITICAL)  # its retries log full tracebacks
    load_before = os.getloadavg()
    records = []
    if "import" in CASES:
        records.append(_import_time())
    work = _bench_dir()
    try:
        products = _make_products(work)
        total = sum(p.size for p in products)
        ids = [p.id for p in products]
        with HubProcess(products) as hub:
            if CASES & {"download", "cdse"}:
                records += _download_cases(hub, ids, total, work)
            if "resume" in CASES:
                records += _resume_cases(hub, ids, total, work)
        if "faulty" in CASES:
            records.append(_faulty_case(work, products[:FAULTY_N]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _summary(records, load_before)


if __name__ == "__main__":
    main()
