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

__all__ = ["admin_index", "assign_clusters", "district_summary", "district_tables", "weighted_centroids"]

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
    return _summary_frame(total, urban, centre, index.zone_ids)


def _summary_frame(total: np.ndarray, urban: np.ndarray, centre: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "total_pop": total,
                "urban_pop": urban,
                "centre_pop": centre,
                "urban_share": np.where(total > 0, urban / total, np.nan),
                "centre_share": np.where(total > 0, centre / total, np.nan),
            },
            index=pd.Index(ids, name="admin_id"),
        )


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


def district_tables(
    population: Any,
    admin: Any,
    *,
    id_col: str,
    centres: Any,
    clusters: Any,
    block_rows: int = 1024,
) -> tuple[pd.DataFrame, Any, pd.DataFrame, pd.DataFrame]:
    """:func:`district_summary`, :func:`weighted_centroids` and :func:`assign_clusters` (for the
    clusters and the centres) from files, reading strips of ``block_rows`` rows: memory holds the
    admin index (row runs), one strip and per-zone / per-object sums, never the grid.

    Returns ``(summary, centroids, cluster_admin, centre_admin)``, equal to the array functions'.
    """
    import geopandas as gpd
    from rasterio.windows import Window

    from eokit.io.raster import open_raster
    from eokit.urban._kernels import expand_runs

    with open_raster(population) as pds, open_raster(centres) as cds, open_raster(clusters) as uds:
        shape, tr, crs = (pds.height, pds.width), pds.transform, pds.crs
        idx = admin_index(admin, id_col=id_col, transform=tr, crs=crs, shape=shape)
        n = idx.n_zones
        acc = {k: np.zeros(n) for k in ("total", "urban", "centre", "w", "wx", "wy", "x", "y", "cnt")}
        pairs: dict[str, dict[tuple[int, int], float]] = {"U": {}, "C": {}}
        totals: dict[str, dict[int, float]] = {"U": {}, "C": {}}
        sruns, srow = idx.runs_by_row()
        for r0 in range(0, shape[0], block_rows):
            r1 = min(r0 + block_rows, shape[0])
            win = Window(0, r0, shape[1], r1 - r0)
            pop = pds.read(1, window=win).astype(np.float64)
            bad = ~np.isfinite(pop) | (pop <= 0)
            if pds.nodata is not None:
                bad |= pop == pds.nodata
            pop[bad] = 0.0
            labs = {"C": cds.read(1, window=win), "U": uds.read(1, window=win)}
            for key, lab in labs.items():  # every object's people, inside a unit or not
                sel = lab > 0
                ids, inv = np.unique(lab[sel], return_inverse=True)
                for i, v in zip(ids.tolist(), np.bincount(inv, weights=pop[sel]).tolist()):
                    totals[key][i] = totals[key].get(i, 0.0) + v
            a, b = np.searchsorted(srow, [r0, r1])
            if a == b:
                continue
            pix, zone = expand_runs(np.ascontiguousarray(sruns[a:b]), shape[1])
            rr, cc = np.divmod(pix, shape[1])
            v = pop[rr - r0, cc]
            u = labs["U"][rr - r0, cc]
            c = labs["C"][rr - r0, cc]
            x, y = tr @ (cc + 0.5, rr + 0.5)
            for name, w in (("total", v), ("urban", v * (u > 0)), ("centre", v * (c > 0)), ("w", v)):
                acc[name] += np.bincount(zone, weights=w, minlength=n)
            acc["wx"] += np.bincount(zone, weights=v * x, minlength=n)
            acc["wy"] += np.bincount(zone, weights=v * y, minlength=n)
            acc["x"] += np.bincount(zone, weights=x, minlength=n)
            acc["y"] += np.bincount(zone, weights=y, minlength=n)
            acc["cnt"] += np.bincount(zone, minlength=n)
            for key, lab in (("U", u), ("C", c)):
                sel = lab > 0
                keys, inv = np.unique(lab[sel].astype(np.int64) * n + zone[sel], return_inverse=True)
                for k, s in zip(keys.tolist(), np.bincount(inv, weights=v[sel]).tolist()):
                    pk = divmod(k, n)
                    pairs[key][pk] = pairs[key].get(pk, 0.0) + s
    summary = _summary_frame(acc["total"], acc["urban"], acc["centre"], idx.zone_ids)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(acc["w"] > 0, acc["wx"] / acc["w"], acc["x"] / acc["cnt"])
        cy = np.where(acc["w"] > 0, acc["wy"] / acc["w"], acc["y"] / acc["cnt"])
    geoms = gpd.points_from_xy(cx, cy)
    geoms[acc["cnt"] == 0] = None
    cent = gpd.GeoDataFrame({"admin_id": idx.zone_ids, "population": acc["w"]}, geometry=geoms, crs=crs)
    tables = []
    for key in ("U", "C"):
        n_obj = max(totals[key], default=0)
        tables.append(_assign_from_pairs(pairs[key], totals[key], n_obj, idx.zone_ids))
    return summary, cent, tables[0], tables[1]


def _assign_from_pairs(
    pairs: dict[tuple[int, int], float], totals: dict[int, float], n_obj: int, zone_ids: np.ndarray
) -> pd.DataFrame:
    """:func:`assign_clusters`' table from (object, zone) population sums."""
    per = pd.DataFrame([(o, z, p) for (o, z), p in pairs.items()], columns=["cluster", "zone", "pop"]).astype(
        {"cluster": np.int64, "zone": np.int64, "pop": np.float64}
    )
    per = per.sort_values(["cluster", "pop", "zone"], ascending=[True, False, True], kind="stable")
    per["rank"] = per.groupby("cluster").cumcount()
    out = pd.DataFrame(index=pd.Index(np.arange(1, n_obj + 1), name="id"))
    for k, name in ((0, "admin1"), (1, "admin2")):
        part = per[per["rank"] == k].set_index("cluster")
        out[f"{name}_id"] = pd.Series(zone_ids[part["zone"].to_numpy()], index=part.index).reindex(out.index)
        out[f"{name}_pop"] = part["pop"].reindex(out.index).fillna(0.0).astype(np.float64)
    tot = pd.Series(totals, dtype=np.float64).reindex(out.index).fillna(0.0).to_numpy()
    inside = per.groupby("cluster")["pop"].sum().reindex(out.index).fillna(0.0).to_numpy()
    out["outside_pop"] = np.maximum(tot - inside, 0.0)
    return out
