"""File tools: paths in, GeoTIFFs out, streamed block by block (what ``eokit algo`` calls).

Each tool reads aligned rasters window by window through
:func:`eokit.io.process_raster_blocks` (halo-padded where the operation needs
neighbours), so memory is bounded by the block size, and writes atomically.
Input nodata becomes NaN on the way in; float outputs carry NaN as nodata.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eokit.algorithms import brdf, distance, indices, landsat, solar
from eokit.algorithms._common import geometry_inside, row_metrics, to_raster_crs
from eokit.algorithms._kernels import capped_distance
from eokit.algorithms.pansharpen import kernel_size
from eokit.algorithms.pansharpen import pansharpen as run_pansharpen
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError
from eokit.io import open_raster, process_raster_blocks

__all__ = [
    "distance_to_mask_file",
    "medoid_file",
    "harmonize_file",
    "index_file",
    "mask_cover_file",
    "nbar_file",
    "pansharpen_file",
    "qa_mask_file",
    "rescale_file",
    "resolve_bands",
    "scale_collection2_file",
    "scl_mask_file",
    "unmask_slc_off_file",
]

log = logging.getLogger(__name__)
PathLike = str | os.PathLike[str]
Progress = Callable[[int], Any] | None


def _profile(path: PathLike) -> dict[str, Any]:
    with open_raster(path) as ds:
        prof = dict(ds.profile)
        prof["descriptions"] = list(ds.descriptions)
        prof["bounds"] = ds.bounds
        return prof


def _to_float(a: np.ndarray, nodata: float | None) -> np.ndarray:
    x = a.astype(np.float32)
    if nodata is not None and not np.isnan(nodata):
        x[a == nodata] = np.nan
    return x


def _mask_from(a: np.ndarray, how: str, nodata: float | None) -> np.ndarray:
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


# ---------------------------------------------------------------- distances and cover
def _distance_block(
    a: np.ndarray, *, block: Block, how: str, nodata: float | None, y: np.ndarray, dx: np.ndarray,
    radius: float, normalize: bool, geom: Any, transform: Any,
) -> np.ndarray:  # fmt: skip
    m = _mask_from(a[0], how, nodata)
    rows = block.read[0]
    inside = None
    if geom is not None:
        inside = geometry_inside(geom, transform, m.shape, row=block.read_row, col=block.read_col)
        m &= inside
    d = capped_distance(m, y[rows], dx[rows], radius)
    if normalize:
        d /= np.float32(radius)
    if inside is not None:
        d[~inside] = np.nan
    return d


def distance_to_mask_file(
    source: PathLike,
    target: PathLike,
    *,
    radius: float,
    band: int = 1,
    mask_from: str = "nonzero",
    normalize: bool = False,
    geometry: Any = None,
    geometry_crs: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write :func:`~eokit.algorithms.distance.distance_to_mask` of one band of ``source``.

    ``mask_from``: ``nonzero`` (default: non-zero pixels are masked, e.g. a cloud
    mask), ``zero`` or ``nodata`` (the band's nodata/NaN pixels are masked).
    """
    prof = _profile(source)
    if not radius > 0:
        raise InvalidInputError(f"radius must be > 0 metres, got {radius!r}")
    y, dx = row_metrics(prof["transform"], prof["crs"], prof["height"])
    halo = distance.distance_halo(prof["transform"], prof["crs"], prof["height"], radius)
    geom = None
    if geometry is not None:
        geom = to_raster_crs(geometry, geometry_crs if geometry_crs is not None else prof["crs"], prof["crs"])
    func = functools.partial(
        _distance_block, how=mask_from, nodata=prof["nodata"], y=y, dx=dx, radius=float(radius),
        normalize=normalize, geom=geom, transform=prof["transform"],
    )  # fmt: skip
    return process_raster_blocks(
        source, target, func, count=1, dtype="float32", nodata=float("nan"), halo=max(halo), bands=[band],
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def mask_cover_file(
    source: PathLike,
    *,
    band: int = 1,
    mask_from: str = "nodata",
    geometry: Any = None,
    geometry_crs: Any = None,
    all_touched: bool = False,
    block_size: int = 1024,
) -> float:
    """Percentage of masked pixels of ``source`` inside ``geometry``, read block by block."""
    from rasterio.windows import Window

    from eokit.core.blocks import iter_blocks

    masked = total = 0
    with open_raster(source) as ds:
        geom = None
        if geometry is not None:
            geom = to_raster_crs(geometry, geometry_crs if geometry_crs is not None else ds.crs, ds.crs)
        for b in iter_blocks((ds.height, ds.width), block_size):
            a = ds.read(band, window=Window.from_slices(*b.core))
            m = _mask_from(a, mask_from, ds.nodata)
            if geom is not None:
                inside = geometry_inside(geom, ds.transform, a.shape, row=b.row, col=b.col, all_touched=all_touched)
                total += int(inside.sum())
                masked += int((m & inside).sum())
            else:
                total += m.size
                masked += int(m.sum())
    if total == 0:
        raise InvalidInputError("geometry covers no pixel centre of the raster (check its CRS)", path=os.fspath(source))
    return 100.0 * masked / total


# ---------------------------------------------------------------- band resolution
def resolve_bands(sources: Sequence[PathLike], refs: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Map each role (``red``...) to ``(source index, 1-based band)`` from a band reference.

    A reference matches, in order: a band description (case-insensitive), a file
    whose name carries it as a token (``..._B4.TIF``, ``..._SR_B4.tif``), or a
    1-based band number when a single file is given. Ambiguous or missing
    references raise :class:`InvalidInputError` naming the band.
    """
    profs = [_profile(s) for s in sources]
    out: dict[str, tuple[int, int]] = {}
    aliases = {v: k for k, v in indices.COMMON_NAMES.items()}
    for key, ref in refs.items():
        role = f"{aliases[key]} ({key})" if key in aliases else key
        ref_s = str(ref)
        hits = [
            (i, j + 1)
            for i, p in enumerate(profs)
            for j, d in enumerate(p["descriptions"])
            if d and d.lower() == ref_s.lower()
        ]
        if not hits:
            token = re.compile(rf"(^|[_\-.]){re.escape(ref_s)}([_\-.]|$)", re.IGNORECASE)
            hits = [(i, 1) for i, s in enumerate(sources) if token.search(Path(s).name) and profs[i]["count"] == 1]
        if not hits and ref_s.isdigit() and len(sources) == 1:
            n = int(ref_s)
            if not 1 <= n <= profs[0]["count"]:
                raise InvalidInputError(
                    f"{role}: band {n} out of range 1..{profs[0]['count']}", path=os.fspath(sources[0])
                )
            hits = [(0, n)]
        if not hits:
            raise InvalidInputError(
                f"{role}: no band matches {ref_s!r} (by description, file name token, or 1-based number)"
            )
        if len(set(hits)) > 1:
            raise InvalidInputError(f"{role}: band reference {ref_s!r} is ambiguous ({len(hits)} matches)")
        out[key] = hits[0]
    return out


def _bands_func(
    *arrays: np.ndarray, block: Block, where: dict[str, tuple[int, int]], nodatas: list[float | None],
    scale: float, offset: float, op: Callable[[dict[str, np.ndarray]], np.ndarray],
) -> np.ndarray:  # fmt: skip
    env = {}
    for role, (i, b) in where.items():
        x = _to_float(arrays[i][b - 1], nodatas[i])
        if scale != 1.0 or offset != 0.0:
            x = x * np.float32(scale) + np.float32(offset)
        env[role] = x
    return op(env)


def _index_op(env: dict[str, np.ndarray], *, name: str, params: Mapping[str, float] | None) -> np.ndarray:
    return np.asarray(indices.spectral_index(name, env, params=params), dtype=np.float32)


def _stream_bands(
    sources: Sequence[PathLike], target: PathLike, refs: Mapping[str, str], op: Callable[..., np.ndarray], *,
    count: int, scale: float = 1.0, offset: float = 0.0, scheduler: str | None = None,
    workers: int | None = None, progress: Progress = None, halo: int = 0, dtype: str = "float32",
    nodata: float | None = float("nan"),
) -> Path:  # fmt: skip
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise InvalidInputError("no input rasters given")
    where = resolve_bands(sources, refs)
    nodatas = [_profile(s)["nodata"] for s in sources]
    func = functools.partial(_bands_func, where=where, nodatas=nodatas, scale=scale, offset=offset, op=op)
    return process_raster_blocks(
        sources, target, func, count=count, dtype=dtype, nodata=nodata, halo=halo,
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def index_file(
    sources: Sequence[PathLike],
    target: PathLike,
    name: str,
    bands: Mapping[str, str],
    *,
    params: Mapping[str, float] | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write one spectral index computed from bands of ``sources`` (float32, NaN nodata).

    ``bands`` maps catalogue short names or common names (``nir``, ``red``...) to
    band references (see :func:`resolve_bands`); ``scale``/``offset`` turn digital
    numbers into reflectance first (e.g. ``2.75e-5`` / ``-0.2`` for Collection 2).
    """
    info = indices.index_info(name)
    refs = {}
    for key, ref in bands.items():
        short = key if key in info["bands"] else indices.COMMON_NAMES.get(key.lower(), key)
        refs[short] = ref
    op = functools.partial(_index_op, name=info["short_name"], params=params)
    return _stream_bands(
        sources, target, refs, op, count=1, scale=scale, offset=offset,
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def _harmonize_op(env: dict[str, np.ndarray], *, order: list[str], **kw: Any) -> np.ndarray:
    res = landsat.harmonize(env, **kw)
    return np.stack([res[k] for k in order])


def harmonize_file(
    sources: Sequence[PathLike],
    target: PathLike,
    bands: Mapping[str, str],
    *,
    direction: str = "l8_to_l7",
    method: str = "rma",
    scale: float = 1.0,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write harmonised bands (one layer per entry of ``bands``, in order; float32, NaN nodata)."""
    order = list(bands)
    op = functools.partial(_harmonize_op, order=order, direction=direction, method=method, scale=scale)
    return _stream_bands(
        sources, target, bands, op, count=len(order), scheduler=scheduler, workers=workers, progress=progress
    )


# ---------------------------------------------------------------- per-band unary tools
def _unary(
    a: np.ndarray, *, block: Block, fn: Callable[[np.ndarray], np.ndarray], nodata: float | None, to_float: bool
) -> np.ndarray:
    x = _to_float(a, nodata) if to_float else a
    return fn(x)


def _run_unary(
    source: PathLike, target: PathLike, fn: Callable[[np.ndarray], np.ndarray], *, dtype: str,
    nodata: float | None, count: int | None = None, to_float: bool = True, bands: Sequence[int] | None = None,
    scheduler: str | None = None, workers: int | None = None, progress: Progress = None,
) -> Path:  # fmt: skip
    prof = _profile(source)
    func = functools.partial(_unary, fn=fn, nodata=prof["nodata"], to_float=to_float)
    return process_raster_blocks(
        source, target, func, count=count or (len(bands) if bands else prof["count"]), dtype=dtype,
        nodata=nodata, bands=bands, scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def rescale_file(
    source: PathLike, target: PathLike, *, source_level: str, target_level: str, kind: str = "optical",
    max_raw: int = 255, thermal_range: tuple[float, float] | None = None, **kw: Any,
) -> Path:  # fmt: skip
    """Write :func:`~eokit.algorithms.landsat.rescale` of every band of ``source`` (float32)."""
    landsat.rescale(np.zeros(1), source=source_level, target=target_level, kind=kind, thermal_range=thermal_range)
    fn = functools.partial(
        landsat.rescale, source=source_level, target=target_level, kind=kind, max_raw=max_raw,
        thermal_range=thermal_range,
    )  # fmt: skip
    return _run_unary(source, target, fn, dtype="float32", nodata=float("nan"), **kw)


def _c2(x: np.ndarray, *, mult: float, add: float) -> np.ndarray:
    return (x * np.float32(mult) + np.float32(add)).astype(np.float32)


def scale_collection2_file(
    source: PathLike, target: PathLike, *, kind: str = "sr", mtl: PathLike | None = None, band: str | None = None,
    nodata: float | None = 0, **kw: Any,
) -> Path:  # fmt: skip
    """Write Collection 2 physical values (reflectance or kelvin, float32, NaN nodata).

    Scale factors come from ``mtl`` (with ``band``, e.g. ``SR_B4``; guessed from the
    file name when omitted) or the published defaults for ``kind``.
    """
    mult, add = landsat.C2_SR if kind.lower() == "sr" else landsat.C2_ST
    if kind.lower() not in {"sr", "st"}:
        raise InvalidInputError(f"kind must be 'sr' or 'st', got {kind!r}")
    if mtl is not None:
        from eokit.algorithms.metadata import read_mtl, scale_factors

        factors = scale_factors(read_mtl(mtl))
        if band is None:
            m = re.search(r"(SR_B\d+|ST_B\d+)", Path(source).name, re.IGNORECASE)
            band = m.group(1).upper() if m else None
        if band is None or band.upper() not in factors:
            raise InvalidInputError(
                f"band {band!r} not in the MTL's scale factors {sorted(factors)}", path=os.fspath(mtl)
            )
        mult, add = factors[band.upper()]
    prof = _profile(source)
    nd = prof["nodata"] if prof["nodata"] is not None else nodata
    func = functools.partial(_unary, fn=functools.partial(_c2, mult=mult, add=add), nodata=nd, to_float=True)
    return process_raster_blocks(source, target, func, dtype="float32", nodata=float("nan"), **kw)


def _qa(a: np.ndarray, **flags: Any) -> np.ndarray:
    return landsat.qa_pixel_mask(a, **flags).astype(np.uint8)


def qa_mask_file(source: PathLike, target: PathLike, *, flags: Mapping[str, Any] | None = None, **kw: Any) -> Path:
    """Write a uint8 mask (1 = masked) from a ``QA_PIXEL`` band; ``flags`` as :func:`qa_pixel_mask`."""
    fn = functools.partial(_qa, **dict(flags or {}))
    landsat.qa_pixel_mask(np.zeros(1, np.uint16), **dict(flags or {}))
    return _run_unary(source, target, fn, dtype="uint8", nodata=None, to_float=False, bands=[1], **kw)


def _scl(a: np.ndarray, *, classes: Sequence[str | int]) -> np.ndarray:
    return landsat.scl_mask(a, classes=classes).astype(np.uint8)


def scl_mask_file(
    source: PathLike, target: PathLike, *, classes: Sequence[str | int] = landsat.SCL_DEFAULT, **kw: Any
) -> Path:
    """Write a uint8 mask (1 = masked) of Sentinel-2 SCL classes."""
    landsat.scl_mask(np.zeros(1, np.uint8), classes=classes)
    fn = functools.partial(_scl, classes=list(classes))
    return _run_unary(source, target, fn, dtype="uint8", nodata=None, to_float=False, bands=[1], **kw)


def _slc(a: np.ndarray, *, block: Block, date: Any, nodata: float | None) -> np.ndarray:
    data, _valid = landsat.unmask_slc_off(a, date=date, nodata=nodata)
    return data


def unmask_slc_off_file(source: PathLike, target: PathLike, *, date: Any, **kw: Any) -> Path:
    """Write ``source`` with Landsat 7 SLC-off stripes (all bands empty) as valid zeros.

    The output keeps the input dtype; its nodata tag is removed when it was 0
    (the stripes are valid zeros now).
    """
    prof = _profile(source)
    landsat.check_acquisition("landsat7", date)
    nd = prof["nodata"]
    out_nd = None if (nd is None or nd == 0) else nd
    func = functools.partial(_slc, date=date, nodata=nd)
    return process_raster_blocks(source, target, func, dtype=prof["dtype"], nodata=out_nd, **kw)


# ---------------------------------------------------------------- BRDF
def _nbar_block(
    *arrays: np.ndarray, block: Block, names: list[str], nodata: float | None, sensor: str, angle_scale: float,
    transform: Any, crs: Any, time: Any, ang: Any, sun_zenith_out: Any,
) -> np.ndarray:  # fmt: skip
    refl = arrays[0]
    bands = {n: _to_float(refl[i], nodata) for i, n in enumerate(names)}
    extra = [a[0].astype(np.float64) / angle_scale for a in arrays[1:]]
    shape = refl.shape[1:]
    lon = lat = None
    if len(extra) == 4:
        sz, sa, vz, va = extra
    else:
        lon, lat = solar.pixel_lonlat(transform, crs, shape, row=block.read_row, col=block.read_col)
        if ang is not None:
            geo = solar.landsat_geometry(ang, lon, lat)
            sz, sa = solar.solar_position(geo["time"], lat, lon)
            vz, va = geo["view_zenith"], geo["view_azimuth"]
        else:
            sz, sa = solar.solar_position(time, lat, lon)
            vz, va = np.zeros(shape), np.zeros(shape)
    szo = sun_zenith_out
    if isinstance(szo, str) and szo == "latitude":
        if lat is None:
            lon, lat = solar.pixel_lonlat(transform, crs, shape, row=block.read_row, col=block.read_col)
        szo = brdf.normalization_sun_zenith(lat)
    res = brdf.nbar(bands, sun_zenith=sz, view_zenith=vz, sun_azimuth=sa, view_azimuth=va,
                    sun_zenith_out=szo, sensor=sensor)  # fmt: skip
    return np.stack([res[n] for n in names])


def nbar_file(
    source: PathLike,
    target: PathLike,
    *,
    band_names: Sequence[str],
    sensor: str = "landsat",
    angles: Sequence[PathLike] | None = None,
    angle_scale: float = 100.0,
    ang: PathLike | None = None,
    time: Any = None,
    sun_zenith_out: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write NBAR (c-factor corrected) reflectance for a multi-band ``source``.

    ``band_names`` names each layer (``blue green red nir swir1 swir2``...). Angles,
    in order of preference: ``angles`` = four rasters on the same grid (sun zenith,
    sun azimuth, view zenith, view azimuth; values / ``angle_scale``, e.g. Landsat's
    hundredths of a degree); ``ang`` = a Landsat ``*_ANG.txt`` (per-pixel imaging
    time and view angles from the ephemeris); or ``time`` (acquisition time, sun
    from the solar-position algorithm, nadir view assumed). ``sun_zenith_out``:
    ``None`` (observed), a number, or ``"latitude"`` (Zhang et al. 2016 polynomial).
    """
    prof = _profile(source)
    names = list(band_names)
    if len(names) != prof["count"]:
        raise InvalidInputError(f"{len(names)} band names given for {prof['count']} bands", path=os.fspath(source))
    for n in names:
        brdf._coefficients(n, sensor)
    srcs = [os.fspath(source)]
    if angles:
        if len(angles) != 4:
            raise InvalidInputError("angles needs 4 rasters: sun zenith, sun azimuth, view zenith, view azimuth")
        srcs += [os.fspath(a) for a in angles]
    elif ang is None and time is None:
        raise InvalidInputError("give angle rasters, a Landsat ANG file, or the acquisition time")
    if not angles and prof["crs"] is None:
        raise InvalidInputError("source has no CRS; cannot locate pixels for sun angles", path=os.fspath(source))
    ang_tree = None
    if ang is not None and not angles:
        from eokit.algorithms.metadata import read_ang

        ang_tree = read_ang(ang)
    func = functools.partial(
        _nbar_block, names=names, nodata=prof["nodata"], sensor=sensor, angle_scale=angle_scale,
        transform=prof["transform"], crs=prof["crs"], time=time, ang=ang_tree, sun_zenith_out=sun_zenith_out,
    )  # fmt: skip
    return process_raster_blocks(
        srcs, target, func, count=len(names), dtype="float32", nodata=float("nan"),
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


# ---------------------------------------------------------------- pansharpening
def pansharpen_file(
    ms: PathLike,
    pan: PathLike,
    target: PathLike,
    *,
    method: str = "kernel",
    bands: Sequence[int] | None = None,
    window_m: float = 90.0,
    resampling: str = "bilinear",
    block_size: int = 1024,
) -> Path:
    """Pansharpen ``ms`` onto the grid of ``pan`` and write float32 bands (NaN nodata).

    The multispectral bands (``bands``, 1-based; default all, 3 for ``hsv``) are
    resampled onto the pan grid with rasterio (``resampling``) block by block, with
    a halo for the kernel method's window.
    """
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window

    from eokit.core.blocks import iter_blocks
    from eokit.io import RasterWriter

    try:
        rs = Resampling[resampling]
    except KeyError:
        raise InvalidInputError(f"unknown resampling {resampling!r}") from None
    with open_raster(pan) as pds, open_raster(ms) as mds:
        if pds.crs is None or mds.crs is None:
            raise InvalidInputError("pan and ms rasters need a CRS to be aligned", path=os.fspath(pan))
        sel = list(bands) if bands else list(range(1, mds.count + 1))
        if any(not 1 <= b <= mds.count for b in sel):
            raise InvalidInputError(f"bands {sel} out of range 1..{mds.count}", path=os.fspath(ms))
        px = abs(pds.transform.a) if pds.crs.is_projected else None
        if method == "kernel" and px is None:
            from eokit.core.crs import pixel_sizes_m

            px = float(np.mean(pixel_sizes_m(pds.transform, pds.crs, pds.height)[0]))
        k = kernel_size(px, window_m) if method == "kernel" else 1
        halo = k // 2
        profile = dict(pds.profile, count=len(sel), dtype="float32", nodata=float("nan"))
        with WarpedVRT(mds, crs=pds.crs, transform=pds.transform, width=pds.width, height=pds.height,
                       resampling=rs, src_nodata=mds.nodata, nodata=np.nan, dtype="float32") as vrt, \
                RasterWriter(target, profile) as writer:  # fmt: skip
            for b in iter_blocks((pds.height, pds.width), block_size, halo=halo):
                win = Window.from_slices(*b.read)
                p = _to_float(pds.read(1, window=win), pds.nodata)
                m = vrt.read(sel, window=win)
                out = run_pansharpen(m, p, method=method, pixel_size=px, window_m=window_m) \
                    if method == "kernel" else run_pansharpen(m, p, method=method)  # fmt: skip
                r, c = b.inner
                writer.write(np.ascontiguousarray(out[:, r, c]), window=b.window())
    return Path(target)


def load_geometry(value: str) -> tuple[Any, Any]:
    """``(geometry, crs)`` from a vector file path (union of its features), GeoJSON text or WKT (crs None)."""
    import json

    import shapely
    from shapely.geometry import shape

    if os.path.exists(value):
        from eokit.io import read_vector

        gdf = read_vector(value)
        if len(gdf) == 0:
            raise InvalidInputError("vector file has no features", path=value)
        return shapely.union_all(gdf.geometry.values), gdf.crs
    text = value.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"geometry is not valid GeoJSON: {exc}") from None
        if obj.get("type") == "FeatureCollection":
            return shapely.union_all([shape(f["geometry"]) for f in obj["features"]]), "EPSG:4326"
        return shape(obj.get("geometry", obj)), "EPSG:4326"
    try:
        return shapely.from_wkt(text), None
    except shapely.errors.GEOSException:
        raise InvalidInputError(f"geometry {value[:40]!r} is neither a file, GeoJSON nor WKT") from None


def index_band_refs(
    name: str, roles: Mapping[str, str], extra: Mapping[str, str], sensor: str | None
) -> dict[str, str]:
    """Band references for an index: explicit roles/extras, else the ``sensor``'s band names."""
    info = indices.index_info(name)
    refs: dict[str, str] = {}
    if sensor:
        mapping = indices.band_mapping(sensor)
        inverse = {v: k for k, v in indices.COMMON_NAMES.items()}
        for short in info["bands"]:
            common = inverse.get(short)
            if common in mapping:
                refs[short] = mapping[common]
    for role, ref in roles.items():
        refs[indices.COMMON_NAMES.get(role, role)] = ref
    refs.update(extra)
    return refs


def _medoid_block(
    *arrays: np.ndarray, block: Block, nodatas: list[float | None], bands: list[int] | None
) -> np.ndarray:
    images = [_to_float(a, nd) for a, nd in zip(arrays, nodatas)]
    return distance.medoid(images, bands=bands).astype(np.float32)


def medoid_file(
    sources: Sequence[PathLike],
    target: PathLike,
    *,
    bands: Sequence[int] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write the per-pixel medoid of aligned multi-band rasters (all bands of the winner; float32, NaN nodata).

    ``bands`` (0-based) selects the bands the distances use; every band is written.
    """
    sources = [os.fspath(s) for s in sources]
    if len(sources) < 2:
        raise InvalidInputError("the medoid needs at least 2 rasters")
    profs = [_profile(s) for s in sources]
    counts = {p["count"] for p in profs}
    if len(counts) != 1:
        raise InvalidInputError(f"rasters have different band counts: {sorted(counts)}")
    func = functools.partial(_medoid_block, nodatas=[p["nodata"] for p in profs], bands=list(bands) if bands else None)
    return process_raster_blocks(
        sources, target, func, count=profs[0]["count"], dtype="float32", nodata=float("nan"),
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip
