"""``eokit urban``: degree of urbanisation, zonal statistics, travel time, the review pipeline."""

from __future__ import annotations

from typing import Any

import click

from eokit.cli._options import (
    Real,
    check_inputs,
    checked_output,
    out_option,
    progress_bar,
    scheduler_option,
    workers_option,
)

TIFF = (".tif", ".tiff")

METHOD = click.option(
    "--method",
    type=click.Choice(["ghsl", "gost"]),
    default="ghsl",
    show_default=True,
    help="ghsl: the EC/GHSL manual; gost: GOST calculateUrban's rules, for comparability.",
)


def _max_memory(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Checked when the command line is read, before any output is written."""
    if value is not None and not ctx.resilient_parsing:
        from eokit.urban.memory import resolve_max_memory

        resolve_max_memory(value)
    return value


def max_memory_option(f):
    """``--max-memory SIZE`` (the same meaning on every command that processes rasters)."""
    return click.option(
        "--max-memory",
        metavar="SIZE",
        default=None,
        callback=_max_memory,
        help="Memory budget, e.g. 4GB or 512MB (default: half the RAM). Blocks and per-object windows "
        "are sized to stay within it; work that cannot is refused.",
    )(f)


def executor_options(f):
    """``--scheduler``, ``--workers`` and ``--max-memory``."""
    return scheduler_option(workers_option(max_memory_option(f)))


def _deprecated(new: str):
    def callback(ctx, param, value):
        if value is not None:
            import logging

            logging.getLogger("eokit.cli").warning("%s is deprecated: use %s", "/".join(param.opts), new)
        return value

    return callback


def friction_units_option(f):
    """``--friction-units`` (the unit of the input friction raster); old ``--unit``/``--friction-unit`` hidden."""
    f = click.option(
        "--unit",
        "--friction-unit",
        "friction_unit_old",
        type=click.Choice(["min_per_m", "min_per_km"]),
        hidden=True,
        callback=_deprecated("--friction-units"),
        help="Deprecated alias of --friction-units.",
    )(f)
    return click.option(
        "--friction-units",
        type=click.Choice(["min_per_m", "min_per_km"]),
        default="min_per_m",
        show_default=True,
        help="Unit of the friction raster: minutes per metre (MAP/GOST convention) or per km.",
    )(f)


def hazard_options(f):
    """The exposure inputs, shared by ``urban exposure`` and ``urban review``."""
    for opt in reversed(
        [
            click.option(
                "--flood",
                multiple=True,
                metavar="NAME=RASTER",
                help="Flood depth raster in metres, per return period (repeatable), e.g. RP100=depth_rp100.tif.",
            ),
            click.option(
                "--depth-classes",
                default="0,0.15,0.5,1.5",
                show_default=True,
                help="Flood depth classes in metres: people in water deeper than each.",
            ),
            click.option(
                "--flood-rule",
                type=click.Choice(["share", "max"]),
                default="share",
                show_default=True,
                help="Aligning a flood map to the population grid: share = flooded share of each cell's area (expected count); max = the deepest water in the cell (conservative).",
            ),
            click.option(
                "--climate",
                multiple=True,
                metavar="NAME=RASTER[,RASTER...]",
                help="A climate variable's rasters (repeatable; globs allowed); dates from the file names (YYYY, YYYY-MM, YYYY-MM-DD).",
            ),
            click.option(
                "--climate-index",
                type=click.Path(exists=True, dir_okay=False),
                help="CSV with columns variable,date,path listing climate rasters.",
            ),
            click.option(
                "--baseline",
                metavar="START/END",
                help="Baseline period of the climate anomalies, e.g. 1991/2020 (default: the whole series).",
            ),
            click.option(
                "--air",
                multiple=True,
                metavar="NAME=RASTER",
                help="Annual PM2.5 raster in µg/m³ (repeatable), e.g. pm25=pm25_2020.tif.",
            ),
        ]
    ):
        f = opt(f)
    return f


def _hazards(flood, depth_classes, flood_rule, climate, climate_index, baseline, air, built_up=None):
    from pathlib import Path

    from eokit.errors import InvalidInputError
    from eokit.urban.hazards import Hazards, parse_baseline, parse_named

    try:
        classes = [float(x) for x in depth_classes.split(",") if x.strip()]
    except ValueError:
        raise InvalidInputError(
            f"expected numbers separated by commas, got {depth_classes!r}", param="depth_classes"
        ) from None
    return Hazards(
        flood=parse_named(flood, param="flood"),
        climate=parse_named(climate, param="climate", many=True),
        climate_index=Path(climate_index) if climate_index else None,
        air=parse_named(air, param="air"),
        depth_classes=classes,
        flood_rule=flood_rule,
        baseline=parse_baseline(baseline),
        built_up=Path(built_up) if built_up else None,
    )


def _check_inputs(rasters: dict[str, Any], vectors: dict[str, Any] | None = None, hazards: Any = None) -> None:
    """:func:`~eokit.cli._options.check_inputs`, with the hazard rasters (and climate series) of ``hazards``."""
    from eokit.errors import EokitError

    if hazards is not None:
        rasters = {**rasters, "flood": list(hazards.flood.values()), "air": list(hazards.air.values())}
        try:
            series = hazards.series()
        except EokitError as exc:
            exc.param = exc.param or "climate_index"
            raise
        rasters["climate_index" if hazards.climate_index else "climate"] = list(series["path"])
    check_inputs(rasters, vectors)


def _params(**kw: float | None) -> Any:
    from eokit.urban.degurba import DegurbaParams

    given: dict[str, Any] = {k: v for k, v in kw.items() if v is not None}
    return DegurbaParams(**given)


def _cells(path: str) -> int | None:
    """Cells of a raster, for a progress total (None when it cannot be opened: the command reports that)."""
    try:
        import rasterio

        with rasterio.open(path) as ds:
            return int(ds.width * ds.height)
    except Exception:
        return None


@click.group()
def urban() -> None:
    """Degree of urbanisation, zonal statistics, travel time and urbanisation reviews."""


@urban.command()
@click.argument("population", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["cluster", "centre"]), default="cluster", show_default=True,
              help="Urban clusters (>= 300 people/km², >= 5,000 people) or urban centres (>= 1,500, >= 50,000).")  # fmt: skip
@out_option(help="Output polygons (.gpkg or .geojson).", kind="file", extensions=(".gpkg", ".geojson"))
@click.option("--raster", "label_raster", type=click.Path(dir_okay=False), callback=checked_output("file", TIFF),
              help="Also write the label raster here (.tif).")  # fmt: skip
@METHOD
@click.option("--no-names", is_flag=True, help="Skip naming from the offline gazetteer.")
@click.option(
    "--centre-density",
    type=Real(min=0, min_open=True),
    help="Urban-centre density threshold (people/km², default 1500).",
)
@click.option(
    "--cluster-density",
    type=Real(min=0, min_open=True),
    help="Urban-cluster density threshold (people/km², default 300).",
)
@click.option(
    "--centre-min-pop", type=Real(min=0, min_open=True), help="Minimum urban-centre population (default 50000)."
)
@click.option(
    "--cluster-min-pop", type=Real(min=0, min_open=True), help="Minimum urban-cluster population (default 5000)."
)
@executor_options
def clusters(
    population, kind, out, label_raster, method, no_names, scheduler, workers, max_memory, **thresholds
) -> None:
    """Urban clusters or centres of a POPULATION raster as polygons with id, population, area_km2, name.

    Works block by block within --max-memory, so global grids need not fit in memory.
    """
    from eokit.urban.clusters import clusters_from_raster

    with progress_bar(_cells(population), "classify", unit="cell") as bar:
        gdf = clusters_from_raster(
            population,
            kind=kind,
            out=out,
            label_raster=label_raster,
            method=method,
            params=_params(**thresholds),
            name=not no_names,
            max_memory=max_memory,
            scheduler=scheduler,
            workers=workers,
            progress=bar,
        )
    click.echo(f"{len(gdf)} {kind}s -> {out}", err=True)


@urban.command()
@click.argument("population", type=click.Path(dir_okay=False))
@out_option(help="Output level-2 class raster (.tif).", kind="file", extensions=TIFF)
@click.option("--level1", type=click.Path(dir_okay=False), callback=checked_output("file", TIFF),
              help="Also write the level-1 raster here (.tif).")  # fmt: skip
@click.option("--built-up", type=click.Path(dir_okay=False), help="Built-up share raster (0..1) on the same grid.")
@click.option("--land", type=click.Path(dir_okay=False), help="Land share raster (0..1) on the same grid.")
@METHOD
@executor_options
def classify(population, out, level1, built_up, land, method, scheduler, workers, max_memory) -> None:
    """Degree-of-urbanisation grid classes of a POPULATION raster (level 2: 30, 23, 22, 21, 13, 12, 11, 10).

    Works block by block within --max-memory, so global grids need not fit in memory.
    """
    from eokit.urban.clusters import classify_raster

    with progress_bar(_cells(population), "classify", unit="cell") as bar:
        classify_raster(
            population,
            out,
            level1=level1,
            built_up=built_up,
            land=land,
            method=method,
            max_memory=max_memory,
            scheduler=scheduler,
            workers=workers,
            progress=bar,
        )


@urban.command()
@click.argument("zones", type=click.Path(dir_okay=False))
@click.argument("rasters", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--stats",
    default="sum,min,max,mean",
    show_default=True,
    help="Comma-separated statistics: count, sum, mean, min, max, std, range, median, majority, minority, "
    "unique, nodata, percentile_Q (Q in 0..100).",
)
@click.option(
    "--band", default="1", show_default=True, help="Band to read: a 1-based number or a band name/description."
)
@click.option("--id-col", help="Zone id column (default: row position).")
@click.option("--min-value", type=Real(allow_inf=True), help="Ignore values below this.")
@click.option("--all-touched", is_flag=True, help="Count every touched cell, not only cell centres.")
@click.option("--tidy", is_flag=True, help="Write the tidy table (zone, raster, stat, value) instead of the wide one.")
@out_option(help="Output CSV.", kind="file", extensions=(".csv",))
@executor_options
def zonal(
    zones, rasters, stats, band, id_col, min_value, all_touched, tidy, out, scheduler, workers, max_memory
) -> None:
    """Zonal statistics of RASTERS over ZONES (polygons, or a label raster).

    Zones that cover no cell of a raster are listed in a warning. Runs on threads (--scheduler
    threads or synchronous); --max-memory bounds the rasters read whole for order statistics.
    """
    from eokit.urban.memory import resolve_max_memory
    from eokit.urban.zonal import write_zonal_csv

    _threads_only(scheduler)
    with progress_bar(len(rasters), "rasters", unit="raster") as bar:
        write_zonal_csv(
            zones,
            list(rasters),
            out,
            stats=[s for s in stats.split(",") if s],
            band=band,
            id_col=id_col,
            min_value=min_value,
            all_touched=all_touched,
            tidy=tidy,
            workers=1 if scheduler == "synchronous" else workers,
            max_memory=resolve_max_memory(max_memory) // 4,
            progress=bar,
        )


def _threads_only(scheduler: str | None) -> None:
    """Commands whose work runs on threads in this process accept only threads or synchronous."""
    if scheduler not in (None, "threads", "synchronous"):
        from eokit.errors import InvalidInputError

        raise InvalidInputError(
            f"this command runs on threads in this process: use threads or synchronous, not {scheduler!r}",
            param="scheduler",
        )


@urban.command()
@click.argument("friction", type=click.Path(dir_okay=False))
@click.option("--origins", required=True, type=click.Path(dir_okay=False), help="Origin points (vector file).")
@click.option("--id-col", required=True, help="Id column of the origins (and destinations, unless --dest-id-col).")
@click.option("--destinations", type=click.Path(dir_okay=False), help="Destination points (default: the origins).")
@click.option("--dest-id-col", help="Id column of the destinations.")
@friction_units_option
@click.option(
    "--nonpositive",
    type=click.Choice(["error", "impassable"]),
    default="error",
    show_default=True,
    help="What zero/negative friction means.",
)
@click.option(
    "--max-time",
    type=Real(min=0, min_open=True, allow_inf=True),
    default=float("inf"),
    help="Stop searching beyond this many minutes (> 0; default: no limit); also bounds the friction window read.",
)
@out_option(help="Output CSV of minutes (origins as rows, destinations as columns).", kind="file",
            extensions=(".csv",))  # fmt: skip
@click.option("--distance-out", type=click.Path(dir_okay=False), callback=checked_output("file", (".csv",)),
              help="Also write route lengths in km here (.csv).")  # fmt: skip
@executor_options
def traveltime(
    friction,
    origins,
    id_col,
    destinations,
    dest_id_col,
    friction_units,
    nonpositive,
    max_time,
    out,
    distance_out,
    scheduler,
    workers,
    max_memory,
    friction_unit_old,
) -> None:
    """Travel-time (and route-length) matrices over a FRICTION raster.

    Only the window of FRICTION around the points (plus the reach of --max-time) is read.
    """
    friction_units = friction_unit_old or friction_units
    from eokit.urban.traveltime import travel_time_matrix

    with progress_bar(None, "origins", unit="origin") as bar:
        tt, _ = travel_time_matrix(
            friction,
            origins,
            id_col=id_col,
            destinations=destinations,
            dest_id_col=dest_id_col,
            unit=friction_units,
            nonpositive=nonpositive,
            max_time=max_time,
            out=out,
            distance_out=distance_out,
            scheduler=scheduler or "threads",
            workers=workers,
            max_memory=max_memory,
            progress=bar,
        )
    r0, r1, c0, c1 = tt.attrs["friction_window"]
    click.echo(
        f"{tt.shape[0]} x {tt.shape[1]} travel times -> {out} (friction window rows {r0}:{r1}, cols {c0}:{c1})",
        err=True,
    )


@urban.command()
@click.option("--population", required=True, type=click.Path(dir_okay=False), help="Population raster.")
@click.option("--admin", required=True, type=click.Path(dir_okay=False), help="Admin units (vector file).")
@click.option("--admin-id", required=True, help="Admin id column.")
@click.option("--admin-name", help="Admin name column.")
@click.option("--ntl", multiple=True, type=click.Path(dir_okay=False), help="Night-lights raster (repeatable).")
@click.option("--ghsl", multiple=True, type=click.Path(dir_okay=False), help="Built-up raster (repeatable).")
@click.option("--friction", type=click.Path(dir_okay=False), help="Friction raster for travel times.")
@friction_units_option
@hazard_options
@METHOD
@click.option("--force", is_flag=True, help="Rerun every step even when its outputs are up to date.")
@out_option(help="Output folder.", kind="folder")
@executor_options
def review(
    population,
    admin,
    admin_id,
    admin_name,
    ntl,
    ghsl,
    friction,
    friction_units,
    friction_unit_old,
    flood,
    depth_classes,
    flood_rule,
    climate,
    climate_index,
    baseline,
    air,
    method,
    force,
    out,
    workers,
    scheduler,
    max_memory,
) -> None:
    """The whole urbanisation review: clusters, names, districts, zonal tables, OD matrices, exposure, maps, report.

    With --flood / --climate / --air the review adds flood-risk, climate-variation and
    air-quality tables per cluster, centre and district, and a report section for each.
    """
    hazards = _hazards(flood, depth_classes, flood_rule, climate, climate_index, baseline, air)
    _check_inputs({"population": population, "ntl": ntl, "ghsl": ghsl, "friction": friction}, {"admin": admin}, hazards)
    import pyogrio

    from eokit.errors import InvalidInputError

    fields = [str(f) for f in pyogrio.read_info(admin)["fields"]]
    for column, param in ((admin_id, "admin_id"), (admin_name, "admin_name")):
        if column and column not in fields:
            raise InvalidInputError(f"{admin} has no column {column!r} (columns: {', '.join(fields)})", param=param)
    from eokit.urban.review import review as run_review

    steps = ["clip", "urban", "districts", "zonal", "traveltime", "exposure", "report"]
    with progress_bar(len(steps), "review", unit="step") as bar:
        result = run_review(
            population,
            admin,
            out,
            admin_id=admin_id,
            admin_name=admin_name,
            ntl=ntl,
            ghsl=ghsl,
            friction=friction,
            friction_unit=friction_unit_old or friction_units,
            method=method,
            force=force,
            workers=workers,
            scheduler=scheduler,
            max_memory=max_memory,
            hazards=hazards,
            progress=lambda _s: bar(1),
        )
    click.echo(
        f"review -> {result.out_dir} (ran: {', '.join(result.ran) or 'none'}; reused: {', '.join(result.reused) or 'none'})",
        err=True,
    )


@urban.command()
@click.argument("population", type=click.Path(dir_okay=False))
@click.option(
    "--zones",
    "zone_files",
    multiple=True,
    metavar="NAME=FILE",
    help="Zones (repeatable): polygons (with --zones-id) or a label raster on the population grid, e.g. clusters=urban_clusters.tif.",
)
@click.option("--zones-id", multiple=True, metavar="NAME=COLUMN", help="Id column of polygon zones NAME.")
@hazard_options
@click.option(
    "--built-up",
    type=click.Path(dir_okay=False),
    help="Built-up raster (an amount per cell, e.g. m²) for flood exposure of built-up area.",
)
@out_option(
    help="Output folder (flood_exposure.csv, climate_summary.csv, climate_series.csv, air_quality.csv).", kind="folder"
)
@executor_options
def exposure(
    population,
    zone_files,
    zones_id,
    flood,
    depth_classes,
    flood_rule,
    climate,
    climate_index,
    baseline,
    air,
    built_up,
    out,
    scheduler,
    workers,
    max_memory,
) -> None:
    """People (and built-up area) exposed to floods, climate variation and PM2.5, per zone.

    Hazard grids of another resolution or CRS are aligned to the POPULATION grid: area-weighted
    means for continuous values, the flooded area share (or maximum depth) for flood depth.
    The whole grid is always reported as zone set "all". Works block by block; --max-memory
    sets the block size; the blocks run in turn in this process (--scheduler threads or synchronous).
    """
    from pathlib import Path

    from eokit.errors import InvalidInputError
    from eokit.urban.exposure import Zones
    from eokit.urban.hazards import parse_named, write_exposure
    from eokit.urban.memory import block_side, resolve_max_memory

    _threads_only(scheduler)
    hz = _hazards(flood, depth_classes, flood_rule, climate, climate_index, baseline, air, built_up)
    ids = {k: str(v) for k, v in parse_named(zones_id, param="zones_id").items()}
    zones = []
    for name, path in parse_named(zone_files, param="zones").items():
        raster = Path(path).suffix.lower() in (".tif", ".tiff", ".vrt")
        if not raster and name not in ids:
            raise InvalidInputError(f"polygon zones {name!r} need --zones-id {name}=COLUMN", param="zones_id")
        zones.append(Zones(name, path, None if raster else ids[name]))
    _check_inputs(
        {"population": population, "built_up": built_up, "zones": [z.source for z in zones if z.id_col is None]},
        {"zones": [z.source for z in zones if z.id_col is not None]},
        hz,
    )
    files = write_exposure(population, out, hz, zones, block_size=block_side(resolve_max_memory(max_memory), 1))
    click.echo(f"exposure -> {', '.join(str(p) for p in files.values())}", err=True)


@urban.command()
@click.argument("country")
@click.option("--min-population", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Leave out places with fewer people than this.")  # fmt: skip
@out_option(help="Output CSV.", kind="file", extensions=(".csv",))
def places(country, min_population, out) -> None:
    """Populated places of COUNTRY (ISO2/ISO3) from the bundled GeoNames gazetteer (CC BY 4.0)."""
    from eokit.errors import InvalidInputError
    from eokit.urban.gazetteer import cities, write_places

    if cities(country, min_population=min_population).empty:  # never an empty table with exit 0
        raise InvalidInputError(
            f"the gazetteer has no place in {country} with {min_population} people or more", param="min_population"
        )
    write_places(country, out, min_population=min_population)


@urban.command(name="label")
@click.argument("raster", type=click.Path(dir_okay=False))
@click.option("--min", "min_value", type=Real(allow_inf=True), required=True,
              help="Cells with value >= this are foreground.")  # fmt: skip
@click.option("--connectivity", type=click.Choice(["4", "8"]), default="8", show_default=True,
              help="Neighbours that join cells: 4 (edges) or 8 (edges and corners).")  # fmt: skip
@click.option("--block-size", type=click.IntRange(min=16), help="Block side in pixels (default: from --max-memory).")
@out_option(help="Output int32 label raster (.tif).", kind="file", extensions=TIFF)
@executor_options
def label_cmd(raster, min_value, connectivity, block_size, out, scheduler, workers, max_memory) -> None:
    """Connected components of RASTER >= --min, block by block (rasters larger than memory)."""
    from eokit.config import get_settings
    from eokit.urban.labels import label_raster, threshold_predicate
    from eokit.urban.memory import block_side, resolve_max_memory

    check_inputs({"raster": raster})
    block = block_size or block_side(resolve_max_memory(max_memory), workers or get_settings().n_workers)
    with progress_bar(_cells(raster), "label") as bar:
        n = label_raster(
            raster,
            out,
            threshold_predicate(min_value),
            connectivity=int(connectivity),
            block_shape=block,
            scheduler=scheduler or "threads",
            workers=workers,
            progress=bar,
        )
    click.echo(f"{n} components -> {out}", err=True)
