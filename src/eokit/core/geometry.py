"""Lon/lat geometry that is right across the antimeridian (RFC 7946 §3.1.9, STAC).

One helper for every capability: the catalog (footprints of rasters and point
clouds), the STAC server (item bboxes and search boxes) and the hub (search
areas). The splitting itself is done by the `antimeridian` package (the one
stactools uses); this module adds what eokit needs around it:

* :func:`to_lonlat` reprojects a footprint from its own CRS to lon/lat with
  densified edges, keeps its orientation from the source CRS (where it is
  unambiguous) and splits it at ±180°;
* :func:`split_antimeridian` fixes a lon/lat geometry whose edges jump across
  ±180° (what a naive reprojection gives);
* :func:`geometry_bbox` returns a bbox whose west is greater than its east when
  the geometry crosses the antimeridian;
* :func:`bbox_geometry` / :func:`bbox_parts` turn such a bbox back into one or
  two boxes, so spatial filters never see ``minx > maxx``.

Examples
--------
>>> from shapely.geometry import box
>>> geometry_bbox(split_antimeridian(box(179.0, -1.0, 181.0, 1.0)))
(179.0, -1.0, -179.0, 1.0)
>>> [p.bounds for p in bbox_parts((179.0, -1.0, -179.0, 1.0))]
[(179.0, -1.0, 180.0, 1.0), (-180.0, -1.0, -179.0, 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

__all__ = [
    "bbox_crosses_antimeridian",
    "bbox_geometry",
    "bbox_parts",
    "geometry_bbox",
    "split_antimeridian",
    "to_lonlat",
]

BBox = tuple[float, float, float, float]


def bbox_crosses_antimeridian(bbox: Sequence[float]) -> bool:
    """True when a 2D (4 values) or 3D (6 values) bbox has west > east."""
    west, east = (bbox[0], bbox[2]) if len(bbox) == 4 else (bbox[0], bbox[3])
    return west > east


def bbox_parts(bbox: Sequence[float]) -> list[Polygon]:
    """A lon/lat bbox as one box, or two boxes when it crosses the antimeridian."""
    if len(bbox) == 6:
        bbox = (bbox[0], bbox[1], bbox[3], bbox[4])
    west, south, east, north = (float(v) for v in bbox)
    if west > east:
        return [box(west, south, 180.0, north), box(-180.0, south, east, north)]
    return [box(west, south, east, north)]


def bbox_geometry(bbox: Sequence[float]) -> Polygon | MultiPolygon:
    """A lon/lat bbox as a Polygon, or a MultiPolygon split at ±180° when west > east."""
    parts = bbox_parts(bbox)
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def split_antimeridian(geom: BaseGeometry | dict[str, Any]) -> BaseGeometry:
    """Split a lon/lat geometry whose edges jump across ±180° (RFC 7946 §3.1.9).

    Polygons are assumed counter-clockwise (the GeoJSON convention); a
    clockwise ring is *not* read as "everything but this" (the `antimeridian`
    package's winding guess), since footprints never cover most of the globe.
    """
    import antimeridian

    g = shape(geom) if isinstance(geom, dict) else geom
    if isinstance(g, Polygon | MultiPolygon):
        polys = [orient(p, 1.0) for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
        g = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    fixed = antimeridian.fix_shape(mapping(g), fix_winding=False, great_circle=False)
    out = shape(fixed)
    return out if out.is_valid else shapely.make_valid(out)


def geometry_bbox(geom: BaseGeometry | dict[str, Any]) -> BBox:
    """The bbox of a lon/lat geometry; west > east when it crosses the antimeridian.

    A geometry is taken to cross when it was split at ±180° (parts touching both
    +180 and -180): its bbox then spans the narrow way round, as STAC requires,
    leaving out the widest longitude gap between its parts.
    """
    g = shape(geom) if isinstance(geom, dict) else geom
    w, s, e, n = (float(v) for v in g.bounds)
    if not (w <= -180.0 and e >= 180.0):
        return (w, s, e, n)
    parts = [p for p in getattr(g, "geoms", [g]) if not p.is_empty]
    spans = sorted((float(p.bounds[0]), float(p.bounds[2])) for p in parts)
    merged = [list(spans[0])]
    for lo, hi in spans[1:]:
        if lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    if len(merged) == 1:
        return (w, s, e, n)  # one part spanning every longitude
    gaps = [(merged[i + 1][0] - merged[i][1], i) for i in range(len(merged) - 1)]
    widest, i = max(gaps)
    if widest <= 0:
        return (w, s, e, n)
    return (merged[i + 1][0], s, merged[i][1], n)


def to_lonlat(geom: BaseGeometry, crs: Any, *, densify: float | None = None) -> BaseGeometry:
    """Reproject a footprint from ``crs`` to EPSG:4326 lon/lat, split at ±180°.

    Parameters
    ----------
    geom : shapely geometry
        Polygon(s) in ``crs`` coordinates.
    crs : anything :class:`pyproj.CRS` accepts
        The geometry's CRS.
    densify : float, optional
        Largest edge length in ``crs`` units before reprojection; the default
        cuts every edge into 20 pieces, so curved lon/lat edges are followed.
    """
    import numpy as np

    if isinstance(geom, Polygon | MultiPolygon):
        polys = [orient(p, 1.0) for p in (geom.geoms if isinstance(geom, MultiPolygon) else [geom])]
        geom = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    if densify is None:
        longest = 0.0
        for p in geom.geoms if isinstance(geom, MultiPolygon) else [geom]:
            if isinstance(p, Polygon):
                xy = np.asarray(p.exterior.coords)
                if len(xy) > 1:
                    longest = max(longest, float(np.hypot(*np.diff(xy[:, :2], axis=0).T).max()))
        densify = longest / 20.0 if longest > 0 else None
    if densify:
        geom = shapely.segmentize(geom, densify)
    tr = _lonlat_transformer(crs if isinstance(crs, str) else _crs_key(crs))
    lonlat = geom if tr is None else shapely.transform(geom, lambda xy: _stack(tr.transform(xy[:, 0], xy[:, 1])))
    return split_antimeridian(lonlat)


def _crs_key(crs: Any) -> str:
    from pyproj import CRS

    return crs.to_wkt() if isinstance(crs, CRS) else str(CRS.from_user_input(crs).to_wkt())


@lru_cache(maxsize=256)
def _lonlat_transformer(crs: str) -> Any:
    """The transformer from ``crs`` to EPSG:4326 lon/lat (None when ``crs`` is EPSG:4326), cached per CRS."""
    from pyproj import CRS, Transformer

    src = CRS.from_user_input(crs)
    if src.is_geographic and src.equals(CRS.from_epsg(4326)):
        return None
    return Transformer.from_crs(src, "EPSG:4326", always_xy=True)


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack([np.asarray(xy[0], dtype="float64"), np.asarray(xy[1], dtype="float64")])
