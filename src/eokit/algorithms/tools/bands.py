"""File tools over named bands: band references, spectral indices, Landsat 8/7 harmonisation."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from eokit.algorithms import indices, landsat
from eokit.algorithms.products import Band, is_product, open_product
from eokit.algorithms.tools._common import PathLike, Progress, product_workdir, profile, run_blocks
from eokit.core.blocks import Block
from eokit.errors import InvalidInputError
from eokit.io import open_raster

__all__ = ["band_pixels", "harmonize_file", "index_band_refs", "index_file", "index_pixels", "resolve_bands"]

log = logging.getLogger(__name__)


def _file_band(path: str, prof: dict[str, Any], j: int, name: str | None) -> Band:
    return Band(name or Path(path).name, path, nodata=prof["nodata"], index=j)


def resolve_bands(
    sources: Sequence[PathLike], refs: Mapping[str, str], *, param: str = "band", workdir: PathLike | None = None
) -> dict[str, Band]:
    """Map each role (``red``...) to the :class:`~eokit.algorithms.products.Band` a reference names.

    ``sources`` are rasters or products (a Sentinel-2 SAFE, a Landsat bundle, a
    STAC item: see :func:`~eokit.algorithms.products.open_product`). In a product a
    reference is a band id (``B04``, ``B8A``, ``SR_B4``; ``B4``/``B8`` too), a STAC
    common name (``red``, ``nir08``) or an eokit role (``nir``...); the product's
    bands carry their conversion to physical values. In rasters a reference
    matches, in order: a band description (case-insensitive), a file whose name
    carries it as a token (``..._B4.TIF``, ``..._SR_B4.tif``; ``B4`` also matches
    ``_B04_``), or a 1-based band number when a single file is given.
    Ambiguous or missing references raise :class:`InvalidInputError` naming the band.
    ``workdir``: where a product's bands of different resolutions may be averaged onto
    the coarsest one's grid (see :meth:`~eokit.algorithms.products.Product.select`).
    """
    paths = [os.fspath(s) for s in sources]
    aliases = {v: k for k, v in indices.COMMON_NAMES.items()}

    def option(key: str) -> str:  # the option that bound this band: --red, --nir..., else ``param``
        role = key if key in indices.COMMON_NAMES else aliases.get(key)
        return role if role is not None else param

    products = [p for p in paths if is_product(p)]
    if products:
        if len(paths) > 1:
            raise InvalidInputError("give one product, or band rasters, not both", path=products[0], param=param)
        prod = open_product(products[0])
        for key, ref in refs.items():
            prod.find(ref, param=option(key))
        return prod.select(refs, param=param, workdir=workdir)
    profs = [profile(s) for s in paths]
    out: dict[str, Band] = {}
    for key, ref in refs.items():
        role = f"{aliases[key]} ({key})" if key in aliases else key
        ref_s = str(ref).strip()
        hits = [
            (i, j + 1)
            for i, p in enumerate(profs)
            for j, d in enumerate(p["descriptions"])
            if d and d.lower() == ref_s.lower()
        ]
        if not hits:
            alt = re.sub(r"^B(\d)$", r"B0\1", ref_s, flags=re.IGNORECASE)
            names = "|".join(re.escape(r) for r in {ref_s, alt})
            token = re.compile(rf"(^|[_\-.])({names})([_\-.]|$)", re.IGNORECASE)
            hits = [(i, 1) for i, s in enumerate(paths) if token.search(Path(s).name) and profs[i]["count"] == 1]
        if not hits and ref_s.isdigit() and len(paths) == 1:
            n = int(ref_s)
            if not 1 <= n <= profs[0]["count"]:
                raise InvalidInputError(
                    f"{role}: band {n} out of range 1..{profs[0]['count']}", path=paths[0], param=option(key)
                )
            hits = [(0, n)]
        if not hits and ref_s == option(key):  # a default reference: the role's own name
            raise InvalidInputError(f"{role}: which band is it? (no band is named {ref_s!r})", param=option(key))
        if not hits:
            raise InvalidInputError(
                f"{role}: no band matches {ref_s!r} (by description, file name token, or 1-based number)",
                param=option(key),
            )
        if len(set(hits)) > 1:
            raise InvalidInputError(
                f"{role}: band reference {ref_s!r} is ambiguous ({len(hits)} matches)", param=option(key)
            )
        i, j = hits[0]
        out[key] = _file_band(paths[i], profs[i], j, profs[i]["descriptions"][j - 1])
    return out


def index_pixels(sources: Sequence[PathLike], name: str, bands: Mapping[str, str]) -> int | None:
    """Pixels :func:`index_file` will write (for a progress total); ``None`` when the bands do not resolve."""
    return band_pixels(sources, _index_refs(name, bands, None))


def band_pixels(sources: Sequence[PathLike], refs: Mapping[str, str]) -> int | None:
    """Pixels of the grid ``refs`` resolve to (for a progress total); ``None`` when they do not resolve."""
    try:
        chosen = resolve_bands(sources, refs)
    except InvalidInputError:
        return None
    prof = profile(next(iter(chosen.values())).href)
    return int(prof["height"]) * int(prof["width"])


def _bands_func(
    *arrays: np.ndarray, block: Block, where: dict[str, tuple[int, Band]],
    op: Callable[[dict[str, np.ndarray]], np.ndarray],
) -> np.ndarray:  # fmt: skip
    env = {role: band.physical(arrays[i][band.index - 1]) for role, (i, band) in where.items()}
    return op(env)


def _index_op(
    env: dict[str, np.ndarray], *, name: str, params: Mapping[str, float] | None, nodata: float | None
) -> np.ndarray:
    out = np.asarray(indices.spectral_index(name, env, params=params), dtype=np.float32)
    if nodata is not None and not np.isnan(nodata):
        out[np.isnan(out)] = nodata
    return out


def _stream_bands(
    sources: Sequence[PathLike], target: PathLike, refs: Mapping[str, str], op: Callable[..., np.ndarray], *,
    count: int, scale: float = 1.0, offset: float = 0.0, scheduler: str | None = None,
    workers: int | None = None, progress: Progress = None, halo: int = 0, dtype: str = "float32",
    nodata: float | None = float("nan"),
) -> Path:  # fmt: skip
    if not sources:
        raise InvalidInputError("no input rasters given", param="inputs")
    if not any(is_product(s) for s in sources):  # plain rasters: nothing to resample, no temporary folder
        chosen = resolve_bands(sources, refs)
        return _run_bands(sources, target, chosen, op, count=count, scale=scale, offset=offset, scheduler=scheduler,
                          workers=workers, progress=progress, halo=halo, dtype=dtype, nodata=nodata)  # fmt: skip
    with product_workdir(target) as tmp:
        chosen = resolve_bands(sources, refs, workdir=tmp)
        return _run_bands(sources, target, chosen, op, count=count, scale=scale, offset=offset, scheduler=scheduler,
                          workers=workers, progress=progress, halo=halo, dtype=dtype, nodata=nodata)  # fmt: skip


def _run_bands(
    sources: Sequence[PathLike], target: PathLike, chosen: dict[str, Band], op: Callable[..., np.ndarray], *,
    count: int, scale: float, offset: float, scheduler: str | None, workers: int | None, progress: Progress,
    halo: int, dtype: str, nodata: float | None,
) -> Path:  # fmt: skip
    raw = [b.name for b in chosen.values() if b.quantity == "dn"]
    if raw and len(sources) == 1 and is_product(sources[0]) and scale == 1.0 and offset == 0.0:
        raise InvalidInputError(
            f"the product gives no scale factors for {', '.join(raw)}: its digital numbers are not reflectance; "
            "give --scale and --offset", path=os.fspath(sources[0]), param="scale",
        )  # fmt: skip
    if scale != 1.0 or offset != 0.0:
        scaled = [b.name for b in chosen.values() if b.scaled]
        if scaled:
            raise InvalidInputError(
                f"bands {', '.join(scaled)} are converted with the product's own factors; drop --scale/--offset",
                param="scale",
            )
        chosen = {k: replace(b, scale=scale, offset=offset) for k, b in chosen.items()}
    hrefs = list(dict.fromkeys(b.href for b in chosen.values()))
    read, chosen = _bands_to_read(hrefs, chosen)
    where = {role: (hrefs.index(b.href), b) for role, b in chosen.items()}
    log.info("bands: %s", {role: f"{b.name} ({b.quantity})" for role, b in chosen.items()})
    func = functools.partial(_bands_func, where=where, op=op)
    return run_blocks(
        hrefs, target, func, count=count, dtype=dtype, nodata=nodata, halo=halo, bands=read,
        scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def _bands_to_read(hrefs: list[str], chosen: dict[str, Band]) -> tuple[list[int] | None, dict[str, Band]]:
    """Only the bands the formula uses (renumbered in the order read), when every input holds them all.

    A file may declare thousands of bands: reading all of them for every block to use two
    made an index of a 65,535-band file time out without a pixel written.
    """
    used = sorted({b.index for b in chosen.values()})
    if used == [1]:
        return used, chosen  # every raster has a band 1: nothing to open
    counts = []
    for h in hrefs:
        with open_raster(h) as ds:
            counts.append(ds.count)
    if used == list(range(1, min(counts) + 1)) or max(used) > min(counts):
        return None, chosen  # all bands anyway, or an input lacks some: read every band of each
    position = {b: i + 1 for i, b in enumerate(used)}
    return used, {role: replace(b, index=position[b.index]) for role, b in chosen.items()}


def index_file(
    sources: Sequence[PathLike],
    target: PathLike,
    name: str,
    bands: Mapping[str, str],
    *,
    params: Mapping[str, float] | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write one spectral index computed from bands of ``sources`` (float32).

    ``bands`` maps catalogue short names or common names (``nir``, ``red``...) to
    band references (see :func:`resolve_bands`); bands the index needs and
    ``bands`` leaves out are looked up by their common name (``red``, ``nir``...),
    which a product resolves. A product's bands are converted to reflectance with
    its own factors; for plain rasters ``scale``/``offset`` turn digital numbers
    into reflectance first (e.g. ``2.75e-5`` / ``-0.2`` for Collection 2).
    Pixels where the formula is undefined (0/0, x/0) are NaN, or ``nodata``.
    """
    info = indices.index_info(name)
    refs = _index_refs(name, bands, params)
    op = functools.partial(_index_op, name=info["short_name"], params=params, nodata=nodata)
    return _stream_bands(
        sources, target, refs, op, count=1, scale=scale, offset=offset, nodata=float("nan") if nodata is None
        else nodata, scheduler=scheduler, workers=workers, progress=progress,
    )  # fmt: skip


