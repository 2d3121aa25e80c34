"""Test shim: sentinelsat 1.2.1's public names, served by :mod:`eokit.hub`.

Only for running sentinelsat's own test suite (``../tests``) against eokit: the
recordings were made against a DHuS (apihub), so the classic client is put in DHuS
mode. Nothing here re-implements eokit behaviour; the few private helpers
sentinelsat's tests call to *build or check their inputs* (``_get_download_url``,
``_checksum_compare``) are derived from public attributes and functions, and
``_api2dhus_url`` is eokit's public :func:`eokit.hub.dhus.dhus_url_of`; ``_last_response``
is kept with requests' response hook (``_last_query`` is eokit's own). Other private
members are not provided (those tests are listed as expected to differ in
``test_sentinelsat_suite.py``).
"""

import importlib as _importlib

import eokit.hub as _hub
from eokit.hub import *  # noqa: F403
from eokit.hub.checksums import file_checksums as _file_checksums
from eokit.hub.dhus import dhus_url_of as _dhus_url_of

download = _importlib.import_module(__name__ + ".download")

__version__ = "1.2.1"


class SentinelAPI(_hub.SentinelAPI):
    """eokit's classic client with sentinelsat's defaults (apihub URL, DHuS protocol)."""

    def __init__(
        self,
        user,
        password,
        api_url="https://apihub.copernicus.eu/apihub/",
        show_progressbars=True,
        timeout=60,
        **kw,
    ):
        kw.setdefault("provider", "dhus")
        super().__init__(user, password, api_url, show_progressbars, timeout, **kw)
        # sentinelsat's suite patches its module-level wait instead; same effect: no real sleeping
        self.dl_retry_delay = 0.001
        self.lta_retry_delay = 0.001
        # the suite looks at the last answer (``_last_response``) next to the query eokit records
        # (``_last_query``): kept with requests' public response hook on the client's session
        self._last_response = None
        self.session.hooks["response"].append(self._keep_response)

    def _keep_response(self, response, *args, **kwargs):
        self._last_response = response

    def _get_download_url(self, uuid):
        """The OData ``$value`` URL of a product (the tests mock it); from the public ``api_url``."""
        return f"{self.api_url}odata/v1/Products('{uuid}')/$value"

    # the retired apihub -> scihub mapping is eokit's public ``eokit.hub.dhus.dhus_url_of``
    _api2dhus_url = staticmethod(_dhus_url_of)

    def _checksum_compare(self, file_path, product_info):
        """The tests' check of a file they wrote themselves, with eokit's public ``file_checksums``."""
        algo = next(a for a in ("sha3-256", "md5") if a in product_info)
        return _file_checksums(file_path, [algo])[algo] == product_info[algo].lower()
