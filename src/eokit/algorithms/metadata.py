"""Landsat metadata: ``*_MTL.txt`` (ODL), ``*_MTL.json``, ``*_MTL.xml`` and ``*_ANG.txt`` files.

:func:`parse_odl` turns ``GROUP = X ... END_GROUP = X`` blocks into nested dicts
with typed values (int, float, str, tuples, ISO dates/times kept as strings);
the JSON and XML forms USGS and STAC catalogues serve parse to the same dicts.
:func:`read_mtl` reads any of the three; :func:`band_factors` gives each band's
conversion to physical values by product level (Level-1 TOA reflectance with the
sun-elevation correction, radiance, brightness temperature; Level-2 SR and ST);
:func:`parse_product_id` reads the processing level and collection from a name.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from eokit.errors import InputNotFoundError, InvalidInputError, UnreadableInputError

__all__ = [
    "BandFactors",
    "LandsatId",
    "acquisition_time",
    "band_factors",
    "parse_mtl",
    "parse_odl",
    "parse_product_id",
    "read_ang",
    "read_mtl",
    "scale_factors",
    "spacecraft",
]

_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return tuple(_value(v) for v in text[1:-1].split(",") if v.strip())
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if _NUM.match(text):
        if re.match(r"^[+-]?\d+$", text):
            return int(text)
        return float(text)
    return text


def parse_odl(text: str, *, source: str = "<text>") -> dict[str, Any]:
    """Parse ODL (``KEY = VALUE`` lines inside ``GROUP``/``END_GROUP``) into nested dicts."""
    root: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [root]
    names: list[str] = []
    pending_key: str | None = None
    pending: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if pending_key is not None:
            pending.append(line)
            if line.endswith(")"):
                stack[-1][pending_key] = _value(" ".join(pending))
                pending_key, pending = None, []
            continue
        if not line or line == "END":
            continue
        if "=" not in line:
            raise UnreadableInputError(f"line {lineno} is not 'KEY = VALUE' (not an ODL metadata file)", path=source)
        key, value = (p.strip() for p in line.split("=", 1))
        if key == "GROUP":
            child: dict[str, Any] = {}
            stack[-1][value] = child
            stack.append(child)
            names.append(value)
        elif key == "END_GROUP":
            if not names or names[-1] != value:
                raise UnreadableInputError(f"line {lineno}: END_GROUP {value} does not close a group", path=source)
            stack.pop()
            names.pop()
        elif value.startswith("(") and not value.endswith(")"):
            pending_key, pending = key, [value]
        else:
            stack[-1][key] = _value(value)
    if names:
        raise UnreadableInputError(f"unclosed GROUP {names[-1]}", path=source)
    return root


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputNotFoundError("no such file", path=p)
    with open(p, encoding="utf-8", errors="replace") as fh:
        return parse_odl(fh.read(), source=p)


def _typed(obj: Any) -> Any:
    """JSON/XML MTL values are all strings: type them the way the ODL parser does."""
    if isinstance(obj, dict):
        return {k: _typed(v) for k, v in obj.items()}
    return _value(obj) if isinstance(obj, str) else obj


def _xml_dict(elem: ET.Element) -> Any:
    children = list(elem)
    if not children:
        return _value(elem.text or "")
    return {c.tag.rsplit("}", 1)[-1]: _xml_dict(c) for c in children}


def parse_mtl(data: bytes, *, source: str = "<bytes>") -> dict[str, Any]:
    """Parse MTL bytes in any of USGS's three forms (ODL text, JSON, XML) into the same nested dicts."""
    head = data.lstrip()[:1]
    if b"\0" in data[:4096]:
        raise UnreadableInputError("binary data, not a Landsat MTL file", path=source)
    text = data.decode("utf-8", errors="replace")
    try:
        if head == b"{":
            tree = _typed(json.loads(text))
        elif head == b"<":
            root = ET.fromstring(data)
            tree = {root.tag.rsplit("}", 1)[-1]: _xml_dict(root)}
        else:
            tree = parse_odl(text, source=source)
    except (json.JSONDecodeError, ET.ParseError) as exc:
        kind = "JSON" if head == b"{" else "XML"
        raise UnreadableInputError(f"not valid {kind} ({_where(exc)})", path=source) from None
    mtl = tree.get("LANDSAT_METADATA_FILE") or tree.get("L1_METADATA_FILE") if isinstance(tree, dict) else None
    if not isinstance(mtl, dict) or not mtl:
        raise UnreadableInputError("not a Landsat MTL file (no LANDSAT_METADATA_FILE group)", path=source)
    return mtl


def _where(exc: Exception) -> str:
    pos = getattr(exc, "position", None) or (getattr(exc, "lineno", "?"), getattr(exc, "colno", "?"))
    return f"line {pos[0]}, column {pos[1]}"


