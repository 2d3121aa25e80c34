"""A fast path for plain GeoTIFF headers: parse the first IFD and GeoKeys in Python, no GDAL open.

Opening a file through GDAL costs ~1.5 ms (driver probing, PROJ lookups); a crawl of
thousands of small GeoTIFFs is dominated by it. :func:`read_header` handles the common
case (EPSG-coded CRS, north-up affine from tiepoint+scale or a transformation matrix,
standard sample types) and returns None for anything else, so the caller falls back to
rasterio. Tests check both paths give identical assets on every sample.
"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TiffHeader", "read_header"]

_TYPES = {1: "B", 2: "s", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i", 10: "ii", 11: "f", 12: "d",
          16: "Q", 17: "q", 18: "Q"}  # fmt: skip
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8}
_DTYPES = {(1, 8): "uint8", (1, 16): "uint16", (1, 32): "uint32", (1, 64): "uint64", (2, 8): "int8",
           (2, 16): "int16", (2, 32): "int32", (2, 64): "int64", (3, 32): "float32", (3, 64): "float64"}  # fmt: skip
# GeoKeys that do not change the CRS GDAL derives from the EPSG code (citations, default units, raster type)
_HARMLESS_KEYS = {1024, 1025, 1026, 2048, 2049, 2057, 2058, 2059, 3072, 3073}
_DEFAULT_UNITS = {2054: 9102, 3076: 9001}


@dataclass
class TiffHeader:
    """What the fast path extracts (mirrors the rasterio dataset attributes eokit uses)."""

    width: int
    height: int
    count: int
    dtype: str
    epsg: int
    transform: tuple[float, float, float, float, float, float]
    nodata: float | None
    tiled: bool
    block: tuple[int, int]
    has_overviews: bool
    cog_layout: bool
    datetime: str | None
    colorinterp: list[str] = field(default_factory=list)
    descriptions: list[str | None] = field(default_factory=list)
    scales: list[float] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    units: list[str | None] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


class _Unsupported(Exception):
    pass


def read_header(path: str | os.PathLike[str]) -> TiffHeader | None:
    """Parse a GeoTIFF header, or return None when GDAL's view could differ (caller falls back)."""
    path = os.fspath(path)
    for sidecar in (".aux.xml", ".ovr", ".msk"):
        if os.path.exists(path + sidecar):
            return None
    try:
        with open(path, "rb") as fh:
            return _parse(fh)
    except (_Unsupported, struct.error, ValueError, KeyError, IndexError, OSError, ET.ParseError):
        return None


def _parse(fh: Any) -> TiffHeader:
    head = fh.read(65536)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None:
        raise _Unsupported
    (magic,) = struct.unpack_from(order + "H", head, 2)
    big = magic == 43
    if magic not in (42, 43):
        raise _Unsupported
    first = struct.unpack_from(order + ("Q" if big else "I"), head, 8 if big else 4)[0]
    ghost_at = 16 if big else 8
    ghost = head[ghost_at : ghost_at + 1024]
    cog = False
    if ghost.startswith(b"GDAL_STRUCTURAL_METADATA_SIZE="):
        text = ghost.decode("ascii", "replace")
        cog = "LAYOUT=IFDS_BEFORE_DATA" in text and "KNOWN_INCOMPATIBLE_EDITION=NO" in text

    def read_at(offset: int, size: int) -> bytes:
        if offset + size <= len(head):
            return head[offset : offset + size]
        fh.seek(offset)
        data = fh.read(size)
        if len(data) != size:
            raise _Unsupported
        return bytes(data)

    def ifd(offset: int) -> tuple[dict[int, Any], int]:
        n_fmt, entry, inline = ("Q", 20, 8) if big else ("H", 12, 4)
        (n,) = struct.unpack(order + n_fmt, read_at(offset, 8 if big else 2))
        base = offset + (8 if big else 2)
        raw = read_at(base, n * entry + (8 if big else 4))
        tags: dict[int, Any] = {}
        for k in range(n):
            e = raw[k * entry : (k + 1) * entry]
            if big:
                tag, typ, cnt = struct.unpack_from(order + "HHQ", e, 0)
                val_bytes = e[12:20]
            else:
                tag, typ, cnt = struct.unpack_from(order + "HHI", e, 0)
                val_bytes = e[8:12]
            if typ not in _TYPES:
                continue
            size = _SIZES[typ] * cnt
            if size <= inline:
                data = val_bytes[:size]
            else:
                (off,) = struct.unpack(order + ("Q" if big else "I"), val_bytes)
                if size > 50_000_000:
                    raise _Unsupported
                data = read_at(off, size)
            if typ == 2:
                tags[tag] = data.split(b"\0", 1)[0].decode("utf-8", "replace")
            else:
                fmt = _TYPES[typ]
                vals = struct.unpack(order + fmt * cnt, data)
                if typ in (5, 10):
                    vals = tuple(vals[i] / vals[i + 1] if vals[i + 1] else 0.0 for i in range(0, len(vals), 2))
                tags[tag] = vals
        (nxt,) = struct.unpack(order + ("Q" if big else "I"), raw[n * entry : n * entry + (8 if big else 4)])
        return tags, nxt

    tags, nxt = ifd(first)
    if tags.get(254, (0,))[0] & 1:
        raise _Unsupported  # first IFD is an overview
    width, height = tags[256][0], tags[257][0]
    count = tags.get(277, (1,))[0]
    bits = set(tags.get(258, (1,)))
    formats = set(tags.get(339, (1,)))
    if len(bits) != 1 or len(formats) != 1:
        raise _Unsupported
    dtype = _DTYPES.get((formats.pop(), bits.pop()))
    photometric = tags.get(262, (1,))[0]
    if dtype is None or photometric not in (0, 1, 2) or 320 in tags:
        raise _Unsupported  # bit-packed, complex, palette, YCbCr, CMYK...: let GDAL decide
    epsg = _epsg(tags)
    transform = _transform(tags)
    nodata = None
    if 42113 in tags:
        nodata = float(tags[42113].strip())
    has_overviews = False
    hops = 0
    while nxt and hops < 64:
        sub, nxt = ifd(nxt)
        hops += 1
        flags = sub.get(254, (0,))[0]
        if flags & 1 and not flags & 4:
            has_overviews = True
            break
    tiled = 322 in tags
    block = (tags[323][0], tags[322][0]) if tiled else (tags.get(278, (height,))[0], width)
    extras = list(tags.get(338, ()))
    colorinterp = _colorinterp(photometric, count, extras)
    header = TiffHeader(
        width=width, height=height, count=count, dtype=dtype, epsg=epsg, transform=transform, nodata=nodata,
        tiled=tiled, block=block, has_overviews=has_overviews, cog_layout=cog, datetime=tags.get(306),
        colorinterp=colorinterp, descriptions=[None] * count, scales=[1.0] * count, offsets=[0.0] * count,
        units=[None] * count,
    )  # fmt: skip
    if 42112 in tags:
        _apply_gdal_metadata(header, tags[42112])
    return header


