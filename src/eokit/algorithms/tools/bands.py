"""File tools over named bands: band references, spectral indices, Landsat 8/7 harmonisation."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eokit.algorithms import indices, landsat
from eokit.algorithms.tools._common import PathLike, Progress, nodata_to_nan, profile, run_blocks
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError

__all__ = ["harmonize_file", "index_band_refs", "index_file", "resolve_bands"]

log = logging.getLogger(__name__)


def resolve_bands(sources: Sequence[PathLike], refs: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Map each role (``red``...) to ``(source index, 1-based band)`` from a band reference.

    A reference matches, in order: a band description (case-insensitive), a file
    whose name carries it as a token (``..._B4.TIF``, ``..._SR_B4.tif``), or a
    1-based band number when a single file is given. Ambiguous or missing
    references raise :class:`InvalidInputError` naming the band.
    """
    profs = [profile(s) for s in sources]
    out: dict[str, tuple[int, int]] = {}
    aliases = {v: k for k, v in indices.COMMON_NAMES.items()}
    for key, ref in refs.items():
        role = f"{aliases[key]} ({key})" if key in aliases else key
        ref_s = str(ref)
        hits = [
            (i, j + 1)
            for i, p in enumerate(profs)
            for j, d in enumerate(p["descriptions"])
            if d and d.lower() == ref_s.lower()
        ]
        if not hits:
            token = re.compile(rf"(^|[_\-.]){re.escape(ref_s)}([_\-.]|$)", re.IGNORECASE)
            hits = [(i, 1) for i, s in enumerate(sources) if token.search(Path(s).name) and profs[i]["count"] == 1]
        if not hits and ref_s.isdigit() and len(sources) == 1:
            n = int(ref_s)
            if not 1 <= n <= profs[0]["count"]:
                raise InvalidInputError(
                    f"{role}: band {n} out of range 1..{profs[0]['count']}", path=os.fspath(sources[0])
                )
            hits = [(0, n)]
        if not hits:
            raise InvalidInputError(
                f"{role}: no band matches {ref_s!r} (by description, file name token, or 1-based number)"
            )
        if len(set(hits)) > 1:
            raise InvalidInputError(f"{role}: band reference {ref_s!r} is ambiguous ({len(hits)} matches)")
        out[key] = hits[0]
    return out


def _bands_func(
    *arrays: np.ndarray, block: Block, where: dict[str, tuple[int, int]], nodatas: list[float | None],
    scale: float, offset: float, op: Callable[[dict[str, np.ndarray]], np.ndarray],
) -> np.ndarray:  # fmt: skip
    env = {}
    for role, (i, b) in where.items():
        x = nodata_to_nan(arrays[i][b - 1], nodatas[i])
        if scale != 1.0 or offset != 0.0:
            x = x * np.float32(scale) + np.float32(offset)
        env[role] = x
    return op(env)


def _index_op(env: dict[str, np.ndarray], *, name: str, params: Mapping[str, float] | None) -> np.ndarray:
    return np.asarray(indices.spectral_index(name, env, params=params), dtype=np.float32)


def _stream_bands(
    sources: Sequence[PathLike], target: PathLike, refs: Mapping[str, str], op: Callable[..., np.ndarray], *,
    count: int, scale: float = 1.0, offset: float = 0.0, scheduler: str | None = None,
    workers: int | None = None, progress: Progress = None, halo: int = 0, dtype: str = "float32",
    nodata: float | None = float("nan"),
) -> Path:  # fmt: skip
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise InvalidInputError("no input rasters given")
    where = resolve_bands(sources, refs)
    nodatas = [profile(s)["nodata"] for s in sources]
    func = functools.partial(_bands_func, where=where, nodatas=nodatas, scale=scale, offset=offset, op=op)
    return run_blocks(
        sources, target, func, count=count, dtype=dtype, nodata=nodata, halo=halo,
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def index_file(
    sources: Sequence[PathLike],
    target: PathLike,
    name: str,
    bands: Mapping[str, str],
    *,
    params: Mapping[str, float] | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write one spectral index computed from bands of ``sources`` (float32, NaN nodata).

    ``bands`` maps catalogue short names or common names (``nir``, ``red``...) to
    band references (see :func:`resolve_bands`); ``scale``/``offset`` turn digital
    numbers into reflectance first (e.g. ``2.75e-5`` / ``-0.2`` for Collection 2).
    """
    info = indices.index_info(name)
    refs = {}
    for key, ref in bands.items():
        short = key if key in info["bands"] else indices.COMMON_NAMES.get(key.lower(), key)
        refs[short] = ref
    op = functools.partial(_index_op, name=info["short_name"], params=params)
    return _stream_bands(
        sources, target, refs, op, count=1, scale=scale, offset=offset,
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def _harmonize_op(env: dict[str, np.ndarray], *, order: list[str], **kw: Any) -> np.ndarray:
    res = landsat.harmonize(env, **kw)
    return np.stack([res[k] for k in order])


def harmonize_file(
    sources: Sequence[PathLike],
    target: PathLike,
    bands: Mapping[str, str],
    *,
    direction: str = "l8_to_l7",
    method: str = "rma",
    scale: float = 1.0,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write harmonised bands (one layer per entry of ``bands``, in order; float32, NaN nodata)."""
    order = list(bands)
    op = functools.partial(_harmonize_op, order=order, direction=direction, method=method, scale=scale)
    return _stream_bands(
        sources, target, bands, op, count=len(order), scheduler=scheduler, workers=workers, progress=progress
    )


def index_band_refs(
    name: str, roles: Mapping[str, str], extra: Mapping[str, str], sensor: str | None
) -> dict[str, str]:
    """Band references for an index: explicit roles/extras, else the ``sensor``'s band names."""
    info = indices.index_info(name)
    refs: dict[str, str] = {}
    if sensor:
        mapping = indices.band_mapping(sensor)
        inverse = {v: k for k, v in indices.COMMON_NAMES.items()}
        for short in info["bands"]:
            common = inverse.get(short)
            if common in mapping:
                refs[short] = mapping[common]
    for role, ref in roles.items():
        refs[indices.COMMON_NAMES.get(role, role)] = ref
    refs.update(extra)
    return refs
