"""Per-band Landsat / Sentinel-2 file tools: rescaling, Collection 2 scale factors, QA and SCL masks, SLC-off."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eokit.algorithms import landsat
from eokit.algorithms.tools._common import PathLike, profile, run_blocks, run_unary, unary
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError

__all__ = ["qa_mask_file", "rescale_file", "scale_collection2_file", "scl_mask_file", "unmask_slc_off_file"]

log = logging.getLogger(__name__)


def rescale_file(
    source: PathLike, target: PathLike, *, source_level: str, target_level: str, kind: str = "optical",
    max_raw: int = 255, thermal_range: tuple[float, float] | None = None, **kw: Any,
) -> Path:  # fmt: skip
    """Write :func:`~eokit.algorithms.landsat.rescale` of every band of ``source`` (float32)."""
    landsat.rescale(np.zeros(1), source=source_level, target=target_level, kind=kind, thermal_range=thermal_range)
    fn = functools.partial(
        landsat.rescale, source=source_level, target=target_level, kind=kind, max_raw=max_raw,
        thermal_range=thermal_range,
    )  # fmt: skip
    return run_unary(source, target, fn, dtype="float32", nodata=float("nan"), **kw)


def _c2(x: np.ndarray, *, mult: float, add: float) -> np.ndarray:
    return (x * np.float32(mult) + np.float32(add)).astype(np.float32)


def scale_collection2_file(
    source: PathLike, target: PathLike, *, kind: str = "sr", mtl: PathLike | None = None, band: str | None = None,
    nodata: float | None = 0, **kw: Any,
) -> Path:  # fmt: skip
    """Write Collection 2 physical values (reflectance or kelvin, float32, NaN nodata).

    Scale factors come from ``mtl`` (with ``band``, e.g. ``SR_B4``; guessed from the
    file name when omitted) or the published defaults for ``kind``.
    """
    mult, add = landsat.C2_SR if kind.lower() == "sr" else landsat.C2_ST
    if kind.lower() not in {"sr", "st"}:
        raise InvalidInputError(f"kind must be 'sr' or 'st', got {kind!r}")
    if mtl is not None:
        from eokit.algorithms.metadata import read_mtl, scale_factors

        factors = scale_factors(read_mtl(mtl))
        if band is None:
            m = re.search(r"(SR_B\d+|ST_B\d+)", Path(source).name, re.IGNORECASE)
            band = m.group(1).upper() if m else None
        if band is None or band.upper() not in factors:
            raise InvalidInputError(
                f"band {band!r} not in the MTL's scale factors {sorted(factors)}", path=os.fspath(mtl)
            )
        mult, add = factors[band.upper()]
    prof = profile(source)
    nd = prof["nodata"] if prof["nodata"] is not None else nodata
    func = functools.partial(unary, fn=functools.partial(_c2, mult=mult, add=add), nodata=nd, to_float=True)
    return run_blocks(source, target, func, dtype="float32", nodata=float("nan"), **kw)


def _qa(a: np.ndarray, **flags: Any) -> np.ndarray:
    return landsat.qa_pixel_mask(a, **flags).astype(np.uint8)


def qa_mask_file(source: PathLike, target: PathLike, *, flags: Mapping[str, Any] | None = None, **kw: Any) -> Path:
    """Write a uint8 mask (1 = masked) from a ``QA_PIXEL`` band; ``flags`` as :func:`qa_pixel_mask`."""
    fn = functools.partial(_qa, **dict(flags or {}))
    landsat.qa_pixel_mask(np.zeros(1, np.uint16), **dict(flags or {}))
    return run_unary(source, target, fn, dtype="uint8", nodata=None, to_float=False, bands=[1], **kw)


def _scl(a: np.ndarray, *, classes: Sequence[str | int]) -> np.ndarray:
    return landsat.scl_mask(a, classes=classes).astype(np.uint8)


def scl_mask_file(
    source: PathLike, target: PathLike, *, classes: Sequence[str | int] = landsat.SCL_DEFAULT, **kw: Any
) -> Path:
    """Write a uint8 mask (1 = masked) of Sentinel-2 SCL classes."""
    landsat.scl_mask(np.zeros(1, np.uint8), classes=classes)
    fn = functools.partial(_scl, classes=list(classes))
    return run_unary(source, target, fn, dtype="uint8", nodata=None, to_float=False, bands=[1], **kw)


def _slc(a: np.ndarray, *, block: Block, date: Any, nodata: float | None) -> np.ndarray:
    data, _valid = landsat.unmask_slc_off(a, date=date, nodata=nodata)
    return data


def unmask_slc_off_file(source: PathLike, target: PathLike, *, date: Any, **kw: Any) -> Path:
    """Write ``source`` with Landsat 7 SLC-off stripes (all bands empty) as valid zeros.

    The output keeps the input dtype; its nodata tag is removed when it was 0
    (the stripes are valid zeros now).
    """
    prof = profile(source)
    landsat.check_acquisition("landsat7", date)
    nd = prof["nodata"]
    out_nd = None if (nd is None or nd == 0) else nd
    func = functools.partial(_slc, date=date, nodata=nd)
    return run_blocks(source, target, func, dtype=prof["dtype"], nodata=out_nd, **kw)
