"""HTTP plumbing shared by the providers: a session that keeps a bearer token
across redirects to trusted hosts, ``Retry-After`` parsing, secret-free URLs."""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from eokit import __version__
from eokit.config import get_settings

__all__ = ["USER_AGENT", "HubSession", "parse_retry_after"]

USER_AGENT = f"eokit/{__version__}"


class _Adapter(requests.adapters.HTTPAdapter):
    def __init__(self, *, receive_buffer: int = 0, **kwargs: Any) -> None:
        self._receive_buffer = receive_buffer
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._receive_buffer:
            from urllib3.connection import HTTPConnection

            kwargs["socket_options"] = [
                *HTTPConnection.default_socket_options,
                (socket.SOL_SOCKET, socket.SO_RCVBUF, self._receive_buffer),
            ]
        super().init_poolmanager(*args, **kwargs)


class HubSession(requests.Session):
    """A :class:`requests.Session` that keeps ``Authorization`` on redirects to trusted hosts.

    ``requests`` drops the header whenever a redirect changes host or port; CDSE
    redirects downloads from its download host to storage nodes that need the
    same bearer token. Hosts in ``trusted_hosts`` (and their subdomains) keep it;
    any other host loses it, so a token never leaks to a third party.
    """

    def __init__(
        self, *, trusted_hosts: Iterable[str] = (), pool_size: int = 16, receive_buffer: int | None = None
    ) -> None:
        """``receive_buffer``: ``SO_RCVBUF`` in bytes (0: kernel auto-tuning); default
        :attr:`eokit.config.Settings.hub_receive_buffer` (env ``EOKIT_HUB_RECEIVE_BUFFER``)."""
        super().__init__()
        self.trusted_hosts = {h.lower() for h in trusted_hosts if h}
        self.headers["User-Agent"] = USER_AGENT
        rcvbuf = get_settings().hub_receive_buffer if receive_buffer is None else receive_buffer
        adapter = _Adapter(pool_connections=pool_size, pool_maxsize=pool_size, receive_buffer=rcvbuf)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def trust(self, url: str | None) -> None:
        """Trust the host of ``url`` (and its subdomains) for bearer-token redirects."""
        if url:
            host = urlsplit(url).hostname
            if host:
                self.trusted_hosts.add(host.lower())

    def _is_trusted(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == t or host.endswith("." + t) for t in self.trusted_hosts)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        auth_header = prepared_request.headers.get("Authorization")
        super().rebuild_auth(prepared_request, response)
        if (
            auth_header
            and auth_header.startswith("Bearer ")
            and self._is_trusted(prepared_request.url or "")
            and self._is_trusted(response.request.url or "")
        ):
            prepared_request.headers["Authorization"] = auth_header


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


def content_disposition_filename(headers: Any) -> str | None:
    """The filename in a ``Content-Disposition`` header, if any (unsanitised)."""
    cd = headers.get("Content-Disposition") if headers is not None else None
    if not cd or "filename" not in cd:
        return None
    from email.message import Message

    msg = Message()
    msg["content-disposition"] = cd
    name = msg.get_filename()
    if name:
        return name
    return cd.split("=", 1)[1].strip().strip('"')
