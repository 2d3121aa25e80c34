"""Settings read from ``EOKIT_*`` environment variables, with scoped overrides.

>>> from eokit.config import get_settings, override
>>> with override(block_size=256):
...     get_settings().block_size
256
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any

from eokit.errors import ConfigError

__all__ = ["Settings", "get_settings", "override"]

_DEFAULT_GDAL_ENV: dict[str, str] = {
    "GDAL_NUM_THREADS": "1",
    "GDAL_CACHEMAX": "256",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """eokit's run-time settings.

    Each field ``name`` is read from the environment variable ``EOKIT_NAME``
    (upper case) when :func:`get_settings` is first called.
    """

    block_size: int = 1024
    """Edge length in pixels of the square blocks of block-wise raster work."""
    workers: int = 0
    """Parallel workers for block work; 0 means one per CPU core."""
    scheduler: str = "threads"
    """``threads``, ``processes``, ``synchronous``, ``local`` (a Dask LocalCluster) or ``tcp://HOST:PORT``."""
    http_timeout: float = 60.0
    """Seconds before an HTTP connect/read gives up."""
    http_retries: int = 5
    """Retries of an HTTP request after a transient failure."""
    hub_trusted_hosts: str = ""
    """Comma-separated origins (``https://host:port``, ``host``, ``*.domain``) hub credentials may follow
    redirects to, besides the origin they were sent to."""
    hub_file_deadline: float = 86400.0
    """Seconds one hub download (one file, all its attempts) may take in total; 0: no limit."""
    hub_low_speed_limit: int = 1024
    """Bytes per second below which a hub download attempt counts as stalled (0: never)."""
    hub_low_speed_time: float = 60.0
    """Seconds a hub download may stay below ``hub_low_speed_limit`` before the attempt is cut and resumed."""
    hub_max_results: int = 50_000
    """Most products a hub search pages through when no limit is given (0: no cap). A search that
    matches more is refused (give a limit or narrow it), so a server that never stops paging, or a
    query matching millions of products, cannot run without end or fill memory."""
    cdse_catalogue_url: str = "https://catalogue.dataspace.copernicus.eu/odata/v1"
    cdse_identity_url: str = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
    cdse_download_url: str = "https://download.dataspace.copernicus.eu/odata/v1"
    compress: str = "zstd"
    """Compression of GeoTIFFs eokit writes: ``zstd`` (level 1: fast, GDAL >= 2.3 reads it), ``deflate``
    (the most widely readable), ``lzw`` or ``none``."""
    max_memory: str = ""
    """Memory budget of raster work when a command has no ``--max-memory`` (e.g. ``4GB``; empty: half
    the machine's memory); a raster that declares more than it allows is refused before reading."""
    gdal_env: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(_DEFAULT_GDAL_ENV))
    """GDAL configuration options applied around raster I/O and carried to workers."""

    def __post_init__(self) -> None:
        if self.block_size < 16:
            raise ConfigError(f"block_size must be >= 16 pixels, got {self.block_size}")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0, got {self.workers}")
        if self.http_timeout <= 0:
            raise ConfigError(f"http_timeout must be > 0 seconds, got {self.http_timeout}")
        if self.hub_file_deadline < 0 or self.hub_low_speed_limit < 0 or self.hub_low_speed_time <= 0:
            raise ConfigError(
                "hub_file_deadline and hub_low_speed_limit must be >= 0 and hub_low_speed_time > 0; got "
                f"{self.hub_file_deadline}, {self.hub_low_speed_limit}, {self.hub_low_speed_time}"
            )
        if self.max_memory:
            from eokit.io.limits import parse_size

            try:
                parse_size(self.max_memory)
            except ValueError:
                raise ConfigError(f"max_memory must be a size such as 4GB, got {self.max_memory!r}") from None
        if self.http_retries < 0:
            raise ConfigError(f"http_retries must be >= 0, got {self.http_retries}")
        if self.hub_max_results < 0:
            raise ConfigError(f"hub_max_results must be >= 0, got {self.hub_max_results}")

    @property
    def n_workers(self) -> int:
        """``workers`` with 0 resolved to the CPU count."""
        return self.workers or (os.cpu_count() or 1)


def _coerce(field: dataclasses.Field[Any], raw: str) -> Any:
    name = f"EOKIT_{field.name.upper()}"
    default = field.default if field.default is not dataclasses.MISSING else None
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a valid {type(default).__name__}") from None
    if field.name == "gdal_env":
        pairs = [p for p in raw.split(",") if p.strip()]
        try:
            return dict(p.split("=", 1) for p in pairs)
        except ValueError:
            raise ConfigError(f"{name} must look like KEY=VALUE,KEY=VALUE; got {raw!r}") from None
    return raw


def _from_environment(environ: Mapping[str, str]) -> Settings:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        raw = environ.get(f"EOKIT_{field.name.upper()}")
        if raw is not None:
            values[field.name] = _coerce(field, raw)
    return Settings(**values)


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("eokit_settings", default=None)


def get_settings() -> Settings:
    """The settings in force: the innermost :func:`override`, else the environment."""
    current = _current.get()
    if current is None:
        current = _from_environment(os.environ)
    return current


@contextlib.contextmanager
def override(**changes: Any) -> Iterator[Settings]:
    """Temporarily change settings in this context (thread- and task-local)."""
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    new = dataclasses.replace(get_settings(), **changes)
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)
