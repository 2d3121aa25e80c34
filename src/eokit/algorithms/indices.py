"""Spectral indices from the Awesome Spectral Indices catalogue, evaluated safely.

The catalogue (~280 indices, MIT) is the JSON bundled in the ``spyndex`` package;
eokit reuses the data only. Formulas are parsed with :mod:`ast` and evaluated by a
whitelist walker (numbers, band/constant names, ``+ - * / **`` and unary minus):
no ``eval``, no attribute access, no calls.
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import operator
from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np

from eokit.algorithms._xarray import xarray_io
from eokit.errors import InvalidInputError, MissingDependencyError

__all__ = [
    "COMMON_NAMES",
    "SENSOR_BANDS",
    "band_mapping",
    "catalogue",
    "constants",
    "index_info",
    "list_indices",
    "parse_formula",
    "spectral_index",
]

log = logging.getLogger(__name__)

# numpy inputs at least this large go through one compiled fused pass (compiling costs ~0.2 s per formula)
COMPILED_MIN_SIZE = 1 << 20

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _load(name: str) -> dict[str, Any]:
    try:
        text = resources.files("spyndex").joinpath("data", name).read_text(encoding="utf-8")
    except ModuleNotFoundError as exc:  # pragma: no cover - spyndex is a dependency
        raise MissingDependencyError("spyndex is needed for the spectral-index catalogue") from exc
    return json.loads(text)


@functools.cache
def catalogue() -> dict[str, dict[str, Any]]:
    """All indices: ``{short_name: {formula, bands, long_name, application_domain, ...}}``."""
    return dict(_load("spectral-indices-dict.json")["SpectralIndices"])


@functools.cache
def constants() -> dict[str, float | None]:
    """Default values of the catalogue's constants (``L``, ``C1``, ``g``...; ``None`` = must be given)."""
    return {k: v.get("default") for k, v in _load("constants.json").items()}


@functools.cache
def _bands() -> dict[str, dict[str, Any]]:
    return dict(_load("bands.json"))


# eokit's common band names -> catalogue short names (from the catalogue's own ``common_name``).
COMMON_NAMES: dict[str, str] = {
    "aerosol": "A",
    "blue": "B",
    "green1": "G1",
    "green": "G",
    "yellow": "Y",
    "red": "R",
    "rededge1": "RE1",
    "rededge2": "RE2",
    "rededge3": "RE3",
    "nir": "N",
    "nir2": "N2",
    "watervapour": "WV",
    "swir1": "S1",
    "swir2": "S2",
    "thermal": "T",
    "thermal1": "T1",
    "thermal2": "T2",
}

_TM = {"blue": "B1", "green": "B2", "red": "B3", "nir": "B4", "swir1": "B5", "thermal": "B6", "swir2": "B7"}
_OLI = {
    "aerosol": "B1",
    "blue": "B2",
    "green": "B3",
    "red": "B4",
    "nir": "B5",
    "swir1": "B6",
    "swir2": "B7",
    "thermal1": "B10",
    "thermal2": "B11",
}
_MSI = {
    "aerosol": "B1",
    "blue": "B2",
    "green": "B3",
    "red": "B4",
    "rededge1": "B5",
    "rededge2": "B6",
    "rededge3": "B7",
    "nir": "B8",
    "nir2": "B8A",
    "watervapour": "B9",
    "swir1": "B11",
    "swir2": "B12",
}
SENSOR_BANDS: dict[str, dict[str, str]] = {
    "landsat4": _TM,
    "landsat5": _TM,
    "landsat7": _TM,
    "landsat8": _OLI,
    "landsat9": _OLI,
    "sentinel2": _MSI,
}


def band_mapping(platform: str) -> dict[str, str]:
    """Common band name -> the platform's band name, e.g. ``landsat8``: ``{"red": "B4", "nir": "B5", ...}``.

    Platforms: Landsat 4/5/7 (TM/ETM+), Landsat 8/9 (OLI/TIRS) and Sentinel-2 (MSI).
    """
    key = platform.lower().replace("-", "").replace("_", "").replace(" ", "")
    key = {"sentinel2a": "sentinel2", "sentinel2b": "sentinel2", "sentinel2c": "sentinel2", "s2": "sentinel2"}.get(
        key, key
    )
    if key not in SENSOR_BANDS:
        raise InvalidInputError(f"unknown platform {platform!r}; expected one of {sorted(SENSOR_BANDS)}")
    return dict(SENSOR_BANDS[key])


def index_info(name: str) -> dict[str, Any]:
    """Catalogue entry of one index (case-insensitive name)."""
    cat = catalogue()
    if name in cat:
        return cat[name]
    lower = {k.lower(): k for k in cat}
    if name.lower() in lower:
        return cat[lower[name.lower()]]
    raise InvalidInputError(f"unknown spectral index {name!r} ({len(cat)} known; see `eokit algo indices --list`)")


