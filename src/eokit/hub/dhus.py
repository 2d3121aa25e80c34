"""The DHuS backend of :class:`~eokit.hub.SentinelAPI`: Solr OpenSearch + OData v1.

Requests are the ones the classic client made (same paths, query strings and
``Range`` headers), so any DHuS instance still running — or a recording of one —
answers them.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any
from urllib.parse import urljoin

import requests

from eokit.hub.dhus_query import format_order_by, parse_odata_product, parse_opensearch_entries
from eokit.hub.exceptions import (
    HubInputError,
    HubRateLimitError,
    InvalidKeyError,
    LTAError,
    QueryEncodingError,
    QueryLengthError,
    QuerySyntaxError,
    SentinelAPIError,
    ServerError,
    UnauthorizedError,
)
from eokit.hub.http import content_disposition_filename, redact_url
from eokit.hub.providers import ClassicProvider, SearchQuery, check_result_count

__all__ = ["DhusBackend", "check_response", "dhus_url_of"]

log = logging.getLogger(__name__)


def _html_to_text(text: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", text)
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def dhus_url_of(api_url: str) -> str:
    """The DHuS web end-point of an API hub, as the classic client maps it: ``.../apihub/`` ->
    ``.../dhus/``, and the retired ``apihub.copernicus.eu`` -> ``scihub.copernicus.eu``."""
    url = re.sub("apihub/$", "dhus/", api_url)
    return url.replace("//apihub.copernicus.eu/", "//scihub.copernicus.eu/", 1)


def check_response(response: requests.Response, *, test_json: bool = True, query_string: str | None = None) -> None:
    """Raise the classic exception for an error response (2xx and valid JSON pass)."""
    from eokit.hub.dhus_query import check_query_length

    response.encoding = "utf-8"
    try:
        response.raise_for_status()
        if test_json:
            response.json()
        return
    except (requests.HTTPError, ValueError):
        pass
    msg = None
    try:
        msg = response.json()["error"]["message"]["value"]
    except Exception:
        msg = response.headers.get("cause-message")
        if msg is None and not response.text.lstrip().startswith("{"):
            msg = _html_to_text(response.text) or None
    if response.status_code == 401:
        raise UnauthorizedError("Invalid user name or password", response, param="user")
    if response.status_code == 429:
        raise HubRateLimitError("the server kept answering 'too many requests' after every retry", response)
    if msg is None:
        raise ServerError("Invalid API response", response)
    if "Request Entity Too Large" in msg or "Request-URI Too Long" in msg:
        text = "Server was unable to process the query due to its excessive length"
        if query_string is not None:
            text += (
                f" (approximately {check_query_length(query_string):.3}x times the maximum allowed). "
                "Consider using SentinelAPI.check_query_length() for client-side validation of the query string length."
            )
        raise QueryLengthError(text, response)
    if "Invalid key" in msg:
        raise InvalidKeyError(msg.split(" : ", 1)[-1], response)
    if 500 <= response.status_code < 600 or msg:
        raise ServerError(msg, response)
    raise SentinelAPIError(msg, response)  # pragma: no cover - msg is always truthy here


class DhusBackend(ClassicProvider):
    """The DHuS provider: one instance rooted at ``api_url`` (see :mod:`eokit.hub.providers`)."""

    name = kind = "dhus"
    page_size = 100

    def __init__(self, api_url: str, session: requests.Session, timeout: float | None) -> None:
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.session = session
        if hasattr(session, "mount_search_endpoint"):
            session.mount_search_endpoint(self.api_url + "search")
        self.auth = getattr(session, "auth", None)
        self.timeout = timeout
        self._online_attribute_used = True
        self.last_query: str | None = None

    # -- search ---------------------------------------------------------------------------------------------------

    def _subquery(self, query: str, order_by: str | None, limit: int | None, offset: int) -> tuple[list[Any], int]:
        self.last_query = query
        rows = self.page_size if limit is None else min(limit, self.page_size)
        url = f"search?format=json&rows={rows}&start={offset}"
        if order_by:
            url += f"&orderby={order_by}"
        try:
            q = query.encode("latin1")
        except UnicodeEncodeError as exc:
            raise QueryEncodingError(query, exc.start, exc.end) from None
        response = self.session.get(urljoin(self.api_url, url), params={"q": q}, timeout=self.timeout)
        check_response(response, query_string=query)
        try:
            feed = response.json()["feed"]
            if "error" in feed:
                message = feed["error"]["message"].replace("org.apache.solr.search.SyntaxError: ", "")
                raise QuerySyntaxError(message, response)
            total = int(feed["opensearch:totalResults"])
        except (ValueError, KeyError):
            raise ServerError("API response not valid. JSON decoding failed.", response) from None
        entries = feed.get("entry", [])
        return ([entries] if isinstance(entries, dict) else entries), total

    @staticmethod
    def query_string(query: SearchQuery) -> str:
        """The OpenSearch query string (exactly as the classic client built it)."""
        from eokit.hub.dhus_query import format_query

        return format_query(query.area, query.date, query.raw, query.area_relation, **dict(query.keywords))

    def classic_search(self, query: SearchQuery, progress: Any = None) -> tuple[OrderedDict[str, dict[str, Any]], int]:
        """``(OrderedDict(uuid -> classic properties), total)`` for a query."""
        from eokit.hub.dhus_query import check_query_length

        text = self.query_string(query)
        if text.strip() == "":
            raise HubInputError("Empty query.", param="query")
        if check_query_length(text) > 1.0:
            log.warning("The query string is too long and will likely cause a bad DHuS response.")
        return self.search_string(text, query.order_by, query.limit, query.offset, progress)

    def classic_count(self, query: SearchQuery) -> int:
        return self._subquery(self.query_string(query), None, 0, 0)[1]

    def search_string(
        self, query: str, order_by: str | None, limit: int | None, offset: int, progress: Any = None
    ) -> tuple[OrderedDict[str, dict[str, Any]], int]:
        formatted = format_order_by(order_by)
        entries, total = self._subquery(query, formatted, limit, offset)
        if limit is None:
            check_result_count(total - offset, redact_url(self.api_url))
        max_offset = total if limit is None else min(total, offset + limit)
        for new_offset in range(offset + self.page_size, max_offset, self.page_size):
            new_limit = None if limit is None else limit - new_offset + offset
            page = self._subquery(query, formatted, new_limit, new_offset)[0]
            if not page:  # the server has no more, whatever total it declared
                break
            entries += page
            if progress is not None:
                progress(len(entries))
        return parse_opensearch_entries(entries), total

    # -- products -------------------------------------------------------------------------------------------------

    def odata_url(self, uuid: str, suffix: str = "") -> str:
        return self.api_url + f"odata/v1/Products('{uuid}')" + suffix

    def get_product_odata(self, uuid: str, full: bool = False) -> dict[str, Any]:
        url = self.odata_url(uuid, "?$format=json")
        if full:
            url += "&$expand=Attributes"
        response = self.session.get(url, timeout=self.timeout)
        check_response(response)
        values = parse_odata_product(response.json()["d"])
        if values["title"].startswith("S3"):
            values["manifest_name"] = "xfdumanifest.xml"
            values["product_root_dir"] = values["title"] + ".SEN3"
        else:
            values["manifest_name"] = "manifest.safe"
            values["product_root_dir"] = values["title"] + ".SAFE"
        values["quicklook_url"] = self.odata_url(uuid, "/Products('Quicklook')/$value")
        return values

    def is_online(self, uuid: str) -> bool:
        if not self._online_attribute_used:
            return True
        r = self.session.get(self.odata_url(uuid, "/Online/$value"), timeout=self.timeout)
        try:
            check_response(r)
        except ServerError as e:
            if "Could not find property with name: 'Online'" in e.msg:
                self._online_attribute_used = False
                return True
            raise
        return bool(r.json())

    def filename(self, info: dict[str, Any]) -> str:
        if info.get("Online", True):
            r = self.session.head(info["url"], timeout=self.timeout)
            check_response(r, test_json=False)
            name = content_disposition_filename(r.headers)
            if name:
                return name
        r = self.session.get(info["url"].replace("$value", "Attributes('Filename')/Value/$value"), timeout=self.timeout)
        check_response(r, test_json=False)
        return r.text.replace(".SAFE", ".zip").replace(".SEN3", ".zip")

    def trigger_offline_retrieval(self, uuid: str) -> bool:
        r = self.session.get(self.odata_url(uuid, "/$value"), headers={"Range": "bytes=0-1"}, timeout=self.timeout)
        r.close()
        cause = r.headers.get("cause-message")
        if r.status_code in (200, 206):
            return False
        if r.status_code == 202:
            return True
        if r.status_code == 403 and cause and "concurrent flows" in cause:
            return False
        if r.status_code == 403:
            raise LTAError(f"User quota exceeded: {cause}", r)
        if r.status_code == 503:
            raise LTAError(f"Request not accepted: {cause}", r)
        if r.status_code < 400:
            raise ServerError(f"Unexpected response {r.status_code}: {cause}", r)
        check_response(r, test_json=False)
        return False  # pragma: no cover

    def download_url(self, uuid: str) -> str:
        return self.odata_url(uuid, "/$value")

    def node_url(self, info: dict[str, Any], path: str, urltype: str = "") -> str:
        nodes = "/".join(f"Nodes('{p}')" for p in path.split("/"))
        suffix = {"value": "/$value", "json": "?$format=json", "": ""}[urltype]
        return self.odata_url(info["id"], f"/Nodes('{info['product_root_dir']}')/{nodes}{suffix}")

    def manifest_size(self, info: dict[str, Any]) -> int:
        r = self.session.get(self.node_url(info, info["manifest_name"], "json"), timeout=self.timeout)
        check_response(r)
        return int(r.json()["d"]["ContentLength"])

    def dhus_version(self) -> str:
        r = self.session.get(self.api_url + "api/stub/version", timeout=self.timeout)
        if r.status_code >= 400:
            log.info("%s has no version end-point (HTTP %s); asking its DHuS", self.api_url, r.status_code)
            r = self.session.get(dhus_url_of(self.api_url) + "api/stub/version", timeout=self.timeout)
        check_response(r)
        return r.json()["value"]
