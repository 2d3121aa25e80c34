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

from eokit.errors import InvalidInputError

__all__ = ["DEFAULT_STATS", "ZoneIndex", "to_wide", "write_zonal_csv", "zonal_stats"]

log = logging.getLogger(__name__)

DEFAULT_STATS = ("count", "min", "max", "mean")
_FAST = {"count", "sum", "mean", "min", "max", "range", "nodata"}
_SIMPLE = {"count", "sum", "mean", "min", "max", "std", "range", "nodata", "median", "majority", "minority", "unique"}


def _scanline_index(geometries: Sequence[Any], transform: Affine, shape: tuple[int, int]):
    """Cell-centre rasterisation of (multi)polygons with the numba scanline kernel (GDAL's rule);
    None when a geometry is not polygonal."""
    import shapely

    from eokit.urban._kernels import fill_polygons

    geoms = np.array([g if g is not None else shapely.Polygon() for g in geometries], dtype=object)
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds, (3, 6)).all():  # Polygon, MultiPolygon
        return None
    parts, part_geom = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_geom = part_geom[ring_part]
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(coord_ring, minlength=len(rings))
    ring_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    inv = ~transform
    px = inv.a * coords[:, 0] + inv.b * coords[:, 1] + inv.c
    py = inv.d * coords[:, 0] + inv.e * coords[:, 1] + inv.f
    px, py, rg = np.ascontiguousarray(px), np.ascontiguousarray(py), ring_geom.astype(np.int64)
    n = len(geoms)

    def chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
        g0, g1 = bounds
        k0, k1 = np.searchsorted(rg, [g0, g1])
        a, b = ring_start[k0], ring_start[k1]
        (pix, zone), nh = fill_polygons(
            px[a:b], py[a:b], ring_start[k0 : k1 + 1] - a, rg[k0:k1] - g0, g1 - g0, int(shape[0]), int(shape[1])
        )
        return pix, zone + g0, nh

    parts = _threaded(chunk, _splits(n, _n_threads(n)))
    pix = np.concatenate([p[0] for p in parts])
    zone = np.concatenate([p[1] for p in parts])
    nh = sum(p[2] for p in parts)
    if nh:
        pairs = np.unique(np.stack([zone, pix], axis=1), axis=0)
        zone, pix = pairs[:, 0], pairs[:, 1]
    return pix, zone


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
                raise InvalidInputError(f"bad percentile statistic {s!r}") from None
            if not 0 <= q <= 100:
                raise InvalidInputError(f"percentile must be within 0..100, got {s!r}")
            out.append(s)
        else:
            raise InvalidInputError(f"unknown statistic {s!r}; use {', '.join(sorted(_SIMPLE))} or percentile_Q")
    if not out:
        raise InvalidInputError("no statistic requested")
    return out


