"""Travel time over a friction surface: accumulated cost, OD matrices, isochrones.

Friction is time per distance: minutes per metre (the Malaria Atlas Project /
GOST convention, ``unit="min_per_m"``) or minutes per km (``unit="min_per_km"``).
A step between two of the 8 neighbouring cells costs the mean friction of the
two cells times the step length in metres, from the grid's real cell sizes
(per row on geographic grids), exactly as scikit-image's ``MCP_Geometric``
with ``sampling=(cell height, cell width)`` on projected grids.

The search is an exact Dijkstra in compiled code (numba): with Dinitz's bucket
queue when the friction range allows (O(1) queue operations; bucket width = the
cheapest possible step), else a binary heap; it stops once every destination is
settled or past ``max_time``.

Friction cells that are NaN, infinite or nodata are **impassable**. Zero or
negative friction is an error (:class:`~eokit.errors.InvalidInputError`),
or impassable with ``nonpositive="impassable"``. Origins or destinations outside
the grid raise :class:`InvalidInputError` naming them; those on impassable
cells get NaN rows/columns (logged).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from eokit.core.crs import pixel_sizes_m, require_crs
from eokit.errors import InvalidInputError
from eokit.urban._search_kernels import dijkstra_buckets, dijkstra_grid, od_buckets
from eokit.urban.memory import resolve_max_memory

__all__ = [
    "accumulated_cost",
    "isochrones",
    "od_matrix",
    "points_to_cells",
    "prepare_friction",
    "travel_time_matrix",
]

log = logging.getLogger(__name__)

UNITS = {"min_per_m": 1.0, "min_per_km": 1e-3}


def prepare_friction(
    friction: np.ndarray, *, nodata: float | None = None, unit: str = "min_per_m", nonpositive: str = "error"
) -> np.ndarray:
    """Friction as float64 minutes per metre with ``inf`` for impassable cells."""
    if unit not in UNITS:
        raise InvalidInputError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    f = np.array(friction, dtype=np.float64)
    if f.ndim != 2:
        raise InvalidInputError(f"friction must be 2-D, got shape {f.shape}")
    imp = ~np.isfinite(f)
    if nodata is not None and np.isfinite(nodata):
        imp |= f == nodata
    nonpos = (f <= 0) & ~imp
    if nonpos.any():
        if nonpositive == "error":
            r, c = np.argwhere(nonpos)[0]
            raise InvalidInputError(
                f"friction has {int(nonpos.sum())} zero or negative cells (first at row {r}, col {c}); "
                "travel time needs positive friction (pass nonpositive='impassable' to block them)"
            )
        if nonpositive != "impassable":
            raise InvalidInputError(f"nonpositive must be 'error' or 'impassable', got {nonpositive!r}")
        imp |= nonpos
    f[imp] = np.inf
    if imp.any():
        log.info("%d friction cells are impassable (NaN, nodata or non-positive)", int(imp.sum()))
    return f * UNITS[unit]


def accumulated_cost(
    friction: np.ndarray,
    origins: Sequence[tuple[int, int]],
    *,
    transform: Any,
    crs: Any,
    max_cost: float = np.inf,
    targets: Sequence[tuple[int, int]] | None = None,
    queue: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum accumulated cost (minutes) from the ``origins`` (row, col) cells.

    ``friction`` comes from :func:`prepare_friction` (minutes per metre, ``inf``
    impassable). Returns ``(cost, length_m, predecessor)``: ``inf`` where not
    reached; ``length_m`` is the metres along each chosen path; ``predecessor``
    the flat index of the previous cell (-1 at origins and unreached cells).
    The search stops once every ``targets`` cell is settled or beyond ``max_cost``.
    ``queue`` is ``"auto"`` (Dinitz's bucket queue when the friction range allows,
    else a binary heap), ``"buckets"`` or ``"heap"``; all give the same costs.
    """
    if queue not in {"auto", "buckets", "heap"}:
        raise InvalidInputError(f"queue must be auto, buckets or heap, got {queue!r}")
    f = np.ascontiguousarray(friction, dtype=np.float64)
    dx, dy = pixel_sizes_m(transform, crs, f.shape[0])
    o = _flat(origins, f.shape)
    t = _flat(targets or [], f.shape)
    plan = _queue_plan(f, dx, dy)
    if queue == "buckets" and plan[1] == 0:
        raise InvalidInputError("the friction range is too wide for a bucket queue; use queue='heap'")
    return _search(f, dx, dy, o, t, float(max_cost), plan, queue)


