"""Exceptions of the hub capability, compatible with the classic ``sentinelsat`` ones.

Every class is an :class:`~eokit.errors.EokitError`, so the ``eokit`` CLI reports
it in one line, and keeps the attributes old scripts rely on (``.msg``,
``.response``). Secrets never appear in messages: URLs are stripped of
credentials and query strings carrying tokens are not echoed.
"""

from __future__ import annotations

from typing import Any

import requests

from eokit.errors import AuthenticationError, ChecksumError, InvalidInputError, ProviderError, RateLimitError

__all__ = [
    "HubConnectionError",
    "HubInputError",
    "HubRateLimitError",
    "InvalidChecksumError",
    "InvalidKeyError",
    "LTAError",
    "LTATriggered",
    "QueryEncodingError",
    "QueryLengthError",
    "QuerySyntaxError",
    "SentinelAPIError",
    "ServerError",
    "UnauthorizedError",
]


class HubInputError(InvalidInputError):
    """A search argument (geometry, date, keyword, order) is invalid; also a ``ValueError``."""


class SentinelAPIError(ProviderError):
    """Invalid response from a data hub; base class of the more specific errors.

    Attributes
    ----------
    msg : str
        The error message.
    response : requests.Response or None
        The server's response, when there was one.
    """

    def __init__(self, msg: str = "", response: Any = None) -> None:
        self.msg = msg
        self.response = response
        status = getattr(response, "status_code", None)
        retry = None
        if response is not None:
            raw = getattr(response, "headers", {}).get("Retry-After")
            try:
                retry = float(raw) if raw is not None else None
            except ValueError:
                retry = None
        url = _safe_url(getattr(response, "url", None))
        ProviderError.__init__(self, msg, status_code=status, retry_after=retry, url=url)

    def __str__(self) -> str:
        if self.response is None:
            return self.msg
        reason = getattr(self.response, "reason", "") or ""
        reason = f" {reason}" if reason else ""
        sep = "\n" if "\n" in self.msg else ""
        return f"HTTP status {self.response.status_code}{reason}: {sep}{self.msg}"


class LTAError(SentinelAPIError):
    """Retrieving a product from the Long Term Archive failed (quota, overload)."""


class LTATriggered(SentinelAPIError):
    """The product is offline; its retrieval from the Long Term Archive was triggered."""

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid
        super().__init__(f"Product {uuid} is not online. Triggered retrieval from the Long Term Archive.")


class ServerError(SentinelAPIError):
    """The server answered in an unexpected way (maintenance, 5xx, invalid JSON)."""


class UnauthorizedError(SentinelAPIError, AuthenticationError):
    """The credentials were refused (HTTP 401) or a token could not be obtained (an ``AuthenticationError``)."""

    def __init__(self, msg: str = "", response: Any = None, *, param: str | None = None) -> None:
        SentinelAPIError.__init__(self, msg, response)
        self.param = param

    def __str__(self) -> str:
        return self.msg


class QueryEncodingError(HubInputError, UnicodeEncodeError):
    """A DHuS query with characters outside Latin-1 (what DHuS accepts); also a ``UnicodeEncodeError``."""

    def __init__(self, query: str, start: int, end: int) -> None:
        reason = "DHuS queries accept only Latin-1 characters"
        UnicodeEncodeError.__init__(self, "latin-1", query, start, end, reason)
        self.message = f"{reason}; the query has {query[start:end]!r} at {start}"
        self.path = None
        self.param = "query"

    def __str__(self) -> str:
        return self.message


class HubRateLimitError(ServerError, RateLimitError):
    """The server kept answering 429 (or 503 with ``Retry-After``) after every retry (a ``RateLimitError``)."""


class HubConnectionError(ServerError, requests.ConnectionError):
    """The server could not be reached (after the retries); also a ``requests.ConnectionError``."""

    def __init__(self, msg: str = "", response: Any = None) -> None:
        ServerError.__init__(self, msg, response)


class QuerySyntaxError(SentinelAPIError, SyntaxError):
    """The server could not parse the query string."""

    def __init__(self, msg: str, response: Any = None) -> None:
        SentinelAPIError.__init__(self, msg, response)
        SyntaxError.__init__(self, msg)

    def __str__(self) -> str:
        return self.msg


class QueryLengthError(SentinelAPIError):
    """The query string is too long for the server."""

    def __str__(self) -> str:
        return self.msg


class InvalidKeyError(SentinelAPIError, KeyError):
    """No product with the given id exists on the server."""

    def __init__(self, msg: str, response: Any = None) -> None:
        SentinelAPIError.__init__(self, msg, response)
        KeyError.__init__(self, msg)

    def __str__(self) -> str:
        return self.msg


class InvalidChecksumError(SentinelAPIError, ChecksumError):
    """The checksum of downloaded bytes does not match the one the server publishes."""

    def __init__(self, msg: str = "", response: Any = None) -> None:
        SentinelAPIError.__init__(self, msg, response)

    def __str__(self) -> str:
        return self.msg


def _safe_url(url: str | None) -> str | None:
    """``url`` without user info and without a query string (which may carry tokens)."""
    if not url:
        return None
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
