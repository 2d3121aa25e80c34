"""Joining a metadata table (CSV, GeoPackage, any OGR vector) onto items by a key column."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eokit.catalog._common import parse_datetime
from eokit.errors import InputNotFoundError, InvalidInputError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["MetadataTable", "read_metadata"]

_DATETIME_NAMES = ("datetime", "start_datetime", "end_datetime")


@dataclass
class MetadataTable:
    """Rows keyed by the join column.

    Attributes
    ----------
    rows : dict
        key -> properties (datetime columns as aware UTC datetimes).
    geometries : dict
        key -> GeoJSON geometry in EPSG:4326 (vector tables only).
    datetime_column : str or None
        The column giving each item's ``datetime``.
    """

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    geometries: dict[str, dict[str, Any]] = field(default_factory=dict)
    datetime_column: str | None = None

    def item_datetime(self, key: str) -> dt.datetime | None:
        if self.datetime_column is None or key not in self.rows:
            return None
        value = self.rows[key].get(self.datetime_column)
        return value if isinstance(value, dt.datetime) else None


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _looks_like_datetime_column(name: str, values: list[Any]) -> bool:
    lower = name.lower()
    if lower not in _DATETIME_NAMES and "date" not in lower and "time" not in lower:
        return False
    present = [v for v in values if v is not None]
    if not present:
        return False
    for v in present:
        if isinstance(v, dt.datetime | dt.date):
            continue
        text = str(v)
        if len(text) < 8 or parse_datetime(text) is None:
            return False
    return True


def read_metadata(
    path: str | os.PathLike[str], key: str, *, datetime_column: str | None = None, layer: str | None = None
) -> MetadataTable:
    """Read a CSV or vector metadata table keyed by column ``key``.

    Datetime columns (named ``datetime``, ``*date*`` or ``*time*`` whose every value parses)
    become UTC datetimes; the item datetime comes from ``datetime_column`` if given, else
    ``datetime``, else the first datetime column. A vector table's geometries are kept
    (reprojected to EPSG:4326) so they can replace item footprints.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError("metadata file does not exist", path=path)
    geometries: dict[str, dict[str, Any]] = {}
    try:
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            import pandas as pd

            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep)
            geo = None
        else:
            import pyogrio

            frame = pyogrio.read_dataframe(path, layer=layer)
            geo = frame if "geometry" in frame.columns and frame.crs is not None else None
    except (OSError, ValueError) as exc:
        raise UnreadableInputError(f"cannot read the metadata table: {exc}", path=path) from None
    except Exception as exc:  # pyogrio/pandas parser errors have no common base
        raise UnreadableInputError(f"cannot read the metadata table: {exc}", path=path) from None
    if key not in frame.columns:
        raise InvalidInputError(
            f"metadata key column {key!r} not found; columns are: {', '.join(map(str, frame.columns))}", path=path
        )
    columns = [c for c in frame.columns if c != "geometry"]
    records = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in frame[columns].itertuples(False)]
    dt_columns = [c for c in columns if c != key and _looks_like_datetime_column(c, [r[c] for r in records])]
    for r in records:
        for c in dt_columns:
            r[c] = parse_datetime(r[c]) if r[c] is not None else None
    if datetime_column is not None:
        if datetime_column not in columns:
            raise InvalidInputError(f"datetime column {datetime_column!r} not found", path=path)
        if datetime_column not in dt_columns:
            for r in records:
                r[datetime_column] = parse_datetime(r[datetime_column])
    else:
        datetime_column = "datetime" if "datetime" in dt_columns else (dt_columns[0] if dt_columns else None)
    if geo is not None:
        import shapely

        geo4326 = geo.to_crs(4326)
        for r, g in zip(records, geo4326.geometry.values, strict=True):
            if g is not None and not g.is_empty and r[key] is not None:
                geometries[_key(r[key])] = shapely.geometry.mapping(shapely.make_valid(g))
    rows: dict[str, dict[str, Any]] = {}
    for r in records:
        if r[key] is None:
            continue
        k = _key(r[key])
        if k in rows:
            log.warning("metadata key %r appears more than once in %s; the last row wins", k, path)
        rows[k] = {c: v for c, v in r.items() if v is not None}
    return MetadataTable(rows=rows, geometries=geometries, datetime_column=datetime_column)


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
