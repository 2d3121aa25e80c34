"""Parsing and checking STAC API request parameters (GET strings and POST JSON alike); errors are 400s."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from eokit.errors import EokitError

__all__ = [
    "DEFAULT_FIELDS",
    "StacApiError",
    "apply_fields",
    "load_json",
    "parse_bbox",
    "parse_datetime_interval",
    "parse_fields",
    "parse_intersects",
    "parse_limit",
    "parse_sortby",
    "parse_str_list",
    "parse_token",
]

MAX_LIMIT = 10000
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)  # fmt: skip
_FIELD = re.compile(r"^[A-Za-z0-9_:.\-]+$")
_TOKEN = re.compile(r"^[0-9]{1,12}$")
MAX_JSON_DEPTH = 64


class StacApiError(EokitError):
    """An error answered as ``{"code": ..., "description": ...}`` with an HTTP status."""

    def __init__(self, status: int, description: str, code: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.code = code or {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed"}.get(status, "Error")


def _bad(description: str) -> StacApiError:
    return StacApiError(400, description)


def load_json(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses (ValueError) documents nested deeper than ``max_depth``.

    >>> load_json('{"a": [1, 2]}')
    {'a': [1, 2]}
    """
    try:
        doc = json.loads(data)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values() if isinstance(v, dict | list)]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node if isinstance(v, dict | list)]
    return doc


# ---------------------------------------------------------------- parameter parsing
def parse_bbox(value: Any) -> list[float] | None:
    """A 4- or 6-number bbox from ``"a,b,c,d"`` or a list; 400 on anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parts = value.split(",")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise _bad(f"bbox must be 4 or 6 comma-separated numbers, got {value!r}") from None
    elif isinstance(value, list | tuple):
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise _bad("bbox must be a list of 4 or 6 numbers")
        nums = [float(v) for v in value]
    else:
        raise _bad("bbox must be a list of 4 or 6 numbers")
    if len(nums) not in (4, 6) or not all(math.isfinite(v) for v in nums):
        raise _bad("bbox must have 4 or 6 finite numbers")
    half = len(nums) // 2
    minx, miny, maxx, maxy = nums[0], nums[1], nums[half], nums[half + 1]
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _bad("bbox must be within [-180, -90, 180, 90] with south <= north")
    if half == 3 and nums[2] > nums[5]:
        raise _bad("bbox minimum elevation is above the maximum")
    return nums


def _parse_instant(text: str) -> float:
    """Epoch seconds of an RFC 3339 date-time (a date alone is refused, as the STAC API requires)."""
    from datetime import datetime

    m = _RFC3339.match(text)
    if not m:
        raise _bad(f"datetime {text!r} is not RFC 3339 (e.g. 2020-01-01T00:00:00Z)")
    frac = (m.group(7) or "")[:7].ljust(7, "0") if m.group(7) else ""
    tz = "+00:00" if m.group(8) in ("Z", "z") else m.group(8)
    norm = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}{frac}{tz}"
    try:
        return datetime.fromisoformat(norm).timestamp()
    except (ValueError, OverflowError, OSError):
        raise _bad(f"datetime {text!r} is not a valid date and time") from None


def parse_datetime_interval(value: Any) -> tuple[float | None, float | None]:
    """``instant`` | ``start/end`` with open ends ``..`` or empty; 400 when malformed or reversed."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        raise _bad("datetime must be a string")
    if "/" not in value:
        t = _parse_instant(value)
        return t, t
    parts = value.split("/")
    if len(parts) != 2:
        raise _bad(f"datetime interval {value!r} must be START/END")
    start = None if parts[0] in ("", "..") else _parse_instant(parts[0])
    end = None if parts[1] in ("", "..") else _parse_instant(parts[1])
    if start is None and end is None:
        raise _bad("datetime interval needs at least one closed end")
    if start is not None and end is not None and start > end:
        raise _bad("datetime interval start is after its end")
    return start, end


