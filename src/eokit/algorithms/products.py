"""Products in, not just bands: Sentinel-2 SAFE, Landsat Collection-2 bundles and STAC items.

:func:`open_product` reads a product's layout and metadata and returns a
:class:`Product`: its bands (file, product band id, STAC common name, resolution)
with the conversion of each band's digital numbers to physical values

- Sentinel-2 L1C/L2A: ``(DN + offset) / QUANTIFICATION_VALUE`` with the per-band
  ``RADIO_ADD_OFFSET`` / ``BOA_ADD_OFFSET`` of ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``
  (none before processing baseline 04.00); DN 0 (nodata) and 65535 (saturated)
  become NaN;
- Landsat Collection 2: Level-2 ``SR_Bn`` reflectance, ``ST_Bn`` kelvin; Level-1 ``Bn``
  TOA reflectance with the sun-elevation correction or brightness temperature
  (:func:`eokit.algorithms.metadata.band_factors`), from ``MTL.txt``, ``.json`` or ``.xml``;
- STAC items (a local ``.json`` or an ``http(s)://`` URL): ``raster:scale``/``raster:offset``
  (STAC 1.1 ``bands`` or ``raster:bands``), Sentinel-2 offsets from
  ``s2:processing_baseline``/``processing:version`` when absent. An item URL is fetched
  with a timeout and a 16 MiB cap; relative asset hrefs resolve against it and remote
  assets are read in place through GDAL (``/vsicurl/``).

Archives are read in place through GDAL (``/vsizip/``, ``/vsitar/``); member names
are used only inside their archive. Bands are found by product id (``B04``, ``B8A``,
``SR_B4``; ``B4`` and ``B8`` as written by users), STAC common name (``red``,
``nir08``) or eokit role (``nir``, ``swir1``... through the mission's band table).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import numpy as np

from eokit.errors import InputNotFoundError, InvalidInputError, ProviderError, UnreadableInputError

__all__ = ["Band", "Product", "is_product", "open_product", "write_vrt"]

log = logging.getLogger(__name__)

STAC_ITEM_MAX_BYTES = 16 * 2**20  # a STAC item URL's body is refused beyond this
STAC_ITEM_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)

S2_COMMON = {
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge071", "B06": "rededge075",
    "B07": "rededge078", "B08": "nir", "B8A": "nir08", "B09": "nir09", "B10": "cirrus", "B11": "swir16",
    "B12": "swir22",
}  # fmt: skip
S2_NATIVE = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
    "B09": 60, "B10": 60, "B11": 20, "B12": 20, "SCL": 20, "AOT": 10, "WVP": 10, "TCI": 10,
}  # fmt: skip
_OLI_COMMON = {"B1": "coastal", "B2": "blue", "B3": "green", "B4": "red", "B5": "nir08", "B6": "swir16",
               "B7": "swir22", "B8": "pan", "B9": "cirrus", "B10": "lwir11", "B11": "lwir12"}  # fmt: skip
_TM_COMMON = {"B1": "blue", "B2": "green", "B3": "red", "B4": "nir08", "B5": "swir16", "B6": "lwir",
              "B7": "swir22", "B8": "pan"}  # fmt: skip
# eokit role names (eokit.algorithms.indices.COMMON_NAMES keys) that differ from STAC common names
_ROLE_TO_STAC = {"aerosol": "coastal", "swir1": "swir16", "swir2": "swir22", "thermal": "lwir", "thermal1": "lwir11",
                 "thermal2": "lwir12", "rededge1": "rededge071", "rededge2": "rededge075", "rededge3": "rededge078",
                 "watervapour": "nir09"}  # fmt: skip


@dataclass(frozen=True)
class Band:
    """One band of a product and how its digital numbers become physical values.

    ``value = DN * scale + offset`` (then ``K2 / ln(K1 / value + 1)`` when ``k1k2``);
    DN equal to ``nodata`` or one of ``invalid`` become NaN.
    """

    name: str
    href: str
    common_name: str | None = None
    quantity: str = "dn"
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None
    invalid: tuple[float, ...] = ()
    k1k2: tuple[float, float] | None = None
    resolution: float | None = None
    index: int = 1

    @property
    def scaled(self) -> bool:
        return self.scale != 1.0 or self.offset != 0.0 or self.k1k2 is not None

    def physical(self, dn: np.ndarray) -> np.ndarray:
        """float32 physical values of ``dn`` (NaN for nodata and flagged DN)."""
        x = dn.astype(np.float32)
        if self.scale != 1.0 or self.offset != 0.0:
            x = x * np.float32(self.scale) + np.float32(self.offset)
        if self.k1k2 is not None:
            k1, k2 = self.k1k2
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (np.float32(k2) / np.log(np.float32(k1) / x + np.float32(1))).astype(np.float32)
        bad = np.zeros(dn.shape, bool) if dn.dtype.kind != "f" else np.isnan(dn)
        for v in (self.nodata, *self.invalid):
            if v is not None and not np.isnan(v):
                bad |= dn == v
        x[bad] = np.nan
        return x


@dataclass(frozen=True)
class Product:
    """A product's bands and facts: ``mission`` (``sentinel2``, ``landsat8``...), ``level``, ``time``."""

    path: str
    mission: str
    level: str
    time: dt.datetime | None
    bands: tuple[Band, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def find(self, ref: str, *, param: str | None = None) -> list[Band]:
        """All bands (every resolution) that ``ref`` names; raises :class:`InvalidInputError` when none does."""
        hits = [b for b in self.bands if _matches(b, ref, self.mission)]
        if not hits:
            names = sorted({b.name for b in self.bands})
            raise InvalidInputError(f"{self.kind} has no band {ref!r} (it has {', '.join(names)})",
                                    path=self.path, param=param)  # fmt: skip
        return hits

    @property
    def platform(self) -> str | None:
        """``sentinel2a``, ``landsat9``... from the product's metadata (``None`` when it does not say)."""
        info = self.metadata.get("info")
        item = self.metadata.get("item")
        name = getattr(info, "spacecraft", None) or (item or {}).get("properties", {}).get("platform")
        if not name:
            return self.mission if self.mission.startswith("landsat") else None
        return str(name).lower().replace("-", "").replace("_", "").replace(" ", "")

    @property
    def kind(self) -> str:
        return f"{self.mission} {self.level} product"

    def select(
        self, refs: Mapping[str, str], *, param: str | None = None, workdir: str | os.PathLike[str] | None = None
    ) -> dict[str, Band]:
        """One band per reference, all at the finest resolution every band exists at.

        When the bands share no resolution (Sentinel-2 L1C: B04 at 10 m, B8A at 20 m) and
        ``workdir`` is given, the finer bands are averaged onto the grid of the coarsest
        one needed (never upsampled) through VRTs written there: the mean of the valid
        finer pixels' physical values (nodata and flagged DN left out; NaN when none is
        valid); without ``workdir`` this is refused.
        """
        found = {key: self.find(ref, param=param) for key, ref in refs.items()}
        names = {key: {b.name for b in bands} for key, bands in found.items()}
        for key, n in names.items():
            if len(n) > 1:
                raise InvalidInputError(f"band reference {refs[key]!r} is ambiguous ({', '.join(sorted(n))})",
                                        path=self.path, param=param)  # fmt: skip
        common = set.intersection(*[{b.resolution for b in bands} for bands in found.values()]) if found else set()
        if not common and workdir is not None and all(b.resolution for v in found.values() for b in v):
            return self._averaged(found, Path(workdir))
        if not common:
            have = {refs[k]: sorted({b.resolution or 0 for b in v}) for k, v in found.items()}
            raise InvalidInputError(
                f"the bands exist at no common resolution ({have}); resample them onto one grid first",
                path=self.path,
                param=param,
            )
        res = min(common, key=lambda r: r or 0)
        return {key: next(b for b in bands if b.resolution == res) for key, bands in found.items()}

    def _averaged(self, found: Mapping[str, list[Band]], workdir: Path) -> dict[str, Band]:
        finest = {key: min(bands, key=lambda b: b.resolution or 0) for key, bands in found.items()}
        target = max(b.resolution or 0 for b in finest.values())
        like = next(b for bands in found.values() for b in bands if b.resolution == target)
        out = {}
        for key, bands in found.items():
            at = [b for b in bands if b.resolution == target]
            if at:
                out[key] = at[0]
                continue
            src = finest[key]
            # physical float values first (NaN for nodata and flags), then averaged: exact means of the valid pixels
            native = write_vrt([src], workdir / f"{src.name}_{src.resolution:g}m.vrt")
            as_float = Band(src.name, native, src.common_name, src.quantity)
            vrt = write_vrt([as_float], workdir / f"{src.name}_{target:g}m.vrt", like=like.href)
            out[key] = Band(src.name, vrt, src.common_name, src.quantity, resolution=target)
            log.info("%s averaged from %g m onto the %g m grid of %s", src.name, src.resolution, target, like.name)
        return out


def _flag_lut(band: Band, top: int = 65535) -> str:
    """GDAL LUT ``dn:value`` pairs: ``dn * scale + offset``, NaN at the band's flagged DN (0..``top``)."""

    def lin(v: int) -> str:
        return repr(v * band.scale + band.offset)

    points = {0: lin(0), top: lin(top)}
    for v in sorted(int(x) for x in band.invalid):
        points.update({k: lin(k) for k in (v - 1, v + 1) if 0 <= k <= top})
        points[v] = "nan"
    return ",".join(f"{k}:{points[k]}" for k in sorted(points))


def write_vrt(bands: list[Band], path: str | os.PathLike[str], *, like: str | None = None) -> str:
    """A float32 VRT stacking ``bands`` (files of one grid) as physical values; NaN for nodata and flagged DN.

    With ``like`` (a raster covering the same extent on a coarser grid) the bands are
    averaged onto that grid. Nonlinear conversions (brightness temperature) are refused.
    """
    from xml.sax.saxutils import escape

    from eokit.io import open_raster

    with open_raster(bands[0].href) as ds:
        sh, sw = ds.height, ds.width
    with open_raster(like or bands[0].href) as ds:
        h, w, crs, tr = ds.height, ds.width, ds.crs, ds.transform
    layers = []
    for i, b in enumerate(bands, start=1):
        if b.k1k2 is not None:
            raise InvalidInputError(f"{b.name} holds {b.quantity}: a nonlinear conversion", param="bands")
        nd = "" if b.nodata is None else f"<NODATA>{b.nodata:g}</NODATA>"
        conv = f"<ScaleOffset>{b.offset!r}</ScaleOffset><ScaleRatio>{b.scale!r}</ScaleRatio>"
        if b.invalid:  # flagged DN (S2 saturation) -> NaN: a lookup table, linear between the flags
            conv = f"<LUT>{_flag_lut(b)}</LUT>"
        resampling = ' resampling="average"' if like else ""
        layers.append(
            f'<VRTRasterBand dataType="Float32" band="{i}"><NoDataValue>nan</NoDataValue>'
            f'<ComplexSource{resampling}><SourceFilename relativeToVRT="0">{escape(b.href)}</SourceFilename>'
            f"<SourceBand>{b.index}</SourceBand>{nd}{conv}"
            f'<SrcRect xOff="0" yOff="0" xSize="{sw}" ySize="{sh}"/><DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            "</ComplexSource></VRTRasterBand>"
        )
    gt = ", ".join(repr(v) for v in tr.to_gdal())
    Path(path).write_text(f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><SRS>{escape(crs.to_wkt())}</SRS>'
                          f"<GeoTransform>{gt}</GeoTransform>{''.join(layers)}</VRTDataset>", encoding="utf-8")  # fmt: skip
    return os.fspath(path)


def _norm(ref: str) -> str:
    r = ref.strip().upper()
    return f"B0{r[1]}" if re.fullmatch(r"B\d", r) else r


def _matches(band: Band, ref: str, mission: str) -> bool:
    r = ref.strip()
    up = _norm(r)
    name = band.name.upper()
    if name == up or name == r.upper():
        return True
    if mission.startswith("landsat"):
        m = re.fullmatch(r"B0?(\d+)", r.upper())
        if m and re.fullmatch(rf"(SR_|ST_)?B{int(m.group(1))}", name):
            return True
    low = r.lower()
    if band.common_name and band.common_name.lower() == _ROLE_TO_STAC.get(low, low):
        return True
    if mission in {"sentinel2", "landsat4", "landsat5", "landsat7", "landsat8", "landsat9"}:
        from eokit.algorithms.indices import SENSOR_BANDS

        table = SENSOR_BANDS[mission]
        if low in table:
            return _matches(band, table[low], mission) if table[low].lower() != low else False
    return False


def is_product(path: str | os.PathLike[str]) -> bool:
    """``True`` for a SAFE folder/zip, a Landsat bundle folder/tar or a STAC item JSON (file or URL)."""
    p = os.fspath(path)
    if os.path.isdir(p):
        return True
    low = p.lower()
    return low.endswith((".zip", ".tar", ".tar.gz", ".tgz", ".json")) or "://" in p


class _Tree:
    """File names inside a folder, zip or tar, and their bytes; hrefs GDAL opens in place."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.root = os.path.abspath(path)
        if os.path.isdir(path):
            self.kind = "dir"
            self.names = [
                os.path.relpath(os.path.join(d, f), path).replace(os.sep, "/")
                for d, _, files in os.walk(path)
                for f in files
            ]
        elif zipfile.is_zipfile(path):
            self.kind = "zip"
            with zipfile.ZipFile(path) as z:
                self.names = [n for n in z.namelist() if not n.endswith("/")]
        elif tarfile.is_tarfile(path):
            self.kind = "tar"
            with tarfile.open(path) as t:
                self.names = [m.name for m in t.getmembers() if m.isfile()]
        else:
            raise UnreadableInputError("neither a folder, a zip nor a tar archive", path=path)
        if any(n.startswith("/") or ".." in n.split("/") for n in self.names):
            raise UnreadableInputError("archive member names escape the archive", path=path)

    def read(self, name: str) -> bytes:
        if self.kind == "dir":
            return Path(self.path, name).read_bytes()
        if self.kind == "zip":
            with zipfile.ZipFile(self.path) as z:
                return z.read(name)
        with tarfile.open(self.path) as t:
            fh = t.extractfile(name)
            if fh is None:
                raise UnreadableInputError(f"{name} is not a file", path=self.path)
            return fh.read()

    def href(self, name: str) -> str:
        if self.kind == "dir":
            return os.path.join(self.path, name)
        prefix = "/vsizip/" if self.kind == "zip" else "/vsitar/"
        return f"{prefix}{self.root}/{name}"

    def find(self, pattern: str) -> list[str]:
        rx = re.compile(pattern, re.IGNORECASE)
        return sorted(n for n in self.names if rx.search(n))


def open_product(path: str | os.PathLike[str]) -> Product:
    """Read a Sentinel-2 SAFE (folder or zip), a Landsat Collection-2 bundle (folder or tar) or a STAC item.

    A STAC item is a local ``.json`` file or an ``http(s)://`` URL of one.
    """
    p = os.fspath(path)
    if "://" not in p and not os.path.exists(p):
        raise InputNotFoundError("no such file or folder", path=p)
    if p.lower().endswith(".json") or "://" in p:
        return _from_stac(p)
    tree = _Tree(p)
    if tree.find(r"(^|/)MTD_MSIL(1C|2A)\.xml$"):
        return _from_safe(tree)
    if tree.find(r"_MTL\.(txt|json|xml)$"):
        return _from_landsat(tree)
    raise UnreadableInputError(
        "not a Sentinel-2 SAFE (no MTD_MSIL1C/2A.xml) nor a Landsat bundle (no *_MTL.txt/json/xml)", path=p
    )


def _from_safe(tree: _Tree) -> Product:
    from eokit.algorithms.sentinel2 import read_product_info

    mtd = tree.find(r"(^|/)MTD_MSIL(1C|2A)\.xml$")
    mtd.sort(key=lambda n: n.count("/"))
    info = read_product_info(f"{tree.path}/{mtd[0]}", text=tree.read(mtd[0]))
    bands = []
    for name in tree.find(r"IMG_DATA/.*\.(jp2|tif)$"):
        m = re.search(r"_(B\d\d|B8A|SCL|AOT|WVP|TCI)(?:_(\d+)m)?\.(jp2|tif)$", name, re.IGNORECASE)
        if not m:
            continue
        bid = m.group(1).upper()
        res = float(m.group(2)) if m.group(2) else float(S2_NATIVE.get(bid, 0))
        if bid in S2_COMMON:
            scale, offset = info.scale_offset(bid)
            band = Band(bid, tree.href(name), S2_COMMON[bid], "reflectance", scale, offset, info.nodata,
                        (info.saturated,), resolution=res)  # fmt: skip
        else:
            band = Band(bid, tree.href(name), None, "dn", nodata=None if bid == "SCL" else 0.0, resolution=res)
        bands.append(band)
    if not bands:
        raise UnreadableInputError("SAFE has no band images under GRANULE/*/IMG_DATA", path=tree.path)
    tl = tree.find(r"(^|/)MTD_TL\.xml$")
    meta = {"info": info, "tile_metadata": tl[0] if tl else None, "tree": tree}
    return Product(tree.path, "sentinel2", info.level, info.start_time, tuple(bands), meta)


def _from_landsat(tree: _Tree) -> Product:
    from eokit.algorithms.metadata import acquisition_time, band_factors, parse_mtl, parse_product_id, spacecraft

    names = tree.find(r"_MTL\.(txt|json|xml)$")
    names.sort(key=lambda n: {"txt": 0, "json": 1, "xml": 2}[n.rsplit(".", 1)[1].lower()])
    mtl = parse_mtl(tree.read(names[0]), source=f"{tree.path}/{names[0]}")
    pid = parse_product_id(names[0])
    if pid is None:
        raise UnreadableInputError(f"{names[0]} does not carry a Landsat product id", path=tree.path)
    if pid.collection != 2:
        raise InvalidInputError(f"Collection {pid.collection} product: only Collection 2 is supported", path=tree.path)
    mission = spacecraft(mtl)
    common = _OLI_COMMON if mission in {"landsat8", "landsat9"} else _TM_COMMON
    bands = []
    for name in tree.find(r"\.tif$"):
        bid = parse_product_id(name)
        if bid is None or bid.band is None:
            continue
        b = bid.band
        num = re.sub(r"^(SR_|ST_)?B", "", b) if re.fullmatch(r"(SR_|ST_)?B\d+", b) else None
        if num is None:
            bands.append(Band(b, tree.href(name), None, "dn", nodata=1.0 if b == "QA_PIXEL" else None))
            continue
        f = band_factors(mtl, b)
        bands.append(Band(b, tree.href(name), common.get(f"B{num}"), f.quantity, f.scale, f.offset, 0.0,
                          k1k2=f.k1k2, resolution=None))  # fmt: skip
    if not bands:
        raise UnreadableInputError("bundle has no band GeoTIFFs (*_B4.TIF, *_SR_B4.TIF...)", path=tree.path)
    ang = tree.find(r"_ANG\.txt$")
    meta = {"mtl": mtl, "ang": ang[0] if ang else None, "tree": tree}
    return Product(tree.path, mission, pid.level, acquisition_time(mtl), tuple(bands), meta)


def _s2_offset_from_baseline(props: Mapping[str, Any]) -> float | None:
    version = props.get("s2:processing_baseline") or props.get("processing:version")
    if version is None:
        return None
    try:
        return -1000.0 if float(str(version)) >= 4.0 else 0.0
    except ValueError:
        return None


def _stac_href(href: str, base: str) -> str:
    if _is_url(base):  # a remote item names remote assets only, never files of this machine
        href = urljoin(base, href)
        if not href.lower().startswith(("http://", "https://", "s3://")):
            raise UnreadableInputError(f"asset href {href[:60]!r} is not http(s) or s3", path=_redact(base))
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("s3://"):
        return f"/vsis3/{href[5:]}"
    if href.startswith("file://"):
        href = href[7:]
    if os.path.isabs(href) or "://" in base:
        return href
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), href))


def _is_url(path: str) -> bool:
    return path.lower().startswith(("http://", "https://"))


def _redact(url: str) -> str:
    from eokit.hub.http import redact_url

    return redact_url(url)


def _fetch_item(url: str) -> tuple[Any, str]:
    """The JSON body of a STAC item URL and the URL it came from after redirects (refused beyond the cap)."""
    import requests

    shown = _redact(url)  # no user info or query (tokens) in messages
    too_big = UnreadableInputError(f"STAC item larger than {STAC_ITEM_MAX_BYTES // 2**20} MiB", path=shown)
    try:
        with requests.get(url, timeout=STAC_ITEM_TIMEOUT, stream=True,
                          headers={"Accept": "application/geo+json, application/json"}) as resp:  # fmt: skip
            if resp.status_code >= 400:
                raise ProviderError("cannot fetch the STAC item", status_code=resp.status_code, url=shown)
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > STAC_ITEM_MAX_BYTES:
                raise too_big
            body = bytearray()
            for chunk in resp.iter_content(chunk_size=1 << 16):
                body += chunk
                if len(body) > STAC_ITEM_MAX_BYTES:
                    raise too_big
            final = resp.url
    except requests.RequestException as exc:
        raise ProviderError(f"cannot fetch the STAC item ({type(exc).__name__})", url=shown) from None
    try:
        return json.loads(bytes(body)), final
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnreadableInputError("not a JSON document", path=shown) from None


def _from_stac(path: str) -> Product:
    base = shown = path
    if _is_url(path):
        item, base = _fetch_item(path)
        shown = _redact(path)
    elif "://" in path:
        raise InvalidInputError("only http(s):// STAC item URLs are read: download the item JSON first", path=path)
    else:
        try:
            item = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UnreadableInputError(f"not a JSON file ({type(exc).__name__})", path=path) from None
    if not isinstance(item, dict) or item.get("type") != "Feature" or not isinstance(item.get("assets"), dict):
        raise UnreadableInputError("not a STAC item (no 'type': 'Feature' with assets)", path=shown)
    props = item.get("properties") or {}
    platform = str(props.get("platform") or props.get("constellation") or "").lower().replace("-", "").replace("_", "")
    mission = "sentinel2" if platform.startswith("sentinel2") else platform if platform.startswith("landsat") else ""
    level = str(props.get("processing:level") or props.get("s2:product_type") or props.get("product:type") or "")
    s2_offset = _s2_offset_from_baseline(props) if mission == "sentinel2" else None
    bands = []
    for key, asset in item["assets"].items():
        roles = set(asset.get("roles") or ())
        mtype = str(asset.get("type") or "")
        if roles & {"metadata", "thumbnail", "overview", "visual"} or not ("image" in mtype or "data" in roles):
            continue
        eo = (asset.get("eo:bands") or asset.get("bands") or [{}])[0]
        raster = (asset.get("raster:bands") or [{}])[0]
        name = str(eo.get("name") or key).upper()
        common = eo.get("common_name") or eo.get("eo:common_name")
        scale = raster.get("scale", eo.get("raster:scale", asset.get("raster:scale")))
        offset = raster.get("offset", eo.get("raster:offset", asset.get("raster:offset")))
        nodata = raster.get("nodata", eo.get("nodata", asset.get("nodata")))
        res = raster.get("spatial_resolution") or asset.get("gsd")
        quantity = "reflectance" if "reflectance" in roles or (common and mission) else "dn"
        if scale is None and mission == "sentinel2" and name in S2_COMMON and s2_offset is not None:
            scale, offset, quantity = 1e-4, s2_offset * 1e-4, "reflectance"
        band = Band(name, _stac_href(str(asset["href"]), base), common, quantity if scale is not None else "dn",
                    float(scale if scale is not None else 1.0), float(offset or 0.0),
                    None if nodata is None else float(nodata), resolution=None if res is None else float(res))  # fmt: skip
        bands.append(band)
    if not bands:
        raise UnreadableInputError("STAC item has no raster data assets", path=shown)
    when = props.get("datetime") or props.get("start_datetime")
    try:
        time = dt.datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else None
    except ValueError:
        raise UnreadableInputError(f"datetime {str(when)[:40]!r} is not ISO 8601", path=shown) from None
    return Product(path, mission or "unknown", level, time, tuple(bands), {"item": item})
