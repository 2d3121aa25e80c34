"""``eokit demo``: every capability end to end on a small generated world, with an HTML report."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from eokit.demo.runner import StepResult, run_steps

__all__ = ["StepResult", "run_demo"]

log = logging.getLogger(__name__)


def run_demo(
    out: str | Path = "demo-output",
    *,
    quick: bool = False,
    country: str = "KAZ",
    announce: Callable[[str], None] | None = None,
) -> tuple[list[StepResult], Path]:
    """Run the demo into ``out``; return the step results and the report's path.

    A failing step is reported and skipped by the steps that depend on it; the
    others still run. Nothing outside ``out`` is written, nothing is fetched from
    the internet, and every server the demo starts is stopped before it returns.
    """
    from eokit.demo.report import write_report
    from eokit.demo.steps import demo_steps, today
    from eokit.io.atomic import ensure_writable_dir

    root = ensure_writable_dir(out)
    for sub in ("data", "hub", "catalog", "algorithms", "resample", "urban"):
        shutil.rmtree(root / sub, ignore_errors=True)  # a rerun starts clean
    context = {"out": root, "quick": quick, "country": country.upper()}
    results = run_steps(demo_steps(), context, announce=announce)
    mode = "quick" if quick else "full"
    report = write_report(
        results,
        root,
        title=f"eokit demo — {context['country']}",
        subtitle=f"{mode} run, {today()}; every file is linked below",
    )
    return results, report
