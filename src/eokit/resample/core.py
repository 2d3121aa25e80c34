"""Array API: gridr-compatible ``array_grid_resampling`` and ``grid_full_resolution_shape``.

The conventions are those of CNES gridr 0.7.0 (see :mod:`eokit.resample._kernels`);
the differences are improvements: native source dtypes (no float64 copy of the
image), float32 or float64 output, NaN grid coordinates and ``grid_nodata`` in
either grid make the pixel invalid, any window or shape works, and the kernels
run in parallel without the GIL.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any, cast

import numba
import numpy as np

from eokit.errors import FallbackWarning, InvalidInputError
from eokit.resample import _kernels as K
from eokit.resample.bspline import check_size, influence_radius, prefilter, prefilter_mask
from eokit.resample.interp import INTERPOLATORS, Interpolator, get_interpolator

__all__ = [
    "BOUNDARY_CONDITIONS",
    "INTERPOLATORS",
    "array_grid_resampling",
    "grid_full_resolution_shape",
    "interp_kind",
    "source_extent",
]

log = logging.getLogger(__name__)

#: Boundary conditions (numpy.pad modes) accepted in standalone mode.
BOUNDARY_CONDITIONS = ("constant", "edge", "reflect", "symmetric", "wrap")
_DUMMY_MASK = np.ones((1, 1), np.uint8)


def interp_kind(interp: Any) -> int:
    """Kernel code of an interpolator name (or of a gridr interpolator object)."""
    return _name_kind(interp)


def _name_kind(interp: Any) -> int:
    from eokit.resample.interp import _name

    return INTERPOLATORS[_name(interp)]


def _resolution(grid_resolution: Sequence[int], name: str = "grid_resolution") -> tuple[int, int]:
    """Two integers >= 1; errors name the parameter ``name`` (the tool's is ``resolution``)."""
    try:
        rr, rc = (int(v) for v in grid_resolution)
        ok = all(float(v) == int(v) for v in grid_resolution)
    except (TypeError, ValueError):
        raise InvalidInputError(f"expected two integers, got {grid_resolution!r}", param=name) from None
    if not ok or rr < 1 or rc < 1:
        raise InvalidInputError(f"expected two integers >= 1, got {tuple(grid_resolution)!r}", param=name)
    return rr, rc


def _check_coverage(shape: tuple[int, ...], res: tuple[int, int], name: str = "grid_resolution") -> None:
    """A resolution above 1 along an axis needs two grid nodes along it (gridr: InsufficientGridCoverage)."""
    for axis, n, r in (("rows", shape[0], res[0]), ("columns", shape[1], res[1])):
        if r > 1 and n < 2:
            raise InvalidInputError(
                f"a resolution of {r} along {axis} needs at least two grid nodes along {axis}, the grid has {n}",
                param=name,
            )


def grid_full_resolution_shape(shape: Sequence[int], resolution: Sequence[int]) -> tuple[int, int]:
    """Full-resolution output shape ``((R-1)*rr + 1, (C-1)*rc + 1)`` of an ``(R, C)`` grid.

    Examples
    --------
    >>> grid_full_resolution_shape((400, 400), (10, 10))
    (3991, 3991)
    """
    rr, rc = _resolution(resolution)
    try:
        nr, nc = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise InvalidInputError(f"expected (rows, cols), got {shape!r}", param="shape") from None
    if nr < 1 or nc < 1:
        raise InvalidInputError(f"grid must have at least one row and column, got {tuple(shape)!r}", param="shape")
    return (nr - 1) * rr + 1, (nc - 1) * rc + 1


def _window(win: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Validate an inclusive ``[[r0, r1], [c0, c1]]`` window inside ``shape``."""
    try:
        w = np.asarray(win, dtype=np.int64).reshape(2, 2)
    except (TypeError, ValueError):
        raise InvalidInputError(f"expected [[row0, row1], [col0, col1]], got {win!r}", param=name) from None
    if np.any(w[:, 0] < 0) or np.any(w[:, 1] < w[:, 0]) or w[0, 1] >= shape[0] or w[1, 1] >= shape[1]:
        raise InvalidInputError(
            f"window {w.tolist()} is not inside [[0, {shape[0] - 1}], [0, {shape[1] - 1}]] "
            "(inclusive bounds, start <= end)",
            param=name,
        )
    return w


def node_validity(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    grid_mask: np.ndarray | None,
    grid_mask_valid_value: int | None,
    grid_nodata: float | None,
) -> np.ndarray:
    """uint8 validity of the coarse grid nodes (mask, ``grid_nodata`` on both grids, NaN).

    numpy, not numba: a grid has few nodes, and one kernel fewer to compile on the first run.
    """
    ok = np.isfinite(grid_row) & np.isfinite(grid_col)
    if grid_nodata is not None:
        ok &= (grid_row != grid_nodata) & (grid_col != grid_nodata)
    if grid_mask is not None:
        gm = np.asarray(grid_mask)
        if gm.dtype.kind not in "biu":
            raise InvalidInputError(f"expected an integer mask, got dtype {gm.dtype}", param="grid_mask")
        ok &= gm.astype(np.int64, copy=False) == (1 if grid_mask_valid_value is None else int(grid_mask_valid_value))
    return np.ascontiguousarray(ok, dtype=np.uint8)


def source_extent(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    resolution: tuple[int, int],
    win: np.ndarray,
    kind: int,
) -> tuple[int, int, int, int] | None:
    """Source tap bounds ``(r0, r1, c0, c1)`` (inclusive) the output window ``win`` can touch.

    Output coordinates are convex combinations of the valid nodes around them,
    so the bounds of the valid nodes covering the window plus the kernel
    support bound every tap. ``None`` when no valid node is involved.
    """
    rr, rc = resolution
    nr, nc = grid_row.shape
    i0, i1 = int(win[0, 0]) // rr, min(-(-int(win[0, 1]) // rr), nr - 1)
    j0, j1 = int(win[1, 0]) // rc, min(-(-int(win[1, 1]) // rc), nc - 1)
    sel = node_valid[i0 : i1 + 1, j0 : j1 + 1].astype(bool)
    if not sel.any():
        return None
    ys = grid_row[i0 : i1 + 1, j0 : j1 + 1][sel]
    xs = grid_col[i0 : i1 + 1, j0 : j1 + 1][sel]
    lo_y, hi_y, lo_x, hi_x = float(ys.min()), float(ys.max()), float(xs.min()), float(xs.max())
    if kind == K.KIND_NEAREST:
        return (
            math.floor(lo_y + 0.5),
            math.floor(hi_y + 0.5),
            math.floor(lo_x + 0.5),
            math.floor(hi_x + 0.5),
        )
    m = K.MARGINS[kind]
    return (
        math.floor(lo_y) - (m - 1),
        math.floor(hi_y) + m,
        math.floor(lo_x) - (m - 1),
        math.floor(hi_x) + m,
    )


def _as_mask(mask: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != shape:
        raise InvalidInputError(f"shape {m.shape} does not match the expected {shape}", param=name)
    if m.dtype == np.bool_:
        return np.ascontiguousarray(m.view(np.uint8))
    if m.dtype != np.uint8:
        raise InvalidInputError(f"expected a uint8 validity mask (1 valid, 0 invalid), got {m.dtype}", param=name)
    return np.ascontiguousarray(m)


def _check_grids(grid_row: Any, grid_col: Any) -> tuple[np.ndarray, np.ndarray]:
    gr = np.asarray(grid_row)
    gc = np.asarray(grid_col)
    if gr.ndim != 2 or gc.ndim != 2 or gr.shape != gc.shape or gr.size == 0:
        raise InvalidInputError(
            f"expected two non-empty 2-D arrays of the same shape, got {gr.shape} and {gc.shape}", param="grid_row"
        )
    if gr.dtype.kind not in "fiu" or gc.dtype.kind not in "fiu":
        raise InvalidInputError(f"expected numeric grids, got {gr.dtype} and {gc.dtype}", param="grid_col")
    return (
        np.ascontiguousarray(gr, dtype=np.float64),
        np.ascontiguousarray(gc, dtype=np.float64),
    )


def pad_source(
    src: np.ndarray, mask: np.ndarray | None, pad: Any, boundary_condition: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pad a (bands, rows, cols) source and its mask by ``pad`` (numpy.pad widths) with a numpy.pad mode."""
    pw = np.broadcast_to(np.asarray(pad, dtype=np.int64), (2, 2)).tolist()
    src_p = _pad(src, ((0, 0), *pw), boundary_condition)
    mask_p = None if mask is None else _pad(mask, pw, boundary_condition)
    return src_p, mask_p


def _pad(a: np.ndarray, widths: Any, mode: str | None, **kw: Any) -> np.ndarray:
    """numpy.pad with a boundary condition name (None: constant)."""
    return np.asarray(np.pad(a, widths, mode=cast(Any, mode or "constant"), **kw))


def array_grid_resampling(
    interp: Any,
    array_in: np.ndarray,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    grid_resolution: Sequence[int],
    array_out: np.ndarray | None = None,
    array_out_win: Any = None,
    nodata_out: float | None = 0,
    array_in_origin: Sequence[float] | None = (0.0, 0.0),
    win: Any = None,
    array_in_mask: np.ndarray | None = None,
    array_in_mask_safe_win: Any = None,
    grid_mask: np.ndarray | None = None,
    grid_mask_valid_value: int | None = 1,
    grid_nodata: float | None = None,
    array_out_mask: np.ndarray | bool | None = None,
    check_boundaries: bool = True,
    interp_kwargs: dict[str, Any] | None = None,
    standalone: bool | None = True,
    boundary_condition: str | None = None,
    trust_padding: bool | None = True,
    logger_msg_prefix: str | None = None,
    logger: logging.Logger | None = None,
    *,
    dtype: Any = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Resample ``array_in`` through a (possibly coarse) grid of source coordinates.

    Drop-in replacement for ``gridr.core.grid.grid_resampling.array_grid_resampling``
    (same arguments, same conventions, same return value).

    Parameters
    ----------
    interp : str
        ``"nearest"`` (floor(x + 0.5)), ``"linear"`` (bilinear), ``"cubic"``
        (Keys, a = -0.5), ``"bspline3"`` (cubic B-spline on prefiltered
        coefficients: equals ``scipy.ndimage.map_coordinates(order=3)``) or
        ``"lanczos3"`` (normalised Lanczos-3). In integrated mode
        (``standalone=False``) ``bspline3`` takes ``array_in`` as coefficients
        already prefiltered, as gridr does.
    array_in : ndarray
        Source, (rows, cols) or (bands, rows, cols); uint8/uint16/int16/int32/
        float32/float64, read in place (no float64 copy).
    grid_row, grid_col : ndarray
        Source row / column coordinate of every grid node, same 2-D shape;
        source (0, 0) is the centre of the first pixel.
    grid_resolution : (int, int)
        Output pixels per grid step; node ``k`` falls on output pixel ``k * res``.
    array_out : ndarray, optional
        Preallocated float32/float64 output (bands, rows, cols) or (rows, cols);
        written in ``array_out_win`` (default: from its top-left corner).
    array_out_win, win : array-like, optional
        Inclusive windows ``[[r0, r1], [c0, c1]]``: where to write in
        ``array_out``, and which part of the full-resolution output to compute.
    nodata_out : float
        Value of invalid output pixels.
    array_in_origin : (float, float)
        Offset added to the grid coordinates (integrated mode only).
    array_in_mask : ndarray of uint8, optional
        Source validity (1 valid, 0 invalid).
    array_in_mask_safe_win : array-like, optional
        Accepted for compatibility (a speed hint in gridr; not needed here).
    grid_mask, grid_mask_valid_value : optional
        Grid node validity: nodes equal to ``grid_mask_valid_value`` are valid.
    grid_nodata : float, optional
        Coordinate value marking invalid nodes, in either grid.
    array_out_mask : ndarray of uint8 or True, optional
        Output validity mask to fill, or ``True`` to allocate and return one.
    check_boundaries : bool
        ``False`` promises (as in gridr) that every tap is inside the source,
        so that gridr can skip its bounds checks. eokit's kernels check at
        almost no cost, so results are the same; the promise is verified from
        the grid and a broken one gives a ``FallbackWarning`` (gridr panics).
    interp_kwargs : dict, optional
        Interpolator options, as gridr's: for ``bspline3`` ``epsilon``
        (prefilter precision; eokit's prefilter is exact, so any value is met)
        and ``mask_influence_threshold`` (default 0.001: invalid source pixels
        are dilated by the distance at which their weight in the B-spline
        coefficients falls below it). The other kernels take none.
    standalone : bool
        ``True``: apply ``boundary_condition`` padding; ``False``: integrated
        mode, ``array_in_origin`` applies and taps outside ``array_in`` are invalid.
    boundary_condition : str, optional
        numpy.pad mode (constant, edge, reflect, symmetric, wrap) extending the
        source by the kernel margin (nearest/linear 1, cubic and bspline3 2,
        lanczos3 3 pixels) when ``trust_padding``; ``None``: outside is invalid.
        For ``bspline3`` it is also the prefilter's boundary extension
        (scipy mode: reflect=mirror, symmetric=reflect, wrap=grid-wrap,
        edge=nearest, constant=grid-constant; ``None``: mirror).
    trust_padding : bool
        Whether padded taps count as valid.
    logger_msg_prefix, logger : optional
        Accepted for compatibility.
    dtype : float32 or float64, optional
        eokit extension: dtype of the allocated output (default float64, as gridr).

    Returns
    -------
    (ndarray or None, ndarray or None)
        The allocated output (squeezed as gridr does) or ``None`` when
        ``array_out`` was given; the allocated mask when ``array_out_mask is True``.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(16.0).reshape(4, 4)
    >>> rows, cols = np.meshgrid([0.0, 2.0], [0.0, 2.0], indexing="ij")
    >>> out, mask = array_grid_resampling("linear", img, rows, cols, (2, 2), None, array_out_mask=True)
    >>> out.tolist()[1]
    [4.0, 5.0, 6.0]
    """
    itp = get_interpolator(interp, **(interp_kwargs or {}))
    kind = itp.kind
    src = np.asarray(array_in)
    if src.ndim == 2:
        src = src[None]
    if src.ndim != 3 or src.shape[1] < 1 or src.shape[2] < 1:
        raise InvalidInputError(
            f"expected a (rows, cols) or (bands, rows, cols) array, got {src.shape}", param="array_in"
        )
    if src.dtype.kind not in "fiu":
        raise InvalidInputError(f"expected a numeric array, got dtype {src.dtype}", param="array_in")
    src = np.ascontiguousarray(src)
    gr, gc = _check_grids(grid_row, grid_col)
    rr, rc = _resolution(grid_resolution)
    _check_coverage(gr.shape, (rr, rc))
    full = grid_full_resolution_shape(gr.shape, (rr, rc))
    w = _window(win, "win", full) if win is not None else np.array([[0, full[0] - 1], [0, full[1] - 1]])
    h, wd = int(w[0, 1] - w[0, 0] + 1), int(w[1, 1] - w[1, 0] + 1)
    if grid_mask is not None and np.shape(grid_mask) != gr.shape:
        raise InvalidInputError(f"shape {np.shape(grid_mask)} does not match the grids' {gr.shape}", param="grid_mask")
    mask = None if array_in_mask is None else _as_mask(array_in_mask, "array_in_mask", src.shape[1:])
    if array_in_mask_safe_win is not None:
        _window(array_in_mask_safe_win, "array_in_mask_safe_win", src.shape[1:])

    nb = src.shape[0]
    ret = None
    if array_out is None:
        out_dtype = np.dtype(np.float64 if dtype is None else dtype)
        if out_dtype not in (np.float32, np.float64):
            raise InvalidInputError(f"output must be float32 or float64, got {out_dtype}", param="dtype")
        out = np.empty((nb, h, wd), out_dtype)
        ret = out
        ow = np.array([[0, h - 1], [0, wd - 1]])
    else:
        out = array_out if array_out.ndim == 3 else array_out.reshape((1, *array_out.shape))
        if array_out.ndim not in (2, 3) or out.shape[0] != nb:
            raise InvalidInputError(
                f"expected {nb} band(s) of 2-D output, got shape {array_out.shape}", param="array_out"
            )
        if out.dtype not in (np.float32, np.float64) or not out.flags.c_contiguous or not out.flags.writeable:
            raise InvalidInputError(
                f"expected a writeable C-contiguous float32/float64 array, got {out.dtype}", param="array_out"
            )
        if array_out_win is None:
            ow = np.array([[0, h - 1], [0, wd - 1]])
        else:
            ow = _window(array_out_win, "array_out_win", out.shape[1:])
        if (
            (int(ow[0, 1] - ow[0, 0] + 1), int(ow[1, 1] - ow[1, 0] + 1)) != (h, wd)
            or ow[0, 1] >= out.shape[1]
            or (ow[1, 1] >= out.shape[2])
        ):
            raise InvalidInputError(
                f"a {h}x{wd} output region does not fit at {ow.tolist()} in array_out of shape {out.shape[1:]}",
                param="array_out_win",
            )

    ret_mask = None
    write_mask = False
    omask = _DUMMY_MASK
    if isinstance(array_out_mask, np.ndarray):
        if array_out_mask.dtype != np.uint8 or array_out_mask.shape != out.shape[1:]:
            raise InvalidInputError(
                f"expected uint8 of shape {out.shape[1:]}, got {array_out_mask.dtype} {array_out_mask.shape}",
                param="array_out_mask",
            )
        if not array_out_mask.flags.c_contiguous:
            raise InvalidInputError("expected a C-contiguous array", param="array_out_mask")
        omask, write_mask = array_out_mask, True
    elif array_out_mask is True:
        omask = np.zeros(out.shape[1:], np.uint8)
        ret_mask, write_mask = omask, True

    origin = (0.0, 0.0) if array_in_origin is None else tuple(float(v) for v in array_in_origin)
    if len(origin) != 2:
        raise InvalidInputError(f"expected (row, col), got {array_in_origin!r}", param="array_in_origin")
    if boundary_condition is not None and boundary_condition not in BOUNDARY_CONDITIONS:
        raise InvalidInputError(
            f"unknown mode {boundary_condition!r}; expected one of {BOUNDARY_CONDITIONS} or None",
            param="boundary_condition",
        )
    nv = node_validity(gr, gc, grid_mask, grid_mask_valid_value, grid_nodata)
    offset = (0, 0)
    if not check_boundaries:
        _check_promise(gr, gc, nv, (rr, rc), w, kind, src.shape[1:], origin, standalone, boundary_condition)
    if standalone and itp.is_bspline:
        if origin != (0.0, 0.0):
            raise InvalidInputError("shifting the origin is not available in standalone mode", param="array_in_origin")
        src, mask, offset = bspline_coefficients(
            itp, src, mask, gr, gc, nv, (rr, rc), w, boundary_condition, bool(trust_padding)
        )
    elif standalone:
        if origin != (0.0, 0.0):
            raise InvalidInputError("shifting the origin is not available in standalone mode", param="array_in_origin")
        if boundary_condition is not None and trust_padding:
            # extend the source where the kernel margin around the grid's bounds leaves it, as gridr does
            # (not at all along an axis where the whole grid misses the source)
            top, bottom, left, right = gridr_pad(gr, gc, nv, (rr, rc), w, src.shape[1:], K.MARGINS[kind])
            if top or bottom or left or right:
                # an all-valid mask is no mask (gridr): the padding it would get ('constant' pads it
                # invalid) must not invalidate trusted padding
                mask = None if mask is not None and mask.all() else mask
                src, mask = pad_source(src, mask, ((top, bottom), (left, right)), boundary_condition)
                offset = (-top, -left)
    run(kind, src, mask, gr, gc, nv, (rr, rc), w, origin, out, ow, omask, write_mask, nodata_out, offset)
    return _returns(ret, ret_mask)


def grid_bounds(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    resolution: tuple[int, int],
    win: np.ndarray,
) -> tuple[float, float, float, float] | None:
    """(row min, row max, col min, col max) of the valid grid nodes covering ``win``; None when none is."""
    rr, rc = resolution
    nr, nc = grid_row.shape
    i0, i1 = int(win[0, 0]) // rr, min(-(-int(win[0, 1]) // rr), nr - 1)
    j0, j1 = int(win[1, 0]) // rc, min(-(-int(win[1, 1]) // rc), nc - 1)
    sel = node_valid[i0 : i1 + 1, j0 : j1 + 1].astype(bool)
    if not sel.any():
        return None
    ys = grid_row[i0 : i1 + 1, j0 : j1 + 1][sel]
    xs = grid_col[i0 : i1 + 1, j0 : j1 + 1][sel]
    return float(ys.min()), float(ys.max()), float(xs.min()), float(xs.max())


def padded_extent(
    bounds: tuple[float, float, float, float] | None, shape: tuple[int, int], margin: int
) -> tuple[int, int, int, int]:
    """Source extent (r0, r1, c0, c1, inclusive) gridr's standalone mode gives the source for grid ``bounds``.

    The bounds, clipped to the source, widened by ``margin``; what passes the
    source edges is padding. No padding at all when no node is valid or the
    bounds miss the source along an axis.
    """
    whole = (0, shape[0] - 1, 0, shape[1] - 1)
    if bounds is None:
        return whole
    out = []
    for lo, hi, n in ((bounds[0], bounds[1], shape[0]), (bounds[2], bounds[3], shape[1])):
        if (lo < 0 and hi < 0) or (lo > n - 1 and hi > n - 1):
            return whole
        out += [min(0, max(math.floor(lo), 0) - margin), max(n - 1, min(math.ceil(hi), n - 1) + margin)]
    return (out[0], out[1], out[2], out[3])


def gridr_pad(
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    resolution: tuple[int, int],
    win: np.ndarray,
    shape: tuple[int, int],
    margin: int,
) -> tuple[int, int, int, int]:
    """Padding (top, bottom, left, right) gridr gives the source in standalone mode (see :func:`padded_extent`)."""
    r0, r1, c0, c1 = padded_extent(grid_bounds(grid_row, grid_col, node_valid, resolution, win), shape, margin)
    return -r0, r1 - (shape[0] - 1), -c0, c1 - (shape[1] - 1)


def embed_window(
    part: np.ndarray, mask: np.ndarray | None, at: tuple[int, int], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """float64 (bands, *shape) zeros with ``part`` at row/col ``at``, and its validity (0 outside ``part``)."""
    src = np.zeros((part.shape[0], *shape), np.float64)
    valid = np.zeros(shape, np.uint8)
    inner = (slice(at[0], at[0] + part.shape[1]), slice(at[1], at[1] + part.shape[2]))
    src[(slice(None), *inner)] = part
    valid[inner] = 1 if mask is None else mask
    return src, valid


def bspline_coefficients(
    itp: Interpolator,
    src: np.ndarray,
    mask: np.ndarray | None,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    resolution: tuple[int, int],
    win: np.ndarray,
    boundary_condition: str | None,
    trust_padding: bool,
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """Standalone B-spline preparation, as gridr: pad, prefilter, coefficient validity; the source offset.

    The source is padded where the prefilter margin around the grid's
    bounds leaves it (``boundary_condition`` values, zeros for ``None``);
    padded pixels are valid only when trusted (``trust_padding`` and a
    boundary condition). With invalid source pixels and trusted padding,
    the mask itself is padded with the boundary condition (so ``constant``
    pads it invalid). Then invalid pixels are dilated by the influence
    radius and the prefilter's unreliable border is invalid.
    """
    n, eps = itp.order, itp.epsilon
    top, bottom, left, right = gridr_pad(
        grid_row, grid_col, node_valid, resolution, win, src.shape[1:], itp.total_margins()[0]
    )
    real_invalid = mask is not None and not mask.all()
    trusted = boundary_condition is not None and trust_padding
    pw = ((top, bottom), (left, right))
    check_size((src.shape[1] + top + bottom, src.shape[2] + left + right), n, eps)
    if not real_invalid:
        # the only invalid pixels are an untrusted padding frame: its dilation and the unreliable
        # border leave a valid rectangle, so crop to it and need no mask at all
        r = math.floor(influence_radius(n, itp.mask_influence_threshold) + 1e-12)
        b = itp.total_margins()[0] - n // 2
        cut = [max(b, w + r if w and not trusted else 0) for w in (top, bottom, left, right)]
        h, wd = src.shape[1] + top + bottom, src.shape[2] + left + right
        if cut[0] + cut[1] >= h or cut[2] + cut[3] >= wd:
            return np.zeros((src.shape[0], 1, 1)), np.zeros((1, 1), np.uint8), (-top, -left)  # nothing valid
        coef = prefilter(src, n, eps, pad=pw, mode=boundary_condition, crop=(cut[0], cut[1], cut[2], cut[3]))
        return coef, None, (cut[0] - top, cut[2] - left)
    coef = prefilter(src, n, eps, pad=pw, mode=boundary_condition)
    vmask = mask if mask is not None else np.ones(src.shape[1:], np.uint8)
    if top or bottom or left or right:
        if trusted:
            vmask = _pad(vmask, pw, boundary_condition)
        else:
            vmask = _pad(vmask, pw, None, constant_values=0)
    return trim_coefficients(coef, prefilter_mask(vmask, n, eps, itp.mask_influence_threshold), itp, (-top, -left))


def trim_coefficients(
    coef: np.ndarray, cmask: np.ndarray, itp: Interpolator, offset: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """The coefficients of :func:`~eokit.resample.bspline.prefilter` (its unreliable border cropped:
    taps there fall outside, invalid as if masked) and their validity cropped alike.

    Then a validity mask with nothing invalid left is dropped: the kernel skips the
    per-tap mask reads. Returns (coefficients, mask or None, source offset).
    """
    b = itp.total_margins()[0] - itp.order // 2
    cmask = cmask[b : cmask.shape[0] - b, b : cmask.shape[1] - b]
    keep = None if cmask.all() else np.ascontiguousarray(cmask)
    return coef, keep, (offset[0] + b, offset[1] + b)


def _check_promise(
    gr: np.ndarray,
    gc: np.ndarray,
    nv: np.ndarray,
    res: tuple[int, int],
    win: np.ndarray,
    kind: int,
    shape: tuple[int, ...],
    origin: tuple[float, float],
    standalone: bool | None,
    boundary_condition: str | None,
) -> None:
    """``check_boundaries=False`` promises every tap is inside the source; verify it from the grid.

    gridr then skips its bounds checks and panics (or reads out of bounds)
    when the promise is broken. eokit's kernels check at almost no cost, so
    the flag changes nothing when it holds; when it does not, a warning says
    so and the pixels concerned are invalid, as with ``check_boundaries=True``.
    """
    ext = source_extent(gr, gc, nv, res, win, kind)
    if ext is None:
        return
    m = K.MARGINS[kind] if standalone and boundary_condition is not None else 0
    lo_r, hi_r = ext[0] + origin[0], ext[1] + origin[0]
    lo_c, hi_c = ext[2] + origin[1], ext[3] + origin[1]
    if lo_r < -m or lo_c < -m or hi_r > shape[0] - 1 + m or hi_c > shape[1] - 1 + m:
        warnings.warn(
            f"check_boundaries=False, but taps may fall outside the source (rows {lo_r:.0f}..{hi_r:.0f}, "
            f"cols {lo_c:.0f}..{hi_c:.0f} of {shape[0]} x {shape[1]}): checking them anyway",
            FallbackWarning,
            stacklevel=3,
        )


def _returns(ret: np.ndarray | None, ret_mask: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    # gridr squeezes the allocated output, so one band comes back as (rows, cols); the spatial
    # axes are kept even when they have length 1 (gridr cannot produce such outputs)
    if ret is not None and ret.shape[0] == 1:
        ret = ret[0]
    return ret, ret_mask


def run(
    kind: int,
    src: np.ndarray,
    mask: np.ndarray | None,
    grid_row: np.ndarray,
    grid_col: np.ndarray,
    node_valid: np.ndarray,
    resolution: tuple[int, int],
    win: np.ndarray,
    origin: tuple[float, float],
    out: np.ndarray,
    out_win: np.ndarray,
    out_mask: np.ndarray,
    write_mask: bool,
    nodata: float | None,
    src_offset: tuple[int, int] = (0, 0),
) -> None:
    """Call the kernel on validated, contiguous inputs (shared by the array API and the chain)."""
    nd = 0.0 if nodata is None else float(nodata)
    # row blocks of about 64 rows, at least 8 per thread, handed out to the threads as they finish
    nrows = int(win[0, 1] - win[0, 0] + 1)
    p = K.Placement(
        int(resolution[0]), int(resolution[1]), int(win[0, 0]), int(win[1, 0]), nrows,
        int(win[1, 1] - win[1, 0] + 1), float(origin[0]), float(origin[1]), int(src_offset[0]),
        int(src_offset[1]), int(out_win[0, 0]), int(out_win[1, 0]),
    )  # fmt: skip
    K.resample_window(
        kind, src, _DUMMY_MASK if mask is None else mask, mask is not None, grid_row, grid_col, node_valid, p,
        out, out_mask, write_mask, nd, max(8 * numba.get_num_threads(), -(-nrows // 64)),
    )  # fmt: skip
