"""``eokit catalog``: build, validate and describe STAC catalogs."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import cast

import click

from eokit.cli._options import check_crs, checked_output, progress_bar, scheduler_option, workers_option

log = logging.getLogger(__name__)

FOOTPRINT_HELP = (
    "bbox: the file's bounds, edges followed to 1e-6 degrees. data: the outline of valid pixels (NaN counts as "
    "nodata for float bands without a nodata value) or of the points. It contains every valid pixel centre / "
    "point; it may include data-free margins and gaps up to two cells wide, a cell being 1/1024 of the longer "
    "side (one pixel for rasters up to 1024 pixels; for point clouds, cells average four points). Files with no "
    "valid pixel are skipped."
)


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A URL with a scheme and a host (https://example.org/stac, s3://bucket/prefix), not a relative path."""
    from urllib.parse import urlsplit

    if value is None or ctx.resilient_parsing:
        return value
    parts = urlsplit(value)
    if not (parts.scheme and parts.netloc):
        raise click.BadParameter(
            f"{value!r} is not a URL (scheme://host/path, e.g. https://example.org/data)", ctx, param
        )
    return value


@click.group("catalog")
def catalog() -> None:
    """Crawl geospatial files into STAC, validate STAC documents."""


@catalog.command("build")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Output catalog folder.")
@click.option("--group-by", default="stem", show_default=True, help="stem | parent | regex:PATTERN (named group 'id').")
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False), help="CSV or GeoPackage joined on item ids.")
@click.option("--metadata-key", default="id", show_default=True, help="Metadata column holding the item id.")
@click.option("--metadata-geometry/--no-metadata-geometry", default=True, show_default=True,
              help="Let metadata geometries replace item footprints.")  # fmt: skip
@click.option("--collection-id", default="collection", show_default=True, help="Id of the STAC Collection.")
@click.option("--title", default=None, help="Collection title.")
@click.option("--description", default="Geospatial assets catalogued by eokit.", show_default=True,
              help="Collection description (Markdown allowed).")  # fmt: skip
@click.option("--license", "license_", default="other", show_default=True, help="SPDX id or 'other'.")
@click.option("--collection-provider", "provider", multiple=True, metavar="NAME[|ROLE,ROLE[|URL]]",
              help="A provider of the collection (STAC 'providers'), repeatable.")  # fmt: skip
@click.option("--provider", "old_provider", multiple=True, hidden=True,
              help="Deprecated: --collection-provider (hub search's --provider is the protocol).")  # fmt: skip
@click.option("--doi", default=None, help="Scientific extension sci:doi.")
@click.option("--citation", default=None, help="Scientific extension sci:citation.")
@click.option("--keyword", "keywords", multiple=True, help="Collection keyword, repeatable.")
@click.option("--catalog-id", default="catalog", show_default=True, help="Id of the root STAC Catalog.")
@click.option("--catalog-type", type=click.Choice(["self-contained", "relative-published", "absolute-published"]),
              default="self-contained", show_default=True,
              help="How links are written: self-contained (relative, no self links), relative-published "
                   "(relative plus a self link at the root, needs --catalog-url) or absolute-published "
                   "(absolute URLs, needs --catalog-url).")  # fmt: skip
@click.option(
    "--public-url", default=None, callback=_url, help="URL of ROOT: asset hrefs become PUBLIC_URL/<relative path>."
)
@click.option("--catalog-url", default=None, callback=_url, help="URL where the output folder will be published.")
@click.option("--footprint", type=click.Choice(["bbox", "data"]), default="bbox", show_default=True,
              help=FOOTPRINT_HELP)  # fmt: skip
@click.option("--statistics/--no-statistics", default=False, help="Band statistics from overviews.")
@click.option("--histogram/--no-histogram", default=False, help="Band histograms from overviews.")
@click.option("--checksum", type=click.Choice(["sha2-256", "sha2-512", "blake3", "md5"]), default=None,
              help="Add file:checksum (multihash).")  # fmt: skip
@click.option("--default-crs", default=None, callback=check_crs,
              help="CRS for files that carry none (else they are skipped).")  # fmt: skip
@click.option("--incremental", is_flag=True, help="Reuse items of files unchanged since the last build.")
@click.option("--file-timeout", type=click.FloatRange(min=0, min_open=True), default=300.0, show_default=True,
              help="Seconds one file may take to read before it is skipped (recorded in errors.json), with every "
                   "--scheduler: a stuck reader thread is abandoned and replaced.")  # fmt: skip
