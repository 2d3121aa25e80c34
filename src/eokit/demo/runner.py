"""Run named demo steps in order: time them, record their outputs, keep going on failure.

A step that fails is reported with its reason; steps that depend on it are
skipped (and say why); the others still run. The caller turns "any failure"
into a non-zero exit code.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["StepResult", "run_steps"]


@dataclasses.dataclass
class StepResult:
    """What one step did."""

    name: str
    title: str
    status: str = "pending"  # ok | failed | skipped
    seconds: float = 0.0
    message: str = ""
    outputs: list[Path] = dataclasses.field(default_factory=list)
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    detail: str = ""


@dataclasses.dataclass
class Step:
    """A named unit of demo work: ``func(context, result)`` fills ``result``."""

    name: str
    title: str
    func: Callable[[dict[str, Any], StepResult], None]
    depends: tuple[str, ...] = ()


def run_steps(
    steps: list[Step], context: dict[str, Any], *, announce: Callable[[str], None] | None = None
) -> list[StepResult]:
    """Run ``steps`` in order; return one :class:`StepResult` per step."""
    results: dict[str, StepResult] = {}
    for step in steps:
        result = StepResult(step.name, step.title)
        results[step.name] = result
        blocked = [d for d in step.depends if results.get(d) is None or results[d].status != "ok"]
        if blocked:
            result.status = "skipped"
            result.message = f"depends on {', '.join(blocked)}, which did not finish"
            if announce:
                announce(f"[skip] {step.title}: {result.message}")
            continue
        if announce:
            announce(f"[....] {step.title}")
        t0 = time.perf_counter()
        try:
            step.func(context, result)
            result.status = "ok"
        except Exception as exc:  # a demo step must never stop the others
            result.status = "failed"
            result.message = f"{type(exc).__name__}: {exc}"
            result.detail = traceback.format_exc()
            log.debug("step %s failed", step.name, exc_info=True)
        result.seconds = time.perf_counter() - t0
        unique = dict.fromkeys(Path(p) for p in result.outputs)  # keeps order, drops repeats
        result.outputs = [p for p in unique if p.exists()]
        if announce:
            tag = "[ ok ]" if result.status == "ok" else "[FAIL]"
            extra = f" — {result.message}" if result.message else ""
            announce(f"{tag} {step.title} ({result.seconds:.1f} s){extra}")
    return list(results.values())
