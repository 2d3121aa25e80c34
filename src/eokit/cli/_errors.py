"""Turn any failure into one line ``eokit: error: WHAT: PROBLEM[; what to do]`` and an exit code.

The entry point (:mod:`eokit.cli.main`) calls :func:`describe` for every
exception that escapes a command. ``WHAT`` names what the user typed: the
option (``--out``) and its value where the failure is about a file, never a
library parameter name (``grid_resolution``) or a temporary file name.

Exit codes (documented in the README and in ``eokit --help``):

====  ==========================================================================
0     success
1     the run failed: reading or writing data, disk full, a library error
2     command-line usage: unknown command or option, missing argument (click's)
3     invalid input or option value: a file that is missing or unusable, a value
      out of range, an output that cannot be written
4     a remote service failed or refused (HTTP error, network, credentials)
130   interrupted (Ctrl-C, SIGINT)
143   terminated (SIGTERM)
====  ==========================================================================
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import sys
import traceback
from collections.abc import Iterator
from types import TracebackType

import click

from eokit.errors import (
    DataIOError,
    EokitError,
    InputNotFoundError,
    InvalidInputError,
    MissingDependencyError,
    OutputError,
    ProviderError,
    UnreadableInputError,
)
from eokit.io.atomic import final_name

__all__ = [
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_REMOTE",
    "EXIT_RUNTIME",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "EXIT_CODES_HELP",
    "Failure",
    "Terminated",
    "describe",
]

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_REMOTE = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 the run failed (data, disk, library); 2 usage (unknown option, missing "
    "argument); 3 invalid input or option value; 4 remote service error; 130 interrupted (Ctrl-C); "
    "143 terminated (SIGTERM). Errors are one line on stderr; -v adds the traceback."
)


class Terminated(BaseException):
    """Raised in the main thread by the CLI's SIGTERM handler, so ``finally`` blocks clean up."""


@dataclasses.dataclass(frozen=True)
class Failure:
    """One failure, ready to print: ``eokit: error: {what}: {problem}[; {hint}]``."""

    problem: str
    code: int
    what: str = ""
    hint: str = ""

    def line(self) -> str:
        """The one line shown on stderr."""
        text = f"{self.what}: {self.problem}" if self.what else self.problem
        if self.hint:
            text = f"{text}; {self.hint}"
        return "eokit: error: " + " ".join(text.split())  # one line, whatever the library put in


# errno -> (problem, hint, exit code)
_OS_ERRORS: dict[int, tuple[str, str, int]] = {
    errno.ENOENT: ("no such file or folder", "check the path", EXIT_INPUT),
    errno.EACCES: ("permission denied", "choose a path you may write to (or read)", EXIT_INPUT),
    errno.EPERM: ("operation not permitted", "choose another path", EXIT_INPUT),
    errno.EISDIR: ("is a folder, a file is expected", "give a file name", EXIT_INPUT),
    errno.ENOTDIR: ("a part of the path is not a folder", "check the path", EXIT_INPUT),
    errno.EROFS: ("read-only file system", "write somewhere else", EXIT_INPUT),
    errno.EEXIST: ("already exists", "remove it or choose another name", EXIT_INPUT),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter name", EXIT_INPUT),
    errno.ENOSPC: ("no space left on the device", "free some space or write somewhere else", EXIT_RUNTIME),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write somewhere else", EXIT_RUNTIME),
    errno.EFBIG: ("file too large for the file system", "write somewhere else", EXIT_RUNTIME),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or lower --workers", EXIT_RUNTIME),
    errno.EIO: ("input/output error from the device", "check the disk", EXIT_RUNTIME),
    errno.EADDRINUSE: ("address already in use", "choose another --port", EXIT_INPUT),
    errno.ECONNREFUSED: ("connection refused", "check that the server runs and the URL", EXIT_REMOTE),
}


def _leaf_context(tb: TracebackType | None) -> click.Context | None:
    """The innermost click context on the traceback (the command that was running)."""
    found = None
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx") or tb.tb_frame.f_locals.get("sub_ctx")
        if isinstance(ctx, click.Context):
            found = ctx
        tb = tb.tb_next
    return found


