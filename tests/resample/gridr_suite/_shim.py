"""gridr's API, as the vendored suite uses it, mapped onto eokit.resample.

``array_grid_resampling`` and ``get_interpolator`` are eokit's own (they take
gridr's arguments); ``Validity`` is gridr's mask convention (1 valid, 0 invalid).
"""

from eokit.resample import array_grid_resampling, get_interpolator

__all__ = ["Validity", "array_grid_resampling", "get_interpolator", "window_indices"]


class Validity:
    """gridr.core.grid.grid_mask.Validity: the values of a validity mask."""

    VALID = 1
    INVALID = 0


def window_indices(win):
    """gridr.core.utils.array_window.window_indices: slices of an inclusive [[r0, r1], [c0, c1]] window."""
    return tuple(slice(int(a), int(b) + 1) for a, b in win)
