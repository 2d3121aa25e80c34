"""Tool layer: paths in, a tiled GeoTIFF out (what ``eokit resample`` calls).

Every run is prepared by :func:`eokit.resample.chain.prepare` from the
files' :class:`~eokit.resample.chain.ChainInputs` and the run's
:class:`ResampleOptions`; in-process runs then stream through
:func:`eokit.resample.chain.stream_tiles` (kernel threads plus read-ahead);
``scheduler="processes"``, ``"local"`` (Dask LocalCluster) or
``"tcp://host:port"`` (Dask distributed) send output tiles to workers, each of
which opens the files by path and reads only what its tile needs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from eokit.config import get_settings
from eokit.errors import InvalidInputError
from eokit.io import RasterWriter, open_raster
from eokit.io.raster import raster_env
from eokit.resample.chain import ChainInputs, prepare, stream_tiles
from eokit.resample.core import _check_coverage, _resolution, _window, grid_full_resolution_shape
from eokit.resample.options import ResampleOptions
from eokit.resample.tiles import (
    ChainSpec,
    Tile,
    TileReader,
    align_to_blocks,
    auto_tile_shape,
    bounded_gdal_cache,
    compute_tile,
    convert,
    gdal_cache_share,
    parse_memory,
    plan_tiles,
)

__all__ = ["output_dtype", "output_shape", "resample_file", "run_dtypes"]

log = logging.getLogger(__name__)


def output_shape(grid: str | os.PathLike[str], resolution: Sequence[int]) -> tuple[int, int]:
    """Full-resolution output shape of the grid raster at ``grid`` for ``resolution``."""
    res = _resolution(resolution, "resolution")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        ds = open_raster(grid)
    with ds:
        _check_coverage((ds.height, ds.width), res, "resolution")
        return grid_full_resolution_shape((ds.height, ds.width), res)


def output_dtype(src_dtype: Any, dtype: Any = None) -> np.dtype:
    """The output dtype of :func:`resample_file`: ``dtype``, else float64 for a float64 source, else float32."""
    if dtype:
        return np.dtype(dtype)
    return np.dtype("float64" if np.dtype(src_dtype) == np.float64 else "float32")


def run_dtypes(src: str | os.PathLike[str], bands: Sequence[int] | None, dtype: Any = None) -> tuple[str, str]:
    """(source dtype, work dtype) of a :func:`resample_file` run: the types its kernels are compiled for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        ds = open_raster(src)
    with ds:
        b = bands[0] if bands else 1
        sdt = ds.dtypes[b - 1] if 1 <= b <= ds.count else ds.dtypes[0]
    odt = output_dtype(sdt, dtype)
    return np.dtype(sdt).name, "float32" if odt == np.float32 else "float64"


def _output_transform(grid_ds: Any, resolution: tuple[int, int], r0: int, c0: int) -> Affine | None:
    """Geotransform of the output when the grid raster is georeferenced (node k = output pixel k*res)."""
    t = grid_ds.transform
    if t == Affine.identity() or grid_ds.crs is None:
        return None
    rr, rc = resolution
    # pixel centres coincide: T * (k + 1/2) == To * (k * res + 1/2)
    to = t * Affine.translation(0.5, 0.5) * Affine.scale(1.0 / rc, 1.0 / rr) * Affine.translation(-0.5, -0.5)
    return to * Affine.translation(c0, r0)


@functools.lru_cache(maxsize=8)
def _open_cached(path: str, stamp: tuple[int, int]) -> Any:
    """A dataset kept open across the tiles a worker computes (keyed by path, mtime and size)."""
    return rasterio.open(path)


def _abs(path: str | os.PathLike[str] | None) -> str | None:
    """Absolute local paths, so workers with another working directory find the files."""
    if path is None:
        return None
    p = Path(path)
    return str(p.resolve()) if p.exists() else str(path)


def _open_worker(path: str) -> Any:
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:  # a GDAL virtual path (/vsicurl/...) or URL
        stamp = (0, 0)
    return _open_cached(path, stamp)


def _has_dataset_mask(ds: Any, bands: Sequence[int]) -> bool:
    """Whether some of ``bands`` has a GDAL mask other than all-valid (nodata, alpha, internal mask)."""
    from rasterio.enums import MaskFlags

    flags = ds.mask_flag_enums
    return any(MaskFlags.all_valid not in flags[b - 1] for b in bands if 1 <= b <= ds.count)


