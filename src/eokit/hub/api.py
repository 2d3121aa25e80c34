"""``SentinelAPI``: the classic client's API, speaking CDSE by default and DHuS on request.

Example (needs credentials or a reachable server)::

    from eokit.hub import SentinelAPI
    api = SentinelAPI("user", "password")                  # CDSE (the default)
    products = api.query(footprint, date=("NOW-7DAYS", "NOW"), platformname="Sentinel-2",
                         cloudcoverpercentage=(0, 30))
    api.download_all(products)

With ``api_url`` pointing at a DHuS instance (any URL other than the retired
Copernicus hubs or a CDSE catalogue) it speaks DHuS exactly as before.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eokit.hub import dhus_query
from eokit.hub.api_downloads import DownloadsMixin, QuicklookResult, ResultTuple
from eokit.hub.exceptions import (
    HubInputError,
    InvalidChecksumError,
    SentinelAPIError,
)
from eokit.hub.providers import SearchQuery, open_provider

__all__ = ["DEFAULT_API_URL", "QuicklookResult", "ResultTuple", "SentinelAPI"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://catalogue.dataspace.copernicus.eu/odata/v1"
_RETIRED_HUBS = ("apihub.copernicus.eu", "scihub.copernicus.eu", "colhub.copernicus.eu")


def _split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``https://user:pw@host/x`` -> (``https://host/x``, user, pw): credentials never stay in a URL."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), user, password


class SentinelAPI(DownloadsMixin):
    """Search and download Copernicus Sentinel products (CDSE or a DHuS instance).

    Parameters
    ----------
    user, password : str or None
        Credentials; ``None`` reads ``~/.netrc`` (for CDSE: the identity host's entry).
    api_url : str, optional
        ``None`` or a CDSE catalogue URL -> CDSE. The retired Copernicus hubs
        (apihub/scihub) are redirected to CDSE. Any other URL -> DHuS.
    show_progressbars : bool
        tqdm bars during queries and downloads.
    timeout : float
        Seconds to wait for a server response.
    provider : {'cdse', 'dhus'}, optional
        Force the protocol.
    catalogue_url, identity_url, download_url : str, optional
        CDSE endpoints (default: ``EOKIT_CDSE_*`` settings, i.e. the public hosts).
    trusted_hosts : str or iterable of str, optional
        Origins credentials may follow redirects to, besides the one they were sent
        to (see :class:`~eokit.hub.http.HubSession`); CDSE adds its own endpoints and
        ``*.dataspace.copernicus.eu``.
    retries : int, optional
        Retries per request (default ``EOKIT_HTTP_RETRIES``).
    """

    def __init__(
        self,
        user: str | None,
        password: str | None,
        api_url: str | None = None,
        show_progressbars: bool = True,
        timeout: float | None = 60,
        *,
        provider: str | None = None,
        catalogue_url: str | None = None,
        identity_url: str | None = None,
        download_url: str | None = None,
        trusted_hosts: str | Iterable[str] = (),
        retries: int | None = None,
    ) -> None:
        from eokit.config import get_settings  # read per instance (scoped overrides)

        settings = get_settings()
        if api_url:
            api_url, url_user, url_password = _split_userinfo(api_url)
            user, password = user or url_user, password or url_password
        self.show_progressbars = show_progressbars
        self.timeout = timeout
        self.logger = log
        self._concurrent_dl_limit = 4
        self.dl_retry_delay: float = 10.0
        self.lta_retry_delay: float = 60.0
        self.lta_timeout: float | None = None
        # the classic client's setting, now what the session's urllib3 Retry allows (read-only)
        self.max_attempts_per_request = (settings.http_retries if retries is None else retries) + 1
        host = (urlsplit(api_url).hostname or "") if api_url else ""
        if provider is None:
            retired = any(host == h for h in _RETIRED_HUBS)
            if retired:
                log.info("%s was retired in 2023; using the Copernicus Data Space Ecosystem instead", api_url)
            provider = (
                "cdse" if (api_url is None or retired or "/odata/v1" in api_url.rstrip("/")[-9:] + "/") else "dhus"
            )
        if provider not in ("cdse", "dhus"):
            raise HubInputError(f"provider must be 'cdse' or 'dhus', got {provider!r}")
        self.provider = provider
        if provider == "dhus":
            assert api_url is not None
            api_url = api_url if api_url.endswith("/") else api_url + "/"
        else:
            catalogue_url = catalogue_url or (api_url if api_url and host not in _RETIRED_HUBS else None)
        backend: Any = open_provider(
            provider,
            url=api_url if provider == "dhus" else None,
            user=user,
            password=password,
            timeout=timeout,
            catalogue_url=catalogue_url,
            identity_url=identity_url,
            download_url=download_url,
            trusted_hosts=trusted_hosts,
            retries=retries,
        )
        # the classic client's attributes, all read from the one provider
        self._backend: Any = backend
        self.session = backend.session
        self._auth: Any = backend.auth
        self._user = user if provider == "dhus" else getattr(backend.token_manager, "username", user)
        if provider == "dhus":
            self.api_url = backend.api_url
        else:
            self.api_url = backend.catalogue_url + "/"
            self.catalogue_url, self.download_url = backend.catalogue_url, backend.download_url_root
            self.identity_url = backend.identity_url
            self.token_manager = backend.token_manager
        self._last_query: str | None = None

    def __repr__(self) -> str:
        return f"SentinelAPI(user={self._user!r}, api_url={self.api_url!r}, provider={self.provider!r})"

    # -- settings compatible with the classic client --------------------------------------------------------------

    @property
    def page_size(self) -> int:
        """Products per result page (100 on DHuS, 1000 on CDSE)."""
        return self._backend.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self._backend.page_size = int(value)

    @property
    def concurrent_dl_limit(self) -> int:
        """Simultaneous downloads (and connections per host)."""
        return self._concurrent_dl_limit

    @concurrent_dl_limit.setter
    def concurrent_dl_limit(self, value: int) -> None:
        self._concurrent_dl_limit = int(value)

    @property
    def dhus_version(self) -> str:
        if self.provider != "dhus":
            raise SentinelAPIError("dhus_version is only available on a DHuS server")
        return self._backend.dhus_version()

    def _tqdm(self, **kwargs: Any) -> Any:
        from tqdm.auto import tqdm

        kwargs["disable"] = not self.show_progressbars
        return tqdm(**kwargs)

    # -- search ---------------------------------------------------------------------------------------------------

    @staticmethod
    def format_query(
        area: str | None = None,
        date: Any = None,
        raw: str | None = None,
        area_relation: str = "Intersects",
        **keywords: Any,
    ) -> str:
        """The DHuS OpenSearch query string (exactly as the classic client built it)."""
        return dhus_query.format_query(area, date, raw, area_relation, **keywords)

    @staticmethod
    def format_odata_filter(
        area: str | None = None,
        date: Any = None,
        raw: str | None = None,
        area_relation: str = "Intersects",
        **keywords: Any,
    ) -> str:
        """The CDSE OData ``$filter`` for the same arguments (``NOW`` resolved now)."""
        from eokit.hub.cdse_filter import build_filter

        return build_filter(area, date, raw, area_relation, **keywords)

    def query(
        self,
        area: str | None = None,
        date: Any = None,
        raw: str | None = None,
        area_relation: str = "Intersects",
        order_by: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        **keywords: Any,
    ) -> OrderedDict[str, dict[str, Any]]:
        """Search products; returns ``OrderedDict(uuid -> properties)`` with typed values.

        See the classic documentation: ``date=(start, end)`` with ``YYYYMMDD``,
        ISO, ``NOW-1DAY``, ``NOW/DAY`` or ``None`` bounds; tuples are ranges;
        sets are OR; ``order_by="cloudcoverpercentage,-beginposition"``.
        """
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise HubInputError(f"limit must be a non-negative integer, got {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise HubInputError(f"offset must be a non-negative integer, got {offset!r}")
        if area is not None:
            _validate_area(area)
        query = SearchQuery(area, date, raw, area_relation, keywords, order_by, limit, offset)
        try:
            products, count = self._backend.classic_search(query)
        finally:
            self._last_query = self._backend.last_query
        log.info("Found %s products", f"{count:,}")
        return products

    def count(
        self,
        area: str | None = None,
        date: Any = None,
        raw: str | None = None,
        area_relation: str = "Intersects",
        **keywords: Any,
    ) -> int:
        """Number of products matching a query (arguments as :meth:`query`)."""
        for kw in ("order_by", "limit", "offset"):
            keywords.pop(kw, None)
        try:
            return self._backend.classic_count(SearchQuery(area, date, raw, area_relation, keywords))
        finally:
            self._last_query = self._backend.last_query

    @staticmethod
    def check_query_length(query: str) -> float:
        """Ratio of a DHuS query's effective length to the server's maximum (> 1 fails)."""
        return dhus_query.check_query_length(query)

    @staticmethod
    def get_products_size(products: dict[str, dict[str, Any]]) -> float:
        """Total size in GB of products from :meth:`query`."""
        total = 0.0
        for props in products.values():
            value, unit = str(props["size"]).split(" ")[:2]
            size = float(value)
            size /= {"GB": 1.0, "MB": 1024.0, "KB": 1024.0**2, "B": 1024.0**3, "TB": 1 / 1024.0}.get(unit, 1.0)
            total += size
        return round(total, 2)

    # -- conversions ----------------------------------------------------------------------------------------------

    @staticmethod
    def to_geojson(products: dict[str, dict[str, Any]]) -> Any:
        """A :class:`geojson.FeatureCollection` of the products (dates as ISO strings), as the classic client.

        It is a ``dict`` too (``json.dumps`` works); ``.errors()`` / ``.is_valid`` check it.
        """
        import geojson
        import shapely.geometry
        from shapely import wkt as shapely_wkt

        features = []
        for i, (pid, props) in enumerate(products.items()):
            props = dict(props)
            props["id"] = pid
            fp = props.pop("footprint", None)
            props.pop("gmlfootprint", None)
            geometry = shapely.geometry.mapping(shapely_wkt.loads(fp)) if fp else None
            for k, v in props.items():
                if isinstance(v, date | datetime):
                    props[k] = v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            shape = geojson.GeoJSON.to_instance(_tuples_to_lists(geometry)) if geometry else None
            features.append(geojson.Feature(id=i, geometry=shape, properties=props))
        return geojson.FeatureCollection(features)

    @staticmethod
    def to_dataframe(products: dict[str, dict[str, Any]]) -> Any:
        """A pandas DataFrame indexed by product id."""
        import pandas as pd

        return pd.DataFrame.from_dict(products, orient="index")

    @staticmethod
    def to_geodataframe(products: dict[str, dict[str, Any]]) -> Any:
        """A GeoPandas GeoDataFrame (EPSG:4326) with footprints as geometries."""
        import geopandas as gpd
        from shapely import wkt as shapely_wkt

        if not products:
            return gpd.GeoDataFrame(crs="EPSG:4326", geometry=[])
        df = SentinelAPI.to_dataframe(products)
        geometry = [shapely_wkt.loads(fp) if fp else None for fp in df["footprint"]]
        df = df.drop(columns=[c for c in ("footprint", "gmlfootprint") if c in df.columns])
        return gpd.GeoDataFrame(df, crs="EPSG:4326", geometry=geometry)

    # -- product info ---------------------------------------------------------------------------------------------

    def get_product_odata(self, id: str, full: bool = False) -> dict[str, Any]:
        """Basic (or with ``full=True`` all) metadata of one product from OData."""
        return self._backend.get_product_odata(id, full)

    def is_online(self, id: str) -> bool:
        """Whether a product can be downloaded now (False: in the long-term archive)."""
        return self._backend.is_online(id)

    def trigger_offline_retrieval(self, uuid: str) -> bool:
        """Trigger LTA retrieval (DHuS). True if triggered, False if already online."""
        return self._backend.trigger_offline_retrieval(uuid)

    def _get_filename(self, info: dict[str, Any]) -> str:
        from eokit.hub.files import sanitize_filename

        return sanitize_filename(self._backend.filename(info), fallback=info["id"])

    # -- integrity ------------------------------------------------------------------------------------------------

    def _query_names(self, names: list[str]) -> OrderedDict[str, dict[str, Any]]:
        products: dict[str, Any] = {}
        for name in names:
            products.update(self.query(identifier=name))
        output: OrderedDict[str, dict[str, Any]] = OrderedDict((n, {}) for n in names)
        for pid, meta in products.items():
            output.setdefault(meta["identifier"], {})[pid] = meta
        return output

    def check_files(
        self,
        paths: list[str] | None = None,
        ids: list[str] | None = None,
        directory: str | os.PathLike[str] | None = None,
        delete: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        """Verify files on disk against the server's size and checksum; returns the corrupt/missing ones."""
        if not ids and not paths:
            raise HubInputError("Must provide either file paths or product IDs and a directory")
        if ids and not directory:
            raise HubInputError("Directory value missing")
        dir_path = Path(directory) if directory is not None else None
        path_list = [Path(p) for p in paths] if paths else []
        id_list = list(ids or [])
        names = [p.stem for p in path_list]
        if path_list:
            for found in self._query_names(names).values():
                id_list += list(found)
        names_from_paths = set(names)
        infos: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for pid in set(id_list):
            info = self.get_product_odata(pid)
            infos[info["title"]].append(info)
            if info["title"] not in names_from_paths and dir_path is not None:
                path_list.append(dir_path / self._get_filename(info))
        from eokit.hub.checksums import file_checksums

        corrupt: dict[str, list[dict[str, Any]]] = {}
        for path in path_list:
            candidates = infos[path.stem]
            if not path.exists():
                corrupt[str(path)] = candidates
                continue
            ok = False
            for info in candidates:
                algos: list[str] = [a for a in ("sha3-256", "md5", "blake3") if a in info]
                if not algos:
                    raise InvalidChecksumError("No checksum information found in product information.")
                if (
                    path.stat().st_size == info["size"]
                    and file_checksums(path, algos[:1])[algos[0]] == info[algos[0]].lower()
                ):
                    ok = True
                    break
            if not ok:
                corrupt[str(path)] = candidates
                if delete:
                    path.unlink()
        return corrupt


def _validate_area(area: str) -> None:
    if not isinstance(area, str) or not area.strip():
        raise HubInputError("area must be a WKT string (use geojson_to_wkt(read_geojson(path)))")
    from eokit.hub.geo import is_wkt

    if not is_wkt(area):
        raise HubInputError(f"area is not a WKT geometry: {area[:60]!r}")


def _tuples_to_lists(obj: Any) -> Any:
    """Lists instead of tuples; coordinates rounded to 6 decimals (~0.1 m) as the classic GeoJSON output."""
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, tuple | list):
        return [_tuples_to_lists(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _tuples_to_lists(v) for k, v in obj.items()}
    return obj
