"""Nodata and mask conventions, in one place.

eokit's convention: a *valid mask* is a boolean array, ``True`` where the
pixel holds data. Nodata values and NaN are both invalid. Masked arrays
(``numpy.ma``) use the opposite sense (``mask=True`` is invalid); the helpers
here convert between them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fill_masked", "to_masked", "valid_mask"]


def valid_mask(array: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """``True`` where ``array`` holds data: not equal to ``nodata`` and not NaN.

    >>> valid_mask(np.array([0.0, 1.0, np.nan]), nodata=0).tolist()
    [False, True, False]
    """
    if np.ma.isMaskedArray(array):
        base = ~np.ma.getmaskarray(array)
        data = np.ma.getdata(array)
    else:
        base = np.ones(array.shape, dtype=bool)
        data = array
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        base &= data != nodata
    if np.issubdtype(data.dtype, np.floating):
        base &= ~np.isnan(data)
    return base


def to_masked(array: np.ndarray, nodata: float | None = None) -> np.ma.MaskedArray:
    """A masked array hiding nodata and NaN."""
    return np.ma.MaskedArray(np.ma.getdata(array), mask=~valid_mask(array, nodata))


def fill_masked(array: np.ndarray, valid: np.ndarray, nodata: float | None) -> np.ndarray:
    """Copy of ``array`` with invalid pixels set to ``nodata`` (NaN when None and float)."""
    out = np.array(array, copy=True)
    if nodata is None:
        if not np.issubdtype(out.dtype, np.floating):
            out = out.astype(np.float64)
        nodata = np.nan
    out[~valid] = nodata
    return out
