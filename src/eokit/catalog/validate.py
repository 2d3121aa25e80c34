"""Offline validation of STAC documents against a local mirror of the official JSON Schemas.

The mirror is laid out by URL (``<host>/<path>``, e.g.
``schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json``); any ``$ref`` is
resolved in it and nothing is ever downloaded.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlparse

from eokit.errors import ConfigError, InputNotFoundError, MissingDependencyError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["ValidationReport", "find_schema_dir", "validate_catalog", "validate_document"]

_CORE = {
    "Feature": "item-spec/json-schema/item.json",
    "Collection": "collection-spec/json-schema/collection.json",
    "Catalog": "catalog-spec/json-schema/catalog.json",
}


@dataclass
class ValidationReport:
    """Per-document errors; ``ok`` when there are none."""

    checked: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


BUNDLED = Path(__file__).resolve().parent / "schemas"


def find_schema_dir(schema_dir: str | os.PathLike[str] | None = None) -> Path:
    """The schema mirror: ``schema_dir``, else ``$EOKIT_STAC_SCHEMAS``, else the schemas bundled with eokit.

    The bundled folder holds the core STAC 1.1.0 schemas and every extension version eokit writes
    (see ``eokit/catalog/schemas/README.md``); a fuller mirror (``shared/data/stac-schemas`` in a
    checkout) is searched first for other versions, see :func:`schema_roots`.
    """
    return schema_roots(schema_dir)[0]


def schema_roots(schema_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Folders searched for a schema URL, in order: the given mirror (or ``$EOKIT_STAC_SCHEMAS``), a
    ``shared/data/stac-schemas`` mirror next to the working directory, then the bundled schemas."""
    given = schema_dir if schema_dir is not None else os.environ.get("EOKIT_STAC_SCHEMAS")
    if given:
        if not (Path(given) / "schemas.stacspec.org").is_dir():
            raise ConfigError(
                "not an offline STAC schema mirror (no schemas.stacspec.org folder inside; the layout is "
                "<host>/<path> of each schema URL)",
                path=given,
                param="schemas",
            )
        return [Path(given), BUNDLED]
    roots = [
        c
        for base in [Path.cwd(), *Path.cwd().parents]
        for c in [base / "shared" / "data" / "stac-schemas"]
        if (c / "schemas.stacspec.org").is_dir()
    ][:1]
    return [*roots, BUNDLED]


class _Schemas:
    def __init__(self, roots: tuple[Path, ...]) -> None:
        try:
            import referencing
            import referencing.exceptions
            from jsonschema import Draft7Validator
            from jsonschema_specifications import REGISTRY
            from referencing.jsonschema import DRAFT7
        except ImportError:
            raise MissingDependencyError("jsonschema", extra="test", purpose="offline STAC validation") from None
        self.roots = [r.resolve() for r in roots]
        self.root = self.roots[0]
        self._Draft7Validator = Draft7Validator
        self._Resource = referencing.Resource
        self._DRAFT7 = DRAFT7
        self._NoSuchResource = referencing.exceptions.NoSuchResource
        self.Unresolvable = referencing.exceptions.Unresolvable
        self.registry = referencing.Registry(retrieve=self._retrieve).combine(REGISTRY)  # type: ignore[call-arg]

    def path_of(self, url: str) -> Path | None:
        u = urlparse(urldefrag(url)[0])
        if u.scheme not in ("http", "https") or not u.netloc:
            return None
        for root in self.roots:
            p = (root / u.netloc / u.path.lstrip("/")).resolve()
            if root in p.parents and p.is_file():
                return p
        return None

    def _load(self, url: str) -> Any:
        p = self.path_of(url)
        if p is None:
            raise FileNotFoundError(url)
        return json.loads(p.read_text(encoding="utf-8"))

    def _retrieve(self, uri: str) -> Any:
        try:
            return self._Resource.from_contents(self._load(uri), default_specification=self._DRAFT7)
        except (OSError, ValueError) as exc:
            raise self._NoSuchResource(ref=uri) from exc  # type: ignore[call-arg]

    @cache  # noqa: B019 - one instance per validation run
    def validator(self, url: str) -> Any:
        url = urldefrag(url)[0]
        schema = dict(self._load(url))
        registry = self.registry.with_resource(
            url, self._Resource.from_contents(schema, default_specification=self._DRAFT7)
        )
        schema["$id"] = url
        return self._Draft7Validator(schema, registry=registry, format_checker=self._Draft7Validator.FORMAT_CHECKER)


def _leaves(err: Any) -> list[Any]:
    if not err.context:
        return [err]
    leaves = [leaf for sub in err.context for leaf in _leaves(sub)]
    depth = max(len(leaf.absolute_path) for leaf in leaves)
    return [leaf for leaf in leaves if len(leaf.absolute_path) == depth][:3]


def validate_document(doc: dict[str, Any], *, schema_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Errors of one STAC Item/Collection/Catalog dict against core + its extension schemas ([] = valid)."""
    return _validate(_schemas(tuple(schema_roots(schema_dir))), doc)


@lru_cache(maxsize=4)
def _schemas(roots: tuple[Path, ...]) -> _Schemas:
    return _Schemas(roots)


def _validate(schemas: _Schemas, doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return ["<root>: not a JSON object"]
    kind, version = doc.get("type"), doc.get("stac_version")
    if kind not in _CORE:
        return [f"<root>: not a STAC Item/Collection/Catalog (type={kind!r})"]
    if not isinstance(version, str):
        return ["<root>: missing stac_version"]
    urls = [f"https://schemas.stacspec.org/v{version}/{_CORE[kind]}"]
    urls += [u for u in doc.get("stac_extensions") or [] if isinstance(u, str)]
    messages: list[str] = []
    for url in urls:
        try:
            validator = schemas.validator(url)
        except (OSError, ValueError):
            messages.append(f"schema {url} is not in the offline mirrors {', '.join(map(str, schemas.roots))}")
            continue
        try:
            for err in validator.iter_errors(doc):
                for leaf in _leaves(err):
                    where = "/".join(str(p) for p in leaf.absolute_path) or "<root>"
                    msg = f"{where}: {leaf.message[:300]} ({url.split('/')[-3] if 'extensions' in url else 'core'})"
                    if msg not in messages:
                        messages.append(msg)
        except schemas.Unresolvable as exc:
            messages.append(f"schema {url} refers to {exc} which is not in the offline mirror")
    return messages


_UNREADABLE = "__eokit_unreadable__"


def _targets(path: Path, seen: set[Path], *, top: bool = True) -> Iterator[tuple[str, Any]]:
    """(label, document) pairs: the document at ``path`` and its local children and items.

    A linked document that is missing or not JSON comes back as ``{_UNREADABLE: reason}`` so the
    run goes on; only the document the user named raises.
    """
    path = path.resolve()
    if path in seen:
        return
    seen.add(path)
    if not path.exists():
        if top:
            raise InputNotFoundError("STAC document does not exist", path=path)
        yield str(path), {_UNREADABLE: "linked document does not exist"}
        return
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if top:
            raise UnreadableInputError(f"not a JSON document: {exc}", path=path) from None
        yield str(path), {_UNREADABLE: f"not a JSON document: {exc}"}
        return
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        for i, feat in enumerate(features if isinstance(features, list) else []):
            yield f"{path}#features/{i}", feat
        return
    yield str(path), doc
    if isinstance(doc, dict) and doc.get("type") in ("Catalog", "Collection"):
        links = doc.get("links")
        for link in links if isinstance(links, list) else []:
            href = link.get("href", "") if isinstance(link, dict) else ""
            if isinstance(href, str) and href and link.get("rel") in ("child", "item") and "://" not in href:
                yield from _targets(path.parent / href, seen, top=False)


def validate_catalog(
    path: str | os.PathLike[str], *, schema_dir: str | os.PathLike[str] | None = None
) -> ValidationReport:
    """Validate a catalog/collection (and its local children and items), an item, or an ``index.geojson``.

    A folder means its ``catalog.json`` plus ``index.geojson`` when present.
    """
    schemas = _schemas(tuple(schema_roots(schema_dir)))
    path = Path(path)
    starts = [path]
    if path.is_dir():
        starts = [p for p in (path / "catalog.json", path / "index.geojson") if p.exists()]
        if not starts:
            raise InputNotFoundError("folder holds no catalog.json or index.geojson", path=path)
    report = ValidationReport()
    seen: set[Path] = set()
    for start in starts:
        for label, doc in _targets(start, seen):
            report.checked += 1
            if isinstance(doc, dict) and _UNREADABLE in doc:
                report.errors[label] = [doc[_UNREADABLE]]
                continue
            errs = _validate(schemas, doc)
            if errs:
                report.errors[label] = errs
    return report
