"""Options and helpers every command family shares, so flags mean the same everywhere.

``--out`` is checked when the command line is parsed, before any work starts:
the nearest existing folder must be writable, a file output must not be an
existing folder, and its extension must be one the command writes.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import click

F = Callable[..., Any]

__all__ = [
    "MAX_WORKERS",
    "UNKNOWN_TOTAL",
    "Real",
    "check_crs",
    "check_inputs",
    "check_nodata",
    "check_output_path",
    "checked_output",
    "deprecated_alias",
    "out_option",
    "progress_bar",
    "scheduler_option",
    "workers_option",
]

#: Pass as ``progress_bar(total=UNKNOWN_TOTAL, ...)`` when the amount of work cannot be known in advance.
UNKNOWN_TOTAL = None

#: More workers than this is a typo (``--workers 10000000``), not a machine.
MAX_WORKERS = 1024


class Real(click.FloatRange):
    """A float option that refuses NaN, and infinity unless ``allow_inf``; optionally within a range.

    click's ``FLOAT`` and ``FloatRange`` accept ``nan`` (every comparison with it
    is false), so ``--radius nan`` would reach the library.

    >>> Real(min=0, min_open=True).convert("2.5", None, None)
    2.5
    >>> Real(min=0, min_open=True).convert("nan", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 'nan' is not a finite number
    """

    def __init__(
        self,
        min: float | None = None,
        max: float | None = None,
        *,
        min_open: bool = False,
        max_open: bool = False,
        allow_inf: bool = False,
    ) -> None:
        super().__init__(min, max, min_open=min_open, max_open=max_open, clamp=False)
        self.allow_inf = allow_inf

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if math.isnan(number) or (math.isinf(number) and not self.allow_inf):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


def check_nodata(value: float | None, dtype: str, *, param: str = "nodata") -> None:
    """Refuse a nodata value the output's ``dtype`` cannot hold (``--nodata 1e308`` for float32).

    >>> check_nodata(float("nan"), "float32")
    >>> check_nodata(1e308, "float32")
    Traceback (most recent call last):
    ...
    eokit.errors.InvalidInputError: nodata: 1e+308 does not fit the float32 output (-3.40282e+38..3.40282e+38)
    """
    import numpy as np

    from eokit.errors import InvalidInputError

    if value is None or math.isnan(value) or math.isinf(value):
        return
    info = np.finfo(dtype) if np.dtype(dtype).kind == "f" else np.iinfo(dtype)
    if not (float(info.min) <= value <= float(info.max)):
        raise InvalidInputError(
            f"{value:g} does not fit the {dtype} output ({float(info.min):g}..{float(info.max):g})", param=param
        )


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_path(
    value: str | os.PathLike[str],
    *,
    kind: Literal["file", "folder", "any"] = "any",
    extensions: Sequence[str] = (),
) -> str | None:
    """The problem with writing to ``value`` (None if there is none); the file system is probed, not modified.

    >>> check_output_path("/tmp/x.png", kind="file", extensions=(".tif", ".tiff"))
    "unknown extension '.png': this command writes .tif or .tiff"
    >>> check_output_path(tempfile.gettempdir(), kind="file")
    'is an existing folder; give a file name'
    """
    path = Path(value)
    if kind == "file":
        if path.is_dir():
            return "is an existing folder; give a file name"
        if extensions and path.suffix.lower() not in {e.lower() for e in extensions}:
            known = " or ".join(extensions)
            shown = f"extension {path.suffix!r}" if path.suffix else "no extension"
            return f"unknown {shown}: this command writes {known}"
    if kind == "folder" and path.exists() and not path.is_dir():
        return "is an existing file; give a folder"
    anchor = _nearest_existing(path if kind == "folder" else path.parent)
    if not anchor.is_dir():
        return f"{anchor} is not a folder"
    try:  # os.access says yes to root on read-only mounts and /proc; a probe file does not lie
        fd, probe = tempfile.mkstemp(prefix=".eokit-probe-", dir=anchor)
    except OSError as exc:
        return f"cannot write in {anchor} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None


def checked_output(
    kind: Literal["file", "folder", "any"] = "file", extensions: Sequence[str] = ()
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that checks an output path other than ``--out`` (``--level1``, ``--mask-out``, OUT)
    as :func:`out_option` checks ``--out``: before any work starts."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or ctx.resilient_parsing:
            return value
        problem = check_output_path(value, kind=kind, extensions=extensions)
        if problem:
            raise click.BadParameter(f"{value}: {problem}", ctx=ctx, param=param)
        return value

    return callback


def out_option(
    required: bool = True,
    help: str = "Output file or folder.",
    *,
    kind: Literal["file", "folder", "any"] = "any",
    extensions: Sequence[str] = (),
    deprecated: Sequence[str] = (),
) -> Callable[[F], F]:
    """``-o/--out PATH``, checked before the command runs.

    Parameters
    ----------
    kind
        ``"file"`` (must not be an existing folder), ``"folder"`` (must not be an
        existing file) or ``"any"`` (only the writable-folder check).
    extensions
        For a file: the suffixes the command can write (``(".tif", ".tiff")``);
        any other is refused, so ``--out x.png`` never silently writes a GeoTIFF.
    deprecated
        Old spellings (``"--out-dir"``) accepted as hidden aliases with a warning.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            value = ctx.params.get("out")  # given through a deprecated alias (eager, so already parsed)
        if value is None and required and not ctx.resilient_parsing:
            raise click.MissingParameter(ctx=ctx, param=param)
        return check(ctx, param, value)

    check = checked_output(kind, extensions)

    def decorate(f: F) -> F:
        for old in deprecated:
            f = deprecated_alias(old, "out", "--out")(f)
        return click.option(
            "--out",
            "-o",
            "out",
            type=click.Path(),
            required=False,  # checked in the callback, so a deprecated alias can stand in
            help=help + ("  [required]" if required else ""),
            callback=callback,
        )(f)

    return decorate


def deprecated_alias(old: str, dest: str, new: str) -> Callable[[F], F]:
    """A hidden option ``old`` that sets ``dest`` like ``new`` does, with a deprecation warning.

    The command receives the value under ``dest`` (the alias is eager, so it is
    parsed first; ``new`` wins when both are given). ``new`` must not be
    click-``required``: check for a missing value in its callback, as
    :func:`out_option` does.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            import logging

            logging.getLogger("eokit.cli").warning(
                "%s is deprecated and will be removed in the next release; use %s", old, new
            )
            if ctx.params.get(dest) is None:
                ctx.params[dest] = value
        return None

    def decorate(f: F) -> F:
        hidden = "_deprecated_" + old.lstrip("-").replace("-", "_")
        f = click.option(old, hidden, default=None, hidden=True, expose_value=False, is_eager=True, callback=callback)(
            f
        )
        return f

    return decorate


def check_inputs(rasters: dict[str, Any], vectors: dict[str, Any] | None = None) -> None:
    """Open every input (``{param: path or paths}``) before any output is written, so that a missing or
    wrong file is refused with its option named and leaves nothing behind."""
    import pyogrio

    from eokit.errors import EokitError, InputNotFoundError, UnreadableInputError
    from eokit.io.raster import open_raster

    def each(value: Any) -> list[str]:
        values = value if isinstance(value, list | tuple) else [value]
        return [str(v) for v in values if v]

    for param, value in rasters.items():
        for path in each(value):
            try:
                with open_raster(path):
                    pass
            except EokitError as exc:
                exc.param = param
                raise
    for param, value in (vectors or {}).items():
        for path in each(value):
            if not os.path.exists(path):
                raise InputNotFoundError("no such file", path=path, param=param)
            try:
                pyogrio.read_info(path)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                raise UnreadableInputError(f"not a readable vector file ({exc})", path=path, param=param) from None


def check_crs(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: the value must be a coordinate reference system pyproj knows (EPSG:4326, WKT, PROJ)."""
    if value is None or ctx.resilient_parsing:
        return value
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown"
        raise click.BadParameter(f"{value}: not a coordinate reference system ({detail})", ctx, param) from None
    return value


_SCHEDULERS = ("threads", "processes", "synchronous", "local")


def _scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or ctx.resilient_parsing or value in _SCHEDULERS or "://" in value:
        return value
    raise click.BadParameter(
        f"unknown scheduler {value!r}: use {', '.join(_SCHEDULERS)} or tcp://HOST:PORT", ctx, param
    )


def workers_option(f: F) -> F:
    """``--workers N`` (0 = one per core)."""
    return click.option(
        "--workers",
        type=click.IntRange(min=0, max=MAX_WORKERS),
        default=None,
        help="Parallel workers (default and 0: one per CPU core).",
    )(f)


def scheduler_option(f: F) -> F:
    """``--scheduler threads|processes|synchronous|local|tcp://HOST:PORT``."""
    return click.option(
        "--scheduler",
        default=None,
        metavar="NAME",
        callback=_scheduler,
        help="Where block work runs: threads (default), processes, synchronous, local (a Dask "
        "LocalCluster) or tcp://HOST:PORT (a running Dask scheduler).",
    )(f)


class _Progress:
    """The ``progress(n)`` callable a library accepts; ``progress.total = N`` once the total is known."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def __call__(self, n: float = 1) -> None:
        self._bar.update(n)

    @property
    def total(self) -> float | None:
        total: float | None = self._bar.total
        return total

    @total.setter
    def total(self, value: float | None) -> None:
        self._bar.total = value
        self._bar.refresh()


@contextmanager
def progress_bar(total: float | None, desc: str, unit: str = "px") -> Iterator[_Progress]:
    """A tqdm bar on stderr with a total and an ETA, as a ``progress(n)`` callable the library accepts.

    ``total`` is required: the amount of work, or :data:`UNKNOWN_TOTAL` when it
    cannot be known (the bar then shows a count and a rate; a library that
    learns the total later sets ``progress.total``). Hidden when stderr is not a
    terminal and with ``-q``.

    >>> with progress_bar(3, "demo", unit="file") as progress:
    ...     for _ in range(3):
    ...         progress(1)
    """
    from tqdm.auto import tqdm

    from eokit.cli._logging import verbosity

    disable = True if verbosity() < 0 else None  # None: tqdm hides itself when stderr is not a terminal
    fmt = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}]"
    with tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit in ("px", "B", "byte", "bytes"),  # 1.2M px; plain counts stay 3/7
        leave=False,
        disable=disable,
        bar_format=fmt if total else None,
        dynamic_ncols=True,
    ) as bar:
        yield _Progress(bar)
