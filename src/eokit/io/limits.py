"""Memory bounds from what a raster *declares*, checked before anything is allocated.

A raster can declare a size that has nothing to do with its size on disk: a sparse or
compressed GeoTIFF of 200,000 x 200,000 pixels is a few KB, a VRT can describe any grid,
a file can store its whole image as one strip. These helpers turn the header into the
bytes an operation would need and refuse, naming the file and the limit, when that is
more than the memory budget allows:

- :func:`memory_budget`: the budget in bytes (``max_memory`` if given, else the
  ``EOKIT_MAX_MEMORY`` setting, else half the machine's memory);
- :func:`check_native_blocks`: GDAL decodes whole blocks (tiles or strips), so reading
  even one pixel of a file stored as one 60,000 x 60,000 strip allocates 14 GB;
- :func:`check_in_memory`: an operation that holds whole arrays needs
  ``pixels x bytes per pixel``; refuse before reading when that passes the budget;
- :func:`block_side_for`: the side of the square blocks of block-wise work, lowered for
  files with many (or wide) bands so a block's arrays stay within the budget.

>>> parse_size("1.5GB"), parse_size("512MiB"), parse_size("100e6"), parse_size(1024)
(1500000000, 536870912, 100000000, 1024)
>>> format_size(3 * 2**30), format_size(1536 * 2**20), format_size(4096)
('3 GiB', '1.5 GiB', '4 KiB')
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eokit.errors import InvalidInputError

__all__ = [
    "block_side_for",
    "check_in_memory",
    "check_native_blocks",
    "default_max_memory",
    "format_size",
    "memory_budget",
    "native_block_bytes",
    "parse_size",
]

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "T": 10**12, "TB": 10**12, "TIB": 2**40})

#: How a user raises the budget, named in every refusal.
RAISE_HINT = "raise --max-memory where the command has it, or the EOKIT_MAX_MEMORY setting"


def parse_size(value: int | float | str) -> int:
    """Bytes from ``4GB``, ``512MiB``, ``1.5G``, ``100e6`` or a number of bytes (``param="max_memory"`` if not)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        size = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([A-Za-z]*)\s*", str(value))
        unit = m.group(2).upper() if m else None
        try:
            if m is None or unit not in _UNITS:
                raise ValueError(value)
            size = float(m.group(1)) * _UNITS[unit]
        except ValueError:
            raise InvalidInputError(
                f"not a size: {value!r} (use e.g. 4GB, 512MB, 2GiB or bytes)", param="max_memory"
            ) from None
    if not (size > 0 and math.isfinite(size)):
        raise InvalidInputError(f"must be > 0 bytes, got {value!r}", param="max_memory")
    return int(size)


def format_size(n: float) -> str:
    """``n`` bytes for a message: ``3 GiB``, ``1.5 GiB``, ``512 MiB``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


@functools.cache
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


def memory_budget(max_memory: int | str | None = None) -> int:
    """``max_memory`` parsed; else the ``EOKIT_MAX_MEMORY`` setting; else :func:`default_max_memory`."""
    if max_memory is not None:
        return parse_size(max_memory)
    from eokit.config import get_settings

    setting = get_settings().max_memory
    return parse_size(setting) if setting else default_max_memory()


def native_block_bytes(ds: Any) -> int:
    """Bytes GDAL allocates to decode one block of ``ds`` (all bands' blocks when pixel-interleaved)."""
    import numpy as np

    sizes = [int(h) * int(w) * np.dtype(dt).itemsize for (h, w), dt in zip(ds.block_shapes, ds.dtypes, strict=True)]
    interleaving = getattr(getattr(ds, "interleaving", None), "name", "")
    return sum(sizes) if interleaving == "pixel" and ds.count > 1 else max(sizes, default=0)


def check_native_blocks(ds: Any, path: str | os.PathLike[str], *, budget: int, readers: int = 1) -> None:
    """Refuse ``ds`` when ``readers`` concurrent reads of its native blocks need more than ``budget``.

    GDAL decodes a whole tile or strip to read any of its pixels (and keeps it in
    its block cache), so a file whose one strip is the whole image cannot be read
    in bounded memory, whatever window is asked for.
    """
    one = native_block_bytes(ds)
    need = one * max(1, readers)
    if need > budget:
        (bh, bw) = ds.block_shapes[0]
        many = f"; {readers} readers at once need {format_size(need)}" if readers > 1 else ""
        raise InvalidInputError(
            f"stored in blocks of {bh} x {bw} pixels: GDAL decodes a whole block ({format_size(one)}) to read any "
            f"pixel{many}, more than the memory budget of {format_size(budget)}; rewrite it tiled (gdal_translate "
            f"-co TILED=YES), {'lower --workers, ' if readers > 1 else ''}or {RAISE_HINT}",
            path=path,
        )


def check_in_memory(
    path: str | os.PathLike[str], *, shape: Sequence[int], bytes_per_pixel: float, budget: int, what: str
) -> None:
    """Refuse an operation that holds ``shape`` pixels of ``bytes_per_pixel`` (all working copies) at once.

    ``shape`` is the *declared* shape (``(rows, cols)`` or ``(bands, rows, cols)``);
    ``what`` names the work in the message (``"pansharpening block"``).
    """
    pixels = math.prod(int(n) for n in shape)
    need = pixels * bytes_per_pixel
    if need > budget:
        dims = " x ".join(str(int(n)) for n in shape)
        raise InvalidInputError(
            f"{what} of {dims} pixels needs {format_size(need)} in memory, more than the budget of "
            f"{format_size(budget)}; {RAISE_HINT}",
            path=path,
        )


def block_side_for(bytes_per_pixel: float, *, budget: int, in_flight: int, preferred: int, minimum: int = 16) -> int:
    """The side of square blocks so ``in_flight`` blocks of ``bytes_per_pixel`` fit ``budget``.

    At most ``preferred`` (the configured block size); a multiple of 16 when lowered.
    Returns 0 when not even a ``minimum`` block fits (the caller refuses).

    >>> block_side_for(8, budget=2**30, in_flight=4, preferred=1024)
    1024
    >>> block_side_for(2000 * 8, budget=2**30, in_flight=4, preferred=1024)
    128
    """
    cells = budget / max(1, in_flight) / max(bytes_per_pixel, 1e-9)
    side = math.isqrt(int(cells))
    if side >= preferred:
        return preferred
    side = side // 16 * 16
    return side if side >= minimum else 0
