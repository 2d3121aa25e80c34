"""A ready-made local STAC API for tests and demos: a small drone store, catalogued with checksums, served."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LocalStacApi", "local_stac_api", "write_static_catalog"]

SEED_GROUP = r"regex:^(?P<id>[^/]+)/processed[^/]*/full/"


@dataclass(frozen=True)
class LocalStacApi:
    """A running server: ``url`` (``http://127.0.0.1:PORT``), the data ``root`` and the ``catalog`` folder."""

    url: str
    root: Path
    catalog: Path
    collection: str


@contextmanager
def local_stac_api(
    workdir: str | os.PathLike[str], *, n_missions: int = 3, laz_every: int = 1
) -> Iterator[LocalStacApi]:
    """Build ``workdir/missions`` (GeoTIFFs + LAZ per mission), catalogue it with ``file:checksum``
    (sha2-256) into ``workdir/stac`` and serve it on 127.0.0.1 until the block exits.

    >>> with local_stac_api(tmp_path) as api:  # doctest: +SKIP
    ...     pystac_client.Client.open(api.url).search(collections=[api.collection]).item_collection()
    """
    from eokit.catalog import CollectionInfo, ReadOptions, build_catalog, running_server
    from eokit.testing.catalog_tree import make_drone_tree

    workdir = Path(workdir)
    root, catalog = workdir / "missions", workdir / "stac"
    make_drone_tree(root, n_missions, laz_every=laz_every)
    build_catalog(
        root,
        catalog,
        group_by=SEED_GROUP,
        collection=CollectionInfo(id="drone-missions", title="Synthetic drone missions", license="CC0-1.0"),
        read_options=ReadOptions(checksum="sha2-256"),
    )
    with running_server(catalog, db_path=workdir / "stac-index.sqlite", asset_roots=[root]) as url:
        yield LocalStacApi(url=url, root=root, catalog=catalog, collection="drone-missions")


def write_static_catalog(
    folder: str | os.PathLike[str],
    items: dict[str, list[dict[str, Any]]],
    *,
    plain: bool = False,
    published_at: str | None = None,
) -> Path:
    """Write ``items`` (by collection id) as a static STAC catalog in ``folder``; return the folder.

    ``plain`` links the items from a Catalog (no Collection) per group; ``published_at``
    (a URL) writes absolute links under it, as an absolute-published catalog has.
    """
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def href(rel: str) -> str:
        return f"{published_at.rstrip('/')}/{rel}" if published_at else f"./{rel}"

    children = []
    for cid, group in items.items():
        sub = folder / cid
        links = [{"rel": "root", "href": href("catalog.json")}, {"rel": "self", "href": href(f"{cid}/collection.json")}]
        for item in group:
            (sub / item["id"]).mkdir(parents=True, exist_ok=True)
            doc = {k: v for k, v in item.items() if k != "links"}
            doc["links"] = [{"rel": "root", "href": href("catalog.json")}]
            if not plain:
                doc["collection"] = cid
            else:
                doc.pop("collection", None)
            (sub / item["id"] / f"{item['id']}.json").write_text(json.dumps(doc))
            rel = f"{cid}/{item['id']}/{item['id']}.json"
            links.append({"rel": "item", "href": href(rel) if published_at else f"./{item['id']}/{item['id']}.json"})
        doc = {"stac_version": "1.0.0", "id": cid, "description": f"{cid} items", "links": links}
        if plain:
            doc["type"] = "Catalog"
        else:
            doc.update(type="Collection", license="proprietary")
            doc["extent"] = {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}}
        (sub / "collection.json").write_text(json.dumps(doc))
        children.append({"rel": "child", "href": href(f"{cid}/collection.json")})
    root: dict[str, Any] = {"type": "Catalog", "stac_version": "1.0.0", "id": "root", "description": "test catalog"}
    root["links"] = [{"rel": "root", "href": href("catalog.json")}, {"rel": "self", "href": href("catalog.json")}]
    root["links"] += children
    (folder / "catalog.json").write_text(json.dumps(root))
    return folder


def validate_api(url: str, shared_dir: Path, *, cwd: Path, collection: str = "collection") -> str:
    """Run ``shared/tools/offline_api_validator.py`` on the drone catalog served at ``url`` (core,
    features, item search, collections, filter, sort, fields); return its output."""
    import json
    import subprocess
    import sys

    geometry = json.dumps(
        {"type": "Polygon", "coordinates": [[[-124, 39], [-122, 39], [-122, 41], [-124, 41], [-124, 39]]]}
    )
    args = [sys.executable, str(shared_dir / "tools" / "offline_api_validator.py"), "--root-url", url,
            "--collection", collection, "--geometry", geometry, "--fields-nested-property", "properties.gsd"]  # fmt: skip
    for c in ("core", "item-search", "features", "collections", "filter", "item-search#sort", "item-search#fields"):
        args += ["--conformance", c]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=cwd)
    return run.stdout + run.stderr
