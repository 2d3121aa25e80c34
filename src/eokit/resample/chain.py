"""Dataset API: :func:`prepare` (eokit's :class:`ChainInputs` and :class:`ResampleOptions`) and
:func:`stream_tiles`, and gridr's ``basic_grid_resampling_chain`` / ``prepare_chain`` signatures as
thin adapters over them.

The output window is cut into strips and the strips into tiles; for each tile
only the grid nodes and the source window its pixels can touch are read
(native dtype), the kernel fills a tile buffer and the tile is written. With
``max_memory`` the strip/tile sizes are chosen automatically from the grid's
local scale so that the working set stays under the budget; ``ncpu`` sets the
kernel threads and overlaps reading the next tile with computing this one.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasterio.windows import Window

from eokit.errors import InvalidInputError
from eokit.resample.core import (
    BOUNDARY_CONDITIONS,
    _resolution,
    _window,
    grid_full_resolution_shape,
    node_validity,
    padded_extent,
)
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
    geometry_polygons,
    parse_memory,
    plan_tiles,
)

__all__ = ["ChainInputs", "basic_grid_resampling_chain", "prepare", "prepare_chain", "stream_tiles"]

log = logging.getLogger(__name__)

DEFAULT_IO_STRIP_SIZE = 1000
DEFAULT_TILE_SHAPE = (1000, 1000)
DEFAULT_NCPU = 1


def _band_list(bands: int | Sequence[int], count: int, name: str) -> tuple[int, ...]:
    b = (bands,) if isinstance(bands, int | np.integer) else tuple(int(v) for v in bands)
    if not b or any(v < 1 or v > count for v in b):
        raise InvalidInputError(f"band(s) {b} not in 1..{count}", param=name)
    return b


def _io_mode(value: Any) -> str:
    name = getattr(value, "name", value)
    key = str(name).lower()
    if key in ("input", "1", "output", "2"):
        return "output" if key in ("output", "2") else "input"
    raise InvalidInputError(f"expected INPUT or OUTPUT, got {value!r}", param="io_strip_size_target")


@dataclass(frozen=True)
class ChainInputs:
    """The datasets a chain reads and the bands in them (eokit's form of gridr's chain arguments).

    ``grid`` holds the row coordinates in ``row_band`` and, unless ``grid_col``
    is given, the column coordinates in ``col_band``; ``src_mask`` pixels equal
    to ``src_mask_validity[0]`` are valid (default: non-zero); ``grid_mask``
    nodes equal to ``grid_mask_valid`` are valid; ``geometry`` is gridr's
    (valid, invalid) polygon pair in source pixel coordinates shifted by
    ``geometry_origin``; ``src_dataset_mask`` adds the source's GDAL dataset
    mask (nodata, alpha, internal mask) to its validity.
    """

    grid: Any
    src: Any
    bands: int | Sequence[int]
    row_band: int = 1
    col_band: int = 2
    grid_col: Any = None
    src_mask: Any = None
    src_mask_band: int | None = None
    src_mask_validity: Sequence[int] | None = None
    grid_mask: Any = None
    grid_mask_valid: int | None = None
    grid_mask_band: int | None = None
    geometry: Any = None
    geometry_origin: Sequence[float] | None = None
    src_dataset_mask: bool = False

    def reader(self, spec: ChainSpec) -> TileReader:
        """The tile reader of a spec :func:`prepare` made from these inputs."""
        return TileReader(
            spec,
            self.grid,
            self.grid if self.grid_col is None else self.grid_col,
            self.src,
            self.src_mask,
            self.grid_mask,
        )


def _geometry(pair: Any, origin: Sequence[float] | None) -> tuple[Any, Any, tuple[float, float]]:
    """gridr's geometry pair and origin as (valid polygons, invalid polygons, origin)."""
    geo_valid = geo_invalid = None
    if pair is not None:
        try:
            gv, gi = pair
        except (TypeError, ValueError):
            raise InvalidInputError(
                "expected (valid geometries or None, invalid geometries or None)", param="array_src_geometry_pair"
            ) from None
        geo_valid = geometry_polygons(gv, "array_src_geometry_pair")
        geo_invalid = geometry_polygons(gi, "array_src_geometry_pair")
    geo_origin = (0.0, 0.0)
    if origin is not None:
        try:
            geo_origin = (float(origin[0]), float(origin[1]))
        except (TypeError, ValueError, IndexError):
            raise InvalidInputError(f"expected (row, col), got {origin!r}", param="array_src_geometry_origin") from None
    return geo_valid, geo_invalid, geo_origin


def _check_grid(inputs: ChainInputs) -> tuple[Any, tuple[int, int]]:
    """The column-coordinate dataset and the grid shape, after checking the grid datasets and bands."""
    grid_ds, grid_col_ds = inputs.grid, inputs.grid_col
    gshape = (grid_ds.height, grid_ds.width)
    if grid_col_ds is None:
        grid_col_ds = grid_ds
        if grid_ds.count < 2:
            raise InvalidInputError(
                f"expected at least 2 bands (row and column coordinates), got {grid_ds.count}", param="grid_ds"
            )
        if inputs.row_band == inputs.col_band:
            raise InvalidInputError("must differ in a single grid dataset", param="grid_col_coords_band")
    elif (grid_col_ds.height, grid_col_ds.width) != gshape:
        raise InvalidInputError(
            f"shape {(grid_col_ds.height, grid_col_ds.width)} differs from grid_ds {gshape}", param="grid_col_ds"
        )
    _band_list(inputs.row_band, grid_ds.count, "grid_row_coords_band")
    _band_list(inputs.col_band, grid_col_ds.count, "grid_col_coords_band")
    for ds, band in ((grid_ds, inputs.row_band), (grid_col_ds, inputs.col_band)):
        if np.dtype(ds.dtypes[band - 1]).kind != "f":
            raise InvalidInputError(
                f"band {band} must hold float coordinates, got {ds.dtypes[band - 1]}", param="grid_ds"
            )
    if inputs.grid_mask is not None:
        gm = inputs.grid_mask
        if (gm.height, gm.width) != gshape:
            raise InvalidInputError(
                f"shape {(gm.height, gm.width)} differs from the grid {gshape}", param="grid_mask_in_ds"
            )
        if inputs.grid_mask_valid is None:
            raise InvalidInputError("required with grid_mask_in_ds", param="grid_mask_in_unmasked_value")
        _band_list(inputs.grid_mask_band or 1, gm.count, "grid_mask_in_band")
    return grid_col_ds, gshape


