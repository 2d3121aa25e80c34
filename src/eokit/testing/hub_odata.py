"""A small OData ``$filter`` and Solr query evaluator for the local test hub.

Independent of the client-side translators in :mod:`eokit.hub`: this parses
the expressions a server receives and evaluates them against product records,
so client/server agreement in tests is a real check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eokit.errors import InvalidInputError

__all__ = ["ODataSyntaxError", "compile_filter", "compile_solr", "parse_time"]


class ODataSyntaxError(InvalidInputError):
    """The filter expression cannot be parsed."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<geo>geography'(?:[^']|'')*')
    | (?P<str>'(?:[^']|'')*')
    | (?P<dt>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?)
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<name>[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*)
    | (?P<punct>[(),:=])
    )""",
    re.X,
)


def parse_time(value: Any) -> datetime | None:
    """ISO time (any fraction) -> aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", str(value).strip())
    if not m:
        raise ODataSyntaxError(f"not a time: {value!r}")
    base = m.group(1) + (":00" if len(m.group(1)) == 16 else "")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(microsecond=int((m.group(2) or "0")[:6].ljust(6, "0")))
    return dt.replace(tzinfo=UTC)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataSyntaxError(f"unexpected text at {pos}: {text[pos : pos + 30]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


_OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}

Env = dict[str, Any]
Fn = Callable[[dict[str, Any], Env], Any]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1].lower() != value):
            raise ODataSyntaxError(f"expected {value!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Fn:
        fn = self.expr()
        if self.peek() is not None:
            raise ODataSyntaxError(f"trailing tokens from {self.peek()!r}")
        return fn

    def expr(self) -> Fn:
        left = self.and_expr()
        while (t := self.peek()) and t == ("name", "or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda p, e: bool(a(p, e)) or bool(b(p, e)))(left, right)
        return left

    def and_expr(self) -> Fn:
        left = self.not_expr()
        while (t := self.peek()) and t == ("name", "and"):
            self.take()
            right = self.not_expr()
            left = (lambda a, b: lambda p, e: bool(a(p, e)) and bool(b(p, e)))(left, right)
        return left

    def not_expr(self) -> Fn:
        if self.peek() == ("name", "not"):
            self.take()
            inner = self.not_expr()
            return lambda p, e: not inner(p, e)
        return self.comparison()

    def comparison(self) -> Fn:
        left = self.operand()
        t = self.peek()
        if t and t[0] == "name" and t[1] in _OPS:
            self.take()
            right = self.operand()
            op = _OPS[t[1]]

            def cmp(p: dict[str, Any], e: Env) -> bool:
                a, b = left(p, e), right(p, e)
                if isinstance(a, datetime) or isinstance(b, datetime):
                    a, b = parse_time(a), parse_time(b)
                elif isinstance(a, int | float) and isinstance(b, str):
                    b = float(b)
                return op(a, b)

            return cmp
        return left

    def operand(self) -> Fn:
        tok = self.take()
        kind, text = tok
        if kind == "punct" and text == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "str":
            value = text[1:-1].replace("''", "'")
            return lambda p, e: value
        if kind == "geo":
            value = text[len("geography'") : -1]
            return lambda p, e: value
        if kind == "dt":
            dt = parse_time(text)
            return lambda p, e: dt
        if kind == "guid":
            return lambda p, e: text.lower()
        if kind == "num":
            num = float(text) if any(c in text for c in ".eE") else int(text)
            return lambda p, e: num
        if text in ("true", "false"):
            return lambda p, e: text == "true"
        if text == "null":
            return lambda p, e: None
        if self.peek() == ("punct", "("):
            return self.call(text)
        return self.path(text)

    def call(self, name: str) -> Fn:
        self.take("(")
        if name.endswith("/any"):
            collection = name[: -len("/any")]
            var = self.take()[1]
            self.take(":")
            body = self.expr()
            self.take(")")
            return lambda p, e: any(body(p, {**e, var: item}) for item in _resolve(p, e, collection) or [])
        if name == "OData.CSC.Intersects":
            self.take()  # area
            self.take("=")
            area = self.operand()
            self.take(")")
            return lambda p, e: _intersects(p, area(p, e))
        args = [self.expr()]
        while self.peek() == ("punct", ","):
            self.take()
            args.append(self.expr())
        self.take(")")
        funcs = {
            "startswith": lambda a, b: str(a).startswith(str(b)),
            "endswith": lambda a, b: str(a).endswith(str(b)),
            "contains": lambda a, b: str(b) in str(a),
        }
        if name not in funcs:
            raise ODataSyntaxError(f"unknown function {name}")
        f = funcs[name]
        return lambda p, e: f(args[0](p, e), args[1](p, e))

    def path(self, text: str) -> Fn:
        return lambda p, e: _resolve(p, e, text)


def _resolve(product: dict[str, Any], env: Env, path: str) -> Any:
    parts = path.split("/")
    if parts[0] in env:
        obj: Any = env[parts[0]]
        parts = parts[1:]
    else:
        obj = product
    for part in parts:
        if part.startswith("OData.CSC."):
            continue  # type casts
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    if isinstance(obj, str) and re.match(r"^\d{4}-\d\d-\d\dT", obj):
        try:
            return parse_time(obj)
        except ODataSyntaxError:
            return obj
    return obj


def _intersects(product: dict[str, Any], area: str) -> bool:
    from shapely import wkt as shapely_wkt
    from shapely.geometry import shape

    wkt = area.split(";", 1)[1] if ";" in area else area
    geo = product.get("GeoFootprint")
    if not geo:
        return False
    return shape(geo).intersects(shapely_wkt.loads(wkt))


def compile_filter(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """An OData ``$filter`` -> predicate over CDSE product JSON records."""
    if not text or not text.strip():
        return lambda p: True
    fn = _Parser(text).parse()
    return lambda p: bool(fn(p, {}))


# -- Solr (DHuS OpenSearch) ------------------------------------------------------------------------------------------

_SOLR_TERM = re.compile(r'(\w+):("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|/[^/]*/|\S+)')


def _solr_value_match(field_value: Any, raw: str) -> bool:
    if field_value is None:
        return False
    if raw.startswith(("[", "{")):
        lo, hi = (s.strip().strip('"') for s in raw[1:-1].split(" TO "))
        v = field_value

        def conv(x: str) -> Any:
            if x == "*":
                return None
            if isinstance(v, datetime):
                return _solr_time(x)
            try:
                return float(x)
            except ValueError:
                return x

        a, b = conv(lo), conv(hi)
        vv = float(v) if isinstance(v, int | float) else v
        if isinstance(vv, datetime) and vv.tzinfo is None:
            vv = vv.replace(tzinfo=UTC)
        return (a is None or vv >= a) and (b is None or vv <= b)
    if raw.startswith("/") and raw.endswith("/"):
        return re.fullmatch(raw[1:-1], str(field_value)) is not None
    text = raw.strip('"')
    if "*" in text or "?" in text:
        pattern = re.escape(text).replace(r"\*", ".*").replace(r"\?", ".")
        return re.fullmatch(pattern, str(field_value), re.I) is not None
    return str(field_value).lower() == text.lower()


def _solr_time(text: str) -> datetime | None:
    from eokit.hub.cdse_filter import resolve_date  # date arithmetic is not what this file tests

    return resolve_date(text)


def compile_solr(query: str) -> Callable[[dict[str, Any]], bool]:
    """A DHuS OpenSearch query (as classic clients build it) -> predicate over flat property dicts."""
    query = query.strip()
    footprints: list[tuple[str, str]] = []  # alternatives (an area split at the antimeridian is an OR of parts)
    m = re.search(r'(\((?:\s*(?:OR\s+)?footprint:"\w+\(.*?\)")+\s*\)|footprint:"\w+\(.*\)")\s*$', query)
    if m:
        footprints = [(f.group(1).lower(), f.group(2)) for f in re.finditer(r'footprint:"(\w+)\((.*?)\)"', m.group(1))]
        query = query[: m.start()].strip()
    groups: list[list[tuple[str, str]]] = []
    pos = 0
    while pos < len(query):
        if query[pos].isspace():
            pos += 1
            continue
        if query[pos] == "(":
            depth, end = 0, pos
            for end in range(pos, len(query)):
                depth += {"(": 1, ")": -1}.get(query[end], 0)
                if depth == 0:
                    break
            inner = query[pos + 1 : end]
            groups.append([(t.group(1), t.group(2)) for t in _SOLR_TERM.finditer(inner)])
            pos = end + 1
            continue
        t = _SOLR_TERM.match(query, pos)
        if not t:
            raise ODataSyntaxError(f"cannot parse Solr query at {query[pos : pos + 30]!r}")
        groups.append([(t.group(1), t.group(2))])
        pos = t.end()

    def keep(props: dict[str, Any]) -> bool:
        lower = {k.lower(): v for k, v in props.items()}
        for alternatives in groups:
            if not any(_solr_value_match(lower.get(k.lower()), v) for k, v in alternatives):
                return False
        return not footprints or any(_footprint_match(props["footprint"], rel, wkt) for rel, wkt in footprints)

    return keep


def _footprint_match(footprint: str, rel: str, wkt: str) -> bool:
    from shapely import wkt as shapely_wkt
    from shapely.geometry import box

    em = re.match(r"ENVELOPE\(([^)]*)\)", wkt)
    if em:
        x0, x1, y1, y0 = (float(v) for v in em.group(1).split(","))
        aoi = box(x0, y0, x1, y1)
    else:
        aoi = shapely_wkt.loads(wkt)
    fp = shapely_wkt.loads(footprint)
    return bool(
        {
            "intersects": fp.intersects,
            "contains": lambda g: fp.contains(g),
            "iswithin": lambda g: g.contains(fp),
        }[rel](aoi)
    )
