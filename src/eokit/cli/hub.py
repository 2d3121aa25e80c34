"""``eokit hub``: search and download from CDSE, DHuS and STAC APIs (classic sentinelsat options)."""

from __future__ import annotations

import json
import sys

import click


@click.group("hub")
def hub() -> None:
    """Search and download satellite products (CDSE, DHuS, STAC)."""


@hub.command("search")
@click.option(
    "-u",
    "--user",
    envvar=["EOKIT_HUB_USER", "DHUS_USER"],
    default=None,
    help="User name (or EOKIT_HUB_USER / DHUS_USER, or ~/.netrc).",
)
@click.option(
    "-p",
    "--password",
    envvar=["EOKIT_HUB_PASSWORD", "DHUS_PASSWORD"],
    default=None,
    help="Password (or EOKIT_HUB_PASSWORD / DHUS_PASSWORD, or ~/.netrc).",
)
@click.option(
    "--url",
    envvar=["EOKIT_HUB_URL", "DHUS_URL"],
    default=None,
    help="DHuS or STAC API URL (default: CDSE, see EOKIT_CDSE_* variables).",
)
@click.option(
    "--provider",
    type=click.Choice(["cdse", "dhus", "stac"]),
    default=None,
    help="Protocol (default: CDSE, or DHuS when --url is a DHuS).",
)
@click.option("-s", "--start", default=None, help="Start date: YYYYMMDD, ISO time or an expression like NOW-1DAY.")
@click.option("-e", "--end", default=None, help="End date.")
@click.option("-g", "--geometry", default=None, help="Search area: GeoJSON file, GeoJSON string or WKT.")
@click.option("--location", default=None, help="Search area from a place name (offline gazetteer), e.g. 'Berlin'.")
@click.option("--uuid", multiple=True, help="Product UUID(s); repeat or separate with commas.")
@click.option("--name", multiple=True, help="Product name(s); wildcards allowed; repeatable.")
@click.option("--sentinel", type=click.Choice(["1", "2", "3", "5"]), default=None, help="Sentinel constellation.")
@click.option(
    "--instrument", type=click.Choice(["MSI", "SAR-C SAR", "SLSTR", "OLCI", "SRAL"]), default=None, help="Instrument."
)
@click.option("--producttype", default=None, help="Product type, e.g. S2MSI2A or GRD.")
@click.option(
    "-c",
    "--cloud",
    type=click.IntRange(0, 100),
    default=None,
    help="Maximum cloud cover in percent (needs --sentinel 2 or 3).",
)
@click.option("-o", "--order-by", default=None, help="Comma-separated keywords to order by; '-' prefix for descending.")
@click.option("-l", "--limit", type=click.IntRange(min=0), default=None, help="Maximum number of results.")
@click.option("-q", "--query", multiple=True, help="Extra keyword=value; repeat; repeated keywords are OR-ed.")
@click.option("--collection", default=None, help="STAC collection id (with --provider stac).")
@click.option("--footprints", default=None, help="Write a GeoJSON of the results to this file ('-' for stdout).")
@click.option("-d", "--download", is_flag=True, help="Download all results.")
@click.option("--path", type=click.Path(file_okay=False), default=".", show_default=True, help="Where downloads go.")
@click.option("--fail-fast", is_flag=True, help="Stop all downloads when one fails.")
@click.option("--include-pattern", default=None, help="Only download files inside products matching this glob.")
@click.option("--exclude-pattern", default=None, help="Do not download files inside products matching this glob.")
@click.option("--quicklook", is_flag=True, help="Download the quicklooks of the results.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for a server response.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel downloads (default 4).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as GeoJSON on stdout.")
@click.option(
    "--gnss",
    is_flag=True,
    help="GNSS/orbit products: a DHuS's GNSS end-point (guest account unless -u/-p), or CDSE's "
    "AUX_POEORB/AUX_RESORB/... products.",
)
@click.option(
    "--fmt",
    default="Product {uuid} - {summary}",
    show_default=True,
    help="Format of each printed result (Python format string over its properties, e.g. "
    "'{uuid} {identifier} {size} {beginposition}'; see --footprints - for the keys).",
)
@click.option("--info", is_flag=True, help="Print the server's version / end-points / landing page and exit.")
def search(**kw: object) -> None:
    """Search products and optionally download them (the classic sentinelsat options)."""
    from eokit.hub.tool import SearchOptions, format_products, run_search, server_info

    as_json = kw.pop("as_json")
    fmt = str(kw.pop("fmt"))
    info = kw.pop("info")
    kw["show_progress"] = sys.stderr.isatty()
    opts = SearchOptions(**kw)  # type: ignore[arg-type]
    if info:
        for line in server_info(opts):
            click.echo(line)
        return
    run = run_search(opts)
    if as_json or kw["footprints"] == "-":
        click.echo(json.dumps(run.geojson, default=str))
    else:
        for line in format_products(run.products, fmt):
            click.echo(line)
        size = f" with a total size of {run.total_size_gb:.2f} GB" if run.total_size_gb is not None else ""
        click.echo(f"{len(run.products)} scenes found{size}")
    if kw["download"]:
        click.echo(f"Successfully downloaded {len(run.downloaded)}/{len(run.products)} products.", err=True)
        for pid, err in run.failed.items():
            click.echo(f"failed: {pid}: {err}", err=True)
    if run.quicklooks_failed:
        click.echo(f"Some quicklooks failed: {run.quicklooks_failed} out of {len(run.products)}", err=True)
    sys.exit(run.exit_code)
