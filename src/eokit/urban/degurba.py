"""Degree of urbanisation (EC / GHSL method, stage I grid classification).

Rules (all thresholds are :class:`DegurbaParams` fields with these defaults):

- **density** is people per km² of cell area (per row on geographic grids,
  exact on equal-area grids; of *land* area when a land-share raster is given);
  all thresholds compare with ``>=``. Negative, NaN or nodata populations are
  treated as 0 and counted in :attr:`DegurbaResult.n_invalid` (and logged).
- **urban centres** (class 30): cells with density >= 1500 (or, when a built-up
  share raster is given, built-up share >= 0.5), 4-connected, at least 50,000
  people; then iterative conditional majority filling (a cell joins a centre
  when >= 5 of its 8 neighbours belong to that centre, repeated until stable)
  and holes (4-connected non-centre areas enclosed by one centre) smaller than
  15 km² filled.
- **urban clusters**: cells with density >= 300 (plus the centres), 8-connected,
  at least 5,000 people.
- **level 2**: 30 urban centre; 23 dense urban cluster (urban-cluster cells with
  density >= 1500 or built-up >= 0.5, 4-connected, >= 5,000 people, outside
  centres); 22 semi-dense urban cluster (an urban cluster with no centre or
  dense cell and farther than 3 km from them); 21 suburban / peri-urban (the
  other urban-cluster cells); 13 rural cluster (density >= 300, 8-connected,
  >= 500 people, outside urban clusters); 12 low-density rural (density >= 50);
  11 very low-density rural; 10 water (land share 0 and no people, only when a
  land-share raster is given). **Level 1** is ``level2 // 10`` (3 urban centre,
  2 urban cluster, 1 rural).

``method="gost"`` reproduces the rules of GOST's ``UrbanRaster.calculateUrban``
for comparability with earlier studies: raw cell values compared with ``>``
(no cell areas), 4-connected clusters for both kinds, ``>=`` on the total,
optional 3x3 median (>= 5 of 9) smoothing ORed into the centres, no hole
filling. Level 2 then has only 30, 21 and 11.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from eokit.core.crs import cell_areas_km2, pixel_sizes_m, require_crs
from eokit.errors import InvalidInputError
from eokit.urban._kernels import majority_fill_pass
from eokit.urban.labels import label

__all__ = [
    "DegurbaParams",
    "DegurbaResult",
    "clean_population",
    "degree_of_urbanisation",
    "fill_holes",
    "majority_fill",
    "population_density",
    "urban_centres",
    "urban_clusters",
]

log = logging.getLogger(__name__)

LEVEL2_NAMES = {
    30: "urban centre",
    23: "dense urban cluster",
    22: "semi-dense urban cluster",
    21: "suburban or peri-urban",
    13: "rural cluster",
    12: "low density rural",
    11: "very low density rural",
    10: "water",
}


@dataclasses.dataclass(frozen=True)
class DegurbaParams:
    """Thresholds of the degree of urbanisation (defaults: the EC/GHSL manual)."""

    centre_density: float = 1500.0
    centre_built_share: float = 0.5
    centre_min_pop: float = 50_000.0
    cluster_density: float = 300.0
    cluster_min_pop: float = 5_000.0
    majority_votes: int = 5
    max_hole_km2: float = 15.0
    dense_density: float = 1500.0
    dense_min_pop: float = 5_000.0
    semi_dense_distance_km: float = 3.0
    rural_cluster_min_pop: float = 500.0
    low_density: float = 50.0
    smooth: bool = True  # gost mode only: median smoothing of centres


@dataclasses.dataclass
class DegurbaResult:
    """Outputs of :func:`degree_of_urbanisation` on one grid."""

    level2: np.ndarray  # uint8 class codes
    level1: np.ndarray  # uint8 class codes
    centres: np.ndarray  # int32 labels, 0 = none
    clusters: np.ndarray  # int32 labels, 0 = none
    density: np.ndarray  # float64 people / km²
    population: np.ndarray  # float64, invalid cells as 0
    centre_table: pd.DataFrame
    cluster_table: pd.DataFrame
    n_invalid: int
    method: str


def clean_population(population: np.ndarray, *, nodata: float | None = None) -> tuple[np.ndarray, int]:
    """Population as float64 with NaN, negative and ``nodata`` cells set to 0; and their count."""
    pop = np.asarray(population, dtype=np.float64)
    if pop.ndim != 2:
        raise InvalidInputError(f"population must be a 2-D grid, got shape {pop.shape}")
    bad = ~np.isfinite(pop) | (pop < 0)
    if nodata is not None and np.isfinite(nodata):
        bad |= pop == nodata
    elif nodata is not None:
        bad |= np.isnan(pop)
    n = int(bad.sum())
    if n:
        pop = np.where(bad, 0.0, pop)
        log.warning("%d population cells are negative, NaN or nodata: treated as 0 people", n)
    return pop, n


def population_density(
    population: np.ndarray, *, transform: Any, crs: Any, land: np.ndarray | None = None
) -> np.ndarray:
    """People per km² of cell area (or of land area when ``land`` shares 0..1 are given)."""
    pop = np.asarray(population, dtype=np.float64)
    areas = cell_areas_km2(transform, crs, pop.shape[0])[:, None]
    if land is None:
        return pop / areas
    share = np.clip(np.asarray(land, dtype=np.float64), 0.0, 1.0)
    land_area = areas * share
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = np.where(land_area > 0, pop / land_area, np.where(pop > 0, np.inf, 0.0))
    return dens


def _component_sums(labels: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    """Per-label sums of ``values`` (index 0 = background is left 0); only labelled cells are read."""
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    vals = np.broadcast_to(values, labels.shape).ravel()[idx]
    return np.bincount(flat[idx], weights=vals, minlength=n + 1)


def _keep_large(labels: np.ndarray, n: int, pop: np.ndarray, min_pop: float) -> tuple[np.ndarray, int]:
    sums = _component_sums(labels, n, pop)
    keep = sums >= min_pop
    keep[0] = False
    new_id = np.zeros(n + 1, dtype=np.int32)
    new_id[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return new_id[labels], int(keep.sum())


def majority_fill(labels: np.ndarray, *, votes: int = 5, max_iter: int = 10_000) -> np.ndarray:
    """Iterate the conditional majority rule until no cell changes (8 neighbours, ``>= votes``)."""
    lab = np.ascontiguousarray(labels, dtype=np.int32)
    cand = np.ones(lab.shape, dtype=bool)
    for _ in range(max_iter):
        lab, changed = majority_fill_pass(lab, cand, votes)
        if changed == 0:
            break
    return lab


def fill_holes(labels: np.ndarray, cell_area_km2: np.ndarray, *, max_area_km2: float) -> np.ndarray:
    """Fill 4-connected non-labelled areas enclosed by a single label and smaller than ``max_area_km2``.

    An area touching the grid edge is not a hole. ``cell_area_km2`` broadcasts to the grid.
    """
    lab = np.asarray(labels)
    bg, nb = ndimage.label(lab == 0)
    if nb == 0:
        return lab.copy()
    area = np.bincount(bg.ravel(), weights=np.broadcast_to(cell_area_km2, lab.shape).ravel(), minlength=nb + 1)
    edge = np.unique(np.concatenate([bg[0], bg[-1], bg[:, 0], bg[:, -1]]))
    # labels 4-adjacent to each background component
    owner = np.zeros(nb + 1, dtype=np.int64)  # 0 = none yet, -1 = several
    for a, b in (
        (bg[:, :-1], lab[:, 1:]),
        (bg[:, 1:], lab[:, :-1]),
        (bg[:-1, :], lab[1:, :]),
        (bg[1:, :], lab[:-1, :]),
    ):
        sel = (a > 0) & (b > 0)
        pairs = np.unique(np.stack([a[sel], b[sel]], axis=1), axis=0) if sel.any() else np.empty((0, 2), int)
        for comp, lbl in pairs:
            if owner[comp] == 0:
                owner[comp] = lbl
            elif owner[comp] != lbl:
                owner[comp] = -1
    fill = (owner > 0) & (area < max_area_km2)
    fill[0] = False
    fill[edge] = False
    out = lab.copy()
    sel = fill[bg]
    out[sel] = owner[bg[sel]]
    return out


def _table(labels: np.ndarray, n: int, pop: np.ndarray, areas: np.ndarray, kind: str) -> pd.DataFrame:
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    lab = flat[idx]
    rows, cols = np.divmod(idx, labels.shape[1])
    p = pop.ravel()[idx]
    a = np.broadcast_to(areas, labels.shape).ravel()[idx]
    popsum = np.bincount(lab, weights=p, minlength=n + 1)[1:]
    area = np.bincount(lab, weights=a, minlength=n + 1)[1:]
    cells = np.bincount(lab, minlength=n + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        prow = np.bincount(lab, weights=p * rows, minlength=n + 1)[1:] / popsum
        pcol = np.bincount(lab, weights=p * cols, minlength=n + 1)[1:] / popsum
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int32),
            "kind": kind,
            "population": popsum,
            "area_km2": area,
            "density": popsum / np.where(area > 0, area, np.nan),
            "n_cells": cells.astype(np.int64),
            "pop_row": prow + 0.5,  # population-weighted centroid, fractional pixel coordinates
            "pop_col": pcol + 0.5,
        }
    )


def urban_centres(
    pop: np.ndarray,
    density: np.ndarray,
    areas: np.ndarray,
    *,
    built_up: np.ndarray | None = None,
    params: DegurbaParams = DegurbaParams(),
    block_shape: int | None = None,
) -> tuple[np.ndarray, int]:
    """Urban-centre labels (4-connected, gap-filled, holes filled); ``(labels, n)``."""
    mask = density >= params.centre_density
    if built_up is not None:
        mask |= np.asarray(built_up, dtype=np.float64) >= params.centre_built_share
    lab, n = label(mask, connectivity=4, block_shape=block_shape)
    lab, n = _keep_large(lab, n, pop, params.centre_min_pop)
    if n:
        lab = majority_fill(lab, votes=params.majority_votes)
        lab = fill_holes(lab, areas, max_area_km2=params.max_hole_km2)
    return lab.astype(np.int32), n


def urban_clusters(
    pop: np.ndarray,
    density: np.ndarray,
    *,
    include: np.ndarray | None = None,
    params: DegurbaParams = DegurbaParams(),
    block_shape: int | None = None,
) -> tuple[np.ndarray, int]:
    """Urban-cluster labels (density >= 300 or ``include``, 8-connected, >= 5,000 people)."""
    mask = density >= params.cluster_density
    if include is not None:
        mask |= include
    lab, n = label(mask, connectivity=8, block_shape=block_shape)
    lab, n = _keep_large(lab, n, pop, params.cluster_min_pop)
    return lab.astype(np.int32), n


def _gost(pop: np.ndarray, params: DegurbaParams, block_shape: int | None) -> tuple[np.ndarray, int, np.ndarray, int]:
    def extract(thresh: float, min_pop: float) -> tuple[np.ndarray, int]:
        lab, n = label(pop > thresh, connectivity=4, block_shape=block_shape)
        return _keep_large(lab, n, pop, min_pop)

    centres, nc = extract(params.centre_density, params.centre_min_pop)
    if params.smooth and nc:
        current = centres > 0
        for _ in range(100):
            smoothed = ndimage.median_filter(current.astype(np.uint8), size=3).astype(bool) | current
            if smoothed.sum() == current.sum():
                break
            current = smoothed
        lab, n = label(current, connectivity=4, block_shape=block_shape)
        centres, nc = _keep_large(lab, n, pop, params.centre_min_pop)
    clusters, nu = extract(params.cluster_density, params.cluster_min_pop)
    return centres, nc, clusters, nu


def degree_of_urbanisation(
    population: np.ndarray,
    *,
    transform: Any,
    crs: Any,
    nodata: float | None = None,
    built_up: np.ndarray | None = None,
    land: np.ndarray | None = None,
    method: str = "ghsl",
    params: DegurbaParams = DegurbaParams(),
    block_shape: int | None = None,
) -> DegurbaResult:
    """Classify a population grid by degree of urbanisation (see the module docstring).

    Parameters
    ----------
    population : 2-D array of people per cell.
    transform, crs : the grid's affine transform and CRS (a CRS is required).
    nodata : population nodata value (NaN and negatives are always invalid).
    built_up : optional built-up share (0..1) on the same grid.
    land : optional land share (0..1) on the same grid; enables class 10 (water).
    method : ``"ghsl"`` (default) or ``"gost"`` (comparability with GOST's rules).
    params : thresholds.
    block_shape : block size of the connected-component labelling.

    Examples
    --------
    >>> from affine import Affine
    >>> pop = np.zeros((20, 20)); pop[5:15, 5:15] = 2000.0
    >>> res = degree_of_urbanisation(pop, transform=Affine(1000, 0, 0, 0, -1000, 0), crs="EPSG:3857")
    >>> int(res.level2[10, 10]), round(float(res.centre_table.population[0]))
    (30, 200000)
    """
    crs = require_crs(crs.to_wkt() if hasattr(crs, "to_wkt") else crs, purpose="population density")
    if method not in {"ghsl", "gost"}:
        raise InvalidInputError(f"method must be 'ghsl' or 'gost', got {method!r}")
    pop, n_invalid = clean_population(population, nodata=nodata)
    for name, extra in (("built_up", built_up), ("land", land)):
        if extra is not None and np.shape(extra) != pop.shape:
            raise InvalidInputError(f"{name} grid shape {np.shape(extra)} differs from population {pop.shape}")
    areas = cell_areas_km2(transform, crs, pop.shape[0])[:, None]
    density = population_density(pop, transform=transform, crs=crs, land=land)
    level2 = np.full(pop.shape, 11, dtype=np.uint8)
    if method == "gost":
        centres, nc, clusters, nu = _gost(pop, params, block_shape)
        level2[pop > params.low_density] = 12
        level2[clusters > 0] = 21
        level2[centres > 0] = 30
    else:
        centres, nc = urban_centres(pop, density, areas, built_up=built_up, params=params, block_shape=block_shape)
        clusters, nu = urban_clusters(pop, density, include=centres > 0, params=params, block_shape=block_shape)
        level2[density >= params.low_density] = 12
        _rural_clusters(level2, pop, density, clusters, params, block_shape)
        _urban_cluster_classes(level2, pop, density, centres, clusters, nu, built_up, transform, crs, params)
        if land is not None:
            level2[(np.asarray(land) <= 0) & (pop <= 0)] = 10
    level1 = (level2 // 10).astype(np.uint8)
    return DegurbaResult(
        level2=level2,
        level1=level1,
        centres=centres.astype(np.int32),
        clusters=clusters.astype(np.int32),
        density=density,
        population=pop,
        centre_table=_table(centres, nc, pop, areas, "centre"),
        cluster_table=_table(clusters, nu, pop, areas, "cluster"),
        n_invalid=n_invalid,
        method=method,
    )


def _rural_clusters(level2, pop, density, clusters, params, block_shape) -> None:
    mask = (density >= params.cluster_density) & (clusters == 0)
    lab, n = label(mask, connectivity=8, block_shape=block_shape)
    lab, n = _keep_large(lab, n, pop, params.rural_cluster_min_pop)
    level2[lab > 0] = 13


def _urban_cluster_classes(level2, pop, density, centres, clusters, nu, built_up, transform, crs, params) -> None:
    if nu == 0:
        return
    dense_mask = (clusters > 0) & (centres == 0) & (density >= params.dense_density)
    if built_up is not None:
        dense_mask |= (clusters > 0) & (centres == 0) & (np.asarray(built_up) >= params.centre_built_share)
    dlab, nd = label(dense_mask, connectivity=4)
    dlab, nd = _keep_large(dlab, nd, pop, params.dense_min_pop)
    core = (centres > 0) | (dlab > 0)
    level2[clusters > 0] = 21
    if core.any():
        dx, dy = pixel_sizes_m(transform, crs, pop.shape[0])
        dist_km = ndimage.distance_transform_edt(~core, sampling=(float(dy.mean()), float(dx.mean()))) / 1000.0
    else:
        dist_km = np.full(pop.shape, np.inf)
    has_core = np.bincount(clusters.ravel(), weights=core.ravel(), minlength=nu + 1) > 0
    near = np.zeros(nu + 1, dtype=bool)
    np.logical_or.at(near, clusters.ravel(), (dist_km <= params.semi_dense_distance_km).ravel())
    semi = ~has_core & ~near
    semi[0] = False
    level2[semi[clusters]] = 22
    level2[dlab > 0] = 23
    level2[centres > 0] = 30
