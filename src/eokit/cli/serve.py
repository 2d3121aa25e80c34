"""``eokit serve``: a STAC API over a catalog folder (embedded index) or a pgstac database."""

from __future__ import annotations

import os

import click

from eokit.cli._options import checked_output


@click.command("serve")
@click.argument("catalog_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--backend", type=click.Choice(["embedded", "pgstac"]), default="embedded", show_default=True,
              help="embedded: index CATALOG_DIR in SQLite (no setup); pgstac: serve a PostgreSQL/pgstac "
                   "database filled by `eokit catalog publish --pgstac`.")  # fmt: skip
@click.option("--dsn", envvar="EOKIT_PGSTAC_DSN", metavar="DSN", default=None,
              help="PostgreSQL connection string for --backend pgstac (or EOKIT_PGSTAC_DSN).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 64),
              help="Server processes sharing the port (0: one per CPU core).")  # fmt: skip
@click.option("--asset-root", "asset_roots", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Extra folder whose files may be served as assets (repeatable); nothing else outside "
                   "CATALOG_DIR is ever served.")  # fmt: skip
@click.option("--index", "db_path", type=click.Path(dir_okay=False), default=None, callback=checked_output("file"),
              help="Where to keep the SQLite index (default: a private folder in ~/.cache/eokit).")  # fmt: skip
@click.option("--base-url", default=None, metavar="URL",
              help="Public URL of the API (e.g. https://example.org/stac); links start with it. "
                   "Default: the address the connection came in on.")  # fmt: skip
@click.option("--proxy-headers", is_flag=True,
              help="Build links from X-Forwarded-Proto/-Host/-Prefix (only behind a trusted proxy).")  # fmt: skip
def serve(
    catalog_dir: str | None,
    backend: str,
    dsn: str | None,
    host: str,
    port: int,
    workers: int,
    asset_roots: tuple[str, ...],
    db_path: str | None,
    base_url: str | None,
    proxy_headers: bool,
) -> None:
    """Serve CATALOG_DIR (built by `eokit catalog build`, or any static STAC catalog) as a STAC API."""
    from eokit.catalog.api_http import check_base_url
    from eokit.catalog.api_pgstac import _conninfo
    from eokit.catalog.server import serve as run

    if base_url:  # checked before the banner, so a wrong value is the only line shown
        check_base_url(base_url)
    if backend == "pgstac" and dsn:
        _conninfo(dsn)
    click.echo(f"STAC API on http://{host}:{port}/ (map: /map.html, API docs: /api.html); Ctrl+C stops", err=True)
    run(
        catalog_dir,
        backend=backend,
        dsn=dsn,
        host=host,
        port=port,
        workers=workers or os.cpu_count() or 1,
        asset_roots=asset_roots,
        db_path=db_path,
        base_url=base_url,
        proxy_headers=proxy_headers,
    )
