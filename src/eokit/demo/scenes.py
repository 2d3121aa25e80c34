"""Landsat-8-like and Sentinel-2-like scenes over a city, written as hub products.

Surface reflectance comes from a simple land-cover model around the city
centre (urban core, suburbs, vegetation, a lake, a few clouds); sun angles are
computed per pixel with :func:`eokit.algorithms.solar_position` at the
acquisition time, view angles from a plausible across-track geometry.
Products are folders of GeoTIFFs plus metadata, zipped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from scipy import ndimage

from eokit.demo.world import utc, zip_product
from eokit.io import write_raster

__all__ = ["SceneProduct", "write_scenes"]


@dataclasses.dataclass(frozen=True)
class SceneProduct:
    """A zipped scene and the facts a hub publishes about it."""

    path: Path
    name: str
    footprint_wkt: str
    start: dt.datetime
    product_type: str
    platform: str
    cloud_cover: float


# surface reflectance per cover: coastal, blue, green, red, nir, swir1, swir2
_COVERS = {
    "urban": (0.10, 0.10, 0.11, 0.13, 0.20, 0.24, 0.20),
    "suburb": (0.08, 0.07, 0.09, 0.09, 0.25, 0.22, 0.15),
    "vegetation": (0.05, 0.04, 0.07, 0.04, 0.38, 0.19, 0.09),
    "water": (0.07, 0.06, 0.05, 0.03, 0.02, 0.01, 0.005),
    "cloud": (0.60, 0.62, 0.63, 0.64, 0.66, 0.50, 0.40),
}


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + zone


def _cover_reflectance(
    shape: tuple[int, int], pixel_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float64)
    dist_km = np.hypot(rr - rows / 2, cc - cols / 2) * pixel_m / 1000.0
    texture = ndimage.gaussian_filter(rng.normal(0, 1, shape), 3)
    cover = np.where(dist_km + texture < 2.0, 0, np.where(dist_km + texture < 4.5, 1, 2))
    lake = np.hypot(rr - rows * 0.75, cc - cols * 0.25) * pixel_m / 1000.0 < 0.9
    cover[lake] = 3
    clouds = ndimage.gaussian_filter(rng.random(shape), 6) > 0.53
    cover[clouds] = 4
    table = np.array([_COVERS[k] for k in ("urban", "suburb", "vegetation", "water", "cloud")])
    refl = table[cover].transpose(2, 0, 1) * (1 + 0.05 * texture)[None]
    return np.clip(refl, 0.001, 1.0), cover


def _angles(transform: Affine, epsg: int, shape: tuple[int, int], when: dt.datetime, nadir_col: float, max_vza: float):
    from pyproj import Transformer

    from eokit.algorithms import solar_position

    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols] + 0.5
    x, y = transform * (cc, rr)
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(x, y)
    sza, saa = solar_position(np.datetime64(when.replace(tzinfo=None)), lat, lon)
    vza = np.abs(cc - nadir_col) / cols * max_vza
    vaa = np.where(cc >= nadir_col, 102.0, 282.0)
    return sza, saa, vza, vaa


def _landsat(
    root: Path, lon: float, lat: float, size: int, rng: np.random.Generator
) -> tuple[Path, str, dict[str, Any]]:
    when = utc(2024, 6, 12, 5, 58)
    epsg = _utm_epsg(lon, lat)
    from pyproj import Transformer

    x0, y0 = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    transform = Affine(30.0, 0, round(x0 - size * 15.0), 0, -30.0, round(y0 + size * 15.0))
    refl, cover = _cover_reflectance((size, size), 30.0, rng)
    name = f"LC08_L2SP_150030_{when:%Y%m%d}_20240620_02_T1"
    folder = root / name
    crs = f"EPSG:{epsg}"
    for b in range(7):
        dn = np.round((refl[b] + 0.2) / 2.75e-5).astype(np.uint16)
        write_raster(folder / f"{name}_SR_B{b + 1}.TIF", dn, transform=transform, crs=crs, nodata=0)
    qa = np.full((size, size), 21824, np.uint16)  # clear land
    qa[cover == 3] = 21952  # water
    qa[cover == 4] = 22280  # high-confidence cloud (bit 3 set)
    write_raster(folder / f"{name}_QA_PIXEL.TIF", qa, transform=transform, crs=crs, nodata=1)
    pan = ndimage.zoom(refl[3] * 0.5 + refl[2] * 0.3 + refl[1] * 0.2, 2, order=1)
    pan += ndimage.gaussian_filter(rng.normal(0, 0.01, pan.shape), 0.7)
    pan_tf = Affine(15.0, 0, transform.c, 0, -15.0, transform.f)
    write_raster(
        folder / f"{name}_B8.TIF",
        np.round((np.clip(pan, 0, 1) + 0.2) / 2.75e-5).astype(np.uint16),
        transform=pan_tf,
        crs=crs,
        nodata=0,
    )
    sza, saa, vza, vaa = _angles(transform, epsg, (size, size), when, nadir_col=size * 0.3, max_vza=7.5)
    for tag, arr in (("SZA", sza), ("SAA", saa), ("VZA", vza), ("VAA", vaa)):
        write_raster(
            folder / f"{name}_{tag}.TIF",
            np.round(arr * 100).astype(np.int16),
            transform=transform,
            crs=crs,
            nodata=-32768,
        )
    (folder / f"{name}_MTL.txt").write_text(_mtl(name, when, lat, lon, float(np.mean(sza)), float(np.mean(saa))))
    facts = {
        "start": when,
        "product_type": "L2SP",
        "platform": "Landsat-8",
        "cloud_cover": float((cover == 4).mean() * 100),
    }
    return folder, _footprint(transform, size, epsg), facts


def _mtl(name: str, when: dt.datetime, lat: float, lon: float, sza: float, saa: float) -> str:
    lines = [
        "GROUP = LANDSAT_METADATA_FILE",
        "  GROUP = PRODUCT_CONTENTS",
        f'    LANDSAT_PRODUCT_ID = "{name}"',
        '    PROCESSING_LEVEL = "L2SP"',
        "  END_GROUP = PRODUCT_CONTENTS",
        "  GROUP = IMAGE_ATTRIBUTES",
        '    SPACECRAFT_ID = "LANDSAT_8"',
        '    SENSOR_ID = "OLI_TIRS"',
        f"    DATE_ACQUIRED = {when:%Y-%m-%d}",
        f'    SCENE_CENTER_TIME = "{when:%H:%M:%S}.0000000Z"',
        f"    SUN_AZIMUTH = {saa:.8f}",
        f"    SUN_ELEVATION = {90 - sza:.8f}",
        "  END_GROUP = IMAGE_ATTRIBUTES",
        "  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS",
    ]
    for b in range(1, 8):
        lines += [f"    REFLECTANCE_MULT_BAND_{b} = 2.75E-05", f"    REFLECTANCE_ADD_BAND_{b} = -0.200000"]
    lines += ["  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", "END_GROUP = LANDSAT_METADATA_FILE", "END", ""]
    return "\n".join(lines)


def _sentinel2(
    root: Path, lon: float, lat: float, size: int, rng: np.random.Generator
) -> tuple[Path, str, dict[str, Any]]:
    when = utc(2024, 6, 14, 6, 16)
    epsg = _utm_epsg(lon, lat)
    from pyproj import Transformer

    x0, y0 = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    t10 = Affine(10.0, 0, round(x0 - size * 5.0), 0, -10.0, round(y0 + size * 5.0))
    t20 = Affine(20.0, 0, t10.c, 0, -20.0, t10.f)
    refl, cover = _cover_reflectance((size, size), 10.0, rng)
    name = f"S2B_MSIL2A_{when:%Y%m%dT%H%M%S}_N0510_R120_T43TGJ_{when:%Y%m%d}T091457.SAFE"
    folder = root / name
    crs = f"EPSG:{epsg}"
    bands10 = {"B02": 1, "B03": 2, "B04": 3, "B08": 4}
    for band, idx in bands10.items():
        dn = np.round(refl[idx] * 10000 + 1000).astype(np.uint16)  # processing baseline >= 04.00 offset
        write_raster(folder / f"{band}_10m.tif", dn, transform=t10, crs=crs, nodata=0)
    for band, idx in {"B11": 5, "B12": 6}.items():
        coarse = refl[idx].reshape(size // 2, 2, size // 2, 2).mean(axis=(1, 3))
        write_raster(
            folder / f"{band}_20m.tif",
            np.round(coarse * 10000 + 1000).astype(np.uint16),
            transform=t20,
            crs=crs,
            nodata=0,
        )
    scl_map = np.array([5, 4, 4, 6, 9], np.uint8)  # built-up->5 (bare), veg->4, water->6, cloud->9
    scl = scl_map[cover][::2, ::2]
    write_raster(folder / "SCL_20m.tif", scl, transform=t20, crs=crs, nodata=0)
    sza, saa, vza, vaa = _angles(t20, epsg, (size // 2, size // 2), when, nadir_col=size * 0.1, max_vza=10.0)
    for tag, arr in (("SZA", sza), ("SAA", saa), ("VZA", vza), ("VAA", vaa)):
        write_raster(folder / f"{tag}_20m.tif", arr.astype(np.float32), transform=t20, crs=crs, nodata=-9999.0)
    (folder / "metadata.txt").write_text(
        f"PRODUCT_ID={name}\nSENSING_TIME={when:%Y-%m-%dT%H:%M:%S}Z\nBOA_QUANTIFICATION_VALUE=10000\nBOA_ADD_OFFSET=-1000\n"
    )
    facts = {
        "start": when,
        "product_type": "S2MSI2A",
        "platform": "Sentinel-2",
        "cloud_cover": float((cover == 4).mean() * 100),
    }
    return folder, _footprint(t10, size, epsg), facts


def _footprint(transform: Affine, size: int, epsg: int) -> str:
    import shapely
    from pyproj import Transformer

    x0, y0 = transform.c, transform.f
    x1, y1 = transform * (size, size)
    ring = shapely.segmentize(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), (x1 - x0) / 8)
    lonlat = shapely.transform(
        ring, lambda xy: np.column_stack(Transformer.from_crs(epsg, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1]))
    )
    return shapely.to_wkt(lonlat, rounding_precision=6)


def write_scenes(out: Path, lon: float, lat: float, *, quick: bool, seed: int) -> list[SceneProduct]:
    """Write both scenes under ``out`` as zipped products; return what a hub publishes about them."""
    rng = np.random.default_rng(seed + 1)
    staging = Path(out) / ".staging"
    if staging.exists():
        shutil.rmtree(staging)
    products = []
    for folder, footprint, facts in (
        _landsat(staging, lon, lat, 200 if quick else 400, rng),
        _sentinel2(staging, lon, lat, 400 if quick else 1000, rng),
    ):
        path = zip_product(folder, Path(out) / f"{folder.name}.zip")
        products.append(SceneProduct(path=path, name=folder.name, footprint_wkt=footprint, **facts))
    shutil.rmtree(staging)
    return products