def _contexts(ctx: click.Context | None) -> Iterator[click.Context]:
    while ctx is not None:
        yield ctx
        ctx = ctx.parent


def _option_label(param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        return (param.metavar or param.name or "").upper()
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else (param.opts[0] if param.opts else str(param.name))


def option_for(name: str | None, ctx: click.Context | None) -> str | None:
    """The option the user typed for the library parameter ``name`` (``"resolution"`` -> ``--resolution``)."""
    if not name:
        return None
    wanted = {name, name.replace("-", "_")}
    for c in _contexts(ctx):
        for p in c.command.params:
            if p.name in wanted or any(o.lstrip("-").replace("-", "_") in wanted for o in p.opts):
                return _option_label(p)
    return None


def _looks_like_path(value: str) -> bool:
    """A file or folder name, not a band name (``B04``), a number or a ``KEY=VALUE`` pair.

    >>> [_looks_like_path(v) for v in ("data/x.tif", "x.tif", "B04", "L=0.5", "0.5", "EPSG:4326")]
    [True, True, False, False, False, False]
    """
    if os.sep in value or os.path.exists(value):
        return True
    suffix = os.path.splitext(value)[1][1:]
    return bool(suffix) and not suffix.isdigit() and "=" not in value


def _path_values(ctx: click.Context | None) -> list[tuple[str, str]]:
    """(label, value) of every parameter holding something path-like, innermost command first."""
    out: list[tuple[str, str]] = []
    for c in _contexts(ctx):
        by_name = {p.name: p for p in c.command.params}
        for name, value in c.params.items():
            values = value if isinstance(value, list | tuple) else [value]
            for v in values:
                if isinstance(v, str | os.PathLike) and _looks_like_path(os.fspath(v)) and name in by_name:
                    out.append((_option_label(by_name[name]), os.fspath(v)))
    return out


def _which_option(filename: str | None, ctx: click.Context | None) -> tuple[str, str]:
    """(option, path shown) for a file named in an error: the option whose value is, or holds, that file."""
    if not filename:
        return "", ""
    shown = final_name(filename)
    target = os.path.abspath(shown)
    values = [(label, os.path.abspath(value)) for label, value in _path_values(ctx)]
    for label, v in values:
        if v == target:
            return label, shown
    for label, v in values:  # the file at fault is a folder on the way to the option's file (a file as a folder)
        if v.startswith(target.rstrip(os.sep) + os.sep):
            return label, shown
    for label, v in values:
        if target.startswith(v.rstrip(os.sep) + os.sep) or os.path.dirname(v) == os.path.dirname(target):
            return label, shown
    return "", shown


def _what(option: str, path: str) -> str:
    return f"{option} {path}" if option and path else option or path


def _mentioned(text: str, ctx: click.Context | None) -> tuple[str, str]:
    """(option, value) of a path parameter whose value appears in a library message."""
    for label, value in _path_values(ctx):
        if len(value) > 1 and (value in text or (os.path.basename(value) in text and "/" not in value)):
            return label, value
    return "", ""


def _in_frames(exc: BaseException, ctx: click.Context | None) -> tuple[str, str]:
    """(option, value) of a path option whose file was open where ``exc`` was raised (innermost frame first).

    A JSON decode error or a laspy error does not say which file it read; the
    frames that read it hold the path in a local variable.
    """
    wanted = {os.path.abspath(v): (label, v) for label, v in _path_values(ctx) if os.path.exists(v)}
    if not wanted:
        return "", ""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for local in frame.f_locals.values():
            if isinstance(local, str | os.PathLike) and not isinstance(local, bytes):
                hit = wanted.get(os.path.abspath(os.fspath(local)))
                if hit:
                    return hit
    return "", ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if text else text


def _eokit(exc: EokitError, ctx: click.Context | None) -> Failure:
    option = option_for(exc.param, ctx) or (exc.param or "")
    path = final_name(exc.path) if exc.path else ""
    if path and not exc.param:
        option = _which_option(path, ctx)[0]
    if isinstance(exc, ProviderError):
        code = EXIT_REMOTE
    elif isinstance(
        exc, InvalidInputError | InputNotFoundError | UnreadableInputError | OutputError | MissingDependencyError
    ):
        code = EXIT_INPUT
    elif isinstance(exc, DataIOError) and isinstance(exc.__cause__, OSError) and exc.__cause__.errno in _OS_ERRORS:
        code = _OS_ERRORS[exc.__cause__.errno][2]
    else:
        code = EXIT_RUNTIME
    message = exc.message if hasattr(exc, "message") and (exc.path or exc.param) else str(exc)
    return Failure(message, code, _what(option, path))


def _click(exc: click.ClickException) -> Failure:
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter):
        what = ""
        if exc.param is not None:
            what = _option_label(exc.param)
        elif exc.param_hint:
            what = exc.param_hint if isinstance(exc.param_hint, str) else " / ".join(exc.param_hint)
        return Failure(exc.message.rstrip("."), EXIT_INPUT, what.strip("'\""))
    if isinstance(exc, click.UsageError):
        hint = ""
        if exc.ctx is not None:
            hint = f"see '{exc.ctx.command_path} --help'"
        return Failure(exc.format_message().rstrip("."), EXIT_USAGE, hint=hint)
    return Failure(exc.format_message(), exc.exit_code or EXIT_RUNTIME)


