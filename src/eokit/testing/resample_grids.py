"""Synthetic resampling grids for tests and benchmarks (affine + smooth distortion, rotations)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["distorted_grid", "rotation_grid", "write_grid"]


def distorted_grid(
    shape: Sequence[int],
    resolution: Sequence[int],
    *,
    origin: Sequence[float] = (0.0, 0.0),
    angle: float = 0.3,
    scale: float = 0.9,
    shear: float = 0.05,
    distortion: float = 1.5,
    noise: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Row/column source coordinates of an ``shape`` grid: rotation, scale, shear, sine warp, noise.

    Node ``(k, l)`` stands for output pixel ``(k * rr, l * rc)``; ``origin`` is
    the source coordinate of node ``(0, 0)``.
    """
    rr, rc = resolution
    ii, jj = np.meshgrid(np.arange(shape[0]) * float(rr), np.arange(shape[1]) * float(rc), indexing="ij")
    ca, sa = np.cos(angle), np.sin(angle)
    span = max(ii.max(), jj.max(), 1.0)
    y = origin[0] + scale * (ca * ii - sa * jj) + shear * jj
    x = origin[1] + scale * (sa * ii + ca * jj)
    y = y + distortion * np.sin(2 * np.pi * jj / span * 1.3)
    x = x + distortion * np.cos(2 * np.pi * ii / span * 0.7)
    if noise:
        rng = np.random.default_rng(seed)
        y = y + rng.normal(0.0, noise, y.shape)
        x = x + rng.normal(0.0, noise, x.shape)
    return np.ascontiguousarray(y), np.ascontiguousarray(x)


def rotation_grid(
    src_shape: Sequence[int], shape: Sequence[int], resolution: Sequence[int], angle: float, *, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A grid rotating by ``angle`` (radians) about the centre of a ``src_shape`` source."""
    rr, rc = resolution
    ii, jj = np.meshgrid(np.arange(shape[0]) * float(rr), np.arange(shape[1]) * float(rc), indexing="ij")
    oy = ii - (shape[0] - 1) * rr / 2.0
    ox = jj - (shape[1] - 1) * rc / 2.0
    cy, cx = (src_shape[0] - 1) / 2.0, (src_shape[1] - 1) / 2.0
    ca, sa = np.cos(angle), np.sin(angle)
    return (
        np.ascontiguousarray(cy + scale * (ca * oy - sa * ox)),
        np.ascontiguousarray(cx + scale * (sa * oy + ca * ox)),
    )


def write_grid(
    path: str | os.PathLike[str], grid_row: np.ndarray, grid_col: np.ndarray, dtype: str = "float64"
) -> None:
    """Write a 2-band (row, column) grid GeoTIFF without georeferencing."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(
            path, "w", driver="GTiff", height=grid_row.shape[0], width=grid_row.shape[1], count=2, dtype=dtype
        ) as ds:
            ds.write(np.stack([grid_row, grid_col]).astype(dtype))
