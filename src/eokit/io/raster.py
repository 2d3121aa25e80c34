"""Raster I/O: checked opens, atomic tiled/compressed GeoTIFF (or COG) writes,
and block-wise read -> compute -> write over rasters larger than memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from eokit.config import get_settings
from eokit.core.blocks import Block, iter_blocks
from eokit.core.dispatch import open_executor
from eokit.errors import GridMismatchError, InputNotFoundError, InvalidInputError, OutputError, UnreadableInputError
from eokit.io.atomic import atomic_path
from eokit.io.limits import block_side_for, check_in_memory, check_native_blocks, memory_budget

__all__ = [
    "RasterWriter",
    "band_number",
    "open_raster",
    "process_raster_blocks",
    "raster_env",
    "read_raster",
    "require_same_grid",
    "write_raster",
]

Progress = Callable[[int], Any]


def announce_total(progress: Progress | None, total: int) -> None:
    """Tell a progress callable how much work there is, if it wants to know (the CLI's bars have ``.total``).

    >>> class Bar:
    ...     total = None
    ...     def __call__(self, n): pass
    >>> bar = Bar(); announce_total(bar, 400); bar.total
    400
    >>> announce_total(print, 400)  # a plain callable is left alone
    """
    if progress is not None and hasattr(progress, "total") and not progress.total:
        progress.total = total


def raster_env() -> rasterio.Env:
    """The GDAL options of the settings (``EOKIT_GDAL_ENV``: block cache size, threads) for reads in this thread.

    Block work applies them on its workers; a tool reading in the calling thread enters
    this, or GDAL's block cache grows to its own default (5% of the machine's memory).
    """
    from eokit.core.dispatch import gdal_options

    return rasterio.Env(**gdal_options(get_settings().gdal_env))


def open_raster(
    path: str | os.PathLike[str], mode: str = "r", *, max_memory: int | str | None = None, **kwargs: Any
) -> rasterio.DatasetReader:
    """Open a raster for reading, with a clear eokit error when it cannot be.

    Raises :class:`InputNotFoundError` for a missing path and
    :class:`UnreadableInputError` for anything GDAL cannot decode. A raster whose
    *declared* native block (tile or strip; GDAL decodes a whole one to read any of its
    pixels) is larger than the memory budget (``max_memory``, default
    :func:`eokit.io.limits.memory_budget`) is refused with :class:`InvalidInputError`
    before any pixel is read.
    """
    p = os.fspath(path)
    if "://" not in p and not p.startswith("/vsi") and not os.path.exists(p):
        raise InputNotFoundError("no such file", path=p)
    try:
        ds = rasterio.open(p, mode, **kwargs)
    except rasterio.errors.RasterioIOError as exc:
        raise UnreadableInputError(f"not a readable raster ({exc})", path=p) from None
    if mode == "r" and not (ds.count and ds.width and ds.height):  # e.g. GDAL's STACIT driver on a STAC item
        ds.close()
        raise UnreadableInputError(f"not a raster: GDAL's {ds.driver} driver finds no pixels in it", path=p)
    if mode == "r":
        try:
            budget = memory_budget(max_memory)
            check_native_blocks(ds, p, budget=budget)
            if ds.driver == "VRT":
                _check_vrt_sources(ds, p, budget)
        except BaseException:
            ds.close()
            raise
    return ds


def _check_vrt_sources(ds: Any, path: str, budget: int, depth: int = 0) -> None:
    """Check the native blocks of a VRT's source files: its own blocks are small, a read decodes theirs."""
    for source in ds.files[1:]:
        if source.lower().endswith((".ovr", ".aux.xml", ".msk")):
            continue
        try:
            src = rasterio.open(source)
        except rasterio.errors.RasterioIOError:
            continue  # GDAL reports a missing source when the pixels are read
        with src:
            try:
                check_native_blocks(src, source, budget=budget)
            except InvalidInputError as exc:
                raise InvalidInputError(f"its source {source}: {exc.message}", path=path) from None
            if src.driver == "VRT" and depth < 4:
                _check_vrt_sources(src, path, budget, depth + 1)


