"""eokit.resample vs CNES gridr 0.7.0 on the issue's case, plus the chain's memory.

Case: a 4000x4000 float32 source, a 400x400 float64 grid at resolution (10, 10)
(about 16 Mpixel out), rotation + scale + mild distortion; nearest, linear and
cubic, bspline3 and bspline5 (epsilon 1e-6, prefilter included in the timing on
both sides) with full validity semantics (output mask, bounds). gridr needs a
float64 source: its copy is made once, outside the timing (in gridr's favour).

Chain: the same job file-to-file (tiled GeoTIFFs); gridr's chain with its
defaults vs eokit's chain with ``max_memory``; then the output grown 4x
(resolution (20, 20)) to show eokit's peak memory stays flat; a summary line
gives both chains' peaks (the largest over the repeats) for both sizes.

    python benchmarks/resample_grid.py            # full size
    EOKIT_BENCH_SCALE=0.25 python benchmarks/resample_grid.py   # quicker
    EOKIT_BENCH_CHAIN_REPEAT=1 ...                               # one chain run per side
"""

from __future__ import annotations

import os

# The harness forks timed children after a warm-up run in this process; GNU
# OpenMP is not fork-safe, numba's workqueue layer is.
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare
from eokit.resample import array_grid_resampling, basic_grid_resampling_chain
from eokit.testing.resample_grids import distorted_grid, write_grid

warnings.simplefilter("ignore")
SCALE = float(os.environ.get("EOKIT_BENCH_SCALE", "1"))
N = int(4000 * SCALE)
G = int(400 * SCALE)
RES = (10, 10)
CHAIN_REPEAT = int(os.environ.get("EOKIT_BENCH_CHAIN_REPEAT", "3"))
# gridr's B-splines with their options (eokit: the same truncated prefilter and validity)
KW = {f"bspline{n}": {"epsilon": 1e-6, "mask_influence_threshold": 0.001} for n in (3, 5)}
# the targets: eokit's wall-time speed-up over gridr (2 threads vs gridr's one)
TARGETS = {"nearest": 8.0, "linear": 6.0, "cubic": 4.0, "bspline3": 3.0, "bspline5": 3.0}
INTERPS = [i for i in os.environ.get("EOKIT_BENCH_INTERPS", "nearest,linear,cubic,bspline3,bspline5").split(",") if i]