def parse_limit(value: Any) -> int:
    if value is None or value == "":
        return 10
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        limit = int(value)
    except (TypeError, ValueError, OverflowError):
        raise _bad(f"limit must be an integer between 1 and {MAX_LIMIT}") from None
    if limit < 1:
        raise _bad(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    # STAC API / OGC Features: a limit above the maximum is served as the maximum
    return min(limit, MAX_LIMIT)


def parse_token(value: Any) -> int:
    if value is None or value == "":
        return 0
    text = str(value)
    if not _TOKEN.match(text):
        raise _bad("token is not a page token this server issued")
    return int(text)


def parse_intersects(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = load_json(value)
        except ValueError:
            raise _bad("intersects must be a GeoJSON geometry") from None
    if not isinstance(value, dict) or "type" not in value:
        raise _bad("intersects must be a GeoJSON geometry object")
    import shapely
    import shapely.geometry

    try:
        geom = shapely.geometry.shape(value)
    except Exception:  # shapely raises many types on malformed coordinates
        raise _bad("intersects is not a valid GeoJSON geometry") from None
    if geom.is_empty or not all(math.isfinite(v) for v in geom.bounds):
        raise _bad("intersects geometry is empty or has non-finite coordinates")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def parse_str_list(value: Any, name: str) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise _bad(f"{name} must be a list of strings")
    if len(items) > MAX_LIMIT:
        raise _bad(f"at most {MAX_LIMIT} {name} per request")
    return items or None


def parse_sortby(value: Any) -> list[tuple[str, bool]]:
    if value is None or value == "":
        return []
    out = []
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            asc = not part.startswith("-")
            out.append((part.lstrip("+- "), asc))
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
                raise _bad("sortby entries must be objects with 'field' and 'direction'")
            direction = entry.get("direction", "asc")
            if direction not in ("asc", "desc"):
                raise _bad("sortby direction must be 'asc' or 'desc'")
            out.append((entry["field"], direction == "asc"))
    else:
        raise _bad("sortby must be a string or a list of objects")
    for fld, _ in out:
        if not _FIELD.match(fld):
            raise _bad(f"cannot sort by {fld!r}")
    return out


def parse_fields(value: Any) -> tuple[list[str] | None, list[str]] | None:
    """``(include, exclude)``; ``include`` is None when not given at all (None overall: no fields parameter)."""
    if value is None:
        return None
    if isinstance(value, str):
        include: list[str] = []
        exclude: list[str] = []
        for part in value.split(","):
            part = part.strip()
            if part.startswith("-"):
                exclude.append(part[1:])
            elif part:
                include.append(part.lstrip("+"))
        return (include if include or not exclude else None), exclude
    if isinstance(value, dict):
        out: dict[str, list[str] | None] = {}
        for name in ("include", "exclude"):
            got = value.get(name)
            if got is not None and (not isinstance(got, list) or not all(isinstance(v, str) for v in got)):
                raise _bad(f"fields.{name} must be a list of strings")
            out[name] = (got or []) if name in value else None
        return out["include"], out["exclude"] or []
    raise _bad("fields must be a string or an object with include/exclude")


DEFAULT_FIELDS = ("type", "stac_version", "id", "geometry", "bbox", "links", "assets", "properties.datetime")
_ALWAYS = ("type", "stac_version", "id", "links")


def apply_fields(item: dict[str, Any], fields: tuple[list[str] | None, list[str]] | None) -> dict[str, Any]:
    """Fields extension.

    - no ``fields``: the whole item;
    - only ``exclude`` (no ``include`` at all): the whole item minus ``exclude``;
    - empty/null ``include``: the default set (type, stac_version, id, geometry, bbox, links, assets,
      properties.datetime) minus ``exclude``;
    - ``include`` given: type, stac_version, id, links and the included paths, minus ``exclude``;
      a path both included and excluded is included, and an excluded parent keeps its included
      children (``-properties,+properties.gsd``).
    """
    if fields is None:
        return item
    include, exclude = fields
    out: dict[str, Any] = {}
    if include is None and exclude:
        out = json.loads(json.dumps(item))
    else:
        paths = (*_ALWAYS, *include) if include else DEFAULT_FIELDS
        for path in paths:
            _copy_path(item, out, path.split("."))
    include = include or []
    for path in exclude:
        if path in include:
            continue
        _drop_path(out, path.split("."))
        for inc in include:
            if inc.startswith(path + "."):
                _copy_path(item, out, inc.split("."))
    return out


def _copy_path(src: dict[str, Any], dst: dict[str, Any], parts: list[str]) -> None:
    head = parts[0]
    if head not in src:
        return
    if len(parts) == 1:
        dst[head] = src[head]
    elif isinstance(src[head], dict):
        sub = dst.setdefault(head, {})
        if isinstance(sub, dict):
            _copy_path(src[head], sub, parts[1:])


def _drop_path(dst: dict[str, Any], parts: list[str]) -> None:
    if len(parts) == 1:
        dst.pop(parts[0], None)
    elif isinstance(dst.get(parts[0]), dict):
        _drop_path(dst[parts[0]], parts[1:])
