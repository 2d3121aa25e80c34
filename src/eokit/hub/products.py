"""The provider-neutral product model: :class:`Product`, :class:`Asset`, :class:`ProductCollection`.

Results of every provider (CDSE, DHuS, STAC) become :class:`Product` objects; a
:class:`ProductCollection` converts to GeoJSON, pandas, GeoPandas and a STAC
ItemCollection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from eokit.hub.checksums import parse_multihash
from eokit.hub.exceptions import HubInputError

__all__ = ["Asset", "Product", "ProductCollection"]


@dataclasses.dataclass
class Asset:
    """One downloadable file of a product."""

    href: str
    title: str | None = None
    type: str | None = None
    roles: tuple[str, ...] = ()
    size: int | None = None
    checksums: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Product:
    """A product found by any provider.

    ``assets`` holds the downloadable files: for CDSE/DHuS one ``product``
    asset (the zip), for STAC the item's assets. ``stac`` keeps a STAC search
    result exactly as the server sent it (:meth:`to_stac` returns it).
    """

    id: str
    title: str
    provider: str
    geometry: dict[str, Any] | None
    start: datetime | None
    end: datetime | None
    online: bool = True
    size: int | None = None
    collection: str | None = None
    properties: dict[str, Any] = dataclasses.field(default_factory=dict)
    assets: dict[str, Asset] = dataclasses.field(default_factory=dict)
    stac: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    def to_stac(self) -> dict[str, Any]:
        """The STAC item as a dict: a STAC result unchanged (collection, ``stac_extensions``, assets with
        their ``proj``/``raster``/``eo`` fields, bbox, datetime or interval); others built by :meth:`to_stac_item`."""
        import copy

        if self.stac is not None:
            return copy.deepcopy(self.stac)
        return dict(self.to_stac_item().to_dict(include_self_link=False))

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature (dates as ISO strings)."""
        props = {k: _jsonable(v) for k, v in self.properties.items() if k not in ("footprint", "gmlfootprint")}
        props.update(
            {
                "title": self.title,
                "provider": self.provider,
                "start": _jsonable(self.start),
                "end": _jsonable(self.end),
                "online": self.online,
                "size": self.size,
                "collection": self.collection,
            }
        )
        return {"type": "Feature", "id": self.id, "geometry": self.geometry, "properties": props}

    def to_stac_item(self) -> Any:
        """A :class:`pystac.Item` (assets keep ``file:checksum``/``file:size``); from the original item for STAC."""
        import pystac
        import shapely.geometry

        if self.stac is not None:
            return pystac.Item.from_dict(self.to_stac(), preserve_dict=True, migrate=False)

        geom = self.geometry
        bbox = list(shapely.geometry.shape(geom).bounds) if geom else None
        dt = self.start or datetime(1970, 1, 1, tzinfo=UTC)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        props = {
            k: _jsonable(v) for k, v in self.properties.items() if k not in ("footprint", "gmlfootprint", "datetime")
        }
        if self.end:
            end = self.end if self.end.tzinfo else self.end.replace(tzinfo=UTC)
            props["start_datetime"] = dt.isoformat().replace("+00:00", "Z")
            props["end_datetime"] = end.isoformat().replace("+00:00", "Z")
        if self.collection and "constellation" not in props:
            props["constellation"] = str(self.collection).lower()
        # no "collection" field: STAC requires a matching link, which a search result does not have
        item = pystac.Item(id=self.id, geometry=geom, bbox=bbox, datetime=dt, properties=props)
        for key, asset in self.assets.items():
            extra: dict[str, Any] = {}
            if asset.size is not None:
                extra["file:size"] = asset.size
            for algo, value in asset.checksums.items():
                from eokit.hub.checksums import to_multihash

                try:
                    extra["file:checksum"] = to_multihash(algo, value)
                    break
                except (KeyError, ValueError):
                    continue
            item.add_asset(
                key,
                pystac.Asset(
                    href=asset.href,
                    title=asset.title,
                    media_type=asset.type,
                    roles=list(asset.roles) or None,
                    extra_fields=extra,
                ),
            )
        return item


