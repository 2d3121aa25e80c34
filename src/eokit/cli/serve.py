"""``eokit serve``: a STAC API over a catalog folder."""

from __future__ import annotations

import click


@click.command("serve")
@click.argument("catalog_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--asset-root", "asset_roots", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Extra folder whose files may be served as assets (repeatable).")  # fmt: skip
@click.option("--index", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Where to keep the SQLite index (default: the temp folder).")  # fmt: skip
def serve(catalog_dir: str, host: str, port: int, asset_roots: tuple[str, ...], db_path: str | None) -> None:
    """Serve CATALOG_DIR (built by `eokit catalog build`, or any static STAC catalog) as a STAC API."""
    from eokit.catalog.server import serve as run

    click.echo(f"STAC API on http://{host}:{port}/ (map: /map.html, API docs: /api.html); Ctrl+C stops", err=True)
    run(catalog_dir, host=host, port=port, asset_roots=asset_roots, db_path=db_path)
