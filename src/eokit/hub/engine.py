"""The download engine: parallel, resumable, verified while streaming.

* N products in parallel (``workers``) under a per-host connection cap;
* HTTP ``Range`` resume from ``<name>.incomplete`` (also across runs);
* checksums (MD5, SHA3-256, BLAKE3, ...) computed on the bytes as they arrive;
* requests are retried by the session (:mod:`eokit.hub.http`: urllib3 ``Retry``,
  backoff with jitter, ``Retry-After``); a body cut mid-way is resumed from the
  last byte written, a wrong checksum downloads the file again;
* a 401 mid-download refreshes the token (if the auth can) and resumes;
* bodies are asked for with ``Accept-Encoding: identity``; each file has an overall
  deadline and a low-speed limit (``hub_file_deadline``, ``hub_low_speed_limit``);
* the final name appears only by an atomic rename of a verified file;
* server-supplied file names are sanitised (no traversal, no reserved suffixes,
  at most 240 bytes);
* a ledger (``.eokit-downloads.jsonl``) in the target folder records verified
  files with the key (product id, or ``product/asset``) they belong to, so a
  rerun skips them without re-reading and resumes partial ones.

Naming rule: a file goes to ``<folder>/<subdir>/<name>``; when that name is
taken by another key (in the ledger or earlier in the same run), or by a file
eokit cannot show to be this one (no size or checksum agreement), it becomes
``<stem>~2<suffix>``, ``<stem>~3<suffix>``... — an existing file is never
overwritten and never taken for a download on its name alone.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from eokit.errors import InvalidInputError, OutputError
from eokit.hub.checksums import MultiHasher, fastest_checksum, file_checksums
from eokit.hub.download_types import DownloadRequest, DownloadResult, ProgressReporter
from eokit.hub.exceptions import (
    HubConnectionError,
    HubRateLimitError,
    InvalidChecksumError,
    InvalidKeyError,
    SentinelAPIError,
    ServerError,
    UnauthorizedError,
)
from eokit.hub.files import (
    LEDGER_NAME,
    Ledger,
    candidate_names,
    claim_partial,
    same_file,
    sanitize_filename,
    stat_or_none,
    truncate,
    write_all,
)
from eokit.hub.http import HubSession, content_disposition_filename, parse_retry_after
from eokit.hub.transfer import Restart, SpeedGuard, Stalled, chunks, content_range_start, digest_matches, total_size

__all__ = [
    "LEDGER_NAME",
    "DownloadEngine",
    "DownloadRequest",
    "DownloadResult",
    "Ledger",
    "ProgressReporter",
    "sanitize_filename",
]

log = logging.getLogger(__name__)

_IDENTITY = {"Accept-Encoding": "identity"}
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class DownloadEngine:
    """Parallel, resumable, verifying downloader.

    Parameters
    ----------
    session : requests.Session, optional
        Shared session (e.g. with proxies). Default: a :class:`HubSession`.
    auth : requests auth, optional
        A ``(user, password)`` tuple or an ``AuthBase``; if it has a ``refresh()``
        method, a 401 refreshes it once per attempt and the download resumes.
    workers : int
        Products fetched in parallel by :meth:`download_all`.
    per_host : int
        Maximum simultaneous connections to one host.
    max_attempts : int
        Attempts per file after a body broke off or failed its checksum (attempts
        that make progress are not counted against it). Failed *requests* are
        retried by the session (``retries``).
    backoff, max_backoff : float
        Exponential backoff base and cap (seconds) between such attempts; ±50 % jitter.
    max_retry_after : float
        Kept for compatibility; the session caps ``Retry-After`` itself.
    retries : int, optional
        Retries per request of the default session (default ``EOKIT_HTTP_RETRIES``).
    deadline : float, optional
        Seconds one file may take in total (default ``EOKIT_HUB_FILE_DEADLINE``; 0: none).
    low_speed_limit, low_speed_time : optional
        An attempt slower than ``low_speed_limit`` bytes/s for ``low_speed_time``
        seconds is cut and resumed (defaults from the settings).
    chunk_size : int
        Read size in bytes.
    verify : bool
        Check sizes and checksums; a mismatch discards the file and retries.
    timeout : float
        Connect/read timeout (seconds).
    progress : ProgressReporter, optional
        Receives per-file start/update/finish events.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        auth: Any = None,
        workers: int = 4,
        per_host: int = 4,
        max_attempts: int = 10,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        chunk_size: int = 1 << 20,
        verify: bool = True,
        timeout: float = 60.0,
        progress: ProgressReporter | None = None,
        fail_fast: bool = False,
        sleep: Callable[[float], None] | None = None,
        retries: int | None = None,
        deadline: float | None = None,
        low_speed_limit: int | None = None,
        low_speed_time: float | None = None,
    ) -> None:
        from eokit.config import get_settings

        if workers < 1 or per_host < 1 or max_attempts < 1:
            raise InvalidInputError("workers, per_host and max_attempts must be >= 1")
        settings = get_settings()
        self.session = session or HubSession(pool_size=max(workers, per_host) * 2, retries=retries)
        self.deadline = settings.hub_file_deadline if deadline is None else deadline
        self.low_speed_limit = settings.hub_low_speed_limit if low_speed_limit is None else low_speed_limit
        self.low_speed_time = settings.hub_low_speed_time if low_speed_time is None else low_speed_time
        if self.deadline < 0 or self.low_speed_limit < 0 or self.low_speed_time <= 0:
            raise InvalidInputError("deadline and low_speed_limit must be >= 0, low_speed_time > 0", param="deadline")
        self.auth = auth
        self.workers = workers
        self.per_host = per_host
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.chunk_size = chunk_size
        self.verify = verify
        self.timeout = timeout
        self.progress = progress
        self.fail_fast = fail_fast
        self._stop = threading.Event()
        self._sleep = sleep
        self._names: dict[Path, str] = {}  # final path -> key, for this engine's life
        self._host_locks: dict[str, threading.BoundedSemaphore] = {}
        self._host_guard = threading.Lock()
        self._auth_lock = threading.Lock()

    # -- public -------------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask running downloads to stop at the next chunk (partial files are kept)."""
        self._stop.set()

    def download(self, request: DownloadRequest, directory: str | os.PathLike[str]) -> DownloadResult:
        """Fetch one file into ``directory``; raise the last error if it cannot be completed."""
        result = self._download_one(request, Path(directory))
        if result.error is not None:
            raise result.error
        return result

    def download_all(
        self, requests_: Iterable[DownloadRequest], directory: str | os.PathLike[str]
    ) -> list[DownloadResult]:
        """Fetch many files in parallel; failures are reported in the results (or raised with ``fail_fast``).

        ``requests_`` is consumed as the downloads run: a generator that asks a server for each
        product's metadata lets the first files start after one such request.
        Interrupted (``KeyboardInterrupt``; the CLI turns SIGTERM into one), running
        downloads write what they have received, keep their ``.incomplete`` files for
        a later resume, and stop.
        """
        directory = Path(directory)
        results: dict[int, DownloadResult] = {}
        futures: dict[concurrent.futures.Future[DownloadResult], int] = {}
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="eokit-dl")

        def stop_on_failure(fut: concurrent.futures.Future[DownloadResult]) -> None:
            if self.fail_fast and not fut.cancelled() and fut.exception() is None and fut.result().error is not None:
                self._stop.set()

        try:
            for i, item in enumerate(requests_):
                if self._stop.is_set():
                    break
                fut = pool.submit(self._download_one, item, directory)
                futures[fut] = i
                fut.add_done_callback(stop_on_failure)
            for fut in concurrent.futures.as_completed(futures):
                res = fut.result()
                results[futures[fut]] = res
                if res.error is not None and self.fail_fast:
                    self._stop.set()
                    raise res.error
        except BaseException:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
        return [results[i] for i in range(len(futures))]

    # -- internals ----------------------------------------------------------------------------------------------

    def _host_lock(self, url: str) -> threading.BoundedSemaphore:
        parts = urlsplit(url)
        host = f"{parts.hostname}:{parts.port}"
        with self._host_guard:
            return self._host_locks.setdefault(host, threading.BoundedSemaphore(self.per_host))

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        elif self._stop.wait(seconds):
            raise concurrent.futures.CancelledError()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        base = min(self.max_backoff, self.backoff * 2 ** max(0, attempt - 1))
        return base * (0.5 + random.random())

    def _get(self, url: str, headers: dict[str, str], *, method: str = "GET") -> requests.Response:
        return self.session.request(
            method,
            url,
            headers={**_IDENTITY, **headers},
            stream=True,
            timeout=self.timeout,
            auth=self.auth,
            allow_redirects=True,
        )

    def _refresh_auth(self) -> bool:
        refresh = getattr(self.auth, "refresh", None)
        if refresh is None:
            return False
        with self._auth_lock:
            refresh()
        return True

    def _resolve_filename(self, request: DownloadRequest) -> str:
        if request.filename:
            return sanitize_filename(request.filename, fallback=request.key)
        name = None
        with self._host_lock(request.url):
            try:
                r = self._get(request.url, {}, method="HEAD")
                with contextlib.closing(r):
                    if r.ok:
                        name = content_disposition_filename(r.headers)
            except _NETWORK_ERRORS:
                name = None
        if not name:
            from urllib.parse import unquote

            name = unquote(urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1])
        return sanitize_filename(name, fallback=request.key)

    def _download_one(self, request: DownloadRequest, directory: Path) -> DownloadResult:
        result = DownloadResult(key=request.key, url=request.url, path=None, status="failed")
        try:
            self._run(request, directory, result)
        except concurrent.futures.CancelledError as exc:
            result.error = exc
        except Exception as exc:
            result.error = exc
            log.warning("download of %s failed: %s", request.title or request.key, exc)
        if result.error is not None:
            result.status = "failed"
        if self.progress is not None:
            self.progress.finish(request.key, result.ok)
        return result

    def _run(self, request: DownloadRequest, directory: Path, result: DownloadResult) -> None:
        from eokit.io.atomic import ensure_writable_dir, safe_join  # eokit.io imports rasterio: not at import time

        root = ensure_writable_dir(directory)
        target_dir = root
        if request.subdir:
            target_dir = safe_join(root, request.subdir)
            target_dir.mkdir(parents=True, exist_ok=True)
        ledger = Ledger(root)
        expected = fastest_checksum(request.checksums)  # one pass, cheapest strong algorithm
        what = request.title or request.key
        names = candidate_names(self._resolve_filename(request))
        name = next(names)
        claims = 0
        while True:
            final = safe_join(target_dir, name)
            rel = final.relative_to(root.resolve()).as_posix()
            result.path = final
            with self._host_guard:
                owner = self._names.setdefault(final, request.key)
            if owner == request.key:
                state = self._state(final, rel, request, expected, ledger, result)
            elif (ledger.get(rel) or {}).get("key") == request.key:
                # another key of this run is trying the name the ledger gives us (it will move on):
                # ours if the file is still our verified one
                state = (
                    "complete" if self._state(final, rel, request, expected, ledger, result) == "complete" else "taken"
                )
            else:
                state = "taken"
            if state == "complete":
                result.status, result.size = "skipped", final.stat().st_size
                return
            if state == "taken":
                if owner == request.key:
                    with self._host_guard:  # not ours after all: free the reservation for its owner
                        self._names.pop(final, None)
                name = self._next_name(names, final, what)
                continue
            before = stat_or_none(final)
            temp = final.with_name(final.name + ".incomplete")
            with claim_partial(temp, stopped=self._stop.is_set, what=what) as fd:
                now = stat_or_none(final)
                if fd is None or (now is not None and not same_file(before, now)):
                    # another downloader (process) finished this name while we waited for its claim
                    if fd is not None and os.fstat(fd).st_size == 0:
                        temp.unlink(missing_ok=True)  # the empty file this claim created
                    state = self._state(final, rel, request, expected, ledger, result) if now else "free"
                    if state == "complete":
                        log.info("%s was completed by another downloader", what)
                        result.status, result.size = "skipped", final.stat().st_size
                        return
                    claims += 1
                    if claims > 3:
                        raise ServerError(f"could not claim {temp.name}: other downloaders keep taking it")
                    if state == "taken":
                        name = self._next_name(names, final, what)
                    continue
                try:
                    self._fetch(request, fd, expected, result)
                except BaseException:
                    if os.fstat(fd).st_size == 0:
                        temp.unlink(missing_ok=True)  # nothing arrived: leave no empty partial file behind
                    raise
                try:
                    os.replace(temp, final)
                except OSError as exc:
                    raise OutputError(f"cannot move the verified download into place ({exc})", path=final) from None
                entry = {
                    "key": request.key,
                    "size": result.size,
                    "checksums": result.checksums,
                    "verified": result.verified,
                    "completed": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                self._record(ledger, rel, entry)  # before the claim is released: a waiter then finds it complete
            result.status = "downloaded"
            return

    @staticmethod
    def _next_name(names: Iterator[str], final: Path, what: str) -> str:
        try:
            name = next(names)
        except StopIteration:
            raise OutputError(f"no free file name for {what}", path=final) from None
        log.warning("%s exists and is not %s: using %s instead", final.name, what, name)
        return name

    @staticmethod
    def _record(ledger: Ledger, rel: str, entry: dict[str, Any]) -> None:
        """Record a verified file; a failing ledger write (disk full) leaves the file verified and in place."""
        try:
            ledger.record(rel, entry)
        except OSError as exc:
            log.warning("could not record %s in the download ledger (%s); a rerun verifies it again", rel, exc)

    def _state(
        self,
        final: Path,
        rel: str,
        request: DownloadRequest,
        expected: dict[str, str],
        ledger: Ledger,
        result: DownloadResult,
    ) -> str:
        """``free`` (no file), ``complete`` (this key's verified file) or ``taken`` (someone else's)."""
        st = stat_or_none(final)
        entry = ledger.get(rel)
        if st is None:
            return "free"
        size = st.st_size
        if entry is not None and entry.get("key") != request.key:
            return "taken"
        if entry is not None and entry.get("size") == size:
            known = entry.get("checksums") or {}
            if all(known.get(a) == v for a, v in expected.items() if a in known) and (
                request.size is None or request.size == size
            ):
                result.checksums = dict(known)
                result.verified = bool(entry.get("verified"))
                return "complete"
        if request.size is not None and request.size != size:
            return "taken"
        if not expected or not self.verify:
            if request.size is None:
                return "taken"  # nothing to compare: a name match alone is no evidence
        else:
            digests = file_checksums(final, list(expected))
            if any(not digest_matches(digests[a], v) for a, v in expected.items()):
                return "taken"
            result.checksums, result.verified = digests, True
        self._record(
            ledger, rel, {"key": request.key, "size": size, "checksums": result.checksums, "verified": result.verified}
        )
        return "complete"

    def _hasher(self, algorithms: list[str]) -> MultiHasher:
        return MultiHasher(algorithms)

    def _fetch(self, request: DownloadRequest, fd: int, expected: dict[str, str], result: DownloadResult) -> None:
        """Complete the claimed partial file ``fd`` (resuming from its size) and verify it."""
        algorithms = list(expected) if self.verify else []
        offset = os.fstat(fd).st_size
        what = request.title or request.key
        if request.size is not None and offset > request.size:
            log.warning("the partial file of %s is larger than the expected %d bytes: restarting", what, request.size)
            offset = truncate(fd)
        hasher = self._hasher(algorithms)
        if offset and algorithms:  # the resumed prefix; new bytes are hashed as they arrive
            buf = bytearray(self.chunk_size)
            view = memoryview(buf)
            pos = 0
            while pos < offset and (n := os.preadv(fd, [view[: min(len(buf), offset - pos)]], pos)):
                hasher.update(view[:n])
                pos += n
        result.resumed_from = offset
        if self.progress is not None:
            self.progress.start(request.key, request.title or request.key, request.size, offset)
        failures = 0
        last_error: BaseException | None = None
        auth_refreshes = 0  # consecutive 401s answered by a refresh, without progress in between
        deadline = time.monotonic() + self.deadline if self.deadline else None
        while True:
            if self._stop.is_set():
                raise concurrent.futures.CancelledError()
            if deadline is not None and time.monotonic() > deadline:
                raise Stalled(f"{what} passed its deadline of {self.deadline:g} s (hub_file_deadline)")
            if failures >= self.max_attempts or result.attempts >= self.max_attempts * 20:
                raise last_error or ServerError(f"giving up on {request.title or request.key}")
            result.attempts += 1
            retry_after: float | None = None
            progressed = False
            received = result.transferred
            try:
                headers = {"Range": f"bytes={offset}-"} if offset else {}
                if request.size is not None and offset == request.size and offset > 0:
                    done = True
                else:
                    guard = SpeedGuard(self.low_speed_limit, self.low_speed_time, deadline, what)
                    done, offset, progressed, hasher = self._transfer(
                        request, fd, offset, headers, hasher, algorithms, result, guard
                    )
                if done:
                    self._verify(request, fd, offset, hasher, expected, result)
                    return
                last_error = ServerError(f"transfer of {request.title or request.key} ended early at byte {offset}")
            except Restart:
                offset, hasher = truncate(fd), self._hasher(algorithms)
                progressed = False
                last_error = ServerError("server ignored the resume request")
            except UnauthorizedError as exc:
                if auth_refreshes >= 3 or not self._refresh_auth():
                    raise
                auth_refreshes += 1
                last_error = exc
                continue
            except InvalidChecksumError as exc:
                progressed = False
                offset, hasher = truncate(fd), self._hasher(algorithms)
                last_error = exc
                if result.transferred == 0:  # every byte came from an earlier run's partial file: not an attempt
                    log.warning("the partial file of %s left by an earlier run is corrupt; downloading it again", what)
                    continue
                log.warning("%s; downloading it again", exc)
            except Stalled as exc:
                if deadline is not None and time.monotonic() > deadline:
                    raise
                last_error = exc  # too slow: cut, and resume on a fresh connection
            except HubConnectionError:
                raise  # the session already retried this request
            except _NETWORK_ERRORS as exc:
                last_error = ServerError(f"connection problem while downloading {request.title or request.key}: {exc}")
            if result.transferred != received and offset != os.fstat(fd).st_size:
                # an attempt that failed mid-body: every chunk it wrote was hashed, so go on from the file's end
                offset, progressed = os.fstat(fd).st_size, True
            if progressed:  # the body broke off after making progress: resume at once on a new connection
                failures = 0
                auth_refreshes = 0
                log.info("resuming %s at byte %d (%s)", request.title or request.key, offset, last_error)
                continue
            failures += 1
            if failures < self.max_attempts:
                wait = self._backoff(failures, retry_after)
                log.info("retrying %s in %.2fs (%s)", request.title or request.key, wait, last_error)
                self._wait(wait)

    def _transfer(
        self,
        request: DownloadRequest,
        fd: int,
        offset: int,
        headers: dict[str, str],
        hasher: MultiHasher,
        algorithms: list[str],
        result: DownloadResult,
        guard: SpeedGuard | None = None,
    ) -> tuple[bool, int, bool, MultiHasher]:
        progressed = False
        what = request.title or request.key
        with self._host_lock(request.url):
            response = self._get(request.url, headers)
            with contextlib.closing(response):
                self._check_status(response, request)
                if offset and response.status_code == 200:
                    log.info("server ignored Range for %s: restarting from 0", request.title or request.key)
                    offset, hasher = truncate(fd), self._hasher(algorithms)
                    if self.progress is not None:
                        self.progress.start(request.key, request.title or request.key, request.size, 0)
                elif response.status_code == 206:
                    start = content_range_start(response.headers.get("Content-Range"))
                    if start is not None and start != offset:
                        raise Restart()
                elif response.status_code == 416:
                    raise Restart()
                total = request.size
                if total is None:
                    total = total_size(response, offset)
                    request.size = total
                encoded = (response.headers.get("Content-Encoding") or "identity").lower() != "identity"
                if encoded and total is None:
                    raise ServerError(
                        f"the server compressed {what} although identity was asked, and declared no size: "
                        "its decoded size cannot be bounded",
                        response,
                    )
                os.lseek(fd, offset, os.SEEK_SET)
                for chunk in chunks(response, self.chunk_size, stop=self._stop.is_set, guard=guard):
                    n = len(chunk)
                    if not n:
                        continue
                    if total is not None and offset + n > total:
                        if encoded:
                            raise ServerError(f"the compressed body of {what} inflates beyond its {total} bytes")
                        raise Restart()
                    try:  # written at once: whatever arrived is kept, even when stopping now
                        write_all(fd, chunk)
                    except OSError as exc:
                        raise OutputError(f"cannot write {what}: {exc.strerror or exc}") from None
                    hasher.update(chunk)
                    offset += n
                    result.transferred += n
                    progressed = True
                    if self.progress is not None:
                        self.progress.update(request.key, n)
                if self._stop.is_set() and (total is None or offset < total):
                    raise concurrent.futures.CancelledError()
        done = total is None or offset == total
        return done, offset, progressed, hasher

    def _check_status(self, response: requests.Response, request: DownloadRequest) -> None:
        code = response.status_code
        if code in (200, 206, 416):
            return
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        what = request.title or request.key
        if code == 401:
            raise UnauthorizedError(f"the server refused the credentials while downloading {what}", response)
        if code == 404:
            raise InvalidKeyError(f"{what} was not found on the server", response)
        if code == 202:
            raise SentinelAPIError(f"{what} is offline (retrieval accepted but not yet available)", response)
        if code == 429 or (code == 503 and retry_after is not None):
            raise HubRateLimitError(f"the server kept asking to slow down while downloading {what}", response)
        err = ServerError(f"unexpected answer while downloading {what}", response)
        err.retry_after = retry_after
        err.status_code = code
        raise err

    def _verify(
        self,
        request: DownloadRequest,
        fd: int,
        offset: int,
        hasher: MultiHasher,
        expected: dict[str, str],
        result: DownloadResult,
    ) -> None:
        result.size = offset
        if not self.verify:
            return
        size = os.fstat(fd).st_size
        if request.size is not None and size != request.size:
            raise InvalidChecksumError(
                f"File corrupt: {request.title or request.key} has {size} bytes, expected {request.size}"
            )
        digests = hasher.hexdigests()
        bad = [a for a, v in expected.items() if not digest_matches(digests.get(a), v)]
        if bad:
            raise InvalidChecksumError(  # the classic client's words: scripts look for them
                f"File corrupt: checksums do not match ({', '.join(bad)}): "
                f"the downloaded file for '{request.title or request.key}' is corrupted"
            )
        result.checksums = digests
        result.verified = bool(expected)
