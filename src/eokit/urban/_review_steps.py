"""The steps of :func:`eokit.urban.review.review` (each reads the previous steps' files)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from eokit.urban.degurba import DegurbaParams

log = logging.getLogger(__name__)


def urban_outputs(out: Path) -> dict[str, Path]:
    return {
        "level2": out / "degurba_level2.tif",
        "centres_raster": out / "urban_centres.tif",
        "clusters_raster": out / "urban_clusters.tif",
        "centres_gpkg": out / "urban_centres.gpkg",
        "centres_geojson": out / "urban_centres.geojson",
        "clusters_gpkg": out / "urban_clusters.gpkg",
        "clusters_geojson": out / "urban_clusters.geojson",
        "clusters_csv": out / "urban_clusters.csv",
        "urban_summary": out / "urban_summary.json",
    }


def run_urban(
    pop_path: Path,
    out: Path,
    method: str,
    params: DegurbaParams,
    max_memory: int | str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> None:
    import json

    import geopandas as gpd

    from eokit.io.atomic import atomic_path
    from eokit.io.vector import write_vector
    from eokit.urban.clusters import polygons_from_files
    from eokit.urban.naming import name_clusters
    from eokit.urban.outofcore import degurba_files

    f = urban_outputs(out)
    res = degurba_files(
        pop_path,
        centres=f["centres_raster"],
        clusters=f["clusters_raster"],
        level2=f["level2"],
        method=method,
        params=params,
        max_memory=max_memory,
        scheduler=scheduler,
        workers=workers,
    )
    for kind, gk, jk in (
        ("centre", "centres_gpkg", "centres_geojson"),
        ("cluster", "clusters_gpkg", "clusters_geojson"),
    ):
        gdf = name_clusters(
            polygons_from_files(res, kind=kind, scheduler=scheduler, workers=workers),
            labels=res.centres if kind == "centre" else res.clusters,
        )
        pts = gpd.GeoSeries(gpd.points_from_xy(gdf["pop_x"], gdf["pop_y"]), crs=gdf.crs).to_crs(4326)
        gdf["pop_lon"], gdf["pop_lat"] = pts.x.to_numpy(), pts.y.to_numpy()  # pop_x/pop_y stay in the grid CRS
        gdf = gdf.to_crs(4326)
        write_vector(gdf, f[gk], layer=_layer(f[gk]))
        write_vector(gdf, f[jk], layer=_layer(f[jk]))
        if kind == "cluster":
            with atomic_path(f["clusters_csv"]) as tmp:
                pd.DataFrame(gdf.drop(columns="geometry")).to_csv(tmp, index=False)
    summary = {
        "method": method,
        "n_centres": int(res.centre_table.shape[0]),
        "n_clusters": int(res.cluster_table.shape[0]),
        "total_population": res.total_population,
        "centre_population": float(res.centre_table.population.sum()),
        "cluster_population": float(res.cluster_table.population.sum()),
        "n_invalid_cells": int(res.n_invalid),
        "level2_population": {str(k): v for k, v in sorted(res.level2_population.items())},
    }
    with atomic_path(f["urban_summary"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))


def district_outputs(out: Path) -> dict[str, Path]:
    return {
        "district_summary": out / "district_summary.csv",
        "admin_centroids": out / "admin_centroids.gpkg",
        "cluster_admin": out / "cluster_admin.csv",
        "centre_admin": out / "centre_admin.csv",
    }


def run_districts(pop_path: Path, adm: Any, admin_id: str, admin_name: str | None, out: Path) -> None:
    import geopandas as gpd

    from eokit.io.atomic import atomic_path
    from eokit.io.vector import write_vector
    from eokit.urban.districts import district_tables

    f = district_outputs(out)
    summ, cent, cluster_admin, centre_admin = district_tables(
        pop_path, adm, id_col=admin_id, centres=out / "urban_centres.tif", clusters=out / "urban_clusters.tif"
    )
    cent = cent.to_crs(4326)
    summ["centroid_lon"] = cent.geometry.x.to_numpy()
    summ["centroid_lat"] = cent.geometry.y.to_numpy()
    if admin_name:
        summ.insert(0, admin_name, adm.set_index(admin_id)[admin_name].reindex(summ.index).to_numpy())
    with atomic_path(f["district_summary"]) as tmp:
        summ.to_csv(tmp)
    if admin_name:
        cent[admin_name] = summ[admin_name].to_numpy()
    write_vector(gpd.GeoDataFrame(cent, geometry="geometry"), f["admin_centroids"], layer="admin_centroids")
    for table, key, vec in (
        (cluster_admin, "cluster_admin", "urban_clusters.gpkg"),
        (centre_admin, "centre_admin", "urban_centres.gpkg"),
    ):
        names = gpd.read_file(out / vec, engine="pyogrio").set_index("id")["name"]
        table.insert(0, "name", names.reindex(table.index).to_numpy())
        with atomic_path(f[key]) as tmp:
            table.to_csv(tmp)


def zonal_outputs(out: Path, has_ntl: bool, has_ghsl: bool) -> dict[str, Path]:
    files = {}
    for kind, flag in (("ntl", has_ntl), ("ghsl", has_ghsl)):
        if flag:
            for zone in ("clusters", "centres", "districts"):
                files[f"{kind}_{zone}"] = out / f"{kind}_{zone}.csv"
            files[f"{kind}_tidy"] = out / f"{kind}_tidy.csv"
    return files


def run_zonal(out: Path, adm: Any, admin_id: str, ntl: list[Path], ghsl: list[Path], ntl_min: float | None) -> None:
    import geopandas as gpd

    from eokit.io.atomic import atomic_path
    from eokit.urban.zonal import to_wide, zonal_stats

    f = zonal_outputs(out, bool(ntl), bool(ghsl))
    zones = {
        "clusters": (gpd.read_file(out / "urban_clusters.gpkg", engine="pyogrio"), "id"),
        "centres": (gpd.read_file(out / "urban_centres.gpkg", engine="pyogrio"), "id"),
        "districts": (adm, admin_id),
    }
    for kind, paths, min_value in (("ntl", ntl, ntl_min), ("ghsl", ghsl, None)):
        if not paths:
            continue
        names = [p.stem.removeprefix(f"{kind}_") for p in paths]
        tidy_all = []
        for zname, (gdf, col) in zones.items():
            tidy = zonal_stats(
                gdf, paths, stats=("sum", "min", "max", "mean"), min_value=min_value, id_col=col, names=names
            )
            tidy.insert(0, "zones", zname)
            tidy_all.append(tidy)
            wide = to_wide(tidy.drop(columns="zones"), upper=True)
            wide.index.name = col
            if "name" in gdf.columns:
                wide.insert(0, "name", gdf.set_index(col)["name"].reindex(wide.index).to_numpy())
            with atomic_path(f[f"{kind}_{zname}"]) as tmp:
                wide.to_csv(tmp)
        with atomic_path(f[f"{kind}_tidy"]) as tmp:
            pd.concat(tidy_all, ignore_index=True).to_csv(tmp, index=False)


def traveltime_outputs(out: Path) -> dict[str, Path]:
    return {
        "od_cities_minutes": out / "od_cities_minutes.csv",
        "od_cities_km": out / "od_cities_km.csv",
        "od_cities_districts_minutes": out / "od_cities_districts_minutes.csv",
        "od_cities_districts_km": out / "od_cities_districts_km.csv",
    }


def run_traveltime(out: Path, friction: Path, unit: str, admin_id: str, workers: int | None) -> None:
    import geopandas as gpd

    from eokit.urban.traveltime import travel_time_matrix

    f = traveltime_outputs(out)
    cl = gpd.read_file(out / "urban_clusters.gpkg", engine="pyogrio")
    pts = gpd.GeoDataFrame(
        {"city": [f"{i}_{n}" for i, n in zip(cl["id"], cl["name"])]},
        geometry=gpd.points_from_xy(cl["pop_x"], cl["pop_y"]),
        crs=_grid_crs(out),
    )
    cent = gpd.read_file(out / "admin_centroids.gpkg", engine="pyogrio")
    cent = cent[~cent.geometry.is_empty & cent.geometry.notna()]
    kw: dict[str, Any] = dict(unit=unit, nonpositive="impassable", workers=workers)
    if len(pts):
        travel_time_matrix(
            friction, pts, id_col="city", out=f["od_cities_minutes"], distance_out=f["od_cities_km"], **kw
        )
        travel_time_matrix(
            friction,
            pts,
            id_col="city",
            destinations=cent,
            dest_id_col="admin_id",
            out=f["od_cities_districts_minutes"],
            distance_out=f["od_cities_districts_km"],
            **kw,
        )
    else:
        for p in f.values():
            p.write_text("city\n")


def _grid_crs(out: Path) -> Any:
    from eokit.io.raster import open_raster

    with open_raster(out / "inputs" / "population.tif") as ds:
        return ds.crs


def exposure_outputs(out: Path, hz: Any) -> dict[str, Path]:
    from eokit.urban.hazards import exposure_outputs as outputs

    return outputs(out, hz)


def run_exposure(out: Path, adm: Any, admin_id: str, hz: Any, pop_path: Path) -> None:
    from eokit.urban.exposure import Zones
    from eokit.urban.hazards import write_exposure

    zones = [
        Zones("clusters", out / "urban_clusters.tif"),
        Zones("centres", out / "urban_centres.tif"),
        Zones("districts", adm, admin_id),
    ]
    write_exposure(pop_path, out, hz, zones)


def report_outputs(out: Path, files: dict[str, Path] | None = None) -> dict[str, Path]:
    have = files or {}
    targets = {"map_html": out / "map.html", "clusters_png": out / "clusters_map.png"}
    if "ntl_clusters" in have:
        targets["ntl_png"] = out / "ntl_by_city.png"
    for key, stem in (("flood_exposure", "flood"), ("climate_summary", "climate"), ("air_quality", "air_quality")):
        if key in have:
            targets[f"{stem}_map"] = out / f"{stem}_map.png"
            targets[f"{stem}_chart"] = out / f"{stem}_chart.png"
    targets.update(report_md=out / "report.md", report_html=out / "report.html")
    return targets


def run_report(
    out: Path, adm: Any, admin_id: str, admin_name: str | None, files: dict[str, Path], hazards: Any = None
) -> None:
    from eokit.urban.report import write_report

    write_report(out, adm, admin_id, admin_name, files, report_outputs(out, files), hazards)


def _layer(path: Any) -> str | None:
    """Layer name from the final file name (the atomic temporary name would be rejected)."""
    p = Path(path)
    return p.stem if p.suffix.lower() == ".gpkg" else None
