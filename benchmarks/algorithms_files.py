"""File tools (block-wise, atomic) vs a plain rasterio read + write of the same file; peak memory flat.

    python benchmarks/algorithms_files.py               # 8000 x 8000 inputs
    EOKIT_BENCH_FILE_SIZE=3000 python benchmarks/algorithms_files.py

The peer reads the whole input with rasterio and writes one float32 band with the
same creation options (tiled 512, deflate, predictor); ``ratio`` = peer_s / eokit_s
(0.67 = eokit takes 1.5x the read+write). The last records run the distance tool
on a raster and on one 4x larger (2x per side): eokit's peak memory should not grow.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, measure
from eokit.algorithms import tools

N = int(os.environ.get("EOKIT_BENCH_FILE_SIZE", "8000"))
REPEAT = int(os.environ.get("EOKIT_BENCH_REPEAT", "3"))
TMP = Path(tempfile.mkdtemp(prefix="eokit-bench-algo-"))
PROFILE = dict(driver="GTiff", crs="EPSG:32633", tiled=True, blockxsize=512, blockysize=512, compress="deflate")


def make(path: Path, n: int, count: int, dtype: str, fill) -> Path:
    prof = dict(PROFILE, width=n, height=n, count=count, dtype=dtype, transform=Affine(30, 0, 500000, 0, -30, 5000000))
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **prof) as ds:
        for r in range(0, n, 1024):
            h = min(1024, n - r)
            ds.write(fill(rng, (count, h, n)).astype(dtype), window=((r, r + h), (0, n)))
    return path


def read_write(src: Path, dst: Path) -> None:
    with rasterio.open(src) as ds:
        a = ds.read()
        prof = dict(ds.profile, count=1, dtype="float32", predictor=3, nodata=None)
    with rasterio.open(dst, "w", **prof) as out:
        out.write(a[0].astype(np.float32), 1)


refl = make(TMP / "refl.tif", N, 2, "uint16", lambda g, s: g.integers(7000, 30000, s))
maskf = make(TMP / "mask.tif", N, 1, "uint8", lambda g, s: g.random(s) > 0.998)
qa = make(TMP / "qa.tif", N, 1, "uint16", lambda g, s: g.integers(0, 1 << 12, s))
extra = {"size": N}
peer = f"rasterio {rasterio.__version__} read+write"


def same_output_peer(record: dict, src: Path, out: Path) -> None:
    """A second peer: read ``src`` and write the tool's own output values with the tool's profile.

    The first peer writes the input's first band, which can compress far more easily than
    the tool's output (e.g. a 0/1 mask vs float distances); this one isolates eokit's
    overhead from the cost of compressing those particular output values.
    """
    with rasterio.open(out) as ds:
        values = ds.read()
        # rasterio's profile does not report the predictor: use the one eokit's writer sets
        prof = dict(ds.profile, predictor=3 if np.dtype(ds.dtypes[0]).kind == "f" else 2)

    def peer_fn() -> None:
        with rasterio.open(src) as ds:
            ds.read()
        with rasterio.open(TMP / "peer_same.tif", "w", **prof) as dst:
            dst.write(values)

    secs, mib = measure(peer_fn, repeat=REPEAT)
    rec = {
        "case": f"{record['case']}_vs_same_output",
        "eokit_s": record["eokit_s"],
        "peer": f"rasterio {rasterio.__version__} read + write of the tool's output values",
        "peer_s": round(secs, 4),
        "ratio": round(secs / record["eokit_s"], 3),
        "eokit_peak_mib": record["eokit_peak_mib"],
        "peer_peak_mib": round(mib, 1),
        "size": N,
    }
    print(json.dumps(rec), flush=True)


rec = compare("index_file_ndvi", eokit=lambda: tools.index_file([refl], TMP / "ndvi.tif", "NDVI", {"N": "2", "R": "1"}, scale=2.75e-5, offset=-0.2),
              peer=peer, peer_fn=lambda: read_write(refl, TMP / "peer.tif"), repeat=REPEAT, extra=extra)  # fmt: skip
same_output_peer(rec, refl, TMP / "ndvi.tif")
rec = compare("scale_collection2_file", eokit=lambda: tools.scale_collection2_file(maskf, TMP / "sr.tif"),
              peer=peer, peer_fn=lambda: read_write(maskf, TMP / "peer.tif"), repeat=REPEAT, extra=extra)  # fmt: skip
same_output_peer(rec, maskf, TMP / "sr.tif")
rec = compare("qa_mask_file", eokit=lambda: tools.qa_mask_file(qa, TMP / "qam.tif"),
              peer=peer, peer_fn=lambda: read_write(qa, TMP / "peer.tif"), repeat=REPEAT, extra=extra)  # fmt: skip
same_output_peer(rec, qa, TMP / "qam.tif")
rec = compare("distance_to_mask_file_r300m", eokit=lambda: tools.distance_to_mask_file(maskf, TMP / "dist.tif", radius=300),
              peer=peer, peer_fn=lambda: read_write(maskf, TMP / "peer.tif"), repeat=REPEAT, extra=extra)  # fmt: skip
same_output_peer(rec, maskf, TMP / "dist.tif")

# peak memory: the same tool on a 4x larger raster
big = make(TMP / "mask_big.tif", 2 * N, 1, "uint8", lambda g, s: g.random(s) > 0.998)
for label, src in (("1x", maskf), ("4x", big)):
    secs, peak = measure(
        lambda src=src, label=label: tools.distance_to_mask_file(src, TMP / f"d_{label}.tif", radius=300), repeat=1
    )
    side = N if label == "1x" else 2 * N
    print(
        f'{{"case": "distance_to_mask_file_peak_{label}", "pixels": {side * side}, "eokit_s": {secs:.3f}, "eokit_peak_mib": {peak:.1f}}}',
        flush=True,
    )
