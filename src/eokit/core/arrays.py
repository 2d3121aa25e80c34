"""numpy / dask dispatch for array APIs.

A public array function calls :func:`map_overlap` with its numpy kernel: a
numpy input runs the kernel once; a dask input runs it per chunk with a halo
of ``depth`` pixels (``dask.array.map_overlap``), so chunked results equal the
whole-array result for kernels whose reach is at most ``depth``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["is_dask", "map_overlap"]


def is_dask(data: Any) -> bool:
    """True for a dask array (or an xarray object backed by one)."""
    data = getattr(data, "data", data)
    return type(data).__module__.startswith("dask")


def map_overlap(
    kernel: Callable[..., np.ndarray],
    data: Any,
    *,
    depth: int | tuple[int, ...] = 0,
    dtype: Any = None,
    **kwargs: Any,
) -> Any:
    """Apply ``kernel(block, **kwargs)`` to numpy or dask ``data``.

    ``depth`` is the halo on the last two axes; chunks on leading axes are
    passed through. Returns the same kind of array that came in.
    """
    if not is_dask(data):
        return kernel(np.asarray(data), **kwargs)
    import dask.array as da

    arr = getattr(data, "data", data)
    halo = (0,) * (arr.ndim - 2) + (depth, depth) if isinstance(depth, int) else tuple(depth)
    depth_map = dict(enumerate(halo))
    return da.map_overlap(
        kernel,
        arr,
        depth=depth_map,
        boundary="none",
        trim=True,
        dtype=dtype or arr.dtype,
        **kwargs,
    )
