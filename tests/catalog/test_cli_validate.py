"""CLI commands (CliRunner) and the offline validator agreeing with the shared reference tool."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from eokit.catalog.validate import validate_catalog, validate_document
from eokit.cli.main import cli
from eokit.errors import ConfigError, FallbackWarning
from eokit.testing.catalog_tree import write_small_geotiff, write_small_laz


@pytest.fixture
def store_catalog(tmp_path: Path) -> Path:
    """A small catalog eokit built (rasters and a point cloud): what validation must accept."""
    from eokit.catalog import build_catalog

    root = tmp_path / "store"
    for i in range(3):
        write_small_geotiff(root / f"t{i}.tif", x0=500000.0 + 100 * i, y0=4400000.0)
    write_small_laz(root / "cloud.laz", x0=500000.0, y0=4390000.0, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        build_catalog(root, tmp_path / "catalog")
    return tmp_path / "catalog"


def test_cli_item_stdout_and_file(samples: Path, tmp_path: Path, stac_validator) -> None:
    res = CliRunner().invoke(cli, ["catalog", "item", str(samples / "rasterio" / "RGB.byte.tif"), "--id", "rgb"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output[res.output.index("{") :])
    assert doc["id"] == "rgb" and stac_validator(doc) == []
    out = tmp_path / "item.json"
    res = CliRunner().invoke(
        cli, ["catalog", "item", str(samples / "laspy" / "autzen_trim.laz"), "--checksum", "sha2-256", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert stac_validator(out) == []


def test_cli_item_bad_file(samples: Path) -> None:
    res = CliRunner().invoke(cli, ["catalog", "item", str(samples / "laspy" / "garbage.las")])
    assert res.exit_code == 3
    assert "garbage.las" in res.output and "error" in res.output


def test_validate_flags_what_the_reference_tool_flags(tmp_path: Path, schema_dir: Path, stac_validator) -> None:
    good = {
        "type": "Feature", "stac_version": "1.1.0", "id": "a", "bbox": [0, 0, 1, 1],
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
        "properties": {"datetime": "2020-01-01T00:00:00Z", "proj:code": "EPSG:4326"}, "links": [], "assets": {},
        "stac_extensions": ["https://stac-extensions.github.io/projection/v2.0.0/schema.json"],
    }  # fmt: skip
    bad_proj = json.loads(json.dumps(good))
    bad_proj["properties"]["proj:shape"] = ["a", 2]
    bad_core = json.loads(json.dumps(good))
    del bad_core["properties"]["datetime"]
    for doc, ok in ((good, True), (bad_proj, False), (bad_core, False)):
        assert (validate_document(doc, schema_dir=schema_dir) == []) is ok
        assert (stac_validator(doc) == []) is ok
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad_proj))
    report = validate_catalog(path, schema_dir=schema_dir)
    assert not report.ok and report.checked == 1
    res = CliRunner().invoke(cli, ["catalog", "validate", str(path), "--schemas", str(schema_dir), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output)["errors"]


def test_validate_missing_link_and_no_schemas(tmp_path: Path, schema_dir: Path, monkeypatch) -> None:
    cat = {"type": "Catalog", "stac_version": "1.1.0", "id": "c", "description": "d",
           "links": [{"rel": "item", "href": "./gone.json"}]}  # fmt: skip
    (tmp_path / "catalog.json").write_text(json.dumps(cat))
    report = validate_catalog(tmp_path, schema_dir=schema_dir)
    assert any("does not exist" in e for errs in report.errors.values() for e in errs)
    with pytest.raises(ConfigError):
        validate_catalog(tmp_path, schema_dir=tmp_path)


def test_cli_serve_calls_the_server(tmp_path: Path, monkeypatch) -> None:
    import eokit.catalog.server as server

    seen = {}
    monkeypatch.setattr(server, "serve", lambda d, **kw: seen.update(dir=d, **kw))
    (tmp_path / "catalog.json").write_text("{}")
    res = CliRunner().invoke(cli, ["serve", str(tmp_path), "--port", "9999", "--asset-root", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert seen["port"] == 9999 and seen["host"] == "127.0.0.1" and seen["dir"] == str(tmp_path)


def test_cli_serve_rejects_missing_folder(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["serve", str(tmp_path / "nope")])
    assert res.exit_code == 3


def test_one_bad_document_is_reported_and_the_run_goes_on(tmp_path: Path, store_catalog: Path) -> None:
    items = sorted((store_catalog / "items").glob("*.json"))
    items[0].write_text("{ not json")
    report = validate_catalog(store_catalog)  # bundled schemas (or the ../shared mirror)
    assert list(report.errors) == [str(items[0].resolve())]
    assert report.checked >= len(items) + 2  # catalog, collection and every item were looked at


def test_bundled_schemas_cover_what_eokit_writes(store_catalog: Path, monkeypatch) -> None:
    from eokit.catalog.validate import BUNDLED, schema_roots

    monkeypatch.chdir(store_catalog)  # no shared/ mirror above a temporary folder
    monkeypatch.delenv("EOKIT_STAC_SCHEMAS", raising=False)
    assert schema_roots() == [BUNDLED]
    report = validate_catalog(store_catalog)
    assert report.ok, report.errors
    assert report.checked > 3


@pytest.mark.slow
def test_validate_from_an_installed_wheel(tmp_path: Path, store_catalog: Path) -> None:
    """Build the wheel, install it into a fresh venv outside the repository and validate a catalog."""
    import subprocess
    import sys
    import sysconfig
    import venv

    repo = Path(__file__).resolve().parents[2]
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(repo), "--no-deps", "-w", str(wheels), "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here (no build backend from the package index): {build.stderr[-300:]}")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())  # fmt: skip
    (wheel,) = wheels.glob("eokit-*.whl")
    import zipfile

    zipfile.ZipFile(wheel).extractall(site)  # a wheel install is an unzip (no scripts needed for -m)
    # the dependencies come from this test environment (a plain path line: its .pth files, such as the
    # editable eokit, are not processed)
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run = tmp_path / "elsewhere"
    run.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("EOKIT_STAC_SCHEMAS", "PYTHONPATH")}
    where = subprocess.check_output([str(py), "-c", "import eokit; print(eokit.__file__)"], cwd=run, env=env,
                                    text=True).strip()  # fmt: skip
    assert Path(where).is_relative_to(site)
    main = "import sys; from eokit.cli.main import main; sys.argv[0] = 'eokit'; main()"
    out = subprocess.run([str(py), "-c", main, "catalog", "validate", str(store_catalog)], cwd=run, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert " 0 invalid" in out.stdout


@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("realworld", "rio-stac/dataset_mars.tif"),  # a Mars CRS
        ("local", "goes.tif"),  # a geostationary full disk: its corners are off the Earth
    ],
)
def test_cli_item_refuses_with_one_line(shared_data: Path, where: str, name: str) -> None:
    path = (shared_data / "realworld" / name) if where == "realworld" else Path(__file__).parent / "data" / name
    res = CliRunner().invoke(cli, ["catalog", "item", str(path)])
    assert res.exit_code == 3
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("eokit: error: ") and path.name in lines[0]
