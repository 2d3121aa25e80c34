"""DHuS scenarios replayed from the recorded exchanges: every request must match a recording.

Where the classic client (sentinelsat 1.2.1) is installed, it runs the same
scenario against the same replay server and the results are compared.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eokit.hub import (
    InvalidKeyError,
    QueryLengthError,
    QuerySyntaxError,
    SentinelAPI,
    SentinelAPIError,
    ServerError,
    UnauthorizedError,
    make_path_filter,
)
from eokit.testing.hub_cassettes import CassetteServer

GC = "GEOMETRYCOLLECTION(POLYGON((-66.2695 -8.0592,-66.2695 0.7031,-57.3047 0.7031,-57.3047 -8.0592,-66.2695 -8.0592)))"
S3A = "b1d8a9ab-6072-4ecd-bc44-8d64419d71cb"


def _apis(server: CassetteServer, user: str = "user", password: str = "password") -> list[Any]:
    mine = SentinelAPI(user, password, server.url, show_progressbars=False)
    mine.dl_retry_delay = 0.01
    return [mine]


def _peer(server: CassetteServer, user: str = "user", password: str = "password") -> Any:
    sentinelsat = pytest.importorskip("sentinelsat")
    peer = sentinelsat.SentinelAPI(user, password, server.url, show_progressbars=False)
    peer.dl_retry_delay = 0.01
    return peer


def _run(cassettes: Path, names: list[str], scenario: Callable[[Any], Any], *, compare: bool = True) -> Any:
    with CassetteServer([cassettes / f"{n}.yaml" for n in names]) as server:
        result = scenario(_apis(server)[0])
        assert server.misses == [], f"requests with no recording: {server.misses[:3]}"
        assert server.hits, "the scenario made no request"
    if compare:
        with CassetteServer([cassettes / f"{n}.yaml" for n in names]) as server:
            expected = scenario(_peer(server))
        assert _plain(result) == _plain(expected)
    return result


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if k not in ("path",)}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, str):
        return re.sub(r"127\.0\.0\.1:\d+", "HOST", obj)
    return obj


QUERY_SCENARIOS: dict[str, Callable[[Any], Any]] = {
    "test_count": lambda api: api.count(date=("20150101", "20151231")),
    "test_small_query": lambda api: api.query("POLYGON((0 0,1 1,0 1,0 0))", ("20150101", "20150102")),
    "test_date_arithmetic": lambda api: api.query(
        "ENVELOPE(0, 1, 1, 0)", ("2016-12-01T00:00:00Z-1DAY", "2016-12-01T00:00:00Z+1DAY-1HOUR")
    ),
    "test_s2_cloudcover": lambda api: api.query(
        GC, ("20181212", "20181228"), platformname="Sentinel-2", cloudcoverpercentage=(0, 10)
    ),
    "test_order_by": lambda api: (
        api.count(GC, ("20151219", "20160519"), platformname="Sentinel-2", cloudcoverpercentage=(0, 10)),
        list(
            api.query(
                GC,
                ("20151219", "20160519"),
                platformname="Sentinel-2",
                cloudcoverpercentage=(0, 10),
                order_by="cloudcoverpercentage,-beginposition",
            )
        ),
    ),
    "test_large_query": lambda api: (
        len(api.query("POLYGON((0 0,0 10,10 10,10 0,0 0))", ("20151201", "20151231"))),
        list(api.query("POLYGON((0 0,0 10,10 10,10 0,0 0))", ("20151201", "20151231"), limit=150)),
        list(api.query("POLYGON((0 0,0 10,10 10,10 0,0 0))", ("20151201", "20151231"), offset=90, limit=20)),
    ),
    "test_area_relation": lambda api: [
        list(
            api.query(
                "POLYGON((10.83 53.04,11.64 53.04,11.64 52.65,10.83 52.65,10.83 53.04))",
                ("20151219", "20151226"),
                area_relation=r,
            )
        )
        for r in ("Intersects", "contains", "IsWithin")
    ],
    "test_repeated_keywords": lambda api: list(
        api.query(uuid={"1f62a176-c980-41dc-b3a1-c735d660c910", "d8340134-878f-4891-ba4f-4df54f1e3ab4"})
    ),
    "test_uuid_search": lambda api: api.query(uuid={"d8340134-878f-4891-ba4f-4df54f1e3ab4"}),
    "test_name_search": lambda api: list(
        api.query(identifier={"S1A_WV_OCN__2SSV_20150526T211029_20150526T211737_006097_007E78_134A"})
    ),
    "test_format_date": lambda api: [
        api.count(ingestiondate=f"[{d} TO *]")
        for d in (
            "NOW",
            "NOW-1DAY",
            "NOW-1DAYS",
            "NOW-500DAY",
            "NOW-2MONTHS",
            "NOW+10HOUR",
            "2015-01-01T00:00:00Z+1DAY",
            "NOW+3MONTHS-7DAYS/DAYS",
        )
    ],
    "test_api_query_format_escape_spaces": lambda api: [
        api.count(ingestiondate=("NOW-1DAY", "NOW")),
        api.count(ingestiondate=("NOW-1DAY", None)),
        api.count(relativeorbitnumber="{101 TO 103}"),
        api.count(timeliness="Near Real Time"),
        api.count(timeliness=".+ Critical"),
        api.count(beginposition=("20180101", "20180130"), identifier="/S[12 ]A.*/", area="POINT(14.20 59.96)"),
        api.count(beginposition=("20180101", "20180130"), identifier="S1A*", area="POINT(14.20 59.96)"),
    ],
    "test_quote_symbol_bug": lambda api: api.count(
        raw="beginposition:[2017-05-30T00:00:00Z TO 2017-05-31T00:00:00Z+1DAY]"
    ),
    "test_returned_filesize": lambda api: api.get_products_size(
        api.query(GC, ("20141205", "20141208"), producttype="GRD")
    ),
    "test_sentinel2_flag": lambda api: list(
        api.query(GC, ("20151219", "20151228"), platformname="Sentinel-2", limit=5)
    ),
    "test_instrument_flag": lambda api: len(api.query(GC, ("20161201", "20161202"), instrumentshortname="SRAL")),
    "test_cli_gnss": lambda api: list(
        api.query(date=("20210201", "20210202"), platformserialidentifier="1B", producttype="AUX_POEORB")
    ),
    "test_sentinel1_flag": lambda api: list(api.query(GC, ("20151219", "20151228"), platformname="Sentinel-1")),
    "test_sentinel3_flag": lambda api: list(
        api.query(GC, ("20161201", "20161202"), platformname="Sentinel-3", limit=5)
    ),
    "test_product_flag": lambda api: list(api.query(GC, ("20161201", "20161202"), producttype="SLC")),
    "test_limit_flag": lambda api: list(api.query(GC, ("20161201", "20161230"), limit=15)),
    "test_order_by_flag": lambda api: list(api.query(GC, ("20151219", "20151220"), order_by="platformname,-size")),
    "test_footprints_cli": lambda api: api.to_geojson(
        api.query(GC, ("20151219", "20151228"), platformname="Sentinel-2")
    ),
    "test_no_auth_netrc": lambda api: list(api.query(GC, (None, "20200101"), limit=1)),
    "test_cli_geometry_alternatives": lambda api: [
        list(api.query(GC, (None, "20200101"), limit=1)),
        list(
            api.query(
                "POLYGON((-78.046875 46.377254205100286,-75.76171874999999 43.32517767999295,"
                "-71.279296875 46.55886030311717,-78.046875 46.377254205100286))",
                (None, "20200101"),
                limit=1,
            )
        ),
    ],
    "products_fixture": lambda api: list(api.query(GC, ("20151219", "20151228"))),
    "smallest_online_products": lambda api: list(api.query(date=("NOW-1MONTH", None), size="/.+KB/", limit=15)),
    "smallest_archived_products": lambda api: list(api.query(date=(None, "20170101"), size="/.+KB/", limit=15)),
    "node_test_products": lambda api: list(api.query(date=("NOW-1MONTH", None), identifier="*IW_GRDH*", limit=3)),
    "test_footprints_s1": lambda api: api.to_geojson(api.query(GC, ("20141010", "20141231"), producttype="GRD")),
}


@pytest.mark.parametrize("name", sorted(QUERY_SCENARIOS))
def test_query_scenarios_match_recordings_and_classic_client(cassettes: Path, name: str) -> None:
    _run(cassettes, [name], QUERY_SCENARIOS[name])


def test_name_search_multiple(cassettes: Path) -> None:
    from urllib.parse import parse_qsl, urlsplit

    import yaml

    doc = yaml.safe_load((cassettes / "test_name_search_multiple.yaml").read_text())
    q = dict(parse_qsl(urlsplit(doc["interactions"][0]["request"]["uri"]).query))["q"]
    names = set(re.findall(r'identifier:"([^"]+)"', q))
    assert len(names) >= 3
    _run(cassettes, ["test_name_search_multiple"], lambda api: sorted(api.query(identifier=names)))


def test_dhus_version_and_fallback_url(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_info_cli.yaml"]) as server:
        api = SentinelAPI(None, None, server.url, show_progressbars=False)
        assert api.dhus_version  # /apihub/ answered 404, /dhus/ answered with the version
        assert server.misses == []


def test_query_returns_typed_values(cassettes: Path) -> None:
    products = _run(cassettes, ["test_small_query"], QUERY_SCENARIOS["test_small_query"], compare=False)
    from datetime import datetime

    for props in products.values():
        assert isinstance(props["beginposition"], datetime)
        assert props["footprint"].startswith(("POLYGON", "MULTIPOLYGON"))


def test_dataframes_from_recorded_query(cassettes: Path) -> None:
    products = _run(cassettes, ["test_s2_cloudcover"], QUERY_SCENARIOS["test_s2_cloudcover"], compare=False)
    df = SentinelAPI.to_dataframe(products)
    gdf = SentinelAPI.to_geodataframe(products)
    assert list(df.index) == list(products)
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == len(products)
    assert (df["cloudcoverpercentage"] <= 10).all()


def test_invalid_query_raises_syntax_error(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_invalid_query.yaml"]) as server:
        with pytest.raises(QuerySyntaxError):
            _apis(server)[0].query(raw="xxx:yyy")
        assert server.misses == []


def test_too_long_query(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_too_long_query.yaml"]) as server:
        api = _apis(server)[0]
        ok = '"' + " a_-.*:,?+~!" * 162 + '"'
        long = '"' + " a_-.*:,?+~!" * 163 + '"'
        assert api.check_query_length(ok) < 1.0 < api.check_query_length(long)
        api.count(raw=ok)
        with pytest.raises(QueryLengthError):
            api.count(raw=long)
        assert server.misses == []


def test_unicode_and_bad_key(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_unicode_support.yaml"]) as server:
        api = _apis(server)[0]
        with pytest.raises(QuerySyntaxError) as err:
            api.count(raw="õäöüÿ(")
        assert "õäöüÿ" in err.value.response.json()["feed"]["error"]["message"]  # decoded (Latin-1 on the wire)
        with pytest.raises(InvalidKeyError):
            api.get_product_odata("õäöüÿ(")
        assert server.misses == []


def test_invalid_ids(cassettes: Path) -> None:
    names = ["test_get_product_info_bad_key", "test_is_online", "test_download_invalid_id"]
    with CassetteServer([cassettes / f"{n}.yaml" for n in names]) as server:
        api = _apis(server)[0]
        with pytest.raises(InvalidKeyError):
            api.get_product_odata("invalid-xyz")
        with pytest.raises(InvalidKeyError):
            api.is_online("98ca202b-2155-4181-be88-xxxxxxxxxxxx")
        with pytest.raises(InvalidKeyError):
            api.download("1f62a176-c980-41dc-xxxx-c735d660c910")
        assert server.misses == []


def test_wrong_credentials(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_SentinelAPI_wrong_credentials.yaml"]) as server:
        api = SentinelAPI("wrong_user", "wrong_password", server.url, show_progressbars=False)
        with pytest.raises(UnauthorizedError) as err:
            api.query("POLYGON((0 0,1 1,0 1,0 0))", ("20150101", "20150102"))
        assert "wrong_password" not in str(err.value) and "wrong_password" not in repr(api)
        assert server.misses == []


@pytest.mark.parametrize(
    "name",
    [
        "test_get_product_odata_short",
        "test_get_product_odata_full",
        "test_get_product_odata_short_with_missing_online_key",
    ],
)
def test_get_product_odata(cassettes: Path, name: str) -> None:
    import yaml

    doc = yaml.safe_load((cassettes / f"{name}.yaml").read_text())
    ids = sorted({i["request"]["uri"].split("Products('")[1].split("'")[0] for i in doc["interactions"]})
    full = "full" in name
    result = _run(cassettes, [name], lambda api: [api.get_product_odata(i, full=full) for i in ids])
    for info in result:
        assert {"id", "title", "size", "md5", "date", "footprint", "url", "Online"} <= set(info)
        if full:
            assert len(info) > 15


def _md5(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def test_download_and_resume(cassettes: Path, tmp_path: Path) -> None:
    data = (
        cassettes
        / "data"
        / "S3A_SR_1_SRA____20230309T204558_20230309T204623_20230309T225028_0024_096_214______PS1_O_NR_004.zip"
    ).read_bytes()
    with CassetteServer([cassettes / "test_download.yaml"]) as server:
        api = _apis(server)[0]
        info = api.download(S3A, tmp_path)
        assert _md5(info["path"]) == info["md5"].lower() and info["downloaded_bytes"] == len(data)
        # a second call skips the complete file
        again = api.download(S3A, tmp_path)
        assert again["downloaded_bytes"] == 0
        # resume from a 25-byte .incomplete (the recorded Range request)
        Path(info["path"]).unlink()
        (tmp_path / (Path(info["path"]).name + ".incomplete")).write_bytes(data[:25])
        resumed = api.download(S3A, tmp_path)
        assert resumed["downloaded_bytes"] == len(data) - 25
        assert _md5(resumed["path"]) == info["md5"].lower()
        assert server.misses == []
    assert not list(tmp_path.glob("*.incomplete"))


@pytest.mark.parametrize("name", ["test_download_all", "test_download_all_one_fail", "test_download_many"])
def test_download_all_matches_classic_client(cassettes: Path, tmp_path: Path, name: str) -> None:
    ids = ["96fc9975-1c5c-4279-9fd1-1336d9743d8a", S3A, "ff10826d-78b9-4062-9f69-fca7d1d832d8"]
    counter = iter(range(10))

    def scenario(api: Any) -> Any:
        target = tmp_path / str(next(counter))
        target.mkdir()
        if name == "test_download_many":
            ids_ = list(api.query(uuid=set(ids)))
        else:
            ids_ = ids
        dl, triggered, failed = api.download_all(ids_, target, max_attempts=2)
        return sorted(dl), sorted(triggered), sorted(failed)

    downloaded, _, _failed = _run(cassettes, [name], scenario)
    assert downloaded
    for f in tmp_path.rglob("*.zip"):
        assert not f.name.endswith(".incomplete")


def test_download_all_lta(cassettes: Path, tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load((cassettes / "test_download_all_lta.yaml").read_text())
    ids = sorted({i["request"]["uri"].split("Products('")[1].split("'")[0] for i in doc["interactions"]})
    with CassetteServer([cassettes / "test_download_all_lta.yaml"]) as server:
        api = _apis(server)[0]
        api.lta_timeout = 0.5
        # the recording holds no bytes for the online products, so only the LTA path is checked
        try:
            api.download_all(ids, tmp_path, lta_retry_delay=0.05, max_attempts=1)
        except SentinelAPIError:
            pass
        assert (
            "GET",
            b"/apihub/odata/v1/Products('0cbef871-b908-4410-a197-af0888ad048c')/$value",
            (),
            "bytes=0-1",
        ) in server.hits
        assert server.misses == []


def test_get_stream(cassettes: Path) -> None:
    with CassetteServer([cassettes / "test_get_stream.yaml"]) as server:
        r = _apis(server)[0].get_stream(S3A)
        assert hashlib.md5(r.content).hexdigest() == "1495b98f859949929b14c1b7cd62dffc"
        assert server.misses == []


def test_quicklooks(cassettes: Path, tmp_path: Path) -> None:
    ids = [
        "6b126ea4-fe27-440c-9a5c-686f386b7291",
        "1a9401bc-6986-4707-b38d-f6c29ca58c00",
        "54e6c4ad-6f4e-4fbf-b163-1719f60bfaeb",
    ]
    with CassetteServer([cassettes / "test_download_all_quicklooks.yaml"]) as server:
        dl, failed = _apis(server)[0].download_all_quicklooks(ids, tmp_path)
        assert server.misses == []
    assert len(dl) + len(failed) == 3
    for info in dl.values():
        assert Path(info["path"]).read_bytes()[:2] == b"\xff\xd8"


def test_node_filter_download_requests_and_corrupt_manifests(cassettes: Path, tmp_path: Path) -> None:
    # The recording stored both products' manifests under one file name, so neither is intact:
    # 1e2f... gets a manifest with trailing junk, 753c... one whose length differs from ContentLength.
    # The requests must still match the classic client's, and both must fail loudly.
    with CassetteServer([cassettes / "test_download_product_nodes.yaml"]) as server:
        api = _apis(server)[0]
        with pytest.raises(ServerError) as err:  # not valid XML
            api.download(
                "1e2f27fc-637a-4537-9e45-86f1cc7161f8", tmp_path, nodefilter=make_path_filter("*map-overlay.kml")
            )
        assert Path(err.value.path).name == "manifest.safe" and err.value.status_code is None
        with pytest.raises(SentinelAPIError) as err:  # its length differs from ContentLength
            api.download("753c29d7-42c4-4ff9-a962-bfb4219816c6", tmp_path / "b", nodefilter=make_path_filter("*.kml"))
        assert Path(err.value.path).name == "manifest.safe" and not Path(err.value.path).exists()
        assert server.misses == []
    assert not list((tmp_path / "b").rglob("manifest.safe")) if (tmp_path / "b").exists() else True


def test_check_files(cassettes: Path, tmp_path: Path) -> None:
    data_dir = cassettes / "data"
    name = "S3A_SR_1_SRA____20230309T204558_20230309T204623_20230309T225028_0024_096_214______PS1_O_NR_004.zip"
    good = tmp_path / name
    good.write_bytes((data_dir / name).read_bytes())
    bad_name = "S3B_SR_1_SRA____20230309T200705_20230309T200726_20230309T220807_0020_077_071______PS2_O_NR_004.zip"
    bad = tmp_path / bad_name
    bad.write_bytes(b"corrupt")
    with CassetteServer([cassettes / "test_check_existing.yaml"]) as server:
        corrupt = _apis(server)[0].check_files(paths=[good, bad])
        assert server.misses == []
    assert list(corrupt) == [str(bad)]


# -- behaviours of sentinelsat 1.2.1's own test suite ---------------------------------------------------------------


def test_to_geojson_returns_geojson_objects(cassettes: Path) -> None:
    import geojson

    def scenario(api: Any) -> Any:
        return api.to_geojson(api.query(GC, ("20151219", "20151228")))

    fc = _run(cassettes, ["products_fixture"], scenario, compare=False)
    assert isinstance(fc, geojson.FeatureCollection) and fc.is_valid and fc.errors() == []
    assert all(isinstance(f, geojson.Feature) for f in fc["features"])


def test_non_latin1_dhus_query_is_a_unicode_encode_error() -> None:
    from eokit.hub.exceptions import HubInputError

    api = SentinelAPI("user", "password", "http://127.0.0.1:9/dhus/", show_progressbars=False, retries=0)
    with pytest.raises(UnicodeEncodeError) as err:  # before any request: the port is closed
        api.query(raw="東京")
    assert isinstance(err.value, HubInputError) and err.value.param == "query" and err.value.encoding == "latin-1"


def test_empty_name_is_refused_before_any_request() -> None:
    from click.testing import CliRunner

    from eokit.cli.main import cli

    r = CliRunner().invoke(
        cli, ["hub", "search", "--url", "http://127.0.0.1:9/dhus/", "-u", "u", "-p", "p", "--name", ""]
    )
    assert r.exit_code != 0 and "cannot reach" not in r.output
    from eokit.hub.tool import SearchOptions, run_search

    with pytest.raises(ValueError) as err:
        run_search(SearchOptions(url="http://127.0.0.1:9/dhus/", user="u", password="p", name=("",)))
    assert err.value.param == "name"
