"""CPU-time bookkeeping for the urban benchmarks (``benchmarks/urban_*.py``).

Wall times on a shared machine swing with the other jobs; CPU time (user + sys,
all threads) is steadier. :class:`CpuLog` wraps the two callables given to
``_harness.compare`` so each forked run records its CPU seconds in a file, and
acts as the ``extra`` mapping of that call: the harness merges it into the JSON
record after the runs, so the record carries ``eokit_cpu_s``, ``peer_cpu_s``
(medians) and ``cpu_ratio`` (peer / eokit).
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["CpuLog"]


class CpuLog(Mapping[str, Any]):
    """Record CPU seconds of wrapped callables; read back as the benchmark record's extra fields."""

    def __init__(self, **extra: Any) -> None:
        fd, self.path = tempfile.mkstemp(prefix="eokit-cpu-", suffix=".log")
        os.close(fd)
        self.extra = extra

    def wrap(self, side: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` that appends ``side`` and its CPU seconds (user + sys, all threads) to the log."""

        def run() -> Any:
            t0 = resource.getrusage(resource.RUSAGE_SELF)
            out = fn()
            t1 = resource.getrusage(resource.RUSAGE_SELF)
            sec = (t1.ru_utime - t0.ru_utime) + (t1.ru_stime - t0.ru_stime)
            with open(self.path, "a") as fh:
                fh.write(f"{side} {sec:.6f}\n")
            return out

        return run

    def _fields(self) -> dict[str, Any]:
        runs: dict[str, list[float]] = {}
        with open(self.path) as fh:
            for line in fh:
                side, sec = line.split()
                runs.setdefault(side, []).append(float(sec))
        out = dict(self.extra)
        for side in ("eokit", "peer"):
            if runs.get(side):
                out[f"{side}_cpu_s"] = round(statistics.median(runs[side]), 4)
        if out.get("eokit_cpu_s") and out.get("peer_cpu_s"):
            out["cpu_ratio"] = round(out["peer_cpu_s"] / out["eokit_cpu_s"], 3)
        return out

    def __getitem__(self, key: str) -> Any:
        return self._fields()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())

    def keys(self):  # one read of the log for dict.update
        return self._fields().keys()
