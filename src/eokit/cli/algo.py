"""``eokit algo``: Earth Engine image algorithms on local rasters (argument parsing only)."""

from __future__ import annotations

import json
from typing import Any

import click

from eokit.cli._options import Real, check_crs, check_nodata, out_option, progress_bar, scheduler_option, workers_option

ROLE_OPTIONS = (
    "aerosol",
    "blue",
    "green",
    "red",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir",
    "nir2",
    "swir1",
    "swir2",
    "thermal",
)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"{v!r} is not NAME=VALUE", param_hint=what)
        k, _, val = v.partition("=")
        out[k.strip()] = val.strip()
    return out


def _deprecated(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        import logging

        logging.getLogger("eokit.cli").warning(
            "%s is deprecated; use %s",
            param.opts[0],
            {"--band": "--var", "--out-dir": "--out", "--window": "--kernel-size"}.get(param.opts[0], ""),
        )
    return value


class _InputOrUrl(click.Path):
    """An existing file or folder, or an ``http(s)://`` URL (a STAC item)."""

    def __init__(self) -> None:
        super().__init__(exists=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            return value
        path = super().convert(value, param, ctx)
        import os

        if os.path.isdir(path) and not any(os.scandir(path)):
            self.fail(f"{value}: empty folder (a product folder or a raster file is expected)", param, ctx)
        return path


def _geometry(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--geometry`` that names a file (it has a folder or a file extension) must exist."""
    import os

    from eokit.cli._errors import _looks_like_path

    text = (value or "").strip()
    if not text or text.startswith(("{", "[")) or ("(" in text and text.split("(")[0].strip().isalpha()):
        return value  # GeoJSON or WKT text
    if _looks_like_path(text) and not os.path.exists(text):
        raise click.BadParameter(f"{value}: no such file (a vector file, GeoJSON or WKT is expected)", ctx, param)
    return value


def _nadir(ctx: click.Context, param: click.Parameter, value: tuple[float, float] | None) -> Any:
    if value and not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise click.BadParameter(f"{value[0]:g} {value[1]:g} is not LON (-180..180) LAT (-90..90)", ctx, param)
    return value


def _pixels(path: str) -> int | None:
    from eokit.algorithms.tools._common import profile

    prof = profile(path)
    return int(prof["height"]) * int(prof["width"])


def _role_options(f: Any) -> Any:
    for role in reversed(ROLE_OPTIONS):
        f = click.option(f"--{role}", default=None, metavar="BAND", help=f"Band holding {role}.")(f)
    return f


@click.group()
def algo() -> None:
    """Earth Engine image algorithms on local rasters.

    \b
    INPUTS are band rasters or one product: a Sentinel-2 SAFE (folder or .zip),
    a Landsat Collection-2 bundle (folder or .tar with its MTL.txt/json/xml) or a
    STAC item (.json file or http(s):// URL; remote assets are read in place).
    A product's bands are converted to physical values with its
    own metadata (S2 offsets and quantification, Landsat MTL factors).

    \b
    Band references (BAND): in a product a band id (B04, B8A, SR_B4), a common
    name (red, nir08) or a role (nir); in rasters a band description, a
    file-name token (..._B4.TIF, ..._B04_10m.tif) or, with one input file, a
    1-based band number.
    """


# every algo command writes one GeoTIFF: --out x.png is refused before any work
geotiff_out = out_option(help="Output GeoTIFF (.tif).", kind="file", extensions=(".tif", ".tiff"))


@algo.command("indices")
@click.option("--list", "list_", is_flag=True, help="List the catalogue (name, domain, bands, formula).")
@click.option("--domain", default=None, help="Only indices of this application domain (vegetation, water...).")
@click.option("--show", default=None, metavar="NAME", help="Show one index as JSON.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def indices_cmd(list_: bool, domain: str | None, show: str | None, as_json: bool) -> None:
    """List the Awesome Spectral Indices catalogue."""
    from eokit.algorithms import indices

    if show:
        click.echo(json.dumps(indices.index_info(show), indent=2))
        return
    rows = indices.list_indices(domain)
    if domain and not rows:
        from eokit.errors import InvalidInputError

        known = sorted({r["application_domain"] for r in indices.list_indices(None)})
        raise InvalidInputError(f"no index of domain {domain!r}; domains: {', '.join(known)}", param="domain")
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['short_name']:<14} {row['application_domain']:<12} {','.join(row['bands']):<22} {row['formula']}"
            )


@algo.command("index")
@click.argument("name")
@click.argument("inputs", nargs=-1, required=True, type=_InputOrUrl())
@geotiff_out
@_role_options
@click.option("--var", "extra", multiple=True, metavar="SHORT=BAND",
              help="Bind any formula variable to a band, e.g. N2=B8A.")  # fmt: skip
@click.option("--band", "old_extra", multiple=True, hidden=True, callback=_deprecated, help="Deprecated: --var.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Constant, e.g. L=0.5.")
@click.option("--sensor", default=None, help="Band names of landsat5/7/8/9 or sentinel2 for plain band rasters.")
@click.option("--scale", type=Real(min=0, min_open=True), default=1.0, show_default=True,
              help="Multiply digital numbers of plain rasters first (> 0; products carry their own).")  # fmt: skip
@click.option("--offset", type=Real(), default=0.0, show_default=True, help="Then add this.")
@click.option(
    "--nodata",
    type=Real(allow_inf=True),
    default=None,
    help="Output nodata value where the index is undefined (default NaN; must fit float32).",
)
@workers_option
@scheduler_option
def index_cmd(name: str, inputs: tuple[str, ...], out: str, extra: tuple[str, ...], old_extra: tuple[str, ...],
              params: tuple[str, ...], sensor: str | None, scale: float, offset: float, nodata: float | None,
              workers: int | None, scheduler: str | None, **roles: Any) -> None:  # fmt: skip
    """Compute spectral index NAME (NDVI, EVI...) from INPUTS into --out."""
    from eokit.algorithms import tools

    check_nodata(nodata, "float32")
    pairs = {**_pairs(old_extra, "--band"), **_pairs(extra, "--var")}
    bands = tools.index_band_refs(name, {k: v for k, v in roles.items() if v}, pairs, sensor)
    total = tools.index_pixels(list(inputs), name, bands)
    with progress_bar(total, name) as bar:
        tools.index_file(list(inputs), out, name, bands, params={k: float(v) for k, v in _pairs(params, "--param").items()},
                         scale=scale, offset=offset, nodata=nodata, workers=workers, scheduler=scheduler,
                         progress=bar)  # fmt: skip
    click.echo(out)


@algo.command("distance")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@geotiff_out
@click.option("--radius", type=Real(min=0, min_open=True, max=1e12), required=True, help="Cap, in --units (> 0).")
@click.option("--band", default="1", show_default=True, help="Band of SOURCE: 1-based number or band name.")
@click.option("--mask-from", type=click.Choice(["nonzero", "zero", "nodata"]), default="nonzero", show_default=True,
              help="Which pixels are the mask: nonzero, zero or nodata.")  # fmt: skip
@click.option("--normalize", is_flag=True, help="Scale to 0..1.")
@click.option("--units", type=click.Choice(["metres", "pixels"]), default="metres", show_default=True,
              help="Unit of --radius and of the output; metres need a CRS.")  # fmt: skip
@click.option("--geometry", default=None, callback=_geometry, help="Vector file, GeoJSON or WKT to compute inside.")
@click.option("--geometry-crs", default=None, callback=check_crs, help="CRS of a WKT geometry (default: the raster's).")
@workers_option
@scheduler_option
def distance_cmd(source: str, out: str, radius: float, band: str, mask_from: str, normalize: bool, units: str,
                 geometry: str | None, geometry_crs: str | None, workers: int | None, scheduler: str | None) -> None:  # fmt: skip
    """Distance from each pixel of SOURCE to the nearest masked pixel (metres, or pixels), capped at --radius."""
    from eokit.algorithms import tools
    from eokit.io.raster import band_number

    geom, gcrs = tools.load_geometry(geometry) if geometry else (None, None)
    with progress_bar(_pixels(source), "distance") as bar:
        tools.distance_to_mask_file(source, out, radius=radius, band=band_number(source, band), mask_from=mask_from, normalize=normalize,
                                    geometry=geom, geometry_crs=geometry_crs or gcrs, units=units, workers=workers,
                                    scheduler=scheduler, progress=bar)  # fmt: skip
    click.echo(out)


@algo.command("mask-cover")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--band", default="1", show_default=True, help="Band of SOURCE: 1-based number or band name.")
@click.option("--mask-from", type=click.Choice(["nonzero", "zero", "nodata"]), default="nonzero", show_default=True,
              help="Which pixels are the mask: nonzero, zero or nodata.")  # fmt: skip
@click.option("--geometry", default=None, callback=_geometry, help="Vector file, GeoJSON or WKT.")
@click.option("--geometry-crs", default=None, callback=check_crs, help="CRS of a WKT geometry (default: the raster's).")
@click.option("--all-touched", is_flag=True, help="Count every pixel the geometry touches.")
def mask_cover_cmd(source: str, band: str, mask_from: str, geometry: str | None, geometry_crs: str | None,
                   all_touched: bool) -> None:  # fmt: skip
    """Print the percentage of masked pixels of SOURCE (inside --geometry)."""
    from eokit.algorithms import tools
    from eokit.io.raster import band_number

    geom, gcrs = tools.load_geometry(geometry) if geometry else (None, None)
    pct = tools.mask_cover_file(source, band=band_number(source, band), mask_from=mask_from, geometry=geom,
                                geometry_crs=geometry_crs or gcrs, all_touched=all_touched)  # fmt: skip
    click.echo(f"{pct:.4f}")


@algo.command("pansharpen")
@click.argument("ms", type=_InputOrUrl())
@click.argument("pan", type=click.Path(exists=True, dir_okay=False), required=False)
@geotiff_out
@click.option("--method", type=click.Choice(["kernel", "hsv", "brovey"]), default="kernel", show_default=True,
              help="kernel, hsv or brovey.")  # fmt: skip
@click.option("--bands", default=None,
              help="MS bands, comma-separated: 1-based numbers, or a product's band names (hsv: red,green,blue).")  # fmt: skip
@click.option("--kernel-size", "window", type=Real(min=0, min_open=True), default=90.0, show_default=True,
              help="Kernel window of the kernel method, in metres (> 0).")  # fmt: skip
@click.option("--window", "old_window", type=Real(min=0, min_open=True), default=None, hidden=True, callback=_deprecated,
              help="Deprecated: --kernel-size.")  # fmt: skip
@click.option("--resampling", type=click.Choice(["nearest", "bilinear", "cubic", "average"]), default="bilinear",
              show_default=True, help="How MS is resampled onto the PAN grid.")  # fmt: skip
def pansharpen_cmd(ms: str, pan: str | None, out: str, method: str, bands: str | None, window: float,
                   old_window: float | None, resampling: str) -> None:  # fmt: skip
    """Pansharpen MS with PAN onto the pan grid (PAN may be omitted for a Landsat Level-1 product: its B8)."""
    from eokit.algorithms import tools

    sel: list[int | str] | None = [b.strip() for b in bands.split(",")] if bands else None
    window = old_window if old_window is not None else window
    tools.pansharpen_file(ms, pan, out, method=method, bands=sel, window_m=window, resampling=resampling)
    click.echo(out)


@algo.command("harmonize")
@click.argument("inputs", nargs=-1, required=True, type=_InputOrUrl())
@geotiff_out
@_role_options
@click.option("--direction", type=click.Choice(["l8_to_l7", "l7_to_l8", "s2_to_oli"]), default=None,
              help="l8_to_l7 / l7_to_l8 (Roy et al. 2016) or s2_to_oli (HLS, Claverie et al. 2018); default "
              "s2_to_oli for a Sentinel-2 product, else l8_to_l7.")  # fmt: skip
@click.option("--method", type=click.Choice(["rma", "ols"]), default="rma", show_default=True,
              help="Regression of the Landsat 8/7 coefficients.")  # fmt: skip
@click.option("--platform", type=click.Choice(["sentinel2a", "sentinel2b"]), default=None,
              help="Sentinel-2 unit for s2_to_oli (default: from the product).")  # fmt: skip
@click.option("--scale", type=Real(min=0, min_open=True), default=1.0, show_default=True,
              help="1 for 0..1 data, 10000 for 0..10000 (> 0).")  # fmt: skip
@workers_option
@scheduler_option
def harmonize_cmd(inputs: tuple[str, ...], out: str, direction: str | None, method: str, platform: str | None,
                  scale: float, workers: int | None, scheduler: str | None, **roles: Any) -> None:  # fmt: skip
    """Harmonise the reflectance of INPUTS: Landsat 8 <-> 7 (Roy et al. 2016) or Sentinel-2 -> OLI (HLS).

    One output layer per band option, in the order red, nir... as given.
    """
    from eokit.algorithms import tools

    bands = {k: v for k, v in roles.items() if v}
    with progress_bar(tools.band_pixels(list(inputs), bands), "harmonize") as bar:
        tools.harmonize_file(list(inputs), out, bands, direction=direction, method=method, scale=scale,
                             platform=platform, workers=workers, scheduler=scheduler, progress=bar)  # fmt: skip
    click.echo(out)


@algo.command("brdf")
@click.argument("source", type=_InputOrUrl())
@geotiff_out
@click.option("--bands", required=True,
              help="Name of each layer of a raster (blue,green,red,nir,swir1,swir2), or the bands of a product "
              "(B02,B03,B04,B8A or red,nir...).")  # fmt: skip
@click.option("--sensor", type=click.Choice(["landsat", "sentinel2"]), default="landsat", show_default=True,
              help="BRDF coefficients and orbit of a plain raster (products name their own).")  # fmt: skip
@click.option("--angles", nargs=4, type=click.Path(exists=True), default=None,
              help="Sun zenith, sun azimuth, view zenith, view azimuth rasters (same grid).")  # fmt: skip
@click.option("--angle-scale", type=Real(min=0, min_open=True), default=100.0, show_default=True,
              help="Angle rasters' units per degree (> 0).")  # fmt: skip
@click.option(
    "--ang", type=click.Path(exists=True), default=None, help="Landsat *_ANG.txt (per-pixel time, view angles)."
)
@click.option("--sun-angles", nargs=2, type=click.Path(exists=True), default=None,
              help="Sun zenith and azimuth rasters; view angles then come from the scene geometry.")  # fmt: skip
@click.option("--time", "time_", default=None,
              help="Acquisition time (ISO 8601 with time of day, UTC) when no angles are given; view from the "
              "scene geometry. Products: from their metadata.")  # fmt: skip
@click.option("--nadir", nargs=2, type=Real(), default=None, metavar="LON LAT", callback=_nadir,
              help="A point on the nadir track for the scene geometry (default: the raster's centre).")  # fmt: skip
@click.option("--sun-zenith-out", default="observed", show_default=True, help="observed, latitude, or degrees.")
@workers_option
@scheduler_option
def brdf_cmd(source: str, out: str, bands: str, sensor: str, angles: tuple[str, ...] | None, angle_scale: float,
             ang: str | None, sun_angles: tuple[str, ...] | None, time_: str | None,
             nadir: tuple[float, float] | None, sun_zenith_out: str, workers: int | None,
             scheduler: str | None) -> None:  # fmt: skip
    """NBAR: correct the reflectance of SOURCE (a raster or a product) to nadir view with the c-factor method."""
    from eokit.algorithms import tools

    szo: Any = None if sun_zenith_out == "observed" else sun_zenith_out
    if szo not in (None, "latitude"):
        try:
            szo = float(szo)
        except ValueError:
            raise click.BadParameter("observed, latitude or a number", param_hint="--sun-zenith-out") from None
    names = [b.strip() for b in bands.split(",")]
    from eokit.algorithms.products import is_product

    total = tools.band_pixels([source], {n: n for n in names}) if is_product(source) else _pixels(source)
    with progress_bar(total, "brdf") as bar:
        tools.nbar_file(source, out, band_names=names, sensor=sensor,
                        angles=list(angles or sun_angles or []) or None, angle_scale=angle_scale, ang=ang, time=time_,
                        sun_zenith_out=szo, nadir_lonlat=(nadir[0], nadir[1]) if nadir else None, workers=workers,
                        scheduler=scheduler, progress=bar)  # fmt: skip
    click.echo(out)


@algo.command("rescale")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@geotiff_out
@click.option("--from", "from_", type=click.Choice(["TOA", "SR", "RAW"], case_sensitive=False), required=True,
              help="Convention of SOURCE: TOA, SR or RAW.")  # fmt: skip
@click.option("--to", "to", type=click.Choice(["TOA", "SR", "RAW"], case_sensitive=False), required=True,
              help="Convention to write: TOA, SR or RAW.")  # fmt: skip
@click.option("--kind", type=click.Choice(["optical", "thermal"]), default="optical", show_default=True,
              help="optical or thermal bands.")  # fmt: skip
@click.option("--max-raw", type=click.IntRange(1, 65535), default=255, show_default=True,
              help="255 (Landsat 4-7) or 65535 (8/9).")  # fmt: skip
def rescale_cmd(source: str, out: str, from_: str, to: str, kind: str, max_raw: int) -> None:
    """Rescale SOURCE (Collection 1 data) between TOA, SR and RAW conventions."""
    from eokit.algorithms import tools

    tools.rescale_file(source, out, source_level=from_, target_level=to, kind=kind, max_raw=max_raw)
    click.echo(out)


@algo.command("scale")
@click.argument("source", type=_InputOrUrl())
@geotiff_out
@click.option("--kind", type=click.Choice(["auto", "sr", "st", "toa", "radiance", "bt"]), default="auto",
              show_default=True, help="auto (from the band), sr (surface reflectance), st (surface temperature, K), "
              "toa (Level-1 TOA reflectance), radiance, bt (brightness temperature, K).")  # fmt: skip
@click.option("--mtl", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Take factors from this *_MTL.txt, *_MTL.json or *_MTL.xml.")  # fmt: skip
@click.option(
    "--band", default=None, help="Band of a product or MTL key, e.g. SR_B4, B04, red (default: from the name)."
)
def scale_cmd(source: str, out: str, kind: str, mtl: str | None, band: str | None) -> None:
    """Digital numbers of one band to reflectance, radiance or kelvin.

    SOURCE is a Landsat band file (..._SR_B4.TIF) or a product (Landsat bundle,
    Sentinel-2 SAFE, STAC item) with --band. Factors that do not fit the band's
    level, collection or kind are refused.
    """
    from eokit.algorithms import tools

    tools.scale_file(source, out, kind=kind, mtl=mtl, band=band)
    click.echo(out)


@algo.command("mtl")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def mtl_cmd(path: str) -> None:
    """Print the key facts of the Landsat MTL file PATH (spacecraft, time, scale factors) as JSON."""
    from eokit.algorithms import metadata

    click.echo(json.dumps(metadata.summary(path), indent=2))


@algo.command("qa-mask")
@click.argument("source", type=_InputOrUrl())
@geotiff_out
@click.option("--fill/--no-fill", default=True, show_default=True, help="Mask fill pixels.")
@click.option("--dilated-cloud/--no-dilated-cloud", default=True, show_default=True, help="Mask dilated clouds.")
@click.option("--cirrus/--no-cirrus", default=True, show_default=True, help="Mask cirrus.")
@click.option("--cloud/--no-cloud", default=True, show_default=True, help="Mask clouds.")
@click.option("--shadow/--no-shadow", default=True, show_default=True, help="Mask cloud shadows.")
@click.option("--snow/--no-snow", default=False, show_default=True, help="Mask snow.")
@click.option("--water/--no-water", default=False, show_default=True, help="Mask water.")
def qa_mask_cmd(source: str, out: str, **flags: bool) -> None:
    """uint8 mask (1 = masked) from SOURCE: a Landsat Collection 2 QA_PIXEL band, or a bundle or STAC item."""
    from eokit.algorithms import tools

    tools.qa_mask_file(source, out, flags=flags)
    click.echo(out)


@algo.command("scl-mask")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@geotiff_out
@click.option(
    "--classes", default=None, help="Comma-separated SCL class names or codes (default: clouds, shadows, nodata)."
)
def scl_mask_cmd(source: str, out: str, classes: str | None) -> None:
    """uint8 mask (1 = masked) from SOURCE, a Sentinel-2 SCL band."""
    from eokit.algorithms import landsat, tools

    chosen = (
        [int(c) if c.strip().isdigit() else c.strip() for c in classes.split(",")] if classes else landsat.SCL_DEFAULT
    )
    tools.scl_mask_file(source, out, classes=chosen)
    click.echo(out)


@algo.command("slc-off")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@geotiff_out
@click.option("--date", required=True, help="Acquisition date (YYYY-MM-DD).")
def slc_off_cmd(source: str, out: str, date: str) -> None:
    """Landsat 7 SLC-off stripes of SOURCE (all bands empty) become valid zeros."""
    from eokit.algorithms import tools

    tools.unmask_slc_off_file(source, out, date=date)
    click.echo(out)


@algo.command("medoid")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@geotiff_out
@click.option("--bands", default=None, help="1-based bands the distances use, comma-separated (default: all).")
@workers_option
@scheduler_option
def medoid_cmd(
    inputs: tuple[str, ...], out: str, bands: str | None, workers: int | None, scheduler: str | None
) -> None:
    """Per-pixel medoid of the aligned images INPUTS (the one with the smallest summed distance to the rest)."""
    from eokit.algorithms import tools

    try:
        sel = [int(b) - 1 for b in bands.split(",")] if bands else None
    except ValueError:
        sel = [-1]
    if sel is not None and min(sel) < 0:  # band 0 would silently be the last band
        raise click.BadParameter(f"{bands!r}: 1-based band numbers, comma-separated", param_hint="--bands")
    tools.medoid_file(list(inputs), out, bands=sel, workers=workers, scheduler=scheduler)
    click.echo(out)


@algo.command("s2-angles")
@click.argument("metadata", type=click.Path(exists=True, dir_okay=False))
@click.option("--band", required=True, help="Sentinel-2 band whose view angles to take, e.g. B04.")
@click.option("--like", required=True, type=click.Path(exists=True, dir_okay=False), help="Raster whose grid to use.")
@click.option("--out", "-o", "out", default=None, type=click.Path(file_okay=False),
              help="Folder for the four angle rasters.")  # fmt: skip
@click.option("--out-dir", "out_dir", default=None, type=click.Path(file_okay=False), hidden=True,
              callback=_deprecated, help="Deprecated: --out.")  # fmt: skip
def s2_angles_cmd(metadata: str, band: str, like: str, out: str | None, out_dir: str | None) -> None:
    """Sun/view angle rasters (degrees) from METADATA, a Sentinel-2 MTD_TL.xml, on the grid of --like.

    Feed them to `eokit algo brdf --sensor sentinel2 --angles SZA SAA VZA VAA --angle-scale 1`.
    """
    from eokit.algorithms import sentinel2

    folder = out or out_dir
    if folder is None:
        raise click.UsageError("Missing option '--out'.")
    for p in sentinel2.write_angle_rasters(metadata, band, like, folder):
        click.echo(p)
