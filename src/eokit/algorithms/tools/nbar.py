"""BRDF file tool: NBAR reflectance with angles from rasters, a Landsat ANG file, or the scene geometry."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eokit.algorithms import brdf, orbit, solar
from eokit.algorithms.products import Band
from eokit.algorithms.tools._common import PathLike, Progress, product_workdir, profile, run_blocks
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError

__all__ = ["nbar_file"]

log = logging.getLogger(__name__)


def _nbar_block(
    *arrays: np.ndarray, block: Block, names: list[str], layers: list[tuple[int, Band]], n_refl: int, sensor: str,
    angle_scale: float, transform: Any, crs: Any, time: Any, ang: Any, sun_zenith_out: Any,
    nadir: tuple[float, float] | None,
) -> np.ndarray:  # fmt: skip
    bands = {n: band.physical(arrays[i][band.index - 1]) for n, (i, band) in zip(names, layers, strict=True)}
    # float32 angles all the way: reflectance is float32, and the float32 c-factor kernel agrees with
    # the float64 one to < 6e-7 (relative), far below a float32 reflectance's resolution
    extra = [a[0].astype(np.float32) / np.float32(angle_scale) for a in arrays[n_refl:]]
    shape = (int(arrays[0].shape[1]), int(arrays[0].shape[2]))
    lon = lat = None
    if len(extra) == 2 + 2 * len(names) and len(names) > 1:  # per-band view angles (Sentinel-2 MTD_TL.xml)
        sz, sa = extra[:2]
        _check_sun(sz, bands, block)
        out = []
        for k, n in enumerate(names):
            vz, va = extra[2 + 2 * k], extra[3 + 2 * k]
            res = brdf.nbar({n: bands[n]}, sun_zenith=sz, view_zenith=vz, sun_azimuth=sa, view_azimuth=va,
                            sun_zenith_out=_szo(sun_zenith_out, transform, crs, shape, block), sensor=sensor)  # fmt: skip
            out.append(res[n])
        return np.stack(out)
    if len(extra) == 4:
        sz, sa, vz, va = extra
    else:
        lon, lat = solar.pixel_lonlat(transform, crs, shape, row=block.read_row, col=block.read_col)
        if ang is not None:
            geo = solar.landsat_geometry(ang, lon, lat)
            sz, sa = solar.solar_position(geo["time"], lat, lon)
            vz, va = geo["view_zenith"], geo["view_azimuth"]
        else:
            sz, sa = extra if len(extra) == 2 else solar.solar_position(time, lat, lon)
            if nadir is None:  # pragma: no cover - _run_nbar sets it whenever no ANG or view rasters are given
                raise InvalidInputError("no nadir track for the scene geometry", param="nadir")
            vz, va = orbit.scene_view_angles(lon, lat, nadir_lonlat=nadir, sensor=sensor)
    sz, sa, vz, va = (np.asarray(x, dtype=np.float32) for x in (sz, sa, vz, va))
    _check_sun(sz, bands, block)
    res = brdf.nbar(bands, sun_zenith=sz, view_zenith=vz, sun_azimuth=sa, view_azimuth=va,
                    sun_zenith_out=_szo(sun_zenith_out, transform, crs, shape, block), sensor=sensor)  # fmt: skip
    return np.stack([res[n] for n in names])


def _szo(szo: Any, transform: Any, crs: Any, shape: tuple[int, int], block: Block) -> Any:
    if isinstance(szo, str) and szo == "latitude":
        _, lat = solar.pixel_lonlat(transform, crs, shape, row=block.read_row, col=block.read_col)
        return np.asarray(brdf.normalization_sun_zenith(lat), dtype=np.float32)
    return szo


def _check_sun(sz: Any, bands: dict[str, np.ndarray], block: Block) -> None:
    valid = np.isfinite(np.asarray(sz)) & np.any([np.isfinite(b) for b in bands.values()], axis=0)
    if np.any(np.asarray(sz)[valid] >= 90.0):
        raise InvalidInputError(
            f"the sun is below the horizon (zenith up to {float(np.max(np.asarray(sz)[valid])):.1f} deg) in "
            f"rows {block.row}..{block.row + block.height}: check the acquisition time", param="time",
        )  # fmt: skip


def check_time(time: Any) -> Any:
    """``time`` as an aware UTC datetime; a date without a time of day is refused (the sun moves)."""
    import datetime as dt

    if isinstance(time, dt.datetime):
        return time if time.tzinfo else time.replace(tzinfo=dt.UTC)
    if isinstance(time, dt.date) or (isinstance(time, str) and "T" not in time.upper() and " " not in time.strip()):
        raise InvalidInputError(
            f"{time!s} is a date without a time of day; the sun angles need the UTC acquisition time "
            "(e.g. 2011-03-06T13:36:10Z)", param="time",
        )  # fmt: skip
    try:
        stamp = dt.datetime.fromisoformat(str(time).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{time!r} is not an ISO 8601 time", param="time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _check_sun_up(time: Any, prof: dict[str, Any]) -> None:
    """Refuse early when the sun is below the horizon anywhere at the corners and centre of the raster."""
    h, w = prof["height"], prof["width"]
    rows = np.array([0, 0, h - 1, h - 1, h // 2], dtype=float)
    cols = np.array([0, w - 1, 0, w - 1, w // 2], dtype=float)
    xs, ys = prof["transform"] @ (cols + 0.5, rows + 0.5)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(prof["crs"], "EPSG:4326", always_xy=True).transform(xs, ys)
    sz, _ = solar.solar_position(time, np.asarray(lat), np.asarray(lon))
    if np.nanmax(sz) >= 90.0:
        raise InvalidInputError(
            f"at {time.isoformat()} the sun is {float(np.nanmax(sz)):.1f} deg from zenith (below the horizon) "
            "over the raster: check the acquisition time (UTC)", param="time",
        )  # fmt: skip


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
    nadir_lonlat: tuple[float, float] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write NBAR (c-factor corrected) reflectance for a multi-band ``source``.

    ``band_names`` names each layer (``blue green red nir swir1 swir2``...). Angles,
    in order of preference: ``angles`` = four rasters on the same grid (sun zenith,
    sun azimuth, view zenith, view azimuth; values / ``angle_scale``, e.g. Landsat's
    hundredths of a degree); ``ang`` = a Landsat ``*_ANG.txt`` (per-pixel imaging
    time and view angles from the ephemeris); ``angles`` = two rasters (sun zenith and
    azimuth) or ``time`` (acquisition time, UTC: sun from the solar-position
    algorithm), each with the view angles from the scene geometry
    (:func:`~eokit.algorithms.orbit.scene_view_angles`: the ``sensor``'s orbit, nadir
    track through ``nadir_lonlat``, default the raster's centre). ``sun_zenith_out``:
    ``None`` (observed), a number, or ``"latitude"`` (Zhang et al. 2016 polynomial).
    """
    from eokit.algorithms.products import is_product

    names = list(band_names)
    if is_product(source):
        return _product_nbar(os.fspath(source), target, names, angles=angles, angle_scale=angle_scale, time=time,
                             nadir_lonlat=nadir_lonlat,
                             sun_zenith_out=sun_zenith_out, scheduler=scheduler, workers=workers, progress=progress)  # fmt: skip
    prof = profile(source)
    if len(names) != prof["count"]:
        raise InvalidInputError(
            f"{len(names)} band names given for {prof['count']} bands of {os.fspath(source)}", param="bands"
        )
    for n in names:
        brdf._coefficients(n, sensor)
    layers = [(0, Band(n, os.fspath(source), nodata=prof["nodata"], index=k + 1)) for k, n in enumerate(names)]
    return _run_nbar([os.fspath(source)], target, names, layers, prof, sensor=sensor, angles=angles,
                     angle_scale=angle_scale, ang=ang, time=time, sun_zenith_out=sun_zenith_out,
                     nadir_lonlat=nadir_lonlat, scheduler=scheduler, workers=workers, progress=progress)  # fmt: skip


