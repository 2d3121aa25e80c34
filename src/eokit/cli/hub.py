"""``eokit hub``: search and download from CDSE, DHuS and STAC APIs (classic sentinelsat options)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator

import click

from eokit.cli._options import MAX_WORKERS, Real, check_crs, checked_output

log = logging.getLogger("eokit.cli.hub")


@click.group("hub")
def hub() -> None:
    """Search and download satellite products (CDSE, DHuS, STAC)."""


def _footprints(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--footprints FILE`` is checked before the search; ``-`` is stdout."""
    return value if value == "-" else checked_output("file", (".geojson", ".json"))(ctx, param, value)


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
@click.option("-g", "--geometry", default=None, help="Search area: vector file, GeoJSON file or string, or WKT.")
@click.option(
    "--geometry-crs",
    default=None,
    callback=check_crs,
    help="CRS of a WKT --geometry (default EPSG:4326 lon/lat; GeoJSON is always lon/lat, files carry their own).",
)
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
    "--max-cloud",
    "cloud",
    type=click.IntRange(0, 100),
    default=None,
    help="Maximum cloud cover in percent (needs --sentinel 2 or 3).",
)
@click.option(
    "--order-by",
    default=None,
    help="Comma-separated keywords to order by; '-' prefix for descending, e.g. 'cloudcoverpercentage,-beginposition'.",
)
@click.option("-o", "order_by_alias", default=None, hidden=True, help="Deprecated alias of --order-by.")
@click.option("-l", "--limit", type=click.IntRange(min=0), default=None, help="Maximum number of results.")
@click.option("--query", multiple=True, help="Extra keyword=value; repeat; repeated keywords are OR-ed.")
@click.option("-q", "query_alias", multiple=True, hidden=True, help="Deprecated alias of --query.")
@click.option("--collection", default=None, help="STAC collection id (with --provider stac).")
@click.option("--footprints", default=None, callback=_footprints,
              help="Write a GeoJSON of the results to this file (.geojson or .json; '-' for stdout).")  # fmt: skip
@click.option("-d", "--download", is_flag=True, help="Download all results.")
@click.option(
    "--out", type=click.Path(file_okay=False), default=".", show_default=True, help="Folder the downloads go to."
)
@click.option("--path", "path_alias", type=click.Path(file_okay=False), hidden=True, help="Deprecated alias of --out.")
@click.option("--fail-fast", is_flag=True, help="Stop all downloads when one fails.")
@click.option("--include-pattern", default=None, help="Only download files inside products matching this glob.")
@click.option("--exclude-pattern", default=None, help="Do not download files inside products matching this glob.")
@click.option("--quicklook", is_flag=True, help="Download the quicklooks of the results.")
@click.option("--timeout", type=Real(min=0, max=86400, min_open=True), default=60.0, show_default=True,
              help="Seconds to wait for a server response (up to a day).")  # fmt: skip
@click.option(
    "--retries",
    type=click.IntRange(0, 100),
    default=None,
    help="Retries of a request after a transient failure (connection, 429, 5xx), with backoff honouring "
    "Retry-After (default: EOKIT_HTTP_RETRIES, 5).",
)
@click.option(
    "--deadline",
    type=Real(min=0, allow_inf=True),
    default=None,
    help="Seconds one file may take to download in total, 0 for none (default: EOKIT_HUB_FILE_DEADLINE, 86400).",
)
@click.option(
    "--low-speed-limit",
    type=click.IntRange(min=0),
    default=None,
    help="Bytes/s below which a download counts as stalled and is resumed on a new connection after "
    "EOKIT_HUB_LOW_SPEED_TIME (60) seconds (default: EOKIT_HUB_LOW_SPEED_LIMIT, 1024; 0: never).",
)
@click.option(
    "--trusted-host",
    "trusted_hosts",
    multiple=True,
    help="Origin (https://host:port, host or *.domain) that may receive the credentials besides the hub's own "
    "(a download host its answers name, a redirect target); repeatable (also EOKIT_HUB_TRUSTED_HOSTS). Other "
    "hosts are fetched without them; never a redirect from https to http.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, MAX_WORKERS),
    default=None,
    help="Parallel downloads (default 4; 0: one per CPU core).",
)
@click.option("--cloud", "cloud_alias", type=click.IntRange(0, 100), default=None, hidden=True,
              help="Deprecated: --max-cloud.")  # fmt: skip
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
    "'{uuid} {title}' for every provider, '{uuid} {identifier} {size} {beginposition}' for CDSE and DHuS, "
    "'{uuid} {datetime} {collection}' for STAC; see --footprints - for the keys).",
)
@click.option("--info", is_flag=True, help="Print the server's version / end-points / landing page and exit.")
def search(**kw: object) -> None:
    """Search products and optionally download them (the classic sentinelsat options)."""
    from eokit.hub.tool import SearchOptions, format_products, run_search, server_info

    for alias, name, spelling, new_spelling in (
        ("order_by_alias", "order_by", "-o", "--order-by"),
        ("query_alias", "query", "-q", "--query"),
        ("path_alias", "out", "--path", "--out"),
        ("cloud_alias", "cloud", "--cloud", "--max-cloud"),
    ):
        value = kw.pop(alias)
        if value:
            log.warning("%s is deprecated; use %s", spelling, new_spelling)
            kw[name] = (*kw[name], *value) if name == "query" else value  # type: ignore[misc]
    if kw.get("workers") == 0:
        kw["workers"] = os.cpu_count() or 1
    ctx = click.get_current_context()
    if not (ctx.find_root().obj or {}).get("verbosity", 0):
        logging.getLogger("urllib3").setLevel(logging.ERROR)  # each retry is logged by urllib3; -v shows them
    as_json = kw.pop("as_json")
    fmt = str(kw.pop("fmt"))
    info = kw.pop("info")
    kw["show_progress"] = sys.stderr.isatty()
    opts = SearchOptions(**kw)  # type: ignore[arg-type]
    if info:
        for line in server_info(opts):
            click.echo(line)
        return
    with interruptible():
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


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM stop downloads cleanly (partial files kept for a resume); exit 130 / 143."""
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    except KeyboardInterrupt:
        click.echo("eokit: interrupted; partial downloads are kept and a rerun resumes them", err=True)
        sys.exit(128 + (received[0] if received else signal.SIGINT))
    finally:
        signal.signal(signal.SIGTERM, previous)
