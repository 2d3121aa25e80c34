"""Exposure of people (and built-up area) to flood, climate variation and air pollution, per zone.

Every analysis works on the **population grid**, block by block (memory: a few blocks).
Hazard grids of another resolution or CRS are aligned to it by these rules:

- **continuous values** (temperature, rainfall, PM2.5): the *area-weighted mean* of the
  hazard cells overlapping each population cell (GDAL ``average``, which weights each
  source cell by the share of it inside the target cell and skips nodata). A population
  cell then carries the mean value its area experiences, so a population-weighted mean
  over a zone is the mean exposure of its people, whatever the two resolutions.
- **flood depth** (``rule="share"``, the default): for each depth class ``> d``, the
  *share of the population cell's area* flooded deeper than ``d`` (the area-weighted mean
  of the 0/1 indicator ``depth > d``); people exposed = population x share. People are
  assumed spread evenly inside a population cell, so this is the expected count, with no
  bias when the flood map is finer than the population grid. ``rule="max"`` takes the
  *maximum depth* over the cell instead: the whole cell counts as flooded when any part of
  it is — a conservative upper bound, for screening studies that must not miss people.
  Cells where the flood map has no data count as dry (flood maps mark dry land as nodata).

Zones are label rasters on the population grid (cluster / centre ids) or polygons
(districts), rasterised cell-centre-inside; every analysis also reports the zone set
``all`` (the whole grid).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from eokit.errors import InvalidInputError

__all__ = [
    "DEPTH_CLASSES",
    "WHO_PM25",
    "Zones",
    "air_quality",
    "climate_series",
    "climate_variation",
    "flood_exposure",
]

log = logging.getLogger(__name__)

DEPTH_CLASSES = (0.0, 0.15, 0.5, 1.5)
"""Default flood depth classes in metres: people in water deeper than each."""
WHO_PM25 = {"WHO AQG 2021": 5.0, "IT-4": 10.0, "IT-3": 15.0, "IT-2": 25.0, "IT-1": 35.0}
"""WHO 2021 annual PM2.5 air-quality guideline and interim targets, µg/m³."""


@dataclasses.dataclass(frozen=True)
class Zones:
    """A set of zones: a label raster on the population grid, or polygons with an id column."""

    name: str
    source: Any  # path of a label raster, path of a vector file, or a GeoDataFrame
    id_col: str | None = None

    def labels(self, window: tuple[tuple[int, int], tuple[int, int]], transform: Any, crs: Any) -> np.ndarray:
        """Zone id of each cell of ``window`` (0: no zone); polygons give their row position + 1."""
        import rasterio
        from rasterio.windows import Window

        win = Window.from_slices(*window)
        if self.id_col is None:
            with rasterio.open(self.source) as ds:
                return ds.read(1, window=win).astype(np.int64)
        from rasterio import features

        gdf = self._polygons(crs)
        shape = (window[0][1] - window[0][0], window[1][1] - window[1][0])
        tr = rasterio.windows.transform(win, transform)
        pairs = [(g, i + 1) for i, g in enumerate(gdf.geometry) if g is not None and not g.is_empty]
        if not pairs:
            return np.zeros(shape, dtype=np.int64)
        return features.rasterize(pairs, out_shape=shape, transform=tr, fill=0, dtype="int32").astype(np.int64)

    def _polygons(self, crs: Any) -> Any:
        cache = self.__dict__.get("_cache")
        if cache is None:
            from eokit.io.vector import read_vector

            gdf = read_vector(self.source) if isinstance(self.source, (str, os.PathLike)) else self.source
            if self.id_col not in gdf.columns:
                raise InvalidInputError(
                    f"has no column {self.id_col!r}",
                    path=os.fspath(self.source) if isinstance(self.source, (str, os.PathLike)) else None,
                    param="zones_id",
                )
            cache = gdf.to_crs(crs) if gdf.crs is not None and gdf.crs != crs else gdf
            object.__setattr__(self, "_cache", cache)
        return cache

    def ids(self, present: np.ndarray, crs: Any) -> np.ndarray:
        """The zone ids users know for label values ``present``."""
        if self.id_col is None:
            return present
        return self._polygons(crs)[self.id_col].to_numpy()[present - 1]


class _Aligner:
    """Reads a hazard raster on a block of the population grid by one of the module's rules."""

    def __init__(self, path: str | os.PathLike[str], *, param: str) -> None:
        import rasterio

        self.path = os.fspath(path)
        try:
            self.ds = rasterio.open(self.path)
        except rasterio.errors.RasterioIOError as exc:
            from eokit.errors import UnreadableInputError

            raise UnreadableInputError(f"cannot open raster ({exc})", path=self.path, param=param) from None
        if self.ds.crs is None:
            from eokit.errors import MissingCRSError

            raise MissingCRSError("has no CRS; cannot align it to the population grid", path=self.path)

    def close(self) -> None:
        self.ds.close()

    def _source(self, transform: Any, crs: Any, shape: tuple[int, int]) -> tuple[np.ndarray, Any] | None:
        """The hazard cells covering a destination block (plus one cell), NaN for nodata."""
        from rasterio.warp import transform_bounds
        from rasterio.windows import Window, from_bounds

        h, w = shape
        west, north = transform * (0, 0)
        east, south = transform * (w, h)
        bounds = transform_bounds(
            crs, self.ds.crs, min(west, east), min(south, north), max(west, east), max(south, north)
        )
        win = from_bounds(*bounds, transform=self.ds.transform)
        r0 = max(int(np.floor(win.row_off)) - 1, 0)
        c0 = max(int(np.floor(win.col_off)) - 1, 0)
        r1 = min(int(np.ceil(win.row_off + win.height)) + 1, self.ds.height)
        c1 = min(int(np.ceil(win.col_off + win.width)) + 1, self.ds.width)
        if r1 <= r0 or c1 <= c0:
            return None
        window = Window.from_slices((r0, r1), (c0, c1))
        data = self.ds.read(1, window=window).astype(np.float64)
        if self.ds.nodata is not None:
            data[data == self.ds.nodata] = np.nan
        return data, self.ds.window_transform(window)

    def read(
        self,
        transform: Any,
        crs: Any,
        shape: tuple[int, int],
        *,
        prepare: Callable[[np.ndarray], np.ndarray] | None = None,
        resampling: str = "average",
    ) -> np.ndarray:
        """``prepare(hazard)`` aligned to the block (NaN where no hazard cell contributes)."""
        from rasterio.enums import Resampling
        from rasterio.warp import reproject

        src = self._source(transform, crs, shape)
        out = np.full(shape, np.nan)
        if src is None:
            return out
        data, src_tr = src
        if prepare is not None:
            data = prepare(data)
        if self._same_grid(src_tr, transform, crs, data.shape, shape):
            r, c = self._offset(src_tr, transform)
            return data[r : r + shape[0], c : c + shape[1]].copy()
        reproject(
            data,
            out,
            src_transform=src_tr,
            src_crs=self.ds.crs,
            dst_transform=transform,
            dst_crs=crs,
            src_nodata=np.nan,
            dst_nodata=np.nan,
            resampling=getattr(Resampling, resampling),
        )
        return out

    def _offset(self, src_tr: Any, dst_tr: Any) -> tuple[int, int]:
        col, row = ~src_tr * (dst_tr.c, dst_tr.f)
        return round(row), round(col)

    def _same_grid(self, src_tr: Any, dst_tr: Any, crs: Any, src_shape: Any, dst_shape: Any) -> bool:
        if self.ds.crs != crs or not np.allclose(
            [src_tr.a, src_tr.b, src_tr.d, src_tr.e], [dst_tr.a, dst_tr.b, dst_tr.d, dst_tr.e], rtol=1e-9
        ):
            return False
        col, row = ~src_tr * (dst_tr.c, dst_tr.f)
        if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
            return False
        r, c = round(row), round(col)
        return r >= 0 and c >= 0 and r + dst_shape[0] <= src_shape[0] and c + dst_shape[1] <= src_shape[1]


