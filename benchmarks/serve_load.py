"""Load on `eokit serve`: mixed GET/POST /search (bbox, intersects, datetime, CQL2 filter) from a separate
client process at 4, 50 and 200 concurrent clients; req/s, p50/p99 latency and the server's peak RSS;
the embedded backend and, where PostgreSQL + PostGIS are installed, stac-fastapi-pgstac on the same catalog.

    flock /tmp/eokit-bench.lock python benchmarks/serve_load.py

Environment: EOKIT_BENCH_SERVE_ITEMS (default 20000), EOKIT_BENCH_SERVE_SECONDS (per level, default 30),
EOKIT_BENCH_SERVE_LEVELS (default 4,50,200), EOKIT_BENCH_SERVE_PGSTAC=0 to skip pgstac,
EOKIT_BENCH_SERVE_WORKERS=N (server processes of the embedded backend), EOKIT_BENCH_SERVE_MIX=nofilter (bbox/intersects/datetime only), EOKIT_BENCH_SERVE_BASELINE=SRC_DIR to also run an older eokit (e.g. `git archive main src | tar -x -C /tmp/old`,
then /tmp/old/src) on the same catalog and load, as the "baseline" backend.
Targets (issue 13): >= 204 req/s at 200 clients (2x the hand-written server's 102), p99 < 1 s at 50.
Prints one JSON line per backend and level.
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
MIX = os.environ.get("EOKIT_BENCH_SERVE_MIX", "all")  # "nofilter": no CQL2 requests (what older servers answer)

CLIENT = r"""
import asyncio, json, random, sys, time
import httpx

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

async def worker(client, deadline, out):
    while time.perf_counter() < deadline:
        method, params, body = request()
        t = time.perf_counter()
        try:
            r = await client.request(method, url + "/search", params=params, json=body)
            ok = r.status_code == 200
        except httpx.HTTPError:
            ok = False
        out.append((time.perf_counter() - t, ok))

async def main():
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        out = []
        start = time.perf_counter()
        await asyncio.gather(*(worker(client, start + seconds, out) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    lat = sorted(t for t, ok in out if ok)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
    print(json.dumps({"requests": len(out), "errors": sum(1 for _, ok in out if not ok), "wall_s": wall,
                      "req_per_s": len(lat) / wall, "p50_s": q(0.5), "p99_s": q(0.99)}))

asyncio.run(main())
"""


def _items(n: int) -> list[dict]:
    rng = random.Random(13)
    items = []
    for i in range(n):
        x, y = rng.uniform(-180, 180), rng.uniform(-70, 70)
        w, h = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)
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


def _run_backend(name: str, args: list[str], env: dict[str, str]) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "eokit"), "serve", *args, "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def main() -> None:
    from eokit.testing.catalog_server import write_static_catalog

    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="eokit-serve-bench-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        cat = write_static_catalog(base / "cat", {"bench": _items(N_ITEMS)})
        print(f"wrote {N_ITEMS} items in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        baseline = os.environ.get("EOKIT_BENCH_SERVE_BASELINE")
        if baseline:
            old_env = dict(env, PYTHONPATH=baseline, EOKIT_BENCH_SINGLE="0")
            _run_backend("baseline", [str(cat), "--index", str(base / "old-index.sqlite")], old_env)
        name = "embedded" if WORKERS == "1" else f"embedded-{WORKERS}-workers"
        _run_backend(name, [str(cat), "--index", str(base / "index.sqlite"), "--workers", WORKERS], env)
        if os.environ.get("EOKIT_BENCH_SERVE_PGSTAC", "1") == "0":
            return
        try:
            from eokit.catalog.api_pgstac import publish_pgstac
            from eokit.testing.postgres import PostgresUnavailable, local_postgres
        except ImportError as exc:
            print(f"pgstac skipped: {exc}", file=sys.stderr)
            return
        try:
            with local_postgres() as dsn:
                t0 = time.perf_counter()
                publish_pgstac(cat, dsn)
                print(f"published to pgstac in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
                _run_backend("pgstac", ["--backend", "pgstac"], dict(env, EOKIT_PGSTAC_DSN=dsn))
        except PostgresUnavailable as exc:
            print(f"pgstac skipped: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main()