def source(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.normal(size=(n // 8 + 4, n // 8 + 4)).astype(np.float32)
    from scipy.ndimage import zoom

    return np.ascontiguousarray(zoom(img, 8, order=1)[:n, :n] * 100 + rng.normal(size=(n, n)).astype(np.float32))


def grid(g: int, res: tuple[int, int], n: int) -> tuple[np.ndarray, np.ndarray]:
    # rotate by 0.3 rad and scale so the output mostly covers the source (corners fall outside)
    span = (g - 1) * res[0]
    scale = 0.85 * n / span
    ca, sa = np.cos(0.3), np.sin(0.3)
    cy = cx = (n - 1) / 2
    oy = cy - scale * (ca * span / 2 - sa * span / 2)
    ox = cx - scale * (sa * span / 2 + ca * span / 2)
    return distorted_grid((g, g), res, origin=(oy, ox), angle=0.3, scale=scale, shear=0.0, distortion=2.0 * SCALE)


def _one_thread(fn):
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn()
    finally:
        numba.set_num_threads(old)


def _cpu_seconds(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def core_cases() -> None:
    from gridr.core.grid.grid_resampling import array_grid_resampling as gridr_ars

    src32 = source(N)
    src64 = src32.astype(np.float64)
    gr, gc = grid(G, RES, N)

    def peer(interp: str):
        return gridr_ars(
            interp=interp, array_in=src64, grid_row=gr, grid_col=gc, grid_resolution=RES, array_out=None,
            array_out_mask=True, nodata_out=0.0, interp_kwargs=KW.get(interp),
        )  # fmt: skip

    def ours(interp: str, dtype: type = np.float32):
        return array_grid_resampling(
            interp, src32, gr, gc, RES, None, array_out_mask=True, dtype=dtype, interp_kwargs=KW.get(interp)
        )

    for interp in INTERPS:
        ref, ref_mask = peer(interp)
        out, mask = ours(interp, np.float64)
        valid = ref_mask == 1
        extra = {
            "out_mpix": round(out.size / 1e6, 1),
            "masks_identical": bool(np.array_equal(mask, ref_mask)),
            "max_abs_diff_valid": float(np.abs(out[valid] - ref[valid]).max()),
            "valid_fraction": round(float(valid.mean()), 3),
            "eokit_out": "float32",
        }
        del ref, out
        extra["target_ratio"] = TARGETS.get(interp)
        rec = compare(
            f"array_grid_resampling {interp} {N}x{N} f32 src, {G}x{G} grid res {RES}",
            eokit=lambda i=interp: ours(i),
            peer="gridr 0.7.0",
            peer_fn=lambda i=interp: peer(i),
            extra=extra,
        )
        if interp in TARGETS:
            print(json.dumps({"case": f"target {interp}", "ratio": rec["ratio"], "target": TARGETS[interp],
                              "met": rec["ratio"] >= TARGETS[interp], "load": os.getloadavg()[0]}), flush=True)  # fmt: skip
        # gridr is single-threaded: the same job on one eokit thread isolates the kernel speed
        # from the core count (and from other load on a shared machine)
        # CPU seconds of one thread (process_time), in this process: steadier than wall time when
        # other jobs share the machine
        cpu_e = _cpu_seconds(lambda i=interp: _one_thread(lambda: ours(i)))
        cpu_p = _cpu_seconds(lambda i=interp: peer(i))
        compare(
            f"array_grid_resampling {interp} single-thread",
            eokit=lambda i=interp: _one_thread(lambda: ours(i)),
            peer="gridr 0.7.0",
            peer_fn=lambda i=interp: peer(i),
            extra={"eokit_cpu_s": round(cpu_e, 4), "peer_cpu_s": round(cpu_p, 4), "cpu_ratio": round(cpu_p / cpu_e, 2)},
        )


def chain_cases(tmp: Path) -> None:
    from gridr.chain.grid_resampling_chain import basic_grid_resampling_chain as gridr_chain

    src = source(N)
    with rasterio.open(
        tmp / "src.tif", "w", driver="GTiff", height=N, width=N, count=1, dtype="float32", tiled=True,
        blockxsize=256, blockysize=256,
    ) as ds:  # fmt: skip
        ds.write(src, 1)
    del src
    for res in ((10, 10), (20, 20)):
        gr, gc = grid(G, res, N)
        write_grid(tmp / f"grid{res[0]}.tif", gr, gc)
    shapes = {r: ((G - 1) * r + 1, (G - 1) * r + 1) for r in (10, 20)}

    def run(fn, r: int, **kw) -> None:
        h, w = shapes[r]
        prof = dict(driver="GTiff", height=h, width=w, count=1, dtype="float32", tiled=True, blockxsize=256,
                    blockysize=256)  # fmt: skip
        with (
            rasterio.open(tmp / f"grid{r}.tif") as g,
            rasterio.open(tmp / "src.tif") as s,
            rasterio.open(tmp / f"out_{fn.__module__.split('.')[0]}_{r}.tif", "w", **prof) as o,
            rasterio.open(tmp / f"mask_{fn.__module__.split('.')[0]}_{r}.tif", "w", **dict(prof, dtype="uint8")) as m,
        ):
            fn(
                grid_ds=g, grid_row_coords_band=1, grid_col_coords_band=2, grid_resolution=(r, r), array_src_ds=s,
                array_src_bands=1, array_out_ds=o, interp="linear", nodata_out=0.0, mask_out_ds=m, **kw,
            )  # fmt: skip

    budget = f"{max(4, round(64 * SCALE * SCALE))}MB"
    eokit_kw = dict(max_memory=budget, ncpu=os.cpu_count() or 1)
    small = compare(
        f"chain linear file->file {shapes[10][0]}^2 out (gridr defaults vs eokit max_memory={budget})",
        eokit=lambda: run(basic_grid_resampling_chain, 10, **eokit_kw),
        peer="gridr 0.7.0",
        peer_fn=lambda: run(gridr_chain, 10),
        repeat=CHAIN_REPEAT,
    )
    large = compare(
        f"chain linear file->file {shapes[20][0]}^2 out (4x larger output)",
        eokit=lambda: run(basic_grid_resampling_chain, 20, **eokit_kw),
        peer="gridr 0.7.0",
        peer_fn=lambda: run(gridr_chain, 20),
        repeat=CHAIN_REPEAT,
    )
    # peak resident memory above the start, the largest over the repeats (forked runs)
    print(
        json.dumps(
            {
                "case": "chain peak memory (MiB, max over repeats)",
                "repeats": CHAIN_REPEAT,
                "eokit_small": small["eokit_peak_mib"],
                "eokit_4x": large["eokit_peak_mib"],
                "eokit_growth": round(large["eokit_peak_mib"] / small["eokit_peak_mib"], 3),
                "gridr_small": small["peer_peak_mib"],
                "gridr_4x": large["peer_peak_mib"],
                "gridr_growth": round(large["peer_peak_mib"] / small["peer_peak_mib"], 3),
                "target": "eokit's peak flat (growth <= 1.25) while the output grows 4x",
                "met": large["eokit_peak_mib"] <= 1.25 * small["eokit_peak_mib"],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    core_cases()
    with tempfile.TemporaryDirectory() as d:
        chain_cases(Path(d))
