"""HTTP plumbing shared by the providers: one session with retries and scoped credentials.

* **Retries** — every request made through a :class:`HubSession` (search, count,
  metadata, quicklooks, token, download) goes through urllib3's :class:`~urllib3.util.Retry`:
  connection errors and the answers 408/425/429/500/502/503/504 are retried
  with exponential backoff and jitter, honouring ``Retry-After`` (capped), at
  most ``retries`` times (``EOKIT_HTTP_RETRIES``). Token requests (``POST``)
  are retried only where the server cannot have acted on them: a connection
  that never reached it, or a 429/503 answer.
* **Credential scoping** — the provider's credentials (bearer token or basic
  credentials, wrapped in :class:`ScopedAuth`) are only sent to the origins the
  session trusts: the provider's own endpoints and ``trusted_hosts``. A product or
  asset URL a server names on another host is fetched without them. An
  ``Authorization`` header follows a redirect only to the same scheme, host and port
  as the request it was sent with, or to a trusted origin; never from ``https`` to ``http``.
* **Answer size** — an answer read whole (search pages, metadata, tokens, manifests,
  quicklooks; not the streamed downloads) may hold at most :data:`MAX_ANSWER_BYTES`
  (64 MiB) once decoded: more is refused by the declared ``Content-Length``, or when the
  count passes it (a chunked or compressed body), with a :class:`~eokit.hub.ServerError`.
* **Environment** — proxies (``HTTPS_PROXY``, ``NO_PROXY``...) and ``REQUESTS_CA_BUNDLE``
  are read once per origin and session, not on every request as requests does
  (a scan of ``os.environ`` each time: ~0.1-0.4 ms, a few times per product).
* **Secrets** — :func:`redact_url` removes user info and query strings from URLs
  shown in messages; a connection failure becomes one :class:`HubConnectionError`
  naming the redacted origin.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
import urllib3
from requests.sessions import merge_setting
from urllib3.util import Retry

from eokit import __version__
from eokit.hub.exceptions import HubConnectionError

__all__ = [
    "MAX_ANSWER_BYTES",
    "ScopedAuth",
    "USER_AGENT",
    "BoundedAdapter",
    "HubRetry",
    "HubSession",
    "content_disposition_filename",
    "make_retry",
    "parse_retry_after",
    "redact_url",
    "stac_client",
]

log = logging.getLogger(__name__)

USER_AGENT = f"eokit/{__version__}"
MAX_ANSWER_BYTES = 64 << 20
"""Largest answer a hub request reads whole (decoded): search pages and metadata are far smaller."""
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 300.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _sleep(seconds: float) -> None:
    """The one place retries wait (tests replace it to record the waits)."""
    time.sleep(seconds)


class HubRetry(Retry):
    """urllib3 ``Retry`` with ±50 % jitter on the backoff and a cap on ``Retry-After``."""

    max_retry_after = MAX_RETRY_AFTER

    def get_backoff_time(self) -> float:
        base = super().get_backoff_time()
        return base * (0.5 + random.random()) if base > 0 else 0.0

    def sleep_for_retry(self, response: Any = None) -> bool:
        seconds = self.get_retry_after(response) if response is not None else None
        if seconds is None:
            return False
        _sleep(min(seconds, self.max_retry_after))
        return True

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            _sleep(backoff)


def make_retry(retries: int, *, backoff: float = 0.5, methods: Iterable[str] | None = None) -> HubRetry:
    """The retry policy of hub requests: ``retries`` attempts after the first, jittered backoff."""
    allowed = frozenset(methods) if methods is not None else Retry.DEFAULT_ALLOWED_METHODS
    return HubRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=10,
        backoff_factor=backoff,
        backoff_max=60.0,
        status_forcelist=RETRY_STATUS,
        allowed_methods=allowed,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def _parse_trusted(entry: str) -> tuple[str, str, int | None]:
    """``https://host:port``, ``host:port``, ``host`` or ``*.domain`` -> (scheme, host, port); https by default."""
    text = entry.strip()
    if "://" not in text:
        text = "https://" + text
    scheme, host, port = _origin(text)
    if text.split("://", 1)[1].startswith("*."):
        host = "*." + host.lstrip("*.")
    return scheme, host, port


class _BoundedBody:
    """``response.raw`` of an answer read whole: counts the decoded bytes and stops past ``limit``."""

    def __init__(self, raw: Any, limit: int, url: str) -> None:
        self._raw, self._limit, self._url, self._count = raw, limit, url, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def _counted(self, chunk: bytes) -> bytes:
        self._count += len(chunk)
        if self._count > self._limit:
            self._raw.close()
            raise _too_large(self._url, self._limit)
        return chunk

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Any:
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            yield self._counted(chunk)

    def read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        return self._counted(self._raw.read(min(amt or self._limit + 1, self._limit + 1), *args, **kwargs))


def _too_large(url: str, limit: int) -> Exception:
    from eokit.hub.exceptions import ServerError

    return ServerError(f"{redact_url(url)} answered with more than {limit >> 20} MiB: not read")


class BoundedAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose answers read whole stop at :data:`MAX_ANSWER_BYTES` (streamed ones are the caller's)."""

    max_answer_bytes = MAX_ANSWER_BYTES

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        response = super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        if stream or request.method == "HEAD":  # a HEAD's Content-Length is the GET body's
            return response
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_answer_bytes:
            response.close()
            raise _too_large(request.url or "", self.max_answer_bytes)
        response.raw = _BoundedBody(response.raw, self.max_answer_bytes, request.url or "")
        return response


class HubSession(requests.Session):
    """A :class:`requests.Session` with urllib3 retries and credentials scoped to their origin.

    Parameters
    ----------
    trusted_hosts : iterable of str
        Further origins an ``Authorization`` header may follow a redirect to:
        ``https://host[:port]``, ``host[:port]`` (https) or ``*.domain`` (https,
        any subdomain). A redirect from https to http never keeps it.
    retries : int, optional
        Retries per request (default: ``EOKIT_HTTP_RETRIES``).
    pool_size : int
        Connections kept per host.
    token_urls : iterable of str
        Token endpoints (``POST``): retried on connection failures and 429/503 only.
    """

    def __init__(
        self,
        *,
        trusted_hosts: Iterable[str] = (),
        retries: int | None = None,
        pool_size: int = 16,
        backoff: float = 0.5,
    ) -> None:
        super().__init__()
        from eokit.config import get_settings

        settings = get_settings()
        self.retries = settings.http_retries if retries is None else int(retries)
        self.backoff = backoff
        self.trusted: set[tuple[str, str, int | None]] = set()
        for entry in (*settings.hub_trusted_hosts.split(","), *trusted_hosts):
            self.trust(entry)
        self.headers["User-Agent"] = USER_AGENT
        self._pool_size = pool_size
        adapter = BoundedAdapter(
            pool_connections=pool_size, pool_maxsize=pool_size, max_retries=make_retry(self.retries, backoff=backoff)
        )
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self._environment: dict[tuple[str, str, int | None], tuple[dict[str, str], str | None]] = {}

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        """requests' merge, with what the environment says for ``url``'s origin read once."""
        if not self.trust_env or (proxies and "no_proxy" in proxies):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        origin = _origin(url)
        found = self._environment.get(origin)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = self._environment[origin] = (requests.utils.get_environ_proxies(url), bundle)
        env_proxies, bundle = found
        if verify is True or verify is None:
            verify = bundle or verify
        return {
            "proxies": merge_setting({**env_proxies, **(proxies or {})}, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def mount_token_endpoint(self, url: str) -> None:
        """Retry ``POST`` to ``url`` only where it is safe: unreachable server, 429 or 503."""
        retry = make_retry(self.retries, backoff=self.backoff, methods=("POST",))
        retry.status_forcelist = frozenset({429, 503})
        retry.read = 0  # the request reached the server: it may have issued (and rotated) a token
        self.mount(url, BoundedAdapter(pool_connections=2, pool_maxsize=self._pool_size, max_retries=retry))

    def mount_search_endpoint(self, url: str) -> None:
        """Requests under ``url`` are not retried on 500: a DHuS answers 500 for a query its search
        backend rejects (too long, malformed), and the same query fails the same way again."""
        retry = make_retry(self.retries, backoff=self.backoff)
        retry.status_forcelist = RETRY_STATUS - {500}
        self.mount(url, BoundedAdapter(pool_connections=2, pool_maxsize=self._pool_size, max_retries=retry))

    def trust(self, entry: str | None) -> None:
        """Let credentials follow redirects to this origin (see the class docstring)."""
        if entry:
            self.trusted.add(_parse_trusted(entry))

    def may_receive_credentials(self, from_url: str, to_url: str) -> bool:
        """Whether an ``Authorization`` header sent to ``from_url`` may follow a redirect to ``to_url``."""
        src, dst = _origin(from_url), _origin(to_url)
        if src[0] == "https" and dst[0] != "https":
            return False
        return src == dst or self.is_trusted(to_url)

    def is_trusted(self, url: str) -> bool:
        """Whether ``url``'s origin is one the credentials were given for (see :meth:`trust`)."""
        dst = _origin(url)
        for scheme, host, port in self.trusted:
            if scheme != dst[0] or port != dst[2]:
                continue
            if host == dst[1] or (host.startswith("*.") and dst[1].endswith(host[1:])):
                return True
        return False

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        header = prepared_request.headers.get("Authorization")
        super().rebuild_auth(prepared_request, response)  # requests' own rule, plus ~/.netrc for the new host
        if header is None:
            return
        if self.may_receive_credentials(response.request.url or "", prepared_request.url or ""):
            prepared_request.headers["Authorization"] = header
        elif prepared_request.headers.get("Authorization") == header:
            del prepared_request.headers["Authorization"]

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
        except (requests.ConnectionError, requests.Timeout) as exc:
            if isinstance(exc, HubConnectionError):
                raise
            text = url.decode() if isinstance(url, bytes) else str(url)
            raise connection_error(exc, f"cannot reach {redact_url(text)} ({_reason(exc)})") from exc

    def __repr__(self) -> str:
        return f"HubSession(retries={self.retries}, trusted={sorted(self.trusted)!r})"


class ScopedAuth(requests.auth.AuthBase):
    """``inner`` (basic credentials, a bearer token) applied only where ``session`` trusts the origin.

    A request elsewhere — a download URL a server's metadata or a catalog's asset names on another
    host — goes without credentials (logged once per origin; ``trusted_hosts`` adds an origin).
    Other attributes (``refresh``, ``manager``) are the inner auth's.
    """

    def __init__(self, inner: Any, session: HubSession) -> None:
        self.inner = requests.auth.HTTPBasicAuth(*inner) if isinstance(inner, tuple) else inner
        self.session = session
        self._warned: set[tuple[str, str, int | None]] = set()

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = r.url or ""
        if self.session.is_trusted(url):
            return self.inner(r)
        origin = _origin(url)
        if origin not in self._warned:
            self._warned.add(origin)
            log.warning(
                "not sending your credentials to %s: not an origin they were given for "
                "(add it with trusted_hosts= / --trusted-host if it should get them)",
                redact_url(f"{origin[0]}://{origin[1]}:{origin[2]}"),
            )
        return r

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"ScopedAuth({type(self.inner).__name__})"  # never the credentials


def stac_client(url: str, *, timeout: float | None = 60.0, retries: int | None = None) -> Any:
    """A :class:`pystac_client.Client` whose requests use the same retry policy (GET and POST ``/search``).

    An unreachable API or an answer that is not a STAC API becomes a :class:`ServerError`.
    """
    from pystac_client import Client
    from pystac_client.stac_api_io import StacApiIO

    from eokit.config import get_settings

    n = get_settings().http_retries if retries is None else retries
    retry = make_retry(n, methods=(*Retry.DEFAULT_ALLOWED_METHODS, "POST"))
    io = StacApiIO(timeout=timeout, max_retries=retry)
    for prefix in ("http://", "https://"):
        io.session.mount(prefix, BoundedAdapter(max_retries=retry))
    io.session.headers["User-Agent"] = USER_AGENT
    try:
        return Client.open(url, stac_io=io, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise connection_error(exc, f"cannot reach the STAC API {redact_url(url)} ({_reason(exc)})") from exc
    except Exception as exc:  # pystac_client's APIError, a landing page that is not JSON, ...
        from eokit.hub.exceptions import ServerError

        raise ServerError(f"{redact_url(url)} is not a usable STAC API ({type(exc).__name__})") from exc


_ERROR_CLASSES: dict[type, type] = {}


def connection_error(exc: BaseException, message: str) -> HubConnectionError:
    """A :class:`HubConnectionError` that is also an instance of ``exc``'s requests class
    (``ReadTimeout``, ``SSLError``...), so code catching those keeps working."""
    base = type(exc)
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)  # the MaxRetryError's last failure
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        base = requests.ReadTimeout  # what requests raises without retries
    if not issubclass(base, requests.RequestException) or issubclass(base, HubConnectionError):
        return HubConnectionError(message)
    cls = _ERROR_CLASSES.get(base)
    if cls is None:
        try:
            cls = type("HubConnectionError", (HubConnectionError, base), {"__module__": HubConnectionError.__module__})
        except TypeError:
            cls = HubConnectionError
        _ERROR_CLASSES[base] = cls
    return cls(message)


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason for a connection failure."""
    text = str(exc)
    for pattern, reason in (
        (r"Connection refused", "connection refused"),
        (r"Name or service not known|nodename nor servname|getaddrinfo failed|Failed to resolve", "unknown host"),
        (r"timed out|Timeout", "timed out"),
        (r"Max retries exceeded", "no answer"),
    ):
        if re.search(pattern, text):
            return reason
    return type(exc).__name__


def redact_url(url: str | None) -> str:
    """``url`` without user info and query string (they may carry secrets).

    >>> redact_url("https://user:secret@hub.example/dhus/search?q=x&token=t")
    'https://hub.example/dhus/search'
    """
    if not url:
        return ""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) -> seconds to wait, or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf'\s*;\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _latin1_to_utf8(text: str) -> str:
    """http.client decodes header bytes as Latin-1: UTF-8 names come back intact."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def content_disposition_filename(headers: Any) -> str | None:
    """The file name of a ``Content-Disposition`` header (RFC 6266; ``filename*`` per RFC 5987), unsanitised.

    >>> content_disposition_filename({"Content-Disposition": "attachment; filename*=UTF-8''%C3%A9t%C3%A9.zip"})
    'été.zip'
    >>> content_disposition_filename({"Content-Disposition": 'attachment; filename="a \\\\"b\\\\".zip"'})
    'a "b".zip'
    """
    value = headers.get("Content-Disposition") if headers is not None else None
    if not value:
        return None
    params: dict[str, str] = {}
    for name, raw in _PARAM.findall(";" + value.split(";", 1)[1] if ";" in value else ""):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(name.lower(), raw)
    extended = params.get("filename*")
    if extended and extended.count("'") >= 2:
        charset, _lang, encoded = extended.split("'", 2)
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    plain = params.get("filename")
    return _latin1_to_utf8(plain) if plain else None
