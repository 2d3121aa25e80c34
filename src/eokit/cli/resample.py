"""``eokit resample``: grid resampling (``eokit resample SRC GRID OUT`` and ``eokit resample shape``)."""

from __future__ import annotations

import logging
from typing import Any

import click

from eokit.cli._options import (
    Real,
    check_inputs,
    check_nodata,
    checked_output,
    progress_bar,
    scheduler_option,
    workers_option,
)

log = logging.getLogger(__name__)

TIFF = (".tif", ".tiff")
#: Mask values are raster values: an integer no raster type holds is a typo.
MASK_VALUE = click.IntRange(-(2**63), 2**64 - 1)


class _DefaultGroup(click.Group):
    """A group whose bare invocation (``resample SRC GRID OUT``) runs the ``run`` subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "SRC GRID OUT --resolution R C [OPTIONS] | shape ...")


def _bands(src: str, value: str | None) -> list[int] | None:
    """``--bands`` as 1-based numbers: each a number or a band name (description) of SRC."""
    if not value:
        return None
    from eokit.io.raster import band_number

    return [band_number(src, v, param="bands") for v in value.split(",") if v.strip()]


def _compile_kernels(interp: Any, src_dtype: str, work_dtype: str, interp_kwargs: dict[str, Any] | None) -> None:
    """Compile (or load from numba's cache) the run's kernels first; on the first run after an install
    (nothing cached) say so and show the kernels done so far."""
    import threading

    from tqdm.auto import tqdm

    from eokit.resample.warmup import kernels_cached, warm_up_steps

    steps = warm_up_steps(interp, src_dtype, work_dtype, interp_kwargs)
    # nothing cached: say so at once; cached: only if loading is unusually slow (another specialisation)
    delay = 3.0 if kernels_cached(interp) else 0.0
    done = threading.Event()
    state: dict[str, Any] = {"bar": None, "n": 0}
    lock = threading.Lock()

    def notice() -> None:
        if done.wait(delay):
            return
        with lock:
            state["bar"] = tqdm(
                total=len(steps), initial=state["n"], desc="compiling kernels (first run only)", unit="kernel",
                leave=False,
            )  # fmt: skip
        while not done.wait(0.5):
            state["bar"].refresh()  # the elapsed time keeps moving while a kernel compiles

    watcher = threading.Thread(target=notice, daemon=True)
    watcher.start()
    try:
        for _, step in steps:
            step()
            with lock:
                state["n"] += 1
                if state["bar"] is not None:
                    state["bar"].update(1)
    finally:
        done.set()
        watcher.join()
        if state["bar"] is not None:
            state["bar"].close()


@click.group(cls=_DefaultGroup)
def resample() -> None:
    """Resample an image through a grid of source coordinates (gridr-compatible).

    \b
    eokit resample SRC GRID OUT --resolution 10 10 --interp cubic
    eokit resample shape --grid GRID --resolution 10 10
    """


@resample.command("run")
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("grid", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False), callback=checked_output("file", TIFF))
@click.option("--resolution", nargs=2, type=int, required=True, metavar="R C", help="Output pixels per grid step.")
@click.option(
    "--interp",
    default="linear",
    show_default=True,
    type=click.Choice(
        ["nearest", "linear", "cubic", "lanczos3", "bspline3", "bspline5", "bspline7", "bspline9", "bspline11"]
    ),
    help="Interpolation kernel (B-splines use gridr's prefilter; see --epsilon).",
)
@click.option(
    "--epsilon",
    type=Real(min=0, max=1, min_open=True, max_open=True),
    default=1e-6,
    show_default=True,
    help="B-splines: precision of the truncated prefilter, 0 < EPSILON < 1 (sets the source margin each tile reads).",
)
@click.option(
    "--mask-influence-threshold",
    type=Real(min=0, max=1),
    default=0.001,
    show_default=True,
    help="B-splines: invalid source pixels invalidate coefficients they weigh more than this in, 0..1 (1 = no spread).",
)
@click.option("--grid-col", type=click.Path(dir_okay=False), help="Column-coordinate grid (GRID then holds rows).")
@click.option("--nodata", type=Real(allow_inf=True), default=0.0, show_default=True,
              help="Value of invalid output pixels (must fit --dtype).")  # fmt: skip
@click.option("--dtype", type=click.Choice(["float32", "float64"]), help="Output dtype (default float32).")
@click.option("--mask-out", type=click.Path(dir_okay=False), callback=checked_output("file", TIFF),
              help="Also write the output validity mask (1 valid; .tif).")  # fmt: skip
@click.option("--grid-mask", type=click.Path(dir_okay=False), help="Grid node validity raster.")
@click.option("--grid-mask-valid", type=MASK_VALUE, default=1, show_default=True, help="Valid value of --grid-mask.")
@click.option("--src-mask", type=click.Path(dir_okay=False), help="Source validity raster.")
@click.option(
    "--src-mask-validity",
    nargs=2,
    type=MASK_VALUE,
    metavar="VALID INVALID",
    help="Valid and invalid values of --src-mask.",
)
@click.option("--window", nargs=4, type=click.IntRange(0, 2**31 - 1), metavar="R0 R1 C0 C1",
              help="Inclusive output window.")  # fmt: skip
@click.option(
    "--src-nodata-valid",
    is_flag=True,
    help="Treat the source's nodata value (or alpha / internal mask) as data; by default it is invalid.",
)
@click.option(
    "--mask-src-nodata", is_flag=True, hidden=True, help="Deprecated: the source's nodata is invalid by default."
)
@click.option("--bands", help="Source bands, comma-separated: 1-based numbers or band names, e.g. 1,2,3 (default all).")
@click.option(
    "--boundary",
    type=click.Choice(["constant", "edge", "reflect", "symmetric", "wrap"]),
    help="Extend the source by the kernel margin with this numpy.pad mode (trusted).",
)
@click.option("--max-memory", default="512MB", show_default=True, help="Working-set budget that sizes the tiles.")
@workers_option
@scheduler_option
def run(
    src: str,
    grid: str,
    out: str,
    resolution: tuple[int, int],
    interp: str,
    epsilon: float,
    mask_influence_threshold: float,
    grid_col: str | None,
    nodata: float,
    dtype: str | None,
    mask_out: str | None,
    grid_mask: str | None,
    grid_mask_valid: int,
    src_mask: str | None,
    src_mask_validity: tuple[int, int] | None,
    window: tuple[int, int, int, int] | None,
    src_nodata_valid: bool,
    mask_src_nodata: bool,
    bands: str | None,
    boundary: str | None,
    max_memory: str,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Resample SRC through GRID into the tiled GeoTIFF OUT."""
    from eokit.resample.tool import output_shape, resample_file, run_dtypes

    if mask_src_nodata:
        log.warning(
            "--mask-src-nodata is deprecated: the source's nodata is invalid by default (see --src-nodata-valid)"
        )
    check_nodata(nodata, dtype or "float32")
    check_inputs({"src": src, "grid": grid, "grid_col": grid_col, "grid_mask": grid_mask, "src_mask": src_mask})
    interp_kwargs = None
    if interp.startswith("bspline"):
        interp_kwargs = {"epsilon": epsilon, "mask_influence_threshold": mask_influence_threshold}
    shape = output_shape(grid, resolution)
    total = (window[1] - window[0] + 1) * (window[3] - window[2] + 1) if window else shape[0] * shape[1]
    from eokit.resample.options import ResampleOptions

    options = ResampleOptions.create(
        interp,
        interp_kwargs,
        nodata=nodata,
        boundary_condition=boundary,
        trust_padding=boundary is not None,
        src_nodata_valid=src_nodata_valid,
        max_memory=max_memory,
        workers=workers or None,
        scheduler=scheduler,
    )
    kwargs: dict[str, Any] = dict(
        resolution=resolution,
        options=options,
        grid_col=grid_col,
        bands=_bands(src, bands),
        dtype=dtype,
        mask_out=mask_out,
        grid_mask=grid_mask,
        grid_mask_valid=grid_mask_valid,
        src_mask=src_mask,
        src_mask_validity=src_mask_validity or None,
        window=window or None,
    )
    _compile_kernels(options.interp, *run_dtypes(src, kwargs["bands"], dtype), None)
    with progress_bar(total, "resample") as bar:
        path = resample_file(src, grid, out, progress=bar, **kwargs)
    click.echo(str(path))


@resample.command("shape")
@click.option("--grid", required=True, type=click.Path(dir_okay=False), help="Grid raster.")
@click.option("--resolution", nargs=2, type=int, required=True, metavar="R C", help="Output pixels per grid step.")
def shape(grid: str, resolution: tuple[int, int]) -> None:
    """Print the full-resolution output shape (rows cols) of GRID."""
    from eokit.resample.tool import output_shape

    check_inputs({"grid": grid})
    rows, cols = output_shape(grid, resolution)
    click.echo(f"{rows} {cols}")