def prepare(
    inputs: ChainInputs,
    resolution: Sequence[int],
    out_ds: Any,
    options: ResampleOptions,
    *,
    mask_out_ds: Any = None,
    window: Any = None,
    grid_shift: Sequence[float] | None = None,
) -> tuple[ChainSpec, np.ndarray]:
    """Validate a chain's datasets against eokit's options; the tile spec and the output window.

    ``window`` is the inclusive full-resolution window ``[[r0, r1], [c0, c1]]``
    to compute (default: all); ``out_ds`` (and ``mask_out_ds``) must have its
    shape. Only ``interp``, ``nodata``, ``boundary_condition`` and
    ``trust_padding`` of ``options`` matter here; :func:`stream_tiles` runs
    the tiles.
    """
    itp = options.interp
    geo_valid, geo_invalid, geo_origin = _geometry(inputs.geometry, inputs.geometry_origin)
    rr, rc = _resolution(resolution)
    grid_col_ds, gshape = _check_grid(inputs)
    src_ds = inputs.src
    bands = _band_list(inputs.bands, src_ds.count, "array_src_bands")
    src_shape = (src_ds.height, src_ds.width)
    src_mask_band = None
    if inputs.src_mask is not None:
        sm = inputs.src_mask
        if (sm.height, sm.width) != src_shape:
            raise InvalidInputError(
                f"shape {(sm.height, sm.width)} differs from the source {src_shape}", param="array_src_mask_ds"
            )
        src_mask_band = inputs.src_mask_band or 1
        _band_list(src_mask_band, sm.count, "array_src_mask_band")
    full = grid_full_resolution_shape(gshape, (rr, rc))
    window = _window(window, "win", full) if window is not None else np.array([[0, full[0] - 1], [0, full[1] - 1]])
    oshape = (int(window[0, 1] - window[0, 0] + 1), int(window[1, 1] - window[1, 0] + 1))
    if (out_ds.height, out_ds.width) != oshape:
        raise InvalidInputError(
            f"shape {(out_ds.height, out_ds.width)} does not match the output window {oshape}", param="array_out_ds"
        )
    if out_ds.count != len(bands):
        raise InvalidInputError(f"has {out_ds.count} band(s), expected {len(bands)}", param="array_out_ds")
    if mask_out_ds is not None and (mask_out_ds.height, mask_out_ds.width) != oshape:
        raise InvalidInputError(
            f"shape {(mask_out_ds.height, mask_out_ds.width)} does not match the output window {oshape}",
            param="mask_out_ds",
        )
    out_dtype = np.dtype(out_ds.dtypes[0])
    pair = inputs.src_mask_validity
    spec = ChainSpec(
        kind=itp.kind,
        resolution=(rr, rc),
        grid_shape=gshape,
        src_shape=src_shape,
        bands=bands,
        row_band=int(inputs.row_band),
        col_band=int(inputs.col_band),
        grid_mask_band=(inputs.grid_mask_band or 1) if inputs.grid_mask is not None else None,
        grid_mask_valid=int(inputs.grid_mask_valid or 1),
        src_mask_band=src_mask_band,
        src_mask_pair=None if pair is None else (int(pair[0]), int(pair[1])),
        geometry_valid=geo_valid,
        geometry_invalid=geo_invalid,
        geometry_origin=geo_origin,
        src_dataset_mask=bool(inputs.src_dataset_mask),
        grid_shift=None if grid_shift is None else (float(grid_shift[0]), float(grid_shift[1])),
        boundary_condition=options.boundary_condition,
        trust_padding=bool(options.trust_padding),
        nodata=float(options.nodata),
        work_dtype="float32" if out_dtype == np.float32 else "float64",
        out_dtype=out_dtype.name,
        epsilon=itp.epsilon,
        influence_threshold=itp.mask_influence_threshold,
    )
    if itp.is_bspline:
        bounds = _grid_bounds(spec, inputs.grid, grid_col_ds, inputs.grid_mask, window)
        spec = dataclasses.replace(spec, bspline_extent=padded_extent(bounds, src_shape, itp.total_margins()[0]))
    if spec.boundary_condition == "constant" and spec.trust_padding:
        # the only case where the whole source's validity shows in a tile (see ChainSpec.src_has_invalid)
        spec = dataclasses.replace(spec, src_has_invalid=inputs.reader(spec).source_has_invalid())
    return spec, window