# What GDAL/libtiff say when the operating system refused (their errors carry no errno).
_OS_PHRASES = {
    "no space left on device": errno.ENOSPC,
    "file too large": errno.EFBIG,
    "disk quota exceeded": errno.EDQUOT,
    "read-only file system": errno.EROFS,
    "permission denied": errno.EACCES,
    "is a directory": errno.EISDIR,
}


def _chain(exc: BaseException) -> list[str]:
    """The first lines of ``exc`` and of the exceptions it was raised from, outermost first."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8:
        line = _first_line(current)
        if line not in seen:
            seen.append(line)
        current = current.__cause__ or current.__context__
    return seen


def _out_option(ctx: click.Context | None) -> tuple[str, str]:
    return next(((label, value) for label, value in _path_values(ctx) if label in ("--out", "-o")), ("", ""))


def _raster(exc: BaseException, ctx: click.Context | None) -> Failure:
    lines = _chain(exc)
    text = "; ".join(lines)
    lowered = text.lower()
    writing = "write" in lowered or "creat" in lowered
    option, value = _mentioned(text, ctx)
    if not option:
        option, value = _out_option(ctx) if writing else _in_frames(exc, ctx)
    what = _what(option, value) if option else ("raster/vector output" if writing else "raster/vector input")
    for phrase, err in _OS_PHRASES.items():
        if phrase in lowered:
            problem, hint, code = _OS_ERRORS[err]
            return Failure(problem, code, what, hint)
    detail = lines[-1]
    if value:
        detail = detail.replace(f"'{value}' ", "").replace(value, os.path.basename(value)).strip(" :")
    if writing:
        return Failure(f"cannot write it ({detail})", EXIT_RUNTIME, what)
    code = EXIT_INPUT if option else EXIT_RUNTIME  # the user's file is at fault, else the run
    return Failure(f"not a readable raster or vector file ({detail})", code, what, "check it is complete")


def _without_credentials(url: str) -> str:
    """``url`` without user, password and query (tokens live there).

    >>> _without_credentials("https://user:secret@hub.example/odata/v1/Products?token=abc")
    'https://hub.example/odata/v1/Products'
    """
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _library(exc: BaseException, ctx: click.Context | None) -> Failure | None:
    module = type(exc).__module__.split(".")[0]
    text = _first_line(exc)
    option, value = _mentioned(text, ctx)
    if module in ("rasterio", "fiona", "pyogrio", "osgeo"):
        return _raster(exc, ctx)
    if module == "laspy":
        option, value = (option, value) if option else _in_frames(exc, ctx)
        code = EXIT_INPUT if option else EXIT_RUNTIME
        return Failure(f"cannot read the point cloud ({text})", code, _what(option, value) or "LAS/LAZ input")
    if module in ("requests", "urllib3", "http", "urllib"):
        url = getattr(getattr(exc, "request", None), "url", None) or getattr(exc, "url", None)
        reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)  # urllib3 wraps the OS error several times
        detail = reason.group(1).strip() if reason else re.sub(r"\?\S*|//[^/@\s]+@", "", text)  # no tokens
        return Failure(
            f"network request failed ({detail})",
            EXIT_REMOTE,
            _without_credentials(url) if isinstance(url, str) else "",
            "check the URL and your connection",
        )
    if module == "pyproj":
        return Failure(f"invalid or unsupported coordinate reference system ({text})", EXIT_INPUT, option)
    if module == "pandas" and type(exc).__name__ in ("EmptyDataError", "ParserError"):
        option, value = (option, value) if option else _in_frames(exc, ctx)
        return Failure(f"not a readable table ({text})", EXIT_INPUT if option else EXIT_RUNTIME, _what(option, value))
    if module == "numexpr" or (module == "builtins" and isinstance(exc, SyntaxError)):
        return Failure(f"invalid expression ({text})", EXIT_INPUT, option)
    return None


def describe(exc: BaseException, ctx: click.Context | None = None) -> Failure:
    """The one-line :class:`Failure` for ``exc``; ``ctx`` (else the traceback's innermost) names the options."""
    ctx = _leaf_context(exc.__traceback__) or ctx
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", EXIT_INTERRUPTED)
    if isinstance(exc, Terminated):
        return Failure("terminated", EXIT_TERMINATED)
    if isinstance(exc, click.Abort):  # Ctrl-C or end of input at a prompt
        interrupted = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
        return Failure("interrupted", EXIT_INTERRUPTED) if interrupted else Failure("aborted", EXIT_RUNTIME)
    if isinstance(exc, EokitError):
        return _eokit(exc, ctx)
    if isinstance(exc, click.ClickException):
        return _click(exc)
    found = _library(exc, ctx)
    if found is not None:
        return found
    if isinstance(exc, MemoryError):
        return Failure("out of memory", EXIT_RUNTIME, hint="lower --max-memory or --workers, or process a smaller area")
    if isinstance(exc, UnicodeDecodeError):
        what = _what(*_in_frames(exc, ctx))
        return Failure(f"not a text file (not {exc.encoding} at byte {exc.start})", EXIT_INPUT, what)
    if isinstance(exc, json.JSONDecodeError):
        what = _what(*_in_frames(exc, ctx))
        return Failure(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", EXIT_INPUT, what)
    if isinstance(exc, OSError):
        option, shown = _which_option(exc.filename, ctx)
        problem, hint, code = _OS_ERRORS.get(exc.errno or -1, (exc.strerror or _first_line(exc), "", EXIT_RUNTIME))
        return Failure(problem, code, _what(option, shown), hint)
    return Failure(
        f"unexpected {type(exc).__name__}: {_first_line(exc)}",
        EXIT_RUNTIME,
        _what(*_in_frames(exc, ctx)),
        hint="rerun with -v for the traceback and report it",
    )


def report(exc: BaseException, *, verbose: bool, ctx: click.Context | None = None) -> int:
    """Print ``exc`` as one line (and the traceback when ``verbose``); return the exit code."""
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
    if isinstance(exc, no_args) and isinstance(exc, click.UsageError) and exc.ctx is not None:
        click.echo(exc.ctx.get_help())  # `eokit` or `eokit algo` alone: the help, as click shows it
        return EXIT_USAGE
    if isinstance(exc, BrokenPipeError):  # `eokit ... | head`: the reader has what it wanted; no message
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        except (OSError, ValueError):
            pass
        return EXIT_RUNTIME
    failure = describe(exc, ctx)
    if verbose and not isinstance(exc, KeyboardInterrupt | Terminated | click.UsageError):
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(failure.line(), err=True)
    return failure.code


def verbosity_from_argv(args: list[str]) -> int:
    """-v/-q given before the command, for failures that happen before the group's callback ran."""
    level = 0
    for a in args:
        if not a.startswith("-") or (a.startswith("--") and a not in ("--verbose", "--quiet")):
            break
        if a == "--verbose":
            level += 1
        elif a == "--quiet":
            level -= 1
        elif not a.startswith("--"):
            level += a.count("v") - a.count("q")
    return level
