"""Degree of urbanisation at global scale: a GHS-POP-sized 1 km grid and a 100 m-class crop.

Builds (once, cached outside the repository) a global 1 km population grid the size
of GHS-POP E2020 R2022A 54009_1000 (36,082 x 18,000 cells, Mollweide, float32, zstd
GeoTIFF): land from smoothed noise inside the Mollweide ellipse, a rural background
of 0-150 people/km², and ~200,000 towns and cities with Pareto-distributed sizes
(2,000 to 30 million people, ~8 billion people in all) as Gaussian blobs whose
spread grows with their size. Then it times urban centres + clusters (polygons,
names) with :func:`eokit.urban.outofcore.degurba_files` in a child process, per
stage, with the peak RSS of the process tree and bytes per cell; and the in-memory
path (scipy on the whole array, what ``eokit urban clusters`` did before) on a crop
that fits, for a side-by-side ratio.

    flock /tmp/eokit-bench.lock python benchmarks/urban_scale.py                 # global 1 km
    python benchmarks/urban_scale.py --fraction 0.25                                 # a band of rows
    python benchmarks/urban_scale.py --hundred-m 2000 --dask-workers 3 --skip-global # 100 m class on Dask

Target: the global grid in <= 10 minutes on 2 cores with <= 3 GB peak RSS.
Cache: $EOKIT_BENCH_CACHE or ~/.cache/eokit-bench.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 36_082, 18_000
X0, Y0, RES = -18_041_000.0, 9_000_000.0, 1000.0  # GHS-POP 54009 grid origin and cell size
CRS = "ESRI:54009"


def cache_dir() -> Path:
    d = Path(os.environ.get("EOKIT_BENCH_CACHE", Path.home() / ".cache" / "eokit-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _coarse_fields(rng: np.random.Generator, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Land mask potential and settlement potential on a grid ``factor`` times coarser."""
    from scipy import ndimage

    ch, cw = HEIGHT // factor + 2, WIDTH // factor + 2
    land = ndimage.gaussian_filter(rng.standard_normal((ch, cw)), 6, mode="wrap")
    land = (land - land.mean()) / land.std()
    settle = ndimage.gaussian_filter(rng.standard_normal((ch, cw)), 3, mode="wrap")
    settle = np.exp(1.2 * (settle - settle.mean()) / settle.std())
    return land, settle


