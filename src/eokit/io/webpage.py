"""HTML pages that work offline: scripts and stylesheets from files beside the page, not from CDNs.

eokit bundles the JavaScript and CSS its pages use (Leaflet, jQuery,
Bootstrap, Font Awesome, Leaflet.awesome-markers — the libraries folium's
maps load) under ``eokit/io/web/``, each with its licence. :func:`localise`
rewrites a page's CDN ``<script src>``/``<link href>`` to copies in an
``eokit-assets/`` folder beside the page; only base-map tiles still come from
the network.

>>> page = '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> localise(page, d)
'<script src="eokit-assets/leaflet/leaflet.js"></script>'
>>> (d / "eokit-assets" / "leaflet" / "leaflet.js").exists()
True
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from eokit.io.atomic import atomic_path

__all__ = ["ASSETS_DIR", "localise", "remote_assets", "write_folium_map"]

log = logging.getLogger(__name__)

#: Name of the folder written beside a page.
ASSETS_DIR = "eokit-assets"

_BUNDLE = Path(__file__).with_name("web")

# (pattern on the CDN URL, bundled file, library folder to copy). Matched on the library and file name, so
# another version of folium pointing at another version of the same library still finds the copy.
_RULES: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"leaflet(?:@[\d.]+)?/dist/leaflet\.js$"), "leaflet/leaflet.js"),
    (re.compile(r"leaflet(?:@[\d.]+)?/dist/leaflet\.css$"), "leaflet/leaflet.css"),
    (re.compile(r"jquery-[\d.]+(?:\.min)?\.js$"), "jquery/jquery.min.js"),
    (
        re.compile(r"bootstrap(?:@[\d.]+)?/dist/js/bootstrap\.bundle(?:\.min)?\.js$"),
        "bootstrap/bootstrap.bundle.min.js",
    ),
    (re.compile(r"bootstrap(?:@[\d.]+)?/dist/css/bootstrap(?:\.min)?\.css$"), "bootstrap/bootstrap.min.css"),
    (re.compile(r"fontawesome-free(?:@[\d.]+)?/css/all(?:\.min)?\.css$"), "fontawesome/css/all.min.css"),
    (
        re.compile(r"awesome-markers/[\d.]+/leaflet\.awesome-markers(?:\.min)?\.js$"),
        "awesome-markers/leaflet.awesome-markers.js",
    ),
    (
        re.compile(r"awesome-markers/[\d.]+/leaflet\.awesome-markers(?:\.min)?\.css$"),
        "awesome-markers/leaflet.awesome-markers.css",
    ),
    (re.compile(r"leaflet\.awesome\.rotate(?:\.min)?\.css$"), "folium/leaflet.awesome.rotate.css"),
    # Bootstrap 3 glyph icons: eokit's maps use none; the link is dropped rather than left to a CDN.
    (re.compile(r"bootstrap-glyphicons\.css$|bootstrap-3-glyphicons(?:\.min)?\.css$"), None),
]

_TAG = re.compile(
    r"""<script\b[^>]*\bsrc=(["'])(?P<js>https?://[^"']+)\1[^>]*>\s*</script>"""
    r"""|<link\b[^>]*\bhref=(["'])(?P<css>https?://[^"']+)\3[^>]*/?>""",
    re.IGNORECASE,
)


def _bundled(url: str) -> tuple[bool, str | None]:
    for pattern, local in _RULES:
        if pattern.search(url.split("?")[0]):
            return True, local
    return False, None


def _copy_library(local: str, assets: Path) -> None:
    library = local.split("/")[0]
    dest = assets / library
    if not dest.exists():
        shutil.copytree(_BUNDLE / library, dest)


def localise(page: str, folder: str | os.PathLike[str]) -> str:
    """``page`` with its bundled CDN scripts and stylesheets pointing at copies under ``folder/eokit-assets``.

    Links to libraries eokit does not bundle are kept and reported by
    :func:`remote_assets`; links eokit knows to be unused are removed.
    """
    assets = Path(folder) / ASSETS_DIR

    def replace(m: re.Match[str]) -> str:
        url = m.group("js") or m.group("css")
        known, local = _bundled(url)
        if not known:
            log.warning("no local copy of %s; the page loads it from the network", url)
            return m.group(0)
        if local is None:
            return ""
        _copy_library(local, assets)
        return m.group(0).replace(url, f"{ASSETS_DIR}/{local}")

    return _TAG.sub(replace, page)


def remote_assets(page: str) -> list[str]:
    """The scripts and stylesheets ``page`` still loads from the network."""
    return [m.group("js") or m.group("css") for m in _TAG.finditer(page)]


def write_folium_map(m: Any, target: str | os.PathLike[str]) -> Path:
    """Save a folium map as ``target`` (atomically), its JavaScript and CSS beside it."""
    target = Path(target)
    page = localise(m.get_root().render(), target.parent)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