@scheduler_option
@workers_option
def build(root: str, out: str, **kw: object) -> None:
    """Crawl ROOT into a STAC catalog in --out.

    Exit status: 0 if every file was catalogued; 1 if some were skipped (the
    catalog holds the rest; errors.json has the reasons).
    """
    from eokit.catalog import CollectionInfo, ReadOptions, build_catalog
    from eokit.errors import InvalidInputError

    if not any(files for _, _, files in os.walk(root)):
        raise InvalidInputError("no file to catalogue in this folder", path=root, param="root")
    providers = []
    old_specs = cast(tuple[str, ...], kw.pop("old_provider"))
    if old_specs:
        log.warning("--provider is deprecated; use --collection-provider")
    for spec in (*cast(tuple[str, ...], kw["provider"]), *old_specs):
        name, _, rest = str(spec).partition("|")
        roles, _, url = rest.partition("|")
        p: dict[str, object] = {"name": name}
        if roles:
            p["roles"] = [r.strip() for r in roles.split(",") if r.strip()]
        if url:
            p["url"] = url
        providers.append(p)
    info = CollectionInfo(
        id=str(kw["collection_id"]),
        title=kw["title"],  # type: ignore[arg-type]
        description=str(kw["description"]),
        license=str(kw["license_"]),
        providers=providers,
        doi=kw["doi"],  # type: ignore[arg-type]
        citation=kw["citation"],  # type: ignore[arg-type]
        keywords=tuple(kw["keywords"]),  # type: ignore[arg-type]
        catalog_id=str(kw["catalog_id"]),
    )
    options = ReadOptions(
        footprint=str(kw["footprint"]),
        statistics=bool(kw["statistics"]),
        histogram=bool(kw["histogram"]),
        checksum=kw["checksum"],  # type: ignore[arg-type]
        default_crs=kw["default_crs"],  # type: ignore[arg-type]
    )
    with progress_bar(None, "files", unit="file") as progress:
        bar = getattr(progress, "__self__", None)  # the tqdm bar behind progress_bar's callable

        def set_total(n: int) -> None:
            if bar is not None:
                bar.total = n
                bar.refresh()

        result = build_catalog(
            root,
            out,
            group_by=str(kw["group_by"]),
            metadata=kw["metadata"],  # type: ignore[arg-type]
            metadata_key=str(kw["metadata_key"]),
            metadata_geometry=bool(kw["metadata_geometry"]),
            collection=info,
            catalog_type=str(kw["catalog_type"]),
            public_url=kw["public_url"],  # type: ignore[arg-type]
            catalog_url=kw["catalog_url"],  # type: ignore[arg-type]
            read_options=options,
            incremental=bool(kw["incremental"]),
            scheduler=kw["scheduler"],  # type: ignore[arg-type]
            workers=kw["workers"],  # type: ignore[arg-type]
            progress=progress,
            on_total=set_total,
            file_timeout=float(kw["file_timeout"]),  # type: ignore[arg-type]
        )
    click.echo(
        f"{result.n_items} items from {result.n_files} files ({result.n_reused} reused) -> {result.out}; "
        f"{len(result.skipped)} skipped, {len(result.unmatched_metadata)} metadata rows unmatched, "
        f"{len(result.items_without_metadata)} items without metadata"
    )
    if result.file_time_items:
        click.echo(
            f"{len(result.file_time_items)} items dated by file modification time (no acquisition time in their "
            "metadata or names; listed in errors.json)"
        )
    quiet = (click.get_current_context().find_root().obj or {}).get("verbosity", 0) < 0
    if result.skipped:
        shown = [] if quiet else result.skipped[:20]
        for s in shown:
            click.echo(f"skipped {s.path}: {s.reason}", err=True)
        if len(result.skipped) > len(shown):
            more = "more " if shown else ""
            click.echo(f"{len(result.skipped) - len(shown)} {more}skipped files: reasons in errors.json", err=True)
        sys.exit(1)


@catalog.command("validate")
@click.argument("path", type=click.Path(exists=True))
@click.option("--schemas", type=click.Path(exists=True, file_okay=False), default=None,
              help="Offline schema mirror (<host>/<path> layout) searched before the schemas bundled with eokit; "
                   "default $EOKIT_STAC_SCHEMAS or a shared/data/stac-schemas beside the working folder.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate(path: str, schemas: str | None, as_json: bool) -> None:
    """Validate PATH (a catalog folder, catalog/collection/item JSON or index.geojson) against the STAC schemas, offline."""
    from eokit.catalog.validate import validate_catalog

    report = validate_catalog(path, schema_dir=schemas)
    if as_json:
        click.echo(json.dumps({"checked": report.checked, "errors": report.errors}, indent=2))
    else:
        for label, errs in report.errors.items():
            click.echo(f"INVALID {label}")
            for e in errs:
                click.echo(f"    {e}")
        click.echo(f"{report.checked} documents checked, {len(report.errors)} invalid")
    if not report.ok:
        sys.exit(1)


@catalog.command("item")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "item_id", default=None, help="Item id (default: first file's name).")
@click.option("--footprint", type=click.Choice(["bbox", "data"]), default="bbox", show_default=True,
              help=FOOTPRINT_HELP)  # fmt: skip
@click.option("--statistics/--no-statistics", default=False, help="Band statistics from overviews.")
@click.option("--checksum", type=click.Choice(["sha2-256", "sha2-512", "blake3", "md5"]), default=None,
              help="Add file:checksum (multihash).")  # fmt: skip
@click.option("--default-crs", default=None, callback=check_crs,
              help="CRS for files that carry none (else they are refused).")  # fmt: skip
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    callback=checked_output("file", (".json",)),
    help="Write the item here (.json; default stdout).",
)
def item(paths: tuple[str, ...], item_id: str | None, footprint: str, statistics: bool, checksum: str | None,
         default_crs: str | None, out: str | None) -> None:  # fmt: skip
    """Print (or write) one STAC item for PATHS."""
    from eokit.catalog import create_item
    from eokit.catalog.build import write_json_atomic

    it = create_item(
        list(paths),
        item_id=item_id,
        footprint=footprint,
        statistics=statistics,
        checksum=checksum,
        default_crs=default_crs,
    )
    if out:
        write_json_atomic(out, it.to_dict())
    else:
        click.echo(json.dumps(it.to_dict(), indent=2))


from eokit.cli.publish import publish  # noqa: E402  (the serve engineer's module; registered here)

catalog.add_command(publish)
