"""Pansharpening file tool: multispectral bands resampled onto the pan grid block by block, then sharpened."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eokit.algorithms.pansharpen import kernel_size
from eokit.algorithms.pansharpen import pansharpen as run_pansharpen
from eokit.algorithms.tools._common import PathLike, nodata_to_nan
from eokit.errors import InvalidInputError
from eokit.io import open_raster

__all__ = ["pansharpen_file"]

log = logging.getLogger(__name__)


def pansharpen_file(
    ms: PathLike,
    pan: PathLike,
    target: PathLike,
    *,
    method: str = "kernel",
    bands: Sequence[int] | None = None,
    window_m: float = 90.0,
    resampling: str = "bilinear",
    block_size: int = 1024,
) -> Path:
    """Pansharpen ``ms`` onto the grid of ``pan`` and write float32 bands (NaN nodata).

    The multispectral bands (``bands``, 1-based; default all, 3 for ``hsv``) are
    resampled onto the pan grid with rasterio (``resampling``) block by block, with
    a halo for the kernel method's window.
    """
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window

    from eokit.core.blocks import iter_blocks
    from eokit.io import RasterWriter

    try:
        rs = Resampling[resampling]
    except KeyError:
        raise InvalidInputError(f"unknown resampling {resampling!r}") from None
    with open_raster(pan) as pds, open_raster(ms) as mds:
        if pds.crs is None or mds.crs is None:
            raise InvalidInputError("pan and ms rasters need a CRS to be aligned", path=os.fspath(pan))
        sel = list(bands) if bands else list(range(1, mds.count + 1))
        if any(not 1 <= b <= mds.count for b in sel):
            raise InvalidInputError(f"bands {sel} out of range 1..{mds.count}", path=os.fspath(ms))
        px = abs(pds.transform.a) if pds.crs.is_projected else None
        if method == "kernel" and px is None:
            from eokit.core.crs import pixel_sizes_m

            px = float(np.mean(pixel_sizes_m(pds.transform, pds.crs, pds.height)[0]))
        k = kernel_size(px, window_m) if method == "kernel" else 1
        halo = k // 2
        profile = dict(pds.profile, count=len(sel), dtype="float32", nodata=float("nan"))
        with WarpedVRT(mds, crs=pds.crs, transform=pds.transform, width=pds.width, height=pds.height,
                       resampling=rs, src_nodata=mds.nodata, nodata=np.nan, dtype="float32") as vrt, \
                RasterWriter(target, profile) as writer:  # fmt: skip
            for b in iter_blocks((pds.height, pds.width), block_size, halo=halo):
                win = Window.from_slices(*b.read)
                p = nodata_to_nan(pds.read(1, window=win), pds.nodata)
                m = vrt.read(sel, window=win)
                out = run_pansharpen(m, p, method=method, pixel_size=px, window_m=window_m) \
                    if method == "kernel" else run_pansharpen(m, p, method=method)  # fmt: skip
                r, c = b.inner
                writer.write(np.ascontiguousarray(out[:, r, c]), window=b.window())
    return Path(target)
