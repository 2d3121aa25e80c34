"""JSON payloads of :class:`eokit.testing.hub_server.LocalHub`: CDSE OData, DHuS OpenSearch/OData v1, STAC items."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

__all__ = ["HubPayloads"]


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _odata_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, datetime):
        return "DateTimeOffset"
    return "String"


class HubPayloads:
    """Mixin of :class:`~eokit.testing.hub_server.LocalHub`: how its products look on each API."""

    url: str
    products: dict[str, Any]
    stac_items: list[dict[str, Any]]
    cdse_urls: Any  # properties of LocalHub
    dhus_url: Any
    stac_url: Any
    lock: Any

    def cdse_json(self, p: Any, expand: str = "") -> dict[str, Any]:
        if p.raw_json is not None:
            raw = {k: v for k, v in p.raw_json.items() if k != "Attributes" or "Attributes" in expand}
            raw["Online"] = p.online
            return raw
        rec: dict[str, Any] = {
            "@odata.mediaContentType": "application/octet-stream",
            "Id": p.id,
            "Name": p.name + p.extension,
            "ContentType": "application/octet-stream",
            "ContentLength": p.size,
            "OriginDate": _iso(p.published),
            "PublicationDate": _iso(p.published),
            "ModificationDate": _iso(p.published),
            "Online": p.online,
            "EvictionDate": "",
            "S3Path": f"/eodata/{p.name}{p.extension}",
            "Checksum": [
                {"Value": p.checksums["md5"], "Algorithm": "MD5", "ChecksumDate": _iso(p.published)},
                {"Value": p.checksums["blake3"], "Algorithm": "BLAKE3", "ChecksumDate": _iso(p.published)},
            ],
            "ContentDate": {"Start": _iso(p.start), "End": _iso(p.end)},
            "Footprint": f"geography'SRID=4326;{p.footprint}'",
            "GeoFootprint": p.geojson,
        }
        if "Attributes" in expand:
            rec["Attributes"] = [
                {
                    "@odata.type": f"#OData.CSC.{_odata_type(v)}Attribute",
                    "Name": k,
                    "Value": _iso(v) if isinstance(v, datetime) else v,
                    "ValueType": _odata_type(v),
                }
                for k, v in self._attributes(p).items()
            ]
        if "Assets" in expand:
            rec["Assets"] = (
                [
                    {
                        "Type": "QUICKLOOK",
                        "Id": p.id,
                        "DownloadLink": f"{self.cdse_urls['download_url']}/Assets({p.id})/$value",
                    }
                ]
                if p.quicklook
                else []
            )
        return rec

    def _attributes(self, p: Any) -> dict[str, Any]:
        attrs = {"platformShortName": p.collection, "beginningDateTime": p.start, "endingDateTime": p.end}
        attrs.update(p.attributes)
        return attrs

    def filter_record(self, p: Any) -> dict[str, Any]:
        rec = self.cdse_json(p, "Attributes")
        rec["Collection"] = {"Name": p.collection}
        return rec

    def dhus_props(self, p: Any) -> dict[str, Any]:
        """Flat OpenSearch properties (typed) of a product."""
        props: dict[str, Any] = {
            "identifier": p.name,
            "title": p.name,
            "uuid": p.id,
            "filename": p.name + p.extension,
            "beginposition": p.start,
            "endposition": p.end,
            "ingestiondate": p.published,
            "platformname": p.collection.title() if p.collection else "",
            "footprint": p.footprint,
            "size": f"{p.size / 1024**2:.2f} MB",
            "status": "ONLINE" if p.online else "ARCHIVED",
            "format": "SAFE",
        }
        names = {"productType": "producttype", "cloudCover": "cloudcoverpercentage", "orbitDirection": "orbitdirection"}
        for k, v in p.attributes.items():
            props[names.get(k, k.lower())] = v
        return props

    def dhus_entry(self, p: Any) -> dict[str, Any]:
        base = f"{self.dhus_url}odata/v1/Products('{p.id}')"
        entry: dict[str, Any] = {
            "title": p.name,
            "link": [
                {"href": f"{base}/$value"},
                {"rel": "alternative", "href": f"{base}/"},
                {"rel": "icon", "href": f"{base}/Products('Quicklook')/$value"},
            ],
            "id": p.id,
            "summary": f"Date: {_iso(p.start)}, Size: {p.size}",
        }
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for k, v in self.dhus_props(p).items():
            if k in ("title",):
                continue
            if isinstance(v, datetime):
                groups["date"].append({"name": k, "content": _iso(v)})
            elif isinstance(v, bool):
                groups["str"].append({"name": k, "content": str(v).lower()})
            elif isinstance(v, int):
                groups["int"].append({"name": k, "content": str(v)})
            elif isinstance(v, float):
                groups["double"].append({"name": k, "content": str(v)})
            else:
                groups["str"].append({"name": k, "content": str(v)})
        for k, v in groups.items():
            entry[k] = v if len(v) > 1 else v[0]
        return entry

    def dhus_odata(self, p: Any, expand: bool) -> dict[str, Any]:
        base = f"{self.dhus_url}odata/v1/Products('{p.id}')"
        ms = lambda dt: f"/Date({int((dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt).timestamp() * 1000)})/"  # noqa: E731
        coords = " ".join(f"{y},{x}" for x, y in p.geojson["coordinates"][0]) if p.geojson["type"] == "Polygon" else ""
        gml = (
            '<gml:Polygon srsName="http://www.opengis.net/gml/srs/epsg.xml#4326" xmlns:gml="http://www.opengis.net/gml">'
            f"<gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>{coords}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs></gml:Polygon>"
        )
        d: dict[str, Any] = {
            "__metadata": {"id": base, "uri": base, "type": "DHuS.Product", "media_src": f"{base}/$value"},
            "Id": p.id,
            "Name": p.name,
            "ContentType": "application/octet-stream",
            "ContentLength": str(p.size),
            "CreationDate": ms(p.published),
            "IngestionDate": ms(p.published),
            "Online": p.online,
            "ContentDate": {"Start": ms(p.start), "End": ms(p.end)},
            "Checksum": {"Algorithm": "MD5", "Value": p.checksums["md5"].upper()},
            "ContentGeometry": gml,
            "Attributes": {"__deferred": {}},
        }
        if expand:
            d["Attributes"] = {"results": [{"Name": k, "Value": str(v)} for k, v in self._attributes(p).items()]}
        return {"d": d}

    def stac_item(self, p: Any) -> dict[str, Any]:
        import shapely.geometry

        from eokit.hub.checksums import to_multihash

        geom = p.geojson
        props = {
            "datetime": _iso(p.start),
            "start_datetime": _iso(p.start),
            "end_datetime": _iso(p.end),
            "platform": p.collection.lower(),
        }
        props.update({k: (_iso(v) if isinstance(v, datetime) else v) for k, v in p.attributes.items()})
        if "cloudCover" in p.attributes:
            props["eo:cloud_cover"] = p.attributes["cloudCover"]
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": ["https://stac-extensions.github.io/file/v2.1.0/schema.json"],
            "id": p.name,
            "collection": p.collection.lower(),
            "geometry": geom,
            "bbox": list(shapely.geometry.shape(geom).bounds),
            "properties": props,
            "links": [
                {"rel": "self", "href": f"{self.stac_url}/collections/{p.collection.lower()}/items/{p.name}"},
                {"rel": "collection", "href": f"{self.stac_url}/collections/{p.collection.lower()}"},
                {"rel": "parent", "href": f"{self.stac_url}/collections/{p.collection.lower()}"},
                {"rel": "root", "href": self.stac_url},
            ],
            "assets": {
                "product": {
                    "href": f"{self.url}/files/{p.id}/{p.filename}",
                    "type": "application/zip",
                    "roles": ["data"],
                    "file:size": p.size,
                    "file:checksum": to_multihash("sha256", p.checksums["sha256"]),
                }
            },
        }

    def all_stac_items(self) -> list[dict[str, Any]]:
        with self.lock:
            items = [self.stac_item(p) for p in self.products.values() if p.raw_json is None]
        return items + list(self.stac_items)
