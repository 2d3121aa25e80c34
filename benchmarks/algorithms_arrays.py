"""Array API throughput vs one plain numpy pass (``a*b+c``) over the same float32 grid.

    python benchmarks/algorithms_arrays.py            # 10000 x 10000 (about 8 GB RAM peak)
    EOKIT_BENCH_SIZE=4000 python benchmarks/algorithms_arrays.py
    EOKIT_BENCH_ONLY=c_factor,pansharpen_brovey python benchmarks/algorithms_arrays.py   # some cases only

``ratio`` = numpy_pass_s / eokit_s: 0.5 means the algorithm costs two numpy passes.
On a shared machine wall times swing with other jobs' load, so each case also gets a
``*_cpu`` record: CPU seconds of all threads (``time.process_time``, in this process,
best of ``repeat``) for eokit and the numpy pass, and their ratio.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from affine import Affine

from _harness import compare as harness_compare
from eokit.algorithms import (
    c_factor,
    distance_to_mask,
    harmonize,
    pansharpen_brovey,
    pansharpen_kernel,
    qa_pixel_mask,
    scale_collection2,
    spectral_index,
)

N = int(os.environ.get("EOKIT_BENCH_SIZE", "10000"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "3"))
ONLY = [c for c in os.environ.get("EOKIT_BENCH_ONLY", "").split(",") if c]
rng = np.random.default_rng(0)
a = rng.uniform(0.01, 0.5, (N, N)).astype(np.float32)
b = rng.uniform(0.01, 0.5, (N, N)).astype(np.float32)
c = rng.uniform(0.01, 0.5, (N, N)).astype(np.float32)
dn = (a * 30000).astype(np.uint16)
mask = a > 0.499  # ~0.2 % masked pixels
angles = rng.uniform(20, 60, (N, N)).astype(np.float32)
view_zenith = b * 20  # 0.2..10 degrees
rel_azimuth = c * 360
T30 = Affine(30, 0, 0, 0, -30, 0)
PEER = f"numpy {np.__version__} a*b+c"


def numpy_pass():
    return a * b + c


extra = {"size": N}


def cpu_seconds(fn) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def compare(case: str, *, eokit, peer, peer_fn, repeat, extra) -> None:  # the harness record plus CPU time
    if ONLY and not any(case.startswith(c) for c in ONLY):
        return
    harness_compare(case, eokit=eokit, peer=peer, peer_fn=peer_fn, repeat=repeat, extra=extra)
    e, p = cpu_seconds(eokit), cpu_seconds(peer_fn)
    rec = {
        "case": f"{case}_cpu",
        "eokit_cpu_s": round(e, 4),
        "peer_cpu_s": round(p, 4),
        "ratio": round(p / e, 3),
        **extra,
    }
    print(json.dumps(rec), flush=True)


compare(
    "ndvi",
    eokit=lambda: spectral_index("NDVI", {"N": a, "R": b}),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)
compare(
    "evi",
    eokit=lambda: spectral_index("EVI", {"N": a, "R": b, "B": c}),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)
compare(
    "harmonize_l8_to_l7", eokit=lambda: harmonize({"red": a}), peer=PEER, peer_fn=numpy_pass, repeat=REPEAT, extra=extra
)
compare(
    "scale_collection2_sr",
    eokit=lambda: scale_collection2(dn),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)
compare("qa_pixel_mask", eokit=lambda: qa_pixel_mask(dn), peer=PEER, peer_fn=numpy_pass, repeat=REPEAT, extra=extra)
compare(
    "c_factor_per_pixel",
    eokit=lambda: c_factor("red", angles, view_zenith, rel_azimuth),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)
ms3 = np.stack([a, b, c])
compare(
    "pansharpen_brovey_3band",
    eokit=lambda: pansharpen_brovey(ms3, a),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)
compare(
    "pansharpen_kernel_3band_15m",
    eokit=lambda: pansharpen_kernel(ms3, a, pixel_size=15.0),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)
compare(
    "distance_to_mask_r300m",
    eokit=lambda: distance_to_mask(mask, transform=T30, radius=300),
    peer=PEER,
    peer_fn=numpy_pass,
    repeat=REPEAT,
    extra=extra,
)

# DataArray inputs vs numpy inputs: the same kernels through eokit's xarray wrapper.
# ratio = numpy_s / dataarray_s; 0.9 or more means "within 10 %".
try:
    import xarray as xr
except ImportError:  # pragma: no cover - xarray is in the dask extra
    xr = None
if xr is not None:

    def _da(x):
        return xr.DataArray(x, dims=("y", "x") if x.ndim == 2 else ("band", "y", "x"), attrs={"units": "1"})

    xa, xb, xc, xdn, xmask = _da(a), _da(b), _da(c), _da(dn), _da(mask)
    xang, xvz, xra, xms3 = _da(angles), _da(view_zenith), _da(rel_azimuth), _da(ms3)
    PAIRS = {
        "ndvi": (lambda: spectral_index("NDVI", {"N": a, "R": b}), lambda: spectral_index("NDVI", {"N": xa, "R": xb})),
        "harmonize_l8_to_l7": (lambda: harmonize({"red": a}), lambda: harmonize({"red": xa})),
        "scale_collection2_sr": (lambda: scale_collection2(dn), lambda: scale_collection2(xdn)),
        "qa_pixel_mask": (lambda: qa_pixel_mask(dn), lambda: qa_pixel_mask(xdn)),
        "c_factor_per_pixel": (
            lambda: c_factor("red", angles, view_zenith, rel_azimuth),
            lambda: c_factor("red", xang, xvz, xra),
        ),
        "pansharpen_brovey_3band": (lambda: pansharpen_brovey(ms3, a), lambda: pansharpen_brovey(xms3, xa)),
        "distance_to_mask_r300m": (
            lambda: distance_to_mask(mask, transform=T30, radius=300),
            lambda: distance_to_mask(xmask, transform=T30, radius=300),
        ),
    }
    for case, (np_fn, xr_fn) in PAIRS.items():
        compare(f"{case}_dataarray", eokit=xr_fn, peer="eokit numpy inputs", peer_fn=np_fn, repeat=REPEAT, extra=extra)
