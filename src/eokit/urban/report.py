"""Maps, charts and the short report of an urbanisation review."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eokit.errors import MissingDependencyError
from eokit.urban.degurba import LEVEL2_NAMES
from eokit.urban.gazetteer import ATTRIBUTION

__all__ = ["write_report"]

log = logging.getLogger(__name__)

CLASS_COLOURS = {
    30: "#b2182b",
    23: "#ef8a62",
    22: "#fddbc7",
    21: "#f4a582",
    13: "#4d9221",
    12: "#a1d76a",
    11: "#e6f5d0",
}


def _folium_map(clusters: Any, centres: Any, adm: Any, admin_id: str, admin_name: str | None, target: Path) -> None:
    try:
        import folium
    except ImportError:
        raise MissingDependencyError("folium", extra="report", purpose="the interactive map") from None
    from eokit.io.webpage import write_folium_map

    adm4326 = adm.to_crs(4326)
    w, s, e, n = adm4326.total_bounds
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=8, tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", attr="© OpenStreetMap contributors").add_to(m)
    fields = [admin_id] + ([admin_name] if admin_name else [])
    folium.GeoJson(
        adm4326[[*fields, "geometry"]].to_json(),
        name="districts",
        style_function=lambda _f: {"color": "#333333", "weight": 1, "fillOpacity": 0.0},
        popup=folium.GeoJsonPopup(fields=fields),
    ).add_to(m)
    for layer, gdf in (("urban clusters", clusters), ("urban centres", centres)):
        if len(gdf) == 0:
            continue
        cols = [c for c in ("id", "name", "admin1", "class", "population", "area_km2", "density") if c in gdf]
        g = gdf[[*cols, "geometry"]].copy()
        for c in ("population", "area_km2", "density"):
            g[c] = g[c].round(1)
        folium.GeoJson(
            g.to_json(),
            name=layer,
            style_function=lambda f: {
                "color": CLASS_COLOURS.get(int(f["properties"].get("class", 21)), "#f4a582"),
                "fillColor": CLASS_COLOURS.get(int(f["properties"].get("class", 21)), "#f4a582"),
                "weight": 1,
                "fillOpacity": 0.5,
            },
            popup=folium.GeoJsonPopup(fields=cols),
            tooltip=folium.GeoJsonTooltip(fields=[c for c in ("name", "population") if c in cols]),
        ).add_to(m)
    folium.LayerControl().add_to(m)
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(f"<div style='font-size:10px'>{html.escape(ATTRIBUTION)}</div>")
    )
    write_folium_map(m, target)  # scripts and stylesheets beside the page, so it works offline


def _png_clusters(out: Path, clusters: Any, adm: Any, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from eokit.io.atomic import atomic_path
    from eokit.io.raster import open_raster

    with open_raster(out / "degurba_level2.tif") as ds:
        lv = read_preview(ds, resampling="mode")
        b = ds.bounds
        crs = ds.crs
    codes = sorted(LEVEL2_NAMES)
    cmap = ListedColormap([CLASS_COLOURS.get(c, "#9ecae1") for c in codes])
    idx = np.searchsorted(codes, lv).astype(float)
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(idx, cmap=cmap, vmin=-0.5, vmax=len(codes) - 0.5, extent=(b.left, b.right, b.bottom, b.top))
    adm.to_crs(crs).boundary.plot(ax=ax, color="#333333", linewidth=0.6)
    cl = clusters.to_crs(crs)
    for _, r in cl.iterrows():
        p = r.geometry.representative_point()
        ax.annotate(str(r["name"]), (p.x, p.y), fontsize=7, ha="center")
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLOURS.get(c, "#9ecae1")) for c in codes if (lv == c).any()]
    labels = [f"{c} {LEVEL2_NAMES[c]}" for c in codes if (lv == c).any()]
    ax.legend(handles, labels, fontsize=7, loc="lower right")
    ax.set_title("Degree of urbanisation (level 2) and urban clusters")
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def read_preview(ds: Any, *, max_side: int = 2000, resampling: str = "mode", masked: bool = False) -> Any:
    """Band 1 decimated so its longer side is at most ``max_side`` cells (maps of big grids stay small)."""
    from rasterio.enums import Resampling

    f = max(1, -(-max(ds.height, ds.width) // max_side))
    shape = (max(1, ds.height // f), max(1, ds.width // f))
    return ds.read(1, out_shape=shape, resampling=getattr(Resampling, resampling), masked=masked)


def _png_ntl(path: Path, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eokit.io.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if path.exists():
        df = pd.read_csv(path, index_col=0)
        sums = [c for c in df.columns if c.endswith("_SUM")]
        top = df.assign(_t=df[sums].sum(axis=1)).sort_values("_t", ascending=False).head(10)
        values = top[sums].to_numpy(dtype=float)
        positive = values[values > 0]
        log_axis = positive.size > 0 and positive.max() / positive.min() > 100  # values span decades
        for (_, row), series in zip(top.iterrows(), values, strict=True):
            ax.plot(
                [c.removesuffix("_SUM") for c in sums],
                np.where(series > 0, series, np.nan) if log_axis else series,  # a log axis cannot show 0
                marker="o",
                label=str(row.get("name", "")),
            )
        if log_axis:
            ax.set_yscale("log")
        ax.set_ylabel("sum of night-lights radiance" + (" (log scale)" if log_axis else ""))
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax.tick_params(axis="x", rotation=45)
        n = len(top)
        ax.set_title(f"Night-lights over time, the {n} brightest {'city' if n == 1 else 'cities'}")
    else:
        ax.text(0.5, 0.5, "no night-lights rasters given", ha="center", va="center")
        ax.set_title("Night-lights over time")
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def write_report(
    out: Path,
    adm: Any,
    admin_id: str,
    admin_name: str | None,
    files: dict[str, Path],
    targets: dict[str, Path],
    hazards: Any = None,
) -> None:
    """Write the folium map, the PNGs and the Markdown + HTML report (only of this run's files)."""
    import geopandas as gpd

    from eokit.io.atomic import atomic_path

    clusters = gpd.read_file(out / "urban_clusters.gpkg", engine="pyogrio")
    centres = gpd.read_file(out / "urban_centres.gpkg", engine="pyogrio")
    _folium_map(clusters, centres, adm, admin_id, admin_name, targets["map_html"])
    _png_clusters(out, clusters, adm, targets["clusters_png"])
    if "ntl_png" in targets:
        _png_ntl(files["ntl_clusters"], targets["ntl_png"])
    summary = json.loads((out / "urban_summary.json").read_text())
    dist = pd.read_csv(out / "district_summary.csv")
    total = summary["total_population"]
    lines = [
        "# Urbanisation review",
        "",
        f"Method: degree of urbanisation ({summary['method']}). Population {total:,.0f}; "
        f"{summary['n_centres']} urban centre{'' if summary['n_centres'] == 1 else 's'} "
        f"({summary['centre_population'] / max(total, 1):.1%} of people), "
        f"{summary['n_clusters']} urban cluster{'' if summary['n_clusters'] == 1 else 's'} "
        f"({summary['cluster_population'] / max(total, 1):.1%}).",
    ]
    if summary["n_invalid_cells"]:
        lines.append(f"{summary['n_invalid_cells']} population cells were negative, NaN or nodata and counted as 0.")
    lines += ["", "## Largest urban centres", "", "| name | admin1 | population | area km² |", "|---|---|---:|---:|"]
    for r in centres.sort_values("population", ascending=False).head(15).itertuples():
        lines.append(f"| {r.name} | {r.admin1} | {r.population:,.0f} | {r.area_km2:,.1f} |")
    lines += ["", "## Districts", "", "| district | total | urban | centre |", "|---|---:|---:|---:|"]
    label_col = admin_name if admin_name and admin_name in dist else dist.columns[0]
    for _, r in dist.iterrows():
        lines.append(f"| {r[label_col]} | {r.total_pop:,.0f} | {r.urban_pop:,.0f} | {r.centre_pop:,.0f} |")
    if hazards is not None:
        from eokit.urban.report_exposure import exposure_sections

        lines += exposure_sections(out, adm, admin_id, files, targets, hazards)
    lines += ["", "## Files", ""]
    for key, p in sorted(files.items()):
        lines.append(f"- `{p.name}` ({key})")
    for key, p in targets.items():
        if key != "report_md" and key != "report_html":
            lines.append(f"- `{p.name}` ({key})")
    lines += ["", "![clusters](clusters_map.png)", ""]
    if "ntl_png" in targets:
        lines += ["![night-lights](ntl_by_city.png)", ""]
    lines += [
        "Interactive map: [map.html](map.html)",
        "",
        f"_{ATTRIBUTION}._",
        "",
    ]
    md = "\n".join(lines)
    with atomic_path(targets["report_md"]) as tmp:
        tmp.write_text(md, encoding="utf-8")
    with atomic_path(targets["report_html"]) as tmp:
        tmp.write_text(_md_to_html(md), encoding="utf-8")


def _md_to_html(md: str) -> str:
    """A small Markdown subset (headings, tables, lists, images, links) as standalone HTML."""
    import re

    body: list[str] = []
    table: list[list[str]] = []

    def flush_table() -> None:
        if not table:
            return
        head, rows = table[0], [r for r in table[2:]]
        body.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>")
        body.extend("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        body.append("</table>")
        table.clear()

    def inline(text: str) -> str:
        t = html.escape(text)
        t = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2" style="max-width:100%">', t)
        t = re.sub(r"\[([^\]]*)\]\(([^)]+)\)", r'<a href="\2">\1</a>', t)
        t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
        return re.sub(r"_([^_]+)_$", r"<em>\1</em>", t)

    for line in md.splitlines():
        if line.startswith("|"):
            table.append([inline(c.strip()) for c in line.strip("|").split("|")])
            continue
        flush_table()
        if line.startswith("## "):
            body.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.startswith("- "):
            body.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
    flush_table()
    style = "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>Urbanisation review</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
