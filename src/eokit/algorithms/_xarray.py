"""xarray in, xarray out: one wrapper around the numpy/dask array API.

:func:`xarray_io` unwraps every :class:`xarray.DataArray` argument (also inside
mappings and sequences) to the numpy or dask array it holds, calls the function
— the same kernels and dtypes as a numpy call, dask arrays stay lazy — and wraps
array results back into DataArrays with the dimensions, coordinates (the
``spatial_ref`` of rioxarray included) and attributes of the input they match.
With ``georef=True`` a missing ``transform``/``crs`` comes from the DataArray:
rioxarray's ``.rio.transform()``/``.rio.crs`` or odc-geo's ``.odc.geobox``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["georeference", "xarray_io"]

F = TypeVar("F", bound=Callable[..., Any])


def _is_da(x: Any) -> bool:
    return hasattr(x, "dims") and hasattr(x, "coords") and hasattr(x, "data")


def _unwrap(x: Any, found: list[Any]) -> Any:
    if _is_da(x):
        found.append(x)
        return x.data
    if isinstance(x, dict):
        return {k: _unwrap(v, found) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and any(_is_da(v) for v in x):
        return type(x)(_unwrap(v, found) for v in x)
    return x


def georeference(da: Any) -> tuple[Any, Any]:
    """``(transform, crs)`` of a DataArray georeferenced by rioxarray or odc-geo (``(None, None)`` otherwise)."""
    try:
        import odc.geo.xr  # noqa: F401  (registers the .odc accessor)

        gbox = da.odc.geobox
        if gbox is not None and gbox.crs is not None:
            return gbox.affine, str(gbox.crs)
    except (ImportError, AttributeError, ValueError):
        pass
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)

        crs = da.rio.crs
        if crs is not None:
            return da.rio.transform(), crs
    except (ImportError, AttributeError, ValueError):
        pass
    return None, None


def _pixel_metres(transform: Any, crs: Any) -> float:
    """Mean pixel width in metres (the pan's, for the kernel pansharpening window)."""
    from pyproj import CRS

    if CRS.from_user_input(crs).is_projected:
        return float(abs(transform.a))
    from eokit.algorithms._common import row_metrics

    return float(row_metrics(transform, crs, 2)[1].mean())


def _coords_for(t: Any, dims: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in t.coords.items() if set(v.dims) <= set(dims)}


def _wrap(res: Any, templates: list[Any]) -> Any:
    if isinstance(res, dict):
        return {k: _wrap(v, templates) for k, v in res.items()}
    if isinstance(res, tuple):
        return tuple(_wrap(v, templates) for v in res)
    shape = getattr(res, "shape", None)
    if shape is None or len(shape) == 0:
        return res
    import xarray as xr

    for t in templates:
        if tuple(t.shape) == tuple(shape):
            return xr.DataArray(res, dims=t.dims, coords=t.coords, attrs=t.attrs)
    for t in templates:
        if len(shape) == t.ndim + 1 and tuple(shape[1:]) == tuple(t.shape):
            dims = ("band", *t.dims)
            return xr.DataArray(res, dims=dims, coords=_coords_for(t, dims), attrs=t.attrs)
        if len(shape) + 1 == t.ndim and tuple(shape) == tuple(t.shape[1:]):
            dims = tuple(t.dims[1:])
            return xr.DataArray(res, dims=dims, coords=_coords_for(t, dims), attrs=t.attrs)
    return res


def xarray_io(func: F | None = None, *, georef: bool = False) -> Any:
    """Decorate an array-API function so DataArrays go in and come out (see the module docstring)."""

    def deco(f: F) -> F:
        import inspect

        params = set(inspect.signature(f).parameters)

        @functools.wraps(f)
        def inner(*args: Any, **kwargs: Any) -> Any:
            found: list[Any] = []
            a = [_unwrap(x, found) for x in args]
            kw = {k: _unwrap(v, found) for k, v in kwargs.items()}
            if not found:
                return f(*args, **kwargs)
            if georef and kw.get("transform") is None:
                transform, crs = georeference(found[-1] if "pixel_size" in params else found[0])
                if transform is not None and "transform" in params:
                    kw["transform"] = transform
                    if "crs" in params and kw.get("crs") is None:
                        kw["crs"] = crs
                if transform is not None and "pixel_size" in params and kw.get("pixel_size") is None:
                    kw["pixel_size"] = _pixel_metres(transform, crs)
            return _wrap(f(*a, **kw), found)

        return inner  # type: ignore[return-value]

    return deco(func) if func is not None else deco
