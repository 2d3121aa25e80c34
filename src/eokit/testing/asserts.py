"""Equivalence asserts used across the test suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["assert_numpy_dask_equal"]


def assert_numpy_dask_equal(
    func: Callable[..., Any],
    data: np.ndarray,
    *,
    chunks: int | tuple[int, ...],
    rtol: float = 0.0,
    atol: float = 0.0,
    **kwargs: Any,
) -> np.ndarray:
    """Assert ``func(numpy)`` equals ``func(dask with chunks)``; return the numpy result.

    Use chunks smaller than the operation's halo so block edges are exercised.
    NaNs compare equal to NaNs.
    """
    import dask.array as da

    expected = np.asarray(func(data, **kwargs))
    result = func(da.from_array(data, chunks=chunks), **kwargs)
    got = np.asarray(result.compute() if hasattr(result, "compute") else result)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if rtol == 0 and atol == 0:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    return expected