MAX_BUCKETS = 1 << 22


def _queue_plan(f: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> tuple[float, int]:
    """Bucket width and count for Dinitz's bucket queue, or ``(0, 0)`` to use the heap.

    The width is the cheapest possible step (min friction x shortest step); the
    bucket count covers the costliest step. A very wide friction range (more than
    ``MAX_BUCKETS`` buckets) falls back to the binary heap.
    """
    finite = f[np.isfinite(f)]
    if finite.size == 0:
        return 0.0, 0
    width = float(finite.min()) * float(min(dx.min(), dy.min()))
    top = float(finite.max()) * float(np.hypot(dx.max(), dy.max()))
    if not (width > 0 and np.isfinite(top)):
        return 0.0, 0
    n = int(np.ceil(top / width)) + 2
    return (width, n) if n <= MAX_BUCKETS else (0.0, 0)


def _search(f, dx, dy, origins, targets, max_cost, plan, queue: str = "auto"):
    width, n = plan
    if queue == "heap" or n == 0:
        return dijkstra_grid(f, dx, dy, origins, targets, max_cost)
    return dijkstra_buckets(f, dx, dy, origins, targets, max_cost, width, n)


def _flat(cells: Sequence[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    bad = (arr[:, 0] < 0) | (arr[:, 0] >= shape[0]) | (arr[:, 1] < 0) | (arr[:, 1] >= shape[1])
    if bad.any():
        raise InvalidInputError(f"cells outside the {shape[0]}x{shape[1]} grid: {arr[bad][:5].tolist()}")
    return arr[:, 0] * shape[1] + arr[:, 1]


class _OriginTask:
    """Picklable single-origin run: minutes and km to every destination.

    With ``symmetric`` (destinations are the origins), origin ``i`` only needs
    destinations ``i..``: the others come from the transposed matrix (step costs
    are symmetric), so the search stops earlier. The friction is padded once with
    an impassable border (shared); each thread reuses one workspace (cost and length
    side by side per cell, settled flags, scratch) for all its origins.
    """

    def __init__(
        self, f: np.ndarray, dx: np.ndarray, dy: np.ndarray, dest: np.ndarray, max_cost: float, symmetric: bool
    ) -> None:
        rows, cols = f.shape
        self.shape = (rows, cols)
        self.max_cost, self.symmetric = max_cost, symmetric
        self.plan = _queue_plan(f, dx, dy)
        if self.plan[1] == 0:  # friction range too wide for buckets: the heap kernel, unpadded
            self.f, self.dx, self.dy, self.dest = f, dx, dy, dest
            self.fpad = None
        else:
            fpad = np.full((rows + 2, cols + 2), np.inf)
            fpad[1:-1, 1:-1] = f
            self.fpad = fpad.ravel()
            self.pcols = cols + 2
            # per padded row r (real row r - 1): east-west step; steps between padded rows r - 1 and r
            self.dxr = np.concatenate([[1.0], dx, [1.0]])
            vs = np.ones(rows + 3)
            ds = np.ones(rows + 3)
            sx = 0.5 * (dx[:-1] + dx[1:])
            sy = 0.5 * (dy[:-1] + dy[1:])
            vs[2 : rows + 1] = sy
            ds[2 : rows + 1] = np.sqrt(sx * sx + sy * sy)
            self.vext, self.dext = vs, ds
            r, c = np.divmod(dest, cols)
            self.dest = (r + 1) * self.pcols + (c + 1)
        self._pool: list[tuple[np.ndarray, ...]] = []
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_pool"], state["_lock"] = [], None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _workspace(self) -> tuple[np.ndarray, ...]:
        with self._lock:
            if self._pool:
                return self._pool.pop()
        assert self.fpad is not None
        n = self.fpad.size
        return (
            np.full((n, 2), np.inf),
            np.zeros(n, np.bool_),
            np.zeros(n, np.bool_),
            np.empty(n, np.int32 if n < 2**31 else np.int64),
        )

    def __call__(self, item: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        i, origin = item
        start = i if self.symmetric else 0
        c = np.full(self.dest.size, np.nan)
        km = np.full(self.dest.size, np.nan)
        if self.fpad is None:
            cost, length, _ = _search(
                self.f, self.dx, self.dy, np.array([origin], np.int64), self.dest[start:], self.max_cost, self.plan
            )
            c[start:] = cost.ravel()[self.dest[start:]]
            km[start:] = length.ravel()[self.dest[start:]] / 1000.0
            bad = ~np.isfinite(c) | (c > self.max_cost)
            c[bad], km[bad] = np.nan, np.nan
            return c, km
        r, q = divmod(origin, self.shape[1])
        ws = self._workspace()
        try:
            tc, tl = od_buckets(
                self.fpad,
                self.pcols,
                self.dxr,
                self.vext,
                self.dext,
                (r + 1) * self.pcols + (q + 1),
                self.dest[start:],
                self.max_cost,
                self.plan[0],
                self.plan[1],
                *ws,
            )
        finally:
            with self._lock:
                self._pool.append(ws)
        c[start:], km[start:] = tc, tl / 1000.0
        return c, km


def od_matrix(
    friction: np.ndarray,
    origins: Sequence[tuple[int, int]],
    destinations: Sequence[tuple[int, int]] | None = None,
    *,
    transform: Any,
    crs: Any,
    max_cost: float = np.inf,
    scheduler: str | None = "threads",
    workers: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Travel-time (minutes) and route-length (km) matrices, origins x destinations.

    One early-stopping Dijkstra per origin; origins run in parallel (threads by
    default: the kernel releases the GIL; also processes or Dask). Each thread
    reuses one workspace for all its origins (no full-grid array per origin, no
    predecessor grid), and each bucket of the queue is settled in cell order for
    cache locality. Without ``destinations`` the matrix is origins x origins and
    symmetric (step costs are), so each origin searches only until the later
    origins are settled, taken from the outside in (see :func:`_outside_in`).
    Unreached pairs, or pairs beyond ``max_cost``, are NaN.
    """
    f = np.ascontiguousarray(friction, dtype=np.float64)
    dx, dy = pixel_sizes_m(transform, crs, f.shape[0])
    o = _flat(origins, f.shape)
    symmetric = destinations is None
    perm = _outside_in(o, f.shape, dx, dy) if symmetric else np.arange(o.size)
    o = o[perm]
    d = o if destinations is None else _flat(destinations, f.shape)
    task = _OriginTask(f, dx, dy, d, float(max_cost), symmetric)
    minutes = np.full((o.size, d.size), np.nan)
    km = np.full((o.size, d.size), np.nan)
    # symmetric: the first origins search longest (to all later ones): heaviest first balances the threads
    items = [(i, (i, x)) for i, x in enumerate(o.tolist())]
    for i, (c, k) in _run_origins(_Indexed(task), items, scheduler, workers):
        minutes[i], km[i] = c, k
        if progress:
            progress(1)
    if symmetric:
        lower = np.tril_indices(o.size, -1)
        minutes[lower] = minutes.T[lower]
        km[lower] = km.T[lower]
        back = np.empty_like(perm)
        back[perm] = np.arange(perm.size)
        minutes, km = minutes[np.ix_(back, back)], km[np.ix_(back, back)]
    return minutes, km


def _outside_in(cells: np.ndarray, shape: tuple[int, int], dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Order of the origins from the farthest to the nearest to their centroid.

    In a symmetric matrix origin ``k`` searches only until origins ``k..`` are
    settled; taking the outer ones first leaves the later searches a cluster of
    nearby points, so they stop after a small area instead of most of the grid.
    """
    r, c = np.divmod(cells, shape[1])
    y = r * float(np.mean(dy))
    x = c * float(np.mean(dx))
    dist = np.hypot(x - x.mean(), y - y.mean())
    return np.argsort(-dist, kind="stable")


def _run_origins(func: Callable[[Any], Any], items: list[Any], scheduler: str | None, workers: int | None) -> Any:
    """Yield ``func(item)`` over threads (the numba kernel releases the GIL), processes or Dask.

    For processes and Dask the items go in one group per worker, so the friction
    grid is shipped once per worker, not once per origin.
    """

    from eokit.config import get_settings

    scheduler = scheduler or "threads"
    n = workers or get_settings().n_workers
    if scheduler == "synchronous" or n == 1 or len(items) == 1:
        yield from map(func, items)
        return
    from eokit.core import open_executor

    with open_executor(scheduler, n) as ex:
        if ex.kind == "threads":
            yield from ex.imap(func, items)
            return
        for res in ex.imap(_Batch(func), groups_of(items, n)):
            yield from res


def groups_of(items: list[Any], n: int) -> list[list[Any]]:
    """``items`` dealt into at most ``n`` groups (one per worker, so shared inputs ship once per worker)."""
    return [items[i::n] for i in range(n) if items[i::n]]


class _Batch:
    """Picklable: run ``func`` over a list of items."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def __call__(self, items: list[Any]) -> list[Any]:
        return [self.func(x) for x in items]


class _Indexed:
    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def __call__(self, pair: tuple[int, int]) -> tuple[int, Any]:
        return pair[0], self.func(pair[1])


def points_to_cells(
    points: Any, *, transform: Any, crs: Any, shape: tuple[int, int], id_col: str, param: str = "origins"
) -> np.ndarray:
    """(row, col) of each point (reprojected to ``crs``); raises naming the points outside the grid."""
    if points.crs is None:
        raise InvalidInputError("points have no CRS")
    pts = points.to_crs(crs) if points.crs != crs else points
    geom = pts.geometry.representative_point() if not (pts.geom_type == "Point").all() else pts.geometry
    inv = ~transform
    cols, rows = inv @ (geom.x.to_numpy(), geom.y.to_numpy())
    rows, cols = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
    out = (rows < 0) | (rows >= shape[0]) | (cols < 0) | (cols >= shape[1])
    if out.any():
        ids = pts[id_col].to_numpy()[out][:10].tolist()
        raise InvalidInputError(f"{int(out.sum())} points lie outside the friction grid: {id_col} {ids}", param=param)
    return np.stack([rows, cols], axis=1)


def travel_time_matrix(
    friction: str | os.PathLike[str],
    origins: Any,
    *,
    id_col: str,
    destinations: Any = None,
    dest_id_col: str | None = None,
    unit: str = "min_per_m",
    nonpositive: str = "error",
    max_time: float = np.inf,
    out: str | os.PathLike[str] | None = None,
    distance_out: str | os.PathLike[str] | None = None,
    scheduler: str | None = "threads",
    workers: int | None = None,
    max_memory: int | str | None = None,
    progress: Callable[[int], Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """OD matrices (minutes, km) between point sets over a friction raster; optionally written as CSV.

    ``origins``/``destinations`` are GeoDataFrames or vector files; rows are
    indexed by ``id_col``, columns by ``dest_id_col`` (default ``id_col``).

    Only a window of the friction raster is read (see :func:`friction_window`):
    the points' bounding box plus the reach of ``max_time``, so a global friction
    surface is never loaded whole; the window must fit ``max_memory``. Both
    frames carry ``attrs["friction_window"]`` = ``(row0, row1, col0, col1)``.
    """
    from eokit.io.atomic import atomic_path
    from eokit.io.raster import open_raster
    from eokit.io.vector import read_vector

    orig = read_vector(origins) if isinstance(origins, (str, os.PathLike)) else origins
    dest = orig if destinations is None else destinations
    dest = read_vector(dest) if isinstance(dest, (str, os.PathLike)) else dest
    dcol = dest_id_col or id_col
    for name, gdf, col, opt in (
        ("origins", orig, id_col, "id_col"),
        ("destinations", dest, dcol, "dest_id_col" if dest_id_col else "id_col"),
    ):
        if col not in gdf.columns:
            raise InvalidInputError(
                f"{name} have no column {col!r} (columns: {', '.join(map(str, gdf.columns))})", param=opt
            )
    if not max_time > 0:
        raise InvalidInputError(f"must be > 0 minutes, got {max_time}", param="max_time")
    with open_raster(friction, max_memory=resolve_max_memory(max_memory)) as ds:
        require_crs(
            ds.crs.to_wkt() if ds.crs else None, path=os.fspath(friction), purpose="travel time (cell sizes in metres)"
        )
        transform, crs, shape = ds.transform, ds.crs, (ds.height, ds.width)
        oc = points_to_cells(orig, transform=transform, crs=crs, shape=shape, id_col=id_col)
        dc = points_to_cells(dest, transform=transform, crs=crs, shape=shape, id_col=dcol, param="destinations")
        minutes, km, window = _windowed_od(
            ds,
            oc,
            dc,
            max_time=float(max_time),
            unit=unit,
            nonpositive=nonpositive,
            symmetric=destinations is None,
            budget=resolve_max_memory(max_memory),
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
    rows = pd.Index(orig[id_col].to_numpy(), name=id_col)
    cols = pd.Index(dest[dcol].to_numpy(), name=dcol)
    tt = pd.DataFrame(minutes, index=rows, columns=cols)
    dist = pd.DataFrame(km, index=rows, columns=cols)
    tt.attrs["friction_window"] = dist.attrs["friction_window"] = window
    for frame, target in ((tt, out), (dist, distance_out)):
        if target is not None:
            with atomic_path(target) as tmp:
                frame.to_csv(tmp)
    return tt, dist


OD_BYTES_PER_CELL = 16
"""Bytes per friction-window cell shared by all origins (friction, padded friction)."""
OD_WORKSPACE_BYTES_PER_CELL = 24
"""Bytes per window cell of each worker's search workspace (cost, length, flags, scratch)."""


def _window_cells(oc: np.ndarray, dc: np.ndarray, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int]:
    cells = np.concatenate([oc, dc])
    return (
        max(int(cells[:, 0].min()) - pad, 0),
        min(int(cells[:, 0].max()) + pad + 1, shape[0]),
        max(int(cells[:, 1].min()) - pad, 0),
        min(int(cells[:, 1].max()) + pad + 1, shape[1]),
    )


def _escape_cost(f: np.ndarray, dx: np.ndarray, dy: np.ndarray, win, box, shape) -> float:
    """A lower bound of the cost of any path from the points' box to outside the window ``win``.

    Leaving through a side that is not the grid's edge means crossing the cells between the box
    and that side, each step costing at least (least friction) x (shortest step).
    """
    gaps = []
    for inner, outer, edge in ((box[0], win[0], 0), (box[2], win[2], 0)):
        if outer > edge:
            gaps.append(inner - outer)
    for inner, outer, edge in ((box[1], win[1], shape[0]), (box[3], win[3], shape[1])):
        if outer < edge:
            gaps.append(outer - inner)
    if not gaps:
        return np.inf
    finite = f[np.isfinite(f)]
    if finite.size == 0:
        return np.inf
    return float(min(gaps)) * float(finite.min()) * float(min(dx.min(), dy.min()))


def _windowed_od(ds, oc, dc, *, max_time, unit, nonpositive, symmetric, budget, scheduler, workers, progress):
    """OD matrices over the least window of ``ds`` that gives the whole-grid answer.

    The window grows from the points' box until no path costing <= ``max_time`` can leave it
    (with ``max_time`` infinite: until every pair's cost is below the escape bound), and is
    refused when it would not fit ``budget``.
    """
    from rasterio.windows import Window

    from eokit.config import get_settings

    shape = (ds.height, ds.width)
    n_workers = workers or get_settings().n_workers
    per_cell = OD_BYTES_PER_CELL + OD_WORKSPACE_BYTES_PER_CELL * n_workers
    box = _window_cells(oc, dc, shape, 0)
    pad = 16
    while True:
        win = _window_cells(oc, dc, shape, pad)
        cells = (win[1] - win[0]) * (win[3] - win[2])
        if cells * per_cell > budget:
            raise InvalidInputError(
                f"travel times need a friction window of {win[1] - win[0]:,} x {win[3] - win[2]:,} cells "
                f"(about {cells * per_cell >> 20} MB), more than the {budget >> 20} MB budget: "
                "raise it, or bound the search with a smaller --max-time",
                param="max_memory",
            )
        w = Window.from_slices((win[0], win[1]), (win[2], win[3]))
        f = prepare_friction(ds.read(1, window=w), nodata=ds.nodata, unit=unit, nonpositive=nonpositive)
        tr = ds.window_transform(w)
        dx, dy = pixel_sizes_m(tr, ds.crs, f.shape[0])
        bound = _escape_cost(f, dx, dy, win, box, shape)
        whole = win == (0, shape[0], 0, shape[1])
        if np.isfinite(max_time) and bound <= max_time and not whole:
            step = float(min(dx.min(), dy.min())) * float(f[np.isfinite(f)].min())
            pad = max(2 * pad, int(np.ceil(max_time / step)) + 2)
            continue
        shift = np.array([win[0], win[2]])
        blocked = ~np.isfinite(f[oc[:, 0] - shift[0], oc[:, 1] - shift[1]])
        minutes, km = od_matrix(
            f,
            oc - shift,
            None if symmetric else dc - shift,
            transform=tr,
            crs=ds.crs,
            max_cost=max_time,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
        done = whole or bound > max_time
        if not done:  # max_time infinite: exact when every pair found is cheaper than leaving
            ok_rows = ~blocked
            dblocked = ~np.isfinite(f[dc[:, 0] - shift[0], dc[:, 1] - shift[1]])
            sub = minutes[np.ix_(ok_rows, ~dblocked)]
            done = bool(np.isfinite(sub).all() and (sub.size == 0 or sub.max() < bound))
        if done:
            if blocked.any():
                log.warning("%d origins sit on impassable cells: their rows are NaN", int(blocked.sum()))
            log.info(
                "friction window rows %d:%d, cols %d:%d of %d x %d (%.1f%% of the cells, about %d MB)",
                *win,
                *shape,
                100.0 * cells / (shape[0] * shape[1]),
                cells * per_cell >> 20,
            )
            return minutes, km, win
        pad *= 4


def isochrones(cost: np.ndarray, thresholds: Sequence[float], *, transform: Any, crs: Any) -> Any:
    """Polygons of the cells reachable within each threshold (minutes): GeoDataFrame ``minutes``, geometry."""
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape
    from shapely.ops import unary_union

    rows = []
    for t in sorted(thresholds):
        mask = np.isfinite(cost) & (cost <= t)
        parts = [shape(g) for g, v in features.shapes(mask.astype(np.uint8), mask=mask, transform=transform) if v]
        rows.append({"minutes": float(t), "geometry": unary_union(parts) if parts else None})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