def prepare_chain(
    grid_ds: Any,
    grid_row_coords_band: int,
    grid_col_coords_band: int,
    grid_resolution: Sequence[int],
    array_src_ds: Any,
    array_src_bands: int | Sequence[int],
    array_out_ds: Any,
    interp: Any,
    nodata_out: float,
    *,
    grid_col_ds: Any = None,
    interp_kwargs: dict[str, Any] | None = None,
    boundary_condition: str | None = None,
    trust_padding: bool | None = False,
    win: Any = None,
    grid_shift: Sequence[float] | None = None,
    array_src_mask_ds: Any = None,
    array_src_mask_band: int | None = None,
    array_src_mask_validity_pair: Sequence[int] | None = None,
    mask_out_ds: Any = None,
    grid_mask_in_ds: Any = None,
    grid_mask_in_unmasked_value: int | None = None,
    grid_mask_in_band: int | None = None,
    array_src_geometry_origin: Sequence[float] | None = None,
    array_src_geometry_pair: Any = None,
    src_dataset_mask: bool = False,
) -> tuple[ChainSpec, np.ndarray]:
    """:func:`prepare` with gridr's chain arguments (the adapter :func:`basic_grid_resampling_chain` uses)."""
    if boundary_condition is not None and boundary_condition not in BOUNDARY_CONDITIONS:
        raise InvalidInputError(
            f"unknown mode {boundary_condition!r}; expected one of {BOUNDARY_CONDITIONS}", param="boundary_condition"
        )
    if boundary_condition is not None and trust_padding is None:
        raise InvalidInputError("must be True or False when boundary_condition is set", param="trust_padding")
    options = ResampleOptions.create(
        interp, interp_kwargs, nodata=float(nodata_out), boundary_condition=boundary_condition,
        trust_padding=bool(trust_padding),
    )  # fmt: skip
    inputs = ChainInputs(
        grid=grid_ds, src=array_src_ds, bands=array_src_bands, row_band=grid_row_coords_band,
        col_band=grid_col_coords_band, grid_col=grid_col_ds, src_mask=array_src_mask_ds,
        src_mask_band=array_src_mask_band, src_mask_validity=array_src_mask_validity_pair, grid_mask=grid_mask_in_ds,
        grid_mask_valid=grid_mask_in_unmasked_value, grid_mask_band=grid_mask_in_band,
        geometry=array_src_geometry_pair, geometry_origin=array_src_geometry_origin,
        src_dataset_mask=src_dataset_mask,
    )  # fmt: skip
    return prepare(inputs, grid_resolution, array_out_ds, options, mask_out_ds=mask_out_ds, window=win,
                   grid_shift=grid_shift)  # fmt: skip


