"""Tiles of the resampling chain: planning, reading what a tile needs, computing it.

A tile is an inclusive full-resolution output window. Its reader fetches only
the grid nodes around it and the source window (plus masks) its pixels can
touch; :func:`compute_tile` runs the kernel on that. Everything here works
from a picklable :class:`ChainSpec`, so tiles can also run on remote workers.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasterio.windows import Window

from eokit.errors import InvalidInputError
from eokit.io.limits import parse_size
from eokit.resample import _kernels as K
from eokit.resample.bspline import prefilter, prefilter_mask
from eokit.resample.core import embed_window, node_validity, run, source_extent, trim_coefficients
from eokit.resample.interp import Interpolator

__all__ = [
    "ChainSpec",
    "Tile",
    "TileReader",
    "align_to_blocks",
    "auto_tile_shape",
    "bounded_gdal_cache",
    "compute_tile",
    "gdal_cache_share",
    "convert",
    "geometry_polygons",
    "parse_memory",
    "TilePlan",
    "plan_tiles",
]

log = logging.getLogger(__name__)


def parse_memory(value: int | float | str) -> int:
    """Bytes in ``512MB``, ``1.5GiB``, ``100e6`` or a number (:func:`eokit.io.limits.parse_size`)."""
    return parse_size(value)


@dataclass(frozen=True)
class ChainSpec:
    """Everything a tile computation needs except the datasets (picklable)."""

    kind: int
    resolution: tuple[int, int]
    grid_shape: tuple[int, int]
    src_shape: tuple[int, int]
    bands: tuple[int, ...]
    row_band: int
    col_band: int
    grid_mask_band: int | None
    grid_mask_valid: int
    src_mask_band: int | None
    src_mask_pair: tuple[int, int] | None
    grid_shift: tuple[float, float] | None
    boundary_condition: str | None
    trust_padding: bool
    nodata: float
    work_dtype: str
    out_dtype: str
    geometry_valid: tuple[Any, ...] | None = None
    geometry_invalid: tuple[Any, ...] | None = None
    geometry_origin: tuple[float, float] = (0.0, 0.0)
    src_dataset_mask: bool = False
    #: B-splines: prefilter precision, mask influence threshold, and the source extent (r0, r1, c0, c1,
    #: inclusive, may pass the source edges) that the whole-window standalone computation would filter.
    epsilon: float = 1e-6
    influence_threshold: float = 0.001
    bspline_extent: tuple[int, int, int, int] | None = None
    #: Whether the source's validity (mask, dataset mask, geometries) has an invalid pixel anywhere: then
    #: trusted ``constant`` padding is invalid, as gridr pads the mask (0) with the data's mode (an all-valid
    #: mask is no mask). Only looked up for that case (:func:`source_has_invalid`).
    src_has_invalid: bool = False

    @property
    def order(self) -> int:
        """B-spline order (0 for the other kernels)."""
        return 2 * (self.kind - K.KIND_BSPLINE3) + 3 if self.kind >= K.KIND_BSPLINE3 else 0

    def read_margin(self) -> int:
        """Source pixels read around a tile's taps (see :meth:`Interpolator.tile_margin`)."""
        if not self.order:
            return K.MARGINS[self.kind]
        return Interpolator(f"bspline{self.order}", self.epsilon, self.influence_threshold).tile_margin()


@dataclass(frozen=True)
class Tile:
    """One output tile: inclusive full-resolution window and its place in the output dataset."""

    win: tuple[int, int, int, int]  # r0, r1, c0, c1 in full-resolution grid space
    out_row: int
    out_col: int


