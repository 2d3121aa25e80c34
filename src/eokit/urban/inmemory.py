"""The whole-grid path of :func:`eokit.urban.outofcore.degurba_files` (``method="gost"``), and
helpers both paths share: reading a population raster, cluster classes, each cluster's centre."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from eokit.core.crs import require_crs
from eokit.errors import InvalidInputError
from eokit.urban.degurba import LEVEL2_NAMES, DegurbaParams, DegurbaResult, degree_of_urbanisation

__all__ = ["centre_of_cluster", "cluster_class", "in_memory_files", "read_population"]


def read_population(path: str | os.PathLike[str], *, window: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Read band 1 of a population raster (optionally a window) as float64 with NaN for nodata.

    Raises :class:`~eokit.errors.MissingCRSError` when the raster has no CRS.
    """
    from eokit.io.raster import open_raster

    with open_raster(path) as ds:
        require_crs(
            ds.crs.to_wkt() if ds.crs else None, path=os.fspath(path), purpose="population density (people per km²)"
        )
        data = ds.read(1, window=window).astype(np.float64)
        if ds.nodata is not None:
            data[data == ds.nodata] = np.nan
        transform = ds.window_transform(window) if window is not None else ds.transform
        return data, {"transform": transform, "crs": ds.crs, "nodata": ds.nodata}


def cluster_class(result: DegurbaResult, labels: np.ndarray, n: int) -> np.ndarray:
    """Each cluster's class: 30 if it holds an urban-centre cell, else its most frequent level-2 class."""
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    lab = flat[idx].astype(np.int64)
    cls = result.level2.ravel()[idx].astype(np.int64)
    counts = np.bincount(lab * 32 + cls, minlength=(n + 1) * 32).reshape(n + 1, 32)[1:]
    out = np.argmax(counts, axis=1).astype(np.int16)
    out[counts[:, 30] > 0] = 30
    return out


def centre_of_cluster(clusters: np.ndarray, centres: np.ndarray, pop: np.ndarray, n: int) -> np.ndarray:
    """The centre holding most of each cluster's population (0: none; ties: the lower centre id)."""
    sel = (clusters > 0) & (centres > 0)
    out = np.zeros(n, dtype=np.int32)
    if not sel.any():
        return out
    df = pd.DataFrame({"cl": clusters[sel], "ce": centres[sel], "p": pop[sel]})
    best = df.groupby(["cl", "ce"])["p"].sum().reset_index()
    best = best.sort_values(["cl", "p", "ce"], ascending=[True, False, True]).drop_duplicates("cl")
    out[best["cl"].to_numpy() - 1] = best["ce"].to_numpy()
    return out


IN_MEMORY_BYTES_PER_CELL = 64
"""Estimated peak bytes per cell of the whole-grid (``method="gost"``) path."""


def in_memory_files(population: Any, *, method: str, params: DegurbaParams, max_memory: Any, **paths: Any) -> Any:
    """:func:`~eokit.urban.degurba.degree_of_urbanisation` on the whole grid, written like the out-of-core path."""
    from eokit.io.raster import open_raster, write_raster
    from eokit.urban.memory import resolve_max_memory
    from eokit.urban.outofcore import DegurbaFiles

    budget = resolve_max_memory(max_memory)
    with open_raster(population) as ds:
        need = ds.width * ds.height * IN_MEMORY_BYTES_PER_CELL
    if need > budget:
        raise InvalidInputError(
            f"--method {method} works on the whole grid in memory: about {need >> 20} MB, "
            f"more than the {budget >> 20} MB budget (use --method ghsl, which works block by block)",
            param="max_memory",
        )
    pop, meta = read_population(population)
    tr, crs = meta["transform"], meta["crs"]
    res = degree_of_urbanisation(pop, transform=tr, crs=crs, method=method, params=params)
    tables = {}
    for key, lab, table in (("centres", res.centres, res.centre_table), ("clusters", res.clusters, res.cluster_table)):
        write_raster(paths[key], lab, transform=tr, crs=crs, nodata=0)
        table = table.copy()
        boxes = [(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(lab, len(table))]
        for j, col in enumerate(("row0", "row1", "col0", "col1")):
            table[col] = np.asarray([b[j] for b in boxes], dtype=np.int64)
        tables[key] = table
    tables["clusters"]["class"] = cluster_class(res, res.clusters, len(tables["clusters"]))
    tables["centres"]["class"] = np.int16(30)
    tables["clusters"]["centre_id"] = centre_of_cluster(
        res.clusters, res.centres, res.population, len(res.cluster_table)
    )
    for key in ("level2", "level1"):
        if paths[key] is not None:
            tags = (
                {"classes": ", ".join(f"{k}={v}" for k, v in sorted(LEVEL2_NAMES.items()))} if key == "level2" else None
            )
            write_raster(paths[key], getattr(res, key), transform=tr, crs=crs, nodata=0, tags=tags)
    return DegurbaFiles(
        level2=Path(paths["level2"] or ""),
        level1=Path(paths["level1"]) if paths["level1"] else None,
        centres=Path(paths["centres"]),
        clusters=Path(paths["clusters"]),
        centre_table=tables["centres"],
        cluster_table=tables["clusters"],
        level2_population={int(k): float(res.population[res.level2 == k].sum()) for k in np.unique(res.level2)},
        total_population=float(res.population.sum()),
        n_invalid=res.n_invalid,
        method=method,
        transform=tr,
        crs=crs,
    )
