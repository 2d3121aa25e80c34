"""The urbanisation review pipeline: one call from global rasters to maps and a report.

Steps (each skipped on a rerun when its inputs, parameters and outputs are
unchanged; the record lives in ``OUT/review_manifest.json``):

1. ``clip``: windowed reads of every raster over the admin extent.
2. ``urban``: degree of urbanisation, centres and clusters (rasters, polygons,
   GeoPackage + GeoJSON in EPSG:4326), named from the offline gazetteer.
3. ``districts``: population per admin unit, cluster-to-admin assignment,
   population-weighted admin centroids.
4. ``zonal``: night-lights and built-up per cluster, centre and admin unit.
5. ``traveltime``: OD matrices (minutes, km) between cities and from cities to
   admin centroids, when a friction raster is given.
6. ``maps`` and ``report``: folium HTML map, PNG maps and charts, Markdown and
   HTML report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eokit.errors import InvalidInputError
from eokit.urban.degurba import DegurbaParams
from eokit.urban.hazards import Hazards

__all__ = ["ReviewResult", "clip_to_admin", "review"]

log = logging.getLogger(__name__)

MANIFEST = "review_manifest.json"


@dataclasses.dataclass
class ReviewResult:
    """Where the outputs are, and which steps ran or were reused."""

    out_dir: Path
    files: dict[str, Path]
    ran: list[str]
    reused: list[str]


def _fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Path) and p.exists():
            st = p.stat()
            h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()


class _Steps:
    def __init__(self, out: Path, force: bool) -> None:
        self.out = out
        self.path = out / MANIFEST
        old: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        # every file a previous run wrote, whether or not its steps are reused
        self.previous = {o for n, rec in old.items() if n != "_files" for o in rec.get("outputs", [])}
        self.previous |= set(old.get("_files", [])) - {MANIFEST}
        self.data: dict[str, Any] = {} if force else {k: v for k, v in old.items() if k != "_files"}
        self.ran: list[str] = []
        self.reused: list[str] = []

    def run(self, name: str, key: str, outputs: Sequence[Path], func: Callable[[], None]) -> None:
        rec = self.data.get(name)
        if rec and rec.get("key") == key and all(p.exists() for p in outputs):
            self.reused.append(name)
            log.info("step %s: reused", name)
            return
        func()
        self.data[name] = {"key": key, "outputs": [str(p.relative_to(self.out)) for p in outputs]}
        self._save()
        self.ran.append(name)

    def _save(self) -> None:
        from eokit.io.atomic import atomic_path

        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=1))

    def finish(self) -> list[Path]:
        """Forget steps not part of this run and delete the files only they wrote; return the deleted files."""
        current = set(self.ran) | set(self.reused)
        for name in [n for n in self.data if n not in current]:
            del self.data[name]
        keep = {o for rec in self.data.values() for o in rec.get("outputs", [])}
        if "map.html" in keep:  # the map's bundled scripts and stylesheets, written beside it
            from eokit.io.webpage import ASSETS_DIR

            keep |= {str(p.relative_to(self.out)) for p in (self.out / ASSETS_DIR).rglob("*") if p.is_file()}
        gone = []
        for o in self.previous - keep:
            p = self.out / o
            if p.is_file():
                p.unlink()
                gone.append(p)
                log.info("removed %s (an output of inputs no longer given)", p)
        self.data["_files"] = sorted(keep | {MANIFEST})
        self._save()
        return gone


def clip_to_admin(
    raster: str | os.PathLike[str], admin: Any, target: Path, *, pad: int = 1, strip_rows: int = 1024
) -> Path:
    """Copy the window of ``raster`` covering ``admin``'s extent (plus ``pad`` cells) to ``target``."""
    from rasterio.windows import Window, from_bounds

    from eokit.io.raster import RasterWriter, open_raster

    with open_raster(raster) as ds:
        if ds.crs is None:
            from eokit.errors import MissingCRSError

            raise MissingCRSError("has no CRS; cannot clip it to the admin area", path=os.fspath(raster))
        local = admin.to_crs(ds.crs) if admin.crs != ds.crs else admin
        w, s, e, n = local.total_bounds
        win = from_bounds(w, s, e, n, transform=ds.transform)
        r0 = max(int(np.floor(win.row_off)) - pad, 0)
        c0 = max(int(np.floor(win.col_off)) - pad, 0)
        r1 = min(int(np.ceil(win.row_off + win.height)) + pad, ds.height)
        c1 = min(int(np.ceil(win.col_off + win.width)) + pad, ds.width)
        if r1 <= r0 or c1 <= c0:
            raise InvalidInputError("does not overlap the admin area", path=os.fspath(raster))
        window = Window(c0, r0, c1 - c0, r1 - r0)
        profile = dict(
            width=c1 - c0,
            height=r1 - r0,
            count=1,
            dtype=ds.dtypes[0],
            crs=ds.crs,
            transform=ds.window_transform(window),
            nodata=ds.nodata,
        )
        with RasterWriter(target, profile) as writer:  # strips of rows: the window need not fit in memory
            for a in range(r0, r1, strip_rows):
                b = min(a + strip_rows, r1)
                data = ds.read(1, window=Window(c0, a, c1 - c0, b - a))
                writer.write(data, window=((a - r0, b - r0), (0, c1 - c0)))
    return target