def _remote_tile(args: tuple[ChainSpec, dict[str, str | None], Tile]) -> tuple[Tile, np.ndarray, np.ndarray]:
    """Worker task: open the inputs by path (cached per process), read and compute one tile."""
    spec, paths, tile = args
    ds = {k: (_open_worker(v) if v else None) for k, v in paths.items()}
    reader = TileReader(spec, ds["grid"], ds["grid_col"] or ds["grid"], ds["src"], ds["src_mask"], ds["grid_mask"])
    out, mask = compute_tile(spec, reader.read(tile), tile)
    return tile, convert(out, spec.out_dtype), mask


def resample_file(
    src: str | os.PathLike[str],
    grid: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    resolution: Sequence[int],
    options: ResampleOptions | None = None,
    grid_col: str | os.PathLike[str] | None = None,
    row_band: int = 1,
    col_band: int | None = None,
    bands: Sequence[int] | None = None,
    dtype: str | None = None,
    mask_out: str | os.PathLike[str] | None = None,
    grid_mask: str | os.PathLike[str] | None = None,
    grid_mask_valid: int = 1,
    src_mask: str | os.PathLike[str] | None = None,
    src_mask_validity: Sequence[int] | None = None,
    window: Sequence[int] | None = None,
    progress: Callable[[int], Any] | None = None,
    **option_fields: Any,
) -> Path:
    """Resample ``src`` through the grid raster ``grid`` into a tiled GeoTIFF ``out`` (atomically).

    Parameters
    ----------
    src, grid, out : path
        Source raster, grid raster (row coordinates in ``row_band``, column
        coordinates in ``col_band``, default 2, or band 1 of ``grid_col``),
        output GeoTIFF.
    resolution : (int, int)
        Output pixels per grid step.
    options : ResampleOptions, optional
        How to resample (interpolator, nodata, boundary condition, source
        nodata, memory, workers, scheduler); or give its fields as keywords
        (``interp="cubic"``, ``interp_kwargs=...``, ``nodata=...``, ...).

    The fields of :class:`ResampleOptions`, as keywords:

    interp : str
        nearest, linear, cubic, lanczos3, bspline3, bspline5, bspline7,
        bspline9 or bspline11 (tiles prefilter their own source window, see
        :meth:`eokit.resample.Interpolator.tile_margin`).
    bands : list of int, optional
        1-based source bands (default all).
    nodata : float
        Value of invalid output pixels (also set as the file's nodata).
    dtype : str, optional
        Output dtype (default float32, or float64 for a float64 source).
    mask_out : path, optional
        Also write the uint8 validity mask (1 valid).
    grid_mask, grid_mask_valid : path, int
        Grid node validity raster and its valid value.
    src_mask, src_mask_validity : path, (valid, invalid)
        Source validity raster; pixels equal to the valid value are valid.
    window : (r0, r1, c0, c1), optional
        Inclusive full-resolution output window.
    src_nodata_valid : bool
        Treat the source's nodata value (its GDAL dataset mask: nodata, alpha
        or internal mask) as data. By default those pixels are invalid.
    interp_kwargs : dict, optional
        B-spline options ``epsilon`` and ``mask_influence_threshold``.
    boundary_condition, trust_padding :
        As in :func:`eokit.resample.array_grid_resampling`.
    max_memory : int or str
        Working-set budget used to size the tiles (per worker).
    workers : int, optional
        Kernel threads in process, or worker count with a scheduler.
    scheduler : str, optional
        None/threads/synchronous (in process), processes, local or tcp://HOST:PORT.
    progress : callable, optional
        Called with the number of output pixels finished.

    Returns
    -------
    Path
        ``out``.
    """
    if options is not None and option_fields:
        raise InvalidInputError(
            f"give either options= or its fields as keywords, not both ({sorted(option_fields)})", param="options"
        )
    opts = options if options is not None else ResampleOptions.create(**option_fields)
    res = _resolution(resolution, "resolution")
    out = Path(out)
    nworkers = opts.workers or get_settings().n_workers
    with contextlib.ExitStack() as stack:
        # grid rasters and outputs of plain pixel grids carry no georeferencing
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        stack.enter_context(raster_env())  # the settings' GDAL cache, not GDAL's default 5% of the machine
        # a file whose native tiles or strips cannot be decoded within the working-set budget is refused here
        budget = opts.max_memory if opts.max_memory is not None else 512 * 10**6

        def opened(path: str | os.PathLike[str]) -> Any:
            return stack.enter_context(open_raster(path, max_memory=budget))

        g = opened(grid)
        gcol = opened(grid_col) if grid_col is not None else None
        s = opened(src)
        sm = opened(src_mask) if src_mask is not None else None
        gm = opened(grid_mask) if grid_mask is not None else None
        cb = col_band if col_band is not None else (1 if gcol is not None else 2)
        if gcol is None and g.count < 2:
            raise InvalidInputError(
                f"grid: expected 2 bands (row, column coordinates) or --grid-col, got {g.count} band(s)", path=grid
            )
        band_list = list(bands) if bands else list(range(1, s.count + 1))
        if any(not 1 <= b <= s.count for b in band_list):
            raise InvalidInputError(f"band(s) {band_list} not in 1..{s.count} of {src}", param="bands")
        _check_coverage((g.height, g.width), res, "resolution")
        full = grid_full_resolution_shape((g.height, g.width), res)
        win = None
        if window is not None:
            if len(window) != 4:
                raise InvalidInputError(f"expected R0 R1 C0 C1, got {window!r}", param="window")
            win = _window([[window[0], window[1]], [window[2], window[3]]], "window", full)
        r0, c0 = (0, 0) if win is None else (int(win[0, 0]), int(win[1, 0]))
        oh = full[0] if win is None else int(win[0, 1] - win[0, 0] + 1)
        ow = full[1] if win is None else int(win[1, 1] - win[1, 0] + 1)
        out_dtype = output_dtype(s.dtypes[band_list[0] - 1], dtype)
        profile: dict[str, Any] = dict(
            width=max(ow, 1), height=max(oh, 1), count=len(band_list), dtype=out_dtype.name, nodata=opts.nodata
        )
        transform = _output_transform(g, res, r0, c0)
        if transform is not None:
            profile.update(transform=transform, crs=g.crs)
        mprofile = dict(profile, count=1, dtype="uint8", nodata=None)
        inputs = ChainInputs(
            grid=g, src=s, bands=band_list, row_band=row_band, col_band=cb, grid_col=gcol, src_mask=sm,
            src_mask_validity=tuple(src_mask_validity) if src_mask_validity else None, grid_mask=gm,
            grid_mask_valid=grid_mask_valid if gm is not None else None,
            src_dataset_mask=not opts.src_nodata_valid and _has_dataset_mask(s, band_list),
        )  # fmt: skip
        writer = stack.enter_context(RasterWriter(out, profile))
        mwriter = stack.enter_context(RasterWriter(mask_out, mprofile)) if mask_out is not None else None
        mds = None if mwriter is None else mwriter.dataset
        spec, owin = prepare(inputs, res, writer.dataset, opts, mask_out_ds=mds, window=win)
        if opts.in_process:
            # eokit's own streaming core (the gridr-compatible chain is an adapter over the same two steps)
            ncpu = 1 if opts.scheduler == "synchronous" else nworkers
            stream_tiles(
                spec, owin, inputs.reader(spec), writer.dataset, mds, ncpu=ncpu, max_memory=opts.max_memory,
                progress=progress,
            )  # fmt: skip
        else:
            paths = {"grid": _abs(grid), "grid_col": _abs(grid_col), "src": _abs(src), "src_mask": _abs(src_mask),
                     "grid_mask": _abs(grid_mask)}  # fmt: skip
            _distributed(spec, owin, inputs, writer, mwriter, paths, opts, nworkers, progress)
    return out


