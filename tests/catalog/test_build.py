"""Catalog builds on the seed's MISSION/processed*/full layout, with injected failures."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from eokit.catalog import CollectionInfo, build_catalog
from eokit.catalog import build as build_module
from eokit.cli.main import cli
from eokit.errors import FallbackWarning
from eokit.testing.catalog_tree import make_drone_tree, write_small_geotiff

from .conftest import SEED_GROUP


@pytest.fixture
def store(tmp_path: Path, samples: Path) -> Path:
    """Six missions (rasters + LAZ) plus failures: garbage.las, truncated TIFF, broken link, CRS-less raster."""
    root = tmp_path / "missions"
    make_drone_tree(root, 6, laz_every=2)
    bad = root / "000007" / "processed" / "full"
    bad.mkdir(parents=True)
    shutil.copy(samples / "laspy" / "garbage.las", bad / "points.las")
    (bad / "orthomosaic.tif").write_bytes((samples / "rasterio" / "RGB.byte.tif").read_bytes()[:400])
    os.symlink(root / "does-not-exist.tif", root / "000001" / "processed_0" / "full" / "dangling.tif")
    write_small_geotiff(root / "000002" / "processed_1" / "full" / "nocrs.tif", x0=0, y0=16, crs=None)
    (root / "README.txt").write_text("not geospatial")
    write_small_geotiff(root / "loose.tif", x0=500000, y0=4400000)  # matches no group
    return root


def _metadata_csv(path: Path, ids: list[str]) -> Path:
    lines = ["mission_id,collection_date,pilot,altitude_m"]
    for i, mid in enumerate(ids):
        lines.append(f"{mid},2022-06-{i + 1:02d}T09:30:00Z,pilot{i},{100 + i}")
    lines.append("999999,2022-07-01T00:00:00Z,ghost,1")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_seed_layout_build(store: Path, tmp_path: Path, stac_validator) -> None:
    out = tmp_path / "stac"
    meta = _metadata_csv(tmp_path / "missions.csv", ["000001", "000002", "000003", "000004"])
    info = CollectionInfo(
        id="ofo",
        title="Drone missions",
        description="Test missions",
        license="CC-BY-4.0",
        providers=[{"name": "OFO", "roles": ["producer"], "url": "https://openforestobservatory.org/"}],
        doi="10.1002/ecs2.3649",
        citation="Gillan et al. 2021",
    )
    result = build_catalog(store, out, group_by=SEED_GROUP, metadata=meta, metadata_key="mission_id", collection=info)
    assert result.n_items == 6
    for name in ("catalog.json", "collection.json", "index.geojson", "items.parquet", "errors.json"):
        assert (out / name).exists(), name
    assert stac_validator(out / "catalog.json") == []
    assert stac_validator(out / "index.geojson") == []
    errors = json.loads((out / "errors.json").read_text())
    reasons = {Path(e["path"]).name: e for e in errors["skipped"]}
    assert set(reasons) == {"points.las", "orthomosaic.tif", "dangling.tif", "nocrs.tif"}
    assert reasons["nocrs.tif"]["error"] == "MissingCRSError"
    assert reasons["points.las"]["error"] == "UnreadableInputError"
    assert "broken" in reasons["dangling.tif"]["reason"]
    assert errors["ungrouped"] == ["loose.tif"]
    assert errors["unmatched_metadata"] == ["999999"]
    assert errors["items_without_metadata"] == ["000005", "000006"]
    assert errors["datetime_from_file_time"] == []  # metadata or TIFF tags dated every item
    item = json.loads((out / "items" / "000003.json").read_text())
    assert item["properties"]["datetime"] == "2022-06-03T09:30:00Z"  # from metadata, not the TIFF tag
    assert item["properties"]["pilot"] == "pilot2"
    assert set(item["assets"]) == {"orthomosaic", "chm-mesh", "dsm-ptcloud", "dtm-ptcloud", "points"}
    assert item["properties"]["pc:count"] == 200
    # asset hrefs of a self-contained catalog are relative and point at the files
    href = item["assets"]["orthomosaic"]["href"]
    assert not href.startswith("/") and (out / "items" / href).resolve() == (
        store / "000003" / "processed_2" / "full" / "orthomosaic.tif"
    )
    item5 = json.loads((out / "items" / "000005.json").read_text())
    assert item5["properties"]["datetime"] == "2023-05-05T12:00:00Z"  # TIFF tag of mission 5
    coll = json.loads((out / "collection.json").read_text())
    assert coll["sci:doi"] == "10.1002/ecs2.3649" and coll["providers"][0]["name"] == "OFO"
    assert coll["license"] == "CC-BY-4.0"
    # pystac reads it back
    import pystac

    cat = pystac.Catalog.from_file(str(out / "catalog.json"))
    assert len(list(cat.get_items(recursive=True))) == 6
    # stac-geoparquet holds the same items
    import pyarrow.parquet as pq

    table = pq.read_table(out / "items.parquet")
    assert table.num_rows == 6
    # eokit's shortcut into stac-geoparquet builds the very table its public API builds
    import stac_geoparquet.arrow as sga

    from eokit.catalog.documents import _numeric_nodata, items_to_arrow

    features = json.loads((out / "index.geojson").read_text())["features"]
    numeric = [_numeric_nodata(f) for f in features]  # nodata as float64 in parquet ("nan" -> NaN)
    assert items_to_arrow(features).equals(sga.parse_stac_items_to_arrow(numeric).read_all())
    assert sorted(table.column("id").to_pylist()) == sorted(f["id"] for f in features)


def test_cli_build_exits_1_when_files_were_skipped(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "stac"
    res = CliRunner().invoke(cli, ["catalog", "build", str(store), "--out", str(out), "--group-by", SEED_GROUP])
    assert res.exit_code == 1, res.output  # the run failed partly: 4 files skipped, the catalog holds the rest
    assert "6 items" in res.output
    assert len(json.loads((out / "errors.json").read_text())["skipped"]) == 4
    # a tree without any dates: items fall back to file times and errors.json says which
    bare = tmp_path / "bare"
    from eokit.testing.catalog_tree import write_small_geotiff as w

    w(bare / "a.tif", x0=500000, y0=4400000)
    CliRunner().invoke(cli, ["catalog", "build", str(bare), "--out", str(tmp_path / "bare-out")])
    assert json.loads((tmp_path / "bare-out" / "errors.json").read_text())["datetime_from_file_time"] == ["a"]
    res = CliRunner().invoke(cli, ["catalog", "validate", str(out)])
    assert res.exit_code == 0, res.output
    assert "0 invalid" in res.output


def test_incremental_recrawl(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "stac"
    first = build_catalog(store, out, group_by=SEED_GROUP)
    assert first.n_reused == 0
    before = (out / "items" / "000001.json").stat().st_ino
    again = build_catalog(store, out, group_by=SEED_GROUP, incremental=True)
    assert again.n_reused == first.n_files and again.n_items == first.n_items
    assert (out / "items" / "000001.json").stat().st_ino == before  # unchanged item linked, not rewritten
    changed = store / "000004" / "processed_0" / "full" / "chm-mesh.tif"
    write_small_geotiff(changed, x0=600000, y0=4400000, when=dt.datetime(2020, 2, 2))
    third = build_catalog(store, out, group_by=SEED_GROUP, incremental=True)
    assert third.n_reused == first.n_files - 1
    item = json.loads((out / "items" / "000004.json").read_text())
    assert item["assets"]["chm-mesh"]["proj:bbox"][0] == 600000


def test_interrupted_build_keeps_previous_catalog(store: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "stac"
    build_catalog(store, out, group_by=SEED_GROUP)
    snapshot = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "write_parquet", boom)
    with pytest.raises(KeyboardInterrupt):
        build_catalog(store, out, group_by="stem")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == snapshot
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_refuses_to_replace_foreign_folder(store: Path, tmp_path: Path) -> None:
    from eokit.errors import OutputError

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(OutputError):
        build_catalog(store, foreign)
    assert (foreign / "thesis.docx").read_text() == "precious"


def test_published_catalog_types(store: Path, tmp_path: Path, stac_validator) -> None:
    out = tmp_path / "pub"
    build_catalog(
        store,
        out,
        group_by=SEED_GROUP,
        catalog_type="absolute-published",
        public_url="https://data.example.org/dav-anon/missions",
        catalog_url="https://data.example.org/stac",
    )
    item = json.loads((out / "items" / "000001.json").read_text())
    assert item["assets"]["orthomosaic"]["href"] == (
        "https://data.example.org/dav-anon/missions/000001/processed_0/full/orthomosaic.tif"
    )
    assert all(link["href"].startswith("https://data.example.org/stac/") for link in item["links"])
    cat = json.loads((out / "catalog.json").read_text())
    assert {"rel": "self", "href": "https://data.example.org/stac/catalog.json", "type": "application/json"} in cat[
        "links"
    ]
    assert stac_validator(out / "collection.json") == []
    rel = tmp_path / "rel"
    build_catalog(store, rel, group_by="parent", catalog_type="relative-published", catalog_url="https://x.org/c")
    cat = json.loads((rel / "catalog.json").read_text())
    coll = json.loads((rel / "collection.json").read_text())
    assert any(link["rel"] == "self" for link in cat["links"])
    assert not any(link["rel"] == "self" for link in coll["links"])
    with pytest.raises(ValueError):
        build_catalog(store, tmp_path / "x", catalog_type="absolute-published")


def test_gpkg_metadata_geometry_replaces_footprint(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Polygon, shape

    root = tmp_path / "m"
    ids = make_drone_tree(root, 2, laz_every=0)
    polys = [Polygon([(-123.1, 39.7), (-122.9, 39.7), (-122.9, 39.8)]), Polygon([(0, 0), (1, 0), (1, 1)])]
    gdf = gpd.GeoDataFrame(
        {"dataset_id": ids, "earliest_datetime": ["2019-06-04 11:59:40+00:00", "2019-06-06 11:22:42+00:00"]},
        geometry=polys,
        crs=4326,
    )
    gdf.to_file(tmp_path / "missions.gpkg")
    out = tmp_path / "out"
    build_catalog(root, out, group_by=SEED_GROUP, metadata=tmp_path / "missions.gpkg", metadata_key="dataset_id")
    item = json.loads((out / "items" / "000001.json").read_text())
    assert shape(item["geometry"]).normalize().equals_exact(polys[0].normalize(), 1e-9)
    assert item["properties"]["datetime"] == "2019-06-04T11:59:40Z"


def test_group_by_rules(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_drone_tree(root, 2, laz_every=0, rasters=("a", "b"))
    out = tmp_path / "o"
    by_stem = build_catalog(root, out, group_by="stem")
    assert by_stem.n_items == 2  # a, b (each merging two missions)
    by_parent = build_catalog(root, out, group_by="parent")
    assert by_parent.n_items == 2
    assert (out / "items" / "000001_processed_0_full.json").exists()
    with pytest.raises(ValueError):
        build_catalog(root, out, group_by="regex:(")
    with pytest.raises(ValueError):
        build_catalog(root, out, group_by="color")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_permission_error_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_drone_tree(root, 1, laz_every=0)
    locked = root / "000001" / "processed_0" / "full" / "orthomosaic.tif"
    locked.chmod(0)
    result = build_catalog(root, tmp_path / "o")
    assert [Path(s.path).name for s in result.skipped] == ["orthomosaic.tif"]


@pytest.mark.parametrize(
    "exc", [OSError(121, "Remote I/O error"), PermissionError(13, "Permission denied")], ids=["eio", "eacces"]
)
def test_io_error_is_recorded(tmp_path: Path, monkeypatch, exc: OSError) -> None:
    import rasterio

    root = tmp_path / "r"
    make_drone_tree(root, 2, laz_every=0)
    real_open = rasterio.open

    def flaky(path, *a, **k):
        if "000002" in str(path) and "orthomosaic" in str(path):
            raise exc
        return real_open(path, *a, **k)

    monkeypatch.setattr(rasterio, "open", flaky)
    import builtins

    import eokit.catalog._tiff as fast_tiff

    real_builtin_open = builtins.open

    def flaky_file(path, *a, **k):
        if "000002" in str(path) and "orthomosaic" in str(path):
            raise exc
        return real_builtin_open(path, *a, **k)

    monkeypatch.setattr(fast_tiff, "open", flaky_file, raising=False)
    result = build_catalog(root, tmp_path / "o", group_by=SEED_GROUP)
    assert result.n_items == 2
    (skip,) = result.skipped
    assert exc.strerror in skip.reason and skip.error == "UnreadableInputError"


def test_dask_scheduler_build(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    root = tmp_path / "r"
    make_drone_tree(root, 2, laz_every=1)
    threads = build_catalog(root, tmp_path / "t", group_by=SEED_GROUP)
    procs = build_catalog(root, tmp_path / "p", group_by=SEED_GROUP, scheduler="processes", workers=2)
    assert procs.n_files == threads.n_files == 10
    a = json.loads((tmp_path / "t" / "items" / "000001.json").read_text())
    b = json.loads((tmp_path / "p" / "items" / "000001.json").read_text())
    assert a == b


def test_output_inside_root_is_not_crawled(tmp_path: Path) -> None:
    root = tmp_path / "store"
    make_drone_tree(root, 2, laz_every=0, rasters=("ortho",))
    out = root / "stac"
    first = build_catalog(root, out, group_by=SEED_GROUP, catalog_type="relative-published",
                          public_url="https://example.org/store")  # fmt: skip
    second = build_catalog(root, out, group_by="stem", catalog_type="relative-published",
                           public_url="https://example.org/store")  # fmt: skip
    assert first.n_files == second.n_files == 2  # index.geojson / state of the catalog are not inputs
    cat = json.loads((out / "catalog.json").read_text())
    self_link = next(link for link in cat["links"] if link["rel"] == "self")
    assert self_link["href"] == "https://example.org/store/stac/catalog.json"


@pytest.mark.parametrize("scheduler", ["threads", "synchronous"])
def test_a_file_that_hangs_is_skipped_and_the_build_completes(tmp_path: Path, monkeypatch, scheduler) -> None:
    """Every scheduler bounds a file's read: threads abandon the stuck reader; the others (synchronous here,
    processes and Dask in their workers) read on a reader thread of the calling worker and replace it."""
    import threading

    import eokit.catalog.item as item_module

    root = tmp_path / "root"
    for i in range(4):
        write_small_geotiff(root / f"t{i}.tif", x0=500000.0 + 100 * i, y0=4400000.0)
    release = threading.Event()
    real = item_module.read_asset

    def slow(path, options=None):
        if str(path).endswith("t2.tif"):
            release.wait(60)  # stands for a reader stuck in a library call
        return real(path, options)

    monkeypatch.setattr(item_module, "read_asset", slow)
    try:
        start = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FallbackWarning)
            result = build_catalog(root, tmp_path / "out", file_timeout=1.0, scheduler=scheduler, workers=2)
        assert time.monotonic() - start < 30
    finally:
        release.set()
    assert result.n_items == 3
    assert [(Path(s.path).name, s.error) for s in result.skipped] == [("t2.tif", "TimeoutError")]
    errors = json.loads((tmp_path / "out" / "errors.json").read_text())
    assert [Path(e["path"]).name for e in errors["skipped"]] == ["t2.tif"]


def test_cli_collection_provider_and_its_old_spelling(tmp_path: Path) -> None:
    from eokit.testing.catalog_tree import write_small_geotiff

    write_small_geotiff(tmp_path / "in" / "a.tif", x0=500000, y0=4400000)
    spec = "OFO|producer,processor|https://example.org/"
    for flag, out in (("--collection-provider", "new"), ("--provider", "old")):
        args = ["catalog", "build", str(tmp_path / "in"), "--out", str(tmp_path / out), flag, spec]
        CliRunner().invoke(cli, args)
        collection = json.loads(next((tmp_path / out).rglob("collection.json")).read_text())
        assert collection["providers"] == [
            {"name": "OFO", "roles": ["producer", "processor"], "url": "https://example.org/"}
        ]
