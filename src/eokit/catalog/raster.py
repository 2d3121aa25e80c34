"""Raster files (any GDAL-readable, COGs first) -> :class:`AssetRecord`."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eokit.catalog._common import (
    EXT,
    MEDIA,
    acquisition_time,
    clean_number,
    crs_fields,
    crs_is_geographic,
    densified_box,
    lonlat_footprint,
    metres_per_unit,
    multihash,
    occupancy_outline,
    stat_input,
)
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.errors import EokitError, InvalidInputError, MissingCRSError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["read_raster_asset", "raster_media_type"]

_COMMON_NAMES = {
    "coastal", "blue", "green", "red", "yellow", "pan", "rededge", "nir", "nir08", "nir09",
    "cirrus", "swir16", "swir22", "lwir", "lwir11", "lwir12",
}  # fmt: skip
_DRIVER_MEDIA = {"JP2OpenJPEG": "jp2", "netCDF": "netcdf", "HDF5": "hdf", "HDF4": "hdf", "VRT": "vrt", "PNG": "png"}


def raster_media_type(ds: Any) -> str | None:
    """Media type of an open dataset: a COG only when GDAL says so (``IMAGE_STRUCTURE`` ``LAYOUT=COG``).

    GDAL reports that layout when the file carries the COG ghost header and has not been edited
    in place since (``KNOWN_INCOMPATIBLE_EDITION=NO``); a tiled file with overviews is not
    necessarily cloud-optimized (its IFDs or overviews may sit after the data).
    """
    if ds.driver == "GTiff":
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "")
        return MEDIA["cog"] if layout.upper() == "COG" else MEDIA["geotiff"]
    if ds.driver == "COG":
        return MEDIA["cog"]
    key = _DRIVER_MEDIA.get(ds.driver)
    return MEDIA[key] if key else None


def _decimated_shape(ds: Any, limit: int) -> tuple[int, int]:
    scale = max(ds.width / limit, ds.height / limit, 1.0)
    return max(1, round(ds.height / scale)), max(1, round(ds.width / scale))


def _band_stats(ds: Any, shape: tuple[int, int], *, histogram: bool) -> list[dict[str, Any]]:
    import numpy as np

    data = ds.read(out_shape=(ds.count, *shape), masked=True)
    out = []
    for band in data:
        valid = band.compressed().astype("float64")
        valid = valid[np.isfinite(valid)]
        entry: dict[str, Any] = {}
        if valid.size:
            entry["statistics"] = {
                "minimum": float(valid.min()),
                "maximum": float(valid.max()),
                "mean": float(valid.mean()),
                "stddev": float(valid.std()),
                "valid_percent": float(100.0 * valid.size / band.size),
            }
            if histogram:
                lo, hi = float(valid.min()), float(valid.max())
                counts, _ = np.histogram(valid, bins=256, range=(lo, hi if hi > lo else lo + 1))
                entry["histogram"] = {"count": 256, "min": lo, "max": hi, "buckets": counts.astype(int).tolist()}
        else:
            entry["statistics"] = {"valid_percent": 0.0}
        out.append(entry)
    return out


def _data_footprint(ds: Any, v: _View, limit: int) -> Any:
    """Outline (EPSG:4326) of the valid pixels, exact by construction.

    The raster is read block by block at full resolution; a cell of a grid of at most ``limit`` x
    ``limit`` cells is *occupied* when any of its pixels is valid (the dataset mask, and for float
    bands a finite value, so NaN counts as nodata when the file declares none). The occupied
    cells, widened by one cell after simplification, contain every valid pixel; the footprint
    can include data-free margins at most two cells wide.
    """
    import numpy as np
    from rasterio.windows import Window

    if v.transform is None:
        raise InvalidInputError("--footprint data needs a geotransform; GCP/RPC rasters use their outline")
    f = max(1, math.ceil(max(ds.width, ds.height) / limit))
    gh, gw = math.ceil(ds.height / f), math.ceil(ds.width / f)
    grid = np.zeros((gh, gw), dtype=bool)
    floats = [i + 1 for i, d in enumerate(ds.dtypes) if np.dtype(d).kind in "fc"]
    itemsize = max(np.dtype(d).itemsize for d in ds.dtypes) * ds.count
    rows = f * max(1, (1 << 24) // max(1, ds.width * itemsize * f))  # ~16 MB of pixels per block
    for top in range(0, ds.height, rows):
        win = Window(0, top, ds.width, min(rows, ds.height - top))
        valid = ds.dataset_mask(window=win) > 0
        if len(floats) == ds.count:  # NaN is nodata for float bands (what the dataset mask cannot say)
            valid &= np.isfinite(ds.read(window=win)).any(axis=0)
        h = valid.shape[0]
        pad = np.zeros((math.ceil(h / f) * f, gw * f), dtype=bool)
        pad[:h, : ds.width] = valid
        grid[top // f : top // f + pad.shape[0] // f] |= pad.reshape(-1, f, gw, f).any(axis=(1, 3))
    if not grid.any():
        raise InvalidInputError("the raster holds no valid pixel (every pixel is nodata or NaN)")
    return occupancy_outline(grid, v.transform * v.transform.scale(f, f), v.bounds, v.wkt)


@dataclass
class _View:
    """The header facts an asset is made of, from rasterio or from the fast TIFF parser.

    ``transform`` is the affine geotransform, or None for rasters georeferenced by GCPs or RPCs;
    ``outline`` then holds their footprint in ``wkt`` coordinates, traced through GDAL's GCP/RPC
    transformer along the raster's edges.
    """

    wkt: str
    transform: Any
    width: int
    height: int
    dtypes: list[str]
    nodatavals: list[float | None]
    scales: list[float]
    offsets: list[float]
    units: list[str | None]
    descriptions: list[str | None]
    colorinterp: list[str]
    tags: dict[str, str]
    media_type: str | None
    outline: Any = None
    georeferencing: str = "affine"  # or "gcps" / "rpcs"
    epsg: int | None = None  # the EPSG code GDAL matches the CRS to (rasterio / rio-stac agree on it)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if self.transform is None:
            w, s, e, n = self.outline.bounds
            return float(w), float(s), float(e), float(n)
        from rasterio.transform import array_bounds

        west, south, east, north = array_bounds(self.height, self.width, self.transform)
        return west, south, east, north

    @classmethod
    def of_dataset(cls, ds: Any, wkt: str | None) -> _View:
        tags = dict(ds.tags())
        # GDAL fills the IMAGERY domain from metadata sidecars (not always listed in tag_namespaces())
        tags.update({f"IMAGERY:{k}": v for k, v in ds.tags(ns="IMAGERY").items()})
        view = cls(
            wkt=wkt or "",
            transform=ds.transform,
            width=ds.width,
            height=ds.height,
            dtypes=list(ds.dtypes),
            nodatavals=list(ds.nodatavals),
            scales=list(ds.scales),
            offsets=list(ds.offsets),
            units=list(ds.units or [None] * ds.count),
            descriptions=list(ds.descriptions),
            colorinterp=[ci.name for ci in ds.colorinterp],
            tags=tags,
            media_type=raster_media_type(ds),
        )
        if wkt is None:  # no geotransform: georeferenced by GCPs or RPCs
            view.outline, view.wkt, view.georeferencing = _warped_outline(ds)
            view.transform = None
            if view.georeferencing == "gcps":
                view.epsg = ds.gcps[1].to_epsg()
        elif ds.crs is not None:
            view.epsg = ds.crs.to_epsg()
        return view

    @classmethod
    def of_header(cls, h: Any) -> _View:
        from affine import Affine

        tags = dict(h.tags)
        if h.datetime:
            tags["TIFFTAG_DATETIME"] = h.datetime
        return cls(
            wkt=_epsg_wkt(h.epsg),
            transform=Affine(*h.transform),
            width=h.width,
            height=h.height,
            dtypes=[h.dtype] * h.count,
            nodatavals=[h.nodata] * h.count,
            scales=h.scales,
            offsets=h.offsets,
            units=h.units,
            descriptions=h.descriptions,
            colorinterp=h.colorinterp,
            tags=tags,
            media_type=MEDIA["cog"] if h.cog_layout else MEDIA["geotiff"],
        )

    def pixel_to_lonlat(self, rows: Any, cols: Any, ds: Any) -> tuple[Any, Any]:
        """Lon/lat of fractional pixel positions (through the GCP/RPC transformer when there is one)."""
        import numpy as np

        from eokit.core.geometry import _lonlat_transformer

        rows, cols = np.asarray(rows, dtype="float64"), np.asarray(cols, dtype="float64")
        if self.transform is not None:
            xs, ys = self.transform @ (cols, rows)
        else:
            xs, ys = _pixel_xy(ds, self.georeferencing, rows, cols)
        tr = _lonlat_transformer(self.wkt)
        return (np.asarray(xs), np.asarray(ys)) if tr is None else tr.transform(xs, ys)


def _pixel_xy(ds: Any, kind: str, rows: Any, cols: Any) -> tuple[Any, Any]:
    import numpy as np
    from rasterio.transform import GCPTransformer, RPCTransformer

    if kind == "gcps":
        ctx: Any = GCPTransformer(ds.gcps[0])
    else:
        ctx = RPCTransformer(ds.rpcs, RPC_HEIGHT=float(ds.rpcs.height_off))
    with ctx as tr:
        # the transformer rounds pixel coordinates to the nearest integer corner, so pass integers and corners
        xs, ys = tr.xy(np.asarray(rows).tolist(), np.asarray(cols).tolist(), offset="ul")
    return np.asarray(xs, dtype="float64"), np.asarray(ys, dtype="float64")


def _warped_outline(ds: Any, n: int = 32) -> tuple[Any, str, str]:
    """Footprint of a GCP- or RPC-georeferenced raster in the GCP CRS (RPCs: EPSG:4326), traced along its edges."""
    import numpy as np
    from shapely.geometry import Polygon

    gcps, gcp_crs = ds.gcps
    if gcps:
        if gcp_crs is None:
            raise MissingCRSError("raster has ground control points but no CRS for them")
        kind, wkt = "gcps", gcp_crs.to_wkt()
    elif ds.rpcs is not None:
        from pyproj import CRS

        kind, wkt = "rpcs", CRS.from_epsg(4326).to_wkt()
    else:
        raise MissingCRSError("raster has no georeferencing (no geotransform, GCPs or RPCs)")
    cols = np.rint(np.linspace(0, ds.width, n + 1)).astype(int)
    rows = np.rint(np.linspace(0, ds.height, n + 1)).astype(int)
    ring_r = np.concatenate([np.zeros(n), rows[:-1], np.full(n, ds.height), rows[::-1][:-1]])
    ring_c = np.concatenate([cols[:-1], np.full(n, ds.width), cols[::-1][:-1], np.zeros(n)])
    xs, ys = _pixel_xy(ds, kind, ring_r, ring_c)
    outline = Polygon(np.column_stack([xs, ys]))
    if not outline.is_valid:
        import shapely

        outline = shapely.make_valid(outline)
    if outline.is_empty or outline.area <= 0:
        raise InvalidInputError(f"the raster's {kind} give an empty footprint")
    return outline, wkt, kind


@lru_cache(maxsize=512)
def _epsg_wkt(code: int) -> str:
    from pyproj import CRS

    return CRS.from_epsg(code).to_wkt()


# files beside a raster that GDAL's metadata readers (DigitalGlobe, GeoEye, Landsat, Pleiades, ...) turn
# into IMAGERY / RPC metadata: when one exists the fast header parser steps aside and GDAL reads the file
_SIDECARS = (".aux.xml", ".ovr", ".msk", ".xml", ".XML", ".IMD", ".imd", ".RPB", ".rpb", ".pvl", ".PVL",
             "_RPC.TXT", "_rpc.txt", "_metadata.xml", ".til", ".TIL")  # fmt: skip


def _has_sidecar(path: str) -> bool:
    stem = path.rsplit(".", 1)[0]
    if any(os.path.exists(path + s) or os.path.exists(stem + s) for s in _SIDECARS):
        return True
    base = os.path.basename(stem)
    if base[:1] == "L" and "_" in base:  # Landsat band files: <product>_B4.TIF beside <product>_MTL.txt
        return os.path.exists(os.path.join(os.path.dirname(path), base.rsplit("_", 1)[0] + "_MTL.txt"))
    return False


def read_raster_asset(path: str | os.PathLike[str], options: ReadOptions | None = None) -> AssetRecord:
    """Read a raster's header (and, if asked, a decimated copy) into an asset record.

    Plain GeoTIFFs with EPSG-coded CRSs and no metadata sidecars are parsed directly (no GDAL
    open) when no pixel reads are needed; everything else goes through rasterio.

    Raises
    ------
    InputNotFoundError, UnreadableInputError, MissingCRSError, InvalidInputError
    """
    options = options or ReadOptions()
    path = os.fspath(path)
    st = stat_input(path)
    simple = options.footprint == "bbox" and not (options.statistics or options.histogram)
    if simple and path.lower().endswith((".tif", ".tiff")) and not _has_sidecar(path):
        from eokit.catalog._tiff import read_header

        header = read_header(path)
        if header is not None:
            return _record(path, st, _View.of_header(header), options, None)
    return _read_with_rasterio(path, st, options)


def _read_with_rasterio(path: str, st: os.stat_result, options: ReadOptions) -> AssetRecord:
    import warnings

    import rasterio
    from rasterio.crs import CRS
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds_ctx = rasterio.open(path)
    except RasterioIOError as exc:
        raise UnreadableInputError(f"not a readable raster: {exc}", path=path) from None
    except OSError as exc:
        raise UnreadableInputError(f"I/O error: {exc.strerror or exc}", path=path) from None
    except (IndexError, ValueError, TypeError) as exc:  # rasterio trips on some drivers' odd answers
        raise UnreadableInputError(f"not a readable raster: {type(exc).__name__}: {exc}", path=path) from None
    with ds_ctx as ds:
        if ds.count == 0:
            raise UnreadableInputError("raster has no bands (a container of subdatasets?)", path=path)
        georeferenced = not ds.transform.is_identity
        if georeferenced:
            crs = ds.crs
            if crs is None:
                if options.default_crs is None:
                    raise MissingCRSError("raster has no CRS (pass a default CRS to catalogue it)", path=path)
                crs = CRS.from_user_input(options.default_crs)
            wkt: str | None = crs.to_wkt()
        elif ds.gcps[0] or ds.rpcs is not None:
            wkt = None
        else:
            raise MissingCRSError("raster has no georeferencing (no geotransform, GCPs or RPCs)", path=path)
        try:
            return _record(path, st, _View.of_dataset(ds, wkt), options, ds)
        except RasterioIOError as exc:
            raise UnreadableInputError(f"pixel data cannot be read: {exc}", path=path) from None
        except EokitError as exc:
            if exc.path is None:
                raise type(exc)(exc.message, path=path) from None
            raise


def _record(path: str, st: os.stat_result, v: _View, options: ReadOptions, ds: Any) -> AssetRecord:
    import shapely

    t, wkt = v.transform, v.wkt
    bounds = v.bounds
    try:
        if t is None:
            footprint = lonlat_footprint(v.outline, wkt)
        else:
            footprint = densified_box(bounds, wkt)
        if options.footprint == "data":
            footprint = _data_footprint(ds, v, options.max_decimated)
        elif options.footprint != "bbox":
            raise InvalidInputError(f"unknown footprint mode {options.footprint!r}: use 'bbox' or 'data'")
    except InvalidInputError as exc:
        raise type(exc)(exc.message, path=path) from None
    gsd = _gsd(v, ds, footprint)
    asset: dict[str, Any] = {"type": v.media_type, "roles": ["data"]}
    if v.georeferencing == "rpcs":
        asset["proj:code"] = None  # not projected: located by rational polynomial coefficients
    else:
        asset.update({"proj:code": f"EPSG:{v.epsg}"} if v.epsg else crs_fields(wkt))
    asset["proj:shape"] = [v.height, v.width]
    if t is not None:
        asset["proj:transform"] = [t.a, t.b, t.c, t.d, t.e, t.f]
    if v.georeferencing != "rpcs":
        asset["proj:bbox"] = list(bounds)
    asset["gsd"] = gsd
    stats = None
    if options.statistics or options.histogram:
        stats = _band_stats(ds, _decimated_shape(ds, options.max_decimated), histogram=options.histogram)
    bands, eo_bands = [], []
    for i, dtype in enumerate(v.dtypes):
        band: dict[str, Any] = {"data_type": dtype, "spatial_resolution": gsd}
        nodata = v.nodatavals[i]
        if nodata is not None:
            band["nodata"] = clean_number(float(nodata))
        if v.scales[i] not in (None, 1.0):
            band["scale"] = float(v.scales[i])
        if v.offsets[i] not in (None, 0.0):
            band["offset"] = float(v.offsets[i])
        if v.units[i]:
            band["unit"] = v.units[i]
        if stats:
            band.update(stats[i])
        bands.append(band)
        eo_bands.append(_eo_band(v, i))
    asset["raster:bands"] = bands
    extensions = [EXT["proj"], EXT["raster"], EXT["file"]]
    if any("common_name" in b for b in eo_bands):
        asset["eo:bands"] = eo_bands
        extensions.append(EXT["eo"])
    properties: dict[str, Any] = {}
    cloud = _cloud_cover(v.tags)
    if cloud is not None:
        properties["eo:cloud_cover"] = cloud
        if EXT["eo"] not in extensions:
            extensions.append(EXT["eo"])
    when, source = acquisition_time(v.tags, path)
    asset["file:size"] = st.st_size
    if options.checksum:
        asset["file:checksum"] = multihash(path, options.checksum)
    return AssetRecord(
        path=path,
        kind="raster",
        asset=asset,
        geometry=shapely.geometry.mapping(footprint),
        datetime=when,
        datetime_source=source,
        properties=properties,
        extensions=extensions,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


def _gsd(v: _View, ds: Any, footprint: Any) -> float:
    """Ground sample distance in metres: the shorter of the pixel's two sides, at the raster's centre.

    Projected CRSs: the pixel size in CRS units times the unit's length in metres (grid metres, as
    every product documents its GSD). Geographic CRSs, GCPs and RPCs: geodesic distances on WGS84
    between the centre pixel and its neighbours along a row and a column.
    """
    t = v.transform
    if t is not None and not crs_is_geographic(v.wkt):
        return float(min(math.hypot(t.a, t.d), math.hypot(t.b, t.e)) * metres_per_unit(v.wkt))
    from pyproj import Geod

    r, c = v.height / 2.0, v.width / 2.0
    if t is None:  # GCP/RPC transformers work on whole pixel corners
        r, c = float(int(r)), float(int(c))
    lon, lat = v.pixel_to_lonlat([r, r, r + 1], [c, c + 1, c], ds)
    geod = Geod(ellps="WGS84")
    _, _, dx = geod.inv(lon[0], lat[0], lon[1], lat[1])
    _, _, dy = geod.inv(lon[0], lat[0], lon[2], lat[2])
    steps = [d for d in (dx, dy) if d > 0]
    if not steps:
        raise InvalidInputError("pixel size is zero on the ground")
    return float(min(steps))


def _cloud_cover(tags: dict[str, str]) -> float | None:
    text = tags.get("IMAGERY:CLOUDCOVER")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 100.0 else None


def _eo_band(v: _View, i: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": v.descriptions[i] or f"b{i + 1}"}
    desc = (v.descriptions[i] or "").strip().lower()
    ci = v.colorinterp[i] if i < len(v.colorinterp) else None
    if desc in _COMMON_NAMES:
        entry["common_name"] = desc
    elif ci in ("red", "green", "blue"):
        entry["common_name"] = ci
    return entry
