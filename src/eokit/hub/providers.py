"""The one backbone of the hub: a provider protocol, and the factory that opens CDSE, DHuS or STAC.

Every layer above — :class:`eokit.hub.Hub`, :func:`eokit.hub.search`/:func:`~eokit.hub.download`,
the classic :class:`eokit.hub.SentinelAPI` and the ``eokit hub`` CLI — talks to a
:class:`Provider` and only through its public methods:

* ``search(query)`` / ``count(query)`` — a :class:`SearchQuery` -> products / their number;
* ``get(product_id)`` — one :class:`~eokit.hub.Product`;
* ``assets(product, keys)`` — the files to fetch, as :class:`~eokit.hub.DownloadRequest` s
  (file names by the naming rule of :mod:`eokit.hub.engine`);
* ``checksums(product)`` — ``{asset key: {algorithm: hex}}``;
* ``session`` and ``auth`` — the :class:`~eokit.hub.http.HubSession` (retries, credential
  scoping) and the requests auth the downloads use.

CDSE and DHuS also keep the classic calls :class:`SentinelAPI` translates to
(``classic_search``, ``get_product_odata``, ``download_request``...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import requests

from eokit.hub.exceptions import HubInputError
from eokit.hub.http import HubSession, ScopedAuth

if TYPE_CHECKING:  # imported where used: the classic client needs neither to start
    from eokit.hub.download_types import DownloadRequest
    from eokit.hub.products import Product, ProductCollection

__all__ = ["PROVIDERS", "Provider", "SearchQuery", "open_provider"]

PROVIDERS = ("cdse", "dhus", "stac")
CDSE_HOSTS = "*.dataspace.copernicus.eu"


@dataclasses.dataclass(frozen=True)
class SearchQuery:
    """A search in provider-neutral terms (classic keywords for CDSE/DHuS, STAC ``query`` fields for STAC)."""

    area: str | None = None
    """WKT in lon/lat (may cross the antimeridian: providers split it where the server cannot take it)."""
    date: Any = None
    raw: str | None = None
    area_relation: str = "Intersects"
    keywords: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    order_by: str | None = None
    limit: int | None = None
    offset: int = 0
    collection: str | None = None


@runtime_checkable
class Provider(Protocol):
    """What every hub back end implements (see the module docstring)."""

    name: str
    session: requests.Session
    auth: Any

    def search(self, query: SearchQuery) -> ProductCollection: ...

    def count(self, query: SearchQuery) -> int: ...

    def get(self, product_id: str) -> Product: ...

    def assets(self, product: Product, keys: Sequence[str] | None = None) -> list[DownloadRequest]: ...

    def checksums(self, product: Product) -> dict[str, dict[str, str]]: ...


def check_result_count(count: int | None, where: str) -> None:
    """Refuse a search without a limit once ``count`` (declared or fetched) passes ``hub_max_results``."""
    from eokit.config import get_settings

    cap = get_settings().hub_max_results
    if cap and count is not None and count > cap:
        raise HubInputError(
            f"{count} products match at {where}, more than the {cap} eokit pages through without a limit: give "
            "a limit (CLI: --limit) or narrow the search, or raise the cap (EOKIT_HUB_MAX_RESULTS, 0: none)",
            param="limit",
        )


def _netrc_credentials(url: str) -> tuple[str | None, str | None]:
    import requests

    try:
        found = requests.utils.get_netrc_auth(url)
    except Exception:  # a malformed ~/.netrc is not ours to report
        found = None
    return found if found else (None, None)


def open_provider(
    name: str,
    *,
    url: str | None = None,
    user: str | None = None,
    password: str | None = None,
    timeout: float | None = 60.0,
    catalogue_url: str | None = None,
    identity_url: str | None = None,
    download_url: str | None = None,
    trusted_hosts: str | Iterable[str] = (),
    retries: int | None = None,
    pool_size: int = 32,
) -> Provider:
    """Open the ``cdse``, ``dhus`` or ``stac`` provider with one session (retries, credential scoping).

    ``url``: the DHuS root or the STAC API root (for CDSE a catalogue URL, like ``catalogue_url``).
    Credentials: ``user``/``password``, else ``~/.netrc`` (CDSE: the identity host's entry).
    """
    from eokit.config import get_settings

    if name not in PROVIDERS:
        raise HubInputError(f"provider must be one of {', '.join(PROVIDERS)}; got {name!r}", param="provider")
    trusted = [h for h in (trusted_hosts.split(",") if isinstance(trusted_hosts, str) else trusted_hosts) if h]
    session = HubSession(pool_size=pool_size, trusted_hosts=trusted, retries=retries)
    if name == "dhus":
        from eokit.hub.dhus import DhusBackend

        if not url:
            raise HubInputError("the dhus provider needs url= (the DHuS root, e.g. https://host/dhus/)", param="url")
        session.trust(url)  # the credentials go to the hub, not to hosts its answers name
        if user and password:
            session.auth = ScopedAuth((user, password), session)
        return DhusBackend(url, session, timeout)
    if name == "stac":
        from eokit.hub.stac import StacProvider

        if not url:
            raise HubInputError("the stac provider needs url= (the STAC API root)", param="url")
        session.trust(url)  # asset hosts get the credentials only when listed in trusted_hosts
        auth = ScopedAuth((user, password), session) if user and password else None
        return StacProvider(url, session, timeout, auth=auth)
    from eokit.hub.auth import BearerAuth, TokenManager
    from eokit.hub.cdse import CdseBackend

    settings = get_settings()
    cat = (catalogue_url or url or settings.cdse_catalogue_url).rstrip("/")
    ident = identity_url or settings.cdse_identity_url
    dl = (download_url or settings.cdse_download_url).rstrip("/")
    for origin in (cat, ident, dl, CDSE_HOSTS):
        session.trust(origin)
    session.mount_token_endpoint(ident)
    if not (user and password):
        user, password = _netrc_credentials(ident)
    manager = TokenManager(ident, user, password, session=session, timeout=timeout or 60)
    return CdseBackend(cat, dl, session, ScopedAuth(BearerAuth(manager), session), timeout, identity_url=ident)


class ClassicProvider:
    """The protocol methods CDSE and DHuS share, on top of their classic calls."""

    name: str
    session: requests.Session
    auth: Any

    def classic_search(self, query: SearchQuery, progress: Any = None) -> tuple[dict[str, dict[str, Any]], int]:
        raise NotImplementedError  # pragma: no cover - each back end has its own

    def classic_count(self, query: SearchQuery) -> int:
        raise NotImplementedError  # pragma: no cover

    def get_product_odata(self, uuid: str, full: bool = False) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover

    def filename(self, info: dict[str, Any]) -> str:
        raise NotImplementedError  # pragma: no cover

    def search(self, query: SearchQuery) -> ProductCollection:
        from eokit.hub.products import ProductCollection, classic_to_product

        found, total = self.classic_search(query)
        return ProductCollection((classic_to_product(pid, p, self.name) for pid, p in found.items()), total=total)

    def count(self, query: SearchQuery) -> int:
        return self.classic_count(query)

    def get(self, product_id: str) -> Product:
        from eokit.hub.products import odata_to_product

        return odata_to_product(self.get_product_odata(product_id), self.name)

    def download_request(self, info: dict[str, Any]) -> DownloadRequest:
        """The file of a product, from its :meth:`get_product_odata` info."""
        from eokit.hub.download_types import DownloadRequest
        from eokit.hub.files import sanitize_filename

        return DownloadRequest(
            url=info["url"],
            key=info["id"],
            filename=sanitize_filename(self.filename(info), fallback=info["id"]),
            size=info.get("size"),
            checksums=self.info_checksums(info),
            title=info.get("title"),
        )

    @staticmethod
    def info_checksums(info: Mapping[str, Any]) -> dict[str, str]:
        return {k: str(info[k]) for k in ("md5", "sha3-256", "blake3") if info.get(k)}

    def assets(self, product: Product, keys: Sequence[str] | None = None) -> list[DownloadRequest]:
        """One request: the product archive (``keys`` other than ``product`` are refused)."""
        unknown = [k for k in (keys or ()) if k != "product"]
        if unknown:
            raise HubInputError(f"{self.name} products have one asset, 'product'; got {unknown}", param="assets")
        return [self.download_request(self.get_product_odata(product.id))]

    def checksums(self, product: Product) -> dict[str, dict[str, str]]:
        asset = product.assets.get("product")
        found = dict(asset.checksums) if asset is not None else {}
        return {"product": found or self.info_checksums(product.properties)}
