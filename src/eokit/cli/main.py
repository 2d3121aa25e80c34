"""The ``eokit`` entry point.

Command families live in their own modules and are imported only when used,
so ``eokit --help`` stays fast. Every failure — an :class:`~eokit.errors.EokitError`,
an OS error, a bad option value, a library error, Ctrl-C — becomes one line
``eokit: error: WHAT: PROBLEM[; what to do]`` on stderr and a documented exit
code here, in one place (:mod:`eokit.cli._errors`); ``-v`` shows the traceback too.
"""

from __future__ import annotations

import errno
import functools
import importlib
import importlib.util
import os
import signal
import sys
import threading
import time
from typing import Any

import click

from eokit import __version__
from eokit.cli._errors import (
    EXIT_CODES_HELP,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    report,
    verbosity_from_argv,
)
from eokit.cli._logging import configure_logging
from eokit.errors import InvalidInputError

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

EXIT_EOKIT_ERROR = EXIT_INPUT  # the old name, for callers that imported it


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use, and where every failure becomes one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        present = [n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod) is not None]
        return sorted(set(present) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None or importlib.util.find_spec(target[0]) is None:
            return None
        command: click.Command = getattr(importlib.import_module(target[0]), target[1])
        _check_port_before_listening(command)
        _check_out_is_no_input(command)
        return command

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException as exc:  # a usage error before any command ran
            raise click.exceptions.Exit(report(exc, verbose=verbosity_from_argv(args) > 0)) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, SystemExit):
            raise
        except BaseException as exc:  # every failure becomes one line and an exit code
            verbosity = (ctx.obj or {}).get("verbosity", verbosity_from_argv(sys.argv[1:]))
            raise click.exceptions.Exit(report(exc, verbose=verbosity > 0, ctx=ctx)) from None


def _check_port_before_listening(command: click.Command) -> None:
    """A command that listens (``--host`` and ``--port``) checks the port is free before it prints or starts."""
    names = {p.name for p in command.params}
    callback = command.callback
    if not {"host", "port"} <= names or callback is None or getattr(callback, "_eokit_port_checked", False):
        return

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        ensure_port_free(kwargs["host"], kwargs["port"])
        return callback(*args, **kwargs)

    checked._eokit_port_checked = True  # type: ignore[attr-defined]
    command.callback = checked


def _check_out_is_no_input(command: click.Command) -> None:
    """Every command refuses ``--out`` (or OUT) naming one of its own input files, before it starts:
    the atomic rename at the end would replace the input with the result."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _check_out_is_no_input(sub)
        return
    callback = command.callback
    if callback is None or "out" not in {p.name for p in command.params}:
        return
    if getattr(callback, "_eokit_out_checked", False):
        return

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        if isinstance(out, str) and os.path.isfile(out):
            for name, value in kwargs.items():
                values = value if isinstance(value, list | tuple) else [value]
                for v in values:
                    if name != "out" and isinstance(v, str) and os.path.isfile(v) and os.path.samefile(v, out):
                        raise InvalidInputError(
                            f"{out} is also an input of this command; write the result to another file", param="out"
                        )
        return callback(*args, **kwargs)

    checked._eokit_out_checked = True  # type: ignore[attr-defined]
    command.callback = checked


def ensure_port_free(host: str, port: int) -> None:
    """Raise :class:`~eokit.errors.InvalidInputError` (``param="port"``) if ``host:port`` cannot be bound."""
    import socket

    if not port:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise InvalidInputError(f"cannot resolve {host!r} ({exc.strerror or exc})", param="host") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InvalidInputError(
                    f"{host}:{port} is already in use by another program; choose another --port", param="port"
                ) from None
            raise InvalidInputError(f"cannot listen on {host}:{port} ({exc.strerror or exc})", param="host") from None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, "--version", prog_name="eokit")
@click.option(
    "-v", "--verbose", count=True, help="More output: -v shows library warnings, info and tracebacks; -vv debug."
)
@click.option("-q", "--quiet", count=True, help="Only errors: no warnings, no progress bars.")
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
    configure_logging(verbose - quiet)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _join_worker_threads(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds in all for the non-daemon threads still running; True if they all ended."""
    deadline = time.monotonic() + timeout
    workers = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in workers:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in workers)


def main() -> None:
    """Console-script entry point (also ``python -m eokit``).

    Ctrl-C exits with 130 and SIGTERM with 143, after the running command's
    ``finally`` blocks removed its temporary files.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        cli.main(prog_name="eokit")
    except SystemExit as exc:
        if exc.code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            # worker threads get a moment to finish what they hold (a download writes the bytes it has
            # received), but an interrupted computation must not keep the process alive
            if _join_worker_threads(timeout=5.0):
                raise  # all finished: a normal exit closes files and connections in order
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(exc.code))
        raise