@dataclasses.dataclass
class ZoneIndex:
    """Pixels of every zone on one grid, sorted by zone.

    ``pixels`` are flat indices into a ``shape`` grid; ``zone`` gives each
    entry's zone position (0..n_zones-1), non-decreasing.
    """

    shape: tuple[int, int]
    pixels: np.ndarray
    zone: np.ndarray
    n_zones: int
    zone_ids: np.ndarray
    _row_order: tuple[np.ndarray, np.ndarray] | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def from_labels(cls, labels: np.ndarray, *, zone_ids: Sequence[int] | None = None) -> ZoneIndex:
        """Zones from a label raster (0 = no zone). Zone ids are the positive labels present,
        or ``zone_ids`` (labels not listed are ignored)."""
        lab = np.asarray(labels)
        if lab.ndim != 2:
            raise InvalidInputError(f"label raster must be 2-D, got shape {lab.shape}")
        ids = np.unique(lab[lab > 0]) if zone_ids is None else np.asarray(zone_ids)
        flat = lab.ravel()
        pix = np.flatnonzero(np.isin(flat, ids))
        pos = np.searchsorted(ids, flat[pix]) if zone_ids is None else pd.Index(ids).get_indexer(flat[pix])
        order = np.argsort(pos, kind="stable")
        return cls(tuple(lab.shape), pix[order].astype(np.int64), pos[order].astype(np.int64), len(ids), ids)

    @classmethod
    def from_geometries(
        cls,
        geometries: Sequence[Any],
        *,
        transform: Affine,
        shape: tuple[int, int],
        all_touched: bool = False,
        zone_ids: Sequence[Any] | None = None,
        workers: int | None = None,
    ) -> ZoneIndex:
        """Zones from shapely geometries in the grid's CRS, each rasterised on its own window
        (in ``workers`` threads; default one per core)."""
        from rasterio import features

        rows, cols = shape
        if not all_touched and transform.b == 0 and transform.d == 0:
            fast = _scanline_index(geometries, transform, shape)
            if fast is not None:
                ids = np.arange(len(geometries)) if zone_ids is None else np.asarray(zone_ids)
                return cls((int(rows), int(cols)), fast[0], fast[1], len(geometries), ids)
        inv = ~transform

        def one(item: tuple[int, Any]) -> tuple[np.ndarray, np.ndarray] | None:
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
            return (rr + r0) * cols + (cc + c0), np.full(flat.size, i, dtype=np.int64)

        items = list(enumerate(geometries))
        if workers != 1 and len(items) > 64:
            import concurrent.futures as cf

            from eokit.config import get_settings

            with cf.ThreadPoolExecutor(workers or get_settings().n_workers) as pool:
                parts = [p for p in pool.map(one, items, chunksize=16) if p is not None]
        else:
            parts = [p for p in map(one, items) if p is not None]
        pix_parts = [p[0] for p in parts]
        zone_parts = [p[1] for p in parts]
        pixels = np.concatenate(pix_parts) if pix_parts else np.empty(0, np.int64)
        zone = np.concatenate(zone_parts) if zone_parts else np.empty(0, np.int64)
        ids = np.arange(len(geometries)) if zone_ids is None else np.asarray(zone_ids)
        return cls((int(rows), int(cols)), pixels, zone, len(geometries), ids)

    def gather(self, data: np.ndarray) -> np.ndarray:
        """Values of ``data`` (2-D on this grid) for every entry."""
        if tuple(data.shape[-2:]) != self.shape:
            raise InvalidInputError(f"raster shape {data.shape} differs from the zone grid {self.shape}")
        return np.asarray(data).ravel()[self.pixels]

    def gather_blocks(self, read_window: Callable[[int, int, int, int], np.ndarray], block_rows: int) -> np.ndarray:
        """Values for every entry, reading only row strips of ``block_rows`` rows that hold entries."""
        rows, cols = self.shape
        out = np.empty(self.pixels.size, dtype=np.float64)
        if self.pixels.size == 0:
            return out
        if self._row_order is None:
            row_of = self.pixels // cols
            order = np.argsort(row_of, kind="stable")
            self._row_order = (order, row_of[order])
        order, srow = self._row_order
        for r0 in range(0, rows, block_rows):
            r1 = min(rows, r0 + block_rows)
            a, b = np.searchsorted(srow, [r0, r1])
            if a == b:
                continue
            sel = order[a:b]
            strip = read_window(r0, r1, 0, cols)
            out[sel] = strip.ravel()[self.pixels[sel] - r0 * cols]
        return out

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
        v = self.gather(data) if values is None else values
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
        """count/sum/mean/min/max/range/nodata in one compiled pass (no intermediate arrays)."""
        from eokit.urban._kernels import zonal_reduce

        if values is None:
            if tuple(data.shape[-2:]) != self.shape:
                raise InvalidInputError(f"raster shape {data.shape} differs from the zone grid {self.shape}")
            flat, pix = np.ascontiguousarray(data).ravel(), self.pixels
        else:
            flat, pix = np.asarray(values), np.arange(len(values), dtype=np.int64)
        use_nd = nodata is not None and not np.isnan(nodata)
        nd = float(nodata) if use_nd else 0.0
        mv = float(min_value) if min_value is not None else 0.0

        def run(bounds: tuple[int, int]) -> tuple[np.ndarray, ...]:
            a, b = bounds
            return zonal_reduce(flat, pix[a:b], self.zone[a:b], self.n_zones, nd, use_nd, mv, min_value is not None)

        parts = _threaded(run, _splits(len(pix), _n_threads(len(pix), 1 << 20)))
        count = np.sum([p[0] for p in parts], axis=0)
        total = np.sum([p[1] for p in parts], axis=0)
        nod = np.sum([p[4] for p in parts], axis=0)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN zones
            vmin = np.nanmin([p[2] for p in parts], axis=0)
            vmax = np.nanmax([p[3] for p in parts], axis=0)
        has = count > 0
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
    band: int = 1,
    block_rows: int = 1024,
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
    band : band to read (1-based).
    block_rows, max_memory : a raster larger than ``max_memory`` bytes is read in strips of ``block_rows``.
    workers : threads over rasters (default: one per core; 1 = sequential).

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
        with open_raster(zones) as ds:
            zones = ds.read(1)
    gdf = None if label_zones else _zones_frame(zones, id_col)
    import concurrent.futures as cf

    from eokit.config import get_settings

    n_threads = 1 if workers == 1 else max(2, workers or get_settings().n_workers)
    items = list(zip(paths, names))
    with cf.ThreadPoolExecutor(n_threads) as pool:
        # one zone index per distinct grid, built once, in the background while rasters are read
        indices: dict[Any, Any] = {}
        for path in paths:
            with open_raster(path) as ds:
                key = _grid_key(ds)
                if key not in indices:
                    args = (_IndexJob(path), gdf, zones, label_zones, all_touched, id_col, path)
                    indices[key] = pool.submit(_index_for, *args) if n_threads > 1 else _Done(_index_for(*args))

        def one(item: tuple[Any, str]) -> pd.DataFrame:
            path, name = item
            with open_raster(path) as ds:
                future = indices[_grid_key(ds)]
                if ds.height * ds.width * np.dtype(ds.dtypes[band - 1]).itemsize <= max_memory:
                    data = ds.read(band)
                    table = future.result().stats(data, nodata=ds.nodata, stats=stats, min_value=min_value)
                else:
                    idx = future.result()

                    def read(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
                        from rasterio.windows import Window

                        return ds.read(band, window=Window.from_slices((r0, r1), (c0, c1)))

                    vals = idx.gather_blocks(read, block_rows)
                    table = idx.stats(values=vals, nodata=ds.nodata, stats=stats, min_value=min_value)
            long = table.reset_index().melt(id_vars="zone", var_name="stat", value_name="value")
            long.insert(1, "raster", name)
            if progress:
                progress(1)
            return long

        # index jobs were queued first, so rasters waiting on them never starve them of a thread
        frames = list(pool.map(one, items)) if n_threads > 1 and len(items) > 1 else [one(it) for it in items]
    out = pd.concat(frames, ignore_index=True)
    order = {s: i for i, s in enumerate(_check_stats(stats))}
    out["_o"] = out["stat"].map(order)
    out["_r"] = out["raster"].map({n: i for i, n in enumerate(names)})
    out = out.sort_values(["zone", "_r", "_o"], kind="stable").drop(columns=["_o", "_r"]).reset_index(drop=True)
    return out


class _Done:
    """An already-computed result with a future's ``result()``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class _IndexJob:
    """Opens the raster again inside the index thread (datasets are not shared across threads)."""

    def __init__(self, path: Any) -> None:
        self.path = path


def _grid_key(ds: Any) -> tuple[Any, ...]:
    return (tuple(ds.transform), ds.width, ds.height, ds.crs.to_wkt() if ds.crs else None)


def _index_for(ds, gdf, zones, label_zones, all_touched, id_col, path) -> ZoneIndex:
    if isinstance(ds, _IndexJob):
        from eokit.io.raster import open_raster

        with open_raster(ds.path) as opened:
            return _index_for(opened, gdf, zones, label_zones, all_touched, id_col, path)
    if label_zones:
        if zones.shape != (ds.height, ds.width):
            raise InvalidInputError(f"label raster shape {zones.shape} differs from the raster grid", path=path)
        return ZoneIndex.from_labels(zones)
    if ds.crs is None:
        from eokit.errors import MissingCRSError

        raise MissingCRSError("has no CRS; cannot place the zones on it", path=path)
    if gdf.crs is None:
        raise InvalidInputError("zones have no CRS")
    local = gdf.to_crs(ds.crs) if gdf.crs != ds.crs else gdf
    ids = local[id_col].to_numpy() if id_col else np.arange(len(local))
    return ZoneIndex.from_geometries(
        list(local.geometry), transform=ds.transform, shape=(ds.height, ds.width), all_touched=all_touched, zone_ids=ids
    )


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
