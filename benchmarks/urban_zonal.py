"""Zonal statistics (sum/min/max/mean): eokit vs rasterstats and exactextract.

Case 1: 500 polygons over one 5000x5000 raster. Case 2: the same polygons over
12 monthly rasters (eokit: one call, the zone index built once; rasterstats:
one call per raster). Scale with EOKIT_BENCH_SIZE (raster side, default 5000),
EOKIT_BENCH_ZONES (default 500), EOKIT_BENCH_MONTHS (default 12),
EOKIT_BENCH_REPEAT (default 3).

    python benchmarks/urban_zonal.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import geopandas as gpd
import numpy as np
from affine import Affine
from shapely.geometry import Point

from _harness import compare
from eokit.testing import write_test_raster
from eokit.testing.urban_bench import CpuLog
from eokit.urban.zonal import to_wide, zonal_stats

SIZE = int(os.environ.get("EOKIT_BENCH_SIZE", "5000"))
ZONES = int(os.environ.get("EOKIT_BENCH_ZONES", "500"))
MONTHS = int(os.environ.get("EOKIT_BENCH_MONTHS", "12"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "3"))
STATS = ["sum", "min", "max", "mean"]
TR = Affine(100.0, 0, 300000.0, 0, -100.0, 6000000.0)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    rasters = []
    base = (rng.random((SIZE, SIZE)) * 100).astype("float32")
    for m in range(MONTHS):
        rasters.append(
            write_test_raster(
                tmp / f"m{m:02d}.tif", base * (1 + 0.01 * m), crs="EPSG:32633", transform=TR, nodata=-1.0, tiled=True
            )
        )
    extent = SIZE * 100.0
    radius = extent / np.sqrt(ZONES) / 2.5
    geoms = [
        Point(300000 + rng.random() * extent, 6000000 - rng.random() * extent).buffer(radius * (0.5 + rng.random()))
        for _ in range(ZONES)
    ]
    zones = gpd.GeoDataFrame({"zid": range(ZONES)}, geometry=geoms, crs=32633)
    zpath = tmp / "zones.gpkg"
    zones.to_file(zpath)

    import rasterstats

    try:
        import exactextract
    except ImportError:
        exactextract = None

    one = rasters[0]
    ours = to_wide(zonal_stats(zones, one, stats=STATS, names=["r"]))
    ref = rasterstats.zonal_stats(zones, str(one), stats=STATS)
    err = max(
        abs(ours["r_sum"].iloc[i] - (r["sum"] or 0.0)) / max(1.0, abs(r["sum"] or 0.0)) for i, r in enumerate(ref)
    )
    grid = f"{SIZE}x{SIZE}, {ZONES} zones"
    cpu = CpuLog(max_rel_diff_sum=float(err))
    compare(
        f"zonal sum/min/max/mean {grid}",
        eokit=cpu.wrap("eokit", lambda: zonal_stats(zones, one, stats=STATS)),
        peer=f"rasterstats {rasterstats.__version__}",
        peer_fn=cpu.wrap("peer", lambda: rasterstats.zonal_stats(zones, str(one), stats=STATS)),
        repeat=REPEAT,
        warmup=False,
        extra=cpu,
    )
    if exactextract is not None:
        ver = getattr(exactextract, "__version__", "?")
        cpu = CpuLog(note="exactextract weights partial cells (coverage fractions)")
        compare(
            f"zonal sum/min/max/mean {grid}",
            eokit=cpu.wrap("eokit", lambda: zonal_stats(zones, one, stats=STATS)),
            peer=f"exactextract {ver}",
            peer_fn=cpu.wrap("peer", lambda: exactextract.exact_extract(str(one), zones, STATS, output="pandas")),
            repeat=REPEAT,
            warmup=False,
            extra=cpu,
        )
    cpu = CpuLog()
    compare(
        f"zonal {MONTHS} monthly rasters {grid}",
        eokit=cpu.wrap("eokit", lambda: zonal_stats(zones, rasters, stats=STATS)),
        peer=f"rasterstats {rasterstats.__version__} (one call per raster)",
        peer_fn=cpu.wrap("peer", lambda: [rasterstats.zonal_stats(zones, str(r), stats=STATS) for r in rasters]),
        repeat=REPEAT,
        warmup=False,
        extra=cpu,
    )


if __name__ == "__main__":
    main()
