"""The memory budget of urban work (``--max-memory``): parsing, defaults and what it allows.

>>> parse_size("1.5GB"), parse_size("512M"), parse_size(1024)
(1500000000, 512000000, 1024)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from eokit.errors import InvalidInputError

__all__ = ["BYTES_PER_CELL", "block_side", "check_window", "default_max_memory", "parse_size", "resolve_max_memory"]

BYTES_PER_CELL = 96
"""Peak bytes per cell of one block job (float64 population, density, masks, labels, scipy scratch)."""

WINDOW_BYTES_PER_CELL = 40
"""Peak bytes per cell of one per-object window (labels, masks, hole labelling)."""

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "T": 10**12, "TB": 10**12, "TIB": 2**40})


def parse_size(value: int | float | str) -> int:
    """Bytes from ``4GB``, ``512MiB``, ``1.5G`` or a number of bytes."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        size = int(value)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(value))
        if not m or m.group(2).upper() not in _UNITS:
            raise InvalidInputError(f"not a size: {value!r} (use e.g. 4GB, 512MB, 2GiB or bytes)", param="max_memory")
        size = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if size <= 0:
        raise InvalidInputError(f"must be > 0 bytes, got {value!r}", param="max_memory")
    return size


def _total_memory() -> int:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:  # a cgroup (container) limit, when lower
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw.isdigit():
            total = min(total, int(raw))
    except OSError:
        pass
    return int(total)


def default_max_memory() -> int:
    """Half the machine's (or container's) memory: room for GDAL's cache, the OS and other work."""
    return _total_memory() // 2


def resolve_max_memory(value: int | str | None) -> int:
    """``value`` parsed, or the default; refuses budgets too small for one 256-cell block per worker."""
    budget = default_max_memory() if value is None else parse_size(value)
    if budget < 64 * 2**20:
        raise InvalidInputError(f"must be at least 64MB, got {value!r}", param="max_memory")
    return budget


def block_side(budget: int, workers: int) -> int:
    """Block side (a multiple of 256, 256..2048) so the blocks in flight use at most half the budget."""
    in_flight = 2 * max(workers, 1) + 2
    cells = budget / 2 / in_flight / BYTES_PER_CELL
    side = int(np.sqrt(cells)) // 256 * 256
    return int(min(max(side, 256), 2048))


def check_window(boxes: Any, budget: int, workers: int, *, what: str) -> None:
    """Refuse objects whose window (bounding box plus one cell) would not fit the budget."""
    boxes = np.asarray(boxes)
    if boxes.size == 0:
        return
    cells = (boxes[:, 1] - boxes[:, 0] + 2) * (boxes[:, 3] - boxes[:, 2] + 2)
    limit = budget // 2 // (2 * max(workers, 1)) // WINDOW_BYTES_PER_CELL
    big = int(cells.max())
    if big > limit:
        raise InvalidInputError(
            f"an {what} spans {big:,} cells, more than the {budget >> 20} MB memory budget allows per object "
            f"({limit:,}); raise it",
            param="max_memory",
        )
