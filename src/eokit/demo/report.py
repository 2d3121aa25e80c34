"""The demo's one-page HTML report: steps, timings, maps, plots, table previews, file links.

The page works offline: its style is inline, maps load their scripts from files
beside them (:mod:`eokit.io.webpage`), and every link points at a file that
exists. Tables show rounded numbers and scroll inside their box instead of
widening the page; a step that wrote no picture gets a quicklook of its first
raster or vector output.
"""

from __future__ import annotations

import csv
import html
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eokit.demo.runner import StepResult
from eokit.io.atomic import atomic_path

__all__ = ["format_value", "plural", "write_report"]

log = logging.getLogger(__name__)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
.scroll{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;max-width:28rem;overflow-wrap:anywhere}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f3f3f3} .ok{color:#1a7f37;font-weight:600} .failed{color:#cf222e;font-weight:600} .skipped{color:#9a6700;font-weight:600}
section{border-top:1px solid #eee;margin-top:1.5rem;padding-top:.5rem}
img{max-width:100%;border:1px solid #ddd;margin:.3rem 0} iframe{width:100%;height:520px;border:1px solid #ddd}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;font-size:.8rem} .files li{font-family:monospace;font-size:.85rem}
figcaption{color:#666;font-size:.8rem}
"""

FIGURES = "report-figures"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 file"``, ``"2 files"``.

    >>> plural(1, "urban centre"), plural(3, "urban centre"), plural(0, "city", "cities")
    ('1 urban centre', '3 urban centres', '0 cities')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def format_value(text: Any) -> tuple[str, bool]:
    """A table cell: numbers rounded to what a reader needs, with thousands separators; ``(text, is_number)``.

    >>> format_value("1234567.891"), format_value("0.123456"), format_value("3"), format_value("B04")
    (('1,234,568', True), ('0.123', True), ('3', True), ('B04', False))
    >>> format_value(2.5e-07), format_value("nan"), format_value("2024"), format_value("007")
    (('2.5e-07', True), ('', True), ('2024', True), ('007', False))
    """
    if isinstance(text, bool):
        return str(text), False
    try:
        value = float(text)
    except (TypeError, ValueError):
        return str(text), False
    if math.isnan(value):
        return "", True
    if math.isinf(value):
        return ("∞" if value > 0 else "-∞"), True
    if isinstance(text, str) and len(text.strip()) > 1 and text.strip().startswith("0") and text.strip().isdigit():
        return text, False  # a code with leading zeros, not a number
    if isinstance(text, int) or (isinstance(text, str) and text.strip().lstrip("-").isdigit()):
        return (f"{int(value):,}" if abs(value) >= 10000 else str(int(value))), True
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}", True
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}".rstrip("0").rstrip("."), True
    if magnitude >= 1e-3:
        return f"{value:.3f}", True
    return f"{value:.2g}", True


def _cell(value: Any, tag: str = "td", limit: int = 80) -> str:
    text, number = format_value(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    cls = " class='num'" if number and tag == "td" else ""
    return f"<{tag}{cls}>{html.escape(text)}</{tag}>"


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def _csv_preview(path: Path, rows: int = 8, cols: int = 10) -> str:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        data = [r for _, r in zip(range(rows + 1), reader, strict=False)]
    if not data:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in data[0][:cols])
    more = len(data[0]) - cols
    if more > 0:
        head += f"<th>… {plural(more, 'more column')}</th>"
    body = "".join(
        "<tr>" + "".join(_cell(c) for c in r[:cols]) + ("<td></td>" if more > 0 else "") + "</tr>" for r in data[1:]
    )
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _quicklook(path: Path, target: Path, title: str) -> Path | None:
    """A PNG of a raster's first band or a vector file's shapes, for steps that wrote no picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import rasterio

            with rasterio.open(path) as ds:
                step = max(1, max(ds.height, ds.width) // 800)
                data = ds.read(1, masked=True, out_shape=(ds.height // step or 1, ds.width // step or 1))
            finite = data.compressed()
            lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0, 1)
            im = ax.imshow(data, cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1)
            fig.colorbar(im, ax=ax, shrink=0.8)
            ax.set_axis_off()
        else:
            from eokit.io import read_vector

            gdf = read_vector(path)
            if len(gdf) == 0:
                return None
            gdf.plot(ax=ax, facecolor="#9ecae1", edgecolor="#08519c", alpha=0.6)
            ax.set_xlabel("longitude" if gdf.crs is not None and gdf.crs.is_geographic else "x")
            ax.set_ylabel("latitude" if gdf.crs is not None and gdf.crs.is_geographic else "y")
        ax.set_title(title, fontsize=10)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight")
        return target
    except Exception as exc:  # a missing quicklook must not lose the report
        log.warning("no quicklook of %s: %s", path, exc)
        return None
    finally:
        plt.close(fig)


def _pictures(result: StepResult, root: Path) -> list[Path]:
    pngs = [p for p in result.outputs if Path(p).suffix.lower() == ".png"]
    if pngs:
        return pngs
    for suffix in ((".tif", ".tiff"), (".geojson", ".gpkg")):
        candidates = [Path(p) for p in result.outputs if Path(p).suffix.lower() in suffix]
        if candidates:
            first = max(candidates, key=lambda p: p.stat().st_size)  # the main output, not a mask or a grid
            target = root / FIGURES / f"{result.name}.png"
            made = _quicklook(first, target, f"{first.name} (quicklook)")
            if made is not None:
                return [made]
    return []


def _section(result: StepResult, root: Path) -> str:
    parts = [
        f"<section id='{html.escape(result.name)}'><h2>{html.escape(result.title)} "
        f"<span class='{result.status}'>{result.status}</span></h2>"
    ]
    if result.message:
        parts.append(f"<p>{html.escape(result.message)}</p>")
    if result.facts:
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v, limit=400)}</tr>" for k, v in result.facts.items())
        parts.append(f"<div class='scroll'><table>{rows}</table></div>")
    if result.status == "ok":
        for picture in _pictures(result, root):
            rel = _rel(picture, root)
            parts.append(
                f"<figure><img src='{html.escape(rel)}' alt='{html.escape(picture.name)}'>"
                f"<figcaption>{html.escape(rel)}</figcaption></figure>"
            )
    for path in result.outputs:
        rel = _rel(path, root)
        suffix = Path(path).suffix.lower()
        if suffix == ".html" and "map" in Path(path).name:
            parts.append(
                f"<p>Interactive map: <a href='{html.escape(rel)}'>{html.escape(rel)}</a></p>"
                f"<iframe src='{html.escape(rel)}' loading='lazy' title='{html.escape(rel)}'></iframe>"
            )
        elif suffix == ".csv":
            parts.append(
                f"<p>Preview of <a href='{html.escape(rel)}'>{html.escape(rel)}</a></p>{_csv_preview(Path(path))}"
            )
    if result.detail:
        parts.append(f"<details><summary>traceback</summary><pre>{html.escape(result.detail)}</pre></details>")
    files = "".join(
        f"<li><a href='{html.escape(_rel(p, root))}'>{html.escape(_rel(p, root))}</a></li>" for p in result.outputs
    )
    if files:
        parts.append(
            f"<details open><summary>{plural(len(result.outputs), 'file')}</summary>"
            f"<ul class='files'>{files}</ul></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def write_report(results: Sequence[StepResult], root: Path, *, title: str, subtitle: str) -> Path:
    """Write ``root/index.html`` for ``results`` (links are relative to ``root``)."""
    root = Path(root)
    total = sum(r.seconds for r in results)
    summary_rows = "".join(
        f"<tr><td><a href='#{html.escape(r.name)}'>{html.escape(r.title)}</a></td><td class='{r.status}'>{r.status}"
        f"</td><td class='num'>{r.seconds:.1f} s</td><td class='num'>{len(r.outputs)}</td>"
        f"<td>{html.escape(r.message[:160])}</td></tr>"
        for r in results
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='sub'>{html.escape(subtitle)}</p>"
        "<div class='scroll'><table><tr><th>step</th><th>status</th><th>time</th><th>files</th><th>note</th></tr>"
        f"{summary_rows}<tr><th>total</th><td></td><td class='num'>{total:.1f} s</td>"
        f"<td class='num'>{sum(len(r.outputs) for r in results)}</td><td></td></tr></table></div>"
        + "".join(_section(r, root) for r in results)
        + "<footer><p>Place data: GeoNames (CC BY 4.0). Map tiles © OpenStreetMap contributors. "
        "Generated by eokit demo.</p></footer></body></html>"
    )
    with atomic_path(root / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return root / "index.html"
