"""CQL2 filters (text and JSON, parsed and validated by the ``cql2`` package) and the query
extension, turned into SQL over the embedded index where that is exact, else evaluated by ``cql2``.

Each top-level ``AND`` term becomes one of:

* a spatial restriction (``S_INTERSECTS(geometry, ...)``): the R*Tree prefilter and the exact
  shapely test the index already does for ``intersects``;
* a SQL condition on the index columns (``id``, ``collection``, datetimes) or on
  ``json_extract`` of a property (from the items' stored properties): comparisons, ``LIKE``, ``BETWEEN``, ``IN``, ``IS NULL``,
  ``NOT``/``AND``/``OR`` of those, ``T_INTERSECTS`` on ``datetime``;
* anything else: evaluated with ``cql2.Expr.matches`` on the items the other terms left.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eokit.catalog.api_params import StacApiError, load_json, parse_intersects

__all__ = ["CompiledFilter", "bbox_literals", "compile_filter", "normalise_search_body", "query_to_cql2"]

_CRS84 = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/4326")
_COMPARE = {"=": "=", "<>": "!=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.\-]*$")
_SPATIAL = {"s_intersects", "intersects"}
_TEMPORAL = {"t_intersects", "anyinteracts"}


class _Untranslatable(Exception):
    pass


@dataclass
class CompiledFilter:
    """SQL conditions (with arguments), a spatial restriction and a residual predicate."""

    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    geometry: Any = None
    residual: Callable[[dict[str, Any]], bool] | None = None


def _bad(text: str) -> StacApiError:
    return StacApiError(400, text)


def _draft_between(node: Any) -> Any:
    """CQL2 drafts wrote ``between`` as ``[property, [low, high]]``; 1.0 as ``[property, low, high]``."""
    if isinstance(node, list):
        return [_draft_between(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft_between(v) for k, v in node.items()}
    args: Any = out.get("args")
    is_between = str(out.get("op", "")).lower() == "between" and isinstance(args, list) and len(args) == 2
    if is_between and isinstance(args[1], list) and len(args[1]) == 2:
        out["args"] = [args[0], *args[1]]
    return out


def parse_cql2(value: Any, lang: str | None) -> dict[str, Any]:
    """The CQL2-JSON form of a ``filter`` given as text or JSON; 400 when it does not parse or validate."""
    import cql2

    if lang not in (None, "cql2-text", "cql2-json"):
        raise _bad("filter-lang must be cql2-text or cql2-json")
    try:
        if isinstance(value, dict):
            expr = cql2.parse_json(json.dumps(_draft_between(value)))
        elif isinstance(value, str):
            if lang == "cql2-json" or (lang is None and value.lstrip().startswith("{")):
                expr = cql2.parse_json(json.dumps(_draft_between(load_json(value))))
            else:
                expr = cql2.parse_text(value)
        else:
            raise _bad("filter must be CQL2 text or a CQL2 JSON object")
        out: dict[str, Any] = expr.to_json()
    except (ValueError, cql2.ParseError, cql2.ValidationError) as exc:
        raise _bad(f"filter is not valid CQL2: {str(exc).splitlines()[0][:300]}") from None
    return out


def _prop(node: Any) -> str | None:
    if isinstance(node, dict) and set(node) == {"property"} and isinstance(node["property"], str):
        name = node["property"]
        if not _NAME.match(name):
            raise _bad(f"unsupported property name {name!r}")
        return name
    return None


def _column(name: str) -> tuple[str, list[Any]]:
    if name in ("id", "collection"):
        return name, []
    if name in ("datetime", "properties.datetime"):
        return "dt_start", []
    path = name.removeprefix("properties.")
    return "json_extract(props, ?)", ["$." + ".".join(f'"{p}"' for p in path.split("."))]


def _literal(node: Any, *, epoch: bool) -> Any:
    from eokit.catalog.api_params import parse_datetime_interval

    if isinstance(node, bool):
        return int(node)
    if isinstance(node, int | float | str) and not epoch:
        return node
    if isinstance(node, dict) and len(node) == 1 and ("timestamp" in node or "date" in node):
        text = node.get("timestamp") or node.get("date")
        if not epoch:
            return text
        if "date" in node:
            text = f"{text}T00:00:00Z"
        return parse_datetime_interval(text)[0]
    if isinstance(node, str) and epoch:
        return parse_datetime_interval(node)[0]
    raise _Untranslatable


def _sql(node: Any) -> tuple[str, list[Any]]:
    """SQL for a CQL2-JSON node, or _Untranslatable."""
    if isinstance(node, bool):
        return ("1" if node else "0"), []
    if not isinstance(node, dict) or "op" not in node:
        raise _Untranslatable
    op, args = str(node["op"]).lower(), node.get("args") or []
    if op in ("and", "or"):
        parts = [_sql(a) for a in args]
        return "(" + f" {op.upper()} ".join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]
    if op == "not" and len(args) == 1:
        inner, vals = _sql(args[0])
        return f"(NOT {inner})", vals
    name = _prop(args[0]) if args else None
    if name is None or name == "geometry":
        raise _Untranslatable
    col, cargs = _column(name)
    epoch = col == "dt_start"
    if op in _COMPARE and len(args) == 2:
        if epoch and op not in ("=", "<>", "!="):
            # an item spans [dt_start, dt_end]: compare the end that decides
            col = "dt_end" if op in (">", ">=") else "dt_start"
        return f"({col} {_COMPARE[op]} ?)", [*cargs, _literal(args[1], epoch=epoch)]
    if op == "like" and len(args) == 2 and isinstance(args[1], str) and not epoch:
        return f"({col} LIKE ? ESCAPE '\\')", [*cargs, args[1]]
    if op == "between" and len(args) == 3:
        lo, hi = _literal(args[1], epoch=epoch), _literal(args[2], epoch=epoch)
        return f"({col} BETWEEN ? AND ?)", [*cargs, lo, hi]
    if op == "in" and len(args) == 2 and isinstance(args[1], list) and args[1]:
        vals = [_literal(v, epoch=epoch) for v in args[1]]
        return f"({col} IN ({','.join('?' * len(vals))}))", [*cargs, *vals]
    if op == "isnull" and len(args) == 1:
        return f"({col} IS NULL)", cargs
    if op in _TEMPORAL and len(args) == 2 and epoch:
        other = args[1]
        if isinstance(other, dict) and isinstance(other.get("interval"), list) and len(other["interval"]) == 2:
            lo, hi = (None if v in ("..", None) else _literal(v, epoch=True) for v in other["interval"])
        else:
            lo = hi = _literal(other, epoch=True)
        conds, vals = [], []
        if lo is not None:
            conds.append("dt_end >= ?")
            vals.append(lo)
        if hi is not None:
            conds.append("dt_start <= ?")
            vals.append(hi)
        return "(" + (" AND ".join(conds) or "1") + ")", vals
    raise _Untranslatable


def _spatial(node: Any) -> Any:
    """The query geometry of a top-level ``S_INTERSECTS(geometry, G)``, else None."""
    if not isinstance(node, dict) or str(node.get("op", "")).lower() not in _SPATIAL:
        return None
    args = node.get("args") or []
    if len(args) != 2:
        return None
    for a, b in (args, args[::-1]):
        if _prop(a) == "geometry" and isinstance(b, dict):
            if "bbox" in b and isinstance(b["bbox"], list):
                from eokit.catalog.api_params import parse_bbox
                from eokit.core.geometry import bbox_geometry

                bbox = parse_bbox(b["bbox"])
                return bbox_geometry(bbox) if bbox else None
            return parse_intersects(b)
    return None


@functools.lru_cache(maxsize=256)
def _validated(text: str) -> Any:
    import cql2

    expr = cql2.parse_json(text)
    try:
        expr.validate()
    except (ValueError, cql2.ValidationError) as exc:
        raise _bad(f"filter is not valid CQL2: {str(exc).splitlines()[0][:300]}") from None
    return expr


def compile_filter(value: Any, lang: str | None = None, crs: str | None = None) -> CompiledFilter:
    """Compile a ``filter`` parameter (see the module docstring)."""

    if crs not in (None, *_CRS84):
        raise _bad("filter-crs must be http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    tree = parse_cql2(value, lang)
    terms = tree["args"] if str(tree.get("op", "")).lower() == "and" else [tree]
    out, rest = CompiledFilter(), []
    for term in terms:
        geom = _spatial(term)
        if geom is not None and out.geometry is None:
            out.geometry = geom
            continue
        try:
            sql, args = _sql(term)
        except _Untranslatable:
            rest.append(term)
            continue
        out.where.append(sql)
        out.args += args
    if rest:
        # the terms translated above were checked by the translator itself; the rest are validated
        # here (cql2's schema validation costs tens of milliseconds, so only when needed)
        out.residual = _validated(json.dumps(rest[0] if len(rest) == 1 else {"op": "and", "args": rest})).matches
    return out


_QUERY_OPS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def query_to_cql2(query: Any) -> dict[str, Any] | None:
    """The query extension (``{"prop": {"op": value}}``) as CQL2 JSON; 400 on unknown operators."""
    if query is None or query == "" or query == {}:
        return None
    if isinstance(query, str):
        try:
            query = load_json(query)
        except ValueError:
            raise _bad("query must be a JSON object") from None
    if not isinstance(query, dict):
        raise _bad("query must be a JSON object")
    terms: list[Any] = []
    for name, ops in query.items():
        if not isinstance(ops, dict) or not _NAME.match(str(name)):
            raise _bad(f"query for {name!r} must be an object of operators")
        prop = {"property": name}
        for op, value in ops.items():
            if op in _QUERY_OPS:
                terms.append({"op": _QUERY_OPS[op], "args": [prop, value]})
            elif op in ("startsWith", "endsWith", "contains") and isinstance(value, str):
                esc = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                pattern = {"startsWith": f"{esc}%", "endsWith": f"%{esc}", "contains": f"%{esc}%"}[op]
                terms.append({"op": "like", "args": [prop, pattern]})
            elif op == "in" and isinstance(value, list):
                terms.append({"op": "in", "args": [prop, value]})
            else:
                raise _bad(f"unsupported query operator {op!r}")
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else {"op": "and", "args": terms}


def normalise_search_body(doc: dict[str, Any]) -> dict[str, Any]:
    """A POST body as both backends' request models take it: explicit nulls refused (ValueError), a lone
    string for ``collections``/``ids`` made a list, a CQL2 text ``filter`` turned into CQL2 JSON."""
    nulls = sorted(k for k, v in doc.items() if v is None)
    if nulls:
        raise ValueError(f"null is not a valid value for: {', '.join(nulls)}")
    out = dict(doc)
    for key in ("collections", "ids"):
        if isinstance(out.get(key), str):
            out[key] = [out[key]]
    if isinstance(out.get("filter"), str):
        try:
            out["filter"] = parse_cql2(out["filter"], out.get("filter-lang"))
        except StacApiError as exc:
            raise ValueError(exc.description) from None
        out["filter-lang"] = "cql2-json"
    if isinstance(out.get("filter"), dict):
        out["filter"] = bbox_literals(out["filter"])
    return out


def bbox_literals(node: Any) -> Any:
    """CQL2 ``{"bbox": [...]}`` literals as GeoJSON (pgstac takes only geometries; split at ±180°)."""
    if isinstance(node, list):
        return [bbox_literals(v) for v in node]
    if not isinstance(node, dict):
        return node
    box = node.get("bbox")
    if set(node) == {"bbox"} and isinstance(box, list) and len(box) in (4, 6):
        from shapely.geometry import mapping

        from eokit.catalog.api_params import parse_bbox
        from eokit.core.geometry import bbox_geometry

        try:
            checked = parse_bbox(box)
        except StacApiError as exc:
            raise ValueError(exc.description) from None
        return mapping(bbox_geometry(checked)) if checked else node
    return {k: bbox_literals(v) for k, v in node.items()}
