"""Compile, before a run, the numba kernels it will use (or load them from numba's on-disk cache).

The first run after an install compiles its kernels (seconds to tens of
seconds on a busy machine); later runs load them from the cache in
milliseconds. :func:`warm_up` does that step on a tiny input with the run's
exact types, one kernel at a time, so a caller (the CLI) can say what is
happening and show progress instead of a silent pause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from eokit.resample.interp import get_interpolator

__all__ = ["kernels_cached", "warm_up", "warm_up_steps"]


def kernels_cached(interp: Any) -> bool | None:
    """Whether numba's on-disk cache has this interpolator's kernel (False: the run will compile it).

    None when it cannot tell (the cache's layout is numba's own business).
    """
    from eokit.resample import _kernels as K

    disp: Any = K.compiled_function(get_interpolator(interp).kind)
    try:
        import os

        return bool(os.path.exists(disp._cache._cache_file._index_path))
    except AttributeError:
        return None


def warm_up_steps(
    interp: Any, src_dtype: Any, work_dtype: Any, interp_kwargs: dict[str, Any] | None = None
) -> list[tuple[str, Callable[[], None]]]:
    """The (name, call) steps that compile the kernels of a run with these dtypes, in order."""
    from eokit.resample.bspline import prefilter, prefilter_mask
    from eokit.resample.core import node_validity, run

    itp = get_interpolator(interp, **(interp_kwargs or {}))
    sdt, wdt = np.dtype(src_dtype), np.dtype(work_dtype)
    n = 2 * itp.total_margins()[0] + 8
    src = np.zeros((1, n, n), sdt)
    gr, gc = (np.ascontiguousarray(a, dtype=np.float64) for a in np.meshgrid([2.0, 3.5], [2.0, 3.5], indexing="ij"))
    win = np.array([[0, 1], [0, 1]])

    def kernel() -> None:
        nv = node_validity(gr, gc, None, 1, None)
        data: np.ndarray = src
        mask = np.ones((n, n), np.uint8)
        if itp.is_bspline:
            data = prefilter(src, itp.order, itp.epsilon)
            cmask = prefilter_mask(mask, itp.order, itp.epsilon, itp.mask_influence_threshold)
            b = itp.total_margins()[0] - itp.order // 2
            mask = np.ascontiguousarray(cmask[b : n - b, b : n - b])
        out = np.empty((1, 2, 2), wdt)
        omask = np.empty((2, 2), np.uint8)
        for m in (mask, None):  # with and without a source mask: the same specialisation, both paths
            run(itp.kind, data, m, gr, gc, nv, (1, 1), win, (0.0, 0.0), out, win, omask, True, 0.0, (0, 0))

    def coefficients() -> None:
        prefilter(src, itp.order, itp.epsilon)

    steps: list[tuple[str, Callable[[], None]]] = []
    if itp.is_bspline:
        steps.append(("B-spline prefilter", coefficients))
    steps.append((f"{itp.name} kernel", kernel))
    return steps


def warm_up(
    interp: Any,
    src_dtype: Any,
    work_dtype: Any,
    interp_kwargs: dict[str, Any] | None = None,
    progress: Callable[[str], Any] | None = None,
) -> None:
    """Compile (or load from cache) the kernels of a run; ``progress(name)`` after each one.

    Examples
    --------
    >>> warm_up("linear", "uint8", "float32")
    """
    for name, step in warm_up_steps(interp, src_dtype, work_dtype, interp_kwargs):
        step()
        if progress is not None:
            progress(name)