def _distributed(
    spec: ChainSpec,
    window: np.ndarray,
    inputs: ChainInputs,
    writer: RasterWriter,
    mwriter: RasterWriter | None,
    paths: dict[str, str | None],
    opts: ResampleOptions,
    workers: int,
    progress: Callable[[int], Any] | None,
) -> None:
    """Farm the tiles out to ``opts.scheduler``'s executor (workers open the inputs by ``paths``)."""
    g = inputs.grid
    gcol = g if inputs.grid_col is None else inputs.grid_col
    max_memory, scheduler = opts.max_memory, opts.scheduler
    budget = parse_memory(max_memory) if max_memory is not None else 512 * 10**6
    mds = None if mwriter is None else mwriter.dataset
    share = gdal_cache_share(budget, writer.dataset, mds)
    th, tw = auto_tile_shape(spec, g, gcol, window, max(budget - share, budget // 4), 1)
    th, tw = align_to_blocks(th, tw, writer.dataset.height, writer.dataset.width, writer.dataset)
    tiles = plan_tiles(window, strip_rows=th, tile_shape=(th, tw))
    log.info("resampling %d tile(s) of %d x %d on %s", len(tiles), th, tw, scheduler)
    from eokit.core import open_executor  # process pools fork from a clean server: safe after numba ran

    with open_executor(scheduler, workers) as ex, bounded_gdal_cache(share):
        for tile, out, mask in ex.imap_unordered(_remote_tile, ((spec, paths, t) for t in tiles)):
            wout = ((tile.out_row, tile.out_row + out.shape[1]), (tile.out_col, tile.out_col + out.shape[2]))
            writer.write(out, window=wout)
            if mwriter is not None:
                mwriter.write(mask, window=wout)
            if progress is not None:
                progress(out.shape[1] * out.shape[2])