def list_indices(domain: str | None = None) -> list[dict[str, Any]]:
    """Index summaries ``{short_name, long_name, application_domain, bands, formula}``, sorted by name."""
    keys = ("short_name", "long_name", "application_domain", "bands", "formula")
    rows = [{k: v.get(k) for k in keys} for v in catalogue().values()]
    if domain:
        rows = [r for r in rows if r["application_domain"] == domain]
    return sorted(rows, key=lambda r: r["short_name"].lower())


@functools.cache
def parse_formula(formula: str) -> ast.Expression:
    """Parse and whitelist-check a formula; raise :class:`InvalidInputError` on anything else."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise InvalidInputError(f"formula {formula!r} is not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.Pow))
        ok = ok or type(node) in _BINOPS or type(node) in _UNARY
        ok = ok or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)))
        if not ok:
            raise InvalidInputError(f"formula {formula!r} uses {type(node).__name__}, which is not allowed")
    return tree


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, env)
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # parse_formula admits int and float only
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        unary: Any = _UNARY[type(node.op)]
        return unary(_eval(node.operand, env))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Pow):
            return np.power(left, right)
        return _BINOPS[type(node.op)](left, right)
    raise InvalidInputError(f"unsupported node {type(node).__name__}")  # pragma: no cover - parse_formula guards


def _numexpr(formula: str, env: Mapping[str, Any]) -> Any:
    """Evaluate an already whitelisted formula with numexpr (one multi-threaded pass) on numpy inputs."""
    arrays = [v for v in env.values() if not isinstance(v, float)]
    if not arrays or not all(type(v) is np.ndarray for v in arrays):
        return None
    try:
        import numexpr
    except ImportError:  # pragma: no cover - numexpr is a dependency
        return None
    local = {
        k: (np.float32(v) if isinstance(v, float) and arrays[0].dtype == np.float32 else v) for k, v in env.items()
    }
    try:
        return numexpr.evaluate(formula, local_dict=local, global_dict={})
    except (KeyError, ValueError, TypeError, SyntaxError):  # e.g. a name numexpr reserves: use the walker
        return None


def required_inputs(name: str) -> list[str]:
    """Short names the index needs (bands and constants)."""
    return list(index_info(name)["bands"])


@xarray_io
def spectral_index(name: str, bands: Mapping[str, Any], *, params: Mapping[str, float] | None = None) -> Any:
    """Compute one catalogue index.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"NDVI"`` (case-insensitive).
    bands : mapping
        Arrays (numpy, dask or xarray; reflectance 0..1) by catalogue short name
        (``"N"``, ``"R"``...) or eokit common name (``"nir"``, ``"red"``...).
    params : mapping, optional
        Constants (``L``, ``g``, ``C1``...) overriding the catalogue defaults.

    Returns
    -------
    float array (NaN where an input is NaN or the formula is undefined, e.g. x/0: never ±inf).

    Examples
    --------
    >>> spectral_index("NDVI", {"nir": np.array([0.5]), "red": np.array([0.1])}).round(4).tolist()
    [0.6667]
    """
    info = index_info(name)
    tree = parse_formula(info["formula"])
    env: dict[str, Any] = {}
    for key, value in bands.items():
        short = COMMON_NAMES.get(key.lower(), key) if key not in info["bands"] else key
        env[short] = value
    defaults = constants()
    missing = []
    for short in info["bands"]:
        if short in env:
            continue
        if params and short in params:
            env[short] = float(params[short])
        elif defaults.get(short) is not None:
            env[short] = float(defaults[short] or 0.0)
        else:
            missing.append(short)
    if missing:
        names = {v: k for k, v in COMMON_NAMES.items()}
        described = [f"{m} ({names[m]})" if m in names else m for m in missing]
        raise InvalidInputError(f"index {info['short_name']} needs {', '.join(described)}; not given")
    for short, value in env.items():
        if hasattr(value, "dtype") and value.dtype.kind in "iub":
            env[short] = value.astype(np.float64)
    shapes = {k: tuple(v.shape) for k, v in env.items() if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0}
    if len(set(shapes.values())) > 1:
        raise InvalidInputError(f"index {info['short_name']}: band shapes differ: {shapes}")
    out = None
    sizes = [v.size for v in env.values() if type(v) is np.ndarray]
    if sizes and min(sizes) >= COMPILED_MIN_SIZE:
        from eokit.algorithms._formula import compiled_index

        out = compiled_index(tree, env)
    if out is None:
        out = _numexpr(info["formula"], env)
    if out is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _eval(tree, env)
    if isinstance(out, float):
        raise InvalidInputError(f"index {info['short_name']} got no band arrays")
    return _inf_to_nan(out)


def _inf_to_nan(out: Any) -> Any:
    """±inf (x/0) is as undefined as 0/0: NaN, as documented."""
    if isinstance(out, np.ndarray):
        if out.dtype.kind == "f":
            np.copyto(out, np.nan, where=np.isinf(out))
        return out
    if hasattr(out, "dims"):  # xarray
        return out.where(~np.isinf(out))
    import dask.array as da

    return da.where(da.isinf(out), np.nan, out).astype(out.dtype)
