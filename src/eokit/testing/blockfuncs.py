"""Small picklable block functions with known answers, for block/scheduler tests."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from eokit.core.blocks import Block

__all__ = ["box_sum3", "double"]


def double(array: np.ndarray, *, block: Block | None = None) -> np.ndarray:
    """Per-pixel: ``2 * array`` as float64 (no halo needed)."""
    return array.astype(np.float64) * 2.0


def box_sum3(array: np.ndarray, *, block: Block | None = None) -> np.ndarray:
    """Neighbourhood: sum over the 3x3 window, zero outside the grid (needs halo 1)."""
    a = array.astype(np.float64)
    if a.ndim == 3:
        return np.stack([ndimage.correlate(b, np.ones((3, 3)), mode="constant", cval=0.0) for b in a])
    return ndimage.correlate(a, np.ones((3, 3)), mode="constant", cval=0.0)