def _grid_node_window(spec: ChainSpec, win: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    rr, rc = spec.resolution
    nr, nc = spec.grid_shape
    r0, r1, c0, c1 = win
    return r0 // rr, min(-(-r1 // rr), nr - 1), c0 // rc, min(-(-c1 // rc), nc - 1)


def _bc_indices(lo: int, hi: int, n: int, mode: str) -> np.ndarray:
    """Source index feeding each position ``lo..hi`` under a numpy.pad mode (-1 = constant 0)."""
    idx = np.arange(lo, hi + 1)
    if mode == "constant":
        return np.where((idx >= 0) & (idx < n), idx, -1)
    if mode == "edge":
        return np.clip(idx, 0, n - 1)
    if mode == "wrap":
        return np.mod(idx, n)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(idx)
        period = 2 * (n - 1)
        m = np.mod(idx, period)
        return np.where(m < n, m, period - m)
    # symmetric
    period = 2 * n
    m = np.mod(idx, period)
    return np.where(m < n, m, period - 1 - m)


class TileReader:
    """Reads what one tile needs from the datasets."""

    def __init__(self, spec: ChainSpec, grid_ds: Any, grid_col_ds: Any, src_ds: Any, src_mask_ds: Any, gmask_ds: Any):
        self.spec = spec
        self.grid_ds = grid_ds
        self.grid_col_ds = grid_col_ds
        self.src_ds = src_ds
        self.src_mask_ds = src_mask_ds
        self.gmask_ds = gmask_ds

    def read(self, tile: Tile) -> dict[str, Any]:
        spec = self.spec
        i0, i1, j0, j1 = _grid_node_window(spec, tile.win)
        gwin = Window(j0, i0, j1 - j0 + 1, i1 - i0 + 1)
        gr = np.ascontiguousarray(self.grid_ds.read(spec.row_band, window=gwin), dtype=np.float64)
        gc = np.ascontiguousarray(self.grid_col_ds.read(spec.col_band, window=gwin), dtype=np.float64)
        gm = None
        if self.gmask_ds is not None:
            gm = self.gmask_ds.read(spec.grid_mask_band, window=gwin)
            if gm.dtype == np.int8:
                gm = gm.view(np.uint8)
        if spec.grid_shift is not None:
            gr += spec.grid_shift[0]
            gc += spec.grid_shift[1]
        nv = node_validity(gr, gc, gm, spec.grid_mask_valid, None)
        rr, rc = spec.resolution
        r0, r1, c0, c1 = tile.win
        lwin = np.array([[r0 - i0 * rr, r1 - i0 * rr], [c0 - j0 * rc, c1 - j0 * rc]])
        ext = source_extent(gr, gc, nv, spec.resolution, lwin, spec.kind)
        data: dict[str, Any] = {"gr": gr, "gc": gc, "nv": nv, "lwin": lwin, "src": None}
        if ext is None:
            return data
        h, w = spec.src_shape
        if spec.bspline_extent is not None:
            return self._read_bspline(data, ext)
        use_bc = spec.boundary_condition is not None and spec.trust_padding
        m = K.MARGINS[spec.kind] if use_bc else 0
        lo_r, hi_r = max(ext[0], -m), min(ext[1], h - 1 + m)
        lo_c, hi_c = max(ext[2], -m), min(ext[3], w - 1 + m)
        if lo_r > hi_r or lo_c > hi_c:
            return data  # every tap falls outside: all invalid
        if use_bc and (lo_r < 0 or lo_c < 0 or hi_r >= h or hi_c >= w):
            src, mask = self._read_padded(lo_r, hi_r, lo_c, hi_c)
        else:
            win = Window(lo_c, lo_r, hi_c - lo_c + 1, hi_r - lo_r + 1)
            src = self.src_ds.read(list(spec.bands), window=win)
            mask = self._read_mask(win)
        data.update(src=np.ascontiguousarray(src), mask=mask, offset=(lo_r, lo_c))
        return data

    def _read_bspline(self, data: dict[str, Any], ext: tuple[int, int, int, int]) -> dict[str, Any]:
        """B-spline coefficients and their validity around the tile's taps, as the whole window has them.

        The window is the taps' extent widened by :meth:`ChainSpec.read_margin` and clipped to the
        extent the whole-window computation filters (so the unreliable border falls where it does
        there); outside the source it holds the boundary condition, valid only when trusted.
        """
        spec = self.spec
        h, w = spec.src_shape
        assert spec.bspline_extent is not None
        er0, er1, ec0, ec1 = spec.bspline_extent
        m = spec.read_margin()
        lo_r, hi_r = max(ext[0] - m, er0), min(ext[1] + m, er1)
        lo_c, hi_c = max(ext[2] - m, ec0), min(ext[3] + m, ec1)
        if lo_r > hi_r or lo_c > hi_c:
            return data
        trusted = spec.boundary_condition is not None and spec.trust_padding
        if spec.boundary_condition is not None:
            # boundary condition values; the padding's validity is the trust in it
            src, mask = self._read_padded(lo_r, hi_r, lo_c, hi_c)
            valid = np.ones(src.shape[1:], np.uint8) if mask is None else mask
        else:
            # zeros outside the source (invalid below)
            ir0, ir1, ic0, ic1 = max(lo_r, 0), min(hi_r, h - 1), max(lo_c, 0), min(hi_c, w - 1)
            win = Window(ic0, ir0, max(0, ic1 - ic0 + 1), max(0, ir1 - ir0 + 1))
            part = self.src_ds.read(list(spec.bands), window=win)
            shape = (hi_r - lo_r + 1, hi_c - lo_c + 1)
            src, valid = embed_window(part, self._read_mask(win), (ir0 - lo_r, ic0 - lo_c), shape)
        if not trusted:
            valid[: max(0, -lo_r)] = 0
            valid[valid.shape[0] - max(0, hi_r - (h - 1)) :] = 0
            valid[:, : max(0, -lo_c)] = 0
            valid[:, valid.shape[1] - max(0, hi_c - (w - 1)) :] = 0
        itp = Interpolator(f"bspline{spec.order}", spec.epsilon, spec.influence_threshold)
        coef, cmask, offset = trim_coefficients(
            prefilter(src, spec.order, spec.epsilon),
            prefilter_mask(valid, spec.order, spec.epsilon, spec.influence_threshold),
            itp,
            (lo_r, lo_c),
        )
        data.update(src=coef, mask=cmask, offset=offset)
        return data

    def _read_mask(self, win: Window) -> np.ndarray | None:
        spec = self.spec
        valid = None
        if self.src_mask_ds is not None:
            raw = self.src_mask_ds.read(spec.src_mask_band, window=win)
            valid = raw != 0 if spec.src_mask_pair is None else raw == spec.src_mask_pair[0]
        if spec.src_dataset_mask:
            # GDAL's dataset mask: nodata / alpha / internal mask of the source (0 = invalid)
            dm = self.src_ds.dataset_mask(window=win) != 0
            valid = dm if valid is None else valid & dm
        if spec.geometry_valid is not None or spec.geometry_invalid is not None:
            geo = geometry_validity(spec, win)
            valid = geo if valid is None else valid & geo
        return None if valid is None else np.ascontiguousarray(valid.astype(np.uint8))

    def _read_padded(self, lo_r: int, hi_r: int, lo_c: int, hi_c: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Source rows/cols lo..hi with the boundary condition applied outside the source."""
        h, w = self.spec.src_shape
        mode = self.spec.boundary_condition or "constant"
        ir = _bc_indices(lo_r, hi_r, h, mode)
        ic = _bc_indices(lo_c, hi_c, w, mode)
        vr, vc = ir[ir >= 0], ic[ic >= 0]
        if vr.size == 0 or vc.size == 0:
            src = np.zeros((len(self.spec.bands), ir.size, ic.size), self.src_ds.dtypes[self.spec.bands[0] - 1])
            return src, None
        rr0, rr1, cc0, cc1 = int(vr.min()), int(vr.max()), int(vc.min()), int(vc.max())
        win = Window(cc0, rr0, cc1 - cc0 + 1, rr1 - rr0 + 1)
        block = self.src_ds.read(list(self.spec.bands), window=win)
        mblock = self._read_mask(win)
        src = np.zeros((block.shape[0], ir.size, ic.size), block.dtype)
        rsel, csel = np.flatnonzero(ir >= 0), np.flatnonzero(ic >= 0)
        rsrc, csrc = (ir[rsel] - rr0)[:, None], (ic[csel] - cc0)[None, :]
        src[:, rsel[:, None], csel[None, :]] = block[:, rsrc, csrc]
        mask = None
        if mblock is not None:
            # trusted constant padding: valid, unless the source has invalid pixels (see ChainSpec)
            mask = np.full((ir.size, ic.size), 0 if self.spec.src_has_invalid else 1, np.uint8)
            mask[rsel[:, None], csel[None, :]] = mblock[rsrc, csrc]
        return src, mask

    def source_has_invalid(self) -> bool:
        """Whether any source pixel is invalid (mask file, dataset mask, geometries), read by strips."""
        h, w = self.spec.src_shape
        step = max(1, 16_000_000 // max(w, 1))
        for r in range(0, h, step):
            valid = self._read_mask(Window(0, r, w, min(step, h - r)))
            if valid is not None and not valid.all():
                return True
        return False


def geometry_polygons(geometry: Any, name: str) -> tuple[Any, ...] | None:
    """gridr's GeometryType (Polygon, MultiPolygon or list of polygons) as a tuple of polygons."""
    if geometry is None:
        return None
    from shapely.geometry import MultiPolygon, Polygon

    items = list(geometry) if isinstance(geometry, list | tuple) else [geometry]
    out = []
    for g in items:
        if isinstance(g, MultiPolygon):
            out.extend(g.geoms)
        elif isinstance(g, Polygon):
            out.append(g)
        else:
            raise InvalidInputError(
                f"expected shapely Polygon/MultiPolygon (or a list), got {type(g).__name__}", param=name
            )
    # gridr dilates by 1e-6 so that polygon corners on pixel centres are burnt in
    return tuple(p.buffer(1e-6) for p in out if not p.is_empty)


def geometry_validity(spec: ChainSpec, win: Window) -> np.ndarray:
    """Source validity from the geometry pair in a window: inside the valid and outside the invalid ones.

    Source pixel ``(r, c)`` has its centre at geometry coordinates
    ``(x, y) = (c, r) + array_src_geometry_origin`` (gridr's convention);
    a pixel is inside when its centre is (rasterio ``all_touched=False``).
    """
    from affine import Affine
    from rasterio.features import rasterize

    h, w = int(win.height), int(win.width)
    go_r, go_c = spec.geometry_origin
    transform = Affine(1.0, 0.0, go_c + win.col_off - 0.5, 0.0, 1.0, go_r + win.row_off - 0.5)
    valid = np.ones((h, w), bool)
    if spec.geometry_valid and h and w:
        inside = rasterize([(g, 1) for g in spec.geometry_valid], out_shape=(h, w), transform=transform, fill=0)
        valid &= inside.astype(bool)
    if spec.geometry_invalid and h and w:
        inside = rasterize([(g, 1) for g in spec.geometry_invalid], out_shape=(h, w), transform=transform, fill=0)
        valid &= ~inside.astype(bool)
    return valid


def compute_tile(spec: ChainSpec, data: dict[str, Any], tile: Tile) -> tuple[np.ndarray, np.ndarray]:
    """Resample one tile from what :meth:`TileReader.read` returned; (bands, h, w) work dtype + uint8 mask."""
    r0, r1, c0, c1 = tile.win
    h, w = r1 - r0 + 1, c1 - c0 + 1
    out = np.empty((len(spec.bands), h, w), spec.work_dtype)
    omask = np.empty((h, w), np.uint8)
    if data["src"] is None:
        out[...] = spec.nodata
        omask[...] = 0
        return out, omask
    ow = np.array([[0, h - 1], [0, w - 1]])
    run(
        spec.kind,
        data["src"],
        data["mask"],
        data["gr"],
        data["gc"],
        data["nv"],
        spec.resolution,
        data["lwin"],
        (0.0, 0.0),
        out,
        ow,
        omask,
        True,
        spec.nodata,
        data["offset"],
    )
    return out, omask


def convert(buf: np.ndarray, dtype: Any) -> np.ndarray:
    """Cast the float work buffer to the output dtype (integers: rounded and clipped, as gridr)."""
    dt = np.dtype(dtype)
    if buf.dtype == dt:
        return buf
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return np.clip(np.rint(buf), info.min, info.max).astype(dt)
    return buf.astype(dt)


class TilePlan:
    """The tiles of an output window, made one at a time as they are iterated (``len`` is known up front).

    A grid may declare an output of millions of rows and columns: a list of its tiles
    would grow with the declared size, the plan stays a few numbers.
    """

    def __init__(self, origin: tuple[int, int], shape: tuple[int, int], strip: int, tile: tuple[int, int]) -> None:
        self.origin, self.shape, self.strip, self.tile = origin, shape, strip, tile

    def __len__(self) -> int:
        (H, W), sh, (th, tw) = self.shape, self.strip, self.tile
        full, rest = divmod(H, sh)
        return (full * -(-sh // th) + -(-rest // th)) * -(-W // tw)

    def __iter__(self) -> Iterator[Tile]:
        (r0, c0), (H, W), sh, (th, tw) = self.origin, self.shape, self.strip, self.tile
        for s0 in range(0, H, sh):
            s1 = min(s0 + sh, H)
            for t0 in range(s0, s1, th):
                t1 = min(t0 + th, s1)
                for u0 in range(0, W, tw):
                    u1 = min(u0 + tw, W)
                    yield Tile((r0 + t0, r0 + t1 - 1, c0 + u0, c0 + u1 - 1), t0, u0)


def plan_tiles(
    window: np.ndarray,
    *,
    strip_rows: int | None,
    tile_shape: Sequence[int] | None,
) -> TilePlan:
    """Cut an inclusive full-resolution window into strips of ``strip_rows`` and tiles of ``tile_shape``.

    >>> plan = plan_tiles(np.array([[0, 9], [0, 4]]), strip_rows=4, tile_shape=(3, 5))
    >>> len(plan), [t.win for t in plan][:3]
    (5, [(0, 2, 0, 4), (3, 3, 0, 4), (4, 6, 0, 4)])
    """
    r0, r1 = int(window[0, 0]), int(window[0, 1])
    c0, c1 = int(window[1, 0]), int(window[1, 1])
    H, W = r1 - r0 + 1, c1 - c0 + 1
    sh = H if not strip_rows else max(1, int(strip_rows))
    th, tw = (sh, W) if tile_shape is None else (max(1, int(tile_shape[0])), max(1, int(tile_shape[1])))
    return TilePlan((r0, c0), (H, W), sh, (th, tw))


def auto_tile_shape(
    spec: ChainSpec,
    grid_ds: Any,
    grid_col_ds: Any,
    window: np.ndarray,
    budget: int,
    ncpu: int,
) -> tuple[int, int]:
    """Largest tile (rows, cols) whose estimated working set fits in ``budget`` bytes.

    The source window of a tile is estimated from the largest source step per
    output pixel along rows and columns (finite differences of the grid, read
    decimated when the grid is large), plus the kernel margins.
    """
    nr, nc = spec.grid_shape
    step = max(1, math.ceil(math.sqrt(nr * nc / 250_000)))
    shape = (max(2, -(-nr // step)), max(2, -(-nc // step)))
    gr = grid_ds.read(spec.row_band, out_shape=shape).astype(np.float64)
    gc = grid_col_ds.read(spec.col_band, out_shape=shape).astype(np.float64)
    rr, rc = spec.resolution
    fr = max(1.0, (nr - 1) * rr / max(shape[0] - 1, 1))  # output pixels per decimated row step
    fc = max(1.0, (nc - 1) * rc / max(shape[1] - 1, 1))

    def dmax(a: np.ndarray, axis: int, f: float) -> float:
        d = np.abs(np.diff(a, axis=axis)) / f
        d = d[np.isfinite(d)]
        return float(d.max()) if d.size else 1.0

    dyi, dyj = dmax(gr, 0, fr), dmax(gr, 1, fc)
    dxi, dxj = dmax(gc, 0, fr), dmax(gc, 1, fc)
    nb = len(spec.bands)
    src_item = 8  # conservative: native items are at most 8 bytes
    work_item = np.dtype(spec.work_dtype).itemsize + np.dtype(spec.out_dtype).itemsize
    pad = 2 * spec.read_margin() + 2
    if spec.order:
        src_item += 9  # float64 coefficients and their mask beside the source
    H = int(window[0, 1] - window[0, 0] + 1)
    W = int(window[1, 1] - window[1, 0] + 1)
    nbuf = 2 if ncpu > 1 else 1  # a prefetched tile is in memory with the current one

    def cost(th: int, tw: int) -> float:
        sh = min(dyi * th + dyj * tw + pad, spec.src_shape[0] + pad)
        sw = min(dxi * th + dxj * tw + pad, spec.src_shape[1] + pad)
        src = nb * sh * sw * src_item + sh * sw
        grid = ((th // rr + 3) * (tw // rc + 3)) * 8 * 3
        out = th * tw * (nb * work_item + 2)
        return nbuf * (src + grid + out)

    th, tw = H, W
    while cost(th, tw) > budget and (th > 16 or tw > 16):
        if th >= tw and th > 16:
            th = max(16, th // 2)
        else:
            tw = max(16, tw // 2)
    log.debug("max_memory %d B -> tiles of %d x %d (est. %d B)", budget, th, tw, cost(th, tw))
    return th, tw


def gdal_cache_share(budget: int, *outputs: Any) -> int:
    """Bytes of GDAL block cache to allow while writing ``outputs`` under a ``budget``.

    GDAL keeps every written block in its block cache (by default 5 % of the
    RAM) until it needs the room or the dataset closes, so without a bound the
    whole output passes through memory. A quarter of the budget, and at least
    two full-width rows of blocks of every output (so that a strip's blocks
    are complete before they are flushed).
    """
    row_bytes = 0
    for ds in outputs:
        if ds is None:
            continue
        bh = ds.block_shapes[0][0] if ds.block_shapes else 1
        row_bytes += bh * ds.width * ds.count * np.dtype(ds.dtypes[0]).itemsize
    return int(max(budget // 4, 2 * row_bytes, 1 << 20))


@contextlib.contextmanager
def bounded_gdal_cache(limit: int) -> Iterator[None]:
    """Lower GDAL's block cache to ``limit`` bytes inside the block (never raise it); restored on exit."""
    import rasterio
    from rasterio.env import get_gdal_config

    current = get_gdal_config("GDAL_CACHEMAX")
    if isinstance(current, int) and 0 < current <= limit:
        yield
        return
    with rasterio.Env(GDAL_CACHEMAX=int(limit)):
        yield


def align_to_blocks(th: int, tw: int, height: int, width: int, out_ds: Any) -> tuple[int, int]:
    """Round a tile shape down to whole output blocks (when it spans at least one), so tiles fill blocks."""
    shapes = getattr(out_ds, "block_shapes", None)
    if not shapes:
        return th, tw
    bh, bw = shapes[0]
    if th < height and th >= bh:
        th = th // bh * bh
    if tw < width and tw >= bw:
        tw = tw // bw * bw
    return th, tw
