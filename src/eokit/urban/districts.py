"""District (admin unit) summaries on a population grid.

- total, urban-cluster and urban-centre population per admin unit (float64);
- the admin unit holding most of each cluster's population, and the second one;
- population-weighted admin centroids (x = easting/longitude, y = northing/latitude).

All use one :class:`~eokit.urban.zonal.ZoneIndex` of the admin polygons on the
population grid (cell centres), so the numbers agree with the zonal statistics.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from eokit.errors import InvalidInputError
from eokit.urban.zonal import ZoneIndex

__all__ = ["admin_index", "assign_clusters", "district_summary", "weighted_centroids"]

log = logging.getLogger(__name__)


def admin_index(admin: Any, *, id_col: str, transform: Any, crs: Any, shape: tuple[int, int]) -> ZoneIndex:
    """ZoneIndex of the admin polygons (reprojected to ``crs``) with ``id_col`` values as zone ids."""
    if id_col not in admin.columns:
        raise InvalidInputError(
            f"admin units have no column {id_col!r} (columns: {', '.join(map(str, admin.columns))})"
        )
    if admin.crs is None:
        raise InvalidInputError("admin units have no CRS")
    if admin[id_col].duplicated().any():
        raise InvalidInputError(f"admin id column {id_col!r} has duplicate values")
    local = admin.to_crs(crs) if admin.crs != crs else admin
    return ZoneIndex.from_geometries(
        list(local.geometry), transform=transform, shape=shape, zone_ids=admin[id_col].to_numpy()
    )


def district_summary(
    index: ZoneIndex, population: np.ndarray, *, centres: np.ndarray, clusters: np.ndarray
) -> pd.DataFrame:
    """Population per admin unit: ``total_pop``, ``urban_pop`` (urban clusters), ``centre_pop``
    (urban centres), and their shares of the total (all float64)."""
    pop = np.nan_to_num(np.asarray(population, dtype=np.float64), nan=0.0)
    v = index.gather(pop)
    inc = index.gather(clusters) > 0
    inh = index.gather(centres) > 0
    n = index.n_zones
    total = np.bincount(index.zone, weights=v, minlength=n)
    urban = np.bincount(index.zone, weights=v * inc, minlength=n)
    centre = np.bincount(index.zone, weights=v * inh, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "total_pop": total,
                "urban_pop": urban,
                "centre_pop": centre,
                "urban_share": np.where(total > 0, urban / total, np.nan),
                "centre_share": np.where(total > 0, centre / total, np.nan),
            },
            index=pd.Index(index.zone_ids, name="admin_id"),
        )
    return out


def assign_clusters(index: ZoneIndex, population: np.ndarray, labels: np.ndarray, n_clusters: int) -> pd.DataFrame:
    """For each cluster: the admin unit holding most of its population and the second one.

    Columns ``admin1_id``, ``admin1_pop``, ``admin2_id``, ``admin2_pop`` (None/0
    when there is no second unit) and ``outside_pop`` (cluster people in no unit).
    """
    pop = np.nan_to_num(np.asarray(population, dtype=np.float64), nan=0.0)
    lab = index.gather(labels)
    sel = lab > 0
    df = pd.DataFrame({"cluster": lab[sel], "zone": index.zone[sel], "pop": index.gather(pop)[sel]})
    per = df.groupby(["cluster", "zone"], sort=False)["pop"].sum().reset_index()
    per = per.sort_values(["cluster", "pop", "zone"], ascending=[True, False, True], kind="stable")
    per["rank"] = per.groupby("cluster").cumcount()
    ids = index.zone_ids
    out = pd.DataFrame(index=pd.Index(np.arange(1, n_clusters + 1), name="id"))
    for k, name in ((0, "admin1"), (1, "admin2")):
        part = per[per["rank"] == k].set_index("cluster")
        out[f"{name}_id"] = pd.Series(ids[part["zone"].to_numpy()], index=part.index).reindex(out.index)
        out[f"{name}_pop"] = part["pop"].reindex(out.index).fillna(0.0).astype(np.float64)
    totals = np.bincount(labels.ravel(), weights=pop.ravel(), minlength=n_clusters + 1)[1:]
    inside = per.groupby("cluster")["pop"].sum().reindex(out.index).fillna(0.0).to_numpy()
    out["outside_pop"] = np.maximum(totals - inside, 0.0)
    return out


def weighted_centroids(index: ZoneIndex, population: np.ndarray, *, transform: Any, crs: Any) -> Any:
    """Population-weighted centroid of each zone (cell centres weighted by people), a point GeoDataFrame.

    Zones without people fall back to the plain mean of their cell centres; zones
    without cells get an empty geometry.
    """
    import geopandas as gpd

    pop = np.nan_to_num(np.asarray(population, dtype=np.float64), nan=0.0)
    rows, cols = np.divmod(index.pixels, index.shape[1])
    x, y = transform @ (cols + 0.5, rows + 0.5)
    w = index.gather(np.maximum(pop, 0.0))
    n = index.n_zones
    wsum = np.bincount(index.zone, weights=w, minlength=n)
    cnt = np.bincount(index.zone, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(
            wsum > 0,
            np.bincount(index.zone, weights=w * x, minlength=n) / wsum,
            np.bincount(index.zone, weights=x, minlength=n) / cnt,
        )
        cy = np.where(
            wsum > 0,
            np.bincount(index.zone, weights=w * y, minlength=n) / wsum,
            np.bincount(index.zone, weights=y, minlength=n) / cnt,
        )
    geoms = gpd.points_from_xy(cx, cy)
    geoms[cnt == 0] = None
    return gpd.GeoDataFrame({"admin_id": index.zone_ids, "population": wsum}, geometry=geoms, crs=crs)
