"""Landsat metadata: the ODL text format of ``*_MTL.txt`` and ``*_ANG.txt`` files.

:func:`read_odl` turns ``GROUP = X ... END_GROUP = X`` blocks into nested dicts
with typed values (int, float, str, tuples, ISO dates/times kept as strings);
:func:`read_mtl` adds helpers for Collection 2 scale factors and acquisition time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from eokit.errors import InputNotFoundError, InvalidInputError, UnreadableInputError

__all__ = ["acquisition_time", "parse_odl", "read_ang", "read_mtl", "scale_factors", "spacecraft"]

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
            raise UnreadableInputError(f"line {lineno}: not 'KEY = VALUE': {line[:60]!r}", path=source)
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


def read_mtl(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a Landsat ``*_MTL.txt``; returns the ``LANDSAT_METADATA_FILE`` group (C2) or the whole tree (C1)."""
    tree = _read(path)
    mtl = tree.get("LANDSAT_METADATA_FILE") or tree.get("L1_METADATA_FILE") or tree
    if not isinstance(mtl, dict) or not mtl:
        raise UnreadableInputError("not a Landsat MTL file (no LANDSAT_METADATA_FILE group)", path=os.fspath(path))
    return mtl


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
