"""``eokit demo``: the main job on built-in data."""

from __future__ import annotations

import click

from eokit.cli._options import out_option


def _country(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An ISO 3166 code the gazetteer has places for; checked before any work starts."""
    if ctx.resilient_parsing:
        return value
    from eokit.errors import InvalidInputError
    from eokit.urban.gazetteer import cities

    try:
        places = cities(country=value)
    except InvalidInputError as exc:
        raise click.BadParameter(exc.message, ctx=ctx, param=param) from None
    if len(places) < 3:
        raise click.BadParameter(
            f"the gazetteer has {len(places)} place(s) in {value!r}; the demo needs at least 3", ctx=ctx, param=param
        )
    return value.upper()


@click.command("demo")
@out_option(required=False, kind="folder", help="Output folder (default: demo-output).")
@click.option("--quick", is_flag=True, help="A smaller world and scenes: under a minute (used by the tests).")
@click.option(
    "--country",
    default="KAZ",
    show_default=True,
    callback=_country,
    help="ISO 3166 alpha-2 or alpha-3 code of the country whose real places seed the world (KZ, KAZ, FRA...).",
)
@click.option("--keep-server", is_flag=True, help="Afterwards, keep serving the demo's STAC catalog until Ctrl-C.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port for --keep-server.")
def demo(out: str | None, quick: bool, country: str, keep_server: bool, port: int) -> None:
    """Run every capability end to end on a generated world, offline, and write a report.

    \b
    1. builds a small country around real places (population, districts, night
       lights, built-up, friction) and Landsat-8/Sentinel-2-like scenes;
    2. hub: serves the scenes on a local hub, searches it with the
       sentinelsat-compatible API (DHuS) and the native API (CDSE), downloads
       in parallel with checksums and recovers from an injected fault;
    3. catalog: builds, validates and serves a STAC catalog, and searches it;
    4. algorithms: NDVI, Landsat 8->7 harmonisation, BRDF/NBAR,
       pansharpening, distance to clouds;
    5. resample: a scene through a distortion grid with masks;
    6. urban: the whole urbanisation review;
    7. writes OUT/index.html linking every file.

    Exits with status 1 if any step failed (the others still run).
    """
    from eokit.demo import run_demo
    from eokit.demo.report import plural

    if keep_server:
        from eokit.cli.main import ensure_port_free

        ensure_port_free("127.0.0.1", port)  # before the work, not after it
    from eokit.cli._logging import verbosity

    announce = None if verbosity() < 0 else (lambda m: click.echo(m, err=True))  # -q: the result line only
    results, report = run_demo(out or "demo-output", quick=quick, country=country, announce=announce)
    failed = [r for r in results if r.status != "ok"]
    ok = len(results) - len(failed)
    click.echo(f"eokit demo: {ok}/{plural(len(results), 'step')} ok; report: {report.resolve()}")
    if keep_server and report.exists():
        from eokit.catalog.server import serve

        click.echo(f"serving {report.parent / 'catalog'} at http://127.0.0.1:{port} (Ctrl-C to stop)")
        serve(report.parent / "catalog", port=port, asset_roots=[report.parent / "data"])
    if failed:
        for r in failed:
            click.echo(f"  {r.name}: {r.status}: {r.message}", err=True)
        raise SystemExit(1)
