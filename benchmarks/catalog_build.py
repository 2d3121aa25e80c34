"""Catalog build: eokit vs the seed's approach (rio-stac create_stac_item + laspy + pystac save).

A generated store of N small GeoTIFFs + N/50 LAZ files (default N=2000; the issue's full case is
``EOKIT_BENCH_CATALOG_N=10000``), one item per file. Also times an incremental re-crawl with nothing
changed and the STAC API's paged search throughput.

    python benchmarks/catalog_build.py            # N=2000
    EOKIT_BENCH_CATALOG_N=10000 python benchmarks/catalog_build.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, measure

N = int(os.environ.get("EOKIT_BENCH_CATALOG_N", "2000"))
N_LAZ = max(1, N // 50)
WORKERS = int(os.environ.get("EOKIT_BENCH_WORKERS", "2"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "1"))


def make_tree(root: Path) -> None:
    from eokit.testing.catalog_tree import write_small_geotiff, write_small_laz

    for i in range(N):
        x0, y0 = 500000.0 + 50.0 * (i % 200), 4400000.0 - 50.0 * (i // 200)
        write_small_geotiff(root / f"tiles/{i // 1000:03d}/tile_{i:05d}.tif", x0=x0, y0=y0, size=16)
    for j in range(N_LAZ):
        write_small_laz(root / f"clouds/cloud_{j:04d}.laz", x0=500000.0 + 60.0 * j, y0=4390000.0, seed=j)


def eokit_build(root: Path, out: Path, incremental: bool = False) -> None:
    from eokit.catalog import build_catalog

    res = build_catalog(root, out, workers=WORKERS, incremental=incremental)
    assert res.n_items == N + N_LAZ and not res.skipped, (res.n_items, res.skipped[:3])


def seed_build(root: Path, out: Path) -> None:
    """The seed notebook's approach, with rio-stac for rasters instead of hand-written rasterio calls."""
    import datetime as dt

    import laspy
    import pystac
    from pyproj import CRS, Transformer
    from rio_stac import create_stac_item
    from shapely.geometry import box, mapping

    when = dt.datetime(2023, 5, 25, 12)

    def tif_item(path: Path) -> pystac.Item:
        return create_stac_item(str(path), input_datetime=when, with_proj=True, asset_media_type=pystac.MediaType.COG)

    def las_item(path: Path) -> pystac.Item:
        with laspy.open(path) as f:
            h = f.header
            crs = h.parse_crs()
        tr = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
        w, s, e, n = tr.transform_bounds(h.mins[0], h.mins[1], h.maxs[0], h.maxs[1])
        item = pystac.Item(path.stem, mapping(box(w, s, e, n)), [w, s, e, n], when, {})
        item.add_asset("data", pystac.Asset(str(path), media_type="application/vnd.laszip", roles=["data"]))
        return item

    tifs = sorted(root.rglob("*.tif"))
    lazs = sorted(root.rglob("*.laz"))
    with ThreadPoolExecutor(WORKERS) as ex:
        items = list(ex.map(tif_item, tifs)) + list(ex.map(las_item, lazs))
    catalog = pystac.Catalog("catalog", "seed approach")
    collection = pystac.Collection("collection", "seed", pystac.Extent.from_items(items), license="other")
    for item in items:
        collection.add_item(item)
    catalog.add_child(collection)
    catalog.normalize_hrefs(str(out))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    assert len(items) == N + N_LAZ


def serve_throughput(out: Path) -> dict:
    import requests

    from eokit.catalog.server import running_server

    with running_server(out, db_path=out.parent / "bench-index.sqlite") as url:
        t0 = time.perf_counter()
        n, r = 0, requests.get(f"{url}/search", params={"limit": 250}, timeout=60)
        while True:
            page = r.json()
            n += len(page["features"])
            nxt = [ln for ln in page["links"] if ln["rel"] == "next"]
            if not nxt:
                break
            r = requests.get(nxt[0]["href"], timeout=60)
        elapsed = time.perf_counter() - t0
    assert n == N + N_LAZ
    return {"case": f"catalog-serve-paged-search-{n}-items", "eokit_s": round(elapsed, 4), "peer": "none",
            "peer_s": None, "ratio": None, "items_per_s": round(n / elapsed, 1)}  # fmt: skip


def main() -> None:
    # imports happen here, once, for both sides: the forked timed runs measure the work, not imports
    import laspy  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import pystac  # noqa: F401
    import rio_stac
    import stac_geoparquet.arrow  # noqa: F401

    import eokit.catalog.build
    import eokit.catalog.pointcloud
    import eokit.catalog.raster  # noqa: F401

    base = Path(tempfile.mkdtemp(prefix="eokit-bench-catalog-"))
    try:
        root = base / "store"
        t0 = time.perf_counter()
        make_tree(root)
        print(f"generated {N} GeoTIFF + {N_LAZ} LAZ in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        compare(
            f"catalog-build-{N}tif-{N_LAZ}laz",
            eokit=lambda: eokit_build(root, base / "eokit-out"),
            peer=f"rio-stac {rio_stac.__version__} + pystac save",
            peer_fn=lambda: seed_build(root, base / "seed-out"),
            repeat=REPEAT,
            warmup=False,
            extra={"workers": WORKERS},
        )
        eokit_build(root, base / "incr-out")
        incr_s, incr_mib = measure(lambda: eokit_build(root, base / "incr-out", incremental=True), repeat=REPEAT)
        print(json.dumps({"case": f"catalog-incremental-nothing-changed-{N + N_LAZ}-files", "eokit_s": round(incr_s, 4),
                          "peer": "none", "peer_s": None, "ratio": None, "eokit_peak_mib": round(incr_mib, 1)}))  # fmt: skip
        print(json.dumps(serve_throughput(base / "incr-out")), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
