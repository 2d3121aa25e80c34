"""OD travel-time and route-length matrices: eokit (early-stopping numba Dijkstra, origins in
parallel threads) vs one scikit-image MCP_Geometric run plus tracebacks per origin (the seed's method).

50 origins (also the destinations) on a 2000x2000 friction grid. Scale with
EOKIT_BENCH_SIZE (default 2000), EOKIT_BENCH_ORIGINS (default 50),
EOKIT_BENCH_REPEAT (default 1: the peer alone takes minutes).

    python benchmarks/urban_traveltime.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from affine import Affine

from _harness import compare
from eokit.testing.urban_bench import CpuLog
from eokit.urban.traveltime import od_matrix

SIZE = int(os.environ.get("EOKIT_BENCH_SIZE", "2000"))
ORIGINS = int(os.environ.get("EOKIT_BENCH_ORIGINS", "50"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "1"))
TR = Affine(1000.0, 0, 0.0, 0, -1000.0, SIZE * 1000.0)
CRS = "ESRI:54009"


def main() -> None:
    rng = np.random.default_rng(0)
    friction = rng.uniform(0.5e-3, 3e-3, (SIZE, SIZE))  # minutes per metre: 20-120 km/h
    friction[rng.random(friction.shape) < 0.02] = np.inf  # scattered impassable cells
    pts = np.stack([rng.integers(0, SIZE, ORIGINS), rng.integers(0, SIZE, ORIGINS)], axis=1)
    friction[pts[:, 0], pts[:, 1]] = 1e-3
    cells = [tuple(map(int, p)) for p in pts]

    def run_eokit():
        return od_matrix(friction, cells, transform=TR, crs=CRS, workers=2)  # origins = destinations

    from skimage.graph import MCP_Geometric

    finite = np.where(np.isfinite(friction), friction, -1.0)  # MCP: negative = impassable

    def run_mcp():
        # the seed's method: one full MCP run per origin, then a traceback per destination
        # for the route length (eokit returns both matrices too)
        minutes = np.empty((ORIGINS, ORIGINS))
        km = np.empty((ORIGINS, ORIGINS))
        for i, o in enumerate(cells):
            mcp = MCP_Geometric(finite, sampling=(1000.0, 1000.0))
            costs, _ = mcp.find_costs([o])
            minutes[i] = costs[pts[:, 0], pts[:, 1]]
            for j, d in enumerate(cells):
                path = np.asarray(mcp.traceback(d), dtype=float)
                km[i, j] = np.hypot(*np.diff(path, axis=0).T).sum()  # 1 km cells
        return minutes, km

    od_matrix(friction[:50, :50], [(0, 0)], transform=TR, crs=CRS)  # compile outside the timing
    ours, _ = run_eokit()
    theirs, _ = run_mcp()
    diff = float(np.nanmax(np.abs(ours - theirs) / np.maximum(theirs, 1e-12)))
    import skimage

    cpu = CpuLog(max_rel_diff=diff, workers=2)
    compare(
        f"OD matrix {ORIGINS}x{ORIGINS} on {SIZE}x{SIZE}",
        eokit=cpu.wrap("eokit", run_eokit),
        peer=f"scikit-image {skimage.__version__} MCP_Geometric + traceback per origin",
        peer_fn=cpu.wrap("peer", run_mcp),
        repeat=REPEAT,
        warmup=False,
        extra=cpu,
    )


if __name__ == "__main__":
    main()
