"""Fixtures of the hub tests: cassette directory, local hubs with generated products."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from eokit.testing.hub_server import HubProduct

# sentinelsat's own suite: run in a subprocess by test_sentinelsat_suite.py, never collected here
collect_ignore = ["sentinelsat_suite"]


@pytest.fixture(scope="session")
def cassettes(shared_data: Path) -> Path:
    path = shared_data / "dhus-cassettes"
    if not path.is_dir():
        pytest.skip("../shared/data/dhus-cassettes is absent")
    return path


def make_products(n: int, *, size: int = 40_000, seed: int = 0, **kw) -> list[HubProduct]:
    """``n`` Sentinel-2-like products with deterministic random bytes and varied metadata."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = datetime(2024, 1, 1, 10, 0, 0) + timedelta(days=i)
        data = hashlib.sha256(f"{seed}-{i}".encode()).digest() * (size // 32 + 1)
        data = data[: size + i]
        x0 = rng.uniform(-10, 10)
        y0 = rng.uniform(40, 50)
        fp = f"POLYGON(({x0} {y0},{x0 + 1} {y0},{x0 + 1} {y0 + 1},{x0} {y0 + 1},{x0} {y0}))"
        out.append(
            HubProduct(
                f"S2{'AB'[i % 2]}_MSIL2A_{start:%Y%m%dT%H%M%S}_N0510_R{i % 143:03d}_T31UFT_{start:%Y%m%dT%H%M%S}",
                data=data,
                footprint=fp,
                start=start,
                attributes={
                    "productType": "S2MSI2A" if i % 3 else "S2MSI1C",
                    "cloudCover": float((i * 37) % 100),
                    "orbitDirection": "DESCENDING" if i % 2 else "ASCENDING",
                    "relativeOrbitNumber": i % 143,
                },
                quicklook=b"\xff\xd8\xff\xe0" + bytes(40),
                **kw,
            )
        )
    return out


@pytest.fixture
def products() -> list[HubProduct]:
    return make_products(8)


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The retry waits of hub requests, recorded instead of slept."""
    from eokit.hub import http as hub_http

    recorded: list[float] = []
    monkeypatch.setattr(hub_http, "_sleep", recorded.append)
    return recorded
