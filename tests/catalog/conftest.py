"""Fixtures for catalog tests: the shared offline STAC validator and a small drone-mission store."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

SEED_GROUP = r"regex:^(?P<id>[^/]+)/processed[^/]*/full/"


@pytest.fixture(scope="session")
def stac_validator(shared_dir: Path) -> Any:
    """``check(doc_or_path) -> list of errors`` using ../shared/tools/validate_offline.py (no network)."""
    tool = shared_dir / "tools" / "validate_offline.py"
    if not tool.exists():
        pytest.skip("../shared/tools/validate_offline.py is absent")
    spec = importlib.util.spec_from_file_location("validate_offline_shared", tool)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    schemas = mod.OfflineSchemas(shared_dir / "data" / "stac-schemas")

    def check(doc: Any) -> list[str]:
        if isinstance(doc, str | Path):
            errors: list[str] = []
            for label, obj in mod.iter_targets(Path(doc), True, set()):
                errs, unavailable = mod.validate_object(schemas, obj, label)
                errors += [f"{label}: {e}" for e in errs] + [f"{label}: no schema {u}" for u in unavailable]
            return errors
        errs, unavailable = mod.validate_object(schemas, json.loads(json.dumps(doc)), "doc")
        return errs + [f"no schema {u}" for u in unavailable]

    return check


@pytest.fixture(scope="session")
def schema_dir(shared_data: Path) -> Path:
    return shared_data / "stac-schemas"
