"""Pansharpening on the panchromatic grid: kernel-mean ratio, HSV (IHS) swap and Brovey.

All functions take the multispectral bands already on the pan grid
(``(bands, rows, cols)``) and the pan band ``(rows, cols)``; the file tool
:func:`eokit.algorithms.tools.pansharpen_file` resamples with rasterio first.
NaN is nodata and propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from eokit.algorithms._common import as_array
from eokit.algorithms._kernels import brovey_ratio, in_row_chunks
from eokit.algorithms._pankernels import kernel_mean_ratio
from eokit.algorithms._xarray import xarray_io
from eokit.core.arrays import is_dask, map_overlap
from eokit.errors import InvalidInputError

__all__ = ["kernel_size", "pansharpen", "pansharpen_brovey", "pansharpen_hsv", "pansharpen_kernel"]

log = logging.getLogger(__name__)


def kernel_size(pixel_size: float, window_m: float = 90.0) -> int:
    """Odd window width in pixels covering ``window_m`` metres (at least 3).

    >>> kernel_size(15.0)
    7
    """
    if not pixel_size > 0:
        raise InvalidInputError(f"pixel_size must be > 0 metres, got {pixel_size!r}")
    k = round(window_m / pixel_size)
    k = max(3, k)
    return k if k % 2 == 1 else k + 1


def _check(ms: Any, pan: Any) -> tuple[Any, Any]:
    ms, pan = as_array(ms), as_array(pan)
    if ms.ndim == 2:
        ms = ms[None]
    if pan.ndim == 3 and pan.shape[0] == 1:
        pan = pan[0]
    if ms.ndim != 3 or pan.ndim != 2:
        raise InvalidInputError(f"expected ms (bands, rows, cols) and pan (rows, cols), got {ms.shape} and {pan.shape}")
    if ms.shape[1:] != pan.shape:
        raise InvalidInputError(f"ms grid {ms.shape[1:]} differs from pan grid {pan.shape}; resample ms onto pan first")
    f = np.float32
    return (ms if ms.dtype == f else ms.astype(f)), (pan if pan.dtype == f else pan.astype(f))


def _sharpen(ms: np.ndarray, pan: np.ndarray, k: int, out: np.ndarray) -> None:
    """Kernel-mean ratio into ``out`` (bands, rows, cols) float32: one fused compiled pass."""
    kernel_mean_ratio(ms, pan, k, out)


def _kernel_block(block: np.ndarray, *, k: int) -> np.ndarray:
    out = np.empty(block.shape, dtype=np.float32)
    _sharpen(block[:-1], block[-1], k, out[:-1])
    out[-1] = block[-1]
    return out


@xarray_io(georef=True)
def pansharpen_kernel(ms: Any, pan: Any, *, pixel_size: float, window_m: float = 90.0) -> Any:
    """Kernel-mean ratio pansharpening (geetools ``pansharpenKernel``).

    ``sharp_i = ms_i / mean(ms) * pan * gain`` with ``gain = local_mean(mean(ms)) /
    local_mean(pan)`` over a square window of ``window_m`` metres (odd pixel width
    from ``pixel_size``, the pan pixel size in metres). Local means ignore NaN.
    """
    ms, pan = _check(ms, pan)
    k = kernel_size(pixel_size, window_m)
    xp = _xp(ms, pan)
    if xp is np:
        out = np.empty(ms.shape, dtype=np.float32)
        _sharpen(ms, pan, k, out)
        return out
    stack = xp.concatenate([ms, pan[None]], axis=0)
    if is_dask(stack):
        stack = stack.rechunk({0: -1})
    out = map_overlap(_kernel_block, stack, depth=k // 2, dtype=np.float32, k=k)
    return out[:-1]


def _xp(*arrays: Any) -> Any:
    if any(is_dask(a) for a in arrays):
        import dask.array as da

        return da
    return np


@xarray_io
def pansharpen_hsv(rgb: Any, pan: Any) -> Any:
    """HSV swap fusion (geetools ``pansharpenIhsFusion``): keep hue and saturation, take value from pan.

    With V = max(r, g, b), HSV -> RGB is linear in V for fixed H and S, so the
    swap equals ``rgb * pan / max(rgb)`` (exact, no colour-space round trip).
    ``rgb`` must have 3 bands in the same units as ``pan``.
    """
    rgb, pan = _check(rgb, pan)
    if rgb.shape[0] != 3:
        raise InvalidInputError(f"HSV fusion needs exactly 3 bands (red, green, blue), got {rgb.shape[0]}")
    value = rgb.max(axis=0)
    xp = _xp(rgb, pan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = xp.where(value > 0, pan / value, np.float32(0.0))
    grey = xp.where(value > 0, np.float32(0.0), pan)  # black pixels: S=0, so all channels = pan
    return (rgb * ratio + grey).astype(np.float32)


@xarray_io
def pansharpen_brovey(ms: Any, pan: Any, *, weights: Sequence[float] | None = None) -> Any:
    """Brovey transform: ``ms_i * pan / (sum(w_i * ms_i) / sum(w_i))`` (equal weights by default)."""
    ms, pan = _check(ms, pan)
    nb = ms.shape[0]
    w = np.ones(nb, np.float32) if weights is None else np.asarray(weights, np.float32)
    if w.shape != (nb,) or not np.all(w >= 0) or w.sum() <= 0:
        raise InvalidInputError(f"weights must be {nb} non-negative numbers with a positive sum, got {weights!r}")
    xp = _xp(ms, pan)
    if xp is np:  # one compiled pass straight into the output, no stacked copy
        flat_ms = np.ascontiguousarray(ms).reshape(nb, -1)
        flat_pan = np.ascontiguousarray(pan).ravel()
        out = np.empty(flat_ms.shape, dtype=np.float32)
        in_row_chunks(lambda a, b: brovey_ratio(flat_ms, flat_pan, w, out, a, b), flat_pan.size, flat_ms.size * 2)
        return out.reshape(ms.shape)
    stack = xp.concatenate([ms, pan[None]], axis=0)
    if is_dask(stack):
        stack = stack.rechunk({0: -1})
    return map_overlap(_brovey_block, stack, depth=0, dtype=np.float32, w=w)[:-1]


def _brovey_block(block: np.ndarray, *, w: np.ndarray) -> np.ndarray:
    nb = block.shape[0] - 1
    ms = np.ascontiguousarray(block[:-1]).reshape(nb, -1)
    pan = np.ascontiguousarray(block[-1]).ravel()
    out = np.empty((nb + 1, pan.size), dtype=np.float32)
    in_row_chunks(lambda a, b: brovey_ratio(ms, pan, w, out, a, b), pan.size, ms.size * 2)
    out[nb] = pan
    return out.reshape((nb + 1, *block.shape[1:]))


@xarray_io(georef=True)
def pansharpen(ms: Any, pan: Any, *, method: str = "kernel", pixel_size: float | None = None, **kw: Any) -> Any:
    """Dispatch to :func:`pansharpen_kernel` (needs ``pixel_size``), :func:`pansharpen_hsv` or :func:`pansharpen_brovey`."""
    method = method.lower()
    if method == "kernel":
        if pixel_size is None:
            raise InvalidInputError("the kernel method needs pixel_size (pan pixel size in metres)")
        return pansharpen_kernel(ms, pan, pixel_size=pixel_size, **kw)
    if method in {"hsv", "ihs"}:
        return pansharpen_hsv(ms, pan)
    if method == "brovey":
        return pansharpen_brovey(ms, pan, **kw)
    raise InvalidInputError(f"method must be kernel, hsv or brovey, got {method!r}")
