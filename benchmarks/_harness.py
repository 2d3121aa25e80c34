"""Side-by-side benchmark harness: eokit and a peer on the same input, one JSON line per case.

Each callable runs in a forked child process (so one side's memory does not
inflate the other's), ``repeat`` times; the harness reports the median wall
time and the largest peak resident memory above the child's starting RSS.
``ratio`` is ``peer_s / eokit_s``: above 1 means eokit is faster.

    from _harness import compare
    compare("case-name", eokit=lambda: f(x), peer="gridr 0.7.0", peer_fn=lambda: g(x))
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["compare", "measure"]


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _child(fn: Callable[[], Any], conn: Any) -> None:
    try:
        start_rss = _rss_kib()
        t0 = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        conn.send((elapsed, max(peak - start_rss, 0) / 1024.0, None))
    except BaseException as exc:  # report, do not hang the parent
        conn.send((float("nan"), float("nan"), f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def measure(fn: Callable[[], Any], *, repeat: int = 3, after: Callable[[], Any] | None = None) -> tuple[float, float]:
    """Median seconds and peak MiB (above the starting RSS) of ``fn`` over ``repeat`` forked runs.

    ``after`` (optional) runs in this process after each run, untimed (e.g. removing its output).
    """
    ctx = mp.get_context("fork")
    times, peaks = [], []
    for _ in range(repeat):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(fn, child))
        proc.start()
        child.close()
        elapsed, peak, error = parent.recv()
        proc.join()
        if after is not None:
            after()
        if error:
            raise RuntimeError(f"benchmark run failed: {error}")
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def compare(
    case: str,
    *,
    eokit: Callable[[], Any],
    peer: str,
    peer_fn: Callable[[], Any] | None,
    repeat: int = 3,
    warmup: bool = True,
    extra: dict[str, Any] | None = None,
    after: Callable[[], Any] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Time eokit and the peer on the same job; print (unless ``quiet``) and return one JSON record.

    ``warmup`` runs each callable once in this process first, so JIT
    compilation and imports are not timed (children inherit them). ``after`` runs
    untimed after every run (see :func:`measure`).
    """
    if warmup:
        for fn in (eokit, peer_fn):
            if fn is not None:
                fn()
                if after is not None:
                    after()
    eokit_s, eokit_mib = measure(eokit, repeat=repeat, after=after)
    if peer_fn is not None:
        peer_s, peer_mib = measure(peer_fn, repeat=repeat, after=after)
    else:
        peer_s, peer_mib = float("nan"), float("nan")
    record: dict[str, Any] = {
        "case": case,
        "eokit_s": round(eokit_s, 4),
        "peer": peer,
        "peer_s": round(peer_s, 4),
        "ratio": round(peer_s / eokit_s, 3) if eokit_s > 0 else None,
        "eokit_peak_mib": round(eokit_mib, 1),
        "peer_peak_mib": round(peer_mib, 1),
    }
    if extra:
        record.update(extra)
    if not quiet:
        print(json.dumps(record), flush=True)
    return record
