"""Urban clusters from a population grid: eokit vs GOST's calculateUrban (gosturban 1.0.0).

Both run GOST's rules (cell value > 300, 4-connected, >= 5,000 people, no
smoothing) so the outputs are the same clusters; eokit also builds the
urban-centre layer in the same call. Scale with EOKIT_BENCH_SIZE (grid side,
default 2000) and EOKIT_BENCH_REPEAT (default 3).

    python benchmarks/urban_clusters.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from affine import Affine

from _harness import compare
from eokit.testing import write_test_raster
from eokit.urban.clusters import cluster_polygons, read_population
from eokit.urban.degurba import DegurbaParams, degree_of_urbanisation

SIZE = int(os.environ.get("EOKIT_BENCH_SIZE", "2000"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "3"))


def make_population(path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    pop = rng.gamma(0.5, 40.0, (n, n))  # rural noise
    villages = rng.integers(0, n * n, n * n // 300)  # villages: single cells above 300 people
    pop.ravel()[villages] += rng.uniform(300.0, 2000.0, villages.size)
    k = max(4, n * n // 40_000)
    rows, cols = rng.integers(0, n, k), rng.integers(0, n, k)
    pops = rng.lognormal(10.0, 1.2, k)
    sig = 1.0 + 2.0 * np.sqrt(pops / 1e6)
    for r, c, p, s in zip(rows, cols, pops, sig):
        h = int(4 * s) + 1
        r0, r1, c0, c1 = max(r - h, 0), min(r + h + 1, n), max(c - h, 0), min(c + h + 1, n)
        rr, cc = np.mgrid[r0:r1, c0:c1]
        w = np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * s * s))
        pop[r0:r1, c0:c1] += p * w / w.sum()
    tr = Affine(1000.0, 0, -2_000_000.0, 0, -1000.0, 3_000_000.0)
    return write_test_raster(path, pop.astype("float32"), crs="ESRI:54009", transform=tr)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    path = make_population(tmp / "pop.tif", SIZE)
    params = DegurbaParams(smooth=False)

    def run_eokit():
        pop, meta = read_population(path)
        res = degree_of_urbanisation(pop, transform=meta["transform"], crs=meta["crs"], method="gost", params=params)
        return cluster_polygons(res, kind="cluster", transform=meta["transform"], crs=meta["crs"])

    try:
        from GOSTurban.UrbanRaster import urbanGriddedPop
    except ImportError as exc:  # peer missing: report eokit alone
        print(f"gosturban unavailable ({exc})", file=sys.stderr)
        urbanGriddedPop = None

    def run_gost():
        return urbanGriddedPop(str(path)).calculateUrban(densVal=300, totalPopThresh=5000, smooth=False, queen=False)

    ours = run_eokit()
    extra = {"grid": f"{SIZE}x{SIZE}", "clusters": len(ours)}
    if urbanGriddedPop is not None:
        theirs = run_gost()
        extra["peer_clusters"] = len(theirs)
        extra["same_population"] = bool(np.isclose(ours.population.sum(), theirs["pop"].sum(), rtol=1e-6))
    compare(
        f"urban clusters (GOST rules) {SIZE}x{SIZE}",
        eokit=run_eokit,
        peer="gosturban 1.0.0",
        peer_fn=run_gost if urbanGriddedPop is not None else None,
        repeat=REPEAT,
        warmup=False,
        extra=extra,
    )


if __name__ == "__main__":
    main()
