"""The whole eokit exception and warning hierarchy.

Every error eokit raises on purpose is an :class:`EokitError`. Subclasses also
derive from the builtin exception they *are* (``ValueError``, ``OSError``,
``ImportError``), so callers that catch builtins keep working. Never match on
message text: match on the class, and on its attributes.

This module imports nothing from the CLI or from heavy libraries.
"""

from __future__ import annotations

import os

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DataIOError",
    "EokitError",
    "EokitWarning",
    "FallbackWarning",
    "GridMismatchError",
    "InputNotFoundError",
    "InvalidInputError",
    "MissingCRSError",
    "MissingDependencyError",
    "OutputError",
    "ProviderError",
    "AuthenticationError",
    "RateLimitError",
    "UnreadableInputError",
]


class EokitError(Exception):
    """Root of every error eokit raises on purpose."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None, param: str | None = None) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        #: The library parameter at fault (``"resolution"``); the CLI shows the option the user typed instead.
        self.param = param
        where = self.path or param
        super().__init__(f"{where}: {message}" if where else message)


class InvalidInputError(EokitError, ValueError):
    """An argument or input dataset is not what the operation needs."""


class ConfigError(InvalidInputError):
    """An ``EOKIT_*`` setting or an override has an invalid value."""


class MissingCRSError(InvalidInputError):
    """A dataset has no coordinate reference system where one is needed."""


class GridMismatchError(InvalidInputError):
    """Two inputs that must share a grid (shape, transform, CRS) do not."""


class DataIOError(EokitError, OSError):
    """Reading or writing a file or stream failed."""


class InputNotFoundError(DataIOError, FileNotFoundError):
    """An input path does not exist."""


class UnreadableInputError(DataIOError):
    """An input exists but cannot be decoded (corrupt, truncated, wrong format)."""


class OutputError(DataIOError):
    """An output cannot be written (folder missing or not writable, disk full)."""


class ChecksumError(DataIOError):
    """Downloaded or stored bytes do not match their published checksum."""


class MissingDependencyError(EokitError, ImportError):
    """An optional dependency is needed for this operation but not installed."""

    def __init__(self, package: str, *, extra: str | None = None, purpose: str = "") -> None:
        hint = f"pip install 'eokit[{extra}]'" if extra else f"pip install {package}"
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"the package {package!r} is needed{what}; install it with: {hint}")
        self.package = package
        self.extra = extra


class ProviderError(EokitError):
    """A remote service answered with an error.

    Attributes
    ----------
    status_code : int or None
        HTTP status code, when there was a response.
    retry_after : float or None
        Seconds the server asked us to wait (``Retry-After``), if any.
    url : str or None
        The URL of the request, with credentials removed.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        url: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.retry_after = retry_after
        self.url = url
        detail = f" (HTTP {status_code})" if status_code is not None else ""
        where = f" from {url}" if url else ""
        super().__init__(f"{message}{detail}{where}")


class AuthenticationError(ProviderError):
    """Credentials were refused or are missing."""


class RateLimitError(ProviderError):
    """The service asked us to slow down (HTTP 429/503 with ``Retry-After``)."""


class EokitWarning(UserWarning):
    """Root of eokit's warnings."""


class FallbackWarning(EokitWarning):
    """eokit fell back to a less reliable source for a value (e.g. file time as datetime)."""
