"""What the download engine takes and gives: requests, results, and the progress protocol."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

__all__ = ["DownloadRequest", "DownloadResult", "ProgressReporter"]


class ProgressReporter(Protocol):
    """What the engine reports progress to (the CLI passes tqdm bars)."""

    def start(self, key: str, title: str, total: int | None, initial: int) -> None: ...

    def update(self, key: str, n: int) -> None: ...

    def finish(self, key: str, ok: bool) -> None: ...


@dataclasses.dataclass
class DownloadRequest:
    """One file to fetch.

    Attributes
    ----------
    url : str
        Where the bytes are.
    key : str
        A stable identifier (product UUID) recorded in the ledger.
    filename : str, optional
        Final file name; None asks the server (``Content-Disposition``) or uses the URL.
        Always sanitised to a single safe path component.
    size : int, optional
        Expected size in bytes, when known.
    checksums : dict
        ``{algorithm: hex}`` with ``md5``, ``sha3-256``, ``blake3``, ``sha256``...
    title : str, optional
        Shown on progress bars.
    subdir : str, optional
        A relative sub-folder of the target folder (sanitised), e.g. for product nodes.
    """

    url: str
    key: str
    filename: str | None = None
    size: int | None = None
    checksums: dict[str, str] = dataclasses.field(default_factory=dict)
    title: str | None = None
    subdir: str | None = None


@dataclasses.dataclass
class DownloadResult:
    """What happened to one :class:`DownloadRequest`."""

    key: str
    url: str
    path: Path | None
    status: str
    """``downloaded``, ``skipped`` (already complete and verified) or ``failed``."""
    size: int = 0
    transferred: int = 0
    """Body bytes received over the network in this run (retries included)."""
    resumed_from: int = 0
    """Bytes already on disk in ``.incomplete`` when this run started."""
    attempts: int = 0
    checksums: dict[str, str] = dataclasses.field(default_factory=dict)
    verified: bool = False
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("downloaded", "skipped")
