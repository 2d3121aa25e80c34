"""A ready-made local STAC API for tests and demos: a small drone store, catalogued with checksums, served."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalStacApi", "local_stac_api"]

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
    with running_server(catalog, db_path=workdir / "stac-index.sqlite") as url:
        yield LocalStacApi(url=url, root=root, catalog=catalog, collection="drone-missions")
