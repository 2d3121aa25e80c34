"""A :class:`~eokit.testing.hub_server.LocalHub` in its own process.

Benchmarks run the server apart from the clients they time, so the server's
work (request parsing, ``sendfile``) never competes for the client's GIL, and
every client talks to the same, identical server. Counters are read over HTTP
(``GET /_hub/stats``).

>>> from eokit.testing.hub_process import HubProcess           # doctest: +SKIP
>>> with HubProcess(products) as hub:                           # doctest: +SKIP
...     api = SentinelAPI("user", "password", hub.dhus_url)
...     hub.stats()["bytes_sent"]
"""

from __future__ import annotations

import json
import multiprocessing as mp
import urllib.request
from collections.abc import Iterable
from typing import Any

from eokit.testing.hub_server import HubProduct

__all__ = ["HubProcess"]


def _serve(products: list[HubProduct], kwargs: dict[str, Any], conn: Any) -> None:
    from eokit.testing.hub_server import LocalHub

    hub = LocalHub(products, **kwargs).start()
    conn.send(
        {
            "url": hub.url,
            "dhus_url": hub.dhus_url,
            "stac_url": hub.stac_url,
            "cdse_urls": hub.cdse_urls,
            "env": hub.env(),
        }
    )
    try:
        conn.recv()  # any message (or the parent going away) stops the hub
    except EOFError:
        pass
    finally:
        hub.stop()


class HubProcess:
    """Run a :class:`LocalHub` with ``products`` (and ``LocalHub`` keyword arguments) in a child process.

    Products are pickled to the child (give ``path=`` products for big payloads).
    The attributes ``url``, ``dhus_url``, ``stac_url``, ``cdse_urls`` and
    :meth:`env` mirror the hub's; :meth:`stats` returns its live counters.
    """

    def __init__(self, products: Iterable[HubProduct] = (), **kwargs: Any) -> None:
        self._products = list(products)
        self._kwargs = kwargs
        self._proc: Any = None
        self._conn: Any = None
        self.url = self.dhus_url = self.stac_url = ""
        self.cdse_urls: dict[str, str] = {}
        self._env: dict[str, str] = {}

    def start(self) -> HubProcess:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(self._products, self._kwargs, child), daemon=True)
        self._proc.start()
        child.close()
        if not parent.poll(60):
            self._proc.kill()
            raise RuntimeError("the local hub process did not start within 60 s")
        try:
            info = parent.recv()
        except EOFError:
            self._proc.join(5)
            raise RuntimeError(
                f"the local hub process exited before serving (exit code {self._proc.exitcode}); with the "
                "'spawn' start method the calling script needs an `if __name__ == '__main__':` guard"
            ) from None
        self._conn = parent
        self.url, self.dhus_url, self.stac_url = info["url"], info["dhus_url"], info["stac_url"]
        self.cdse_urls, self._env = info["cdse_urls"], info["env"]
        return self

    def stop(self) -> None:
        if self._proc is None:
            return
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()
        self._proc = None

    def env(self) -> dict[str, str]:
        """``EOKIT_CDSE_*`` environment variables pointing at the hub."""
        return dict(self._env)

    def stats(self) -> dict[str, Any]:
        """``bytes_sent``, ``bytes_by_product``, ``active_downloads``, ``max_concurrent_downloads``, ``requests``."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
        with opener.open(f"{self.url}/_hub/stats", timeout=10) as r:
            return json.loads(r.read())

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
