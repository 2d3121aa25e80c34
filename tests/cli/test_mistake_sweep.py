"""The mistakes new users make, tried on every ``eokit`` command.

Every leaf command of the click tree is found by introspection. Each has a
*baseline*: a valid invocation on tiny real files (placeholders ``{raster}``,
``{out_tif}``... below). Mistakes are derived from the baseline and from the
command's click parameters, so a new command is covered without editing this
file (its baseline is then guessed from its parameter names and types):

- every input file of the baseline (and every optional input file option) given
  as a missing file, a folder, an empty file, garbage bytes, a text file and a
  real file of the wrong kind (a GeoJSON as a raster, a GeoTIFF as a vector...);
- every output given as an existing folder, inside a file, with a wrong extension,
  and inside a folder that does not exist (created by design, or refused);
- every numeric option given as -1, 0, NaN, ±inf and a huge value, unless the
  value is meaningful for that option (``ACCEPTED``);
- every required option left out.

Each mistake must end with exactly one line ``eokit: error: WHAT: PROBLEM`` that
names the option or file at fault, exit code 3 (2 for a missing option), no
traceback, and no new file anywhere in the run's folders.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from eokit.cli import _errors
from eokit.cli.main import cli
from eokit.io.atomic import is_temp_name

from .test_option_table import _commands

pytestmark = pytest.mark.filterwarnings("ignore")

DATA = Path(__file__).resolve().parents[1] / "data"
MTL = DATA / "algorithms" / "stactools-landsat" / "LC08_L2SP_005009_20150710_20200908_02_T2_MTL.txt"
STAC_ITEM = DATA / "serve_items" / "ls-LC08_L2SP_047027_20201204_02_T1.json"
UTM = "EPSG:32633"
MOLLWEIDE = "ESRI:54009"

# A port nothing listens on, for the commands that talk to a server (hub, pgstac): they must fail in one line.
with socket.socket() as _s:
    _s.bind(("127.0.0.1", 0))
    CLOSED_PORT = _s.getsockname()[1]

# Valid invocations. {name} is an input fixture (see _fixtures), {out_*} an output in the run's out folder.
BASELINES: dict[str, list[str]] = {
    "algo brdf": ["{raster}", "--bands", "red,nir", "--time", "2020-06-01T10:00:00", "--out", "{out_tif}"],
    "algo distance": ["{mask}", "--radius", "100", "--out", "{out_tif}"],
    "algo harmonize": ["{raster}", "--red", "1", "--nir", "2", "--out", "{out_tif}"],
    "algo index": ["NDVI", "{raster}", "--red", "1", "--nir", "2", "--out", "{out_tif}"],
    "algo indices": ["--list"],
    "algo mask-cover": ["{mask}"],
    "algo medoid": ["{raster}", "{raster2}", "{raster}", "--out", "{out_tif}"],
    "algo mtl": ["{mtl}"],
    "algo pansharpen": ["{raster}", "{pan}", "--method", "brovey", "--out", "{out_tif}"],
    "algo qa-mask": ["{qa}", "--out", "{out_tif}"],
    "algo rescale": ["{raster}", "--from", "TOA", "--to", "SR", "--out", "{out_tif}"],
    "algo s2-angles": ["{mtd}", "--band", "B04", "--like", "{s2like}", "--out", "{out_dir}"],
    "algo scale": ["{raster}", "--mtl", "{mtl}", "--band", "SR_B4", "--out", "{out_tif}"],
    "algo scl-mask": ["{scl}", "--out", "{out_tif}"],
    "algo slc-off": ["{raster}", "--date", "2010-01-01", "--out", "{out_tif}"],
    "catalog build": ["{tree}", "--out", "{out_dir}"],
    "catalog item": ["{raster}", "--out", "{out_json}"],
    "catalog publish": ["{catalog}", "--pgstac", f"postgresql://eokit@127.0.0.1:{CLOSED_PORT}/db"],
    "catalog validate": ["{stac_item}"],
    "hub search": ["--url", f"http://127.0.0.1:{CLOSED_PORT}/", "--provider", "stac", "--retries", "0"],
    "resample run": ["{src}", "{grid}", "{out_tif}", "--resolution", "2", "2"],
    "resample shape": ["--grid", "{grid}", "--resolution", "2", "2"],
    "serve": ["{catalog}", "--port", "0"],
    "urban classify": ["{pop}", "--out", "{out_tif}"],
    "urban clusters": ["{pop}", "--no-names", "--out", "{out_gpkg}"],
    "urban exposure": ["{pop}", "--air", "pm25={pop}", "--out", "{out_dir}"],
    "urban label": ["{pop}", "--min", "1", "--out", "{out_tif}"],
    "urban places": ["KAZ", "--out", "{out_csv}"],
    "urban review": ["--population", "{pop}", "--admin", "{zones}", "--admin-id", "d", "--out", "{out_dir}"],
    "urban traveltime": ["{friction}", "--origins", "{points}", "--id-col", "id", "--out", "{out_csv}"],
    "urban zonal": ["{zones}", "{pop}", "--out", "{out_csv}"],
}

# Long-running commands: only their mistakes are tried (the work itself is replaced by a stub that records
# the call, so an accepted mistake shows up as a call instead of a server that never returns).
LONG_RUNNING = {"demo": "eokit.demo.run_demo", "serve": "uvicorn.run"}
BASELINES["demo"] = ["--quick", "--out", "{out_dir}"]

RASTERS = {"raster", "raster2", "mask", "pan", "qa", "scl", "pop", "friction", "grid", "src", "s2like"}
VECTORS = {"zones", "points"}
TEXTS = {"mtl", "mtd", "stac_item", "csv"}
FOLDERS = {"tree", "catalog"}

# Outputs that are optional options (not --out): given to the baseline to try output mistakes on them.
OPTIONAL_OUTPUTS: dict[tuple[str, str], str] = {
    ("urban clusters", "--raster"): "out_tif",
    ("urban classify", "--level1"): "out_tif",
    ("urban traveltime", "--distance-out"): "out_csv",
    ("resample run", "--mask-out"): "out_tif",
    ("hub search", "--footprints"): "out_geojson",
    ("serve", "--index"): "out_db",
}

# Optional input options whose value is a file but whose click type is text (vector file, GeoJSON or WKT).
TEXT_FILE_INPUTS = {"geometry": "zones"}

# Mistakes in free-text options, which cannot be derived from a click type: (command, id, args, blame).
EXTRA: list[tuple[str, str, list[str], list[str]]] = [
    ("algo indices", "unknown-index", ["--show", "NOPE"], ["--show", "NOPE"]),
    ("algo indices", "unknown-domain", ["--list", "--domain", "nope"], ["--domain"]),
    (
        "catalog publish",
        "unreachable-db",
        ["{catalog}", "--pgstac", f"postgresql://eokit@127.0.0.1:{CLOSED_PORT}/db"],
        [f"port {CLOSED_PORT}"],
    ),
    ("catalog build", "public-url-not-url", ["{tree}", "--out", "{out_dir}", "--public-url", "data"], ["--public-url"]),
    ("catalog build", "catalog-url-not-url", ["{tree}", "--out", "{out_dir}", "--catalog-url", "x"], ["--catalog-url"]),
    ("serve", "base-url-not-url", ["{catalog}", "--port", "0", "--base-url", "notaurl"], ["--base-url"]),
    ("serve", "dsn-not-dsn", ["--backend", "pgstac", "--dsn", "notadsn", "--port", "0"], ["--dsn"]),
]

# What an optional input option reads, by its name (default: a raster; a folder for folder options).
INPUT_KINDS = {"destinations": "points", "origins": "points", "admin": "zones", "mtl": "mtl", "ang": "mtl",
               "climate_index": "csv", "metadata": "csv"}  # fmt: skip

# Wrong values of text options with one meaning across commands (README option table), tried on every
# command that has the option.
TEXT_MISTAKES: dict[str, list[str]] = {
    "--band": ["99", "nope"],
    "--bands": ["99", "nope"],
    "--scheduler": ["nonsense"],
    "--max-memory": ["lots", "-1GB", "0"],
    "--time": ["yesterday", "2020-06-01T25:00:00"],
    "--date": ["2020-13-45"],
    "--geometry": ["POLYGON((0 0, 1 1))", "{not json"],
    "--geometry-crs": ["EPSG:99999999"],
    "--default-crs": ["EPSG:99999999"],
    "--var": ["N"],
    "--param": ["L"],
    "--stats": ["sum,bogus"],
    "--group-by": ["regex:("],
    "--depth-classes": ["deep"],
    "--baseline": ["1991"],
    "--classes": ["clouds,nope"],
    "--sun-zenith-out": ["high"],
}

# Mistakes that are none for one command: (command, case id) -> why.
NOT_MISTAKES: dict[tuple[str, str], str] = {
    ("catalog item", "PATHS-wrong-kind"): "a GeoJSON is a vector asset: catalog item describes vector files too",
    ("urban zonal", "ZONES-wrong-kind"): "ZONES may be a label raster (the grid mismatch is reported on RASTERS)",
    ("algo pansharpen", "MS-unreachable-url"): "a URL is read as a STAC item, which needs --bands: the line names "
    "that first problem",
    ("catalog item", "PATHS-point-cloud"): "a LAS point cloud is an asset catalog item describes",
    ("urban zonal", "ZONES-stac-item"): "a STAC item is a GeoJSON Feature: valid polygon zones",
    ("algo mask-cover", "--geometry-stac-item"): "a STAC item is a GeoJSON Feature: a valid geometry (no overlap is "
    "reported on SOURCE)",
    ("hub search", "--geometry-stac-item"): "a STAC item is a GeoJSON Feature: a valid search area",
    ("serve", "--asset-root-empty-folder"): "an empty asset folder is a valid (empty) set of assets to serve",
    ("hub search", "--footprints-out-missing-folder"): "created by design once a search succeeds; no server here",
}

# Bugs outside the CLI engineer's files, each expected to fail until its owner fixes it (then remove it here).
KNOWN_BUGS: dict[tuple[str, str], str] = {
    ("hub search", "--geometry=POLYGON((0 0, 1 1))"): "hub (lead): an invalid WKT area is refused without naming "
    "--geometry (the hub raises InvalidInputError without param='geometry')",
}

# Numeric values that are meaningful (the "mistake" is a documented value), by option, or (command, option).
ACCEPTED: dict[str | tuple[str, str], set[str]] = {
    "--workers": {"0"},  # 0: one per CPU core (documented)
    "--nodata": {"-1", "0", "nan", "inf", "-inf"},  # any value the output type holds
    "--offset": {"-1", "0", "1e308"},  # any finite offset is an offset
    # a positive scale factor's fit to the data cannot be checked before the data is read
    "--scale": {"1e308"},
    "--angle-scale": {"1e308"},
    "--kernel-size": {"1e308"},  # a kernel wider than the image is the image mean (and unused by --method brovey)
    "--nadir": {"-1", "0"},  # a longitude and a latitude
    "--min": {"-1", "0", "inf", "-inf", "1e308"},  # any threshold (none reached: no component, reported)
    "--min-value": {"-1", "0", "inf", "-inf", "1e308"},  # any threshold
    "--max-time": {"inf", "1e308"},  # no limit (inf is the default)
    "--file-timeout": {"inf", "1e308"},  # no limit
    "--deadline": {"0", "inf", "1e308"},  # 0: no deadline (documented); inf: no deadline either
    "--retries": {"0"},
    "--low-speed-limit": {"0", str(10**30)},  # 0: never stalled (documented); huge: every download resumes often
    "--limit": {"0", str(10**30)},  # passed to the server as the page limit, which caps it itself
    "--max-cloud": {"0"},  # cloud-free scenes only
    "--min-population": {"0"},  # every place
    "--block-size": {str(10**30)},  # blocks larger than the raster are the whole raster
    "--grid-mask-valid": {"-1", "0"},  # any raster value
    "--src-mask-validity": {"-1", "0"},
    "--window": {"0"},  # the first output pixel (the window is inclusive)
    "--mask-influence-threshold": {"0"},
    # the thresholds of degree of urbanisation: a threshold no cell reaches is a valid question (no cluster)
    **{t: {"1e308"} for t in ("--centre-density", "--cluster-density", "--centre-min-pop", "--cluster-min-pop")},
}


@dataclass
class Case:
    command: str
    args: list[str]
    blame: list[str]  # the line must name one of these (option, argument metavar or file name)
    code: int = _errors.EXIT_INPUT
    may_succeed: str | None = None  # an output path that may instead be written (a missing folder is created)
    id: str = ""
    skip: str = ""
    marks: list[str] = field(default_factory=list)


COMMANDS = _commands()  # every leaf command, as the option table test walks them


def _label(p: click.Parameter) -> str:
    if isinstance(p, click.Argument):
        return (p.metavar or p.name or "").upper()
    longs = [o for o in p.opts if o.startswith("--")]
    return longs[0] if longs else p.opts[0]


def _is_path(p: click.Parameter) -> bool:
    return isinstance(p.type, click.Path)


def _is_output(command: str, p: click.Parameter) -> bool:
    return p.name == "out" or "out" in (p.name or "").split("_") or (command, _label(p)) in OPTIONAL_OUTPUTS


def _guess_baseline(cmd: click.Command) -> list[str]:
    """A baseline for a command not in BASELINES: every required parameter filled by its type and name."""
    args: list[str] = []
    for p in cmd.params:
        if not p.required and p.name != "out":
            continue
        if p.name == "out":
            value = "{out_dir}" if isinstance(p.type, click.Path) and not p.type.file_okay else "{out_tif}"
        elif _is_path(p):
            folder = not p.type.file_okay  # type: ignore[attr-defined]
            value = "{tree}" if folder else ("{zones}" if "zone" in (p.name or "") else "{raster}")
        elif isinstance(p.type, click.types.IntParamType | click.types.FloatParamType):
            value = "1"
        elif isinstance(p.type, click.Choice):
            value = str(p.type.choices[0])
        else:
            value = "x"
        values = [value] * max(p.nargs, 1)
        args += values if isinstance(p, click.Argument) else [_label(p), *values]
    return args


def _baseline(command: str) -> list[str]:
    return list(BASELINES.get(command) or _guess_baseline(COMMANDS[command]))


def _params_by_label(cmd: click.Command) -> dict[str, click.Parameter]:
    return {o: p for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}


def _owner(cmd: click.Command, args: list[str], index: int) -> click.Parameter | None:
    """The parameter that holds ``args[index]`` (an option's value, or a positional argument's)."""
    by_label = _params_by_label(cmd)
    owner: dict[int, click.Parameter] = {}
    positional: list[int] = []
    i = 0
    while i < len(args):
        p = by_label.get(args[i])
        if p is None:
            positional.append(i)
            i += 1
            continue
        n = 0 if getattr(p, "is_flag", False) or getattr(p, "count", False) else p.nargs
        owner.update({i + k: p for k in range(1, n + 1)})
        i += 1 + n
    arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
    free = len(positional) - sum(p.nargs for p in arguments if p.nargs > 0)
    cursor = 0
    for p in arguments:
        n = free if p.nargs < 0 else p.nargs
        owner.update(dict.fromkeys(positional[cursor : cursor + n], p))
        cursor += n
    return owner.get(index)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# The mistakes tried on an input file of each kind: (id, fixture that replaces it).
_WRONG_KIND = {**dict.fromkeys(RASTERS, "geojson"), **dict.fromkeys(VECTORS, "tif"), **dict.fromkeys(TEXTS, "tif")}
_WRONG_KIND["csv"] = "geojson"


def _input_mistakes(kind: str, product: bool = False) -> list[tuple[str, str]]:
    if kind in FOLDERS:
        return [("missing", "missing_dir"), ("file-for-folder", "raster"), ("empty-folder", "empty_dir")]
    out = [("missing", "missing"), ("folder", "empty_dir"), ("empty", "empty"), ("garbage", "garbage")]
    out.append(("unreachable-url", "url"))
    out.append(("text", "text"))
    out.append(("wrong-kind", _WRONG_KIND.get(kind, "geojson")))
    if kind in RASTERS | VECTORS:  # a point cloud, and a STAC item, where a raster or a vector file is expected
        out += [("point-cloud", "las")]
        if not product:  # commands that read products take STAC items by design
            out.append(("stac-item", "stac_item"))
    return out


def _output_mistakes(kind: str) -> list[tuple[str, str]]:
    if kind == "out_dir":
        return [("out-is-file", "existing_file"), ("out-under-file", "under_file")]
    ext = {"out_tif": ".tif", "out_csv": ".csv", "out_gpkg": ".gpkg", "out_json": ".json"}.get(kind, "")
    cases = [("out-is-folder", "existing_dir"), ("out-under-file", "under_file"), ("out-missing-folder", "new_dir")]
    if ext:
        cases.append(("out-wrong-ext", "wrong_ext"))
    return cases


def _numbers(command: str, p: click.Parameter) -> list[str]:
    integer = isinstance(p.type, click.types.IntParamType)
    values = ["-1", "0", str(10**30)] if integer else ["-1", "0", "nan", "inf", "-inf", "1e308"]
    accepted = ACCEPTED.get((command, _label(p)), ACCEPTED.get(_label(p), set()))
    return [v for v in values if v not in accepted]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for command, cmd in sorted(COMMANDS.items()):
        base = _baseline(command)
        blame_out = ["--out", "OUT"]
        # input and output files of the baseline
        for i, a in enumerate(base):
            for kind in _PLACEHOLDER.findall(a):
                owner = _owner(cmd, base, i)
                label = _label(owner) if owner is not None else ""
                product = owner is not None and type(owner.type).__name__ == "_InputOrUrl"  # a product or a URL
                mistakes = _output_mistakes(kind) if kind.startswith("out_") else _input_mistakes(kind, product)
                for mid, fixture in mistakes:
                    args = [*base[:i], a.replace("{" + kind + "}", "{!" + fixture + ":" + kind + "}"), *base[i + 1 :]]
                    blame = [label, *(blame_out if kind.startswith("out_") else [])]
                    cases.append(Case(command, args, blame, id=f"{label or kind}-{mid}"))
                first_input = next((j for j, b in enumerate(base) if _PLACEHOLDER.fullmatch(b) and b[1:-1] in
                                    RASTERS | VECTORS | TEXTS), None)  # fmt: skip
                if kind.startswith("out_") and kind != "out_dir" and first_input is not None:
                    # the output is one of the inputs: refused before the rename replaces the input
                    args = list(base)
                    args[first_input] = args[i] = "{!copy:" + base[first_input][1:-1] + "}"
                    cases.append(Case(command, args, [label, *blame_out], id=f"{label}-is-input"))
        # optional inputs and outputs the baseline does not use
        given = {a for a in base if a.startswith("-")}
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden or set(p.opts) & given:
                continue
            label = _label(p)
            out_kind = OPTIONAL_OUTPUTS.get((command, label))
            if out_kind:
                for mid, fixture in _output_mistakes(out_kind):
                    cases.append(Case(command, [*base, label, "{!" + fixture + ":" + out_kind + "}"], [label],
                                      id=f"{label}-{mid}"))  # fmt: skip
            elif (_is_path(p) and not _is_output(command, p)) or p.name in TEXT_FILE_INPUTS:
                kind = TEXT_FILE_INPUTS.get(p.name or "") or INPUT_KINDS.get(p.name or "", "raster")
                if _is_path(p) and not p.type.file_okay:  # type: ignore[attr-defined]
                    kind = "tree"
                for mid, fixture in _input_mistakes(kind):
                    value = "{!" + fixture + ":" + kind + "}"
                    cases.append(Case(command, [*base, label, *[value] * max(p.nargs, 1)], [label],
                                      id=f"{label}-{mid}"))  # fmt: skip
        # numbers
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden or p.is_flag or p.count:
                continue
            if not isinstance(p.type, click.types.IntParamType | click.types.FloatParamType):
                continue
            label = _label(p)
            if label in ("--port",):  # a port is checked by binding it (test_contract)
                continue
            stripped = _without_option(base, label, p.nargs)
            for v in _numbers(command, p):
                cases.append(Case(command, [*stripped, label, *[v] * p.nargs], [label], id=f"{label}={v}"))
        # text options with one meaning everywhere
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden and _label(p) in TEXT_MISTAKES:
                label = _label(p)
                stripped = _without_option(base, label, p.nargs)
                for v in TEXT_MISTAKES[label]:
                    cases.append(Case(command, [*stripped, label, v], [label], id=f"{label}={v}"))
        # required arguments and options left out
        positional = [p for p in cmd.params if isinstance(p, click.Argument) and p.required]
        if positional:
            cases.append(Case(command, [], [_label(positional[0])], code=_errors.EXIT_USAGE, id="no-arguments"))
        for p in cmd.params:
            if isinstance(p, click.Option) and p.required and _label(p) in base:
                args = _without_option(base, _label(p), p.nargs)
                cases.append(Case(command, args, [_label(p)], code=_errors.EXIT_USAGE, id=f"no-{_label(p)}"))
    cases += [Case(command, args, blame, id=mid) for command, mid, args, blame in EXTRA]
    for case in cases:
        case.skip = NOT_MISTAKES.get((case.command, case.id), "")
    return cases


def _without_option(args: list[str], label: str, nargs: int) -> list[str]:
    if label not in args:
        return list(args)
    i = args.index(label)
    return [*args[:i], *args[i + 1 + nargs :]]


def _write_raster(path: Path, data: np.ndarray, *, crs: str | None = UTM, transform: Affine | None = None,
                  nodata: float | None = None) -> Path:  # fmt: skip
    data = data if data.ndim == 3 else data[None]
    transform = transform or Affine(30, 0, 500000, 0, -30, 4000000)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=data.dtype, crs=crs, transform=transform, nodata=nodata) as ds:  # fmt: skip
        ds.write(data)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Tiny real files of every kind the commands read, and the wrong files for the mistakes."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    from eokit.testing.resample_grids import distorted_grid, write_grid
    from tests.algorithms.test_sentinel2 import XML

    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    f: dict[str, Path] = {}
    f["raster"] = _write_raster(d / "scene.tif", rng.uniform(0.05, 0.5, (2, 16, 16)).astype("float32"))
    f["raster2"] = _write_raster(d / "scene2.tif", rng.uniform(0.05, 0.5, (2, 16, 16)).astype("float32"))
    f["pan"] = _write_raster(d / "pan.tif", rng.uniform(0.05, 0.5, (32, 32)).astype("float32"),
                             transform=Affine(15, 0, 500000, 0, -15, 4000000))  # fmt: skip
    f["mask"] = _write_raster(d / "clouds.tif", (rng.random((16, 16)) > 0.9).astype("uint8"))
    f["qa"] = _write_raster(d / "LC08_QA_PIXEL.tif", rng.integers(21824, 21900, (16, 16)).astype("uint16"))
    f["scl"] = _write_raster(d / "SCL.tif", rng.integers(0, 12, (16, 16)).astype("uint8"))
    f["s2like"] = _write_raster(d / "B04.tif", np.ones((16, 16), "uint16"),
                                transform=Affine(10, 0, 300000, 0, -10, 5000000))  # fmt: skip
    tr = Affine(1000.0, 0, 0, 0, -1000.0, 20_000.0)
    pop = np.full((20, 20), 50.0, "float32")
    pop[5:10, 5:10] = 3000.0
    f["pop"] = _write_raster(d / "pop.tif", pop, crs=MOLLWEIDE, transform=tr)
    f["friction"] = _write_raster(d / "friction.tif", np.full((20, 20), 0.01, "float32"), crs=MOLLWEIDE, transform=tr)
    gpd.GeoDataFrame({"d": ["a", "b"]}, geometry=[box(0, 0, 10_000, 20_000), box(10_000, 0, 20_000, 20_000)],
                     crs=MOLLWEIDE).to_file(d / "districts.gpkg")  # fmt: skip
    f["zones"] = d / "districts.gpkg"
    gpd.GeoDataFrame({"id": ["p", "q"]}, geometry=[Point(2500, 2500), Point(15500, 17500)], crs=MOLLWEIDE).to_file(
        d / "towns.gpkg"
    )
    f["points"] = d / "towns.gpkg"
    src = rng.integers(0, 255, (1, 30, 34)).astype("uint8")
    f["src"] = _write_raster(d / "src.tif", src, crs=None, transform=Affine.identity())
    gr, gc = distorted_grid((6, 7), (2, 2), origin=(1.0, 1.0), angle=0.05, noise=0.2, seed=2)
    write_grid(d / "grid.tif", gr, gc)
    f["grid"] = d / "grid.tif"
    f["mtl"] = MTL
    (d / "MTD_TL.xml").write_text(XML)
    f["mtd"] = d / "MTD_TL.xml"
    f["stac_item"] = STAC_ITEM
    (d / "climate.csv").write_text(f"variable,date,path\ntemp,2001,{f['pop']}\ntemp,2002,{f['pop']}\n")
    f["csv"] = d / "climate.csv"
    tree = d / "tree"
    tree.mkdir()
    shutil.copy(f["raster"], tree / "scene.tif")
    f["tree"] = tree
    from eokit.catalog import build_catalog

    build_catalog(tree, d / "catalog")
    f["catalog"] = d / "catalog"
    # the wrong things
    wrong = d / "wrong"
    wrong.mkdir()
    f["empty_dir"] = wrong / "empty-folder"
    f["empty_dir"].mkdir()
    gpd.GeoDataFrame({"k": [1]}, geometry=[box(10, 50, 11, 51)], crs=4326).to_file(wrong / "area.geojson")
    f["geojson"] = wrong / "area.geojson"
    f["tif"] = _write_raster(wrong / "image.tif", np.ones((4, 4), "uint8"))
    from eokit.testing.catalog_tree import write_small_laz

    f["las"] = write_small_laz(wrong / "points.las", x0=500000, y0=4000000, n=20, crs=UTM)
    return f


def _realise(args: list[str], inputs: dict[str, Path], work: Path) -> tuple[list[str], list[str], str | None]:
    """Fill the placeholders; return (args, names of the mistake files, an output that may be created)."""
    out = work / "out"
    wrong = work / "wrong"
    wrong.mkdir(exist_ok=True)
    ext = {"out_tif": ".tif", "out_csv": ".csv", "out_gpkg": ".gpkg", "out_json": ".json", "out_geojson": ".geojson",
           "out_db": ".sqlite", "out_dir": ""}  # fmt: skip
    named: list[str] = []
    may_succeed: list[str] = []

    def mistake(fixture: str, kind: str) -> str:
        suffix = ext.get(kind) if kind.startswith("out_") else None
        if suffix is None:  # an input: a wrong file with the extension the right one has
            right = inputs[kind]
            suffix = "" if right.is_dir() else right.suffix
        if fixture == "missing":
            path = wrong / f"missing{suffix}"
        elif fixture == "missing_dir":
            path = wrong / "missing-folder"
        elif fixture == "empty":
            path = wrong / f"empty{suffix}"
            path.write_bytes(b"")
        elif fixture == "garbage":
            path = wrong / f"garbage{suffix}"
            path.write_bytes(bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8)))
        elif fixture == "text":
            path = wrong / f"notes{suffix}"
            path.write_text("These are my notes about the scene.\nNothing geospatial here.\n")
        elif fixture == "existing_dir":
            path = out / f"folder{suffix}"
            path.mkdir(parents=True)
        elif fixture == "existing_file":
            path = out / "result.txt"
            path.write_text("keep me\n")
        elif fixture == "under_file":
            (out / "plain.txt").write_text("keep me\n")
            path = out / "plain.txt" / f"result{suffix}"
        elif fixture == "new_dir":
            path = out / "new" / "deeper" / f"result{suffix}"
            may_succeed.append(str(path))
        elif fixture == "wrong_ext":
            path = out / "result.png"
        elif fixture == "url":  # nothing listens there
            named.append(f"127.0.0.1:{CLOSED_PORT}")
            return f"http://127.0.0.1:{CLOSED_PORT}/data/scene{suffix}"
        elif fixture == "copy":  # a copy of the right input, given twice
            path = wrong / inputs[kind].name
            if not path.exists():
                shutil.copy(inputs[kind], path)
        else:
            path = inputs[fixture]
        named.append(path.name)
        return str(path)

    def fill(a: str) -> str:
        a = re.sub(r"\{!(\w+):(\w+)\}", lambda m: mistake(m.group(1), m.group(2)), a)

        def right(m: re.Match[str]) -> str:
            kind = m.group(1)
            if kind.startswith("out_"):
                return str(out / "result") if kind == "out_dir" else str(out / f"result{ext[kind]}")
            return str(inputs[kind])

        return _PLACEHOLDER.sub(right, a)

    out.mkdir(parents=True, exist_ok=True)
    filled = [fill(a) for a in args]
    return filled, named, may_succeed[0] if may_succeed else None


def _tree(*roots: Path) -> dict[str, tuple[int, float]]:
    found = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for n in [*dirnames, *filenames]:
                p = Path(dirpath) / n
                st = p.lstat()
                found[str(p)] = (st.st_size if p.is_file() else -1, st.st_mtime)
    return found


ALL_CASES = _cases()


def _param(case: Case) -> object:
    marks = []
    if case.skip:
        marks.append(pytest.mark.skip(reason=case.skip))
    if (case.command, case.id) in KNOWN_BUGS:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.command, case.id]))
    return pytest.param(case, id=f"{case.command}: {case.id}", marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in ALL_CASES])
def test_mistake_is_one_line_naming_it(case: Case, inputs, tmp_path, monkeypatch):
    work = tmp_path / "run"
    work.mkdir()
    monkeypatch.chdir(work)
    calls: list[object] = []
    stub = LONG_RUNNING.get(case.command.split()[0]) or LONG_RUNNING.get(case.command)
    if stub:
        module, _, attr = stub.rpartition(".")
        import importlib

        monkeypatch.setattr(importlib.import_module(module), attr, lambda *a, **k: calls.append((a, k)))
    args, named, may_succeed = _realise(case.args, inputs, work)
    before = _tree(work, *{p.parent for p in inputs.values()})
    env = {"HOME": str(work), "XDG_CACHE_HOME": str(work / ".cache"), "EOKIT_PGSTAC_DSN": None}
    result = CliRunner().invoke(cli, [*case.command.split(), *args], env=env)
    after = _tree(work, *{p.parent for p in inputs.values()})
    shown = (
        f"eokit {case.command} {' '.join(args)} -> exit {result.exit_code}: {' | '.join(result.output.splitlines())}"
    )
    for root, short in ((str(work), "RUN"), *((str(p.parent), "IN") for p in inputs.values())):
        shown = shown.replace(root, short)
    if may_succeed and result.exit_code == 0:  # a missing output folder is created by design
        assert Path(may_succeed).exists() or calls, shown
        left = [p for p in set(after) - set(before) if is_temp_name(Path(p).name)]
        assert not left, f"left behind: {left}: {shown}"
        return
    assert not calls, f"accepted, work started: {shown}"
    expected = {case.code, _errors.EXIT_REMOTE} if "unreachable" in case.id else {case.code}  # a server is asked
    assert result.exit_code in expected, shown
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("eokit: error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, shown
    line = errors[0]
    assert any(b and b in line for b in [*case.blame, *named]), f"names none of {case.blame + named}: {shown}"
    assert set(after) == set(before), f"left behind: {sorted(set(after) - set(before))}: {shown}"
    changed = [p for p, (size, mtime) in before.items() if size >= 0 and after[p] != (size, mtime)]
    assert not changed, f"changed: {changed}: {shown}"


def test_every_command_is_tried():
    tried = {c.command for c in ALL_CASES}
    assert tried == set(COMMANDS), set(COMMANDS) - tried
