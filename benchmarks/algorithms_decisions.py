"""The two measurements behind keeping ``_trig32.py`` and ``_formula.py`` (issue 14, item 7).

    python benchmarks/algorithms_decisions.py            # 3000 x 3000 NBAR, 4000 x 4000 indices
    EOKIT_BENCH_SIZE=2000 python benchmarks/algorithms_decisions.py

1. NBAR of six bands with float32 angles (the float32 c-factor kernel the ``algo brdf``
   tool now feeds) vs float64 angles (the float64 kernel it used before); wall and CPU
   seconds, medians of 5, and the largest relative difference.
2. Spectral indices through the compiled formula kernel vs numexpr (the fallback), same
   inputs; medians of 5 and the largest absolute difference.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from eokit.algorithms import brdf, indices

N = int(os.environ.get("EOKIT_BENCH_SIZE", "0"))
REPEAT = 5
rng = np.random.default_rng(0)


def median(fn):
    fn()
    runs = []
    for _ in range(REPEAT):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    runs.sort()
    return runs[len(runs) // 2]


def nbar_case(n: int) -> None:
    sz, vz, ra = (rng.uniform(lo, hi, (n, n)).astype(np.float32) for lo, hi in ((20, 60), (0, 8), (0, 360)))
    bands = {
        k: rng.uniform(0.02, 0.4, (n, n)).astype(np.float32) for k in ("blue", "green", "red", "nir", "swir1", "swir2")
    }
    s64, v64, r64 = (x.astype(np.float64) for x in (sz, vz, ra))
    f32 = median(lambda: brdf.nbar(bands, sun_zenith=sz, view_zenith=vz, relative_azimuth=ra))
    f64 = median(lambda: brdf.nbar(bands, sun_zenith=s64, view_zenith=v64, relative_azimuth=r64))
    a = brdf.nbar(bands, sun_zenith=sz, view_zenith=vz, relative_azimuth=ra)
    b = brdf.nbar(bands, sun_zenith=s64, view_zenith=v64, relative_azimuth=r64)
    diff = max(float(np.max(np.abs(a[k] - b[k]) / b[k])) for k in a)
    print(json.dumps({"case": "nbar_6bands", "px": n * n, "float32_wall_s": round(f32[0], 3),
                      "float32_cpu_s": round(f32[1], 3), "float64_wall_s": round(f64[0], 3),
                      "float64_cpu_s": round(f64[1], 3), "cpu_ratio": round(f64[1] / f32[1], 2),
                      "max_rel_diff": diff}), flush=True)  # fmt: skip


def formula_case(n: int) -> None:
    a, b, c = (rng.uniform(0.01, 0.5, (n, n)).astype(np.float32) for _ in range(3))
    for name, env in (("NDVI", {"N": a, "R": b}), ("EVI", {"N": a, "R": b, "B": c}), ("SAVI", {"N": a, "R": b}),
                      ("NIRv", {"N": a, "R": b})):  # fmt: skip
        old = indices.COMPILED_MIN_SIZE
        try:
            indices.COMPILED_MIN_SIZE = 1
            compiled = median(lambda name=name, env=env: indices.spectral_index(name, env))
            r1 = indices.spectral_index(name, env)
            indices.COMPILED_MIN_SIZE = 1 << 62
            numexpr = median(lambda name=name, env=env: indices.spectral_index(name, env))
            r2 = indices.spectral_index(name, env)
        finally:
            indices.COMPILED_MIN_SIZE = old
        print(json.dumps({"case": f"index_{name}", "px": n * n, "compiled_s": round(compiled[0], 4),
                          "numexpr_s": round(numexpr[0], 4), "ratio": round(numexpr[0] / compiled[0], 2),
                          "max_abs_diff": float(np.nanmax(np.abs(r1 - r2)))}), flush=True)  # fmt: skip


if __name__ == "__main__":
    nbar_case(N or 3000)
    formula_case(N or 4000)
