"""The tables of the mistake sweep (tests/cli/test_mistake_sweep.py) and the tiny files it runs on.

A baseline is a valid invocation of one command; the sweep derives the mistakes
from it. The other tables say which derived "mistakes" are documented values
or valid inputs after all, each with the reason.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

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
    "catalog validate": ["{catalog}"],
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
    ("catalog validate", "garbage-json", ["{!garbage:stac_item}"], ["PATH"]),
    ("catalog validate", "empty-json", ["{!empty:stac_item}"], ["PATH"]),
    ("catalog validate", "text-json", ["{!text:stac_item}"], ["PATH"]),
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
    ("hub search", "url-not-url", ["--url", "notaurl", "-u", "u", "-p", "p"], ["--url"]),
    ("hub search", "url-not-http", ["--url", "ftp://host/dhus/", "-u", "u", "-p", "p"], ["--url"]),
]

# What an optional input option reads, by its name (default: a raster; a folder for folder options).
INPUT_KINDS = {"destinations": "points", "origins": "points", "admin": "zones", "mtl": "mtl", "ang": "mtl",
               "climate_index": "csv", "metadata": "csv"}  # fmt: skip

# Wrong values of text options with one meaning across commands (README option table), tried on every
# command that has the option.
TEXT_MISTAKES: dict[str, list[str]] = {
    "--band": ["99", "nope", "0", "-1"],
    "--bands": ["99", "nope", "0", "1,,2"],
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
KNOWN_BUGS: dict[tuple[str, str], str] = {}

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


def _write_raster(path: Path, data: np.ndarray, *, crs: str | None = UTM, transform: Affine | None = None,
                  nodata: float | None = None) -> Path:  # fmt: skip
    data = data if data.ndim == 3 else data[None]
    transform = transform or Affine(30, 0, 500000, 0, -30, 4000000)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=data.dtype, crs=crs, transform=transform, nodata=nodata) as ds:  # fmt: skip
        ds.write(data)
    return path


def write_inputs(d: Path) -> dict[str, Path]:
    """Tiny real files of every kind the commands read into ``d``, and the wrong files for the mistakes."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    from eokit.testing.resample_grids import distorted_grid, write_grid
    from tests.algorithms.test_sentinel2 import XML

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