class ProductCollection(Sequence[Product]):
    """Search results with conversions."""

    def __init__(self, products: Iterable[Product], *, total: int | None = None) -> None:
        self._products = list(products)
        self.total = total if total is not None else len(self._products)

    def __len__(self) -> int:
        return len(self._products)

    def __getitem__(self, index: Any) -> Any:
        return self._products[index]

    def __iter__(self) -> Iterator[Product]:
        return iter(self._products)

    def __repr__(self) -> str:
        return f"ProductCollection({len(self)} products of {self.total})"

    def to_geojson(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": [p.to_feature() for p in self]}

    def to_dataframe(self) -> Any:
        import pandas as pd

        rows = {p.id: {k: v for k, v in p.to_feature()["properties"].items()} for p in self}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_geodataframe(self) -> Any:
        import geopandas as gpd
        import shapely.geometry

        if not self._products:
            return gpd.GeoDataFrame(crs="EPSG:4326", geometry=[])
        df = self.to_dataframe()
        geoms = [shapely.geometry.shape(p.geometry) if p.geometry else None for p in self]
        return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326")

    def to_stac(self) -> Any:
        """A :class:`pystac.ItemCollection` (STAC results from their original items)."""
        import pystac

        return pystac.ItemCollection([p.to_stac_item() for p in self])

    def to_stac_dicts(self) -> list[dict[str, Any]]:
        """Each product's :meth:`Product.to_stac` (STAC results exactly as the server sent them)."""
        return [p.to_stac() for p in self]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        v = value if value.tzinfo else value.replace(tzinfo=UTC)
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _wkt_to_geojson(wkt: str | None) -> dict[str, Any] | None:
    if not wkt:
        return None
    import shapely.geometry
    from shapely import wkt as shapely_wkt

    return _lists(shapely.geometry.mapping(shapely_wkt.loads(wkt)))


def _lists(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_lists(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    return obj


def classic_to_product(pid: str, props: dict[str, Any], provider: str) -> Product:
    """A classic ``(uuid, properties)`` search result -> :class:`Product`."""
    size = props.get("contentlength")
    checksums = {k: props[k] for k in ("md5", "blake3", "sha3-256") if props.get(k)}
    assets = {}
    if props.get("link"):
        assets["product"] = Asset(
            href=props["link"],
            title=props.get("filename") or props.get("title"),
            type="application/zip",
            roles=("data",),
            size=size,
            checksums=checksums,
        )
    online = props.get("online", props.get("status", "ONLINE") != "ARCHIVED")
    return Product(
        id=pid,
        title=props.get("title") or pid,
        provider=provider,
        geometry=_wkt_to_geojson(props.get("footprint")),
        start=props.get("beginposition"),
        end=props.get("endposition"),
        online=bool(online),
        size=size,
        collection=props.get("platformname"),
        properties=dict(props),
        assets=assets,
    )


def odata_to_product(info: dict[str, Any], provider: str) -> Product:
    """A :meth:`~eokit.hub.SentinelAPI.get_product_odata` info -> :class:`Product` (one ``product`` asset)."""
    checksums = {k: str(info[k]) for k in ("md5", "blake3", "sha3-256") if info.get(k)}
    return Product(
        id=info["id"],
        title=info.get("title") or info["id"],
        provider=provider,
        geometry=_wkt_to_geojson(info.get("footprint")),
        start=info.get("date"),
        end=None,
        online=bool(info.get("Online", True)),
        size=info.get("size"),
        properties=dict(info),
        assets={
            "product": Asset(
                href=info["url"], title=info.get("title"), roles=("data",), size=info.get("size"), checksums=checksums
            )
        },
    )


def stac_to_product(item: Any) -> Product:
    """A STAC item (dict or pystac.Item) -> :class:`Product`."""
    import copy

    d = copy.deepcopy(item.to_dict() if hasattr(item, "to_dict") else item)
    props = d.get("properties", {})
    start = _stac_time(props.get("start_datetime") or props.get("datetime"))
    end = _stac_time(props.get("end_datetime")) if props.get("end_datetime") else None
    assets = {}
    for key, a in (d.get("assets") or {}).items():
        checksums = {}
        if a.get("file:checksum"):
            try:
                algo, hexd = parse_multihash(a["file:checksum"])
                checksums[algo] = hexd
            except HubInputError:
                pass
        assets[key] = Asset(
            href=a["href"],
            title=a.get("title"),
            type=a.get("type"),
            roles=tuple(a.get("roles") or ()),
            size=a.get("file:size"),
            checksums=checksums,
        )
    return Product(
        id=d["id"],
        title=d["id"],
        provider="stac",
        geometry=d.get("geometry"),
        start=start,
        end=end,
        online=True,
        size=None,
        collection=d.get("collection"),
        properties=dict(props),
        assets=assets,
        stac=d,
    )


def _stac_time(value: Any) -> datetime | None:
    """An RFC 3339 datetime or a date (``2024-06-01``) -> naive UTC datetime (None if absent/unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time())
        dt = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt
