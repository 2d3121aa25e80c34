"""Load on `eokit serve`: mixed GET/POST /search (bbox, intersects, datetime, CQL2 filter) from a separate
client process at 4, 50 and 200 concurrent clients; req/s, p50/p99 latency and the server's peak RSS;
the embedded backend and, where PostgreSQL + PostGIS are installed, stac-fastapi-pgstac on the same catalog.

    flock /tmp/eokit-bench.lock python benchmarks/serve_load.py

Environment: EOKIT_BENCH_SERVE_ITEMS (default 20000), EOKIT_BENCH_SERVE_SECONDS (per level, default 30),
EOKIT_BENCH_SERVE_LEVELS (default 4,50,200), EOKIT_BENCH_SERVE_PGSTAC=0 to skip pgstac,
EOKIT_BENCH_SERVE_WORKERS=N (server processes of the embedded backend), EOKIT_BENCH_SERVE_MIX=nofilter
(bbox/intersects/datetime only), EOKIT_BENCH_SERVE_BASELINE=SRC_DIR to also run an older eokit (the hand-written
server: `git archive 70a56a0^ src | tar -x -C /tmp/oldsrv`, then /tmp/oldsrv/src) on the same catalog and load,
as the "baseline" backend. The baseline ignores CQL2 filters and stops on antimeridian-crossing items, so with
a baseline the mix defaults to ``nofilter`` and the catalog is built without crossing items (for every backend
of the run alike); EOKIT_BENCH_SERVE_CROSSING=1 keeps them.

The client is aiohttp (the ``bench`` extra; one keep-alive connection per concurrent client): httpx's pool spent ~7 ms of CPU per
request at 200 connections, more than the server, on the same 2 cores.

Targets (issue 13): >= 204 req/s at 200 clients (2x the hand-written server's 102 req/s), p99 < 1 s at 50
clients; with a baseline in the run, also >= 2x the baseline's req/s at 200 clients.
Prints one JSON line per backend and level, then one line per target (met or not).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_ITEMS = int(os.environ.get("EOKIT_BENCH_SERVE_ITEMS", "20000"))
SECONDS = float(os.environ.get("EOKIT_BENCH_SERVE_SECONDS", "30"))
LEVELS = [int(v) for v in os.environ.get("EOKIT_BENCH_SERVE_LEVELS", "4,50,200").split(",")]
WORKERS = os.environ.get("EOKIT_BENCH_SERVE_WORKERS", "1")  # server processes of the embedded backend
BASELINE = os.environ.get("EOKIT_BENCH_SERVE_BASELINE")  # src folder of an older eokit, run side by side
# "nofilter": no CQL2 requests (what the baseline answers); with a baseline, the default for every backend
MIX = os.environ.get("EOKIT_BENCH_SERVE_MIX", "nofilter" if BASELINE else "all")
CROSSING = os.environ.get("EOKIT_BENCH_SERVE_CROSSING", "0" if BASELINE else "1") == "1"
TARGET_RPS_200 = 204.0  # 2x the hand-written server's 102 req/s at 200 clients (issue 13)
TARGET_P99_50 = 1.0

CLIENT = r"""
import asyncio, json, random, sys, time
import aiohttp

url, concurrency, seconds, mix = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rng = random.Random(concurrency)
kinds = 3 if mix == "nofilter" else 4

def request():
    x, y = rng.uniform(-179, 174), rng.uniform(-60, 60)
    kind = rng.randrange(kinds)
    if kind == 0:
        return "GET", {"bbox": f"{x:.3f},{y:.3f},{x + 2:.3f},{y + 2:.3f}", "limit": 10}, None
    if kind == 1:
        ring = [[x, y], [x + 3, y], [x + 3, y + 3], [x, y + 3], [x, y]]
        return "POST", None, {"intersects": {"type": "Polygon", "coordinates": [ring]}, "limit": 10}
    if kind == 2:
        month = rng.randrange(1, 13)
        return "GET", {"datetime": f"2021-{month:02d}-01T00:00:00Z/2021-{month:02d}-10T00:00:00Z", "limit": 10}, None
    cql = {"op": "and", "args": [
        {"op": "<", "args": [{"property": "eo:cloud_cover"}, rng.uniform(5, 50)]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [x, y, x + 5, y + 5]}]}]}
    return "POST", None, {"filter": cql, "filter-lang": "cql2-json", "limit": 10}

async def worker(session, deadline, out):
    while time.perf_counter() < deadline:
        method, params, body = request()
        t = time.perf_counter()
        try:
            async with session.request(method, url + "/search", params=params, json=body) as r:
                await r.read()
                ok = r.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        out.append((time.perf_counter() - t, ok))

async def main():
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        out = []
        start = time.perf_counter()
        await asyncio.gather(*(worker(session, start + seconds, out) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    lat = sorted(t for t, ok in out if ok)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
    print(json.dumps({"requests": len(out), "errors": sum(1 for _, ok in out if not ok), "wall_s": wall,
                      "req_per_s": len(lat) / wall, "p50_s": q(0.5), "p99_s": q(0.99)}))

asyncio.run(main())
"""


def _items(n: int, *, crossing: bool = True) -> list[dict]:
    """``n`` random footprints of 0.5-1.5° over a year; ``crossing=False`` keeps them all east of -180 and west
    of 180 (what the baseline server can index)."""
    rng = random.Random(13)
    items = []
    for i in range(n):
        x, y = rng.uniform(-180, 180), rng.uniform(-70, 70)
        w, h = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)
        if not crossing:
            x = min(x, 180 - w)
        x2 = x + w
        if x2 > 180:  # across the antimeridian: split as RFC 7946 asks
            geom = {"type": "MultiPolygon", "coordinates": [
                [[[x, y], [180, y], [180, y + h], [x, y + h], [x, y]]],
                [[[-180, y], [x2 - 360, y], [x2 - 360, y + h], [-180, y + h], [-180, y]]]]}  # fmt: skip
            bbox = [x, y, x2 - 360, y + h]
        else:
            geom = {"type": "Polygon", "coordinates": [[[x, y], [x2, y], [x2, y + h], [x, y + h], [x, y]]]}
            bbox = [x, y, x2, y + h]
        day = rng.randrange(365)
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1609459200 + day * 86400 + rng.randrange(86400)))
        items.append({
            "type": "Feature", "stac_version": "1.0.0", "id": f"item-{i:06d}", "bbox": bbox, "geometry": geom,
            "properties": {"datetime": when, "eo:cloud_cover": round(rng.uniform(0, 100), 2), "platform": "bench"},
            "assets": {}, "links": [],
        })  # fmt: skip
    return items


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of the server, summed over its worker processes when it has any."""
    import psutil

    total = 0.0
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def _wait(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if requests.get(url + "/conformance", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not start")


SINGLE = {
    # one request at a time: the cost of a query shape, not of concurrency
    "intersects-limit1-large-area": ("POST", {"limit": 1, "intersects": {"type": "Polygon", "coordinates": [
        [[-170, -60], [170, -60], [170, 60], [-170, 60], [-170, -60]]]}}),
    "bbox-limit1-large-area": ("GET", {"limit": 1, "bbox": "-170,-60,170,60"}),
    "filter-cloud-cover-all-items": ("POST", {"limit": 10, "filter-lang": "cql2-json", "filter": {
        "op": "<", "args": [{"property": "eo:cloud_cover"}, 20]}}),
    "filter-cql2-text-spatial": ("GET", {"limit": 10, "filter-lang": "cql2-text",
                                         "filter": "eo:cloud_cover < 20 AND S_INTERSECTS(geometry, BBOX(10,10,15,15))"}),
}  # fmt: skip


def _single_requests(url: str, name: str) -> None:
    import statistics

    import requests

    with requests.Session() as session:
        for case, (method, payload) in SINGLE.items():
            times = []
            for _ in range(15):
                t = time.perf_counter()
                if method == "GET":
                    r = session.get(url + "/search", params=payload, timeout=120)
                else:
                    r = session.post(url + "/search", json=payload, timeout=120)
                times.append(time.perf_counter() - t)
                r.raise_for_status()
            rec = {"case": f"serve-{name}-{N_ITEMS}-items-{case}", "backend": name, "median_s": statistics.median(times),
                   "items": N_ITEMS, "load_average": os.getloadavg()[0]}  # fmt: skip
            print(json.dumps(rec), flush=True)


def _run_backend(name: str, args: list[str], env: dict[str, str]) -> list[dict]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "eokit"), "serve", *args, "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    records = []
    try:
        _wait(url, proc)
        start_s = time.perf_counter() - t0
        if env.get("EOKIT_BENCH_SINGLE", "1") == "1":
            _single_requests(url, name)
        for level in LEVELS:
            run = subprocess.run([sys.executable, "-c", CLIENT, url, str(level), str(SECONDS), MIX], capture_output=True,
                                 text=True, timeout=SECONDS * 4 + 120)  # fmt: skip
            if run.returncode != 0:
                raise RuntimeError(run.stderr[-2000:])
            rec = json.loads(run.stdout.strip().splitlines()[-1])
            rec.update(case=f"serve-{name}-{N_ITEMS}-items-{level}-clients-{MIX}", backend=name, clients=level, mix=MIX,
                       items=N_ITEMS, startup_s=round(start_s, 2), server_peak_rss_mb=round(_peak_rss_mb(proc.pid), 1),
                       load_average=os.getloadavg()[0])  # fmt: skip
            print(json.dumps(rec), flush=True)
            records.append(rec)
        return records
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _targets(runs: dict[str, list[dict]]) -> None:
    """One line per target and backend: the measured figure, the target and whether it is met."""

    def level(name: str, clients: int) -> dict | None:
        return next((r for r in runs.get(name, []) if r["clients"] == clients), None)

    for name in runs:
        if not name.startswith("embedded"):  # the targets are the default (embedded) backend's
            continue
        at200, at50 = level(name, 200), level(name, 50)
        if at200:
            ok = at200["req_per_s"] >= TARGET_RPS_200
            print(f"target {name}: {at200['req_per_s']:.0f} req/s at 200 clients (>= {TARGET_RPS_200:.0f}): "
                  f"{'met' if ok else 'NOT met'}")  # fmt: skip
            base = level("baseline", 200)
            if base and base["req_per_s"]:
                ratio = at200["req_per_s"] / base["req_per_s"]
                print(f"target {name}: {ratio:.2f}x the baseline's {base['req_per_s']:.0f} req/s at 200 clients "
                      f"(>= 2x): {'met' if ratio >= 2 else 'NOT met'}")  # fmt: skip
        if at50:
            p99 = at50["p99_s"]
            ok = p99 is not None and p99 < TARGET_P99_50
            print(
                f"target {name}: p99 {p99:.3f} s at 50 clients (< {TARGET_P99_50:.0f} s): {'met' if ok else 'NOT met'}"
            )
        for peer in ("baseline", "pgstac"):
            for clients in LEVELS:
                mine, other = level(name, clients), level(peer, clients)
                if mine and other and other["req_per_s"]:
                    print(f"ratio {name}/{peer} at {clients} clients: {mine['req_per_s'] / other['req_per_s']:.2f}x "
                          f"req/s, p99 {mine['p99_s']:.3f} s vs {other['p99_s']:.3f} s, peak RSS "
                          f"{mine['server_peak_rss_mb']:.0f} MB vs {other['server_peak_rss_mb']:.0f} MB")  # fmt: skip


def main() -> None:
    from eokit.testing.catalog_server import write_static_catalog

    env = dict(os.environ)
    runs: dict[str, list[dict]] = {}
    print(f"uptime load average at start: {os.getloadavg()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="eokit-serve-bench-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        cat = write_static_catalog(base / "cat", {"bench": _items(N_ITEMS, crossing=CROSSING)})
        print(f"wrote {N_ITEMS} items in {time.perf_counter() - t0:.1f} s (antimeridian-crossing items: {CROSSING}, "
              f"mix: {MIX})", file=sys.stderr)  # fmt: skip
        if BASELINE:
            old_env = dict(env, PYTHONPATH=BASELINE, EOKIT_BENCH_SINGLE="0")
            runs["baseline"] = _run_backend("baseline", [str(cat), "--index", str(base / "old-index.sqlite")], old_env)
        name = "embedded" if WORKERS == "1" else f"embedded-{WORKERS}-workers"
        runs[name] = _run_backend(name, [str(cat), "--index", str(base / "index.sqlite"), "--workers", WORKERS], env)
        if os.environ.get("EOKIT_BENCH_SERVE_PGSTAC", "1") != "0":
            runs.update(_run_pgstac(cat, env))
    _targets(runs)


def _run_pgstac(cat: Path, env: dict[str, str]) -> dict[str, list[dict]]:
    try:
        from eokit.catalog.api_pgstac import publish_pgstac
        from eokit.testing.postgres import PostgresUnavailable, local_postgres
    except ImportError as exc:
        print(f"pgstac skipped: {exc}", file=sys.stderr)
        return {}
    try:
        with local_postgres() as dsn:
            t0 = time.perf_counter()
            publish_pgstac(cat, dsn)
            print(f"published to pgstac in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            return {"pgstac": _run_backend("pgstac", ["--backend", "pgstac"], dict(env, EOKIT_PGSTAC_DSN=dsn))}
    except PostgresUnavailable as exc:
        print(f"pgstac skipped: {exc}", file=sys.stderr)
        return {}


if __name__ == "__main__":
    main()