def build_global(path: Path, *, seed: int = 0, n_towns: int = 200_000) -> Path:
    """Write the synthetic global grid block by block (bounded memory), atomically."""
    import rasterio
    from affine import Affine
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    factor = 32
    land_c, settle_c = _coarse_fields(rng, factor)
    land_frac = 0.29

    thresh = np.quantile(land_c, 1 - land_frac)
    # towns: positions drawn by coarse settlement potential on land; Pareto sizes
    weight = np.where(land_c > thresh, settle_c, 0.0).ravel()
    cells = rng.choice(weight.size, n_towns, p=weight / weight.sum())
    cr, cc = np.divmod(cells, land_c.shape[1])
    rows = (cr + rng.random(n_towns)) * factor
    cols = (cc + rng.random(n_towns)) * factor
    sizes = np.minimum(2_000 * (1 - rng.random(n_towns)) ** (-1 / 1.05), 3e7)
    sigma = np.clip(0.5 * np.sqrt(sizes / 5_000), 0.6, 30.0)
    order = np.argsort(rows)
    rows, cols, sizes, sigma = rows[order], cols[order], sizes[order], sigma[order]
    tr = Affine(RES, 0, X0, 0, -RES, Y0)
    tmp = path.with_suffix(".partial.tif")
    profile = dict(
        driver="GTiff", width=WIDTH, height=HEIGHT, count=1, dtype="float32", crs=CRS, transform=tr,
        nodata=-200.0, tiled=True, blockxsize=512, blockysize=512, compress="zstd", zstd_level=1,
        predictor=3, BIGTIFF="YES", num_threads="ALL_CPUS",
    )  # fmt: skip
    bh = 256
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, HEIGHT, bh):
            r1 = min(r0 + bh, HEIGHT)
            yy, xx = np.mgrid[r0:r1, 0:WIDTH].astype(np.float32)
            coords = np.stack([(yy + 0.5) / factor - 0.5, (xx + 0.5) / factor - 0.5])
            land = ndimage.map_coordinates(land_c, coords, order=1, mode="nearest") > thresh
            settle = ndimage.map_coordinates(settle_c, coords, order=1, mode="nearest")
            # the Mollweide ellipse: x²/(2a)² + y²/a² <= 1 with the grid's half-height a
            y = 1 - (yy + 0.5) / (HEIGHT / 2)
            x = ((xx + 0.5) - WIDTH / 2) / (WIDTH / 2)
            inside = x**2 + y**2 <= 1
            pop = np.where(land & inside, settle * rng.gamma(0.6, 25.0, land.shape), 0.0)
            lo, hi = np.searchsorted(rows, [r0 - 120, r1 + 120])
            for r, c, p, s in zip(rows[lo:hi], cols[lo:hi], sizes[lo:hi], sigma[lo:hi]):
                h = int(4 * s) + 1
                a0, a1 = max(int(r) - h, r0), min(int(r) + h + 1, r1)
                b0, b1 = max(int(c) - h, 0), min(int(c) + h + 1, WIDTH)
                if a1 <= a0 or b1 <= b0:
                    continue
                gy = np.exp(-((np.arange(a0, a1) + 0.5 - r) ** 2) / (2 * s * s))
                gx = np.exp(-((np.arange(b0, b1) + 0.5 - c) ** 2) / (2 * s * s))
                pop[a0 - r0 : a1 - r0, b0:b1] += p * np.outer(gy, gx) / (2 * np.pi * s * s)
            pop[~inside] = -200.0
            dst.write(pop.astype(np.float32), 1, window=((r0, r1), (0, WIDTH)))
            print(f"  built rows {r1}/{HEIGHT}", file=sys.stderr, end="\r")
    tmp.replace(path)
    return path


