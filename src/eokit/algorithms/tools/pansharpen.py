"""Pansharpening file tool: multispectral bands resampled onto the pan grid block by block, then sharpened."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    pan: PathLike | None,
    target: PathLike,
    *,
    method: str = "kernel",
    bands: Sequence[int | str] | None = None,
    window_m: float = 90.0,
    resampling: str = "bilinear",
    block_size: int = 1024,
) -> Path:
    """Pansharpen ``ms`` onto the grid of ``pan`` and write float32 bands (NaN nodata).

    The multispectral bands (``bands``, 1-based; default all, 3 for ``hsv``) are
    resampled onto the pan grid with rasterio (``resampling``) block by block, with
    a halo for the kernel method's window.

    ``ms`` may be a product (Landsat bundle, Sentinel-2 SAFE, STAC item) with
    ``bands`` naming its bands (``red,green,blue``, ``B4,B3,B2``); they are converted
    to physical values with the product's factors, and ``pan=None`` takes the
    product's panchromatic band (Landsat Level-1 ``B8``).
    """
    from eokit.algorithms.products import is_product
    from eokit.algorithms.tools._common import product_workdir

    if is_product(ms):
        with product_workdir(target) as tmp:
            ms_vrt, pan_vrt = _product_stacks(os.fspath(ms), pan, bands, Path(tmp))
            return pansharpen_file(ms_vrt, pan_vrt, target, method=method, window_m=window_m,
                                   resampling=resampling, block_size=block_size)  # fmt: skip
    if pan is None:
        raise InvalidInputError("give the panchromatic raster (PAN)", param="pan")
    if bands and not all(isinstance(b, int) or str(b).isdigit() for b in bands):
        raise InvalidInputError("band names need a product as MS; give 1-based numbers", param="bands")
    bands = [int(b) for b in bands] if bands else None
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window

    from eokit.core.blocks import iter_blocks
    from eokit.io import RasterWriter

    try:
        rs = Resampling[resampling]
    except KeyError:
        raise InvalidInputError(f"unknown resampling {resampling!r}") from None
    from eokit.io.raster import raster_env

    with raster_env(), open_raster(pan) as pds, open_raster(ms) as mds:
        _check_pair(mds, pds, os.fspath(ms), os.fspath(pan))
        sel = [int(b) for b in bands] if bands else list(range(1, mds.count + 1))
        if any(not 1 <= b <= mds.count for b in sel):
            raise InvalidInputError(f"bands {sel} out of range 1..{mds.count} of {os.fspath(ms)}", param="bands")
        px = abs(pds.transform.a) if pds.crs.is_projected else None
        if method == "kernel" and px is None:
            from eokit.core.crs import pixel_sizes_m

            px = float(np.mean(pixel_sizes_m(pds.transform, pds.crs, pds.height)[0]))
        k = kernel_size(float(px or 0.0), window_m) if method == "kernel" else 1
        halo = k // 2
        block_size = _block_side(mds, pds, os.fspath(ms), os.fspath(pan), len(sel), halo, block_size)
        profile = dict(pds.profile, count=len(sel), dtype="float32", nodata=float("nan"))
        # Without a source nodata, the warper's own alpha band marks the pixels the MS covers:
        # an MS nodata (or NaN) of None must never decide which pixels are empty.
        has_nd = mds.nodata is not None
        warp_kw = {"src_nodata": mds.nodata, "nodata": np.nan} if has_nd else {"add_alpha": True}
        with WarpedVRT(mds, crs=pds.crs, transform=pds.transform, width=pds.width, height=pds.height,
                       resampling=rs, dtype="float32", **warp_kw) as vrt, \
                RasterWriter(target, profile) as writer:  # fmt: skip
            alpha = vrt.count
            for b in iter_blocks((pds.height, pds.width), block_size, halo=halo):
                win = Window.from_slices(*b.read)
                p = nodata_to_nan(pds.read(1, window=win), pds.nodata)
                m = vrt.read(sel if has_nd else [*sel, alpha], window=win)
                if not has_nd:
                    m = m[:-1]
                    m[:, vrt_alpha_empty(vrt, alpha, win)] = np.nan
                out = run_pansharpen(m, p, method=method, pixel_size=px, window_m=window_m) \
                    if method == "kernel" else run_pansharpen(m, p, method=method)  # fmt: skip
                r, c = b.inner
                writer.write(np.ascontiguousarray(out[:, r, c]), window=b.window())
    return Path(target)


#: float32 copies of the MS bands one pansharpening block holds (warped read, intensity, ratios, output).
_MS_COPIES = 6


def _block_side(mds: Any, pds: Any, ms: str, pan: str, n_bands: int, halo: int, preferred: int) -> int:
    """Block side so one halo-padded block of ``n_bands`` MS bands fits the memory budget (refused if none does).

    Checked on the *declared* sizes before any pixel is read: the native blocks of both files
    (GDAL decodes whole tiles or strips) and the MS bands warped onto the pan grid.
    """
    from eokit.io.limits import block_side_for, check_in_memory, check_native_blocks, memory_budget

    budget = memory_budget()
    check_native_blocks(pds, pan, budget=budget)
    check_native_blocks(mds, ms, budget=budget)
    per_pixel = _MS_COPIES * 4 * n_bands + 3 * 4  # MS copies, pan as float32 and its smoothed copies
    side = block_side_for(per_pixel, budget=budget // 2, in_flight=1, preferred=preferred) or 16
    rows, cols = min(side, pds.height) + 2 * halo, min(side, pds.width) + 2 * halo
    check_in_memory(ms, shape=(n_bands, rows, cols), bytes_per_pixel=per_pixel / n_bands, budget=budget // 2,
                    what=f"one pansharpening block (halo {halo})")  # fmt: skip
    return side


def _product_stacks(ms: str, pan: PathLike | None, bands: Sequence[int | str] | None, tmp: Path) -> tuple[str, str]:
    from eokit.algorithms.products import is_product, open_product, write_vrt

    if not bands:
        raise InvalidInputError("name the product's bands to sharpen with --bands (e.g. red,green,blue)", param="bands")
    prod = open_product(ms)
    chosen = prod.select({str(b): str(b) for b in bands}, param="bands")
    ms_vrt = write_vrt(list(chosen.values()), tmp / "ms.vrt")
    if pan is None:
        pan_band = prod.select({"pan": "pan"}, param="pan")["pan"]
        return ms_vrt, write_vrt([pan_band], tmp / "pan.vrt")
    if is_product(pan):
        raise InvalidInputError("PAN must be a raster (or omitted to take the product's own)", path=os.fspath(pan),
                                param="pan")  # fmt: skip
    return ms_vrt, os.fspath(pan)


def vrt_alpha_empty(vrt: Any, alpha: int, win: Any) -> np.ndarray:
    """Pixels of ``win`` the warped MS does not cover (alpha 0)."""
    return np.asarray(vrt.read(alpha, window=win) == 0)


def _check_pair(mds: Any, pds: Any, ms: str, pan: str) -> None:
    """Refuse what would give NaN or nonsense silently: no CRS, no overlap, MS and PAN swapped."""
    from rasterio.warp import transform_bounds

    from eokit.errors import MissingCRSError

    for ds, path, param in ((mds, ms, "ms"), (pds, pan, "pan")):
        if ds.crs is None:
            raise MissingCRSError("raster has no CRS; MS and PAN are aligned by their CRS", path=path, param=param)
    if pds.count != 1 and mds.count == 1:
        raise InvalidInputError(
            f"PAN has {pds.count} bands and MS one: are MS and PAN swapped?",
            path=pan,
            param="pan",
        )
    w, b, r, t = transform_bounds(mds.crs, pds.crs, *mds.bounds)
    pl, pb, pr, pt = pds.bounds
    if min(r, pr) <= max(w, pl) or min(t, pt) <= max(b, pb):
        raise InvalidInputError("PAN does not overlap MS (after reprojection to the PAN's CRS)", path=pan, param="pan")
    ms_px = float(np.sqrt(abs((r - w) * (t - b)) / (mds.width * mds.height)))
    pan_px = float(np.sqrt(abs(pds.transform.a * pds.transform.e - pds.transform.b * pds.transform.d)))
    if pan_px >= ms_px * 0.999:
        raise InvalidInputError(
            f"PAN pixels ({pan_px:.4g}) are not finer than MS pixels ({ms_px:.4g}): are MS and PAN swapped?",
            path=pan, param="pan",
        )  # fmt: skip
