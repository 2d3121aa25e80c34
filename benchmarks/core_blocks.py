"""Block-wise read -> compute -> write (eokit.io.process_raster_blocks) vs a whole-array rasterio read/write.

One JSON line per case; ``ratio`` = peer_s / eokit_s. The point is bounded memory at
similar speed: eokit's peak stays at a few blocks per worker whatever the raster size.

    EOKIT_BENCH_CORE_SIZE=8000 python benchmarks/core_blocks.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
import rasterio
from affine import Affine

from _harness import compare
from eokit.io import process_raster_blocks
from eokit.testing.blockfuncs import box_sum3, double

SIZE = int(os.environ.get("EOKIT_BENCH_CORE_SIZE", "8000"))


def _make(path: Path, size: int) -> Path:
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs="EPSG:32618",
        transform=Affine(10, 0, 500000, 0, -10, 4000000),
        tiled=True,
        blockxsize=512,
        blockysize=512,
    )
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **profile) as ds:
        for r in range(0, size, 512):
            h = min(512, size - r)
            ds.write(rng.random((h, size), dtype=np.float32), 1, window=((r, r + h), (0, size)))
    return path


def _plain(src: Path, dst: Path, op) -> None:
    with rasterio.open(src) as ds:
        data = ds.read(1)
        profile = ds.profile
    profile.update(dtype="float64", compress="zstd", zstd_level=1, predictor=3)  # what eokit writes
    with rasterio.open(dst, "w", **profile) as out:
        out.write(op(data), 1)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="eokit-bench-core-"))
    for size in (SIZE, SIZE * 2):
        src = _make(work / f"src{size}.tif", size)
        for name, op, halo in (("per-pixel x2", double, 0), ("3x3 box sum", box_sum3, 1)):
            compare(
                f"blocks {name} {size}x{size} float32",
                eokit=lambda src=src, op=op, halo=halo: process_raster_blocks(
                    src, work / "e.tif", op, halo=halo, dtype="float64", block_size=1024
                ),
                peer="rasterio whole-array read+compute+write (same zstd output)",
                peer_fn=lambda src=src, op=op: _plain(src, work / "p.tif", op),
                repeat=3,
            )
        src.unlink()


if __name__ == "__main__":
    main()
