"""Per-band Landsat / Sentinel-2 file tools: rescaling, Collection 2 scale factors, QA and SCL masks, SLC-off."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from eokit.algorithms import landsat
from eokit.algorithms.products import Band
from eokit.algorithms.tools._common import PathLike, profile, run_blocks, run_unary
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError

__all__ = [
    "qa_mask_file",
    "rescale_file",
    "scale_collection2_file",
    "scale_file",
    "scl_mask_file",
    "unmask_slc_off_file",
]

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


_KINDS = {"sr": "reflectance", "st": "temperature", "toa": "toa_reflectance", "radiance": "radiance",
          "bt": "brightness_temperature"}  # fmt: skip


def _physical(a: np.ndarray, *, block: Block, band: Band) -> np.ndarray:
    return band.physical(a[0])


def _landsat_band(source: str, mtl: PathLike | None, band: str | None, kind: str) -> Band:
    """The conversion of one Landsat band file, refusing factors that do not fit its level, collection or band."""
    from eokit.algorithms.metadata import band_factors, parse_product_id, read_mtl

    tree = read_mtl(mtl) if mtl is not None else None
    pid = parse_product_id(source)
    if pid is None and tree is not None:
        pid = parse_product_id(str(tree.get("PRODUCT_CONTENTS", {}).get("LANDSAT_PRODUCT_ID", "")))
    name = (band or (pid.band if pid else None) or "").upper() or None
    if name is None:
        m = re.search(r"(?:^|[_.-])(SR_B\d+|ST_B\d+)(?:[_.-]|$)", Path(source).name, re.IGNORECASE)
        name = m.group(1).upper() if m else None
    if pid is None and name is None and kind in {"sr", "st"}:
        mult, add = landsat.C2_SR if kind == "sr" else landsat.C2_ST
        log.warning("%s names no Landsat product or band: applying the published Collection 2 %s factors",
                    source, kind.upper())  # fmt: skip
        return Band(Path(source).name, source, quantity=_KINDS[kind], scale=mult, offset=add, nodata=0.0)
    if pid is not None and pid.collection != 2:
        raise InvalidInputError(f"{Path(source).name} is a Collection {pid.collection} product: only Collection 2 "
                                "factors are known", path=source, param="kind")  # fmt: skip
    if pid is not None and kind in {"sr", "st"} and not pid.level.startswith("L2"):
        raise InvalidInputError(f"{pid.level} is a Level-1 product: Level-2 {kind.upper()} factors do not apply "
                                "(use --kind toa, radiance or bt with --mtl)", path=source, param="kind")  # fmt: skip
    if pid is not None and kind in {"toa", "radiance", "bt"} and pid.level.startswith("L2") and name and \
            not re.fullmatch(r"B\d+", name):  # fmt: skip
        raise InvalidInputError(f"{name} is a Level-2 band: --kind {kind} needs a Level-1 band", path=source,
                                param="kind")  # fmt: skip
    if name is None:
        raise InvalidInputError(f"cannot tell which band {Path(source).name} is: give --band (e.g. SR_B4)",
                                path=source, param="band")  # fmt: skip
    if kind == "sr" and not name.startswith("SR_B"):
        raise InvalidInputError(f"{name} is not a surface-reflectance band (SR_Bn)", path=source, param="kind")
    if kind == "st" and not name.startswith("ST_B"):
        raise InvalidInputError(f"{name} is not a surface-temperature band (ST_Bn): ST factors would write "
                                "kelvins from reflectance", path=source, param="kind")  # fmt: skip
    if tree is None:
        if kind not in {"sr", "st", "auto"} or not name.startswith(("SR_B", "ST_B")):
            raise InvalidInputError(f"{name}: Level-1 conversions need the scene's MTL", param="mtl")
        mult, add = landsat.C2_SR if name.startswith("SR_") else landsat.C2_ST
        return Band(name, source, quantity=_KINDS["sr" if name.startswith("SR_") else "st"], scale=mult,
                    offset=add, nodata=0.0)  # fmt: skip
    f = band_factors(tree, name, quantity="radiance" if kind == "radiance" else None)
    if (kind == "toa" and f.quantity != "toa_reflectance") or (kind == "bt" and f.quantity != "brightness_temperature"):
        raise InvalidInputError(f"{name} gives {f.quantity.replace('_', ' ')}, not {_KINDS[kind].replace('_', ' ')}",
                                path=source, param="kind")  # fmt: skip
    return Band(name, source, quantity=f.quantity, scale=f.scale, offset=f.offset, nodata=0.0, k1k2=f.k1k2)


def scale_file(
    source: PathLike, target: PathLike, *, kind: str = "auto", mtl: PathLike | None = None, band: str | None = None,
    nodata: float | None = 0, **kw: Any,
) -> Path:  # fmt: skip
    """Write physical values (reflectance, radiance or kelvin; float32, NaN nodata) of one band.

    ``source`` is a band file (``LC08_L2SP_..._SR_B4.TIF``) or a product
    (Landsat bundle, Sentinel-2 SAFE, STAC item) with ``band`` naming the band.
    ``kind``: ``auto`` (from the band: ``SR_Bn`` reflectance, ``ST_Bn`` kelvin,
    Level-1 ``Bn`` TOA reflectance or brightness temperature, Sentinel-2 reflectance),
    ``sr``, ``st``, ``toa``, ``radiance``, ``bt``. Factors come from ``mtl`` or the
    product; a mismatch (Level-2 factors on a Level-1 or Collection 1 band, ST on a
    reflective band) is refused.
    """
    from eokit.algorithms.products import is_product, open_product

    kind = kind.lower()
    if kind not in {"auto", *_KINDS}:
        raise InvalidInputError(f"kind must be auto or one of {sorted(_KINDS)}, got {kind!r}", param="kind")
    src = os.fspath(source)
    if is_product(src):
        if band is None:
            raise InvalidInputError("a product holds many bands: choose one with --band", path=src, param="band")
        chosen = open_product(src).select({"band": band}, param="band")["band"]
        if kind != "auto" and chosen.quantity != _KINDS[kind]:
            raise InvalidInputError(f"{chosen.name} holds {chosen.quantity.replace('_', ' ')}, not "
                                    f"{_KINDS[kind].replace('_', ' ')}", path=src, param="kind")  # fmt: skip
    else:
        chosen = _landsat_band(src, mtl, band, kind)
        prof = profile(src)
        chosen = replace(chosen, nodata=prof["nodata"] if prof["nodata"] is not None else nodata)
    func = functools.partial(_physical, band=chosen)
    return run_blocks(chosen.href, target, func, count=1, bands=[chosen.index], dtype="float32",
                      nodata=float("nan"), **kw)  # fmt: skip


scale_collection2_file = scale_file


def _qa(a: np.ndarray, **flags: Any) -> np.ndarray:
    return landsat.qa_pixel_mask(a, **flags).astype(np.uint8)


def qa_mask_file(source: PathLike, target: PathLike, *, flags: Mapping[str, Any] | None = None, **kw: Any) -> Path:
    """Write a uint8 mask (1 = masked) from a ``QA_PIXEL`` band; ``flags`` as :func:`qa_pixel_mask`."""
    from eokit.algorithms.products import is_product, open_product

    fn = functools.partial(_qa, **dict(flags or {}))
    landsat.qa_pixel_mask(np.zeros(1, np.uint16), **dict(flags or {}))
    if is_product(source):  # a Landsat bundle or STAC item: its QA_PIXEL band
        source = open_product(source).select({"qa": "QA_PIXEL"}, param="source")["qa"].href
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
