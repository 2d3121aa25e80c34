"""eokit.hub's STAC provider searching and downloading (with checksum verification) from `eokit serve`."""

import hashlib

import numpy as np
import pytest
from affine import Affine

from eokit.catalog import CollectionInfo, ReadOptions, build_catalog
from eokit.catalog.server import running_server
from eokit.hub import download, search
from eokit.testing import write_test_raster


@pytest.fixture()
def small_catalog(tmp_path):
    root = tmp_path / "store"
    rng = np.random.default_rng(3)
    for i, (x0, y0) in enumerate([(500000, 4000000), (530000, 4000000), (560000, 4100000)]):
        folder = root / f"mission{i}"
        folder.mkdir(parents=True)
        data = rng.integers(1, 255, (3, 64, 80), dtype=np.uint8)
        write_test_raster(folder / "ortho.tif", data, crs="EPSG:32618", transform=Affine(10, 0, x0, 0, -10, y0))
        write_test_raster(
            folder / "dsm.tif", data[0].astype(np.float32), crs="EPSG:32618", transform=Affine(10, 0, x0, 0, -10, y0)
        )
    out = tmp_path / "catalog"
    result = build_catalog(
        root,
        out,
        group_by="parent",
        collection=CollectionInfo(id="missions"),
        read_options=ReadOptions(checksum="sha2-256"),
    )
    assert result.n_items == 3 and not result.skipped
    return root, out


def test_search_and_verified_download(small_catalog, tmp_path):
    root, out = small_catalog
    with running_server(out, asset_roots=[root]) as url:
        everything = search("stac", url=url, limit=10)
        assert sorted(p.id for p in everything) == ["mission0", "mission1", "mission2"]
        # bbox of mission2 only (UTM 18N -> lon/lat); the others lie 10+ km away
        near = search("stac", url=url, area="POINT(-74.31 37.04)", limit=10)
        assert [p.id for p in near] in (["mission2"], [])
        results = download(list(everything)[:1], tmp_path / "dl", provider="stac", url=url, workers=2)
    assert results and all(r.ok and r.verified for r in results)
    for r in results:
        original = root / everything[0].id / r.path.name
        assert hashlib.sha256(r.path.read_bytes()).hexdigest() == hashlib.sha256(original.read_bytes()).hexdigest()


def test_corrupted_asset_is_detected(small_catalog, tmp_path):
    root, out = small_catalog
    with running_server(out, asset_roots=[root]) as url:
        products = [p for p in search("stac", url=url, limit=10) if p.id == "mission1"]
        assert len(products) == 1
        # the file changes after cataloguing: the published checksum no longer matches
        target = root / "mission1" / "dsm.tif"
        raw = bytearray(target.read_bytes())
        raw[-1] ^= 0xFF
        target.write_bytes(bytes(raw))
        results = download(products, tmp_path / "dl", provider="stac", url=url, workers=1, max_attempts=2)
    bad = [r for r in results if not r.ok]
    assert [r.key for r in bad] == ["mission1/dsm"], results
    assert [r.key for r in results if r.ok and r.verified] == ["mission1/ortho"]
    assert not list((tmp_path / "dl").rglob("dsm.tif"))  # nothing unverified under a final name