def _grid_bounds(
    spec: ChainSpec, grid_ds: Any, grid_col_ds: Any, gmask_ds: Any, window: np.ndarray
) -> tuple[float, float, float, float] | None:
    """(row min, row max, col min, col max) of the valid grid nodes covering ``window``, read by strips."""
    rr, rc = spec.resolution
    nr, nc = spec.grid_shape
    i0, i1 = int(window[0, 0]) // rr, min(-(-int(window[0, 1]) // rr), nr - 1)
    j0, j1 = int(window[1, 0]) // rc, min(-(-int(window[1, 1]) // rc), nc - 1)
    lo = [math.inf, math.inf]
    hi = [-math.inf, -math.inf]
    step = max(1, 4_000_000 // max(j1 - j0 + 1, 1))
    for a in range(i0, i1 + 1, step):
        b = min(a + step, i1 + 1)
        gwin = Window(j0, a, j1 - j0 + 1, b - a)
        gr = np.ascontiguousarray(grid_ds.read(spec.row_band, window=gwin), dtype=np.float64)
        gc = np.ascontiguousarray(grid_col_ds.read(spec.col_band, window=gwin), dtype=np.float64)
        gm = None if gmask_ds is None else gmask_ds.read(spec.grid_mask_band, window=gwin).view(np.uint8)
        if spec.grid_shift is not None:
            gr += spec.grid_shift[0]
            gc += spec.grid_shift[1]
        valid = node_validity(gr, gc, gm, spec.grid_mask_valid, None).astype(bool)
        if valid.any():
            for k, g in enumerate((gr, gc)):
                lo[k] = min(lo[k], float(g[valid].min()))
                hi[k] = max(hi[k], float(g[valid].max()))
    if not math.isfinite(lo[0]):
        return None
    return lo[0], hi[0], lo[1], hi[1]


def basic_grid_resampling_chain(
    grid_ds: Any,
    grid_row_coords_band: int,
    grid_col_coords_band: int,
    grid_resolution: Sequence[int],
    array_src_ds: Any,
    array_src_bands: int | Sequence[int],
    array_out_ds: Any,
    interp: Any,
    nodata_out: float,
    grid_col_ds: Any = None,
    interp_kwargs: dict[str, Any] | None = None,
    boundary_condition: str | None = None,
    trust_padding: bool | None = False,
    win: Any = None,
    grid_shift: Sequence[float] | None = None,
    array_src_mask_ds: Any = None,
    array_src_mask_band: int | None = None,
    array_src_mask_validity_pair: Sequence[int] | None = None,
    mask_out_ds: Any = None,
    grid_mask_in_ds: Any = None,
    grid_mask_in_unmasked_value: int | None = None,
    grid_mask_in_band: int | None = None,
    array_src_geometry_origin: Sequence[float] | None = None,
    array_src_geometry_pair: Any = None,
    io_strip_size: int | None = DEFAULT_IO_STRIP_SIZE,
    io_strip_size_target: Any = "input",
    ncpu: int = DEFAULT_NCPU,
    tile_shape: Sequence[int] | None = DEFAULT_TILE_SHAPE,
    logger: logging.Logger | None = None,
    *,
    max_memory: int | str | None = None,
    src_dataset_mask: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Resample ``array_src_ds`` through a grid read from ``grid_ds`` into ``array_out_ds``.

    Drop-in replacement for ``gridr.chain.grid_resampling_chain.basic_grid_resampling_chain``
    (same arguments and conventions, returns 1). Output tiles are computed
    from the grid nodes and the source window they need only.

    Parameters
    ----------
    grid_ds, grid_row_coords_band, grid_col_coords_band : dataset, int, int
        Grid coordinates (row band, column band; ``grid_col_ds`` if given
        holds the column band).
    grid_resolution : (int, int)
        Output pixels per grid step.
    array_src_ds, array_src_bands : dataset, int or list of int
        Source and the 1-based bands to resample.
    array_out_ds : dataset opened for writing
        Shape of the output window, one band per source band; integer
        dtypes receive rounded, clipped values.
    interp : str
        nearest, linear, cubic or lanczos3 (bspline3 needs the whole source
        prefiltered: :func:`eokit.resample.array_grid_resampling` only).
    nodata_out : float
        Value of invalid output pixels.
    boundary_condition, trust_padding :
        As in :func:`eokit.resample.array_grid_resampling` (chain default: not trusted).
    win : array-like, optional
        Inclusive full-resolution window ``[[r0, r1], [c0, c1]]`` to compute.
    grid_shift : (float, float), optional
        Added to the row and column coordinates.
    array_src_mask_ds, array_src_mask_band, array_src_mask_validity_pair :
        Source validity raster; pixels equal to the pair's first value (default 1) are valid.
    mask_out_ds : dataset, optional
        Receives the uint8 output validity (1 valid) in band 1.
    grid_mask_in_ds, grid_mask_in_unmasked_value, grid_mask_in_band :
        Grid node validity raster and its valid value.
    array_src_geometry_origin, array_src_geometry_pair :
        (valid, invalid) shapely polygons in source pixel coordinates (source
        pixel (r, c) centred at (x=c, y=r) + origin): pixels outside the valid
        or inside the invalid geometries are masked, as in gridr.
    io_strip_size, io_strip_size_target, tile_shape :
        Strip height (grid rows for INPUT, output rows for OUTPUT; 0 = one
        strip) and tile shape within strips, as gridr.
    ncpu : int
        Kernel threads; with more than one, the next tile is read while the
        current one is computed.
    max_memory : int or str, optional
        eokit extension: pick the tile size automatically so that the working
        set stays under this budget (e.g. ``"512MB"``); overrides
        ``io_strip_size`` and ``tile_shape``. GDAL's block cache, which
        otherwise keeps every written block until the output closes, is
        bounded to a share of it while the chain runs (restored afterwards).
    src_dataset_mask : bool
        eokit extension: also treat the source's GDAL dataset mask (nodata,
        alpha or internal mask) as source validity.
    progress : callable, optional
        Called with the number of output pixels finished after each tile.
    """
    spec, window = prepare_chain(
        grid_ds,
        grid_row_coords_band,
        grid_col_coords_band,
        grid_resolution,
        array_src_ds,
        array_src_bands,
        array_out_ds,
        interp,
        nodata_out,
        grid_col_ds=grid_col_ds,
        interp_kwargs=interp_kwargs,
        boundary_condition=boundary_condition,
        trust_padding=trust_padding,
        win=win,
        grid_shift=grid_shift,
        array_src_mask_ds=array_src_mask_ds,
        array_src_mask_band=array_src_mask_band,
        array_src_mask_validity_pair=array_src_mask_validity_pair,
        mask_out_ds=mask_out_ds,
        grid_mask_in_ds=grid_mask_in_ds,
        grid_mask_in_unmasked_value=grid_mask_in_unmasked_value,
        grid_mask_in_band=grid_mask_in_band,
        array_src_geometry_origin=array_src_geometry_origin,
        array_src_geometry_pair=array_src_geometry_pair,
        src_dataset_mask=src_dataset_mask,
    )
    grid_col_ds = grid_ds if grid_col_ds is None else grid_col_ds
    tiling = None
    if max_memory is None:
        strip = io_strip_size
        if strip and _io_mode(io_strip_size_target) == "input":
            strip = strip * spec.resolution[0]
        tiling = (strip, tile_shape)
    reader = TileReader(spec, grid_ds, grid_col_ds, array_src_ds, array_src_mask_ds, grid_mask_in_ds)
    stream_tiles(
        spec, window, reader, array_out_ds, mask_out_ds, ncpu=max(1, int(ncpu or 1)), max_memory=max_memory,
        tiling=tiling, progress=progress,
    )  # fmt: skip
    return 1


def stream_tiles(
    spec: ChainSpec,
    window: np.ndarray,
    reader: TileReader,
    out_ds: Any,
    mask_ds: Any = None,
    *,
    ncpu: int = 1,
    max_memory: int | str | None = "512MB",
    tiling: tuple[int | None, Sequence[int] | None] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> None:
    """eokit's streaming core: plan the tiles, read, compute and write them (reading ahead with ``ncpu > 1``).

    Tiles are sized from ``max_memory`` (the working set, GDAL's block cache
    bounded to a share of it), or given as ``tiling = (strip rows, tile shape)``.
    """
    oshape = (int(window[0, 1] - window[0, 0] + 1), int(window[1, 1] - window[1, 0] + 1))
    cache: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if tiling is None:
        budget = parse_memory(max_memory if max_memory is not None else "512MB")
        # the outputs' blocks wait in GDAL's block cache: bound it and give the tiles the rest
        share = gdal_cache_share(budget, out_ds, mask_ds)
        cache = bounded_gdal_cache(share)
        th, tw = auto_tile_shape(
            spec, reader.grid_ds, reader.grid_col_ds, window, max(budget - share, budget // 4), ncpu
        )
        th, tw = align_to_blocks(th, tw, *oshape, out_ds)
        tiles = plan_tiles(window, strip_rows=th, tile_shape=(th, tw))
    else:
        tiles = plan_tiles(window, strip_rows=tiling[0], tile_shape=tiling[1])
    log.debug("%d tile(s) for a %d x %d output", len(tiles), *oshape)
    out_dtype = np.dtype(spec.out_dtype)
    with _numba_threads(ncpu), cache:
        for tile, data in _prefetch(reader, tiles, ncpu > 1):
            out, omask = compute_tile(spec, data, tile)
            wout = Window(tile.out_col, tile.out_row, out.shape[2], out.shape[1])
            out_ds.write(convert(out, out_dtype), window=wout)
            if mask_ds is not None:
                mask_ds.write(omask.astype(mask_ds.dtypes[0], copy=False), 1, window=wout)
            if progress is not None:
                progress(out.shape[1] * out.shape[2])


def _prefetch(reader: TileReader, tiles: Iterable[Tile], overlap: bool) -> Iterator[tuple[Tile, dict[str, Any]]]:
    """Yield (tile, data); with ``overlap`` the next tile is read on a thread meanwhile."""
    if not overlap:
        for tile in tiles:
            yield tile, reader.read(tile)
        return
    it = iter(tiles)
    current = next(it, None)
    if current is None:
        return
    with cf.ThreadPoolExecutor(1, thread_name_prefix="eokit-resample-read") as pool:
        fut = pool.submit(reader.read, current)
        while current is not None:
            data = fut.result()
            following = next(it, None)
            if following is not None:
                fut = pool.submit(reader.read, following)
            yield current, data
            current = following


@contextlib.contextmanager
def _numba_threads(n: int) -> Iterator[None]:
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    try:
        yield
    finally:
        numba.set_num_threads(old)
