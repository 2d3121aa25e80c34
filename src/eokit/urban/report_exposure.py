"""The exposure sections of the review report: flood, climate variation, air quality (map + chart each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["exposure_sections"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, target: Path) -> None:
    from eokit.io.atomic import atomic_path

    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    _plt().close(fig)


def _raster_map(path: Path, adm: Any, target: Path, title: str, label: str, cmap: str) -> None:
    from eokit.io.raster import open_raster
    from eokit.urban.report import read_preview

    plt = _plt()
    with open_raster(path) as ds:
        data = read_preview(ds, resampling="average", masked=True).astype(float).filled(np.nan)
        b, crs = ds.bounds, ds.crs
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(data, cmap=cmap, extent=(b.left, b.right, b.bottom, b.top))
    adm.to_crs(crs).boundary.plot(ax=ax, color="#333333", linewidth=0.6)
    fig.colorbar(im, ax=ax, shrink=0.7, label=label)
    ax.set_title(title)
    _save(fig, target)


def _flood(out: Path, files: dict[str, Path], targets: dict[str, Path], adm: Any, hz: Any) -> list[str]:
    plt = _plt()
    df = pd.read_csv(files["flood_exposure"])
    allz = df[df.zones == "all"]
    layers = list(dict.fromkeys(allz["flood"]))
    worst = layers[-1]
    _raster_map(hz.flood[worst], adm, targets["flood_map"], f"Flood depth, {worst}", "depth (m)", "Blues")
    fig, ax = plt.subplots(figsize=(7, 4))
    classes = sorted(allz["depth_gt_m"].unique())
    width = 0.8 / max(len(layers), 1)
    for i, name in enumerate(layers):
        s = allz[allz.flood == name].set_index("depth_gt_m").reindex(classes)
        ax.bar(np.arange(len(classes)) + i * width, s["people"], width, label=name)
    ax.set_xticks(np.arange(len(classes)) + width * (len(layers) - 1) / 2, [f"> {c:g} m" for c in classes])
    ax.set_ylabel("people exposed")
    ax.legend()
    ax.set_title("People in flood water deeper than each class")
    _save(fig, targets["flood_chart"])
    lines = ["", "## Flood risk", "", "| flood | depth | people | share | built-up share |", "|---|---|---:|---:|---:|"]
    for r in allz.itertuples():
        bshare = getattr(r, "built_up_share", np.nan)
        lines.append(
            f"| {r.flood} | > {r.depth_gt_m:g} m | {r.people:,.0f} | {r.people_share:.1%} | "
            + (f"{bshare:.1%}" if pd.notna(bshare) else "–")
            + " |"
        )
    top = df[(df.zones == "centres") & (df.flood == worst) & (df.depth_gt_m == df.depth_gt_m.min())]
    top = top.sort_values("people", ascending=False).head(5)
    if len(top):
        lines += ["", f"Urban centres with most people in water ({worst}): "]
        lines.append(", ".join(f"centre {r.zone}: {r.people:,.0f} ({r.people_share:.1%})" for r in top.itertuples()))
    lines += ["", "![flood map](flood_map.png)", "", "![flood chart](flood_chart.png)"]
    return lines


def _climate(files: dict[str, Path], targets: dict[str, Path], adm: Any, admin_id: str) -> list[str]:
    plt = _plt()
    summ = pd.read_csv(files["climate_summary"])
    series = pd.read_csv(files["climate_series"], parse_dates=["date"])
    variables = list(dict.fromkeys(summ["variable"]))
    var = "temperature" if "temperature" in variables else variables[0]
    dist = summ[(summ.zones == "districts") & (summ.weight == "population") & (summ.variable == var)]
    g = adm.merge(dist.assign(zone=dist.zone.astype(str)), left_on=adm[admin_id].astype(str), right_on="zone")
    fig, ax = plt.subplots(figsize=(7, 6))
    g.plot(column="trend_per_decade", ax=ax, legend=True, cmap="RdBu_r", edgecolor="#333333", linewidth=0.5)
    ax.set_title(f"{var}: linear trend per decade (population-weighted, per district)")
    _save(fig, targets["climate_map"])
    fig, axes = plt.subplots(len(variables), 1, figsize=(7, 2.6 * len(variables)), squeeze=False)
    for ax, v in zip(axes[:, 0], variables):
        s = series[(series.zones == "all") & (series.variable == v)]
        for weight, style in (("population", "-o"), ("area", "--")):
            t = s[s.weight == weight]
            ax.plot(t["date"], t["value"], style, markersize=3, label=f"{weight}-weighted")
        ax.set_ylabel(v)
        ax.legend(fontsize=7)
    axes[0, 0].set_title("Zone means over time (whole area)")
    _save(fig, targets["climate_chart"])
    lines = [
        "",
        "## Climate variation",
        "",
        "| variable | weighting | mean | std | CV | trend / decade | p-value |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in summ[summ.zones == "all"].itertuples():
        lines.append(
            f"| {r.variable} | {r.weight} | {r.mean:.2f} | {r.std:.2f} | {r.cv:.3f} | "
            f"{r.trend_per_decade:+.3f} | {r.trend_p_value:.3g} |"
        )
    lines += ["", "![climate map](climate_map.png)", "", "![climate chart](climate_chart.png)"]
    return lines


def _air(files: dict[str, Path], targets: dict[str, Path], adm: Any, admin_id: str, hz: Any) -> list[str]:
    plt = _plt()
    from eokit.urban.exposure import WHO_PM25

    df = pd.read_csv(files["air_quality"])
    layer = next(iter(hz.air))
    _raster_map(hz.air[layer], adm, targets["air_quality_map"], f"{layer}, µg/m³", "µg/m³", "YlOrRd")
    d = df[(df.zones == "districts") & (df.layer == layer)].sort_values("pm25_pop_mean", ascending=False)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(d["zone"].astype(str), d["pm25_pop_mean"], color="#d95f0e")
    for name, t in WHO_PM25.items():
        ax.axhline(t, color="#555555", linewidth=0.7, linestyle=":")
        ax.annotate(name, (len(d) - 0.5, t), fontsize=6, va="bottom", ha="right")
    ax.set_ylabel("population-weighted PM2.5, µg/m³")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("Air quality per district against the WHO 2021 guideline and interim targets")
    _save(fig, targets["air_quality_chart"])
    allz = df[(df.zones == "all") & (df.layer == layer)].iloc[0]
    lines = [
        "",
        "## Air quality (PM2.5)",
        "",
        f"Population-weighted mean {allz.pm25_pop_mean:.1f} µg/m³ (area-weighted {allz.pm25_area_mean:.1f}).",
        "",
        "| threshold | µg/m³ | share of people above |",
        "|---|---:|---:|",
    ]
    for name, t in WHO_PM25.items():
        lines.append(f"| {name} | {t:g} | {allz[f'share_above_{name}']:.1%} |")
    lines += ["", "![air quality map](air_quality_map.png)", "", "![air quality chart](air_quality_chart.png)"]
    return lines


def exposure_sections(
    out: Path, adm: Any, admin_id: str, files: dict[str, Path], targets: dict[str, Path], hz: Any
) -> list[str]:
    """Markdown lines of the exposure sections (and their PNGs) for the analyses that ran."""
    lines: list[str] = []
    if "flood_exposure" in files:
        lines += _flood(out, files, targets, adm, hz)
    if "climate_summary" in files:
        lines += _climate(files, targets, adm, admin_id)
    if "air_quality" in files:
        lines += _air(files, targets, adm, admin_id, hz)
    return lines
