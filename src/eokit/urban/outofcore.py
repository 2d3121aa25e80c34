"""Degree of urbanisation of population rasters larger than memory.

The same rules as :func:`eokit.urban.degurba.degree_of_urbanisation` (``method="ghsl"``),
computed in passes over the files so memory holds a few blocks and per-object
tables, never the grid:

1. **label passes** (centres, clusters, rural clusters, dense clusters): each block is
   read, classified and labelled on its own; only its edges, first cells, population
   sums and bounding boxes go back to the caller, which merges labels across block
   edges (:class:`eokit.urban.labels._Merger`) and drops small components; a second
   sweep re-labels each block (deterministic) and writes the final labels.
2. **per object**: each candidate centre's majority filling and hole filling run in a
   window around it (its bounding box plus one cell). Filling never leaves the
   bounding box (a cell outside it has at most 3 of 8 neighbours inside), and a hole
   enclosed by one centre lies inside that centre's box, so the windowed result equals
   the whole-grid one. The filled cells are kept as sparse patches.
3. **distance pass**: "within 3 km of a centre or dense cluster" is decided per block
   with a halo of 3 km, which is exact for a ``<=`` threshold.
4. **class pass**: level 2 and level 1 written block by block, with the per-object
   tables (population, area, population-weighted centroid) accumulated on the way.

Work runs on any eokit scheduler (threads, processes, a Dask cluster); results are
identical to the in-memory path (sums may differ in the last bits of a float64).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from eokit.core.blocks import Block, iter_blocks
from eokit.core.crs import require_crs
from eokit.errors import InvalidInputError
from eokit.urban._kernels import majority_fill_pass
from eokit.urban.degurba import LEVEL2_NAMES, DegurbaParams, fill_holes
from eokit.urban.labels import _Merger, label_block
from eokit.urban.memory import block_side, check_window, resolve_max_memory

__all__ = ["DegurbaFiles", "degurba_files"]

log = logging.getLogger(__name__)

TABLE_COLUMNS = ["population", "area_km2", "n_cells", "prow", "pcol"]


@dataclasses.dataclass
class DegurbaFiles:
    """What :func:`degurba_files` wrote and measured (the tables hold one row per object)."""

    level2: Path
    level1: Path | None
    centres: Path
    clusters: Path
    centre_table: pd.DataFrame
    cluster_table: pd.DataFrame
    level2_population: dict[int, float]
    total_population: float
    n_invalid: int
    method: str
    transform: Any
    crs: Any
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    block_size: int = 0
    peak_rss_mb: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _Grid:
    """Picklable description of the input files of a block job."""

    population: str
    built_up: str | None
    land: str | None
    nodata: float | None
    labels: tuple[tuple[str, str], ...]  # (key, path) of label rasters written by earlier passes

    def read(self, window: tuple[tuple[int, int], tuple[int, int]], areas: np.ndarray) -> dict[str, np.ndarray]:
        """Population (cleaned), density, built-up / land shares and label rasters of one window."""
        import rasterio
        from rasterio.windows import Window

        win = Window.from_slices(*window)
        with rasterio.open(self.population) as src:
            raw = src.read(1, window=win).astype(np.float64)
        bad = ~np.isfinite(raw) | (raw < 0)
        if self.nodata is not None and np.isfinite(self.nodata):
            bad |= raw == self.nodata
        pop = np.where(bad, 0.0, raw)
        out = {"pop": pop, "invalid": bad}
        for key, path in (("built", self.built_up), ("land", self.land), *self.labels):
            if path is not None:
                with rasterio.open(path) as src:
                    out[key] = src.read(1, window=win)
        area = areas[:, None]
        if "land" in out:
            land_area = area * np.clip(out["land"].astype(np.float64), 0.0, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                out["density"] = np.where(land_area > 0, pop / land_area, np.where(pop > 0, np.inf, 0.0))
        else:
            out["density"] = pop / area
        return out


def _stage_mask(stage: str, d: dict[str, np.ndarray], p: DegurbaParams) -> np.ndarray:
    dens = d["density"]
    built = d["built"].astype(np.float64) >= p.centre_built_share if "built" in d else None
    if stage == "centre":
        mask = dens >= p.centre_density
        return mask | built if built is not None else mask
    if stage == "cluster":
        return (dens >= p.cluster_density) | (d["C"] > 0)
    if stage == "rural":
        return (dens >= p.cluster_density) & (d["U"] == 0)
    # dense urban clusters
    dense = dens >= p.dense_density
    if built is not None:
        dense |= built
    return (d["U"] > 0) & (d["C"] == 0) & dense


STAGES = {"centre": 4, "cluster": 8, "rural": 8, "dense": 4}


@dataclasses.dataclass(frozen=True)
class _LabelJob:
    """Picklable: label one block of a stage; summarise it (``mapping=None``) or map it to final labels."""

    grid: _Grid
    stage: str
    shape: tuple[int, int]
    params: DegurbaParams

    def __call__(self, task: tuple[Block, np.ndarray, np.ndarray | None]) -> Any:
        block, areas, mapping = task
        d = self.grid.read(block.window(), areas)
        mask = _stage_mask(self.stage, d, self.params)
        lab, n, first = label_block(mask, block, self.shape, STAGES[self.stage])
        if mapping is not None:
            return mapping[lab].astype(np.int32)
        n_invalid = int(d["invalid"].sum())
        if not n:
            empty = np.zeros(0, dtype=np.int64)
            edges = (lab[0], lab[-1], lab[:, 0], lab[:, -1])
            return n, first, empty.astype(np.float64), np.zeros((0, 4), np.int64), edges, n_invalid
        sums = np.bincount(lab.ravel(), weights=d["pop"].ravel(), minlength=n + 1)[1:]
        boxes = np.array([[s[0].start, s[0].stop, s[1].start, s[1].stop] for s in ndimage.find_objects(lab)])
        boxes += np.array([block.row, block.row, block.col, block.col])
        edges = (lab[0].copy(), lab[-1].copy(), lab[:, 0].copy(), lab[:, -1].copy())
        return n, first, sums, boxes.astype(np.int64), edges, n_invalid


@dataclasses.dataclass
class _Run:
    """One classification run: inputs, temporary folder, executor and memory budget."""

    grid: _Grid
    shape: tuple[int, int]
    areas: np.ndarray
    profile: dict[str, Any]
    params: DegurbaParams
    tmp: Path
    ex: Any
    block: int
    budget: int
    progress: Callable[[int], Any] | None
    n_invalid: int = 0
    n_invalid_total: int = 0
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    peaks: dict[str, float] = dataclasses.field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage into :attr:`timings` (seconds, wall clock) and note the peak RSS after it."""
        t0 = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
        self.peaks[name] = _peak_rss_mb()

    def blocks(self, halo: int = 0) -> list[Block]:
        return list(iter_blocks(self.shape, self.block, halo=halo))

    def with_labels(self, **paths: Path) -> _Grid:
        labels = dict(self.grid.labels)
        labels.update({k: os.fspath(v) for k, v in paths.items()})
        return dataclasses.replace(self.grid, labels=tuple(labels.items()))

    def label_stage(self, stage: str, grid: _Grid, min_pop: float, target: Path) -> tuple[int, np.ndarray]:
        """Label one stage into ``target``; return ``(n kept, bounding boxes (n, 4))``."""
        job = _LabelJob(grid, stage, self.shape, self.params)
        blocks = self.blocks()
        merger = _Merger(self.shape, STAGES[stage])
        offsets, counts, sums, boxes = [], [], [], []
        self.n_invalid = 0
        t0 = time.perf_counter()
        for block, (n, first, s, b, edges, n_bad) in zip(blocks, self.ex.imap(job, self._tasks(blocks))):
            offsets.append(merger.next_label - 1)
            counts.append(n)
            merger.add_edges(block, n, first, *edges)
            sums.append(s)
            boxes.append(b)
            self.n_invalid += n_bad
            if merger.next_label * 80 > self.budget // 2:
                raise InvalidInputError(
                    f"more than {merger.next_label:,} {stage} components: raise the memory budget",
                    param="max_memory",
                )
        table, n_comp = merger.lookup()
        prov = table[1:]
        comp_sum = np.bincount(prov, weights=np.concatenate(sums), minlength=n_comp + 1)
        bb = np.concatenate(boxes)
        comp_box = np.tile(np.array([np.iinfo(np.int64).max, -1, np.iinfo(np.int64).max, -1]), (n_comp + 1, 1))
        for j, op in enumerate((np.minimum, np.maximum, np.minimum, np.maximum)):
            op.at(comp_box[:, j], prov, bb[:, j])
        keep = comp_sum >= min_pop
        keep[0] = False
        new_id = np.zeros(n_comp + 1, dtype=np.int32)
        n_keep = int(keep.sum())
        new_id[keep] = np.arange(1, n_keep + 1, dtype=np.int32)
        final = new_id[table]
        kept_boxes = comp_box[keep]
        tasks = []
        for block, off, n in zip(blocks, offsets, counts):
            mapping = np.concatenate([[0], final[off + 1 : off + n + 1]]).astype(np.int32)
            if mapping.any():
                tasks.append((block, self.areas[block.core[0]], mapping))
        self.timings[f"{stage}_label"] = time.perf_counter() - t0
        self.peaks[f"{stage}_label"] = _peak_rss_mb()
        log.info("%s: %d provisional labels", stage, merger.next_label - 1)
        with self.stage(f"{stage}_write"):
            self._write_labels(target, job, tasks)
        log.info("%s: %d components, %d kept", stage, n_comp, n_keep)
        return n_keep, kept_boxes

    def _tasks(self, blocks: list[Block]) -> Iterator[tuple[Block, np.ndarray, None]]:
        for block in blocks:
            yield block, self.areas[block.core[0]], None

    def _write_labels(self, target: Path, job: Any, tasks: list[Any]) -> None:
        from eokit.io.raster import RasterWriter

        with RasterWriter(target, dict(self.profile, dtype="int32", nodata=0, SPARSE_OK=True)) as writer:
            for (block, _a, _m), lab in zip(tasks, self.ex.imap(job, tasks)):
                writer.write(lab, window=block.window())


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclasses.dataclass(frozen=True)
class _ObjectJob:
    """Picklable: majority filling (``patches is None``) or hole filling of one centre in its box."""

    path: str
    shape: tuple[int, int]
    votes: int
    max_hole_km2: float

    def __call__(self, task: tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None]) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        lab_id, box, patches, areas = task
        r0, r1 = max(int(box[0]) - 1, 0), min(int(box[1]) + 1, self.shape[0])
        c0, c1 = max(int(box[2]) - 1, 0), min(int(box[3]) + 1, self.shape[1])
        with rasterio.open(self.path) as src:
            win = src.read(1, window=Window.from_slices((r0, r1), (c0, c1)))
        if patches is None:
            cur = (win == lab_id).astype(np.int32)
            cand = win == 0
            while True:
                cur, changed = majority_fill_pass(cur, cand, self.votes)
                if changed == 0:
                    break
            added = (cur > 0) & cand
        else:
            _apply(win, patches, (r0, c0), self.shape[1])
            assert areas is not None
            filled = fill_holes(win, areas[:, None], max_area_km2=self.max_hole_km2)
            added = (filled == lab_id) & (win == 0)
        rr, cc = np.nonzero(added)
        return ((rr + r0) * self.shape[1] + (cc + c0)).astype(np.int64)


def _apply(win: np.ndarray, patches: np.ndarray, origin: tuple[int, int], width: int) -> None:
    """Write sparse ``patches`` (flat index, label) rows falling inside ``win`` (at ``origin``) in place."""
    r0, c0 = origin
    h, w = win.shape
    lo, hi = np.searchsorted(patches[:, 0], [r0 * width, (r0 + h) * width])
    sel = patches[lo:hi]
    rr, cc = np.divmod(sel[:, 0], width)
    ok = (cc >= c0) & (cc < c0 + w)
    win[rr[ok] - r0, cc[ok] - c0] = sel[ok, 1]


@dataclasses.dataclass(frozen=True)
class _PatchJob:
    """Picklable: one block of a label raster with sparse patches applied."""

    path: str
    width: int

    def __call__(self, task: tuple[Block, np.ndarray]) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        block, patches = task
        with rasterio.open(self.path) as src:
            lab = src.read(1, window=Window.from_slices(*block.window()))
        _apply(lab, patches, (block.row, block.col), self.width)
        return lab


def _patch_slice(patches: np.ndarray, block: Block, width: int) -> np.ndarray:
    lo, hi = np.searchsorted(patches[:, 0], [block.row * width, (block.row + block.height) * width])
    return patches[lo:hi]


def _pad_box(box: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    return (
        max(int(box[0]) - 1, 0),
        min(int(box[1]) + 1, shape[0]),
        max(int(box[2]) - 1, 0),
        min(int(box[3]) + 1, shape[1]),
    )


def _as_patches(cells: list[np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Sorted ``(flat index, label)`` rows of the cells each object added."""
    if not cells:
        return np.zeros((0, 2), dtype=np.int64)
    flat = np.concatenate(cells)
    labs = np.repeat(ids.astype(np.int64), [c.size for c in cells])
    order = np.argsort(flat, kind="stable")
    return np.stack([flat[order], labs[order]], axis=1)


def _blocks_touching(blocks: list[Block], boxes: np.ndarray) -> list[Block]:
    """Blocks whose core intersects at least one ``(row0, row1, col0, col1)`` box."""
    if boxes.size == 0:
        return []
    out = []
    for b in blocks:
        hit = (
            (boxes[:, 0] < b.row + b.height)
            & (boxes[:, 1] > b.row)
            & (boxes[:, 2] < b.col + b.width)
            & (boxes[:, 3] > b.col)
        )
        if hit.any():
            out.append(b)
    return out


def _centres(run: _Run, target: Path) -> tuple[int, np.ndarray]:
    """Urban centres: label, drop small, majority filling and hole filling per centre, write ``target``."""
    p = run.params
    c0 = run.tmp / "centres_candidates.tif"
    n, boxes = run.label_stage("centre", run.grid, p.centre_min_pop, c0)
    run.n_invalid_total = run.n_invalid
    ids = np.arange(1, n + 1)
    check_window(boxes, run.budget, run.ex.workers, what="urban centre")
    job = _ObjectJob(os.fspath(c0), run.shape, p.majority_votes, p.max_hole_km2)
    with run.stage("centre_majority"):
        maj = _as_patches(list(run.ex.imap(job, [(i, boxes[i - 1], None, None) for i in ids])), ids)
    tasks = []
    for i in ids:
        r0, r1, _c0, _c1 = _pad_box(boxes[i - 1], run.shape)
        lo, hi = np.searchsorted(maj[:, 0], [r0 * run.shape[1], r1 * run.shape[1]])
        tasks.append((i, boxes[i - 1], maj[lo:hi], run.areas[r0:r1]))
    with run.stage("centre_holes"):
        holes = _as_patches(list(run.ex.imap(job, tasks)), ids)
    both = np.concatenate([maj, holes])
    patches = both[np.argsort(both[:, 0], kind="stable")]
    from eokit.io.raster import RasterWriter

    pjob = _PatchJob(os.fspath(c0), run.shape[1])
    blocks = _blocks_touching(run.blocks(), boxes)
    with (
        run.stage("centre_write"),
        RasterWriter(target, dict(run.profile, dtype="int32", nodata=0, SPARSE_OK=True)) as writer,
    ):
        items = [(b, _patch_slice(patches, b, run.shape[1])) for b in blocks]
        for block, lab in zip(blocks, run.ex.imap(pjob, items)):
            writer.write(lab, window=block.window())
    log.info("centres: %d, %d cells majority-filled, %d hole cells filled", n, len(maj), len(holes))
    return n, boxes


@dataclasses.dataclass(frozen=True)
class _NearJob:
    """Picklable: the clusters with a cell within ``limit_km`` of a centre or dense-cluster cell, in one block."""

    centres: str
    dense: str
    clusters: str
    sampling: tuple[float, float]
    limit_km: float

    def __call__(self, block: Block) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        with rasterio.open(self.clusters) as src:
            u = src.read(1, window=Window.from_slices(*block.window()))
        if not u.any():
            return np.zeros(0, dtype=np.int64)
        with rasterio.open(self.centres) as a, rasterio.open(self.dense) as b:
            win = Window.from_slices(*block.read_window())
            core = (a.read(1, window=win) > 0) | (b.read(1, window=win) > 0)
        if not core.any():
            return np.zeros(0, dtype=np.int64)
        dist_km = ndimage.distance_transform_edt(~core, sampling=self.sampling)[block.inner] / 1000.0
        return np.unique(u[(u > 0) & (dist_km <= self.limit_km)]).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class _ClassJob:
    """Picklable: level-2 classes of one block and the per-object sums accumulated from it."""

    grid: _Grid
    params: DegurbaParams
    semi: np.ndarray  # bool per cluster id
    n_centres: int

    def __call__(self, task: tuple[Block, np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
        block, areas = task
        d = self.grid.read(block.window(), areas)
        pop, dens, c, u = d["pop"], d["density"], d["C"], d["U"]
        lv = np.full(pop.shape, 11, dtype=np.uint8)
        lv[dens >= self.params.low_density] = 12
        lv[d["R"] > 0] = 13
        lv[u > 0] = 21
        lv[self.semi[u] & (u > 0)] = 22
        lv[d["D"] > 0] = 23
        lv[c > 0] = 30
        if "land" in d:
            lv[(d["land"] <= 0) & (pop <= 0)] = 10
        rows = np.arange(block.row, block.row + block.height, dtype=np.float64)[:, None]
        cols = np.arange(block.col, block.col + block.width, dtype=np.float64)[None, :]
        area = np.broadcast_to(areas[:, None], pop.shape)
        stats: dict[str, Any] = {
            "level2_pop": np.bincount(lv.ravel(), weights=pop.ravel(), minlength=32),
            "level2_cells": np.bincount(lv.ravel(), minlength=32),
        }
        for key, lab in (("C", c), ("U", u)):
            sel = lab > 0
            if not sel.any():
                continue
            ids, inv = np.unique(lab[sel], return_inverse=True)
            p = pop[sel]
            cols_ = [p, area[sel], np.ones_like(p), p * np.broadcast_to(rows, pop.shape)[sel]]
            cols_.append(p * np.broadcast_to(cols, pop.shape)[sel])
            stats[key] = (ids, np.stack([np.bincount(inv, weights=v, minlength=ids.size) for v in cols_], axis=1))
        sel = u > 0
        if sel.any():
            keys, counts = np.unique(u[sel].astype(np.int64) * 32 + lv[sel], return_counts=True)
            stats["class"] = (keys, counts)
            both = sel & (c > 0)
            if both.any():
                pair = u[both].astype(np.int64) * (self.n_centres + 1) + c[both]
                keys, inv = np.unique(pair, return_inverse=True)
                stats["pair"] = (keys, np.bincount(inv, weights=pop[both]))
        return lv, stats


def _table(sums: np.ndarray, boxes: np.ndarray, kind: str, transform: Any) -> pd.DataFrame:
    n = sums.shape[0] - 1
    pop, area, cells, prow, pcol = (sums[1:, j] for j in range(5))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame(
            {
                "id": np.arange(1, n + 1, dtype=np.int32),
                "kind": kind,
                "population": pop,
                "area_km2": area,
                "density": pop / np.where(area > 0, area, np.nan),
                "n_cells": cells.astype(np.int64),
                "pop_row": prow / pop + 0.5,
                "pop_col": pcol / pop + 0.5,
            }
        )
    for j, col in enumerate(("row0", "row1", "col0", "col1")):
        df[col] = boxes[:, j].astype(np.int64) if n else np.zeros(0, np.int64)
    return df


def _classes(run: _Run, n: dict[str, int], boxes: dict[str, np.ndarray], out: dict[str, Path | None]) -> Any:
    """Semi-dense clusters, then the level-2 / level-1 pass with the object tables."""
    from eokit.core.crs import pixel_sizes_m
    from eokit.io.raster import RasterWriter

    p = run.params
    nu, nc = n["U"], n["C"]
    semi = np.zeros(nu + 1, dtype=bool)
    if nu:
        dx, dy = pixel_sizes_m(run.profile["transform"], run.profile["crs"], run.shape[0])
        sampling = (float(dy.mean()), float(dx.mean()))
        limit_m = p.semi_dense_distance_km * 1000.0
        halo = (int(np.ceil(limit_m / sampling[0])) + 1, int(np.ceil(limit_m / sampling[1])) + 1)
        lab = dict(run.grid.labels)
        job = _NearJob(lab["C"], lab["D"], lab["U"], sampling, p.semi_dense_distance_km)
        blocks = _blocks_touching(list(iter_blocks(run.shape, run.block, halo=halo)), boxes["U"])
        near = np.zeros(nu + 1, dtype=bool)
        with run.stage("semi_dense_distance"):
            for ids in run.ex.imap(job, blocks):
                near[ids] = True
        semi[1:] = ~near[1:]
    sums = {k: np.zeros((n[k] + 1, 5)) for k in ("C", "U")}
    klass = np.zeros((nu + 1) * 32, dtype=np.int64)
    pairs: dict[int, float] = {}
    level2_pop = np.zeros(32)
    level2_cells = np.zeros(32, dtype=np.int64)
    job2 = _ClassJob(run.grid, p, semi, nc)
    blocks = run.blocks()
    with run.stage("classes"), contextlib.ExitStack() as stack:
        writers = {
            key: stack.enter_context(RasterWriter(path, dict(run.profile, dtype="uint8", nodata=0)))
            for key, path in out.items()
            if path is not None
        }
        if "level2" in writers:
            writers["level2"].dataset.update_tags(
                classes=", ".join(f"{k}={v}" for k, v in sorted(LEVEL2_NAMES.items()))
            )
        tasks = ((b, run.areas[b.core[0]]) for b in blocks)
        for block, (lv, st) in zip(blocks, run.ex.imap(job2, tasks)):
            if "level2" in writers:
                writers["level2"].write(lv, window=block.window())
            if "level1" in writers:
                writers["level1"].write(lv // 10, window=block.window())
            level2_pop += st["level2_pop"]
            level2_cells += st["level2_cells"]
            for key in ("C", "U"):
                if key in st:
                    ids, vals = st[key]
                    sums[key][ids] += vals
            if "class" in st:
                np.add.at(klass, st["class"][0], st["class"][1])
            if "pair" in st:
                for k, v in zip(*st["pair"]):
                    pairs[int(k)] = pairs.get(int(k), 0.0) + float(v)
            if run.progress:
                run.progress(block.height * block.width)
    tr = run.profile["transform"]
    centre_table = _table(sums["C"], boxes["C"], "centre", tr)
    cluster_table = _table(sums["U"], boxes["U"], "cluster", tr)
    counts = klass.reshape(nu + 1, 32)[1:]
    cls = np.argmax(counts, axis=1).astype(np.int16) if nu else np.zeros(0, np.int16)
    cls[counts[:, 30] > 0] = 30
    cluster_table["class"] = cls
    best = np.zeros(nu + 1, dtype=np.int32)
    best_pop = np.full(nu + 1, -1.0)
    for pair in sorted(pairs):  # ascending centre id within a cluster: ties go to the lower id
        u_id, c_id = divmod(pair, nc + 1)
        if pairs[pair] > best_pop[u_id]:
            best[u_id], best_pop[u_id] = c_id, pairs[pair]
    cluster_table["centre_id"] = best[1:]
    centre_table["class"] = np.int16(30)
    level2 = {k: float(level2_pop[k]) for k in np.flatnonzero(level2_cells).tolist()}
    return centre_table, cluster_table, level2


def degurba_files(
    population: str | os.PathLike[str],
    *,
    centres: str | os.PathLike[str],
    clusters: str | os.PathLike[str],
    level2: str | os.PathLike[str] | None = None,
    level1: str | os.PathLike[str] | None = None,
    built_up: str | os.PathLike[str] | None = None,
    land: str | os.PathLike[str] | None = None,
    method: str = "ghsl",
    params: DegurbaParams = DegurbaParams(),
    max_memory: int | str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    block_size: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> DegurbaFiles:
    """Degree of urbanisation of a population raster of any size, in bounded memory.

    Writes int32 label rasters of the urban ``centres`` and ``clusters`` and, when
    given, the uint8 ``level2`` / ``level1`` class rasters; returns the object tables
    (population, area, density, cells, population-weighted centroid in fractional
    pixels, bounding box ``row0:row1, col0:col1``, class, and for clusters the
    centre holding most of their people). ``built_up`` / ``land`` shares must be on
    the population grid. ``max_memory`` (bytes or "4GB"; default half the RAM)
    bounds the blocks in flight and the per-object windows; ``block_size`` overrides
    the block side derived from it. ``scheduler``/``workers`` as in
    :func:`eokit.core.open_executor`. ``method="gost"``'s iterated median smoothing is
    whole-grid, so it runs in memory and refuses grids whose estimated footprint exceeds
    the budget.
    """
    if method not in {"ghsl", "gost"}:
        raise InvalidInputError(f"must be 'ghsl' or 'gost', got {method!r}", param="method")
    if method == "gost":
        paths = dict(centres=centres, clusters=clusters, level2=level2, level1=level1)
        from eokit.urban.inmemory import in_memory_files

        return in_memory_files(population, method=method, params=params, max_memory=max_memory, **paths)
    from eokit.core import open_executor
    from eokit.core.crs import cell_areas_km2
    from eokit.io.atomic import ensure_writable_dir
    from eokit.io.raster import open_raster, require_same_grid

    pop_path = os.fspath(population)
    with open_raster(pop_path, max_memory=resolve_max_memory(max_memory)) as ds:
        require_crs(ds.crs.to_wkt() if ds.crs else None, path=pop_path, purpose="population density (people per km²)")
        shape = (ds.height, ds.width)
        profile = dict(width=ds.width, height=ds.height, count=1, crs=ds.crs, transform=ds.transform)
        nodata = ds.nodata
        for extra in (built_up, land):
            if extra is not None:
                with open_raster(extra, max_memory=resolve_max_memory(max_memory)) as other:
                    require_same_grid(ds, other, names=[pop_path, os.fspath(extra)])
    budget = resolve_max_memory(max_memory)
    from eokit.config import get_settings

    n_workers = workers or get_settings().n_workers
    block = block_size or block_side(budget, n_workers)
    areas = cell_areas_km2(profile["transform"], profile["crs"], shape[0])
    grid = _Grid(
        pop_path,
        os.fspath(built_up) if built_up else None,
        os.fspath(land) if land else None,
        nodata,
        (),
    )
    work = ensure_writable_dir(Path(centres).parent)
    log.info(
        "degree of urbanisation of %s: %d x %d cells, blocks of %d, budget %d MB", pop_path, *shape, block, budget >> 20
    )
    import rasterio

    from eokit.config import override
    from eokit.core.dispatch import gdal_options

    # GDAL keeps written blocks in its cache (256 MB by default): a quarter of the budget at most
    gdal_env = dict(get_settings().gdal_env)
    cache_mb = (
        int(str(gdal_env.get("GDAL_CACHEMAX", "256"))) if str(gdal_env.get("GDAL_CACHEMAX", "256")).isdigit() else 256
    )
    gdal_env["GDAL_CACHEMAX"] = str(max(8, min(cache_mb, budget // 4 >> 20)))
    # the writers in this thread use the same bounded GDAL block cache as the workers
    with (
        override(gdal_env=gdal_env),
        rasterio.Env(**gdal_options(gdal_env)),
        tempfile.TemporaryDirectory(prefix=".eokit-degurba-", dir=work) as tmp,
        open_executor(scheduler, n_workers) as ex,
    ):
        run = _Run(grid, shape, areas, profile, params, Path(tmp), ex, block, budget, progress)
        n, boxes = {}, {}
        n["C"], boxes["C"] = _centres(run, Path(centres))
        n_invalid = run.n_invalid_total
        if n_invalid:
            log.warning("%d population cells are negative, NaN or nodata: treated as 0 people", n_invalid)
        g = run.with_labels(C=Path(centres))
        n["U"], boxes["U"] = run.label_stage("cluster", g, params.cluster_min_pop, Path(clusters))
        g = run.with_labels(C=Path(centres), U=Path(clusters))
        rural, dense = Path(tmp) / "rural.tif", Path(tmp) / "dense.tif"
        run.label_stage("rural", g, params.rural_cluster_min_pop, rural)
        run.label_stage("dense", g, params.dense_min_pop, dense)
        run.grid = run.with_labels(C=Path(centres), U=Path(clusters), R=rural, D=dense)
        outs = {"level2": Path(level2) if level2 else None, "level1": Path(level1) if level1 else None}
        centre_table, cluster_table, level2_pop = _classes(run, n, boxes, outs)
    return DegurbaFiles(
        level2=Path(level2) if level2 else Path(),
        level1=Path(level1) if level1 else None,
        centres=Path(centres),
        clusters=Path(clusters),
        centre_table=centre_table,
        cluster_table=cluster_table,
        level2_population=level2_pop,
        total_population=float(sum(level2_pop.values())),
        n_invalid=n_invalid,
        method="ghsl",
        transform=profile["transform"],
        crs=profile["crs"],
        timings=run.timings,
        block_size=block,
        peak_rss_mb=run.peaks,
    )