def _epsg(tags: dict[int, Any]) -> int:
    keys_raw = tags.get(34735)
    if not keys_raw or len(keys_raw) < 4:
        raise _Unsupported
    n = keys_raw[3]
    keys: dict[int, int] = {}
    for k in range(n):
        key_id, location, _cnt, value = keys_raw[4 + 4 * k : 8 + 4 * k]
        if location == 0:
            keys[key_id] = value
        elif key_id not in (1026, 2049, 3073, 2057, 2058, 2059):
            # citations (GeoAsciiParams) and ellipsoid axes (GeoDoubleParams) restate the EPSG code
            raise _Unsupported
        else:
            keys[key_id] = -1
    for key_id, value in keys.items():
        if key_id in _HARMLESS_KEYS:
            continue
        if _DEFAULT_UNITS.get(key_id) == value:
            continue
        raise _Unsupported
    if keys.get(1025, 1) != 1:
        raise _Unsupported  # PixelIsPoint: GDAL shifts the grid by half a pixel
    model = keys.get(1024)
    code = keys.get(3072) if model == 1 else keys.get(2048) if model == 2 else None
    if code is None or not 1024 <= code <= 32766:
        raise _Unsupported
    return int(code)


def _transform(tags: dict[int, Any]) -> tuple[float, float, float, float, float, float]:
    if 34264 in tags:
        m = tags[34264]
        if len(m) != 16 or m[1] or m[4]:
            raise _Unsupported
        return (m[0], 0.0, m[3], 0.0, m[5], m[7])
    scale, tie = tags.get(33550), tags.get(33922)
    if not scale or not tie or len(tie) != 6:
        raise _Unsupported
    sx, sy = scale[0], scale[1]
    i, j, x, y = tie[0], tie[1], tie[3], tie[4]
    return (sx, 0.0, x - i * sx, 0.0, -sy, y + j * sy)


def _colorinterp(photometric: int, count: int, extras: list[int]) -> list[str]:
    out = ["undefined"] * count
    if photometric == 2 and count >= 3:
        out[:3] = ["red", "green", "blue"]
        start = 3
    elif photometric in (0, 1) and count >= 1:
        out[0] = "gray"
        start = 1
    else:
        start = 0
    for k, kind in enumerate(extras):
        if start + k < count and kind in (1, 2):
            out[start + k] = "alpha"
    return out


def _apply_gdal_metadata(header: TiffHeader, xml_text: str) -> None:
    root = ET.fromstring(xml_text)
    for item in root.iter("Item"):
        name, sample, role = item.get("name"), item.get("sample"), item.get("role")
        value = item.text or ""
        if item.get("domain"):
            raise _Unsupported  # other domains (e.g. IMAGE_STRUCTURE, RPC): let GDAL interpret
        if sample is None:
            if name:
                header.tags[name] = value
            continue
        b = int(sample)
        if not 0 <= b < header.count:
            raise _Unsupported
        if role == "description":
            header.descriptions[b] = value
        elif role == "scale":
            header.scales[b] = float(value)
        elif role == "offset":
            header.offsets[b] = float(value)
        elif role == "unittype":
            header.units[b] = value
        elif role in ("colorinterp",):
            header.colorinterp[b] = value.lower()
        elif role is None:
            continue  # band-level metadata items are not used
        else:
            raise _Unsupported
