"""Sentinel-2 sun and view angle grids from the granule metadata (``MTD_TL.xml``).

The L1C/L2A tile metadata holds 5 km grids (usually 23 x 23 nodes) of sun zenith
and azimuth and, per band and detector, view (incidence) zenith and azimuth;
each detector's grid is NaN outside its strip. :func:`read_angles` merges the
detectors (view azimuths with a circular mean) and :func:`write_angle_rasters`
resamples the four grids onto a band's grid (bilinear; azimuths through their
sine and cosine), ready for ``eokit algo brdf --angles ... --angle-scale 1``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from scipy import ndimage

from eokit.errors import InputNotFoundError, InvalidInputError, UnreadableInputError

__all__ = ["S2_BAND_IDS", "ProductInfo", "read_angles", "read_product_info", "write_angle_rasters"]

log = logging.getLogger(__name__)

S2_BAND_IDS = {
    "B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6,
    "B08": 7, "B8A": 8, "B09": 9, "B10": 10, "B11": 11, "B12": 12,
}  # fmt: skip


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if _local(e.tag) == name]


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in elem if _local(c.tag) == name), None)


def _grid(elem: ET.Element | None, source: str) -> np.ndarray:
    values = None if elem is None else _child(elem, "Values_List")
    if values is None:
        raise UnreadableInputError("angle grid without Values_List", path=source)
    rows = [[float(v) for v in (row.text or "").split()] for row in values if _local(row.tag) == "VALUES"]
    if not rows or len({len(r) for r in rows}) != 1:
        raise UnreadableInputError("ragged or empty angle grid", path=source)
    return np.array(rows, dtype=np.float64)


def _step(elem: ET.Element, default: float) -> tuple[float, float]:
    col = _child(elem, "COL_STEP")
    row = _child(elem, "ROW_STEP")
    return (float(col.text or default) if col is not None else default), (
        float(row.text or default) if row is not None else default
    )


def _band_key(band: str) -> str:
    b = band.upper()
    if len(b) == 2 and b[0] == "B" and b[1].isdigit():
        b = f"B0{b[1]}"
    if b not in S2_BAND_IDS:
        raise InvalidInputError(
            f"unknown Sentinel-2 band {band!r}; expected one of {sorted(S2_BAND_IDS)}", param="band"
        )
    return b


def _parse(path: str | os.PathLike[str], text: bytes | None = None) -> ET.Element:
    p = os.fspath(path)
    if text is None and not os.path.exists(p):
        raise InputNotFoundError("no such file", path=p)
    try:
        return ET.fromstring(text) if text is not None else ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise UnreadableInputError(f"not XML ({exc})", path=p) from None


@dataclass(frozen=True)
class ProductInfo:
    """Radiometry and timing of a Sentinel-2 product (``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``).

    Reflectance of band ``B`` = (DN + ``offsets[B]``) / ``quantification``; DN
    ``nodata`` (0) and ``saturated`` (65535) are flags, not reflectances.
    Baselines before 04.00 carry no offsets (0 for every band).
    """

    level: str  # "L1C" or "L2A"
    baseline: str  # "05.09"
    spacecraft: str  # "Sentinel-2A"
    start_time: dt.datetime
    quantification: float
    offsets: dict[str, float] = field(default_factory=dict)
    nodata: float = 0.0
    saturated: float = 65535.0
    image_files: tuple[str, ...] = ()

    def scale_offset(self, band: str) -> tuple[float, float]:
        """``(scale, offset)`` with reflectance = DN * scale + offset for ``band`` (``B04``, ``B8A``...)."""
        key = _band_key(band)
        q = self.quantification
        return 1.0 / q, self.offsets.get(key, 0.0) / q


def _iso(text: str, source: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableInputError(f"PRODUCT_START_TIME {text[:40]!r} is not ISO 8601", path=source) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def read_product_info(path: str | os.PathLike[str], *, text: bytes | None = None) -> ProductInfo:
    """Quantification, per-band offsets, special values and start time from ``MTD_MSIL1C/2A.xml``.

    ``text`` gives the file's bytes when it sits inside an archive (``path`` then names it).
    """
    p = os.fspath(path)
    root = _parse(p, text)
    ids = {v: k for k, v in S2_BAND_IDS.items()}
    tag = _local(root.tag)
    level = "L2A" if "Level-2A" in tag else "L1C" if "Level-1C" in tag else ""
    if not level:
        raise UnreadableInputError(f"root element {tag!r}: not a Sentinel-2 MTD_MSIL1C/MTD_MSIL2A.xml", path=p)

    def text_of(name: str) -> str | None:
        elem = next(iter(_find_all(root, name)), None)
        return None if elem is None or elem.text is None else elem.text.strip()

    quant = text_of("BOA_QUANTIFICATION_VALUE" if level == "L2A" else "QUANTIFICATION_VALUE")
    start = text_of("PRODUCT_START_TIME")
    if quant is None or start is None:
        raise UnreadableInputError("no quantification value or PRODUCT_START_TIME", path=p)
    offsets: dict[str, float] = {}
    for elem in _find_all(root, "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"):
        band_id = int(elem.get("band_id", "-1"))
        if band_id not in ids:
            raise UnreadableInputError(f"offset for unknown band_id {band_id}", path=p)
        offsets[ids[band_id]] = float(elem.text or "nan")
    special = {}
    for sv in _find_all(root, "Special_Values"):
        name, index = _child(sv, "SPECIAL_VALUE_TEXT"), _child(sv, "SPECIAL_VALUE_INDEX")
        if name is not None and index is not None and name.text and index.text:
            special[name.text.strip()] = float(index.text)
    return ProductInfo(
        level=level,
        baseline=text_of("PROCESSING_BASELINE") or "",
        spacecraft=text_of("SPACECRAFT_NAME") or "",
        start_time=_iso(start, p),
        quantification=float(quant),
        offsets=offsets,
        nodata=special.get("NODATA", 0.0),
        saturated=special.get("SATURATED", 65535.0),
        image_files=tuple((e.text or "").strip() for e in _find_all(root, "IMAGE_FILE")),
    )


def read_angles(path: str | os.PathLike[str], band: str, *, text: bytes | None = None) -> dict[str, Any]:
    """Angle grids of one band: ``sun_zenith``, ``sun_azimuth``, ``view_zenith``, ``view_azimuth`` (degrees).

    Also ``crs`` (``EPSG:...``) and ``transform`` (grid nodes as pixel centres).
    Detectors are merged: the mean of the ones covering a node (azimuth: circular).
    """
    p = os.fspath(path)
    root = _parse(p, text)
    key = _band_key(band)
    codes = _find_all(root, "HORIZONTAL_CS_CODE")
    geos = {g.get("resolution"): g for g in _find_all(root, "Geoposition")}
    sun = next(iter(_find_all(root, "Sun_Angles_Grid")), None)
    if not codes or not geos or sun is None:
        raise UnreadableInputError("no tile geocoding / Sun_Angles_Grid: not a Sentinel-2 MTD_TL.xml", path=p)
    geo = geos.get("10") or next(iter(geos.values()))
    ulx_e, uly_e, zen = _child(geo, "ULX"), _child(geo, "ULY"), _child(sun, "Zenith")
    if ulx_e is None or uly_e is None or zen is None:
        raise UnreadableInputError("no ULX/ULY or sun Zenith grid: not a Sentinel-2 MTD_TL.xml", path=p)
    ulx, uly = float(ulx_e.text or "nan"), float(uly_e.text or "nan")
    col_step, row_step = _step(zen, 5000.0)
    sun_z = _grid(zen, p)
    sun_a = _grid(_child(sun, "Azimuth"), p)
    zs, sins, coss = [], [], []
    for g in _find_all(root, "Viewing_Incidence_Angles_Grids"):
        if int(g.get("bandId", -1)) != S2_BAND_IDS[key]:
            continue
        z = _grid(_child(g, "Zenith"), p)
        a = np.radians(_grid(_child(g, "Azimuth"), p))
        zs.append(z)
        sins.append(np.sin(a))
        coss.append(np.cos(a))
    if not zs:
        raise InvalidInputError(f"metadata has no view angles for band {key}", path=p)
    with np.errstate(invalid="ignore"), _quiet():
        view_z = np.nanmean(np.stack(zs), axis=0)
        view_a = np.degrees(np.arctan2(np.nanmean(np.stack(sins), axis=0), np.nanmean(np.stack(coss), axis=0))) % 360
    transform = Affine(col_step, 0, ulx - col_step / 2, 0, -row_step, uly + row_step / 2)
    return {
        "crs": (codes[0].text or "").strip(),
        "transform": transform,
        "sun_zenith": sun_z,
        "sun_azimuth": sun_a,
        "view_zenith": view_z,
        "view_azimuth": view_a,
    }


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def _fill_nearest(a: np.ndarray) -> np.ndarray:
    """Fill NaN nodes with the nearest valid node (the grids' NaN rims would otherwise eat the tile edge)."""
    bad = np.isnan(a)
    if not bad.any():
        return a
    if bad.all():
        raise InvalidInputError("angle grid is all NaN")
    idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
    return a[tuple(idx)]


#: Peak bytes per pixel of :func:`write_angle_rasters` (float64 grids held at once while warping an azimuth).
ANGLE_BYTES_PER_PIXEL = 48


def write_angle_rasters(
    path: str | os.PathLike[str],
    band: str,
    like: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    text: bytes | None = None,
) -> list[Path]:
    """Write SZA, SAA, VZA, VAA float32 GeoTIFFs (degrees) on the grid of raster ``like``; returns their paths.

    ``text``: the metadata's bytes when it sits in an archive (``path`` then only names it).
    """
    from rasterio.warp import Resampling, reproject

    from eokit.io import ensure_writable_dir, open_raster, write_raster
    from eokit.io.limits import check_in_memory, memory_budget

    with open_raster(like) as ds:
        shape, transform, crs = (ds.height, ds.width), ds.transform, ds.crs
    # whole float64 grids: two warped components, their arctan2 and degrees, and the float32 copy written
    check_in_memory(like, shape=shape, bytes_per_pixel=ANGLE_BYTES_PER_PIXEL, budget=memory_budget(),
                    what="the angle rasters on the grid of --like")  # fmt: skip
    ang = read_angles(path, band, text=text)

    def warp(grid: np.ndarray) -> np.ndarray:
        out = np.full(shape, np.nan, dtype=np.float64)
        reproject(_fill_nearest(grid), out, src_transform=ang["transform"], src_crs=ang["crs"],
                  dst_transform=transform, dst_crs=crs, resampling=Resampling.bilinear)  # fmt: skip
        return out

    def warp_azimuth(grid: np.ndarray) -> np.ndarray:
        r = np.radians(grid)
        return np.degrees(np.arctan2(warp(np.sin(r)), warp(np.cos(r)))) % 360

    out_dir = Path(out_dir)
    ensure_writable_dir(out_dir)
    paths = []
    for name, data in (
        ("SZA", warp(ang["sun_zenith"])),
        ("SAA", warp_azimuth(ang["sun_azimuth"])),
        ("VZA", warp(ang["view_zenith"])),
        ("VAA", warp_azimuth(ang["view_azimuth"])),
    ):
        target = out_dir / f"{_band_key(band)}_{name}.tif"
        write_raster(target, data.astype(np.float32), transform=transform, crs=crs, nodata=float("nan"))
        paths.append(target)
    return paths
