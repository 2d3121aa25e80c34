"""pytest plugin: blocks non-loopback network and locates ``../shared`` data.

Enabled from ``tests/conftest.py`` with ``pytest_plugins = ["eokit.testing.pytest_plugin"]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eokit.testing.network import block_network


def shared_root() -> Path | None:
    """The ``shared`` folder beside the repository (or ``EOKIT_SHARED_DIR``), if present."""
    env = os.environ.get("EOKIT_SHARED_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" for p in here.parents] + [Path.cwd().parent / "shared"]
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return None


@pytest.fixture(autouse=True)
def _offline() -> Iterator[None]:
    with block_network():
        yield


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``; skips the test with a reason when it is absent."""
    root = shared_root()
    if root is None:
        pytest.skip("../shared is absent (it holds the real sample data); clone the repo beside it")
    return root


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    """``../shared/data``."""
    return shared_dir / "data"


@pytest.fixture(scope="session")
def samples(shared_data: Path) -> Path:
    """``../shared/data/samples``."""
    return shared_data / "samples"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a slow test (still runs in CI); deselect with -m 'not slow'")
