"""Vector files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf via pyogrio) -> :class:`AssetRecord`."""

from __future__ import annotations

import logging
import os
from typing import Any

from eokit.catalog._common import EXT, MEDIA, crs_fields, densified_box, lonlat_footprint, multihash, stat_input
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.errors import InvalidInputError, MissingCRSError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["read_vector_asset"]

_SUFFIX_MEDIA = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".shp": "shp", ".fgb": "fgb"}


def read_vector_asset(path: str | os.PathLike[str], options: ReadOptions | None = None) -> AssetRecord:
    """Read a vector file's first layer (CRS, bounds, feature count) into an asset record.

    With ``options.footprint == "data"`` the footprint is the simplified union of the features.
    """
    import pyogrio
    import shapely
    from pyproj import CRS

    options = options or ReadOptions()
    path = os.fspath(path)
    st = stat_input(path)
    try:
        info = pyogrio.read_info(path, force_total_bounds=True, force_feature_count=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise UnreadableInputError(f"not a readable vector file: {exc}", path=path) from None
    crs_text = info.get("crs")
    if not crs_text:
        if options.default_crs is None:
            raise MissingCRSError("vector layer has no CRS", path=path)
        crs_text = options.default_crs
    wkt = CRS.from_user_input(crs_text).to_wkt()
    bounds = [float(v) for v in info["total_bounds"]]
    if info.get("features", 0) == 0 or not all(map(_finite, bounds)):
        raise InvalidInputError("vector layer has no features", path=path)
    try:
        if options.footprint == "data":
            table = pyogrio.read_dataframe(path, columns=[])
            outline = shapely.union_all(shapely.make_valid(table.geometry.values))
            size = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
            footprint = lonlat_footprint(outline.simplify(size / 500, preserve_topology=True), wkt)
        else:
            footprint = densified_box(bounds, wkt)
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message, path=path) from None
    media = MEDIA[_SUFFIX_MEDIA.get(os.path.splitext(path)[1].lower(), "geojson")]
    asset: dict[str, Any] = {"type": media, "roles": ["data"]}
    asset.update(crs_fields(wkt))
    asset["proj:bbox"] = bounds
    asset["file:size"] = st.st_size
    asset["eokit:features"] = int(info.get("features", 0))
    asset["eokit:geometry_type"] = str(info.get("geometry_type"))
    if options.checksum:
        asset["file:checksum"] = multihash(path, options.checksum)
    return AssetRecord(
        path=path,
        kind="vector",
        asset=asset,
        geometry=shapely.geometry.mapping(footprint),
        extensions=[EXT["proj"], EXT["file"]],
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")