def clipped_ghsl_last(out: Path, ghsl: Sequence[str | os.PathLike[str]]) -> Path:
    return out / "inputs" / f"ghsl_{Path(ghsl[-1]).stem}.tif"


def review(
    population: str | os.PathLike[str],
    admin: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    admin_id: str,
    admin_name: str | None = None,
    ntl: Sequence[str | os.PathLike[str]] = (),
    ghsl: Sequence[str | os.PathLike[str]] = (),
    friction: str | os.PathLike[str] | None = None,
    friction_unit: str = "min_per_m",
    method: str = "ghsl",
    params: DegurbaParams = DegurbaParams(),
    ntl_min_value: float | None = 0.1,
    force: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    max_memory: int | str | None = None,
    hazards: Hazards | None = None,
    progress: Callable[[str], Any] | None = None,
) -> ReviewResult:
    """Run the whole urbanisation review; see the module docstring for the steps and outputs.

    ``hazards`` adds the exposure step (flood, climate variation, air quality; see
    :mod:`eokit.urban.exposure`). ``progress(step_name)`` is called as each step starts.
    A rerun into the same folder reuses unchanged steps and deletes the files of inputs
    no longer given; ``review_manifest.json`` lists every file the review wrote.
    """
    from eokit.io.atomic import ensure_writable_dir
    from eokit.io.vector import read_vector

    out = ensure_writable_dir(out_dir)
    (out / "inputs").mkdir(exist_ok=True)
    adm = read_vector(admin)
    for col in [admin_id] + ([admin_name] if admin_name else []):
        if col not in adm.columns:
            raise InvalidInputError(
                f"has no column {col!r} (columns: {', '.join(map(str, adm.columns))})", path=os.fspath(admin)
            )
    if adm.crs is None:
        raise InvalidInputError("has no CRS", path=os.fspath(admin))
    steps = _Steps(out, force)
    files: dict[str, Path] = {}
    tell = progress or (lambda _name: None)
    src: dict[str, Any] = {
        "population": Path(population),
        "admin": Path(admin),
        "ntl": [Path(p) for p in ntl],
        "ghsl": [Path(p) for p in ghsl],
        "friction": Path(friction) if friction else None,
    }
    hz = hazards or Hazards()
    series = hz.series()
    clip_key = _fingerprint(
        src["population"], src["admin"], *src["ntl"], *src["ghsl"], src["friction"], admin_id, *hz.paths()
    )
    clipped_hz = hz.clipped(out / "inputs", series)
    if hz.built_up is None and ghsl:  # flood exposure of built-up: the latest built-up layer
        clipped_hz = dataclasses.replace(clipped_hz, built_up=clipped_ghsl_last(out, ghsl))
    clipped: dict[str, Any] = {
        "population": out / "inputs" / "population.tif",
        "ntl": [out / "inputs" / f"ntl_{Path(p).stem}.tif" for p in ntl],
        "ghsl": [out / "inputs" / f"ghsl_{Path(p).stem}.tif" for p in ghsl],
        "friction": out / "inputs" / "friction.tif" if friction else None,
    }

    def do_clip() -> None:
        clip_to_admin(src["population"], adm, clipped["population"])
        for a, b in zip(src["ntl"], clipped["ntl"]):
            clip_to_admin(a, adm, b)
        for a, b in zip(src["ghsl"], clipped["ghsl"]):
            clip_to_admin(a, adm, b)
        if friction:
            clip_to_admin(src["friction"], adm, clipped["friction"])
        for a, b in zip(hz.paths(series), clipped_hz.paths()):
            clip_to_admin(a, adm, b)

    clip_outputs = [clipped["population"], *clipped["ntl"], *clipped["ghsl"], *clipped_hz.paths()] + (
        [clipped["friction"]] if friction else []
    )
    tell("clip")
    steps.run("clip", clip_key, clip_outputs, do_clip)

    from eokit.urban import _review_steps as rs

    urban_key = _fingerprint(clip_key, method, dataclasses.asdict(params))
    urban_files = rs.urban_outputs(out)
    tell("urban")
    steps.run(
        "urban",
        urban_key,
        list(urban_files.values()),
        lambda: rs.run_urban(clipped["population"], out, method, params, max_memory, scheduler, workers),
    )
    files.update(urban_files)

    dist_key = _fingerprint(urban_key, admin_id, admin_name)
    dist_files = rs.district_outputs(out)
    tell("districts")
    steps.run(
        "districts",
        dist_key,
        list(dist_files.values()),
        lambda: rs.run_districts(clipped["population"], adm, admin_id, admin_name, out),
    )
    files.update(dist_files)

    zonal_key = _fingerprint(dist_key, ntl_min_value, [str(p) for p in ntl], [str(p) for p in ghsl])
    zonal_files = rs.zonal_outputs(out, bool(ntl), bool(ghsl))
    tell("zonal")
    steps.run(
        "zonal",
        zonal_key,
        list(zonal_files.values()),
        lambda: rs.run_zonal(out, adm, admin_id, clipped["ntl"], clipped["ghsl"], ntl_min_value),
    )
    files.update(zonal_files)

    tt_key = _fingerprint(dist_key, friction_unit)
    if friction:
        tt_files = rs.traveltime_outputs(out)
        tell("traveltime")
        steps.run(
            "traveltime",
            tt_key,
            list(tt_files.values()),
            lambda: rs.run_traveltime(out, clipped["friction"], friction_unit, admin_id, workers),
        )
        files.update(tt_files)

    exp_key = _fingerprint(dist_key, hz.options(), *clipped_hz.paths())
    if not hz.empty:
        exp_files = rs.exposure_outputs(out, clipped_hz)
        tell("exposure")
        steps.run(
            "exposure",
            exp_key,
            list(exp_files.values()),
            lambda: rs.run_exposure(out, adm, admin_id, clipped_hz, clipped["population"]),
        )
        files.update(exp_files)

    report_key = _fingerprint(zonal_key, tt_key if friction else None, exp_key if not hz.empty else None, admin_name)
    report_files = rs.report_outputs(out, files)
    tell("report")
    steps.run(
        "report",
        report_key,
        list(report_files.values()),
        lambda: rs.run_report(out, adm, admin_id, admin_name, files, None if hz.empty else clipped_hz),
    )
    files.update(report_files)
    steps.finish()
    return ReviewResult(out_dir=out, files=files, ran=steps.ran, reused=steps.reused)