def _run_nbar(
    srcs: list[str], target: PathLike, names: list[str], layers: list[tuple[int, Band]], prof: dict[str, Any], *,
    sensor: str, angles: Sequence[PathLike] | None, angle_scale: float, ang: Any, time: Any, sun_zenith_out: Any,
    nadir_lonlat: tuple[float, float] | None, scheduler: str | None, workers: int | None, progress: Progress,
) -> Path:  # fmt: skip
    source = srcs[0]
    n_refl = len(srcs)
    srcs = list(srcs)
    if angles and len(angles) == 2 + 2 * len(names) and len(names) > 1:
        srcs += [os.fspath(a) for a in angles]
    elif angles:
        if len(angles) not in (2, 4):
            raise InvalidInputError(
                "angles needs 4 rasters (sun zenith, sun azimuth, view zenith, view azimuth) or 2 (sun zenith, azimuth)"
            )
        srcs += [os.fspath(a) for a in angles]
    elif ang is None and time is None:
        raise InvalidInputError("give angle rasters, a Landsat ANG file, or the acquisition time", param="time")
    if time is not None and not angles:
        time = check_time(time)
    n_angles = len(angles) if angles else 0
    if n_angles < 4 and prof["crs"] is None:
        raise InvalidInputError(
            "source has no CRS; cannot locate pixels for sun and view angles", path=os.fspath(source)
        )
    ang_tree = None
    if isinstance(ang, dict):
        ang_tree = ang
    elif ang is not None and not angles:
        from eokit.algorithms.metadata import read_ang

        ang_tree = read_ang(ang)
    if time is not None and n_angles == 0 and ang_tree is None:
        _check_sun_up(time, prof)
    nadir = None
    if n_angles < 4 and ang_tree is None:
        nadir = nadir_lonlat or orbit.scene_center_lonlat(
            prof["transform"], prof["crs"], (prof["height"], prof["width"])
        )
        orbit.track_heading(nadir[1], sensor=sensor)  # fail early outside the orbit's latitudes
        log.info("view angles from the %s scene geometry, nadir track through %s", sensor, nadir)
    func = functools.partial(
        _nbar_block, names=names, layers=layers, n_refl=n_refl, sensor=sensor, angle_scale=angle_scale,
        transform=prof["transform"], crs=prof["crs"], time=time, ang=ang_tree, sun_zenith_out=sun_zenith_out,
        nadir=nadir,
    )  # fmt: skip
    return run_blocks(
        srcs, target, func, count=len(names), dtype="float32", nodata=float("nan"),
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def _brdf_name(band: Band, mission: str) -> str:
    if mission == "sentinel2":
        return band.name
    from eokit.algorithms.indices import SENSOR_BANDS

    inverse = {v: k for k, v in SENSOR_BANDS.get(mission, {}).items()}
    return inverse.get(re.sub(r"^(SR_|ST_)", "", band.name), band.name)


def _product_nbar(
    source: str, target: PathLike, refs: list[str], *, angles: Sequence[PathLike] | None, angle_scale: float, time: Any,
    nadir_lonlat: tuple[float, float] | None, sun_zenith_out: Any, scheduler: str | None, workers: int | None,
    progress: Progress,
) -> Path:  # fmt: skip
    """NBAR of a product's bands: reflectance from its own factors, time and angles from its metadata."""
    from eokit.algorithms.products import open_product

    prod = open_product(source)
    with product_workdir(target) as tmp:
        return _product_nbar_in(prod, source, target, refs, tmp, angles=angles, angle_scale=angle_scale, time=time,
                                nadir_lonlat=nadir_lonlat, sun_zenith_out=sun_zenith_out, scheduler=scheduler,
                                workers=workers, progress=progress)  # fmt: skip


def _product_nbar_in(
    prod: Any, source: str, target: PathLike, refs: list[str], tmp: str, *, angles: Sequence[PathLike] | None,
    angle_scale: float, time: Any, nadir_lonlat: tuple[float, float] | None, sun_zenith_out: Any,
    scheduler: str | None, workers: int | None, progress: Progress,
) -> Path:  # fmt: skip
    chosen = prod.select({r: r for r in refs}, param="bands", workdir=tmp)
    for ref, b in chosen.items():
        if b.quantity not in {"reflectance", "toa_reflectance"}:
            raise InvalidInputError(f"{ref} ({b.name}) holds {b.quantity}, not reflectance", path=source, param="bands")
    sensor = "sentinel2" if prod.mission == "sentinel2" else "landsat"
    names = [_brdf_name(b, prod.mission) for b in chosen.values()]
    for n in names:
        brdf._coefficients(n, sensor)
    hrefs = list(dict.fromkeys(b.href for b in chosen.values()))
    layers = [(hrefs.index(b.href), b) for b in chosen.values()]
    prof = profile(hrefs[0])
    if time is None and not angles:
        if prod.time is None:
            raise InvalidInputError("the product names no acquisition time: give --time", path=source, param="time")
        time = prod.time
        log.info("acquisition time from the product metadata: %s", time.isoformat())
    tree = prod.metadata.get("tree")
    kw: dict[str, Any] = {"angles": angles, "angle_scale": angle_scale if angles else 1.0, "ang": None}
    tl = prod.metadata.get("tile_metadata")
    if not angles and tl and tree is not None:  # Sentinel-2: sun and per-band view angles from MTD_TL.xml
        from eokit.algorithms.sentinel2 import write_angle_rasters

        text = tree.read(tl)
        grids: list[str] = []
        for b in chosen.values():
            paths = write_angle_rasters(f"{source}/{tl}", b.name, hrefs[0], Path(tmp) / f"angles_{b.name}", text=text)
            grids += [str(p) for p in (paths[:2] if not grids else [])] + [str(p) for p in paths[2:]]
        kw["angles"] = grids
        time = None
    elif not angles and prod.metadata.get("ang") and tree is not None:  # Landsat ANG: per-pixel time + view
        from eokit.algorithms.metadata import parse_odl

        kw["ang"] = parse_odl(tree.read(prod.metadata["ang"]).decode("utf-8", "replace"), source=source)
    return _run_nbar(hrefs, target, names, layers, prof, sensor=sensor, time=time, sun_zenith_out=sun_zenith_out,
                     nadir_lonlat=nadir_lonlat, scheduler=scheduler, workers=workers, progress=progress, **kw)  # fmt: skip