def _blocks(population: str | os.PathLike[str], block_size: int) -> Iterable[tuple[Any, dict[str, Any]]]:
    """Blocks of the population grid with their cleaned population, transform and cell areas."""
    import rasterio
    from rasterio.windows import Window

    from eokit.core.blocks import iter_blocks
    from eokit.core.crs import cell_areas_km2, require_crs
    from eokit.io.raster import open_raster

    with open_raster(population) as ds:
        require_crs(ds.crs.to_wkt() if ds.crs else None, path=os.fspath(population), purpose="exposure per zone")
        areas = cell_areas_km2(ds.transform, ds.crs, ds.height)
        for block in iter_blocks((ds.height, ds.width), block_size):
            win = Window.from_slices(*block.window())
            pop = ds.read(1, window=win).astype(np.float64)
            bad = ~np.isfinite(pop) | (pop < 0)
            if ds.nodata is not None:
                bad |= pop == ds.nodata
            pop[bad] = 0.0
            yield (
                block,
                {
                    "pop": pop,
                    "transform": rasterio.windows.transform(win, ds.transform),
                    "crs": ds.crs,
                    "area": np.broadcast_to(areas[block.core[0], None], pop.shape),
                    "full_transform": ds.transform,
                },
            )


def _zone_sets(zones: Sequence[Zones]) -> list[Zones | None]:
    return [None, *zones]  # None: the zone set "all"


def _group(zs: Zones | None, block: Any, b: dict[str, Any], columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per-zone sums of ``columns`` over one block (zone 0 = outside every zone is dropped)."""
    if zs is None:
        lab = np.ones(b["pop"].shape, dtype=np.int64)
    else:
        lab = zs.labels(block.window(), b["full_transform"], b["crs"])
    sel = lab > 0
    if not sel.any():
        return pd.DataFrame()
    ids, inv = np.unique(lab[sel], return_inverse=True)
    data = {k: np.bincount(inv, weights=np.nan_to_num(v[sel]), minlength=ids.size) for k, v in columns.items()}
    df = pd.DataFrame(data)
    df.insert(0, "label", ids)
    df.insert(0, "zones", "all" if zs is None else zs.name)
    return df


def _finish(parts: list[pd.DataFrame], zones: Sequence[Zones], crs: Any) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=["zones", "zone"])
    df = pd.concat(parts, ignore_index=True).groupby(["zones", "label"], sort=False).sum().reset_index()
    by_name = {z.name: z for z in zones}
    out = []
    for name, g in df.groupby("zones", sort=False):
        g = g.copy()
        g["zone"] = "all" if name == "all" else by_name[name].ids(g["label"].to_numpy(), crs)
        out.append(g.drop(columns="label"))
    res = pd.concat(out, ignore_index=True)
    return res[["zones", "zone", *[c for c in res.columns if c not in ("zones", "zone")]]]


F = TypeVar("F", bound=Callable[..., Any])


def _in_raster_env(func: F) -> F:
    """Run ``func`` under the settings' GDAL options (its reads are in this thread; GDAL's default cache is
    5% of the machine's memory: a flood run over a 200,000^2 grid grew to ~2 GB RSS)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from eokit.io.raster import raster_env

        with raster_env():
            return func(*args, **kwargs)

    return cast(F, wrapper)


@_in_raster_env
def flood_exposure(
    population: str | os.PathLike[str],
    floods: Mapping[str, str | os.PathLike[str]],
    zones: Sequence[Zones] = (),
    *,
    depth_classes: Sequence[float] = DEPTH_CLASSES,
    built_up: str | os.PathLike[str] | None = None,
    rule: str = "share",
    block_size: int = 1024,
) -> pd.DataFrame:
    """People (and built-up) in flood water deeper than each class, per flood layer and zone.

    ``floods`` maps a layer name (e.g. a return period, ``"RP100"``) to a depth raster in
    metres. ``built_up`` (any grid; aligned by summing, so amounts such as m² of built-up
    surface per cell are kept) adds ``built_up`` / ``built_up_share`` columns. Returns one row
    per zone set, zone, flood layer and depth class: ``population`` (the zone's people),
    ``people`` and ``people_share``.
    """
    if rule not in ("share", "max"):
        raise InvalidInputError(f"must be 'share' or 'max', got {rule!r}", param="flood_rule")
    classes = sorted(float(d) for d in depth_classes)
    if not classes or any(not np.isfinite(d) or d < 0 for d in classes):
        raise InvalidInputError(f"must be finite depths >= 0 m, got {list(depth_classes)}", param="depth_classes")
    if not floods:
        raise InvalidInputError("give at least one flood depth raster", param="flood")
    layers = {name: _Aligner(p, param="flood") for name, p in floods.items()}
    built = _Aligner(built_up, param="built_up") if built_up is not None else None
    parts: list[pd.DataFrame] = []
    try:
        for block, b in _blocks(population, block_size):
            cols: dict[str, np.ndarray] = {"population": b["pop"]}
            bu = None
            if built is not None:
                bu = built.read(b["transform"], b["crs"], b["pop"].shape, resampling="sum")
                cols["built_up_total"] = bu
            for name, layer in layers.items():
                if rule == "max":
                    depth = layer.read(b["transform"], b["crs"], b["pop"].shape, resampling="max")
                for d in classes:
                    if rule == "share":
                        share = layer.read(
                            b["transform"],
                            b["crs"],
                            b["pop"].shape,
                            prepare=_deeper_than(d),
                        )
                    else:
                        share = np.where(np.isfinite(depth) & (depth > d), 1.0, 0.0)
                    share = np.nan_to_num(share)
                    cols[f"{name}\x00{d}\x00people"] = b["pop"] * share
                    if bu is not None:
                        cols[f"{name}\x00{d}\x00built_up"] = np.nan_to_num(bu) * share
            for zs in _zone_sets(zones):
                parts.append(_group(zs, block, b, cols))
    finally:
        for layer in layers.values():
            layer.close()
        if built is not None:
            built.close()
    wide = _finish(parts, zones, _crs(population))
    return _flood_tidy(wide, list(layers), classes, built is not None)


def _deeper_than(d: float) -> Callable[[np.ndarray], np.ndarray]:
    """1.0 where the depth exceeds ``d`` metres, else 0.0 (nodata is dry)."""

    def indicator(a: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(a) & (a > d), 1.0, 0.0)

    return indicator


def _flood_tidy(wide: pd.DataFrame, names: list[str], classes: list[float], has_built: bool) -> pd.DataFrame:
    rows = []
    for name in names:
        for d in classes:
            part = wide[["zones", "zone", "population"]].copy()
            part.insert(2, "flood", name)
            part.insert(3, "depth_gt_m", d)
            part["people"] = wide[f"{name}\x00{d}\x00people"]
            with np.errstate(invalid="ignore", divide="ignore"):
                part["people_share"] = part["people"] / part["population"].where(part["population"] > 0)
                if has_built:
                    part["built_up_total"] = wide["built_up_total"]
                    part["built_up"] = wide[f"{name}\x00{d}\x00built_up"]
                    part["built_up_share"] = part["built_up"] / part["built_up_total"].where(part["built_up_total"] > 0)
            rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _crs(path: str | os.PathLike[str]) -> Any:
    from eokit.io.raster import open_raster

    with open_raster(path) as ds:
        return ds.crs


@_in_raster_env
def air_quality(
    population: str | os.PathLike[str],
    pm25: str | os.PathLike[str],
    zones: Sequence[Zones] = (),
    *,
    thresholds: Mapping[str, float] = WHO_PM25,
    block_size: int = 1024,
) -> pd.DataFrame:
    """Population-weighted mean PM2.5 per zone and the share of people above each threshold.

    People in cells without PM2.5 data are left out of both (``population_with_data``).
    Columns: zones, zone, population, population_with_data, pm25_pop_mean, pm25_area_mean,
    and ``share_above_<name>`` per threshold (``>`` the value, µg/m³).
    """
    src = _Aligner(pm25, param="air")
    parts = []
    try:
        for block, b in _blocks(population, block_size):
            v = src.read(b["transform"], b["crs"], b["pop"].shape)
            ok = np.isfinite(v)
            pop = b["pop"]
            cols = {
                "population": pop,
                "population_with_data": np.where(ok, pop, 0.0),
                "_pv": np.where(ok, pop * np.nan_to_num(v), 0.0),
                "_a": np.where(ok, b["area"], 0.0),
                "_av": np.where(ok, b["area"] * np.nan_to_num(v), 0.0),
            }
            for name, t in thresholds.items():
                cols[f"above_{name}"] = np.where(ok & (np.nan_to_num(v) > t), pop, 0.0)
            for zs in _zone_sets(zones):
                parts.append(_group(zs, block, b, cols))
    finally:
        src.close()
    df = _finish(parts, zones, _crs(population))
    with np.errstate(invalid="ignore", divide="ignore"):
        n = df["population_with_data"].where(df["population_with_data"] > 0)
        df["pm25_pop_mean"] = df.pop("_pv") / n
        df["pm25_area_mean"] = df.pop("_av") / df.pop("_a").where(lambda a: a > 0)
        for name in thresholds:
            df[f"share_above_{name}"] = df.pop(f"above_{name}") / n
    return df


_DATE = re.compile(r"(?<!\d)(\d{4})(?:[-_.]?(\d{2}))?(?:[-_.]?(\d{2}))?(?!\d)")


def date_from_name(path: str | os.PathLike[str]) -> pd.Timestamp:
    """The date in a file name: ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY-MM``, ``YYYYMM`` or ``YYYY``.

    >>> str(date_from_name("chirps_2015-07.tif").date()), str(date_from_name("t2m_1999.tif").date())
    ('2015-07-01', '1999-01-01')
    """
    name = Path(path).stem
    for m in _DATE.finditer(name):
        y, mo, d = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        if 1800 <= y <= 2300 and 1 <= mo <= 12 and 1 <= d <= 31:
            return pd.Timestamp(year=y, month=mo, day=d)
    raise InvalidInputError(
        "has no date (YYYY, YYYY-MM or YYYY-MM-DD) in its name", path=os.fspath(path), param="climate"
    )


def climate_series(
    inputs: Mapping[str, Sequence[str | os.PathLike[str]]] | None = None, *, index: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """A table ``variable, date, path`` from ``{variable: [paths or globs]}`` (dates from the file
    names) and/or an index CSV with columns ``variable``, ``date``, ``path`` (paths relative to it)."""
    import glob

    rows = []
    for var, items in (inputs or {}).items():
        for item in items:
            paths = sorted(glob.glob(os.fspath(item))) if any(ch in os.fspath(item) for ch in "*?[") else [item]
            if not paths:
                raise InvalidInputError(f"no file matches {os.fspath(item)!r}", param="climate")
            rows += [{"variable": var, "date": date_from_name(p), "path": Path(p)} for p in paths]
    if index is not None:
        table = pd.read_csv(index)
        missing = {"variable", "date", "path"} - set(table.columns)
        if missing:
            raise InvalidInputError(f"lacks columns {sorted(missing)}", path=os.fspath(index), param="climate_index")
        base = Path(index).parent
        for r in table.itertuples():
            p = Path(str(r.path))
            rows.append(
                {"variable": str(r.variable), "date": pd.Timestamp(r.date), "path": p if p.is_absolute() else base / p}
            )
    if not rows:
        raise InvalidInputError("give climate rasters (NAME=RASTER...) or an index CSV", param="climate")
    return pd.DataFrame(rows).sort_values(["variable", "date"], ignore_index=True)


@_in_raster_env
def climate_variation(
    population: str | os.PathLike[str],
    series: pd.DataFrame,
    zones: Sequence[Zones] = (),
    *,
    baseline: tuple[Any, Any] | None = None,
    block_size: int = 1024,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per zone and variable: the population- and area-weighted zone mean of every date, then
    mean, standard deviation (ddof 1), coefficient of variation, linear trend per decade with
    its two-sided p-value (``scipy.stats.linregress`` on decimal years), and anomalies against
    the mean of the ``baseline`` period (inclusive dates; default: the whole series).

    Returns ``(summary, series)``: ``summary`` has one row per zone set, zone, variable and
    weighting (``population`` / ``area``); ``series`` one row per zone, variable, weighting
    and date with ``value`` and ``anomaly``.
    """
    crs = _crs(population)
    values = []
    for r in series.itertuples():
        src = _Aligner(r.path, param="climate")
        parts = []
        try:
            for block, b in _blocks(population, block_size):
                v = src.read(b["transform"], b["crs"], b["pop"].shape)
                ok = np.isfinite(v)
                v0 = np.nan_to_num(v)
                cols = {
                    "_wp": np.where(ok, b["pop"], 0.0),
                    "_wpv": np.where(ok, b["pop"] * v0, 0.0),
                    "_wa": np.where(ok, b["area"], 0.0),
                    "_wav": np.where(ok, b["area"] * v0, 0.0),
                }
                for zs in _zone_sets(zones):
                    parts.append(_group(zs, block, b, cols))
        finally:
            src.close()
        df = _finish(parts, zones, crs)
        with np.errstate(invalid="ignore", divide="ignore"):
            for weight, w, wv in (("population", "_wp", "_wpv"), ("area", "_wa", "_wav")):
                part = df[["zones", "zone"]].copy()
                part["variable"], part["weight"], part["date"] = r.variable, weight, r.date
                part["value"] = df[wv] / df[w].where(df[w] > 0)
                values.append(part)
    long = pd.concat(values, ignore_index=True)
    return _climate_summary(long, baseline)


def _decimal_year(dates: pd.Series) -> np.ndarray:
    d = pd.to_datetime(dates)
    start = pd.to_datetime(d.dt.year.astype(str) + "-01-01")
    length = np.where(d.dt.is_leap_year, 366.0, 365.0)
    return (d.dt.year + (d - start).dt.total_seconds() / 86400.0 / length).to_numpy(dtype=np.float64)


def _climate_summary(long: pd.DataFrame, baseline: tuple[Any, Any] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    from scipy import stats

    keys = ["zones", "zone", "variable", "weight"]
    rows = []
    series = []
    for key, g in long.groupby(keys, sort=False):
        g = g.sort_values("date").dropna(subset=["value"])
        v = g["value"].to_numpy(dtype=np.float64)
        t = _decimal_year(g["date"])
        if baseline is not None:
            lo, hi = pd.Timestamp(baseline[0]), pd.Timestamp(baseline[1])
            base = v[(g["date"] >= lo).to_numpy() & (g["date"] <= hi).to_numpy()]
        else:
            base = v
        ref = float(base.mean()) if base.size else np.nan
        rec = dict(zip(keys, key))
        mean = float(v.mean()) if v.size else np.nan
        std = float(v.std(ddof=1)) if v.size > 1 else np.nan
        rec.update(n=int(v.size), mean=mean, std=std, cv=std / mean if mean else np.nan, baseline_mean=ref)
        if v.size > 2 and np.ptp(t) > 0:
            fit = stats.linregress(t, v)
            rec.update(trend_per_decade=float(fit.slope) * 10.0, trend_p_value=float(fit.pvalue))
        else:
            rec.update(trend_per_decade=np.nan, trend_p_value=np.nan)
        rows.append(rec)
        s = g[[*keys, "date", "value"]].copy()
        s["anomaly"] = s["value"] - ref
        series.append(s)
    summary = pd.DataFrame(rows)
    return summary, pd.concat(series, ignore_index=True) if series else pd.DataFrame()