def crop(src_path: Path, path: Path, window: tuple[int, int, int, int], oversample: int = 1) -> Path:
    """Copy rows r0:r1, cols c0:c1 (each cell split into ``oversample``² cells sharing its people)."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    if path.exists():
        return path
    r0, r1, c0, c1 = window
    with rasterio.open(src_path) as src:
        win = Window.from_slices((r0, r1), (c0, c1))
        tr = src.window_transform(win)
        k = oversample
        prof = dict(src.profile, width=(c1 - c0) * k, height=(r1 - r0) * k, transform=tr @ Affine.scale(1 / k))
        tmp = path.with_suffix(".partial.tif")
        with rasterio.open(tmp, "w", **prof) as dst:
            for a in range(r0, r1, 512):
                b = min(a + 512, r1)
                data = src.read(1, window=Window.from_slices((a, b), (c0, c1)))
                ok = data != src.nodata
                data = np.where(ok, data / (k * k), src.nodata).astype(np.float32)
                data = np.repeat(np.repeat(data, k, axis=0), k, axis=1)
                dst.write(data, 1, window=(((a - r0) * k, (b - r0) * k), (0, (c1 - c0) * k)))
    tmp.replace(path)
    return path


def build_friction(path: Path) -> Path:
    """A global 30 arc-second friction surface the size of the Malaria Atlas Project's (43,200 x 21,600,
    minutes per metre, float32): walking speed with faster corridors, oceans nodata."""
    import rasterio
    from affine import Affine

    if path.exists():
        return path
    w, h = 43_200, 21_600
    tr = Affine(1 / 120, 0, -180.0, 0, -1 / 120, 90.0)
    prof = dict(driver="GTiff", width=w, height=h, count=1, dtype="float32", crs="EPSG:4326", transform=tr,
                nodata=-9999.0, tiled=True, blockxsize=512, blockysize=512, compress="zstd", BIGTIFF="YES")  # fmt: skip
    tmp = path.with_suffix(".partial.tif")
    with rasterio.open(tmp, "w", **prof) as dst:
        for r0 in range(0, h, 512):
            r1 = min(r0 + 512, h)
            f = np.full((r1 - r0, w), 0.012, dtype=np.float32)  # 5 km/h
            f[:, ::60] = 0.001  # north-south roads every half degree (60 km/h)
            f[(np.arange(r0, r1) % 60) == 0, :] = 0.001
            lat = 90 - (np.arange(r0, r1) + 0.5) / 120
            f[np.abs(lat) > 75] = -9999.0
            dst.write(f, 1, window=((r0, r1), (0, w)))
    tmp.replace(path)
    return path


TT_CHILD = r"""
import json, sys, time, resource
import numpy as np, geopandas as gpd
from eokit.urban.traveltime import travel_time_matrix
args = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
lon = 30 + rng.random(30) * 3
lat = 0 + rng.random(30) * 3
pts = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(30)]}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
t0 = time.perf_counter()
tt, km = travel_time_matrix(args["friction"], pts, id_col="id", max_time=args["max_time"], max_memory=args["max_memory"])
r0, r1, c0, c1 = tt.attrs["friction_window"]
print(json.dumps({"wall_s": time.perf_counter() - t0, "window": [r0, r1, c0, c1], "window_cells": (r1 - r0) * (c1 - c0),
                  "reached_pairs": int(np.isfinite(tt.to_numpy()).sum()),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


CHILD = r"""
import json, sys, time, tempfile, pathlib
from eokit.urban.outofcore import degurba_files
from eokit.urban.clusters import polygons_from_files
from eokit.urban.naming import name_clusters
args = json.loads(sys.argv[1])
out = pathlib.Path(args["work"])
t0 = time.perf_counter()
if args["mode"] == "outofcore":
    res = degurba_files(args["pop"], centres=out / "c.tif", clusters=out / "u.tif", level2=out / "l2.tif",
                        max_memory=args["max_memory"], scheduler=args["scheduler"], workers=args["workers"])
    timings = dict(res.timings)
    n = {}
    timings["polygons"] = timings["names"] = 0.0
    for kind in ("centre", "cluster"):
        t1 = time.perf_counter()
        gdf = polygons_from_files(res, kind=kind, workers=args["workers"])
        t2 = time.perf_counter()
        gdf = name_clusters(gdf, labels=res.centres if kind == "centre" else res.clusters)
        timings["polygons"] += t2 - t1
        timings["names"] += time.perf_counter() - t2
        n[kind] = len(gdf)
    extra = {"block_size": res.block_size, "population": res.total_population, "peak_rss_mb_after": res.peak_rss_mb}
else:
    from eokit.urban.clusters import cluster_polygons, read_population
    from eokit.urban.degurba import degree_of_urbanisation
    pop, meta = read_population(args["pop"])
    res = degree_of_urbanisation(pop, transform=meta["transform"], crs=meta["crs"], nodata=-200.0)
    timings = {"classify": time.perf_counter() - t0}
    t1 = time.perf_counter()
    n = {}
    for kind in ("centre", "cluster"):
        gdf = name_clusters(cluster_polygons(res, kind=kind, transform=meta["transform"], crs=meta["crs"]))
        n[kind] = len(gdf)
    timings["polygons_and_names"] = time.perf_counter() - t1
    extra = {"population": float(res.population.sum())}
print(json.dumps({"wall_s": time.perf_counter() - t0, "timings": timings, "n": n, **extra}))
"""


def _tree_rss(proc) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except Exception:
            pass
    return total


def measure(mode: str, pop: Path, *, max_memory: str, scheduler: str, workers: int) -> dict:
    """Run one classification in a child process; wall time, stage times, peak RSS of its process tree."""
    import tempfile

    import psutil

    with tempfile.TemporaryDirectory(dir=cache_dir()) as work:
        args = dict(mode=mode, pop=str(pop), work=work, max_memory=max_memory, scheduler=scheduler, workers=workers)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE)
        ps = psutil.Process(proc.pid)
        peak = [0]

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree_rss(ps))
                time.sleep(0.2)

        import resource

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        out, _ = proc.communicate()
        t.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode:
            return {"mode": mode, "error": f"exit {proc.returncode}", "peak_rss_mb": peak[0] / 2**20}
        rec = json.loads(out.decode().strip().splitlines()[-1])
    import rasterio

    with rasterio.open(pop) as ds:
        cells = ds.width * ds.height
    rec.update(mode=mode, cells=cells, peak_rss_mb=round(peak[0] / 2**20, 1), cpu_s=round(cpu, 1))
    rec["bytes_per_cell"] = round(peak[0] / cells, 2)
    rec["load_avg"] = os.getloadavg()
    return rec


def _print(title: str, rec: dict) -> None:
    print(f"\n== {title}")
    print(json.dumps(rec, indent=1, default=str))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fraction", type=float, default=1.0, help="Run on this fraction of the rows (a middle band).")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-memory", default="2.5GB")
    ap.add_argument("--peer-size", type=int, default=3000, help="Side of the crop for the in-memory comparison.")
    ap.add_argument("--skip-global", action="store_true")
    ap.add_argument("--hundred-m", type=int, default=0, help="Side (1 km cells) of a crop oversampled 4x to 250 m.")
    ap.add_argument("--dask-workers", type=int, default=3)
    ap.add_argument("--traveltime", action="store_true", help="OD matrix over a global 30 arc-second friction surface.")
    a = ap.parse_args()
    path = cache_dir() / "ghs_pop_like_global_1km.tif"
    if not path.exists():
        t = time.perf_counter()
        build_global(path)
        print(f"built {path} ({path.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t:.0f} s")
    print(f"grid: {path} ({path.stat().st_size / 2**30:.2f} GiB); load average {os.getloadavg()}")
    # a populated middle band of rows for the crops
    mid_r, mid_c = HEIGHT // 2 - HEIGHT // 8, WIDTH // 2
    if not a.skip_global:
        target = path
        if a.fraction < 1:
            h = int(HEIGHT * a.fraction)
            r0 = max(mid_r - h // 2, 0)
            target = crop(path, cache_dir() / f"band_{r0}_{h}.tif", (r0, r0 + h, 0, WIDTH))
        rec = measure("outofcore", target, max_memory=a.max_memory, scheduler="threads", workers=a.workers)
        if a.fraction < 1 and "wall_s" in rec:
            rec["extrapolated_global_wall_s"] = round(rec["wall_s"] / a.fraction, 1)
        _print(f"out of core, {'global' if a.fraction >= 1 else f'{a.fraction:.0%} of the rows'}", rec)
    if a.peer_size:
        s = a.peer_size
        sub = crop(path, cache_dir() / f"crop_{s}.tif", (mid_r - s // 2, mid_r + s // 2, mid_c - s, mid_c + s))
        ooc = measure("outofcore", sub, max_memory=a.max_memory, scheduler="threads", workers=a.workers)
        mem = measure("inmemory", sub, max_memory=a.max_memory, scheduler="threads", workers=a.workers)
        _print(f"crop {s} x {2 * s}: out of core", ooc)
        _print(f"crop {s} x {2 * s}: in memory (scipy, whole array)", mem)
        if "wall_s" in ooc and "wall_s" in mem:
            print(
                f"ratio in-memory / out-of-core: wall {mem['wall_s'] / ooc['wall_s']:.2f}, "
                f"peak RSS {mem['peak_rss_mb'] / ooc['peak_rss_mb']:.2f}"
            )
    if a.traveltime:
        fpath = build_friction(cache_dir() / "friction_global_30s.tif")
        args = json.dumps({"friction": str(fpath), "max_time": 600.0, "max_memory": "1GB"})
        out = subprocess.run([sys.executable, "-c", TT_CHILD, args], check=True, capture_output=True).stdout
        rec = json.loads(out.decode().strip().splitlines()[-1])
        rec.update(raster_cells=43_200 * 21_600, load_avg=os.getloadavg())
        _print("travel times, 30 points, --max-time 600, on a 43,200 x 21,600 friction surface", rec)
    if a.hundred_m:
        s = a.hundred_m
        sub = crop(path, cache_dir() / f"crop_{s}_x4.tif", (mid_r - s // 2, mid_r + s // 2, mid_c - s, mid_c + s), 4)
        rec = measure("outofcore", sub, max_memory=a.max_memory, scheduler="local", workers=a.dask_workers)
        _print(f"250 m cells ({s * 4} x {s * 8}) on a Dask LocalCluster, {a.dask_workers} worker processes", rec)


if __name__ == "__main__":
    main()
