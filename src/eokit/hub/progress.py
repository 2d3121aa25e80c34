"""tqdm progress bars for downloads: one per product plus an overall bar."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["TqdmProgress"]


class TqdmProgress:
    """A :class:`~eokit.hub.engine.ProgressReporter` drawing tqdm bars on stderr.

    Parameters
    ----------
    total_files : int
        Number of files for the overall bar.
    disable : bool
        Draw nothing (the engine still reports).
    """

    def __init__(self, total_files: int = 0, *, disable: bool = False, leave: bool = False) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._disable = disable
        self._leave = leave
        self._bars: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.overall = tqdm(total=total_files, desc="Downloading products", unit="product", disable=disable)

    def start(self, key: str, title: str, total: int | None, initial: int) -> None:
        with self._lock:
            old = self._bars.pop(key, None)
            if old is not None:
                old.close()
            self._bars[key] = self._tqdm(
                total=total,
                initial=initial,
                desc=f"Downloading {title}"[:60],
                unit="B",
                unit_scale=True,
                leave=self._leave,
                disable=self._disable,
            )

    def update(self, key: str, n: int) -> None:
        bar = self._bars.get(key)
        if bar is not None:
            bar.update(n)

    def finish(self, key: str, ok: bool) -> None:
        with self._lock:
            bar = self._bars.pop(key, None)
            if bar is not None:
                bar.close()
            self.overall.update(1)

    def close(self) -> None:
        with self._lock:
            for bar in self._bars.values():
                bar.close()
            self._bars.clear()
            self.overall.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
