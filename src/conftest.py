"""Doctests of ``src/eokit`` (``pytest --doctest-modules src/eokit``): skip modules whose optional dependencies are missing.

A module that cannot be imported because a third-party package is absent
(e.g. ``eokit[serve]`` not installed) is left out of the doctest run instead of
failing its collection; any other import error still fails.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent


def _module_name(path: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(SRC)
    except ValueError:
        return None
    if rel.suffix != ".py" or rel.parts[0] != "eokit":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    name = _module_name(collection_path)
    if name is None:
        return None
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and missing != "eokit":
            return True  # an optional dependency is not installed
        raise
    return None
