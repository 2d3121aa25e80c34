"""The demo's steps. Each uses eokit's public Python API or its CLI, as the README shows them.

Folder layout under ``--out``::

    data/world/      the generated country (population, districts, night lights, ...)
    data/scenes/     the scenes downloaded from the local hub, unzipped
    hub/             search results, downloaded zips
    catalog/         the STAC catalog of data/ (and what eokit serve returned)
    algorithms/      indices, harmonised and NBAR reflectance, pansharpened image, distances
    resample/        a scene resampled through a distortion grid, with its mask
    urban/           the urbanisation review (maps, tables, report)
    index.html       the report
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from eokit.demo.runner import Step, StepResult
from eokit.errors import EokitError
from eokit.io.atomic import atomic_path, safe_join

__all__ = ["demo_steps"]

log = logging.getLogger(__name__)

DEMO_USER, DEMO_PASSWORD = "demo", "demo-secret"  # accounts of the local hub only


class DemoStepError(EokitError):
    """A demo step's command failed."""


def run_cli(*args: Any) -> None:
    """Run ``eokit ARGS...`` in this process, exactly as typed in a shell; raise on a non-zero exit."""
    from eokit.cli._logging import verbosity
    from eokit.cli.main import cli

    argv = [str(a) for a in args]
    level = verbosity()  # the demo's own -v/-q carry over to the commands it runs
    flags = ["-v"] * level if level > 0 else ["-q"] * -level
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):  # to the log, not the terminal
        code = cli.main([*flags, *argv], prog_name="eokit", standalone_mode=False)
    log.info("eokit %s\n%s", " ".join(argv), printed.getvalue().strip())
    if isinstance(code, int) and code != 0:
        said = [line for line in errors.getvalue().splitlines() if line.startswith("eokit: error: ")]
        why = said[-1].removeprefix("eokit: error: ") if said else "no message"
        raise DemoStepError(f"`eokit {' '.join(argv)}` exited with status {code}: {why}")


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    """The outputs under ``folder``: not hidden files, not the scripts and styles bundled beside web pages."""
    from eokit.io.webpage import ASSETS_DIR

    root = Path(folder)
    return sorted(
        p
        for p in root.rglob(pattern)
        if p.is_file() and not any(part.startswith(".") or part == ASSETS_DIR for part in p.relative_to(root).parts)
    )


# -- 1. world -------------------------------------------------------------------------------------------------------


def step_world(ctx: dict[str, Any], r: StepResult) -> None:
    from eokit.demo.world import build_world

    world = build_world(
        ctx["out"] / "data", country=ctx["country"], quick=ctx["quick"], products_dir=ctx["out"] / "hub" / "served"
    )
    ctx["world"] = world
    map_png = _world_map(world, ctx["out"] / "data" / "world" / "world_map.png")
    r.outputs = [map_png, *_files(world.root), *(s.path for s in world.scenes)]
    import rasterio

    with rasterio.open(world.population) as ds:
        total = float(ds.read(1, masked=True).sum())
    r.facts = {
        "country": world.country,
        "grid": f"{world.shape[0]} x {world.shape[1]} cells of 1 km (Lambert equal-area)",
        "places from the gazetteer": len(world.city_table),
        "largest place": f"{world.city_table.iloc[0]['name']} ({int(world.city_table.iloc[0]['population']):,})",
        "population on the grid": f"{total:,.0f}",
        "night-light months": len(world.ntl),
        "scenes": ", ".join(s.name for s in world.scenes),
    }