def _index_refs(name: str, bands: Mapping[str, str], params: Mapping[str, float] | None) -> dict[str, str]:
    info = indices.index_info(name)
    refs = {}
    for key, ref in bands.items():
        short = key if key in info["bands"] else indices.COMMON_NAMES.get(key.lower(), key)
        refs[short] = ref
    common = {v: k for k, v in indices.COMMON_NAMES.items()}
    for short in info["bands"]:
        if short not in refs and short in common and not (params and short in params):
            refs[short] = common[short]
    return refs


def _harmonize_op(env: dict[str, np.ndarray], *, order: list[str], **kw: Any) -> np.ndarray:
    res = landsat.harmonize(env, **kw)
    return np.stack([res[k] for k in order])


def harmonize_file(
    sources: Sequence[PathLike],
    target: PathLike,
    bands: Mapping[str, str],
    *,
    direction: str | None = None,
    method: str = "rma",
    scale: float = 1.0,
    platform: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress = None,
) -> Path:
    """Write harmonised bands (one layer per entry of ``bands``, in order; float32, NaN nodata).

    ``direction`` defaults to ``s2_to_oli`` (HLS bandpass adjustment) for a Sentinel-2
    product, whose ``platform`` (S2A/S2B) then comes from its metadata, else ``l8_to_l7``.
    For ``s2_to_oli`` the ``nir`` band must be the narrow B8A (B08 is refused).
    """
    paths = [os.fspath(s) for s in sources]
    prod = open_product(paths[0]) if len(paths) == 1 and is_product(paths[0]) else None
    if direction is None:
        direction = "s2_to_oli" if prod is not None and prod.mission == "sentinel2" else "l8_to_l7"
    if direction == "s2_to_oli":
        if platform is None and prod is not None:
            platform = prod.platform
        bands = {k: ("B8A" if prod is not None and k == "nir" and v == "nir" else v) for k, v in bands.items()}
        if prod is not None:
            broad = [k for k, ref in bands.items() if any(b.name == "B08" for b in prod.find(ref, param=k))]
            if broad:
                raise InvalidInputError(
                    f"{', '.join(broad)} is B08 (broad NIR): HLS adjusts the narrow NIR B8A to OLI; use B8A",
                    path=paths[0], param="nir",
                )  # fmt: skip
    landsat.harmonize({k: np.zeros(1, np.float32) for k in bands}, direction=direction, method=method,
                      platform=platform, scale=scale)  # fmt: skip
    order = list(bands)
    op = functools.partial(
        _harmonize_op, order=order, direction=direction, method=method, scale=scale, platform=platform
    )
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
