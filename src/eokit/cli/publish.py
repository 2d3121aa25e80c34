"""``eokit catalog publish``: load a catalog folder into a STAC API store (pgstac)."""

from __future__ import annotations

import json

import click


@click.command("publish")
@click.argument("catalog_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--pgstac", "dsn", required=True, envvar="EOKIT_PGSTAC_DSN", metavar="DSN",
              help="PostgreSQL connection string of the pgstac database (postgresql://user@host:5432/db); "
                   "also read from EOKIT_PGSTAC_DSN so a password need not be on the command line. The pgstac "
                   "schema is installed or migrated first; collections and items are upserted.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON on stdout.")
def publish(catalog_dir: str, dsn: str, as_json: bool) -> None:
    """Publish CATALOG_DIR (every collection and item) to a pgstac database, for `eokit serve --backend pgstac`."""
    from eokit.catalog.api_pgstac import publish_pgstac

    result = publish_pgstac(catalog_dir, dsn)
    if as_json:
        click.echo(json.dumps({"collections": result.collections, "items": result.items}))
    else:
        click.echo(f"published {result.collections} collections and {result.items} items to pgstac", err=True)
