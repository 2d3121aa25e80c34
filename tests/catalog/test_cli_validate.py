"""CLI commands (CliRunner) and the offline validator agreeing with the shared reference tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eokit.catalog.validate import validate_catalog, validate_document
from eokit.cli.main import cli
from eokit.errors import ConfigError


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
