"""Downloads of :class:`~eokit.hub.SentinelAPI`: single, parallel, partial (nodes), quicklooks, streams.

Mixed into ``SentinelAPI``; everything goes through :class:`~eokit.hub.engine.DownloadEngine`.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from eokit.hub.dhus import check_response
from eokit.hub.exceptions import (
    LTAError,
    LTATriggered,
    SentinelAPIError,
    ServerError,
    UnauthorizedError,
)

if TYPE_CHECKING:  # the engine is imported when the first download starts
    from eokit.hub.engine import DownloadEngine


__all__ = ["DownloadsMixin", "QuicklookResult", "ResultTuple"]

log = logging.getLogger("eokit.hub.api")

ResultTuple = namedtuple("ResultTuple", ["downloaded", "retrieval_triggered", "failed"])
QuicklookResult = namedtuple("QuicklookResult", ["downloaded", "failed"])


class DownloadsMixin:
    """The download half of :class:`~eokit.hub.SentinelAPI` (needs its backend, session and settings)."""

    provider: str
    session: requests.Session
    timeout: float | None
    show_progressbars: bool
    dl_retry_delay: float
    lta_retry_delay: float
    lta_timeout: float | None
    _concurrent_dl_limit: int
    _auth: Any
    _backend: Any
    get_product_odata: Callable[..., dict[str, Any]]
    is_online: Callable[[str], bool]
    trigger_offline_retrieval: Callable[[str], bool]
    _get_filename: Callable[[dict[str, Any]], str]

    # -- downloads ------------------------------------------------------------------------------------------------

    def _engine(
        self, *, checksum: bool, workers: int = 1, progress: Any = None, max_attempts: int = 10
    ) -> DownloadEngine:
        from eokit.hub.engine import DownloadEngine

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

        Complete files are skipped, ``.incomplete`` files resumed. As in the classic client,
        one call is one verified attempt: a body cut short is resumed, but a file whose
        checksum does not match is removed and :class:`InvalidChecksumError` raised
        (:meth:`download_all` downloads it again, up to ``max_attempts`` times).

        Raises
        ------
        InvalidChecksumError, LTATriggered, LTAError, InvalidKeyError, UnauthorizedError
        """
        from eokit.hub.progress import TqdmProgress

        progress = TqdmProgress(1, disable=not self.show_progressbars) if self.show_progressbars else None
        try:
            engine = self._engine(checksum=checksum, progress=progress, max_attempts=1)
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
        request = self._backend.download_request(info)
        path = directory / str(request.filename)
        info["path"] = str(path)
        info["downloaded_bytes"] = 0
        fresh = info_given and "Online" in info
        if not path.exists() and not (info["Online"] if self.provider == "cdse" or fresh else self.is_online(id)):
            if self.provider == "cdse":
                raise LTAError(f"product {id} is offline on CDSE; try again later")
            self.trigger_offline_retrieval(id)
            raise LTATriggered(id)
        result = engine.download(request, directory)
        info["downloaded_bytes"] = result.transferred
        info["path"] = str(result.path)
        return info

    def _download_nodes(
        self, id: str, directory: Path, engine: DownloadEngine, nodefilter: Callable[..., bool]
    ) -> dict[str, Any]:
        info = self.get_product_odata(id)
        from eokit.hub.files import sanitize_filename

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
            from eokit.hub.download_types import DownloadRequest

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
            err = SentinelAPIError("File corrupt: data length do not match")
            err.path = str(path)  # the manifest it was going to be
            raise err
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
        from eokit.hub.progress import TqdmProgress

        progress = TqdmProgress(len(ids)) if self.show_progressbars else None
        engine = self._engine(checksum=checksum, workers=workers, progress=progress, max_attempts=max_attempts)
        stop = threading.Event()
        lock = threading.Lock()
        first_error: list[BaseException] = []

        def give_up(exc: BaseException) -> None:
            """Stop every download: ``exc`` is raised by ``download_all``."""
            with lock:
                first_error.append(exc)
            stop.set()
            engine.stop()

        def run(pid: str) -> None:
            # each worker asks for its product's metadata right before downloading it, so the first
            # bytes arrive after one metadata request instead of after all of them
            if stop.is_set():
                raise concurrent.futures.CancelledError()
            try:
                info = self.get_product_odata(pid)
            except UnauthorizedError as exc:  # the account, not the product: nothing else can succeed
                give_up(exc)
                raise
            except SentinelAPIError as exc:
                log.error("Getting product info for %s failed, can't download: %s", pid, exc)
                with lock:
                    failed[pid] = {"exception": exc}
                if progress is not None:
                    progress.finish(pid, False)
                if fail_fast:
                    give_up(exc)
                    raise
                return
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
                if stop.is_set():
                    raise concurrent.futures.CancelledError()
                result = self._download_product(pid, directory, engine, nodefilter=nodefilter, info=info)
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
                    give_up(exc)
                    raise

        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(ids))), thread_name_prefix="eokit-product"
        )
        try:
            futures = [pool.submit(run, pid) for pid in ids]
            for fut in concurrent.futures.as_completed(futures):
                exc = fut.exception()
                if exc is not None and not isinstance(exc, concurrent.futures.CancelledError):
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
        from eokit.hub.files import sanitize_filename

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


def _manifest_nodes(manifest: Path, info: dict[str, Any], backend: Any) -> dict[str, dict[str, Any]]:
    """The data objects listed in a SAFE/SEN3 manifest -> node infos."""
    import xml.etree.ElementTree as ET

    try:
        doc = ET.parse(manifest)
    except ET.ParseError as exc:
        err = ServerError(f"the product manifest {manifest.name} is not valid XML ({exc})")
        err.path = str(manifest)
        raise err from None
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
