"""``SentinelAPI``: the classic client's API, speaking CDSE by default and DHuS on request.

>>> from eokit.hub import SentinelAPI                      # doctest: +SKIP
>>> api = SentinelAPI("user", "password")                  # CDSE (the default)
>>> products = api.query(footprint, date=("NOW-7DAYS", "NOW"), platformname="Sentinel-2",
...                      cloudcoverpercentage=(0, 30))
>>> api.download_all(products)

With ``api_url`` pointing at a DHuS instance (any URL other than the retired
Copernicus hubs or a CDSE catalogue) it speaks DHuS exactly as before.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict, defaultdict, namedtuple
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from eokit.config import get_settings
from eokit.hub import dhus_query
from eokit.hub.auth import BearerAuth, TokenManager
from eokit.hub.cdse import CdseBackend
from eokit.hub.checksums import file_checksums
from eokit.hub.dhus import DhusBackend, check_response
from eokit.hub.engine import DownloadEngine, DownloadRequest, sanitize_filename
from eokit.hub.exceptions import (
    HubInputError,
    InvalidChecksumError,
    LTAError,
    LTATriggered,
    SentinelAPIError,
    ServerError,
    UnauthorizedError,
)
from eokit.hub.http import HubSession
from eokit.hub.progress import TqdmProgress

__all__ = ["DEFAULT_API_URL", "ResultTuple", "SentinelAPI"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://catalogue.dataspace.copernicus.eu/odata/v1"
_RETIRED_HUBS = ("apihub.copernicus.eu", "scihub.copernicus.eu", "colhub.copernicus.eu")

ResultTuple = namedtuple("ResultTuple", ["downloaded", "retrieval_triggered", "failed"])
QuicklookResult = namedtuple("QuicklookResult", ["downloaded", "failed"])


def _netrc_credentials(url: str) -> tuple[str | None, str | None]:
    try:
        found = requests.utils.get_netrc_auth(url)
    except Exception:
        found = None
    return found if found else (None, None)


class SentinelAPI:
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
    ) -> None:
        settings = get_settings()
        self.show_progressbars = show_progressbars
        self.timeout = timeout
        self.logger = log
        self._concurrent_dl_limit = 4
        self.dl_retry_delay: float = 10.0
        self.lta_retry_delay: float = 60.0
        self.lta_timeout: float | None = None
        self.max_attempts_per_request = settings.http_retries + 1
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
        self.session = HubSession(pool_size=32)
        if provider == "dhus":
            assert api_url is not None
            self.api_url = api_url if api_url.endswith("/") else api_url + "/"
            if user and password:
                self.session.auth = (user, password)
            self._backend: Any = DhusBackend(self.api_url, self.session, timeout)
            self._auth: Any = self.session.auth
            self._user = user
        else:
            cat = catalogue_url or (api_url if api_url and host not in _RETIRED_HUBS else settings.cdse_catalogue_url)
            ident = identity_url or settings.cdse_identity_url
            dl = download_url or settings.cdse_download_url
            self.api_url = cat.rstrip("/") + "/"
            self.catalogue_url, self.identity_url, self.download_url = cat.rstrip("/"), ident, dl.rstrip("/")
            for url in (cat, ident, dl):
                self.session.trust(url)
            if not (user and password):
                user, password = _netrc_credentials(ident)
            self._user = user
            self.token_manager = TokenManager(ident, user, password, session=self.session, timeout=timeout or 60)
            self._auth = BearerAuth(self.token_manager)
            self._backend = CdseBackend(cat, dl, self.session, self._auth, timeout)
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
        if self.provider == "dhus":
            query = self.format_query(area, date, raw, area_relation, **keywords)
            if query.strip() == "":
                raise HubInputError("Empty query.")
            if self.check_query_length(query) > 1.0:
                log.warning("The query string is too long and will likely cause a bad DHuS response.")
            self._last_query = query
            products, count = self._backend.search(query, order_by, limit, offset)
        else:
            if area is None and date is None and not raw and not keywords:
                raise HubInputError("Empty query.")
            products, count = self._backend.search(area, date, raw, area_relation, keywords, order_by, limit, offset)
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
        if self.provider == "dhus":
            query = self.format_query(area, date, raw, area_relation, **keywords)
            self._last_query = query
            return self._backend.count(query)
        return self._backend.count(area, date, raw, area_relation, keywords)

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
    def to_geojson(products: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of the products (dates as ISO strings)."""
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
            features.append({"type": "Feature", "id": i, "geometry": _tuples_to_lists(geometry), "properties": props})
        return {"type": "FeatureCollection", "features": features}

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
        return sanitize_filename(self._backend.filename(info), fallback=info["id"])

    # -- downloads ------------------------------------------------------------------------------------------------

    def _engine(
        self, *, checksum: bool, workers: int = 1, progress: Any = None, max_attempts: int = 10
    ) -> DownloadEngine:
        return DownloadEngine(
            session=self.session,
            auth=self._auth,
            workers=max(1, workers),
            per_host=max(1, self._concurrent_dl_limit),
            max_attempts=max(1, max_attempts),
            backoff=self.dl_retry_delay / 10 if self.dl_retry_delay else 0.0,
            max_backoff=max(self.dl_retry_delay, 0.0),
            verify=checksum,
            timeout=self.timeout or 60,
            progress=progress,
        )

    def download(
        self,
        id: str,
        directory_path: str | os.PathLike[str] = ".",
        checksum: bool = True,
        nodefilter: Callable[..., bool] | None = None,
    ) -> dict[str, Any]:
        """Download one product; returns its info with ``path`` and ``downloaded_bytes``.

        Complete files are skipped, ``.incomplete`` files resumed.

        Raises
        ------
        InvalidChecksumError, LTATriggered, LTAError, InvalidKeyError, UnauthorizedError
        """
        progress = TqdmProgress(1, disable=not self.show_progressbars) if self.show_progressbars else None
        try:
            engine = self._engine(checksum=checksum, progress=progress)
            return self._download_product(id, Path(directory_path), engine, nodefilter=nodefilter)
        finally:
            if progress is not None:
                progress.close()

    def _download_product(
        self,
        id: str,
        directory: Path,
        engine: DownloadEngine,
        *,
        nodefilter: Callable[..., bool] | None = None,
        info: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if nodefilter is not None:
            return self._download_nodes(id, directory, engine, nodefilter)
        info_given = info is not None
        info = dict(info) if info is not None else self.get_product_odata(id)
        filename = self._get_filename(info)
        path = directory / filename
        info["path"] = str(path)
        info["downloaded_bytes"] = 0
        fresh = info_given and "Online" in info
        if not path.exists() and not (info["Online"] if self.provider == "cdse" or fresh else self.is_online(id)):
            if self.provider == "cdse":
                raise LTAError(f"product {id} is offline on CDSE; try again later")
            self.trigger_offline_retrieval(id)
            raise LTATriggered(id)
        request = DownloadRequest(
            url=info["url"],
            key=id,
            filename=filename,
            size=info.get("size"),
            checksums=self._backend.checksums(info),
            title=info.get("title"),
        )
        try:
            result = engine.download(request, directory)
        except InvalidChecksumError:
            raise
        info["downloaded_bytes"] = result.transferred
        info["path"] = str(result.path)
        return info

    def _download_nodes(
        self, id: str, directory: Path, engine: DownloadEngine, nodefilter: Callable[..., bool]
    ) -> dict[str, Any]:
        info = self.get_product_odata(id)
        root = directory / sanitize_filename(info["product_root_dir"], fallback=id)
        info["node_path"] = "./" + info["product_root_dir"]
        manifest_path = root / info["manifest_name"]
        if not manifest_path.exists() and self.provider == "dhus" and self.trigger_offline_retrieval(id):
            raise LTATriggered(id)
        manifest_info = self._get_manifest(info, manifest_path)
        info["nodes"] = {manifest_info["node_path"]: manifest_info}
        nodes = _manifest_nodes(manifest_path, info, self._backend)
        selected = {p: n for p, n in nodes.items() if nodefilter(n)}
        info["nodes"].update(selected)
        for node_path, node in selected.items():
            rel = Path(node_path)
            req = DownloadRequest(
                url=node["url"],
                key=f"{id}/{node_path}",
                filename=rel.name,
                size=node["size"],
                checksums={k: node[k] for k in ("md5", "sha3-256") if k in node},
                title=rel.name,
                subdir=(Path(root.name) / rel.parent).as_posix(),
            )
            result = engine.download(req, directory)
            node["path"] = result.path
            node["downloaded_bytes"] = result.transferred
        return info

    def _get_manifest(self, info: dict[str, Any], path: Path) -> dict[str, Any]:
        node = dict(info)
        node["url"] = self._backend.node_url(info, info["manifest_name"], "value")
        node["node_path"] = f"./{info['manifest_name']}"
        node.pop("md5", None)
        if path.exists():
            node["size"] = path.stat().st_size
            return node
        size = self._backend.manifest_size(info)
        r = self.session.get(node["url"], timeout=self.timeout, auth=self._auth if self.provider == "cdse" else None)
        check_response(r, test_json=False)
        data = r.content
        if size is not None and len(data) != size:
            raise SentinelAPIError("File corrupt: data length do not match")
        node["size"] = len(data)
        from eokit.io.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return node

    def download_all(
        self,
        products: Iterable[str],
        directory_path: str | os.PathLike[str] = ".",
        max_attempts: int = 10,
        checksum: bool = True,
        n_concurrent_dl: int | None = None,
        lta_retry_delay: float | None = None,
        fail_fast: bool = False,
        nodefilter: Callable[..., bool] | None = None,
    ) -> ResultTuple:
        """Download many products in parallel; returns ``(downloaded, retrieval_triggered, failed)``.

        Each is a dict ``uuid -> product info``; failed entries carry ``exception``.
        Offline DHuS products are triggered and downloaded once online.
        Raises the first error if every product failed (or at once with ``fail_fast``).
        """
        ids = list(dict.fromkeys(products))
        directory = Path(directory_path)
        workers = n_concurrent_dl or self._concurrent_dl_limit
        lta_delay = self.lta_retry_delay if lta_retry_delay is None else lta_retry_delay
        downloaded: dict[str, Any] = {}
        triggered: dict[str, Any] = {}
        failed: dict[str, Any] = {}
        if not ids:
            return ResultTuple(downloaded, triggered, failed)
        infos: dict[str, dict[str, Any]] = {}

        def fetch_info(pid: str) -> None:
            try:
                infos[pid] = self.get_product_odata(pid)
            except UnauthorizedError:
                raise
            except SentinelAPIError as exc:
                if fail_fast:
                    raise
                log.error("Getting product info for %s failed, can't download: %s", pid, exc)
                failed[pid] = {"exception": exc}

        # metadata requests in parallel too (the classic client made them one by one)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids)))) as meta_pool:
            for fut in [meta_pool.submit(fetch_info, pid) for pid in ids]:
                fut.result()
        infos = {pid: infos[pid] for pid in ids if pid in infos}
        progress = TqdmProgress(len(infos)) if self.show_progressbars else None
        engine = self._engine(checksum=checksum, workers=workers, progress=progress, max_attempts=max_attempts)
        stop = threading.Event()
        lock = threading.Lock()
        first_error: list[BaseException] = []

        def run(pid: str) -> None:
            info = infos[pid]
            try:
                if not info.get("Online", True):
                    path = directory / self._get_filename(info)
                    if not path.exists():
                        if self.provider == "cdse":
                            raise LTAError(f"product {pid} is offline on CDSE (no retrieval trigger exists); try later")
                        with lock:
                            triggered[pid] = info
                        self._trigger_and_wait(pid, stop, lta_delay)
                        with lock:
                            triggered.pop(pid, None)
                        info["Online"] = True
                result = self._retrying(
                    lambda: self._download_product(pid, directory, engine, nodefilter=nodefilter, info=info),
                    max_attempts,
                    stop,
                )
                with lock:
                    downloaded[pid] = result
            except (concurrent.futures.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:
                info = dict(info)
                info["exception"] = exc
                with lock:
                    if pid in triggered:
                        triggered[pid] = info
                    else:
                        failed[pid] = info
                log.error("%s failed: %s", pid, exc)
                if fail_fast:
                    with lock:
                        first_error.append(exc)
                    stop.set()
                    engine.stop()
                    raise

        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(infos) or 1)), thread_name_prefix="eokit-product"
        )
        try:
            futures = [pool.submit(run, pid) for pid in infos]
            for fut in concurrent.futures.as_completed(futures):
                exc = fut.exception()
                if exc is not None and fail_fast:
                    raise first_error[0] if first_error else exc
        except BaseException:
            stop.set()
            engine.stop()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            if progress is not None:
                progress.close()
        if not downloaded and not triggered and failed:
            first = next(iter(failed.values()))["exception"]
            raise first
        for info in downloaded.values():
            info["Online"] = True
        for info in triggered.values():
            info["Online"] = False
        return ResultTuple(downloaded, triggered, failed)

    def _retrying(self, fn: Callable[[], Any], max_attempts: int, stop: threading.Event) -> Any:
        last: BaseException | None = None
        for attempt in range(max(1, max_attempts)):
            if stop.is_set():
                raise concurrent.futures.CancelledError()
            try:
                return fn()
            except (UnauthorizedError, LTATriggered, LTAError, HubInputError, InvalidChecksumError):
                raise  # the engine already retried the transfer itself
            except ServerError as exc:
                if exc.status_code is not None and exc.status_code < 500 and exc.status_code != 429:
                    raise
                last = exc
            except requests.RequestException as exc:
                last = exc
            if attempt + 1 < max_attempts:
                stop.wait(self.dl_retry_delay)
        assert last is not None
        raise last

    def _trigger_and_wait(self, pid: str, stop: threading.Event, delay: float) -> None:
        start = time.monotonic()
        state_triggered = False
        while True:
            if stop.is_set():
                raise concurrent.futures.CancelledError()
            if self.lta_timeout and time.monotonic() - start >= self.lta_timeout:
                raise LTAError(f"LTA retrieval for {pid} timed out (lta_timeout={self.lta_timeout} seconds)")
            try:
                if self.is_online(pid):
                    return
                if not state_triggered:
                    if not self.trigger_offline_retrieval(pid):
                        return
                    state_triggered = True
                    log.info("%s accepted for retrieval, waiting for it to come online...", pid)
            except (LTAError, ServerError) as exc:
                log.info("%s retrieval was not accepted: %s. Retrying in %s seconds", pid, exc.msg, delay)
            stop.wait(delay)

    def get_stream(self, id: str, **kwargs: Any) -> requests.Response:
        """An open streaming response of the product's bytes (e.g. to copy to object storage)."""
        if not self.is_online(id):
            if self.provider == "dhus":
                self.trigger_offline_retrieval(id)
                raise LTATriggered(id)
            raise LTAError(f"product {id} is offline on CDSE")
        auth = self._auth if self.provider == "cdse" else None
        r = self.session.get(self._backend.download_url(id), stream=True, timeout=self.timeout, auth=auth, **kwargs)
        check_response(r, test_json=False)
        return r

    # -- quicklooks -----------------------------------------------------------------------------------------------

    def download_quicklook(self, id: str, directory_path: str | os.PathLike[str] = ".") -> dict[str, Any]:
        """Download a product's quicklook as ``<title>.jpeg``; ``error`` is '' on success."""
        info = self.get_product_odata(id)
        url = info.get("quicklook_url") or (self._backend.quicklook_url(id) if self.provider == "cdse" else None)
        path = Path(directory_path) / f"{sanitize_filename(info['title'], fallback=id)}.jpeg"
        info.update({"path": str(path), "downloaded_bytes": 0, "error": ""})
        if url is None:
            info["error"] = "no quicklook available"
            return info
        auth = self._auth if self.provider == "cdse" else None
        r = self.session.get(url, timeout=self.timeout, auth=auth)
        check_response(r, test_json=False)
        info["quicklook_size"] = len(r.content)
        if path.exists():
            return info
        content_type = r.headers.get("content-type", "")
        if content_type != "image/jpeg":
            info["error"] = f"Quicklook is not jpeg but {content_type}"
            return info
        from eokit.io.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(r.content)
        info["downloaded_bytes"] = len(r.content)
        return info

    def download_all_quicklooks(
        self, products: Iterable[str], directory_path: str | os.PathLike[str] = ".", n_concurrent_dl: int = 4
    ) -> QuicklookResult:
        """Quicklooks of many products; returns ``(downloaded, failed)``."""
        downloaded, failed = {}, {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, n_concurrent_dl)) as pool:
            futures = {pool.submit(self.download_quicklook, pid, directory_path): pid for pid in products}
            for fut in concurrent.futures.as_completed(futures):
                info = fut.result()
                if info["error"] == "":
                    downloaded[futures[fut]] = info
                else:
                    failed[futures[fut]] = info["error"]
        return QuicklookResult(downloaded, failed)

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
        corrupt: dict[str, list[dict[str, Any]]] = {}
        for path in path_list:
            candidates = infos[path.stem]
            if not path.exists():
                corrupt[str(path)] = candidates
                continue
            ok = False
            for info in candidates:
                algos = [a for a in ("sha3-256", "md5", "blake3") if a in info]
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
    if isinstance(obj, tuple | list):
        return [_tuples_to_lists(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _tuples_to_lists(v) for k, v in obj.items()}
    return obj


def _manifest_nodes(manifest: Path, info: dict[str, Any], backend: Any) -> dict[str, dict[str, Any]]:
    """The data objects listed in a SAFE/SEN3 manifest -> node infos."""
    try:
        doc = ET.parse(manifest)
    except ET.ParseError as exc:
        raise ServerError(f"the product manifest {manifest.name} is not valid XML ({exc})") from None
    section = doc.find("dataObjectSection")
    if section is None:
        section = doc.find(".//dataObjectSection")
    nodes: dict[str, dict[str, Any]] = {}
    for elem in section.iterfind("dataObject") if section is not None else []:
        stream = elem.find("byteStream")
        loc = elem.find("byteStream/fileLocation")
        cs = elem.find("byteStream/checksum")
        if stream is None or loc is None:
            continue
        href = loc.attrib["href"]
        href = href[2:] if href.startswith("./") else href
        node = dict(info)
        node.pop("md5", None)
        node["url"] = backend.node_url(info, href, "value")
        node["size"] = int(stream.attrib["size"])
        if cs is not None and cs.attrib.get("checksumName", "").upper() in ("MD5", "SHA3-256"):
            node[cs.attrib["checksumName"].lower()] = (cs.text or "").strip()
        node["node_path"] = href
        nodes[href] = node
    return nodes
