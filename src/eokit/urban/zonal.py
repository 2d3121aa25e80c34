"""Zonal statistics with the zone-to-pixel assignment computed once, reused for every raster.

A :class:`ZoneIndex` holds, for one grid, the flat pixel indices of every zone
(zones may overlap: each zone gets all of its pixels, as rasterstats does),
sorted by zone. Statistics of a raster are then a gather plus ``bincount`` /
``reduceat`` over that order, so 100 monthly rasters on one grid cost 100
gathers, not 100 rasterisations. Polygons are rasterised one by one on their
own window with GDAL's rule (cell centre inside, or every touched cell with
``all_touched=True``), exactly as rasterstats does, so results agree with
rasterstats' cell-centre results. Rasters are read block by block.

>>> import numpy as np
>>> idx = ZoneIndex.from_labels(np.array([[1, 1, 2], [0, 2, 2]]))
>>> idx.stats(np.arange(6.0).reshape(2, 3), stats=("sum", "count"))["sum"].tolist()
[1.0, 11.0]
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine

from eokit.errors import EokitWarning, InvalidInputError

__all__ = [
    "DEFAULT_STATS",
    "ZoneIndex",
    "ZonesOutsideRasterWarning",
    "resolve_band",
    "to_wide",
    "write_zonal_csv",
    "zonal_stats",
]

log = logging.getLogger(__name__)

DEFAULT_STATS = ("count", "min", "max", "mean")
_FAST = {"count", "sum", "mean", "min", "max", "range", "nodata"}
_SIMPLE = {"count", "sum", "mean", "min", "max", "std", "range", "nodata", "median", "majority", "minority", "unique"}


def _scanline_index(geometries: Sequence[Any], transform: Affine, shape: tuple[int, int]):
    """Cell-centre rasterisation of (multi)polygons with the numba scanline kernel (GDAL's rule)
    as runs (row, x_start, x_end, geometry); None when a geometry is not polygonal."""
    import shapely

    from eokit.urban._kernels import fill_polygons, merge_runs

    geoms = np.array([g if g is not None else shapely.Polygon() for g in geometries], dtype=object)
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds, (3, 6)).all():  # Polygon, MultiPolygon
        return None
    parts, part_geom = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(coord_ring, minlength=len(rings))
    ring_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    inv = ~transform
    px = inv.a * coords[:, 0] + inv.b * coords[:, 1] + inv.c
    py = inv.d * coords[:, 0] + inv.e * coords[:, 1] + inv.f
    # each part is filled on its own (as GDAL burns a multipolygon part by part, so overlapping parts
    # of an invalid multipolygon are filled, not cancelled), then mapped back to its geometry
    px, py, rp = np.ascontiguousarray(px), np.ascontiguousarray(py), ring_part.astype(np.int64)
    n = len(parts)

    def chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, int]:
        g0, g1 = bounds
        k0, k1 = np.searchsorted(rp, [g0, g1])
        a, b = ring_start[k0], ring_start[k1]
        runs, nh = fill_polygons(
            px[a:b], py[a:b], ring_start[k0 : k1 + 1] - a, rp[k0:k1] - g0, g1 - g0, int(shape[0]), int(shape[1])
        )
        runs[:, 3] = part_geom[runs[:, 3] + g0]
        return runs, nh

    chunks = _threaded(chunk, _splits(n, _n_threads(n)))
    runs = np.concatenate([c[0] for c in chunks]) if chunks else np.empty((0, 4), np.int64)
    multi = n > len(geoms) or (n and np.any(np.diff(part_geom) == 0))
    if multi or sum(c[1] for c in chunks):  # parts and horizontal edges may repeat cells: merge
        runs = merge_runs(runs[np.lexsort((runs[:, 1], runs[:, 0], runs[:, 3]))])
    return runs


def _merge_acc(accs: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    if len(accs) == 1:
        return accs[0]
    return (
        np.sum([a[0] for a in accs], axis=0),
        np.sum([a[1] for a in accs], axis=0),
        np.min([a[2] for a in accs], axis=0),
        np.max([a[3] for a in accs], axis=0),
        np.sum([a[4] for a in accs], axis=0),
    )


def _n_threads(n_items: int, min_per_thread: int = 32) -> int:
    from eokit.config import get_settings

    return max(1, min(get_settings().n_workers, n_items // min_per_thread))


def _splits(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a] or [(0, 0)]


def _threaded(func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """``[func(x) for x in items]`` in threads (the numba kernels release the GIL)."""
    if len(items) <= 1:
        return [func(x) for x in items]
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(func, items))


def _check_stats(stats: Sequence[str]) -> list[str]:
    out = []
    for s in stats:
        s = s.strip().lower()
        if s in _SIMPLE:
            out.append(s)
        elif s.startswith("percentile_"):
            try:
                q = float(s.split("_", 1)[1])
            except ValueError:
                raise InvalidInputError(f"bad percentile statistic {s!r}", param="stats") from None
            if not 0 <= q <= 100:
                raise InvalidInputError(f"percentile must be within 0..100, got {s!r}", param="stats")
            out.append(s)
        else:
            raise InvalidInputError(
                f"unknown statistic {s!r}; use {', '.join(sorted(_SIMPLE))} or percentile_Q", param="stats"
            )
    if not out:
        raise InvalidInputError("no statistic requested", param="stats")
    return out


@dataclasses.dataclass
class ZoneIndex:
    """Cells of every zone on one grid, as runs along rows.

    ``runs`` is an ``(n, 4)`` int64 array of ``(row, x_start, x_end, zone)``:
    zone ``zone`` (position 0..n_zones-1) holds columns ``x_start..x_end-1`` of
    ``row``. Runs are sorted by zone, then row; a zone's runs never overlap, and
    zones may overlap each other. A 500-polygon index over 25 million cells is a
    few hundred thousand runs: memory follows the zone outlines, not their area.
    ``pixels``/``zone`` give the expanded flat cell indices when needed.
    """

    shape: tuple[int, int]
    runs: np.ndarray
    n_zones: int
    zone_ids: np.ndarray
    _expanded: tuple[np.ndarray, np.ndarray] | None = dataclasses.field(default=None, repr=False, compare=False)
    _by_row: tuple[np.ndarray, np.ndarray] | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def from_labels(cls, labels: np.ndarray, *, zone_ids: Sequence[int] | None = None) -> ZoneIndex:
        """Zones from a label raster (0 = no zone). Zone ids are the positive labels present,
        or ``zone_ids`` (labels not listed are ignored)."""
        from eokit.urban._kernels import label_runs

        lab = np.asarray(labels)
        if lab.ndim != 2:
            raise InvalidInputError(f"label raster must be 2-D, got shape {lab.shape}")
        if lab.dtype.kind not in "iu":
            if lab.dtype.kind == "f" and np.all(np.isnan(lab) | (lab == np.round(lab))):
                lab = np.nan_to_num(lab, nan=0.0).astype(np.int64)
            else:
                raise InvalidInputError(f"label raster must hold integers, got {lab.dtype}")
        runs = label_runs(np.ascontiguousarray(lab))
        if zone_ids is None:
            ids = np.unique(runs[:, 3])
            pos = np.searchsorted(ids, runs[:, 3])
        else:
            ids = np.asarray(zone_ids)
            pos = pd.Index(ids).get_indexer(runs[:, 3])
            runs = runs[pos >= 0]
            pos = pos[pos >= 0]
        runs[:, 3] = pos
        runs = runs[np.lexsort((runs[:, 0], runs[:, 3]))]
        return cls(tuple(lab.shape), runs, len(ids), ids)

    @classmethod
    def from_geometries(
        cls,
        geometries: Sequence[Any],
        *,
        transform: Affine,
        shape: tuple[int, int],
        all_touched: bool = False,
        zone_ids: Sequence[Any] | np.ndarray | None = None,
        workers: int | None = None,
    ) -> ZoneIndex:
        """Zones from shapely geometries in the grid's CRS, each rasterised on its own window
        (in ``workers`` threads; default one per core)."""
        from rasterio import features

        from eokit.urban._kernels import pixels_to_runs

        rows, cols = shape
        ids = np.arange(len(geometries)) if zone_ids is None else np.asarray(zone_ids)
        if not all_touched and transform.b == 0 and transform.d == 0:
            fast = _scanline_index(geometries, transform, shape)
            if fast is not None:
                return cls((int(rows), int(cols)), fast, len(geometries), ids)
        inv = ~transform

        def one(item: tuple[int, Any]) -> np.ndarray | None:
            i, geom = item
            if geom is None or geom.is_empty:
                return None
            w, s, e, n = geom.bounds
            xs, ys = inv @ (np.array([w, e, w, e]), np.array([s, s, n, n]))
            c0, c1 = int(np.floor(xs.min())), int(np.ceil(xs.max()))
            r0, r1 = int(np.floor(ys.min())), int(np.ceil(ys.max()))
            c0, r0 = max(c0 - 1, 0), max(r0 - 1, 0)
            c1, r1 = min(c1 + 1, cols), min(r1 + 1, rows)
            if c1 <= c0 or r1 <= r0:
                return None
            wt = transform @ Affine.translation(c0, r0)
            mask = features.rasterize(
                [(geom, 1)], out_shape=(r1 - r0, c1 - c0), transform=wt, fill=0, all_touched=all_touched, dtype="uint8"
            )
            flat = np.flatnonzero(mask)
            if flat.size == 0:
                return None
            rr, cc = np.divmod(flat, c1 - c0)
            pix = (rr + r0) * cols + (cc + c0)
            return pixels_to_runs(pix, np.full(flat.size, i, dtype=np.int64), int(cols))

        items = list(enumerate(geometries))
        if workers != 1 and len(items) > 64:
            import concurrent.futures as cf

            from eokit.config import get_settings

            with cf.ThreadPoolExecutor(workers or get_settings().n_workers) as pool:
                parts = [p for p in pool.map(one, items, chunksize=16) if p is not None]
        else:
            parts = [p for p in map(one, items) if p is not None]
        runs = np.concatenate(parts) if parts else np.empty((0, 4), np.int64)
        return cls((int(rows), int(cols)), runs, len(geometries), ids)

    @property
    def n_cells(self) -> int:
        """Number of (zone, cell) entries."""
        return int((self.runs[:, 2] - self.runs[:, 1]).sum())

    def _expand(self) -> tuple[np.ndarray, np.ndarray]:
        if self._expanded is None:
            from eokit.urban._kernels import expand_runs

            self._expanded = expand_runs(self.runs, int(self.shape[1]))
        return self._expanded

    @property
    def pixels(self) -> np.ndarray:
        """Flat cell index of every entry (grouped by zone)."""
        return self._expand()[0]

    @property
    def zone(self) -> np.ndarray:
        """Zone position of every entry (non-decreasing)."""
        return self._expand()[1]

    def runs_by_row(self) -> tuple[np.ndarray, np.ndarray]:
        """The runs sorted by row, and each one's row (for strip-wise reading)."""
        if self._by_row is None:
            order = np.argsort(self.runs[:, 0], kind="stable")
            sruns = np.ascontiguousarray(self.runs[order])
            self._by_row = (sruns, sruns[:, 0].copy())
        return self._by_row

    def gather(self, data: np.ndarray) -> np.ndarray:
        """Values of ``data`` (2-D on this grid) for every entry."""
        if tuple(data.shape[-2:]) != self.shape:
            raise InvalidInputError(f"raster shape {data.shape} differs from the zone grid {self.shape}")
        return np.asarray(data).ravel()[self.pixels]

    def gather_blocks(self, read_window: Callable[[int, int, int, int], np.ndarray], block_rows: int) -> np.ndarray:
        """Values for every entry, reading only row strips of ``block_rows`` rows that hold entries.

        Each strip is read over the columns its entries span, not the raster's whole width.
        """
        rows, cols = self.shape
        pixels = self.pixels
        out = np.empty(pixels.size, dtype=np.float64)
        if pixels.size == 0:
            return out
        row_of, col_of = np.divmod(pixels, cols)
        order = np.argsort(row_of, kind="stable")
        srow = row_of[order]
        for r0 in range(0, rows, block_rows):
            r1 = min(rows, r0 + block_rows)
            a, b = np.searchsorted(srow, [r0, r1])
            if a == b:
                continue
            sel = order[a:b]
            c = col_of[sel]
            c0 = int(c.min())
            strip = read_window(r0, r1, c0, int(c.max()) + 1)
            out[sel] = strip[row_of[sel] - r0, c - c0]
        return out

    def new_accumulators(self) -> tuple[np.ndarray, ...]:
        """Zeroed (count, sum, min, max, nodata) per zone for :meth:`accumulate`."""
        n = self.n_zones
        return (
            np.zeros(n, np.int64),
            np.zeros(n, np.float64),
            np.full(n, np.inf),
            np.full(n, -np.inf),
            np.zeros(n, np.int64),
        )

    def accumulate(
        self,
        acc: tuple[np.ndarray, ...],
        strip: np.ndarray,
        r0: int,
        c0: int,
        runs: np.ndarray,
        *,
        nodata: float | None = None,
        min_value: float | None = None,
    ) -> None:
        """Add ``runs`` (rows within ``strip``, whose top-left cell is (``r0``, ``c0``)) to ``acc``."""
        from eokit.urban._kernels import reduce_runs

        use_nd = nodata is not None and not np.isnan(nodata)
        reduce_runs(  # type: ignore[call-arg]
            strip,
            int(r0),
            int(c0),
            runs,
            *acc,
            float(nodata) if use_nd and nodata is not None else 0.0,
            use_nd,
            float(min_value) if min_value is not None else 0.0,
            min_value is not None,
        )

    def table(self, acc: tuple[np.ndarray, ...], stats: Sequence[str]) -> pd.DataFrame:
        """Statistics table from accumulators (see :meth:`new_accumulators`)."""
        count, total, vmin, vmax, nod = acc
        has = count > 0
        vmin = np.where(has, vmin, np.nan)
        vmax = np.where(has, vmax, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols = {
                "count": count,
                "sum": np.where(has, total, np.nan),
                "mean": np.where(has, total / np.maximum(count, 1), np.nan),
                "min": vmin,
                "max": vmax,
                "range": vmax - vmin,
                "nodata": nod,
            }
        return pd.DataFrame({s: cols[s] for s in stats}, index=pd.Index(self.zone_ids, name="zone"))

    def stats(
        self,
        data: np.ndarray | None = None,
        *,
        values: np.ndarray | None = None,
        nodata: float | None = None,
        stats: Sequence[str] = DEFAULT_STATS,
        min_value: float | None = None,
    ) -> pd.DataFrame:
        """Statistics per zone (one row per zone, one column per statistic).

        ``nodata`` cells and NaNs are excluded (``nodata`` counts them); so are
        values below ``min_value``. Zones with no valid cell get NaN (count 0).
        """
        stats = _check_stats(stats)
        n = self.n_zones
        result: dict[str, np.ndarray] = {}
        if set(stats) <= _FAST:
            return self._fast_stats(data, values, nodata, stats, min_value)
        if values is None:
            assert data is not None
            v = self.gather(data)
        else:
            v = values
        v = np.asarray(v)
        bad = np.isnan(v) if v.dtype.kind == "f" else np.zeros(v.shape, dtype=bool)
        if nodata is not None and not np.isnan(nodata):
            bad |= v == nodata
        if "nodata" in stats:
            result["nodata"] = np.bincount(self.zone[bad], minlength=n).astype(np.int64)
        if min_value is not None:
            bad |= v < min_value
        if bad.any():
            ok = ~bad
            vz, vv = self.zone[ok], v[ok].astype(np.float64)
        else:
            vz, vv = self.zone, v.astype(np.float64, copy=False)
        count = np.bincount(vz, minlength=n)
        has = count > 0
        total = np.bincount(vz, weights=vv, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(has, total / np.maximum(count, 1), np.nan)
        starts = np.concatenate([[0], np.cumsum(count)[:-1]])
        nz_starts = starts[has]
        for s in stats:
            if s == "count":
                result[s] = count.astype(np.int64)
            elif s == "sum":
                result[s] = np.where(has, total, np.nan)
            elif s == "mean":
                result[s] = mean
            elif s in {"min", "max", "range"}:
                mn = np.full(n, np.nan)
                mx = np.full(n, np.nan)
                if vv.size:
                    mn[has] = np.minimum.reduceat(vv, nz_starts)
                    mx[has] = np.maximum.reduceat(vv, nz_starts)
                result[s] = mn if s == "min" else mx if s == "max" else mx - mn
            elif s == "std":
                dev = vv - mean[vz]
                with np.errstate(invalid="ignore", divide="ignore"):
                    result[s] = np.where(has, np.sqrt(np.bincount(vz, weights=dev * dev, minlength=n) / count), np.nan)
            elif s in {"median", "majority", "minority", "unique"} or s.startswith("percentile_"):
                result[s] = self._sorted_stat(s, vz, vv, count, starts, n)
        return pd.DataFrame(result, index=pd.Index(self.zone_ids, name="zone"))[[s for s in stats]]

    def _fast_stats(self, data, values, nodata, stats, min_value) -> pd.DataFrame:
        """count/sum/mean/min/max/range/nodata in one compiled pass over the runs (no copies)."""
        acc = self.new_accumulators()
        if values is None:
            if tuple(data.shape[-2:]) != self.shape:
                raise InvalidInputError(f"raster shape {data.shape} differs from the zone grid {self.shape}")
            data = np.asarray(data)
            if not data.flags.c_contiguous:
                data = np.ascontiguousarray(data)
            sruns = self.runs
            parts = _splits(len(sruns), _n_threads(self.n_cells, 1 << 21))
            accs = [acc] + [self.new_accumulators() for _ in parts[1:]]

            def run(k: int) -> None:
                a, b = parts[k]
                self.accumulate(accs[k], data, 0, 0, sruns[a:b], nodata=nodata, min_value=min_value)

            _threaded(run, list(range(len(parts))))
            acc = _merge_acc(accs)
        else:
            from eokit.urban._kernels import pixels_to_runs

            v = np.asarray(values)
            runs = pixels_to_runs(np.arange(v.size, dtype=np.int64), self.zone, v.size + 1)
            self.accumulate(acc, v.reshape(1, -1), 0, 0, runs, nodata=nodata, min_value=min_value)
        return self.table(acc, stats)

    @staticmethod
    def _sorted_stat(s: str, vz, vv, count, starts, n) -> np.ndarray:
        order = np.lexsort((vv, vz))
        sv = vv[order]
        out = np.full(n, np.nan)
        if s == "median" or s.startswith("percentile_"):
            q = 50.0 if s == "median" else float(s.split("_", 1)[1])
            for z in np.flatnonzero(count):
                seg = sv[starts[z] : starts[z] + count[z]]
                out[z] = np.percentile(seg, q)  # numpy's linear interpolation, as rasterstats
            return out
        for z in np.flatnonzero(count):
            seg = sv[starts[z] : starts[z] + count[z]]
            uniq, cnt = np.unique(seg, return_counts=True)
            if s == "unique":
                out[z] = uniq.size
            elif s == "majority":
                out[z] = uniq[np.argmax(cnt)]
            else:
                out[z] = uniq[np.argmin(cnt)]
        return out


def _zones_frame(zones: Any, id_col: str | None) -> Any:
    from eokit.io.vector import read_vector

    if isinstance(zones, (str, os.PathLike)):
        zones = read_vector(zones)
    if id_col is not None and id_col not in zones.columns:
        raise InvalidInputError(f"zones have no column {id_col!r} (columns: {', '.join(map(str, zones.columns))})")
    return zones


def _raster_name(r: Any, i: int) -> str:
    if isinstance(r, (str, os.PathLike)):
        return Path(r).stem
    return f"raster{i + 1}"


def zonal_stats(
    zones: Any,
    rasters: Any,
    *,
    stats: Sequence[str] = ("sum", "min", "max", "mean", "count"),
    min_value: float | None = None,
    all_touched: bool = False,
    id_col: str | None = None,
    names: Sequence[str] | None = None,
    band: int | str = 1,
    block_rows: int | None = None,
    max_memory: int = 1 << 30,
    workers: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> pd.DataFrame:
    """Zonal statistics of one or more rasters: a tidy table (zone x raster x stat).

    Parameters
    ----------
    zones : GeoDataFrame or vector file (reprojected to each raster's CRS), or a label raster
        (2-D int array or raster file; 0 = no zone) on the rasters' grid.
    rasters : one raster path or a list of paths (grids may differ: one index per distinct grid).
    stats : any of count, sum, mean, min, max, std, range, median, majority, minority, unique,
        nodata, percentile_Q.
    min_value : exclude values below it (as the seed's ``minVal``).
    all_touched : rasterise every touched cell instead of cell centres.
    id_col : zone id column (default: the row position 0..n-1, or the label value).
    names : raster names in the table (default: file stems).
    band : band to read: a 1-based number, or a band description / ``name`` tag the rasters define.
    block_rows : rows per strip read (default: whole tile rows, about 8 MB per strip). count, sum,
        mean, min, max, range and nodata stream strip by strip into per-zone accumulators, reading
        only the rows and columns the zones cover, in parallel threads (memory: a few strips).
    max_memory : for the other statistics, a raster larger than this (bytes) is read in strips.
    workers : threads over rasters and strips (default: one per core; 1 = sequential).

    Returns
    -------
    DataFrame with columns ``zone``, ``raster``, ``stat``, ``value``; see :func:`to_wide`.
    """
    from eokit.io.raster import open_raster

    paths = [rasters] if isinstance(rasters, (str, os.PathLike)) else list(rasters)
    if not paths:
        raise InvalidInputError("no raster given")
    names = list(names) if names is not None else [_raster_name(p, i) for i, p in enumerate(paths)]
    if len(names) != len(paths):
        raise InvalidInputError(f"{len(names)} names for {len(paths)} rasters")
    label_zones = isinstance(zones, np.ndarray) or (
        isinstance(zones, (str, os.PathLike)) and Path(zones).suffix.lower() in {".tif", ".tiff", ".vrt"}
    )
    if label_zones and not isinstance(zones, np.ndarray):
        from eokit.io.limits import check_in_memory, memory_budget

        budget = max_memory if max_memory > 0 else memory_budget()  # 0 only asks for strips
        with open_raster(zones, max_memory=budget) as ds:
            # the label raster is held whole, with the int64 cell indices its zone index sorts
            nbytes = np.dtype(ds.dtypes[0]).itemsize + 16
            check_in_memory(zones, shape=(ds.height, ds.width), bytes_per_pixel=nbytes, budget=budget,
                            what="a label raster of zones, held whole,")  # fmt: skip
            zones = ds.read(1)
    gdf = None if label_zones else _zones_frame(zones, id_col)
    import concurrent.futures as cf

    from eokit.config import get_settings

    n_threads = 1 if workers == 1 else max(2, workers or get_settings().n_workers)
    band_of = {os.fspath(p): resolve_band(p, band) for p in paths}
    items = list(zip(paths, names))
    fast = set(_check_stats(stats)) <= _FAST
    with cf.ThreadPoolExecutor(n_threads) as pool:
        # one zone index per distinct grid, built once, in the background while rasters are read
        indices: dict[Any, Any] = {}
        keys = []
        for path in paths:
            with open_raster(path) as ds:
                key = _grid_key(ds)
                keys.append(key)
                if key not in indices:
                    grid = _Grid(ds.height, ds.width, ds.transform, ds.crs)
                    args = (grid, gdf, zones, label_zones, all_touched, id_col, path)
                    indices[key] = pool.submit(_index_for, *args) if n_threads > 1 else _Done(_index_for(*args))

        warned: set[Any] = set()

        def finish(name: str, table: pd.DataFrame) -> pd.DataFrame:
            key = keys[names.index(name)]
            if key not in warned:
                warned.add(key)
                _warn_missing(indices[key].result(), name)
            if progress:
                progress(1)
            return table

        if fast:
            # strips of rows, only where zones are, straight into per-zone accumulators:
            # memory is a few strips, whatever the raster size; a lone raster's strips are shared by the threads
            split = n_threads if len(items) < n_threads else 1
            jobs = [
                [
                    _submit(
                        pool,
                        n_threads,
                        _strip_job,
                        path,
                        indices[key],
                        k,
                        split,
                        band_of[os.fspath(path)],
                        block_rows,
                        min_value,
                    )
                    for k in range(1 if split > 1 else 0, split)
                ]
                for path, key in zip(paths, keys)
            ]
            if split > 1:  # this thread takes the first share (its GDAL state is warm)
                for (path, key), parts in zip(zip(paths, keys), jobs):
                    b = band_of[os.fspath(path)]
                    parts.append(_Done(_strip_job(path, indices[key], 0, split, b, block_rows, min_value)))
            frames = []
            for (_path, name), key, parts in zip(items, keys, jobs):
                idx = indices[key].result()
                frames.append(finish(name, idx.table(_merge_acc([p.result() for p in parts]), _check_stats(stats))))
        else:

            def one(item: tuple[Any, str]) -> pd.DataFrame:
                path, name = item
                band = band_of[os.fspath(path)]
                with open_raster(path) as ds:
                    idx = indices[_grid_key(ds)].result()
                    if ds.height * ds.width * np.dtype(ds.dtypes[band - 1]).itemsize <= max_memory:
                        table = idx.stats(ds.read(band), nodata=ds.nodata, stats=stats, min_value=min_value)
                    else:

                        def read(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
                            from rasterio.windows import Window

                            return ds.read(band, window=Window.from_slices((r0, r1), (c0, c1)))

                        # strips of at most 1024 rows, fewer when the raster is so wide they would pass the budget
                        row_bytes = ds.width * np.dtype(ds.dtypes[band - 1]).itemsize
                        rows = block_rows or int(min(1024, max(1, max_memory // max(1, 2 * row_bytes))))
                        vals = idx.gather_blocks(read, rows)
                        table = idx.stats(values=vals, nodata=ds.nodata, stats=stats, min_value=min_value)
                return finish(name, table)

            # index jobs were queued first, so rasters waiting on them never starve them of a thread
            frames = list(pool.map(one, items)) if n_threads > 1 and len(items) > 1 else [one(it) for it in items]
    # tidy rows ordered by zone id, then raster, then statistic
    stat_names = _check_stats(stats)
    ids = frames[0].index.to_numpy()
    codes = pd.factorize(ids, sort=True)[0]
    order = np.argsort(codes, kind="stable")
    values = np.stack([f[stat_names].to_numpy(dtype=np.float64) for f in frames])  # raster, zone, stat
    values = values[:, order, :].transpose(1, 0, 2)
    nz, nr, ns = values.shape
    return pd.DataFrame(
        {
            "zone": np.repeat(ids[order], nr * ns),
            "raster": np.tile(np.repeat(np.asarray(names, dtype=object), ns), nz),
            "stat": np.tile(np.asarray(stat_names, dtype=object), nz * nr),
            "value": values.ravel(),
        }
    )


def _submit(pool: Any, n_threads: int, func: Callable[..., Any], *args: Any) -> Any:
    return pool.submit(func, *args) if n_threads > 1 else _Done(func(*args))


STRIP_BYTES = 8 << 20


def _strip_job(path, index_future, part, n_parts, band, block_rows, min_value) -> tuple[np.ndarray, ...]:
    """Accumulators of strips ``part``, ``part + n_parts``, ... of one raster (its own dataset handle)."""
    from rasterio.windows import Window

    from eokit.io.raster import open_raster

    idx = index_future.result()
    acc = idx.new_accumulators()
    sruns, srow = idx.runs_by_row()
    if not len(sruns):
        return acc
    import rasterio

    # uncompressed GeoTIFFs: read straight from the file, not through GDAL's block cache (which would
    # keep every block read, i.e. the whole raster); ignored for other formats. Thread-local in threads.
    with rasterio.Env(GTIFF_DIRECT_IO="YES"), open_raster(path) as ds:
        if (ds.height, ds.width) != idx.shape:
            raise InvalidInputError(f"raster shape {(ds.height, ds.width)} differs from the zone grid", path=path)
        if block_rows is None:
            bh = max(1, ds.block_shapes[band - 1][0])
            per_row = ds.width * np.dtype(ds.dtypes[band - 1]).itemsize
            block_rows = max(bh, STRIP_BYTES // per_row // bh * bh)
        first, last = int(srow[0]) // block_rows, int(srow[-1]) // block_rows
        for s in range(first + part, last + 1, n_parts):
            r0, r1 = s * block_rows, min(ds.height, (s + 1) * block_rows)
            a, b = np.searchsorted(srow, [r0, r1])
            if a == b:
                continue
            runs = sruns[a:b]
            c0, c1 = int(runs[:, 1].min()), int(runs[:, 2].max())
            strip = ds.read(band, window=Window(c0, r0, c1 - c0, r1 - r0))
            idx.accumulate(acc, strip, r0, c0, runs, nodata=ds.nodata, min_value=min_value)
    return acc


class _Done:
    """An already-computed result with a future's ``result()``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


@dataclasses.dataclass(frozen=True)
class _Grid:
    """A raster's grid, so the index thread needs no dataset of its own."""

    height: int
    width: int
    transform: Affine
    crs: Any


class ZonesOutsideRasterWarning(EokitWarning):
    """Some zones cover no cell of a raster: their rows hold no values."""


def _warn_missing(idx: ZoneIndex, raster: str) -> None:
    """Warn, listing them, about zones with no cell on the raster's grid."""
    present = np.zeros(idx.n_zones, dtype=bool)
    present[idx.runs[:, 3]] = True
    if present.all():
        return
    missing = np.asarray(idx.zone_ids)[~present]
    shown = ", ".join(map(str, missing[:20].tolist())) + (" ..." if missing.size > 20 else "")
    warnings.warn(
        f"{missing.size} of {idx.n_zones} zones cover no cell of raster {raster} (no values for them): {shown}",
        ZonesOutsideRasterWarning,
        stacklevel=3,
    )


def resolve_band(path: Any, band: int | str) -> int:
    """The 1-based index of ``band`` in the raster at ``path``: a number, or a band description or
    ``name`` tag (case-insensitive); refused with ``param="band"`` when it names no band."""
    from eokit.io.raster import open_raster

    with open_raster(path) as ds:
        if isinstance(band, (int, np.integer)) or str(band).strip().isdigit():
            i = int(band)
            if not 1 <= i <= ds.count:
                raise InvalidInputError(
                    f"band {i} does not exist (the raster has {ds.count})", path=os.fspath(path), param="band"
                )
            return i
        want = str(band).strip().lower()
        names = []
        for i in range(1, ds.count + 1):
            tags = ds.tags(i)
            cands = [ds.descriptions[i - 1], tags.get("name"), tags.get("NAME"), tags.get("common_name")]
            cands = [c for c in cands if c]
            names.extend(cands)
            if want in (c.lower() for c in cands):
                return i
        known = ", ".join(names) or "none (the bands have no descriptions)"
        raise InvalidInputError(f"no band named {band!r} (names: {known})", path=os.fspath(path), param="band")


def _grid_key(ds: Any) -> tuple[Any, ...]:
    return (tuple(ds.transform), ds.width, ds.height, ds.crs.to_wkt() if ds.crs else None)


def _index_for(ds, gdf, zones, label_zones, all_touched, id_col, path) -> ZoneIndex:
    if label_zones:
        if zones.shape != (ds.height, ds.width):
            raise InvalidInputError(f"label raster shape {zones.shape} differs from the raster grid", path=path)
        return ZoneIndex.from_labels(zones)
    if ds.crs is None:
        from eokit.errors import MissingCRSError

        raise MissingCRSError("has no CRS; cannot place the zones on it", path=path)
    if gdf.crs is None:
        raise InvalidInputError("zones have no CRS")
    local = gdf if _same_crs(gdf.crs, ds.crs) else gdf.to_crs(ds.crs)
    ids = local[id_col].to_numpy() if id_col else np.arange(len(local))
    return ZoneIndex.from_geometries(
        list(local.geometry), transform=ds.transform, shape=(ds.height, ds.width), all_touched=all_touched, zone_ids=ids
    )


def _same_crs(zone_crs: Any, raster_crs: Any) -> bool:
    """Whether the zones need no reprojection: equal authority strings first (cheap), else pyproj."""
    try:
        if zone_crs.srs and zone_crs.srs.upper() == raster_crs.to_string().upper():
            return True
    except (AttributeError, ValueError):
        pass
    return zone_crs == raster_crs


def to_wide(tidy: pd.DataFrame, *, sep: str = "_", upper: bool = False) -> pd.DataFrame:
    """One row per zone, one column per ``{raster}{sep}{stat}`` (``upper``: ``SUM`` like the seed)."""
    t = tidy.copy()
    t["stat"] = t["stat"].str.upper() if upper else t["stat"]
    t["col"] = t["raster"].astype(str) + sep + t["stat"].astype(str)
    wide = t.pivot(index="zone", columns="col", values="value")
    cols = list(dict.fromkeys(t["col"]))
    return wide[cols]


def write_zonal_csv(
    zones: Any,
    rasters: Sequence[Any],
    out: str | os.PathLike[str],
    *,
    tidy: bool = False,
    **kwargs: Any,
) -> pd.DataFrame:
    """Run :func:`zonal_stats` and write the wide (default) or tidy table as CSV, atomically."""
    from eokit.io.atomic import atomic_path

    table = zonal_stats(zones, rasters, **kwargs)
    frame = table if tidy else to_wide(table)
    if not tidy and kwargs.get("id_col"):
        frame.index.name = kwargs["id_col"]
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=not tidy)
    return frame
