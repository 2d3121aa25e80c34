"""Property-based fuzzing of the STAC API from its own OpenAPI document: no request may cause a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from eokit.catalog import build_catalog  # noqa: E402
from eokit.catalog.server import create_app  # noqa: E402
from eokit.testing.catalog_tree import make_drone_tree  # noqa: E402

from .conftest import SEED_GROUP  # noqa: E402

OPERATIONS = [
    ("GET", "/"),
    ("GET", "/conformance"),
    ("GET", "/collections"),
    ("GET", "/collections/{collection_id}"),
    ("GET", "/collections/{collection_id}/items"),
    ("GET", "/collections/{collection_id}/items/{item_id}"),
    ("GET", "/search"),
    ("POST", "/search"),
    ("GET", "/assets/{collection_id}/{item_id}/{key}"),
    ("GET", "/assets/{collection_id}/{item_id}/{key}/{filename}"),
    ("GET", "/queryables"),
    ("GET", "/collections/{collection_id}/queryables"),
    ("GET", "/_mgmt/ping"),
    ("GET", "/_mgmt/health"),
]


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory):
    base: Path = tmp_path_factory.mktemp("fuzz")
    make_drone_tree(base / "m", 4, laz_every=2, rasters=("ortho",))
    build_catalog(base / "m", base / "stac", group_by=SEED_GROUP)
    app = create_app(base / "stac", db_path=base / "index.sqlite")
    return schemathesis.openapi.from_asgi("/api", app)


def test_every_operation_is_fuzzed(fuzz_schema) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in fuzz_schema.get_all_operations()}
    assert found == set(OPERATIONS)


CASES = [(m, p, "positive") for m, p in OPERATIONS] + [
    # operations with typed inputs (integers, JSON bodies) for which invalid requests exist
    ("GET", "/search", "negative"),
    ("POST", "/search", "negative"),
    ("GET", "/collections/{collection_id}/items", "negative"),
]


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_server_errors(fuzz_schema, method: str, path: str, mode: str) -> None:
    from schemathesis import GenerationMode

    operation = fuzz_schema[path][method]
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=strategy)
    def run(case) -> None:
        response = case.call()
        assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body, response.text)
        if response.status_code == 400:
            assert set(response.json()) == {"code", "description"}

    run()
