"""eokit's resampling options: one frozen, validated value the tool and the CLI pass around."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eokit.errors import InvalidInputError
from eokit.resample.interp import Interpolator, get_interpolator

__all__ = ["ResampleOptions"]

_BOUNDARY_CONDITIONS = ("constant", "edge", "reflect", "symmetric", "wrap")
_SCHEDULERS_IN_PROCESS = (None, "threads", "synchronous")


@dataclass(frozen=True)
class ResampleOptions:
    """How :func:`eokit.resample.resample_file` resamples (everything but the files and bands).

    Field names are the CLI's option names (``--boundary`` is ``boundary_condition``),
    so an error names the option the user typed.

    Examples
    --------
    >>> opts = ResampleOptions.create("bspline5", interp_kwargs={"epsilon": 1e-4}, nodata=-1.0)
    >>> opts.interp.tile_margin(), opts.nodata
    (48, -1.0)
    """

    interp: Interpolator = field(default_factory=lambda: Interpolator("linear"))
    nodata: float = 0.0
    boundary_condition: str | None = None
    trust_padding: bool = False
    src_nodata_valid: bool = False
    max_memory: int | str | None = "512MB"
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.boundary_condition is not None and self.boundary_condition not in _BOUNDARY_CONDITIONS:
            raise InvalidInputError(
                f"unknown boundary condition {self.boundary_condition!r}; expected one of {_BOUNDARY_CONDITIONS}",
                param="boundary_condition",
            )
        if self.workers is not None and self.workers < 0:
            raise InvalidInputError(f"expected a count >= 0, got {self.workers}", param="workers")
        if self.max_memory is not None:
            from eokit.resample.tiles import parse_memory

            parse_memory(self.max_memory)

    @classmethod
    def create(cls, interp: Any = "linear", interp_kwargs: dict[str, Any] | None = None, **kw: Any) -> ResampleOptions:
        """Options from an interpolator name (or object) and its gridr-style ``interp_kwargs``."""
        return cls(interp=get_interpolator(interp, **(interp_kwargs or {})), **kw)

    @property
    def in_process(self) -> bool:
        """Whether tiles run in this process (threads) rather than on a pool or a Dask cluster."""
        return self.scheduler in _SCHEDULERS_IN_PROCESS

    @property
    def interp_kwargs(self) -> dict[str, float] | None:
        """The interpolator's options as gridr's ``interp_kwargs`` (None when it takes none)."""
        if not self.interp.is_bspline:
            return None
        return {"epsilon": self.interp.epsilon, "mask_influence_threshold": self.interp.mask_influence_threshold}
