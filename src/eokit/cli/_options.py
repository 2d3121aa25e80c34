"""Options and helpers every command family shares, so flags mean the same everywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

F = Callable[..., Any]


def out_option(required: bool = True, help: str = "Output file or folder.") -> Callable[[F], F]:
    """``--out PATH``."""
    return click.option("--out", "-o", "out", type=click.Path(), required=required, help=help)


def workers_option(f: F) -> F:
    """``--workers N`` (0 = one per core)."""
    return click.option(
        "--workers", type=click.IntRange(min=0), default=None, help="Parallel workers (default: one per CPU core)."
    )(f)


def scheduler_option(f: F) -> F:
    """``--scheduler threads|processes|synchronous|local|tcp://HOST:PORT``."""
    return click.option(
        "--scheduler",
        default=None,
        metavar="NAME",
        help="Where block work runs: threads (default), processes, synchronous, local (a Dask "
        "LocalCluster) or tcp://HOST:PORT (a running Dask scheduler).",
    )(f)


@contextmanager
def progress_bar(total: float | None, desc: str, unit: str = "px") -> Iterator[Callable[[float], None]]:
    """A tqdm bar on stderr, as a ``progress(n)`` callable the library accepts.

    Hidden when stderr is not a terminal, unless the total is known and large.
    """
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False, disable=None) as bar:
        yield bar.update
