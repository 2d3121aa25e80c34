"""Real `eokit` processes on real files: a full disk and a `kill -9` end as the contract says."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from eokit.cli import _errors
from eokit.io.atomic import is_temp_name


@pytest.fixture(scope="module")
def two_band(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "scene.tif"
    profile = dict(
        driver="GTiff", width=1500, height=1500, count=2, dtype="float32", crs="EPSG:32633",
        transform=Affine(10, 0, 500000, 0, -10, 4800000), tiled=True, blockxsize=256, blockysize=256,
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.random.default_rng(1).random((2, 1500, 1500), dtype="float32"))
    return path


def _eokit(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "eokit", *map(str, args)]


def _small_disk() -> None:  # in the child: writes past 1 MB fail with EFBIG, as on a full disk
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))


def test_full_disk_is_one_eokit_line_naming_out_and_leaves_nothing(two_band, tmp_path):
    out = tmp_path / "ndvi.tif"
    proc = subprocess.run(
        _eokit("algo", "index", "NDVI", two_band, "--red", "1", "--nir", "2", "--out", out),
        preexec_fn=_small_disk,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == _errors.EXIT_RUNTIME, proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("eokit:")]
    assert len(ours) == 1 and ours[0].startswith(f"eokit: error: --out {out}: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_kill_9_then_rerun_leaves_only_the_output(two_band, tmp_path):
    out = tmp_path / "ndvi.tif"
    args = _eokit("algo", "index", "NDVI", two_band, "--red", "1", "--nir", "2", "--out", out, "--workers", "1")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(is_temp_name(p.name) for p in tmp_path.iterdir()):
        assert proc.poll() is None, "the run ended before its temporary file was seen"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    left = [p.name for p in tmp_path.iterdir()]
    assert left and all(is_temp_name(n) for n in left) and not out.exists()
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["ndvi.tif"]
    with rasterio.open(out) as ds:
        assert ds.shape == (1500, 1500)
