"""Provider-neutral search and download over ``cdse``, ``dhus`` and ``stac``.

Example (needs credentials or a reachable server)::

    from eokit import hub
    found = hub.search("stac", url="https://earth-search.aws.element84.com/v1",
                       collection="sentinel-2-l2a", area=(5.9, 45.8, 10.5, 47.8),
                       date=("2024-06-01", "2024-06-30"), limit=10)
    found.to_geodataframe(); found.to_stac()
    hub.download(found, "data/", assets=["red", "nir"])

Every result is a :class:`Product`; a :class:`ProductCollection` converts to
GeoJSON, pandas, GeoPandas and a STAC ItemCollection.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from eokit.hub.engine import DownloadEngine, DownloadRequest, DownloadResult, ProgressReporter
from eokit.hub.exceptions import HubInputError
from eokit.hub.products import Asset, Product, ProductCollection
from eokit.hub.providers import PROVIDERS, ClassicProvider, Provider, SearchQuery, open_provider

__all__ = ["PROVIDERS", "Asset", "Hub", "Product", "ProductCollection", "download", "search"]

_CONNECTION = (
    "url",
    "user",
    "password",
    "catalogue_url",
    "identity_url",
    "download_url",
    "timeout",
    "trusted_hosts",
    "retries",
)


def _area_to_wkt(area: Any) -> str | None:
    if area is None:
        return None
    if isinstance(area, str):
        return area
    if isinstance(area, dict):
        from eokit.hub.geo import geojson_to_wkt

        return geojson_to_wkt(area, decimals=6)
    if isinstance(area, Sequence) and len(area) == 4:
        from eokit.core.geometry import bbox_geometry
        from eokit.hub.geo import validate_lonlat

        w, s, e, n = (float(v) for v in area)
        validate_lonlat(w, s, param="area")
        validate_lonlat(e, n, param="area")
        if s >= n or w == e:
            raise HubInputError(
                f"bbox {tuple(area)} must be (west, south, east, north) with south < north "
                "(west > east: it crosses the antimeridian)",
                param="area",
            )
        return bbox_geometry((w, s, e, n)).wkt
    if hasattr(area, "__geo_interface__"):
        return _area_to_wkt(area.__geo_interface__)
    raise HubInputError(
        f"area must be WKT, GeoJSON, a (west, south, east, north) bbox or a geometry; got {type(area).__name__}",
        param="area",
    )


class Hub:
    """One provider connection: ``Hub("cdse", user=..., password=...)``, ``Hub("stac", url=...)``.

    Everything goes through :attr:`backend`, a :class:`~eokit.hub.providers.Provider`.

    Parameters
    ----------
    provider : {'cdse', 'dhus', 'stac'}
    url : str, optional
        DHuS root URL, STAC API root, or a CDSE catalogue URL (default: settings).
    user, password : str, optional
        Credentials (``None``: ``~/.netrc``).
    catalogue_url, identity_url, download_url : str, optional
        CDSE endpoints.
    timeout : float
    trusted_hosts : str or iterable of str
        Origins credentials may follow redirects to (see :class:`~eokit.hub.http.HubSession`).
    retries : int, optional
        Retries per request (default ``EOKIT_HTTP_RETRIES``).
    """

    def __init__(
        self,
        provider: str = "cdse",
        *,
        url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        catalogue_url: str | None = None,
        identity_url: str | None = None,
        download_url: str | None = None,
        timeout: float = 60.0,
        trusted_hosts: str | Iterable[str] = (),
        retries: int | None = None,
    ) -> None:
        self.provider = provider
        self.url = url
        self.timeout = timeout
        self.backend: Provider = open_provider(
            provider,
            url=url,
            user=user,
            password=password,
            timeout=timeout,
            catalogue_url=catalogue_url,
            identity_url=identity_url,
            download_url=download_url,
            trusted_hosts=trusted_hosts,
            retries=retries,
        )

    def __repr__(self) -> str:
        from eokit.hub.http import redact_url

        return f"Hub({self.provider!r}, url={redact_url(self.url) or None!r})"

    def _query(
        self,
        area: Any,
        date: Any,
        collection: str | None,
        limit: int | None,
        order_by: str | None,
        area_relation: str,
        keywords: dict[str, Any],
    ) -> SearchQuery:
        if collection and self.provider != "stac":
            keywords["platformname"] = collection
        return SearchQuery(
            area=_area_to_wkt(area),
            date=date,
            area_relation=area_relation,
            keywords=keywords,
            order_by=order_by,
            limit=limit,
            collection=collection if self.provider == "stac" else None,
        )

    def search(
        self,
        *,
        area: Any = None,
        date: Any = None,
        collection: str | None = None,
        limit: int | None = None,
        order_by: str | None = None,
        area_relation: str = "Intersects",
        **keywords: Any,
    ) -> ProductCollection:
        """Search; ``collection`` is the platform (``Sentinel-2``) or the STAC collection id."""
        return self.backend.search(self._query(area, date, collection, limit, order_by, area_relation, keywords))

    def count(
        self,
        *,
        area: Any = None,
        date: Any = None,
        collection: str | None = None,
        area_relation: str = "Intersects",
        **keywords: Any,
    ) -> int:
        """How many products a search would find."""
        return self.backend.count(self._query(area, date, collection, None, None, area_relation, keywords))

    def get(self, product_id: str) -> Product:
        """One product by id."""
        return self.backend.get(product_id)

    def download(
        self,
        products: Iterable[Product] | Product,
        directory: str | os.PathLike[str] = ".",
        *,
        assets: Sequence[str] | None = None,
        workers: int = 4,
        per_host: int = 4,
        checksum: bool = True,
        max_attempts: int = 10,
        progress: ProgressReporter | None = None,
    ) -> list[DownloadResult]:
        """Download products (or, for STAC, the chosen ``assets``) into ``directory``.

        Returns one :class:`DownloadResult` per file; failures are in the results.
        File names follow the rule of :mod:`eokit.hub.engine` (STAC assets: ``<item id>/<name>``).
        """
        items = [products] if isinstance(products, Product) else list(products)
        requests_: Iterable[DownloadRequest]
        if isinstance(self.backend, ClassicProvider):
            # each product's metadata (checksums, size, name) is asked for as the downloads go,
            # so the first file starts after one request rather than one per product
            requests_ = (r for p in items for r in self.backend.assets(p, assets))
        else:  # STAC: the items hold everything; a wrong asset key is refused before any download
            requests_ = [r for p in items for r in self.backend.assets(p, assets)]
        engine = DownloadEngine(
            session=self.backend.session,
            auth=self.backend.auth,
            workers=workers,
            per_host=per_host,
            verify=checksum,
            max_attempts=max_attempts,
            timeout=self.timeout,
            progress=progress,
        )
        return engine.download_all(requests_, directory)


def search(provider: str = "cdse", **kwargs: Any) -> ProductCollection:
    """Search a provider: ``search("cdse", area=..., date=(..., ...), collection="Sentinel-2", limit=10)``.

    Connection arguments (``url``, ``user``, ``password``, ``catalogue_url``,
    ``identity_url``, ``download_url``, ``timeout``, ``trusted_hosts``, ``retries``) go to
    :class:`Hub`; the rest to :meth:`Hub.search`.
    """
    conn = {k: kwargs.pop(k) for k in _CONNECTION if k in kwargs}
    return Hub(provider, **conn).search(**kwargs)


def download(
    products: Iterable[Product] | Product,
    directory: str | os.PathLike[str] = ".",
    *,
    provider: str | None = None,
    **kwargs: Any,
) -> list[DownloadResult]:
    """Download products found by :func:`search` (connection arguments as :func:`search`)."""
    items = [products] if isinstance(products, Product) else list(products)
    provider = provider or (items[0].provider if items else "stac")
    conn = {k: kwargs.pop(k) for k in _CONNECTION if k in kwargs}
    if provider == "stac" and "url" not in conn:
        conn["url"] = "about:stac"  # downloads need no API: the assets' hrefs are enough
    return Hub(provider, **conn).download(items, directory, **kwargs)
