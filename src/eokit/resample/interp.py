"""Interpolators: names, options and margins (gridr's ``get_interpolator``, as a frozen value)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from eokit.errors import InvalidInputError
from eokit.resample import _kernels as K
from eokit.resample.bspline import ORDERS, bspline_options, influence_radius, total_margin

__all__ = ["INTERPOLATORS", "Interpolator", "get_interpolator"]

#: Interpolator names: gridr's ``nearest``, ``linear``, ``cubic``, ``bspline3`` ... ``bspline11``; plus ``lanczos3``.
INTERPOLATORS: dict[str, int] = {
    "nearest": K.KIND_NEAREST,
    "linear": K.KIND_LINEAR,
    "cubic": K.KIND_CUBIC,
    "lanczos3": K.KIND_LANCZOS3,
    **{f"bspline{n}": K.BSPLINE_KINDS[n] for n in ORDERS},
}
_ALIASES = {"optimizedbicubic": "cubic", "optimized_bicubic": "cubic"}


@dataclass(frozen=True)
class Interpolator:
    """An interpolator and its options.

    ``epsilon`` (prefilter precision) and ``mask_influence_threshold``
    (see :mod:`eokit.resample.bspline`) apply to the B-splines only.
    Duck-compatible with gridr's interpolator objects (``shortname()``,
    ``initialize()``, ``total_margins()``).

    Examples
    --------
    >>> get_interpolator("bspline3", epsilon=1e-2).total_margins()
    [7, 7, 7, 7]
    """

    name: str
    epsilon: float = 1e-6
    mask_influence_threshold: float = 0.001

    @property
    def kind(self) -> int:
        """Kernel code (see :mod:`eokit.resample._kernels`)."""
        return INTERPOLATORS[self.name]

    @property
    def order(self) -> int:
        """B-spline order (0 for the other interpolators)."""
        return int(self.name[7:]) if self.is_bspline else 0

    @property
    def is_bspline(self) -> bool:
        return self.name.startswith("bspline")

    def shortname(self) -> str:
        return self.name

    def initialize(self) -> None:
        """Nothing to do (gridr computes its truncation indices here; eokit caches them)."""

    def kernel_margin(self) -> int:
        """Source pixels a kernel reaches past the floor (before: margin - 1) or round position."""
        return K.MARGINS[self.kind]

    def tile_margin(self) -> int:
        """Source pixels a tile (or chunk) reads around its taps so that it equals the whole-array result.

        The kernel's margin; for B-splines twice the prefilter margin (the truncated prefilter's error
        at the tile's taps then decays far below the whole array's own, both within ``epsilon``), and
        at least the reach of an invalid pixel's dilation.
        """
        if not self.is_bspline:
            return self.kernel_margin()
        reach = math.floor(influence_radius(self.order, self.mask_influence_threshold)) + self.kernel_margin()
        return max(2 * total_margin(self.order, self.epsilon), reach)

    def total_margins(self) -> list[int]:
        """Source margin (top, bottom, left, right) needed around the taps: kernel, plus prefilter for B-splines."""
        m = total_margin(self.order, self.epsilon) if self.is_bspline else self.kernel_margin()
        return [m, m, m, m]


def _name(interp: Any) -> str:
    if isinstance(interp, str):
        raw = interp
    else:
        short = getattr(interp, "shortname", None)  # gridr (and eokit) interpolator objects
        # gridr's PyInterpolatorType prints as "PyInterpolatorType.Linear"
        raw = short() if callable(short) else str(interp).rsplit(".", 1)[-1]
    key = str(raw).lower()
    key = _ALIASES.get(key, key)
    if key not in INTERPOLATORS:
        raise InvalidInputError(
            f"unknown interpolation {interp!r}; expected one of {', '.join(INTERPOLATORS)}", param="interp"
        )
    return key


def get_interpolator(interp: Any, **kwargs: Any) -> Interpolator:
    """An :class:`Interpolator` from a name, a gridr interpolator object or enum, or an Interpolator.

    ``kwargs`` are gridr's interpolator options (``epsilon``,
    ``mask_influence_threshold``), accepted by the B-splines only.
    """
    if isinstance(interp, Interpolator) and not kwargs:
        return interp
    name = _name(interp)
    if isinstance(interp, Interpolator):
        kwargs = {"epsilon": interp.epsilon, "mask_influence_threshold": interp.mask_influence_threshold, **kwargs}
    if name.startswith("bspline"):
        return Interpolator(name, **bspline_options(kwargs, name))
    if kwargs:
        raise InvalidInputError(f"the {name!r} interpolator takes no options, got {kwargs!r}", param="interp_kwargs")
    return Interpolator(name)
