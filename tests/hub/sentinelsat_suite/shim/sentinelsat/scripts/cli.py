"""sentinelsat's ``sentinelsat`` command, served by ``eokit hub search`` (DHuS mode, apihub URL by default).

Like sentinelsat's CLI, it builds its client from ``sentinelsat.SentinelAPI``, so the
tests' ``monkeypatch.setattr("sentinelsat.SentinelAPI.download_all", ...)`` applies.
A failure is printed by eokit's CLI formatter (the one ``eokit: error: WHAT: PROBLEM``
line users see) and then propagates, as sentinelsat's command lets its exceptions
propagate (its tests check their type).
"""

import unittest.mock

import click

import eokit.hub.api
import sentinelsat
from eokit.cli._errors import report
from eokit.cli.hub import search


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def cli(ctx):
    args = list(ctx.args)
    if "--url" not in args:
        args = ["--url", "https://apihub.copernicus.eu/apihub/", *args]
    if "--provider" not in args:
        args = ["--provider", "dhus", *args]
    with unittest.mock.patch.object(eokit.hub.api, "SentinelAPI", sentinelsat.SentinelAPI):
        try:
            return search.main(args, prog_name="eokit hub search", standalone_mode=False)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            report(exc, verbose=False)
            raise
