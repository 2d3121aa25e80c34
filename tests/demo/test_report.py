"""The report on its own: rounded tables that fit, a picture for every step, correct plurals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine

from eokit.demo.report import write_report
from eokit.demo.runner import StepResult
from eokit.io import write_raster


def test_tables_are_rounded_and_scroll_and_every_ok_step_has_a_picture(tmp_path: Path) -> None:
    table = tmp_path / "step" / "t.csv"
    table.parent.mkdir()
    header = ",".join(f"c{i}" for i in range(14))
    table.write_text(header + "\n" + ",".join(["1234567.891234", "0.000123456", "0.5123456"] + ["x"] * 11) + "\n")
    raster = write_raster(
        tmp_path / "step" / "r.tif",
        np.arange(400, dtype="float32").reshape(20, 20),
        transform=Affine(10, 0, 0, 0, -10, 0),
        crs="EPSG:32633",
    )
    ok = StepResult("one", "1. one", status="ok", outputs=[table, raster], facts={"mean": 0.123456789, "n": 1})
    failed = StepResult("two", "2. two", status="failed", message="boom")
    page = write_report([ok, failed], tmp_path, title="t", subtitle="s").read_text()
    assert "1,234,568" in page and "1234567.89" not in page
    assert "0.00012" in page and "0.512" in page and "0.5123456" not in page
    assert "… 4 more columns" in page
    assert page.count("<div class='scroll'>") >= 3
    assert "<img src='report-figures/one.png'" in page
    assert (tmp_path / "report-figures" / "one.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "report-figures" / "two.png").exists()
    assert "2 files" in page and "1 files" not in page
