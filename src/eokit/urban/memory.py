"""The memory budget of urban work (``--max-memory``): parsing, defaults and what it allows.

>>> parse_size("1.5GB"), parse_size("512M"), parse_size(1024)
(1500000000, 512000000, 1024)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eokit.errors import InvalidInputError
from eokit.io.limits import default_max_memory, memory_budget, parse_size

__all__ = ["BYTES_PER_CELL", "block_side", "check_window", "default_max_memory", "parse_size", "resolve_max_memory"]

BYTES_PER_CELL = 96
"""Peak bytes per cell of one block job (float64 population, density, masks, labels, scipy scratch)."""

WINDOW_BYTES_PER_CELL = 40
"""Peak bytes per cell of one per-object window (labels, masks, hole labelling)."""


def resolve_max_memory(value: int | str | None) -> int:
    """``value`` parsed, or the default (:func:`eokit.io.limits.memory_budget`).

    Refuses budgets too small for one 256-cell block per worker.
    """
    budget = memory_budget(value)  # None: the EOKIT_MAX_MEMORY setting, else half the machine's memory
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