def _world_map(world: Any, target: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio

    from eokit.io import read_vector

    with rasterio.open(world.population) as ds:
        pop = ds.read(1, masked=True)
        b = ds.bounds
    districts = read_vector(world.districts)
    cities = read_vector(world.cities)
    fig, ax = plt.subplots(figsize=(7, 6.5), dpi=110)
    im = ax.imshow(np.log10(np.maximum(pop, 1)), extent=(b.left, b.right, b.bottom, b.top), cmap="magma")
    districts.boundary.plot(ax=ax, color="white", linewidth=0.8)
    cities.head(10).plot(ax=ax, color="cyan", markersize=10)
    import matplotlib.patheffects as pe

    halo = [pe.withStroke(linewidth=2.5, foreground="black")]
    for row in _spread_out(cities.head(10), min_gap=0.07 * (b.right - b.left))[:6]:
        ax.annotate(
            row["name"],
            (row.geometry.x, row.geometry.y),
            color="white",
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
            path_effects=halo,
        )
    fig.colorbar(im, ax=ax, label="log10(people per km²)")
    ax.set_title(f"Synthetic world around {cities.iloc[0]['name']} ({world.country})")
    ax.set_axis_off()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    return target


def _spread_out(places: Any, *, min_gap: float) -> list[Any]:
    """The places (most important first) whose labels would not sit on an earlier one's: ``min_gap`` apart."""
    kept: list[Any] = []
    for _, row in places.iterrows():
        p = row.geometry
        if all(abs(p.x - k.geometry.x) > min_gap or abs(p.y - k.geometry.y) > min_gap / 3 for k in kept):
            kept.append(row)
    return kept


# -- 2. hub ---------------------------------------------------------------------------------------------------------


def step_hub(ctx: dict[str, Any], r: StepResult) -> None:
    from eokit.hub import SentinelAPI, download, search
    from eokit.testing.hub_server import Faults, HubProduct, LocalHub

    world = ctx["world"]
    hub_dir = ctx["out"] / "hub"
    served = [
        HubProduct(
            name=s.name,
            path=s.path,
            filename=s.path.name,
            footprint=s.footprint_wkt,
            start=s.start.replace(tzinfo=None),
            collection=s.platform.upper(),
            attributes={"productType": s.product_type, "cloudCover": s.cloud_cover, "platformName": s.platform},
        )
        for s in world.scenes
    ]
    lon, lat = world.center_lonlat
    aoi = f"POINT({lon:.5f} {lat:.5f})"
    # one fault: the first transfer of the Sentinel-2 product is cut half-way; eokit resumes it with a Range request
    faults = Faults(plan=[(served[-1].id, "drop")])
    with LocalHub(served, faults=faults, users={DEMO_USER: DEMO_PASSWORD}) as hub:
        # the sentinelsat-compatible API, speaking DHuS, exactly as old scripts use it
        api = SentinelAPI(DEMO_USER, DEMO_PASSWORD, api_url=hub.dhus_url, show_progressbars=False)
        found = api.query(aoi, date=("20240601", "20240630"))
        gdf = api.to_geodataframe(found)
        footprints = hub_dir / "footprints_dhus.geojson"
        from eokit.io import write_vector

        write_vector(gdf[["title", "geometry"]], footprints)
        # the native, provider-neutral API, speaking CDSE (OData + OIDC tokens) to the same hub
        products = search(
            "cdse", area=aoi, date=("20240601", "20240630"), user=DEMO_USER, password=DEMO_PASSWORD, **hub.cdse_urls
        )
        results = download(
            products,
            hub_dir / "downloads",
            provider="cdse",
            user=DEMO_USER,
            password=DEMO_PASSWORD,
            workers=2,
            **hub.cdse_urls,
        )
        names = {p.id: p.name for p in served}
        injected = [f"{kind} on {names.get(pid, pid)}" for pid, kind in (tuple(f)[:2] for f in hub.stats["faults"])]
    failed = [x for x in results if not x.ok]
    if failed:
        raise DemoStepError(f"{len(failed)} download(s) failed: " + "; ".join(f"{x.key}: {x.error}" for x in failed))
    files = [x.path for x in results if x.path is not None]  # every one, since none failed
    scenes = {}
    for path in files:
        scenes.update(_unzip(path, ctx["out"] / "data" / "scenes"))
    ctx["scenes"] = scenes
    with atomic_path(hub_dir / "downloads.json") as tmp:
        tmp.write_text(json.dumps([_result_row(x) for x in results], indent=2))
    r.outputs = [footprints, hub_dir / "downloads.json", *files]
    r.facts = {
        "found via SentinelAPI (DHuS)": len(found),
        "found via eokit.hub.search (CDSE)": len(products),
        "downloaded and checksum-verified": sum(1 for x in results if x.verified),
        "faults injected (and recovered)": ", ".join(injected) or "none",
        "transfers": "; ".join(
            f"{Path(x.path or x.key).name}: {x.attempts} attempt(s), {x.transferred:,} bytes" for x in results
        ),
    }


def _result_row(x: Any) -> dict[str, Any]:
    return {
        "product": x.key,
        "file": x.path.name if x.path else None,
        "status": x.status,
        "size": x.size,
        "transferred": x.transferred,
        "attempts": x.attempts,
        "verified": x.verified,
        "checksums": x.checksums,
    }


def _unzip(path: Path, target: Path) -> dict[str, Path]:
    """Extract a product zip safely (no member escapes ``target``); return ``{product name: folder}``."""
    out: dict[str, Path] = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.infolist():
            if member.is_dir():
                continue
            dest = safe_join(target, member.filename)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, atomic_path(dest) as tmp:
                tmp.write_bytes(src.read())
            top = member.filename.replace("\\", "/").split("/")[0]
            out[top] = target / top
    return out


# -- 3. catalog -----------------------------------------------------------------------------------------------------


def step_catalog(ctx: dict[str, Any], r: StepResult) -> None:
    from eokit.catalog import CollectionInfo, ReadOptions, build_catalog
    from eokit.catalog.server import running_server
    from eokit.catalog.validate import validate_catalog
    from eokit.hub import download, search

    out = ctx["out"]
    data, cat_dir = out / "data", out / "catalog"
    info = CollectionInfo(
        id="eokit-demo",
        title="eokit demo: a synthetic country and two scenes",
        description="Population, night lights, built-up and friction rasters of a generated country, and "
        "Landsat-8-like and Sentinel-2-like scenes downloaded from eokit's local hub.",
        license="CC-BY-4.0",
        keywords=("demo", "urbanisation"),
    )
    result = build_catalog(
        data, cat_dir, group_by="parent", collection=info, read_options=ReadOptions(checksum="sha2-256")
    )
    facts: dict[str, Any] = {
        "items": result.n_items,
        "files catalogued": result.n_files,
        "files skipped": len(result.skipped),
    }
    try:
        report = validate_catalog(cat_dir)
        facts["validation"] = (
            f"{report.checked} documents, {'all valid' if report.ok else f'{len(report.errors)} invalid'}"
        )
        if not report.ok:
            raise DemoStepError(f"catalog does not validate: {next(iter(report.errors.items()))}")
    except EokitError as exc:
        if "schema" not in str(exc).lower():
            raise
        facts["validation"] = f"skipped: {exc}"
    lon, lat = ctx["world"].center_lonlat
    with running_server(cat_dir, asset_roots=[data]) as url:
        found = search("stac", url=url, area=f"POINT({lon:.5f} {lat:.5f})", limit=50)
        scene = next((p for p in found if "S2B_MSIL2A" in p.id), None)
        got = []
        if scene is not None:
            got = download([scene], out / "catalog" / "from-api", provider="stac", url=url, workers=2)
    with atomic_path(cat_dir / "search_results.geojson") as tmp:
        tmp.write_text(json.dumps(found.to_geojson(), default=str))
    facts.update(
        {
            "served by eokit serve": "on a local port during the demo (`eokit serve catalog` serves it again)",
            "items found by eokit.hub.search('stac')": len(found),
            "assets downloaded back and verified": sum(1 for g in got if g.verified),
        }
    )
    r.facts = facts
    r.outputs = [
        cat_dir / "catalog.json",
        cat_dir / "collection.json",
        cat_dir / "index.geojson",
        cat_dir / "items.parquet",
        cat_dir / "errors.json",
        cat_dir / "search_results.geojson",
    ]
    r.outputs += [g.path for g in got if g.path]


# -- 4. algorithms --------------------------------------------------------------------------------------------------


def step_algorithms(ctx: dict[str, Any], r: StepResult) -> None:
    scenes = ctx["scenes"]
    s2 = next(p for n, p in scenes.items() if n.startswith("S2"))
    l8 = next(p for n, p in scenes.items() if n.startswith("LC08"))
    name = l8.name
    out = ctx["out"] / "algorithms"
    # Sentinel-2 NDVI (L2A digital numbers: reflectance = DN / 10000 - 0.1)
    run_cli(
        "algo",
        "index",
        "NDVI",
        s2 / "B04_10m.tif",
        s2 / "B08_10m.tif",
        "--red",
        "B04",
        "--nir",
        "B08",
        "--scale",
        "0.0001",
        "--offset",
        "-0.1",
        "--out",
        out / "s2_ndvi.tif",
    )
    # Landsat 8 Collection 2 DN -> surface reflectance, then harmonised to Landsat 7 ETM+
    bands = {"blue": 2, "green": 3, "red": 4, "nir": 5, "swir1": 6, "swir2": 7}
    for b in bands.values():
        run_cli(
            "algo", "scale", l8 / f"{name}_SR_B{b}.TIF", "--kind", "sr", "--out", out / "l8_sr_bands" / f"SR_B{b}.tif"
        )
    _stack([out / "l8_sr_bands" / f"SR_B{b}.tif" for b in bands.values()], list(bands), out / "l8_sr.tif")
    run_cli(
        "algo",
        "harmonize",
        out / "l8_sr.tif",
        *[a for i, k in enumerate(bands, 1) for a in (f"--{k}", i)],
        "--direction",
        "l8_to_l7",
        "--out",
        out / "l8_as_l7.tif",
    )
    # BRDF: nadir BRDF-adjusted reflectance from the per-pixel sun/view angle bands
    angles = [l8 / f"{name}_{t}.TIF" for t in ("SZA", "SAA", "VZA", "VAA")]
    run_cli(
        "algo",
        "brdf",
        out / "l8_sr.tif",
        "--bands",
        ",".join(bands),
        "--angles",
        *angles,
        "--angle-scale",
        "100",
        "--out",
        out / "l8_nbar.tif",
    )
    # pansharpening of red/green/blue with the 15 m band
    run_cli(
        "algo",
        "pansharpen",
        out / "l8_sr.tif",
        l8 / f"{name}_B8.TIF",
        "--bands",
        "3,2,1",
        "--method",
        "kernel",
        "--out",
        out / "l8_pansharpened.tif",
    )
    # clouds from QA_PIXEL, and the distance of every pixel to the nearest cloud (capped at 600 m)
    run_cli("algo", "qa-mask", l8 / f"{name}_QA_PIXEL.TIF", "--out", out / "l8_cloud_mask.tif")
    run_cli("algo", "distance", out / "l8_cloud_mask.tif", "--radius", "600", "--out", out / "l8_cloud_distance.tif")
    r.outputs = [*_quicklooks(out), *_files(out, "*.tif")]
    import rasterio

    with rasterio.open(out / "s2_ndvi.tif") as ds:
        ndvi = ds.read(1, masked=True)
    with rasterio.open(out / "l8_cloud_mask.tif") as ds:
        cloud = ds.read(1)
    r.facts = {
        "NDVI mean (Sentinel-2)": f"{float(ndvi.mean()):.3f}",
        "cloud cover (Landsat QA)": f"{100 * float((cloud == 1).mean()):.1f} %",
    }


def _stack(paths: list[Path], names: list[str], target: Path) -> Path:
    """Stack single-band rasters of one grid into one multi-band GeoTIFF with band descriptions."""
    import rasterio

    from eokit.io import write_raster

    arrays = []
    for p in paths:
        with rasterio.open(p) as ds:
            arrays.append(ds.read(1))
            profile = ds.profile
    return write_raster(
        target,
        np.stack(arrays),
        transform=profile["transform"],
        crs=profile["crs"],
        nodata=profile["nodata"],
        band_descriptions=names,
    )


def _quicklooks(folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio

    panels = [
        ("s2_ndvi.tif", 1, "RdYlGn", "NDVI (Sentinel-2)"),
        ("l8_nbar.tif", 4, "viridis", "NBAR NIR (Landsat 8)"),
        ("l8_pansharpened.tif", 1, "gray", "pansharpened red, 15 m"),
        ("l8_cloud_distance.tif", 1, "magma", "distance to cloud (m)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 4.2), dpi=100)
    for ax, (fname, band, cmap, title) in zip(axes, panels, strict=True):
        with rasterio.open(folder / fname) as ds:
            im = ax.imshow(ds.read(band, masked=True), cmap=cmap)
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(title)
        ax.set_axis_off()
    target = folder / "algorithms_quicklook.png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    return [target]


# -- 5. resample ----------------------------------------------------------------------------------------------------


def step_resample(ctx: dict[str, Any], r: StepResult) -> None:
    import rasterio

    from eokit.io import write_raster

    s2 = next(p for n, p in ctx["scenes"].items() if n.startswith("S2"))
    out = ctx["out"] / "resample"
    src = s2 / "B04_10m.tif"
    with rasterio.open(src) as ds:
        rows, cols = ds.height, ds.width
        red = ds.read(1)
        crs, transform = ds.crs, ds.transform
    res = 8
    gr, gc = (rows - 1) // res + 1, (cols - 1) // res + 1
    # grid of source coordinates at every 8th output pixel: rotation by 12°, 0.9 scale, a gentle wave
    orow, ocol = np.mgrid[0:gr, 0:gc].astype(np.float64) * res
    cy, cx = rows / 2, cols / 2
    th = np.radians(12.0)
    y, x = (orow - cy) * 0.9, (ocol - cx) * 0.9
    grid_row = cy + y * np.cos(th) - x * np.sin(th) + 3.0 * np.sin(ocol / 60.0)
    grid_col = cx + y * np.sin(th) + x * np.cos(th) + 3.0 * np.cos(orow / 70.0)
    grid = write_raster(out / "distortion_grid.tif", np.stack([grid_row, grid_col]), transform=transform, crs=crs)
    grid_mask = np.ones((gr, gc), np.uint8)
    grid_mask[: gr // 6, : gc // 6] = 0  # an invalid corner of the grid
    gmask = write_raster(out / "grid_mask.tif", grid_mask, transform=transform, crs=crs)
    valid = (red > 0) & (red < 6000)  # clouds are invalid source pixels
    smask = write_raster(out / "source_mask.tif", valid.astype(np.uint8), transform=transform, crs=crs)
    run_cli(
        "resample",
        "run",
        src,
        grid,
        out / "warmup.tif",
        "--resolution",
        res,
        res,
        "--interp",
        "cubic",
        "--window",
        0,
        8,
        0,
        8,
    )  # compiles the kernels once, so the timing below is the resampling itself
    (out / "warmup.tif").unlink()
    t0 = time.perf_counter()
    run_cli(
        "resample",
        "run",
        src,
        grid,
        out / "red_resampled.tif",
        "--resolution",
        res,
        res,
        "--interp",
        "cubic",
        "--nodata",
        "0",
        "--src-mask",
        smask,
        "--src-mask-validity",
        "1",
        "0",
        "--grid-mask",
        gmask,
        "--grid-mask-valid",
        "1",
        "--mask-out",
        out / "red_resampled_mask.tif",
    )
    seconds = time.perf_counter() - t0
    n_out = ((gr - 1) * res + 1) * ((gc - 1) * res + 1)
    with rasterio.open(out / "red_resampled_mask.tif") as ds:
        valid_share = float((ds.read(1) == 1).mean())
    r.facts = {
        "output": f"{(gr - 1) * res + 1} x {(gc - 1) * res + 1} pixels through a {gr} x {gc} grid (cubic)",
        "speed": f"{n_out / seconds / 1e6:.1f} Mpixel/s including reading and writing the files ({seconds:.2f} s)",
        "valid output pixels": f"{100 * valid_share:.1f} %",
    }
    r.outputs = [*_files(out, "*.tif")]


# -- 6. urban -------------------------------------------------------------------------------------------------------


def step_urban(ctx: dict[str, Any], r: StepResult) -> None:
    world = ctx["world"]
    out = ctx["out"] / "urban"
    args: list[Any] = [
        "urban",
        "review",
        "--population",
        world.population,
        "--admin",
        world.districts,
        "--admin-id",
        "district_id",
        "--admin-name",
        "district_name",
    ]
    for p in world.ntl:
        args += ["--ntl", p]
    args += ["--ghsl", world.built_up, "--friction", world.friction, "--out", out]
    hz = world.hazards
    if hz is not None:  # flood, climate variation and air quality sections
        args += [a for name, p in hz.flood.items() for a in ("--flood", f"{name}={p}")]
        args += [a for var, ps in hz.climate.items() for a in ("--climate", f"{var}={','.join(map(str, ps))}")]
        args += [a for name, p in hz.air.items() for a in ("--air", f"{name}={p}")]
        args += ["--baseline", f"{hz.climate['temperature'][0].stem[-4:]}/{hz.climate['temperature'][9].stem[-4:]}"]
    run_cli(*args)
    files = _files(out)
    pngs = [p for p in files if p.suffix == ".png"]
    maps = [p for p in files if p.suffix == ".html" and "map" in p.name]
    csvs = [p for p in files if p.suffix == ".csv"]
    rest = [p for p in files if p not in pngs and p not in maps and p not in csvs]
    r.outputs = [*maps, *pngs, *csvs, *rest]
    r.facts = {"files written": len(files)}
    _exposure_facts(out, r)


def _exposure_facts(out: Path, r: StepResult) -> None:
    """Headline exposure figures of the review, for the demo report."""
    import pandas as pd

    if (out / "flood_exposure.csv").exists():
        f = pd.read_csv(out / "flood_exposure.csv")
        a = f[(f.zones == "all") & (f.depth_gt_m == f.depth_gt_m.min())]
        r.facts["people in flood water"] = ", ".join(
            f"{x.flood}: {x.people:,.0f} ({x.people_share:.1%})" for x in a.itertuples()
        )
    if (out / "climate_summary.csv").exists():
        c = pd.read_csv(out / "climate_summary.csv")
        c = c[(c.zones == "all") & (c.weight == "population")]
        r.facts["climate trend per decade"] = ", ".join(
            f"{x.variable} {x.trend_per_decade:+.2f} (p={x.trend_p_value:.2g})" for x in c.itertuples()
        )
    if (out / "air_quality.csv").exists():
        q = pd.read_csv(out / "air_quality.csv")
        q = q[q.zones == "all"].iloc[0]
        r.facts["PM2.5 (population-weighted)"] = (
            f"{q.pm25_pop_mean:.1f} µg/m³; {q['share_above_WHO AQG 2021']:.0%} of people above the WHO guideline"
        )


def demo_steps() -> list[Step]:
    """The demo, in order, with what each step needs."""
    return [
        Step("world", "1. Build a small world around real places", step_world),
        Step("hub", "2. hub: serve, search (DHuS + CDSE), download with a fault", step_hub, ("world",)),
        Step("catalog", "3. catalog: build, validate, serve and search STAC", step_catalog, ("hub",)),
        Step(
            "algorithms",
            "4. algorithms: NDVI, harmonisation, NBAR, pansharpening, distances",
            step_algorithms,
            ("hub",),
        ),
        Step("resample", "5. resample: a scene through a distortion grid with masks", step_resample, ("hub",)),
        Step("urban", "6. urban: the whole urbanisation review", step_urban, ("world",)),
    ]


def today() -> str:
    """Now, in UTC, for the report."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