def read_mtl(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a Landsat ``*_MTL.txt``, ``*_MTL.json`` or ``*_MTL.xml``.

    Returns the ``LANDSAT_METADATA_FILE`` group (Collection 2) or ``L1_METADATA_FILE`` (Collection 1).
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputNotFoundError("no such file", path=p)
    with open(p, "rb") as fh:
        return parse_mtl(fh.read(), source=p)


def read_ang(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a Landsat ``*_ANG.txt`` angle-coefficient file (ephemeris, solar vectors, scan times)."""
    tree = _read(path)
    if "EPHEMERIS" not in tree:
        raise UnreadableInputError("not a Landsat ANG file (no EPHEMERIS group)", path=os.fspath(path))
    return tree


def _find(mtl: dict[str, Any], key: str) -> Any:
    for value in mtl.values():
        if isinstance(value, dict):
            if key in value:
                return value[key]
            found = _find(value, key)
            if found is not None:
                return found
    return mtl.get(key)


def acquisition_time(mtl: dict[str, Any]) -> dt.datetime:
    """Scene-centre acquisition time (UTC, timezone-aware) from ``DATE_ACQUIRED`` + ``SCENE_CENTER_TIME``."""
    date = _find(mtl, "DATE_ACQUIRED")
    time = _find(mtl, "SCENE_CENTER_TIME")
    if date is None or time is None:
        raise InvalidInputError("MTL has no DATE_ACQUIRED / SCENE_CENTER_TIME")
    time = str(time).rstrip("Z")
    hms, _, frac = time.partition(".")
    micro = int((frac + "000000")[:6]) if frac else 0
    stamp = dt.datetime.strptime(f"{date} {hms}", "%Y-%m-%d %H:%M:%S").replace(microsecond=micro)
    return stamp.replace(tzinfo=dt.UTC)


def spacecraft(mtl: dict[str, Any]) -> str:
    """``landsat4`` .. ``landsat9`` from ``SPACECRAFT_ID``."""
    sid = str(_find(mtl, "SPACECRAFT_ID") or "")
    m = re.search(r"(\d)", sid)
    if not m:
        raise InvalidInputError(f"MTL SPACECRAFT_ID {sid!r} is not a Landsat")
    return f"landsat{m.group(1)}"


def scale_factors(mtl: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Collection 2 Level-2 ``{band: (mult, add)}``: ``SR_B1``.. from reflectance, ``ST_B10``/``ST_B6`` from temperature."""
    out: dict[str, tuple[float, float]] = {}
    sr = mtl.get("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", {})
    for key, mult in sr.items():
        m = re.fullmatch(r"REFLECTANCE_MULT_BAND_(\d+)", key)
        if m:
            out[f"SR_B{m.group(1)}"] = (float(mult), float(sr[f"REFLECTANCE_ADD_BAND_{m.group(1)}"]))
    st = mtl.get("LEVEL2_SURFACE_TEMPERATURE_PARAMETERS", {})
    for key, mult in st.items():
        m = re.fullmatch(r"TEMPERATURE_MULT_BAND_(ST_B\d+)", key)
        if m:
            out[m.group(1)] = (float(mult), float(st[f"TEMPERATURE_ADD_BAND_{m.group(1)}"]))
    if not out:
        raise InvalidInputError("MTL has no Level-2 scale factors (is it a Level-1 product?)")
    return out


_ID = re.compile(
    r"(?P<sensor>L[COTEM])(?P<sat>\d\d)_(?P<level>L1TP|L1GT|L1GS|L2SP|L2SR)_(?P<path>\d{3})(?P<row>\d{3})_"
    r"(?P<acquired>\d{8})_(?P<processed>\d{8})_(?P<collection>\d\d)_(?P<category>T1|T2|RT|A1|A2)"
    r"(?:_(?P<band>SR_B\d+|ST_B\d+|B\d+|QA_PIXEL|QA_RADSAT|SR_QA_AEROSOL|ST_QA|VAA|VZA|SAA|SZA))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LandsatId:
    """What a Landsat product id (``LC08_L2SP_224078_20200127_20200823_02_T1[_SR_B4]``) says."""

    spacecraft: str  # "landsat8"
    level: str  # "L1TP", "L2SP"...
    collection: int  # 1 or 2
    band: str | None  # "SR_B4", "B2", "ST_B10", None


def parse_product_id(name: str) -> LandsatId | None:
    """The :class:`LandsatId` in a file name or product id, or ``None`` when there is none."""
    m = _ID.search(os.path.basename(name))
    if not m:
        return None
    band = m.group("band")
    return LandsatId(
        spacecraft=f"landsat{int(m.group('sat'))}",
        level=m.group("level").upper(),
        collection=int(m.group("collection")),
        band=band.upper() if band else None,
    )


@dataclass(frozen=True)
class BandFactors:
    """How one band's DN become physical values: ``value = DN * scale + offset``, then (thermal Level-1)
    ``K2 / ln(K1 / value + 1)`` when ``k1k2`` is set."""

    quantity: str  # "reflectance", "toa_reflectance", "radiance", "brightness_temperature", "temperature"
    scale: float
    offset: float
    k1k2: tuple[float, float] | None = None


def _group(mtl: dict[str, Any], *names: str) -> dict[str, Any]:
    for n in names:
        g = mtl.get(n)
        if isinstance(g, dict):
            return g
    return {}


def band_factors(mtl: dict[str, Any], band: str, *, quantity: str | None = None) -> BandFactors:
    """Conversion of ``band`` (``SR_B4``, ``ST_B10``, ``B4``, ``B10``) to physical values from an MTL.

    Level-2 ``SR_Bn`` -> surface reflectance, ``ST_Bn`` -> kelvin. Level-1 ``Bn``:
    reflective bands -> TOA reflectance divided by the sine of the scene-centre sun
    elevation (``quantity="radiance"`` for radiance), thermal bands -> brightness
    temperature (kelvin; ``quantity="radiance"`` for radiance).
    """
    key = band.upper()
    m = re.fullmatch(r"(SR_|ST_)?B(\d+)", key)
    if not m:
        raise InvalidInputError(f"band {band!r} is not SR_Bn, ST_Bn or Bn", param="band")
    prefix, num = m.group(1), m.group(2)
    if prefix == "SR_":
        g = _group(mtl, "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS")
        if f"REFLECTANCE_MULT_BAND_{num}" not in g:
            raise InvalidInputError(f"the MTL has no surface-reflectance factors for {key}", param="band")
        return BandFactors("reflectance", float(g[f"REFLECTANCE_MULT_BAND_{num}"]),
                           float(g[f"REFLECTANCE_ADD_BAND_{num}"]))  # fmt: skip
    if prefix == "ST_":
        g = _group(mtl, "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS")
        if f"TEMPERATURE_MULT_BAND_{key}" not in g:
            raise InvalidInputError(f"the MTL has no surface-temperature factors for {key}", param="band")
        return BandFactors("temperature", float(g[f"TEMPERATURE_MULT_BAND_{key}"]),
                           float(g[f"TEMPERATURE_ADD_BAND_{key}"]))  # fmt: skip
    g = _group(mtl, "LEVEL1_RADIOMETRIC_RESCALING", "RADIOMETRIC_RESCALING")
    thermal = _group(mtl, "LEVEL1_THERMAL_CONSTANTS", "TIRS_THERMAL_CONSTANTS", "THERMAL_CONSTANTS")
    if f"RADIANCE_MULT_BAND_{num}" not in g and f"REFLECTANCE_MULT_BAND_{num}" not in g:
        raise InvalidInputError(f"the MTL has no Level-1 rescaling factors for band {num}", param="band")
    if quantity == "radiance":
        return BandFactors("radiance", float(g[f"RADIANCE_MULT_BAND_{num}"]), float(g[f"RADIANCE_ADD_BAND_{num}"]))
    if f"REFLECTANCE_MULT_BAND_{num}" in g:
        elev = _find(mtl, "SUN_ELEVATION")
        if elev is None or not 0 < float(elev) <= 90:
            raise InvalidInputError(f"SUN_ELEVATION {elev!r}: the sun is not above the horizon", param="band")
        s = math.sin(math.radians(float(elev)))
        return BandFactors("toa_reflectance", float(g[f"REFLECTANCE_MULT_BAND_{num}"]) / s,
                           float(g[f"REFLECTANCE_ADD_BAND_{num}"]) / s)  # fmt: skip
    k1, k2 = thermal.get(f"K1_CONSTANT_BAND_{num}"), thermal.get(f"K2_CONSTANT_BAND_{num}")
    if k1 is None or k2 is None:
        raise InvalidInputError(f"the MTL has no thermal constants for band {num}", param="band")
    return BandFactors("brightness_temperature", float(g[f"RADIANCE_MULT_BAND_{num}"]),
                       float(g[f"RADIANCE_ADD_BAND_{num}"]), (float(k1), float(k2)))  # fmt: skip


def summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Key facts of an MTL: product id, spacecraft, acquisition time, sun angles, Level-2 scale factors."""
    mtl = read_mtl(path)
    out: dict[str, Any] = {
        "product_id": _find(mtl, "LANDSAT_PRODUCT_ID"),
        "spacecraft": spacecraft(mtl),
        "acquired": acquisition_time(mtl).isoformat(),
        "sun_azimuth": _find(mtl, "SUN_AZIMUTH"),
        "sun_elevation": _find(mtl, "SUN_ELEVATION"),
    }
    try:
        out["scale_factors"] = {k: {"mult": m, "add": a} for k, (m, a) in scale_factors(mtl).items()}
    except InvalidInputError:
        out["scale_factors"] = {}
    return out
