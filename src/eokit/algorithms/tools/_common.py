"""Shared helpers of the file tools: raster profiles, nodata to NaN, masks from bands, unary block runs."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eokit.core.blocks import Block
from eokit.errors import InvalidInputError
from eokit.io import open_raster, process_raster_blocks

__all__ = [
    "PathLike",
    "Progress",
    "check_declared",
    "product_workdir",
    "mask_of",
    "nodata_to_nan",
    "profile",
    "run_blocks",
    "run_unary",
    "unary",
]

PathLike = str | os.PathLike[str]
Progress = Callable[[int], Any] | None


def run_blocks(*args: Any, **kw: Any) -> Path:
    """:func:`eokit.io.process_raster_blocks` with GDAL compressing output tiles on all workers.

    The writer compresses in the calling thread; ``GDAL_NUM_THREADS`` lets GDAL spread the
    tiles' compression over threads (unless the caller's GDAL environment sets it already).
    """
    import rasterio

    from eokit.config import get_settings

    settings = get_settings()
    if "GDAL_NUM_THREADS" in settings.gdal_env or "GDAL_NUM_THREADS" in os.environ:
        return process_raster_blocks(*args, **kw)
    workers = kw.get("workers") or settings.n_workers
    with rasterio.Env(GDAL_NUM_THREADS=str(max(1, int(workers)))):
        return process_raster_blocks(*args, **kw)


@contextlib.contextmanager
def product_workdir(target: PathLike) -> Iterator[str]:
    """A temporary folder beside ``target`` (its parent created if needed), removed afterwards."""
    import shutil
    import tempfile

    parent = Path(os.path.abspath(target)).parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".eokit-work-", dir=parent)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_declared(prof: dict[str, Any], path: str, *, row_bytes: int = 0, halo: int = 0, cell_bytes: int = 16) -> None:
    """Refuse a raster whose *declared* size needs more than the memory budget before allocating.

    ``row_bytes`` per row of the raster (per-row metric vectors); ``halo`` pixels around
    each block of the configured block size (``cell_bytes`` per pixel, all workers). The
    budget is :func:`eokit.io.limits.memory_budget` (``EOKIT_MAX_MEMORY``).
    """
    from eokit.config import get_settings
    from eokit.io.limits import check_in_memory, memory_budget

    settings = get_settings()
    budget = memory_budget()
    h, w = int(prof["height"]), int(prof["width"])
    check_in_memory(path, shape=(h,), bytes_per_pixel=row_bytes, budget=budget, what="per-row metrics")
    halo = min(halo, max(h, w))  # a reach beyond the raster reads nothing more (windows are clipped to it)
    if halo:
        side = min(settings.block_size + 2 * halo, h + 2 * halo)
        wide = min(settings.block_size + 2 * halo, w + 2 * halo)
        check_in_memory(
            path, shape=(side, wide), bytes_per_pixel=cell_bytes * settings.n_workers, budget=budget,
            what=f"{settings.n_workers} halo-padded block(s) (halo {halo})",
        )  # fmt: skip


def profile(path: PathLike) -> dict[str, Any]:
    with open_raster(path) as ds:
        prof = dict(ds.profile)
        prof["descriptions"] = list(ds.descriptions)
        prof["bounds"] = ds.bounds
        return prof


def nodata_to_nan(a: np.ndarray, nodata: float | None) -> np.ndarray:
    x = a.astype(np.float32)
    if nodata is not None and not np.isnan(nodata):
        x[a == nodata] = np.nan
    return x


def mask_of(a: np.ndarray, how: str, nodata: float | None) -> np.ndarray:
    if how == "nonzero":
        return (a != 0) & ~np.isnan(a) if a.dtype.kind == "f" else a != 0
    if how == "zero":
        return a == 0
    if how == "nodata":
        m = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
        if nodata is not None and not np.isnan(nodata):
            m |= a == nodata
        return m
    raise InvalidInputError(f"mask_from must be nonzero, zero or nodata, got {how!r}")


def unary(
    a: np.ndarray, *, block: Block, fn: Callable[[np.ndarray], np.ndarray], nodata: float | None, to_float: bool
) -> np.ndarray:
    x = nodata_to_nan(a, nodata) if to_float else a
    return fn(x)


def run_unary(
    source: PathLike, target: PathLike, fn: Callable[[np.ndarray], np.ndarray], *, dtype: str,
    nodata: float | None, count: int | None = None, to_float: bool = True, bands: Sequence[int] | None = None,
    scheduler: str | None = None, workers: int | None = None, progress: Progress = None,
) -> Path:  # fmt: skip
    prof = profile(source)
    func = functools.partial(unary, fn=fn, nodata=prof["nodata"], to_float=to_float)
    return run_blocks(
        source, target, func, count=count or (len(bands) if bands else prof["count"]), dtype=dtype,
        nodata=nodata, bands=bands, scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip
