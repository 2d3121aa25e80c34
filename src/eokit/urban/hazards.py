"""The hazard inputs of a review (flood, climate series, air quality) and their clipped copies."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from eokit.errors import InvalidInputError
from eokit.urban.exposure import DEPTH_CLASSES

__all__ = ["Hazards", "exposure_outputs", "parse_baseline", "parse_named", "write_exposure"]

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str) -> str:
    """``name`` reduced to letters, digits, ``_ . -`` (it becomes part of file names)."""
    cleaned = _SAFE.sub("_", name).strip("._")
    return cleaned or "layer"


def parse_named(values: Sequence[str], *, param: str, many: bool = False) -> dict[str, Any]:
    """``NAME=PATH`` options as a dict (``many``: ``NAME=PATH[,PATH...]`` or a glob, as lists)."""
    out: dict[str, Any] = {}
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep or not name or not rest:
            raise InvalidInputError(f"expected NAME=RASTER, got {v!r}", param=param)
        if many:
            out.setdefault(name, []).extend(p for p in rest.split(",") if p)
        elif name in out:
            raise InvalidInputError(f"{name!r} is given twice", param=param)
        else:
            out[name] = Path(rest)
    return out


@dataclasses.dataclass(frozen=True)
class Hazards:
    """Flood depth layers, climate series and air-quality layers of a review, with their options."""

    flood: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    climate: Mapping[str, Sequence[str | os.PathLike[str]]] = dataclasses.field(default_factory=dict)
    climate_index: Path | None = None
    air: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    depth_classes: Sequence[float] = DEPTH_CLASSES
    flood_rule: str = "share"
    baseline: tuple[str, str] | None = None
    built_up: Path | None = None

    @property
    def empty(self) -> bool:
        return not (self.flood or self.climate or self.climate_index or self.air)

    def series(self) -> pd.DataFrame:
        """The climate series (variable, date, path), empty without climate inputs."""
        if not (self.climate or self.climate_index):
            return pd.DataFrame(columns=["variable", "date", "path"])
        from eokit.urban.exposure import climate_series

        return climate_series(self.climate, index=self.climate_index)

    def paths(self, series: pd.DataFrame | None = None) -> list[Path]:
        """Every raster, in a fixed order: flood layers, climate series, air layers."""
        s = self.series() if series is None else series
        return [*map(Path, self.flood.values()), *map(Path, s["path"]), *map(Path, self.air.values())]

    def options(self) -> dict[str, Any]:
        return {"depth": list(self.depth_classes), "rule": self.flood_rule, "baseline": self.baseline}

    def clipped(self, folder: Path, series: pd.DataFrame) -> Hazards:
        """The same layers under ``folder`` with safe names (dates kept in the climate file names)."""
        climate: dict[str, list[Path]] = {}
        for r in series.itertuples():
            climate.setdefault(str(r.variable), []).append(
                folder / f"climate_{safe_name(str(r.variable))}_{pd.Timestamp(r.date):%Y-%m-%d}.tif"
            )
        names = [safe_name(n) for n in [*self.flood, *self.air]]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"flood and air layer names must differ: {names}", param="flood")
        return dataclasses.replace(
            self,
            flood={n: folder / f"flood_{safe_name(n)}.tif" for n in self.flood},
            climate=climate,
            climate_index=None,
            air={n: folder / f"air_{safe_name(n)}.tif" for n in self.air},
        )


def parse_baseline(value: str | None) -> tuple[str, str] | None:
    """``START/END`` (years, ``YYYY-MM`` or dates, inclusive) as two ISO dates."""
    if not value:
        return None
    start, sep, end = value.partition("/")
    try:
        lo = pd.Timestamp(start.strip())
        hi = pd.Timestamp(end.strip())
    except ValueError:
        raise InvalidInputError(f"expected START/END dates, got {value!r}", param="baseline") from None
    if not sep or hi < lo:
        raise InvalidInputError(f"expected START/END with START <= END, got {value!r}", param="baseline")
    # a year or a month as END means its last day
    if len(end.strip()) == 4:
        hi = hi + pd.offsets.YearEnd(0)
    elif len(end.strip()) == 7:
        hi = hi + pd.offsets.MonthEnd(0)
    return f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}"


def exposure_outputs(out: Path, hz: Hazards) -> dict[str, Path]:
    """The CSV files :func:`write_exposure` writes for ``hz``."""
    files = {}
    if hz.flood:
        files["flood_exposure"] = out / "flood_exposure.csv"
    if hz.climate or hz.climate_index:
        files["climate_summary"] = out / "climate_summary.csv"
        files["climate_series"] = out / "climate_series.csv"
    if hz.air:
        files["air_quality"] = out / "air_quality.csv"
    return files


def write_exposure(
    population: str | os.PathLike[str],
    out: str | os.PathLike[str],
    hz: Hazards,
    zones: Sequence[Any] = (),
    *,
    block_size: int = 1024,
) -> dict[str, Path]:
    """Run every analysis ``hz`` asks for over ``zones``; write one CSV per table into ``out``.

    ``flood_exposure.csv`` (people / built-up per flood layer, depth class and zone),
    ``climate_summary.csv`` + ``climate_series.csv`` (statistics, trend and anomalies),
    ``air_quality.csv`` (population-weighted PM2.5 and shares above the WHO levels).
    """
    from eokit.io.atomic import atomic_path, ensure_writable_dir
    from eokit.urban import exposure as ex

    if hz.empty:
        raise InvalidInputError("give at least one of --flood, --climate, --climate-index or --air", param="flood")
    folder = ensure_writable_dir(out)
    f = exposure_outputs(folder, hz)
    tables: dict[str, pd.DataFrame] = {}
    if hz.flood:
        tables["flood_exposure"] = ex.flood_exposure(
            population,
            hz.flood,
            zones,
            depth_classes=hz.depth_classes,
            built_up=hz.built_up,
            rule=hz.flood_rule,
            block_size=block_size,
        )
    if hz.climate or hz.climate_index:
        tables["climate_summary"], tables["climate_series"] = ex.climate_variation(
            population, hz.series(), zones, baseline=hz.baseline, block_size=block_size
        )
    for name, path in hz.air.items():
        df = ex.air_quality(population, path, zones, block_size=block_size)
        df.insert(2, "layer", name)
        tables["air_quality"] = pd.concat([tables.get("air_quality", pd.DataFrame()), df], ignore_index=True)
    for key, df in tables.items():
        with atomic_path(f[key]) as tmp:
            df.to_csv(tmp, index=False)
    return f
