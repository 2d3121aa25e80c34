"""``eokit urban``: degree of urbanisation, zonal statistics, travel time, the review pipeline."""

from __future__ import annotations

import click

from eokit.cli._options import out_option, progress_bar, scheduler_option, workers_option

METHOD = click.option(
    "--method",
    type=click.Choice(["ghsl", "gost"]),
    default="ghsl",
    show_default=True,
    help="ghsl: the EC/GHSL manual; gost: GOST calculateUrban's rules, for comparability.",
)


def max_memory_option(f):  # type: ignore[no-untyped-def]
    """``--max-memory SIZE`` (the same meaning on every command that processes rasters)."""
    return click.option(
        "--max-memory",
        metavar="SIZE",
        default=None,
        help="Memory budget, e.g. 4GB or 512MB (default: half the RAM). Blocks and per-object windows "
        "are sized to stay within it; work that cannot is refused.",
    )(f)


def executor_options(f):  # type: ignore[no-untyped-def]
    """``--scheduler``, ``--workers`` and ``--max-memory``."""
    return scheduler_option(workers_option(max_memory_option(f)))


def _deprecated(new: str):  # type: ignore[no-untyped-def]
    def callback(ctx, param, value):  # type: ignore[no-untyped-def]
        if value is not None:
            import logging

            logging.getLogger("eokit.cli").warning("%s is deprecated: use %s", "/".join(param.opts), new)
        return value

    return callback


def friction_units_option(f):  # type: ignore[no-untyped-def]
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


def _params(**kw: float | None):  # type: ignore[no-untyped-def]
    from eokit.urban.degurba import DegurbaParams

    return DegurbaParams(**{k: v for k, v in kw.items() if v is not None})


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
@click.option("--kind", type=click.Choice(["cluster", "centre"]), default="cluster", show_default=True)
@out_option(help="Output polygons (.gpkg or .geojson).")
@click.option("--raster", "label_raster", type=click.Path(dir_okay=False), help="Also write the label raster here.")
@METHOD
@click.option("--no-names", is_flag=True, help="Skip naming from the offline gazetteer.")
@click.option("--centre-density", type=float, help="Urban-centre density threshold (people/km², default 1500).")
@click.option("--cluster-density", type=float, help="Urban-cluster density threshold (people/km², default 300).")
@click.option("--centre-min-pop", type=float, help="Minimum urban-centre population (default 50000).")
@click.option("--cluster-min-pop", type=float, help="Minimum urban-cluster population (default 5000).")
@executor_options
def clusters(
    population, kind, out, label_raster, method, no_names, scheduler, workers, max_memory, **thresholds
) -> None:  # type: ignore[no-untyped-def]
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
@out_option(help="Output level-2 class raster (.tif).")
@click.option("--level1", type=click.Path(dir_okay=False), help="Also write the level-1 raster here.")
@click.option("--built-up", type=click.Path(dir_okay=False), help="Built-up share raster (0..1) on the same grid.")
@click.option("--land", type=click.Path(dir_okay=False), help="Land share raster (0..1) on the same grid.")
@METHOD
@executor_options
def classify(population, out, level1, built_up, land, method, scheduler, workers, max_memory) -> None:  # type: ignore[no-untyped-def]
    """Degree-of-urbanisation grid classes (level 2: 30, 23, 22, 21, 13, 12, 11, 10).

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
@click.option("--stats", default="sum,min,max,mean", show_default=True, help="Comma-separated statistics.")
@click.option("--id-col", help="Zone id column (default: row position).")
@click.option("--min-value", type=float, help="Ignore values below this.")
@click.option("--all-touched", is_flag=True, help="Count every touched cell, not only cell centres.")
@click.option("--tidy", is_flag=True, help="Write the tidy table (zone, raster, stat, value) instead of the wide one.")
@out_option(help="Output CSV.")
def zonal(zones, rasters, stats, id_col, min_value, all_touched, tidy, out) -> None:  # type: ignore[no-untyped-def]
    """Zonal statistics of RASTERS over ZONES (polygons, or a label raster)."""
    from eokit.urban.zonal import write_zonal_csv

    with progress_bar(len(rasters), "rasters", unit="raster") as bar:
        write_zonal_csv(
            zones,
            list(rasters),
            out,
            stats=[s for s in stats.split(",") if s],
            id_col=id_col,
            min_value=min_value,
            all_touched=all_touched,
            tidy=tidy,
            progress=bar,
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
    type=float,
    default=float("inf"),
    help="Stop searching beyond this many minutes (> 0); also bounds the friction window read.",
)
@out_option(help="Output CSV of minutes (origins as rows, destinations as columns).")
@click.option("--distance-out", type=click.Path(dir_okay=False), help="Also write route lengths in km here.")
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
) -> None:  # type: ignore[no-untyped-def]
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
@METHOD
@click.option("--force", is_flag=True, help="Rerun every step even when its outputs are up to date.")
@out_option(help="Output folder.")
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
    method,
    force,
    out,
    workers,
    scheduler,
    max_memory,
) -> None:  # type: ignore[no-untyped-def]
    """The whole urbanisation review: clusters, names, districts, zonal tables, OD matrices, maps, report."""
    from eokit.urban.review import review as run_review

    steps = ["clip", "urban", "districts", "zonal", "traveltime", "report"]
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
            progress=lambda _s: bar(1),
        )
    click.echo(
        f"review -> {result.out_dir} (ran: {', '.join(result.ran) or 'none'}; reused: {', '.join(result.reused) or 'none'})",
        err=True,
    )


@urban.command()
@click.argument("country")
@click.option("--min-population", type=int, default=1000, show_default=True)
@out_option(help="Output CSV.")
def places(country, min_population, out) -> None:  # type: ignore[no-untyped-def]
    """Populated places of COUNTRY (ISO2/ISO3) from the bundled GeoNames gazetteer (CC BY 4.0)."""
    from eokit.urban.gazetteer import write_places

    write_places(country, out, min_population=min_population)


@urban.command(name="label")
@click.argument("raster", type=click.Path(dir_okay=False))
@click.option("--min", "min_value", type=float, required=True, help="Cells with value >= this are foreground.")
@click.option("--connectivity", type=click.Choice(["4", "8"]), default="8", show_default=True)
@click.option("--block-size", type=int, default=1024, show_default=True, help="Block side in pixels.")
@out_option(help="Output int32 label raster (.tif).")
@scheduler_option
@workers_option
def label_cmd(raster, min_value, connectivity, block_size, out, scheduler, workers) -> None:  # type: ignore[no-untyped-def]
    """Connected components of RASTER >= --min, block by block (rasters larger than memory)."""
    from eokit.urban.labels import label_raster, threshold_predicate

    with progress_bar(None, "label") as bar:
        n = label_raster(
            raster,
            out,
            threshold_predicate(min_value),
            connectivity=int(connectivity),
            block_shape=block_size,
            scheduler=scheduler or "threads",
            workers=workers,
            progress=bar,
        )
    click.echo(f"{n} components -> {out}", err=True)
