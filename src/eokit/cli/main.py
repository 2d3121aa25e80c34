"""The ``eokit`` entry point.

Command families live in their own modules and are imported only when used,
so ``eokit --help`` stays fast. Every :class:`~eokit.errors.EokitError` is
turned into one line on stderr and a non-zero exit code here, in one place;
``-v`` shows the traceback too.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from eokit import __version__
from eokit.errors import EokitError

# name -> (module, attribute). A family appears once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "hub": ("eokit.cli.hub", "hub"),
    "catalog": ("eokit.cli.catalog", "catalog"),
    "serve": ("eokit.cli.serve", "serve"),
    "algo": ("eokit.cli.algo", "algo"),
    "resample": ("eokit.cli.resample", "resample"),
    "urban": ("eokit.cli.urban", "urban"),
    "demo": ("eokit.cli.demo", "demo"),
}

EXIT_EOKIT_ERROR = 2


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        present = [n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod) is not None]
        return sorted(set(present) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None or importlib.util.find_spec(target[0]) is None:
            return None
        return getattr(importlib.import_module(target[0]), target[1])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EokitError as exc:
            verbose = (ctx.obj or {}).get("verbosity", 0) > 0
            if verbose:
                import traceback

                traceback.print_exc()
            click.echo(f"eokit: error: {exc}", err=True)
            ctx.exit(EXIT_EOKIT_ERROR)


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    level = min(max(level, logging.DEBUG), logging.CRITICAL)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("eokit")
    root.handlers = [h for h in root.handlers if isinstance(h, logging.NullHandler)] + [handler]
    root.setLevel(level)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="eokit")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug); also show tracebacks.")
@click.option("-q", "--quiet", count=True, help="Less logging (-q errors only).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """eokit — search, catalogue, process and summarise Earth-observation data.

    \b
    Command families:
      hub       search and download from CDSE, Sentinel data hubs (DHuS) and STAC APIs
      catalog   crawl rasters and point clouds into valid STAC; validate it
      serve     serve a STAC catalog as a STAC API
      algo      Earth Engine image algorithms on local rasters
      resample  resample images through (coarse) coordinate grids
      urban     degree of urbanisation, zonal statistics, travel time, reviews
      demo      run every capability end to end on built-in data

    Run `eokit COMMAND --help` for each command's options.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbosity"] = verbose - quiet
    _configure_logging(verbose - quiet)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="eokit")