def band_number(path: str | os.PathLike[str], ref: str | int, *, param: str = "band") -> int:
    """The 1-based number of band ``ref`` of a raster: a number, or a band description (case-insensitive).

    Raises :class:`InvalidInputError` (``param`` names the option) when no band matches.
    """
    with open_raster(path) as ds:
        count, names = ds.count, [d or "" for d in ds.descriptions]
    text = str(ref).strip()
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= count:
            raise InvalidInputError(f"band {number} out of range 1..{count} of {os.fspath(path)}", param=param)
        return number
    for i, name in enumerate(names, start=1):
        if name.casefold() == text.casefold():
            return i
    known = ", ".join(repr(n) for n in names if n) or "none"
    raise InvalidInputError(
        f"no band of {os.fspath(path)} is named {text!r} (band names: {known}); give a 1-based number", param=param
    )


def read_raster(
    path: str | os.PathLike[str], *, bands: Sequence[int] | int | None = None, masked: bool = False
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a whole raster: ``(array, profile)``; ``bands`` 1-based, an int gives a 2-D array."""
    with open_raster(path) as ds:
        try:
            data = ds.read(bands, masked=masked)
        except rasterio.errors.RasterioIOError as exc:
            raise UnreadableInputError(f"cannot read pixels ({exc})", path=path) from None
        return data, dict(ds.profile)


def require_same_grid(*datasets: Any, names: Sequence[str] | None = None) -> None:
    """Raise :class:`GridMismatchError` unless all datasets share shape, transform and CRS."""
    if len(datasets) < 2:
        return
    names = list(names or [getattr(d, "name", f"input {i + 1}") for i, d in enumerate(datasets)])
    ref = datasets[0]
    for ds, name in zip(datasets[1:], names[1:], strict=True):
        problems = []
        if (ds.height, ds.width) != (ref.height, ref.width):
            problems.append(f"shape {ds.height}x{ds.width} != {ref.height}x{ref.width}")
        if not ds.transform.almost_equals(ref.transform):
            problems.append("transform differs")
        if ds.crs != ref.crs:
            problems.append(f"CRS {ds.crs} != {ref.crs}")
        if problems:
            raise GridMismatchError(f"grid differs from {names[0]}: {'; '.join(problems)}", path=name)


def _gtiff_profile(profile: dict[str, Any], block: int = 512) -> dict[str, Any]:
    out = {k: v for k, v in profile.items() if k not in {"blockxsize", "blockysize", "tiled", "compress"}}
    out["driver"] = "GTiff"
    width, height = int(out["width"]), int(out["height"])
    if width >= 16 and height >= 16:
        bs = min(block, max(16, (min(width, height) // 16) * 16))
        out.update(tiled=True, blockxsize=bs, blockysize=bs)
    else:
        out["tiled"] = False
    compress = get_settings().compress.lower()
    if compress != "none":
        out["compress"] = compress
        out["predictor"] = 3 if np.dtype(out["dtype"]).kind == "f" else 2
        if compress == "zstd":
            out["zstd_level"] = 1
        elif compress == "deflate":
            out["zlevel"] = 1
    out.setdefault("BIGTIFF", "IF_SAFER")
    return out


class RasterWriter:
    """Write a GeoTIFF block by block; it appears under its final name only when complete.

    >>> from affine import Affine
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.tif"
    >>> prof = dict(width=4, height=3, count=1, dtype="uint8", crs="EPSG:3857", transform=Affine(10, 0, 0, 0, -10, 0))
    >>> with RasterWriter(path, prof) as w:
    ...     w.write(np.ones((3, 4), "uint8"))
    >>> path.exists()
    True
    """

    def __init__(self, path: str | os.PathLike[str], profile: dict[str, Any], *, cog: bool = False) -> None:
        self.path = Path(path)
        self.profile = _gtiff_profile(dict(profile))
        self.cog = cog
        self._stack = contextlib.ExitStack()
        self._ds: Any = None

    def __enter__(self) -> RasterWriter:
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._tmp = tmp
        try:
            self._ds = self._stack.enter_context(rasterio.open(tmp, "w", **self.profile))
        except (rasterio.errors.RasterioIOError, OSError) as exc:
            self._stack.close()
            raise OutputError(f"cannot create raster ({exc})", path=self.path) from None
        return self

    @property
    def dataset(self) -> Any:
        """The open (temporary) dataset, for tags, descriptions and colour tables."""
        return self._ds

    def write(self, data: np.ndarray, *, window: tuple[tuple[int, int], tuple[int, int]] | None = None) -> None:
        """Write ``data`` (2-D for one band or ``(bands, rows, cols)``) at ``window`` (default: whole)."""
        win = Window.from_slices(*window) if window is not None else None
        if data.ndim == 2:
            self._ds.write(data, 1, window=win)
        else:
            self._ds.write(data, window=win)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self._ds.close()
            if self.cog:
                self._convert_to_cog()
        else:
            self._ds.close()
        self._stack.__exit__(exc_type, exc, tb)

    def _convert_to_cog(self) -> None:
        from rasterio.shutil import copy as rio_copy

        plain = self._tmp.with_name(self._tmp.name + ".plain.tif")
        shutil.move(self._tmp, plain)
        try:
            compress = str(self.profile.get("compress", "none")).upper()
            rio_copy(plain, self._tmp, driver="COG", compress=compress, BIGTIFF="IF_SAFER")
        finally:
            plain.unlink(missing_ok=True)


def write_raster(
    path: str | os.PathLike[str],
    data: np.ndarray,
    *,
    transform: Any,
    crs: Any,
    nodata: float | None = None,
    cog: bool = False,
    tags: dict[str, Any] | None = None,
    band_descriptions: Sequence[str] | None = None,
) -> Path:
    """Write a whole array as a tiled, compressed GeoTIFF (or COG), atomically."""
    arr = data if data.ndim == 3 else data[np.newaxis]
    profile = dict(
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=arr.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
    )
    with RasterWriter(path, profile, cog=cog) as writer:
        writer.write(arr)
        if tags:
            writer.dataset.update_tags(**tags)
        for i, desc in enumerate(band_descriptions or (), start=1):
            writer.dataset.set_band_description(i, desc)
    return Path(path)


#: Copies of a block's input a block function may hold at once (the read, float conversions, temporaries).
WORKING_COPIES = 4


def _block_shape(size: int, width: int, strip_rows: int) -> tuple[int, int]:
    """Square blocks of ``size``; for a raster stored in strips (``strip_rows`` > 0) wider than 4 blocks, whole strips.

    GDAL decodes a whole strip to read any part of it, and every block task opens the file
    anew, so square blocks across a wide strip would decode each strip ``width / size`` times
    (a 4,000,000-pixel-wide file in 1-row strips: ~4,000 times). Full-width blocks of about
    ``size`` x ``size`` pixels, a whole number of strips, decode each strip once.

    >>> _block_shape(1024, 5000, 0), _block_shape(1024, 4_000_000, 1), _block_shape(1024, 8192, 16)
    ((1024, 1024), (1, 4000000), (128, 8192))
    """
    if not strip_rows or width <= 4 * size:  # decoding a strip up to 4 times costs less than losing square blocks
        return size, size
    rows = max(strip_rows, (size * size // width) // strip_rows * strip_rows)
    return rows, width


def _pixel_bytes(ds: Any, bands: Sequence[int] | None) -> int:
    """Bytes per pixel of the bands of ``ds`` a block read returns (all bands when ``bands`` is None)."""
    chosen = [ds.dtypes[b - 1] for b in bands if 1 <= b <= ds.count] if bands else list(ds.dtypes)
    return sum(np.dtype(d).itemsize for d in chosen)


@dataclasses.dataclass(frozen=True)
class _BlockTask:
    paths: tuple[str, ...]
    bands: tuple[int, ...] | None
    block: Block
    func: Callable[..., np.ndarray]

    def __call__(self) -> tuple[Block, np.ndarray]:
        arrays = []
        with contextlib.ExitStack() as stack:
            for p in self.paths:
                ds = stack.enter_context(rasterio.open(p))
                win = Window.from_slices(*self.block.read)
                arrays.append(ds.read(list(self.bands) if self.bands else None, window=win))
        result = self.func(*arrays, block=self.block)
        if result.ndim == 2:
            result = result[np.newaxis]
        r, c = self.block.inner
        return self.block, np.ascontiguousarray(result[:, r, c])


def _run(task: _BlockTask) -> tuple[Block, np.ndarray]:
    return task()


def process_raster_blocks(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | os.PathLike[str],
    func: Callable[..., np.ndarray],
    *,
    count: int | None = None,
    dtype: Any = None,
    nodata: float | None = None,
    halo: int = 0,
    block_size: int | None = None,
    bands: Sequence[int] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    cog: bool = False,
) -> Path:
    """Stream ``func`` over aligned rasters block by block and write the result atomically.

    ``func(*arrays, block=Block)`` receives one ``(bands, rows, cols)`` array per
    source covering the block's read window (core plus ``halo``) and returns a
    2-D or 3-D array of the same spatial shape; only its core is kept. Memory is
    bounded by the block size times the number of workers: the block size is lowered
    for rasters with many or wide bands so the blocks in flight fit the memory budget
    (:func:`eokit.io.limits.memory_budget`), and a raster whose native tiles or strips
    cannot be decoded within it (one strip of the whole image) is refused before any
    read. A raster stored in strips is worked in whole strips. ``progress`` is called
    with the number of pixels finished after each block.
    """
    paths = [os.fspath(sources)] if isinstance(sources, (str, os.PathLike)) else [os.fspath(p) for p in sources]
    settings = get_settings()
    n_workers = 1 if scheduler == "synchronous" else (workers or settings.n_workers)
    budget = memory_budget()
    datasets = [open_raster(p) for p in paths]
    try:
        require_same_grid(*datasets, names=paths)
        ref = datasets[0]
        profile = dict(ref.profile)
        height, width = ref.height, ref.width
        for ds, p in zip(datasets, paths, strict=True):
            check_native_blocks(ds, p, budget=budget, readers=n_workers)
        read_bytes = sum(_pixel_bytes(ds, bands) for ds in datasets)
        (bh, bw) = ref.block_shapes[0]
        strip_rows = bh if bw >= width else 0  # stored in strips: blocks are whole strips
    finally:
        for ds in datasets:
            ds.close()
    profile.update(count=count or profile["count"], dtype=np.dtype(dtype or profile["dtype"]).name, nodata=nodata)
    # a block's inputs, the function's working copies (as float32/64) and its output, for every block in flight
    per_pixel = WORKING_COPIES * read_bytes + profile["count"] * np.dtype(profile["dtype"]).itemsize
    in_flight = 2 * max(1, n_workers) + 1  # the executor's pending tasks and the block being written
    preferred = block_size or settings.block_size
    # 0 when not even a 16 x 16 block fits: the check below then refuses, naming the sizes
    size = block_side_for(per_pixel, budget=budget, in_flight=in_flight, preferred=preferred) or 16
    shape = _block_shape(size, width, strip_rows)
    check_in_memory(
        paths[0], shape=(min(shape[0], height) + 2 * halo, min(shape[1], width) + 2 * halo),
        bytes_per_pixel=per_pixel * in_flight, budget=budget, what=f"{in_flight} blocks in flight with halos",
    )  # fmt: skip
    tasks: Iterator[_BlockTask] = (
        _BlockTask(tuple(paths), tuple(bands) if bands else None, b, func)
        for b in iter_blocks((height, width), shape, halo=halo)
    )
    announce_total(progress, height * width)
    with RasterWriter(target, profile, cog=cog) as writer, open_executor(scheduler, workers) as ex:
        for block, data in ex.imap_unordered(_run, tasks):
            writer.write(data.astype(profile["dtype"], copy=False), window=block.window())
            if progress is not None:
                progress(block.height * block.width)
    return Path(target)
