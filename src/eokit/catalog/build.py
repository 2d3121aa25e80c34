"""``build_catalog``: crawl a data store into a STAC catalog + collection, index.geojson, items.parquet.

The whole output folder is built beside the target and swapped in at the end, so an
interrupted build leaves the previous catalog intact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eokit.catalog.crawl import FoundFile, Skipped, discover, group_files, read_files
from eokit.catalog.documents import (
    CATALOG_TYPES,
    CollectionInfo,
    Hrefs,
    catalog_doc,
    collection_doc,
    rebase,
    write_parquet,
)
from eokit.catalog.item import assemble_item
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.catalog.state import STATE_FILE, CrawlState, summary_of, write_state
from eokit.errors import FallbackWarning, InvalidInputError, OutputError
from eokit.io.atomic import staging_dir, swap_dirs

log = logging.getLogger(__name__)

__all__ = ["BuildResult", "CollectionInfo", "build_catalog", "CATALOG_TYPES", "STATE_FILE"]


@dataclass
class BuildResult:
    """What a build did. ``skipped`` lists every file left out, with its reason."""

    out: Path
    n_items: int = 0
    n_files: int = 0
    n_reused: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    ungrouped: list[str] = field(default_factory=list)
    unmatched_metadata: list[str] = field(default_factory=list)
    items_without_metadata: list[str] = field(default_factory=list)
    file_time_items: list[str] = field(default_factory=list)


def _options_digest(options: ReadOptions) -> str:
    return hashlib.sha256(json.dumps(asdict(options), sort_keys=True).encode()).hexdigest()[:16]


def _dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)


def build_catalog(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    group_by: str = "stem",
    metadata: str | os.PathLike[str] | None = None,
    metadata_key: str = "id",
    metadata_geometry: bool = True,
    collection: CollectionInfo | None = None,
    catalog_type: str = "self-contained",
    public_url: str | None = None,
    catalog_url: str | None = None,
    read_options: ReadOptions | None = None,
    incremental: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[float], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    file_timeout: float | None = 300.0,
) -> BuildResult:
    """Crawl ``root`` and write a STAC catalog to ``out``.

    Outputs: ``catalog.json``, ``collection.json``, ``items/<id>.json``, ``index.geojson``
    (FeatureCollection of the items), ``items.parquet`` (stac-geoparquet), ``errors.json``
    (skipped files with reasons, unmatched metadata rows, items without metadata) and
    ``.eokit-state.sqlite`` (what ``incremental`` reuses: files unchanged in size and mtime
    are not read again, items whose inputs are unchanged are not rewritten).

    Parameters
    ----------
    root, out : path
    group_by : str
        ``stem``, ``parent`` or ``regex:PATTERN`` (named group ``id``), see :func:`~eokit.catalog.crawl.group_key`.
    metadata, metadata_key : optional
        A CSV / GeoPackage joined on ``metadata_key`` = item id; columns become properties.
    metadata_geometry : bool
        Let a metadata table's geometry replace the item footprint.
    collection : CollectionInfo
    catalog_type : {"self-contained", "relative-published", "absolute-published"}
    public_url : str, optional
        URL of ``root``: asset hrefs become ``public_url/<path relative to root>``.
    catalog_url : str, optional
        URL where ``out`` will be published (published catalog types).
    read_options : ReadOptions
    incremental : bool
    scheduler, workers : optional
        Where files are read (threads by default; ``local`` / ``tcp://...`` for Dask).
    progress : callable, optional
        Called with 1 per file read.
    on_total : callable, optional
        Called once with the number of files to read, before reading (a progress bar's total).
    file_timeout : float, optional
        Seconds one file may take to read (threads scheduler) before it is skipped as timed out.
    """
    from eokit.catalog.metadata import read_metadata

    if file_timeout is not None and not file_timeout > 0:
        raise InvalidInputError(f"must be a positive number of seconds, not {file_timeout}", param="file_timeout")

    root_path = Path(root).resolve()
    out_path = Path(out).resolve()
    collection = collection or CollectionInfo()
    options = read_options or ReadOptions()
    hrefs = Hrefs(root_path, out_path, catalog_type, public_url, catalog_url)
    if (
        out_path.exists()
        and any(out_path.iterdir())
        and not (out_path / STATE_FILE).exists()
        and not (out_path / "catalog.json").exists()
    ):
        raise OutputError("output folder is not empty and holds no eokit catalog; refusing to replace it", path=out)
    table = read_metadata(metadata, metadata_key) if metadata is not None else None

    result = BuildResult(out=out_path)
    files, skipped = discover(root_path, exclude=[out_path])
    groups, ungrouped = group_files(files, group_by)
    result.ungrouped = [f.rel for f in ungrouped]
    wanted = {f.path: f for fs in groups.values() for f in fs}
    digest = _options_digest(options)
    state = CrawlState(out_path / STATE_FILE, digest) if incremental else CrawlState(Path("/nonexistent"), digest)
    try:
        reused = {p for p, f in wanted.items() if state.unchanged(f.rel, f.size, f.mtime_ns)}
        result.n_reused = len(reused)
        records: dict[str, AssetRecord] = {}
        to_read = [p for p in wanted if p not in reused]
        if on_total is not None:
            on_total(len(to_read))
        for path, rec, skip in read_files(
            to_read, options, scheduler=scheduler, workers=workers, progress=progress, file_timeout=file_timeout
        ):
            if rec is not None:
                records[path] = rec
            elif skip is not None:
                skipped.append(skip)
        result.skipped = sorted(skipped, key=lambda s: s.path)
        ok = reused | set(records)
        result.n_files = len(ok)
        plan = _plan_items(groups, ok, hrefs, collection, table, metadata_geometry, result)
        # records of reused files are parsed only for items that must be re-assembled
        need = {f.rel: f.path for entry in plan for f in entry.files if entry.digest != _old_digest(state, entry.id)}
        texts = state.record_texts([rel for rel, p in need.items() if p in reused])
        for rel, text in texts.items():
            rec = AssetRecord.from_json(json.loads(text))
            rec.path = need[rel]
            records[rec.path] = rec
        _write_outputs(out_path, hrefs, collection, plan, records, reused, wanted, state, result, digest)
    finally:
        state.close()
    return result


def _old_digest(state: CrawlState, item_id: str) -> str | None:
    old = state.items.get(item_id)
    return old[0] if old else None


@dataclass
class _Planned:
    """One item to write: its files and every input it depends on (hashed into ``digest``)."""

    id: str
    files: list[FoundFile]
    hrefs: dict[str, str]
    properties: dict[str, Any] | None
    datetime: dt.datetime | None
    geometry: dict[str, Any] | None
    links: list[dict[str, str]]
    digest: str = ""


def _plan_items(
    groups: Mapping[str, list[FoundFile]],
    ok: set[str],
    hrefs: Hrefs,
    collection: CollectionInfo,
    table: Any,
    metadata_geometry: bool,
    result: BuildResult,
) -> list[_Planned]:
    plan = []
    for item_id in sorted(groups):
        files = sorted((f for f in groups[item_id] if f.path in ok), key=lambda f: f.path)
        if not files:
            continue
        props = when = geometry = None
        if table is not None:
            if item_id in table.rows:
                props = dict(table.rows[item_id])
                when = table.item_datetime(item_id)
                if table.datetime_column:
                    props.pop(table.datetime_column, None)
                if metadata_geometry:
                    geometry = table.geometries.get(item_id)
            else:
                result.items_without_metadata.append(item_id)
        links = [
            {"rel": "root", "href": hrefs.doc("catalog.json", from_items=True), "type": "application/json"},
            {"rel": "parent", "href": hrefs.doc("collection.json", from_items=True), "type": "application/json"},
            {"rel": "collection", "href": hrefs.doc("collection.json", from_items=True), "type": "application/json"},
            *hrefs.self_link(f"items/{quote(item_id)}.json", is_root=False),
        ]
        entry = _Planned(
            item_id, files, {f.path: hrefs.asset(f.path, f.rel) for f in files}, props, when, geometry, links
        )
        key = [
            [(f.rel, f.size, f.mtime_ns) for f in files],
            [entry.hrefs[f.path] for f in files],
            props,
            when.isoformat() if when else None,
            geometry,
            links,
            collection.id,
        ]
        entry.digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
        plan.append(entry)
    if table is not None:
        have = set(groups)
        result.unmatched_metadata = sorted(k for k in table.rows if k not in have)
    result.n_items = len(plan)
    return plan


def _assemble(
    entry: _Planned, records: Mapping[str, AssetRecord], collection_id: str, result: BuildResult
) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        item = assemble_item(
            entry.id,
            [records[f.path] for f in entry.files],
            hrefs=entry.hrefs,
            properties=entry.properties,
            datetime=entry.datetime,
            geometry=entry.geometry,
            collection=collection_id,
        )
    for w in caught:
        log.info("%s", w.message)
        if issubclass(w.category, FallbackWarning) and entry.id not in result.file_time_items:
            result.file_time_items.append(entry.id)
    item["links"] = entry.links
    return item


def _write_outputs(
    out: Path,
    hrefs: Hrefs,
    info: CollectionInfo,
    plan: list[_Planned],
    records: Mapping[str, AssetRecord],
    reused: set[str],
    wanted: Mapping[str, FoundFile],
    state: CrawlState,
    result: BuildResult,
    digest: str,
) -> None:
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = staging_dir(out)  # .NAME.eokit-PID-x.part: a later run removes it if this one is killed
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror or exc}", path=out) from None
    try:
        (staging / "items").mkdir()
        old_items = out / "items"
        summaries: list[dict[str, Any]] = []
        item_rows: list[tuple[str, str, str]] = []
        fresh: dict[str, dict[str, Any]] = {}
        for entry in plan:
            name = f"{entry.id}.json"
            old = state.items.get(entry.id)
            if old and old[0] == entry.digest:
                try:
                    os.link(old_items / name, staging / "items" / name)
                    summaries.append(json.loads(old[1]))
                    item_rows.append((entry.id, entry.digest, old[1]))
                    continue
                except OSError:
                    pass  # fall through: rebuild the item
                if not all(f.path in records for f in entry.files):
                    texts = state.record_texts([f.rel for f in entry.files if f.path not in records])
                    for f in entry.files:
                        if f.rel in texts:
                            rec = AssetRecord.from_json(json.loads(texts[f.rel]))
                            rec.path = f.path
                            records[f.path] = rec  # type: ignore[index]
            item = _assemble(entry, records, info.id, result)
            fresh[entry.id] = item
            (staging / "items" / name).write_text(_dumps(item), encoding="utf-8")
            summary = summary_of(item)
            summaries.append(summary)
            item_rows.append((entry.id, entry.digest, json.dumps(summary)))
        all_digest = hashlib.sha256("|".join(f"{r[0]}:{r[1]}" for r in item_rows).encode()).hexdigest()
        (staging / "catalog.json").write_text(_dumps(catalog_doc(hrefs, info), 2), encoding="utf-8")
        (staging / "collection.json").write_text(_dumps(collection_doc(hrefs, info, summaries), 2), encoding="utf-8")
        if state.meta.get("items_digest") == all_digest:
            for name in ("index.geojson", "items.parquet"):
                if (out / name).exists():
                    with contextlib.suppress(OSError):
                        os.link(out / name, staging / name)
        if not (staging / "index.geojson").exists() or (plan and not (staging / "items.parquet").exists()):
            items = [
                fresh.get(e.id) or json.loads((staging / "items" / f"{e.id}.json").read_text(encoding="utf-8"))
                for e in plan
            ]
            rebased = [rebase(it) for it in items]
            with open(staging / "index.geojson", "w", encoding="utf-8") as fh:
                fh.write('{"type": "FeatureCollection", "features": [\n')
                fh.write(",\n".join(_dumps(it) for it in rebased))
                fh.write("\n]}\n")
            if rebased:
                write_parquet(rebased, staging / "items.parquet")
        errors = {
            "skipped": [s.to_json() for s in result.skipped],
            "ungrouped": result.ungrouped,
            "unmatched_metadata": result.unmatched_metadata,
            "items_without_metadata": result.items_without_metadata,
            "datetime_from_file_time": result.file_time_items,
        }
        (staging / "errors.json").write_text(_dumps(errors, 2), encoding="utf-8")
        old_texts = state.record_texts([f.rel for p, f in wanted.items() if p in reused and p not in records])
        file_rows = []
        for p, f in wanted.items():
            if p in records:
                file_rows.append((f.rel, f.size, f.mtime_ns, _dumps(records[p].to_json())))
            elif f.rel in old_texts:
                file_rows.append((f.rel, f.size, f.mtime_ns, old_texts[f.rel]))
        write_state(
            staging / STATE_FILE,
            options_digest=digest,
            root=hrefs.root.as_posix(),
            items_digest=all_digest,
            files=file_rows,
            items=item_rows,
        )
        swap_dirs(staging, out)  # renameat2(RENAME_EXCHANGE): the catalog is never absent
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json_atomic(path: str | os.PathLike[str], doc: Any) -> Path:
    """Write one JSON document atomically (temporary name beside it, then rename)."""
    from eokit.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(_dumps(doc, 2), encoding="utf-8")
    return Path(path)
